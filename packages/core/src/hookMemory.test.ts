import { describe, expect, it } from "vitest";
import { EMPTY_MEMORY, encodeHookMemory, readHookMemory } from "./hookMemory.js";

describe("the hook memory's pause policy (the config a hook read, for the hooks that do not read it)", () => {
  it("round-trips, and nothing remembered encodes as nothing", () => {
    expect(encodeHookMemory(EMPTY_MEMORY)).toBe("");
    for (const pauseConfig of ["none", "first", "all", "", "bogus"]) {
      const encoded = encodeHookMemory({ ...EMPTY_MEMORY, pauseConfig });
      expect(readHookMemory(encoded)).toEqual({ memory: { ...EMPTY_MEMORY, pauseConfig }, dropped: null });
    }
  });

  it("a memory written before the field existed reads as not remembered (null), and is encoded as it was", () => {
    const old = JSON.stringify({ deferred: [], status: null, app: null, relation: 7 });
    const { memory } = readHookMemory(old);
    expect(memory).toEqual({ ...EMPTY_MEMORY, relation: 7, pauseConfig: null });
    expect(encodeHookMemory(memory)).toBe(old);
  });
});
