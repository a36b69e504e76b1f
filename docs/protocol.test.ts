import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { machineStates, mermaidDiagram, transitionTable, UNIT_STATES } from "@charm-upgrade/core";
import { renderProtocolDoc } from "../scripts/renderProtocolDoc.ts";

const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), "utf8");

describe("docs/protocol.md", () => {
  it("is in sync with the machine definition (run `pnpm docs:protocol` to update it)", () => {
    expect(read("protocol.md")).toBe(renderProtocolDoc(read("protocol.template.md")));
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
});
