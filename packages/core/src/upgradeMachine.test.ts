import { describe, expect, it } from "vitest";
import { stateEvents, transitionTable } from "./describeMachine.js";
import type { Effect } from "./effects.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { UpgradeState } from "./reduce.js";
import { NEW, OLD } from "./testing/index.js";
import { upgradeMachine } from "./upgradeMachine.js";

const stored = JSON.stringify(OLD.dependencies);
const types = (effects: readonly Effect[]) => effects.map((e) => e.type);

function bags(states: Record<number, string>, app: Record<string, string>, leader: boolean): PeerDatabags {
  const units: Record<string, Record<string, string>> = {};
  for (const [id, state] of Object.entries(states)) units[`db/${id}`] = { state };
  return { leader, units, app };
}

function at(unit: number, raw: PeerDatabags): UpgradeState {
  return createUpgradeState({
    app: "db",
    unit,
    substrate: "vm",
    dependencies: NEW.dependencies,
    view: readPeerView(raw),
  });
}

describe("the machine's shape: a state handles what depends on it, the root the rest", () => {
  it("each state handles itself exactly the events whose handling depends on this unit's state", () => {
    const own = Object.fromEntries(stateEvents().map((s) => [s.state, s.own]));
    expect(own).toEqual({
      unset: [],
      // An idle leader closes a roll a rollback by refresh back left it out of (rollLeftOver): only idle does.
      idle: ["always"],
      ready: ["relationChanged", "tick", "leaderElected", "always"],
      upgrading: ["relationChanged", "tick", "leaderElected", "upgradeCompleted", "upgradePending", "forceUpgrade"],
      completed: ["relationChanged", "tick", "leaderElected", "always"],
      failed: ["forceUpgrade"],
      recovery: ["preUpgradeCheck", "always"],
    });
  });

  it("a state's re-evaluation (relation-changed, tick, leader-elected) keeps the root's actions, in order, and adds to them", () => {
    // A state's handler replaces the root's: what the root does there must be written out again.
    const rows = transitionTable();
    for (const event of ["relationChanged", "tick", "leaderElected"]) {
      const root = rows.find((row) => row.from === "*" && row.event === event);
      for (const row of rows.filter((r) => r.from !== "*" && r.event === event)) {
        expect(row.actions.slice(0, root?.actions.length), `${row.from} ${event}`).toEqual(root?.actions);
      }
    }
  });

  it("an action run before the peer relation exists fails the same way in every state that handles it", () => {
    const rows = transitionTable();
    for (const event of ["preUpgradeCheck", "forceUpgrade"]) {
      const handlers = new Set(rows.filter((row) => row.event === event).map((row) => row.from));
      expect(handlers.size, event).toBeGreaterThan(1);
      for (const from of handlers) {
        const first = rows.find((row) => row.from === from && row.event === event);
        expect([first?.guard, first?.actions], `${from} ${event}`).toEqual(["noRelation", ["actionFail"]]);
      }
    }
  });

  it("names only guards and actions it implements (an unknown action name would come back as an unknown effect)", () => {
    const actions = upgradeMachine().implementations.actions;
    const guards = upgradeMachine().implementations.guards;
    for (const row of transitionTable()) {
      for (const action of row.actions) expect(actions, `${row.from} ${row.event}`).toHaveProperty(action);
      for (const guard of row.guard.match(/\w+/g) ?? [])
        if (!["not", "and", "or"].includes(guard)) expect(guards).toHaveProperty(guard);
    }
  });
});

describe("per-state handling", () => {
  const planned = { dependencies: stored, "upgrade-stack": "[0, 1]" };

  it("upgrading: every re-evaluation asks the charm again; other states do not", () => {
    const raw = bags({ 0: "ready", 1: "upgrading" }, planned, false);
    for (const type of ["relationChanged", "tick", "leaderElected"] as const) {
      expect(types(reduce(at(1, raw), { type, view: readPeerView(raw) }).effects), type).toContain("grantUpgrade");
      expect(types(reduce(at(0, raw), { type, view: readPeerView(raw) }).effects), type).not.toContain("grantUpgrade");
    }
  });

  it("ready: a unit that may not go yet says why at every re-evaluation; an idle unit says nothing", () => {
    const raw = bags(
      { 0: "ready", 1: "upgrading", 2: "idle" },
      { dependencies: stored, "upgrade-stack": "[0, 1]" },
      false,
    );
    for (const type of ["relationChanged", "tick", "leaderElected"] as const) {
      const ready = reduce(at(0, raw), { type, view: readPeerView(raw) });
      expect(
        ready.effects.find((e) => e.type === "explain"),
        type,
      ).toEqual({ type: "explain", reason: "db/1 upgrades before db/0 (#2 in the upgrade order)" });
      expect(types(reduce(at(2, raw), { type, view: readPeerView(raw) }).effects), type).not.toContain("explain");
    }
  });

  it("a completion outside upgrading is stray: logged and ignored, in every state", () => {
    for (const state of ["idle", "ready", "completed", "failed", "recovery"]) {
      const raw = bags({ 0: state, 1: "ready" }, planned, false);
      const { state: after, effects } = reduce(at(0, raw), { type: "upgradeCompleted" });
      expect(after.value, state).toBe(state);
      // Only the log; a completed unit restates its status at every step (see reduce), whatever the event.
      expect(
        effects.filter((e) => e.type !== "setUnitStatus" || state !== "completed"),
        state,
      ).toEqual([
        { type: "log", level: "warning", message: `upgrade reported completed, but db/0 is ${state}; ignored` },
      ]);
    }
  });

  it("recovery: pre-upgrade-check again re-confirms the rollback without rewriting the unit's state; entering it writes it", () => {
    const failed = bags({ 0: "idle", 1: "failed" }, planned, true);
    const entering = reduce(at(0, failed), { type: "preUpgradeCheck", view: readPeerView(failed) });
    expect(entering.state.value).toBe("recovery");
    expect(entering.effects.filter((e) => e.type === "writeUnitData")).toEqual([
      { type: "writeUnitData", data: { state: "recovery" } },
    ]);
    const again = bags({ 0: "recovery", 1: "failed" }, { ...planned, "upgrade-rollback": "true" }, true);
    const confirmed = reduce(at(0, again), { type: "preUpgradeCheck", view: readPeerView(again) });
    expect(confirmed.state.value).toBe("recovery");
    expect(types(confirmed.effects)).not.toContain("writeUnitData");
    expect(types(confirmed.effects)).toEqual(expect.arrayContaining(["setUnitStatus", "actionResult"]));
  });
});
