import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  EFFECT_TYPES,
  KEYS,
  machineStates,
  mermaidDiagram,
  stateEvents,
  transitionTable,
  UNIT_STATES,
} from "@charm-upgrade/core";
import { renderProtocolDoc } from "../scripts/renderProtocolDoc.ts";

const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), "utf8");

describe("docs/protocol.md", () => {
  it("is in sync with the machine definition (run `pnpm docs:protocol` to update it)", () => {
    expect(read("protocol.md")).toBe(renderProtocolDoc(read("protocol.template.md")));
  });

  it("describes every wire key the library reads or writes (KEYS)", () => {
    const doc = read("protocol.md");
    for (const key of Object.values(KEYS)) expect(doc, key).toContain(`\`${key}\``);
  });

  it("covers every unit state, and every state has a row", () => {
    expect(machineStates()).toEqual(["unset", "idle", "ready", "upgrading", "completed", "failed", "recovery"]);
    for (const state of UNIT_STATES) expect(mermaidDiagram()).toContain(state);
    const targets = new Set(transitionTable().map((row) => row.to));
    for (const state of UNIT_STATES) expect(targets.has(state), `no transition enters ${state}`).toBe(true);
  });

  it("names every guard (no inline guard in the machine)", () => {
    for (const row of transitionTable()) expect(row.guard).not.toBe("(inline)");
    for (const row of transitionTable()) for (const action of row.actions) expect(action).not.toBe("(inline)");
  });

  it("shows, per state, the events it handles itself, takes from any state, or ignores", () => {
    const doc = read("protocol.md");
    const rows = transitionTable().filter((row) => row.event !== "always");
    const every = new Set(rows.map((row) => row.event));
    const root = new Set(rows.filter((row) => row.from === "*").map((row) => row.event));
    for (const state of stateEvents()) {
      // every event of the machine is in exactly one of the three, for every state
      const events = [...state.own.filter((e) => e !== "always"), ...state.fromRoot, ...state.ignored];
      expect(events.toSorted(), state.state).toEqual([...every].sort());
      for (const event of state.fromRoot) expect(root.has(event), `${state.state} ${event}`).toBe(true);
      expect(doc).toContain(`| \`${state.state}\` | `);
      if (state.own.length) expect(mermaidDiagram()).toContain(`    ${state.state} : ${state.own.join(", ")}`);
    }
    expect(doc).toContain("| any state | `relationCreated` |");
  });

  it("lists every effect", () => {
    for (const type of EFFECT_TYPES) expect(read("protocol.md")).toContain(`| \`${type}\` |`);
  });
});
