import { describe, expect, it } from "vitest";
import { EMPTY_MEMORY, encodeHookMemory, ownPart, readHookMemory } from "./hookMemory.js";

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

describe("what the memory keeps so that a hook need not ask again (issue 14)", () => {
  it("round-trips this unit's own databag (the library's keys), its leadership and the relation's members", () => {
    const memory = {
      ...EMPTY_MEMORY,
      relation: 3,
      own: { state: "ready", "upgrade-running-charm": "ch:amd64/jammy/db-2" },
      leader: false,
      members: ["db/1", "db/2"],
    };
    expect(readHookMemory(encodeHookMemory(memory))).toEqual({ memory, dropped: null });
  });

  it("keeps only the library's keys of the own databag", () => {
    expect(ownPart({ state: "idle", "private-address": "10.0.0.1", "upgrade-hold": "", mine: "x" })).toEqual({
      state: "idle",
    });
  });

  it("an unreadable kept part is forgotten (read again), the rest of the memory stands", () => {
    const raw = JSON.stringify({
      deferred: ["tick"],
      status: null,
      app: null,
      relation: 3,
      own: { "private-address": "10.0.0.1" },
      leader: "yes",
      members: [7],
    });
    expect(readHookMemory(raw)).toEqual({
      memory: { ...EMPTY_MEMORY, deferred: ["tick"], relation: 3 },
      dropped: null,
    });
  });
});
