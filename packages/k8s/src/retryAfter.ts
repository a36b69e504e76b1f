/**
 * How long the API server asked the client to wait before trying again.
 *
 * Two places carry it, and the client's `ApiException` exposes both: the `Retry-After` response header
 * (`ApiException.headers`, whose names node-fetch lower-cases: `@kubernetes/client-node` 1.4
 * `dist/gen/http/isomorphic-fetch.js` copies `resp.headers.forEach((value, name) => …)`), and, in a Kubernetes `Status`
 * body (`ApiException.body`, the raw response text), `details.retryAfterSeconds` — "If specified, the time in seconds
 * before the operation should be retried" (Kubernetes API reference, Status / StatusDetails).
 *
 * The kube-apiserver sends `Retry-After` with its 429 answers: `1` from the max-in-flight filter
 * (`staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go`, `retryAfter = "1"`), 1 to 32 seconds from API
 * Priority and Fairness (`pkg/util/flowcontrol/dropped_requests_tracker.go`, `maxRetryAfter = 32`), and `5` while it
 * shuts down (`filters/with_retry_after.go`).
 *
 * @module
 */

/**
 * The wait asked for by a failed request, in milliseconds, or `undefined` when it asked for none.
 *
 * `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110, section 10.2.3); a date in the past means no wait.
 * The header wins over `details.retryAfterSeconds`; a value that is neither is ignored.
 *
 * @param error - what the client threw (an `ApiException`-shaped object: `headers`, `body`)
 * @param now - the current time in milliseconds since the epoch, for HTTP-dates
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const fromHeader = headerValue((error as { headers?: unknown }).headers, "retry-after");
  if (fromHeader !== undefined) {
    const text = fromHeader.trim();
    if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
    const date = Date.parse(text);
    if (!Number.isNaN(date) && /[a-z]/i.test(text)) return Math.max(0, date - now);
  }
  const seconds = statusDetails((error as { body?: unknown }).body)?.retryAfterSeconds;
  return typeof seconds === "number" && Number.isInteger(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === "string") return value;
    if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  }
  return undefined;
}

/** The `details` of a Kubernetes `Status` in a response body (raw text or already parsed), if any. */
function statusDetails(body: unknown): { retryAfterSeconds?: unknown } | undefined {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const details = (parsed as { details?: unknown }).details;
  return typeof details === "object" && details !== null ? (details as { retryAfterSeconds?: unknown }) : undefined;
}
