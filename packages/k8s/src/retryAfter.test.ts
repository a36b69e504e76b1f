import { describe, expect, it } from "vitest";
import { retryAfterMs } from "./retryAfter.js";

// The shapes are those of @kubernetes/client-node 1.4's ApiException: `headers` with lower-cased names (node-fetch),
// `body` the raw response text.

const NOW = Date.parse("2025-01-01T00:00:00Z");

describe("retryAfterMs", () => {
  it("reads delay-seconds from the Retry-After header", () => {
    expect(retryAfterMs({ code: 429, headers: { "retry-after": "1" } }, NOW)).toBe(1000);
    expect(retryAfterMs({ code: 429, headers: { "Retry-After": " 32 " } }, NOW)).toBe(32_000);
    expect(retryAfterMs({ code: 503, headers: { "retry-after": "0" } }, NOW)).toBe(0);
  });

  it("reads an HTTP-date (RFC 9110), a past date meaning no wait", () => {
    expect(retryAfterMs({ headers: { "retry-after": "Wed, 01 Jan 2025 00:00:05 GMT" } }, NOW)).toBe(5000);
    expect(retryAfterMs({ headers: { "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" } }, NOW)).toBe(0);
  });

  it("falls back on details.retryAfterSeconds of a Status body", () => {
    const body = JSON.stringify({ kind: "Status", code: 504, reason: "Timeout", details: { retryAfterSeconds: 3 } });
    expect(retryAfterMs({ code: 504, headers: {}, body }, NOW)).toBe(3000);
    expect(retryAfterMs({ code: 504, body: { details: { retryAfterSeconds: 2 } } }, NOW)).toBe(2000);
  });

  it("ignores what is neither", () => {
    for (const error of [
      null,
      "429",
      { headers: { "retry-after": "soon" } },
      { headers: { "retry-after": "-1" } },
      { headers: { "retry-after": "1.5" } },
      { body: "Too many requests, please try again later.\n" },
      { body: JSON.stringify({ details: { retryAfterSeconds: 0 } }) },
      { body: JSON.stringify({ details: { retryAfterSeconds: "5" } }) },
    ]) {
      expect(retryAfterMs(error, NOW)).toBeUndefined();
    }
  });
});
