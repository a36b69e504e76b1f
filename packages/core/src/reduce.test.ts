import { initialTransition } from "xstate";
import { describe, expect, it } from "vitest";
import { upgradeMachine } from "./upgradeMachine.js";
import type { Effect } from "./effects.js";
import type { UpgradeEvent } from "./events.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { UpgradeState } from "./reduce.js";
import type { Substrate } from "./substrate.js";
import { NEW, OLD } from "./testing/index.js";

const DEPS_OLD = OLD.dependencies;

function bags(
  states: Record<number, string | undefined>,
  app: Record<string, string> = {},
  leader = false,
): PeerDatabags {
  const units: Record<string, Record<string, string>> = {};
  for (const [id, state] of Object.entries(states)) units[`db/${id}`] = state === undefined ? {} : { state };
  return { leader, units, app };
}

function stateFor(unit: number, raw: PeerDatabags, substrate: Substrate = "vm", deps = DEPS_OLD): UpgradeState {
  return createUpgradeState({ app: "db", unit, substrate, dependencies: deps, view: readPeerView(raw) });
}

function step(state: UpgradeState, event: UpgradeEvent) {
  const result = reduce(state, event);
  return { ...result, types: result.effects.map((e) => e.type) };
}

const of = <T extends Effect["type"]>(effects: readonly Effect[], type: T) =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

const storedOld = JSON.stringify(DEPS_OLD);

describe("reduce", () => {
  it("createUpgradeState agrees with xstate's initialTransition, then takes the state the databag records", () => {
    const raw = bags({ 0: "ready", 1: "idle" }, { dependencies: storedOld }, true);
    const input = { app: "db", unit: 0, substrate: "vm" as const, dependencies: DEPS_OLD, view: readPeerView(raw) };
    const [initial, actions] = initialTransition(upgradeMachine(), input);
    expect(initial.value).toBe("unset");
    expect(actions).toEqual([]);
    const state = createUpgradeState(input);
    expect(state.context).toEqual(initial.context);
    expect(state.value).toBe("ready");
  });

  it("state round-trips through JSON.stringify/parse and gives the same result", () => {
    const raw = bags(
      { 0: "idle", 1: "idle", 2: "idle" },
      { dependencies: storedOld, "upgrade-stack": "[0, 2, 1]" },
      true,
    );
    const state = stateFor(1, raw, "vm", NEW.dependencies);
    const copy = JSON.parse(JSON.stringify(state)) as UpgradeState;
    const event: UpgradeEvent = { type: "upgradeCharm", view: readPeerView(raw) };
    expect(reduce(copy, event)).toEqual(reduce(state, event));
    expect(JSON.parse(JSON.stringify(reduce(state, event)))).toEqual(reduce(state, event));
  });

  it("relation-created: every unit writes idle, the leader also stores its dependencies", () => {
    const raw = bags({ 0: undefined, 1: undefined }, {}, true);
    const { state, effects } = step(stateFor(0, raw), { type: "relationCreated", view: readPeerView(raw) });
    expect(state.value).toBe("idle");
    expect(of(effects, "writeUnitData")).toEqual([{ type: "writeUnitData", data: { state: "idle" } }]);
    const app = of(effects, "writeAppData");
    expect(app).toHaveLength(1);
    expect(JSON.parse(app[0]?.data.dependencies ?? "")).toEqual(DEPS_OLD);
    const follower = step(stateFor(1, { ...raw, leader: false }), {
      type: "relationCreated",
      view: readPeerView({ ...raw, leader: false }),
    });
    expect(of(follower.effects, "writeAppData")).toEqual([]);
  });

  it("events without a peer relation are deferred", () => {
    const state = createUpgradeState({ app: "db", unit: 0, substrate: "vm", dependencies: DEPS_OLD, view: null });
    expect(step(state, { type: "relationCreated", view: null }).types).toEqual(["defer"]);
    expect(step(state, { type: "upgradeCharm", view: null }).types).toEqual(["defer"]);
  });

  it("pre-upgrade-check: refused on a non-leader, refused while upgrading, runs the charm's check when idle", () => {
    const idle = bags({ 0: "idle", 1: "idle" }, { dependencies: storedOld });
    const notLeader = step(stateFor(1, idle), { type: "preUpgradeCheck", view: readPeerView(idle) });
    expect(of(notLeader.effects, "actionFail")[0]?.message).toMatch(/leader/);

    const busy = bags({ 0: "idle", 1: "ready" }, { dependencies: storedOld }, true);
    const refused = step(stateFor(0, busy), { type: "preUpgradeCheck", view: readPeerView(busy) });
    expect(of(refused.effects, "actionFail")[0]?.message).toMatch(
      /^Cannot run pre-upgrade checks, cluster already upgrading \(db\/0: idle, db\/1: ready\)/,
    );

    const leaderIdle = { ...idle, leader: true };
    const ran = step(stateFor(0, leaderIdle), { type: "preUpgradeCheck", view: readPeerView(leaderIdle) });
    // the leader also (re)states the application status: nothing planned yet, so it is cleared
    expect(ran.types).toEqual(["runPreUpgradeCheck", "setAppStatus"]);
    expect(of(ran.effects, "setAppStatus")).toEqual([{ type: "setAppStatus", status: "active", message: "" }]);
    const passed = step(ran.state, { type: "preUpgradeCheckPassed", stack: [0, 1] });
    expect(of(passed.effects, "writeAppData")).toEqual([
      // the stack, and the plan as made (a refresh back rolls the upgraded units back from it)
      { type: "writeAppData", data: { "upgrade-stack": "[0, 1]", "upgrade-plan": "[0, 1]" } },
    ]);
    expect(of(passed.effects, "actionResult")[0]?.results["upgrade-order"]).toBe("db/1, db/0");
  });

  it("pre-upgrade-check: a ClusterNotReadyError fails the action with its message; other errors say so", () => {
    const idle = bags({ 0: "idle" }, { dependencies: storedOld }, true);
    const ran = step(stateFor(0, idle), { type: "preUpgradeCheck", view: readPeerView(idle) });
    const error = { kind: "ClusterNotReadyError", message: "replica lagging", cause: "lag", resolution: "wait" };
    const failed = step(ran.state, { type: "preUpgradeCheckFailed", error });
    expect(of(failed.effects, "actionFail")).toEqual([{ type: "actionFail", message: "replica lagging" }]);
    const other = step(ran.state, {
      type: "preUpgradeCheckFailed",
      error: { ...error, kind: "Error", message: "boom" },
    });
    expect(of(other.effects, "actionFail")[0]?.message).toBe("Unknown error found: boom");
  });

  it("pre-upgrade-check rejects a VM stack that leaves out a unit or repeats one", () => {
    const idle = bags({ 0: "idle", 1: "idle", 2: "idle" }, { dependencies: storedOld }, true);
    const ran = step(stateFor(0, idle), { type: "preUpgradeCheck", view: readPeerView(idle) });
    expect(
      of(step(ran.state, { type: "preUpgradeCheckPassed", stack: [0, 1] }).effects, "actionFail")[0]?.message,
    ).toMatch(/leaves out db\/2/);
    expect(
      of(step(ran.state, { type: "preUpgradeCheckPassed", stack: [0, 1, 1, 2] }).effects, "actionFail")[0]?.message,
    ).toMatch(/twice/);
  });

  it("K8s pre-upgrade-check builds the stack from sorted ordinals (gaps allowed) and sets the first partition", () => {
    const idle = bags({ 5: "idle", 0: "idle", 3: "idle" }, { dependencies: storedOld }, true);
    const ran = step(stateFor(0, idle, "k8s"), { type: "preUpgradeCheck", view: readPeerView(idle) });
    const passed = step(ran.state, { type: "preUpgradeCheckPassed" });
    expect(of(passed.effects, "writeAppData")[0]?.data["upgrade-stack"]).toBe("[0, 3, 5]");
    expect(of(passed.effects, "setPartition")).toEqual([{ type: "setPartition", partition: 5 }]);
  });

  it("upgrade-charm on VM: the leader checks versions and fails when incompatible, with the original's message", () => {
    const raw = bags({ 0: "idle", 1: "idle" }, { dependencies: storedOld, "upgrade-stack": "[0, 1]" }, true);
    const incompatible = {
      workload: { dependencies: {}, name: "workload", upgrade_supported: "^2", version: "2.0.0" },
    };
    const { state, effects } = step(stateFor(0, raw, "vm", incompatible), {
      type: "upgradeCharm",
      view: readPeerView(raw),
    });
    expect(state.value).toBe("failed");
    const status = of(effects, "setUnitStatus").at(-1);
    expect(status).toEqual({
      type: "setUnitStatus",
      status: "blocked",
      message: "Versions incompatible, workload 1.0.0 can not be upgraded to 2.0.0",
    });
    expect(effects.map((e) => e.type)).toContain("logRollbackInstructions");
    // a non-leader does not check
    const follower = step(stateFor(1, { ...raw, leader: false }, "vm", incompatible), {
      type: "upgradeCharm",
      view: readPeerView({ ...raw, leader: false }),
    });
    expect(follower.state.value).toBe("ready");
  });

  it("upgrade-charm with no stored dependencies proceeds with a warning instead of crashing (upstream bug 8)", () => {
    const raw = bags({ 0: "idle" }, { "upgrade-stack": "[0]" }, true);
    const { state, effects } = step(stateFor(0, raw, "vm", NEW.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(raw),
    });
    expect(of(effects, "log").some((e) => e.level === "warning" && /No stored dependencies/.test(e.message))).toBe(
      true,
    );
    // a single unit is granted at once, and goes through `upgrading` (upstream bug 15)
    expect(state.value).toBe("upgrading");
    expect(effects.map((e) => e.type)).toContain("grantUpgrade");
  });

  it("upgrade-charm on VM without a stack is deferred and tells the operator what to run", () => {
    const raw = bags({ 0: "idle", 1: "idle" }, { dependencies: storedOld });
    const { state, effects } = step(stateFor(1, raw, "vm", NEW.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(raw),
    });
    expect(state.value).toBe("idle");
    expect(effects.map((e) => e.type)).toContain("defer");
    expect(of(effects, "setUnitStatus").at(-1)?.message).toMatch(/pre-upgrade-check/);
  });

  it("the leader on top of the stack grants itself when it turns ready last (upstream bug 4)", () => {
    const raw = bags(
      { 0: "idle", 1: "ready", 2: "ready" },
      { dependencies: storedOld, "upgrade-stack": "[1, 2, 0]" },
      true,
    );
    const { state, effects } = step(stateFor(0, raw, "vm", NEW.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(raw),
    });
    expect(state.value).toBe("upgrading");
    expect(effects.map((e) => e.type)).toContain("grantUpgrade");
  });

  it("a ready unit that is not on top explains why it waits", () => {
    const raw = bags(
      { 0: "ready", 1: "ready", 2: "upgrading" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1, 2]" },
    );
    const { state, effects } = step(stateFor(1, raw, "vm", NEW.dependencies), {
      type: "relationChanged",
      view: readPeerView(raw),
    });
    expect(state.value).toBe("ready");
    expect(of(effects, "explain")[0]?.reason).toBe("db/2 upgrades before db/1 (#2 in the upgrade order)");
    const top = bags({ 0: "ready", 1: "ready", 2: "idle" }, { dependencies: storedOld, "upgrade-stack": "[0, 2, 1]" });
    const waiting = step(stateFor(1, top, "vm", NEW.dependencies), {
      type: "relationChanged",
      view: readPeerView(top),
    });
    expect(of(waiting.effects, "explain")[0]?.reason).toBe(
      "waiting for db/2 to receive the new charm (it is still idle)",
    );
  });

  it("the leader pops every completed unit at the top in one step, then the next top is granted", () => {
    const raw = bags(
      { 0: "ready", 1: "ready", 2: "completed", 3: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1, 2, 3]" },
      true,
    );
    const leader = step(stateFor(0, raw, "vm", NEW.dependencies), { type: "relationChanged", view: readPeerView(raw) });
    expect(of(leader.effects, "writeAppData")).toEqual([{ type: "writeAppData", data: { "upgrade-stack": "[0, 1]" } }]);
    expect(leader.state.value).toBe("ready");
    const next = bags(
      { 0: "ready", 1: "ready", 2: "completed", 3: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1]" },
    );
    const granted = step(stateFor(1, next, "vm", NEW.dependencies), {
      type: "relationChanged",
      view: readPeerView(next),
    });
    expect(granted.state.value).toBe("upgrading");
  });

  it("the leader completing last pops itself, returns to idle and stores the new dependencies", () => {
    const raw = bags({ 0: "upgrading", 1: "completed" }, { dependencies: storedOld, "upgrade-stack": "[0]" }, true);
    const { state, effects } = step(stateFor(0, raw, "vm", NEW.dependencies), { type: "upgradeCompleted" });
    expect(state.value).toBe("idle");
    const app = of(effects, "writeAppData").map((e) => e.data);
    expect(app).toContainEqual({ "upgrade-stack": "[]" });
    expect(JSON.parse(app.find((d) => d.dependencies)?.dependencies ?? "{}")).toEqual(NEW.dependencies);
  });

  it("a failed unit halts the leader's stack handling; pre-upgrade-check then enters recovery and repairs the stack", () => {
    const raw = bags(
      { 0: "ready", 1: "completed", 2: "failed", 3: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 2]" },
      true,
    );
    const halted = step(stateFor(0, raw, "vm", NEW.dependencies), { type: "relationChanged", view: readPeerView(raw) });
    expect(of(halted.effects, "writeAppData")).toEqual([]);
    expect(of(halted.effects, "explain")[0]?.reason).toMatch(/db\/2 failed/);
    const recovery = step(stateFor(0, raw, "vm", NEW.dependencies), {
      type: "preUpgradeCheck",
      view: readPeerView(raw),
    });
    expect(recovery.state.value).toBe("recovery");
    // the failed unit stays on top; the completed units come back just below it, highest first, and stay
    // pending (not poppable) until they are seen to receive the charm again
    expect(of(recovery.effects, "writeAppData")).toEqual([
      {
        type: "writeAppData",
        data: { "upgrade-stack": "[0, 1, 3, 2]", "upgrade-rollback": "true", "upgrade-rollback-pending": "[1, 3]" },
      },
    ]);
    expect(of(recovery.effects, "setUnitStatus").at(-1)?.message).toBe(
      "ready to rollback application | roll back: juju refresh db --revision <previous>",
    );
    expect(of(recovery.effects, "actionResult")[0]?.results.message).toMatch(/juju refresh db/);
  });

  it("the leader drops units that left the application from the stack instead of crashing (upstream bug 1)", () => {
    const raw = bags({ 0: "ready", 2: "completed" }, { dependencies: storedOld, "upgrade-stack": "[0, 1, 2]" }, true);
    const { effects } = step(stateFor(0, raw, "vm", NEW.dependencies), {
      type: "relationChanged",
      view: readPeerView(raw),
    });
    expect(of(effects, "writeAppData")).toEqual([{ type: "writeAppData", data: { "upgrade-stack": "[0]" } }]);
    expect(of(effects, "log").map((e) => e.message)).toContain(
      "db/1 left the application; removed from the upgrade stack",
    );
  });

  it("in a rollback, the leader pops no unit whose `completed` is stale, even after the failed unit left", () => {
    // db/0 (failed) was removed; db/1 completed the forward upgrade and has not received the old charm yet
    const rollback = {
      dependencies: storedOld,
      "upgrade-stack": "[1, 0]",
      "upgrade-rollback": "true",
      "upgrade-rollback-pending": "[1]",
    };
    const raw = bags({ 1: "completed" }, rollback, true);
    const { effects } = step(stateFor(1, raw, "vm", OLD.dependencies), {
      type: "relationChanged",
      view: readPeerView(raw),
    });
    expect(of(effects, "writeAppData")).toEqual([{ type: "writeAppData", data: { "upgrade-stack": "[1]" } }]);
    // its upgrade-charm (the old charm) makes it ready: the leader drops it from the pending list, then grants it
    const ready = step(stateFor(1, raw, "vm", OLD.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(bags({ 1: "completed" }, { ...rollback, "upgrade-stack": "[1]" }, true)),
    });
    expect(of(ready.effects, "writeAppData")).toContainEqual({
      type: "writeAppData",
      data: { "upgrade-rollback-pending": "" },
    });
    expect(ready.state.value).toBe("upgrading");
    expect(ready.types).toContain("grantUpgrade");
  });

  it("outside a rollback (or on Kubernetes) a leftover pending list is ignored, and the leader clears it", () => {
    const raw = bags(
      { 0: "ready", 1: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1]", "upgrade-rollback-pending": "[1]" },
      true,
    );
    const vm = step(stateFor(0, raw, "vm", NEW.dependencies), { type: "relationChanged", view: readPeerView(raw) });
    expect(of(vm.effects, "writeAppData")[0]?.data).toMatchObject({
      "upgrade-stack": "[0]",
      "upgrade-rollback-pending": "",
    });
    const k8s = step(
      stateFor(0, { ...raw, app: { ...raw.app, "upgrade-rollback": "true" } }, "k8s", NEW.dependencies),
      {
        type: "relationChanged",
        view: readPeerView({ ...raw, app: { ...raw.app, "upgrade-rollback": "true" } }),
      },
    );
    expect(of(k8s.effects, "writeAppData")[0]?.data).toMatchObject({
      "upgrade-stack": "[0]",
      "upgrade-rollback-pending": "",
    });
  });

  it("a unit on the rollback's pending list is not granted until the leader has seen it ready", () => {
    const raw = bags(
      { 0: "ready", 1: "ready" },
      {
        dependencies: storedOld,
        "upgrade-stack": "[0, 1]",
        "upgrade-rollback": "true",
        "upgrade-rollback-pending": "[1]",
      },
    );
    const { state, effects } = step(stateFor(1, raw, "vm", OLD.dependencies), {
      type: "relationChanged",
      view: readPeerView(raw),
    });
    expect(state.value).toBe("ready");
    expect(of(effects, "explain")[0]?.reason).toMatch(/waiting for the leader to see db\/1 receive the charm again/);
  });

  it("an invalid upgrade-rollback-pending is reported and cleared by the leader; units' own states decide", () => {
    const raw = bags(
      { 0: "ready", 1: "completed" },
      {
        dependencies: storedOld,
        "upgrade-stack": "[0, 1]",
        "upgrade-rollback": "true",
        "upgrade-rollback-pending": "{oops",
      },
      true,
    );
    const view = readPeerView(raw);
    expect(view.problems).toContainEqual(expect.objectContaining({ unit: null, key: "upgrade-rollback-pending" }));
    const { effects } = step(stateFor(0, raw, "vm", OLD.dependencies), { type: "relationChanged", view });
    // read as empty (failing safe would freeze a legitimately completed unit for ever): db/1 is popped, the key cleared
    expect(of(effects, "writeAppData")).toEqual([
      { type: "writeAppData", data: { "upgrade-stack": "[0]", "upgrade-rollback-pending": "" } },
    ]);
    expect(of(effects, "reportProblem")[0]?.error.message).toMatch(/upgrade-rollback-pending/);
  });

  it("K8s: the highest ordinal checks versions on upgrade-charm, whatever the gaps (upstream bug 10)", () => {
    const raw = bags({ 0: "idle", 4: "idle", 7: "idle" }, { dependencies: storedOld, "upgrade-stack": "[0, 4, 7]" });
    const incompatible = {
      workload: { dependencies: {}, name: "workload", upgrade_supported: "^2", version: "2.0.0" },
    };
    expect(
      step(stateFor(7, raw, "k8s", incompatible), { type: "upgradeCharm", view: readPeerView(raw) }).state.value,
    ).toBe("failed");
    const fine = step(stateFor(4, raw, "k8s", incompatible), { type: "upgradeCharm", view: readPeerView(raw) });
    expect(fine.state.value).toBe("upgrading");
    expect(fine.types).toContain("grantUpgrade");
  });

  it("K8s: a completed pod restarted (evicted) while a failure halts the roll stays completed, not granted again (issue 12.1)", () => {
    const halted = bags(
      { 0: "failed", 1: "completed", 2: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0]" },
    );
    const restarted = step(stateFor(2, halted, "k8s", NEW.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(halted),
    });
    expect(restarted.state.value).toBe("completed");
    expect(restarted.types).not.toContain("grantUpgrade");
    expect(of(restarted.effects, "writeUnitData")).toEqual([]);
    expect(of(restarted.effects, "explain")[0]?.reason).toBe(
      "db/2 restarted (its pod was deleted: evicted, rescheduled) while the upgrade is halted by a failure: it stays completed, and is not upgraded again",
    );
    // an idle pod restarted on the new charm meanwhile (the partition lowered by hand): not granted either
    const idle = step(
      stateFor(1, { ...halted, units: { ...halted.units, "db/1": { state: "idle" } } }, "k8s", NEW.dependencies),
      {
        type: "upgradeCharm",
        view: readPeerView({ ...halted, units: { ...halted.units, "db/1": { state: "idle" } } }),
      },
    );
    expect(idle.state.value).toBe("idle");
    expect(idle.types).not.toContain("grantUpgrade");
    expect(of(idle.effects, "log")[0]).toMatchObject({ level: "warning" });
    // not halted: a completed pod that restarts is handed to the charm again (its health is checked anew)
    const going = bags(
      { 0: "idle", 1: "completed", 2: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0]" },
    );
    const again = step(stateFor(2, going, "k8s", NEW.dependencies), {
      type: "upgradeCharm",
      view: readPeerView(going),
    });
    expect(again.state.value).toBe("upgrading");
    expect(again.types).toContain("grantUpgrade");
  });

  it("K8s: after the first unit, the upgrade pauses until resume-upgrade, which is refused with a reason otherwise", () => {
    const raw = bags(
      { 0: "idle", 1: "idle", 2: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1, 2]" },
      true,
    );
    const popped = step(stateFor(0, raw, "k8s", OLD.dependencies), {
      type: "relationChanged",
      view: readPeerView(raw),
    });
    expect(of(popped.effects, "writeAppData")[0]?.data["upgrade-stack"]).toBe("[0, 1]");
    expect(of(popped.effects, "setPartition")).toEqual([]);
    const paused = bags(
      { 0: "idle", 1: "idle", 2: "completed" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1]" },
      true,
    );
    const resumed = step(stateFor(0, paused, "k8s"), { type: "resumeUpgrade", view: readPeerView(paused) });
    expect(of(resumed.effects, "lowerPartition")).toEqual([{ type: "lowerPartition", partition: 1 }]);
    expect(of(resumed.effects, "actionResult")[0]?.results.message).toBe("Upgrade will resume on unit 1");
    const early = bags(
      { 0: "idle", 1: "idle", 2: "upgrading" },
      { dependencies: storedOld, "upgrade-stack": "[0, 1, 2]" },
      true,
    );
    const refused = step(stateFor(0, early, "k8s"), { type: "resumeUpgrade", view: readPeerView(early) });
    expect(of(refused.effects, "actionFail")[0]?.message).toMatch(/^Nothing to resume: the upgrade is not paused/);
  });

  it("an upgrade failure is never reported with an empty message (upstream bug 16)", () => {
    const raw = bags({ 0: "upgrading" }, { dependencies: storedOld, "upgrade-stack": "[0]" }, true);
    const { state, effects } = step(stateFor(0, raw), { type: "upgradeFailed" });
    expect(state.value).toBe("failed");
    expect(of(effects, "setUnitStatus").at(-1)?.message).toBe(
      "Upgrade of db/0 failed; see the unit log, then roll back",
    );
  });

  it("invalid peer data becomes a problem effect naming the key and unit, never a throw", () => {
    const raw = bags({ 0: "idle", 1: "bogus" }, { dependencies: "{not json", "upgrade-stack": "[1, 1]" }, true);
    const { effects } = step(stateFor(0, raw), { type: "relationChanged", view: readPeerView(raw) });
    const problems = of(effects, "reportProblem").map((p) => [p.unit, p.key]);
    expect(problems).toEqual([
      ["db/1", "state"],
      [null, "upgrade-stack"],
      [null, "dependencies"],
    ]);
    const status = of(effects, "setUnitStatus").at(-1);
    expect(status?.status).toBe("blocked");
    expect(status?.message).toMatch(/^Invalid 'state' in unit db\/1: state must be one of/);
  });
});

describe("reduce takes the event's view before the machine judges it", () => {
  it("guards judge the event's fresh view, not the view the state was built with", () => {
    // Built when this unit was not the leader and a unit was still ready; the event says it leads an idle cluster.
    const before = bags({ 0: "idle", 1: "ready" }, { dependencies: storedOld });
    const now = bags({ 0: "idle", 1: "idle" }, { dependencies: storedOld }, true);
    const ran = step(stateFor(0, before), { type: "preUpgradeCheck", view: readPeerView(now) });
    expect(ran.types).toContain("runPreUpgradeCheck");
    expect(ran.state.context.view.leader).toBe(true);
    // and the other way round: the fresh view says another unit leads now
    const refused = step(stateFor(0, now), { type: "preUpgradeCheck", view: readPeerView(before) });
    expect(of(refused.effects, "actionFail")[0]?.message).toMatch(/leader/);
  });

  it("this unit's own state is kept from the state: the hook owns it, whatever the view says", () => {
    const raw = bags({ 0: "ready", 1: "upgrading" }, { dependencies: storedOld, "upgrade-stack": "[0, 1]" });
    const stale = bags({ 0: "ready", 1: "ready" }, { dependencies: storedOld, "upgrade-stack": "[0, 1]" });
    const { state, types } = step(stateFor(1, raw), { type: "tick", view: readPeerView(stale) });
    expect(state.value).toBe("upgrading");
    expect(state.context.view.units.find((u) => u.id === 1)?.state).toBe("upgrading");
    expect(types).toContain("grantUpgrade");
  });

  it("a unit that had recorded nothing takes the state the event's view records for it", () => {
    const before = createUpgradeState({ app: "db", unit: 0, substrate: "vm", dependencies: DEPS_OLD, view: null });
    expect(before.value).toBe("unset");
    const raw = bags({ 0: "upgrading", 1: "ready" }, { dependencies: storedOld, "upgrade-stack": "[1, 0]" });
    const { state, types } = step(before, { type: "tick", view: readPeerView(raw) });
    expect(state.value).toBe("upgrading");
    expect(types).toContain("grantUpgrade");
    expect(step(state, { type: "upgradeCompleted" }).state.value).toBe("completed");
  });

  it("taking a view writes a changed hold and reports bad data once per event, before the machine's effects", () => {
    const raw = bags({ 0: "ready", 1: "bogus" }, { dependencies: storedOld, "upgrade-stack": "[0, 1]" });
    const state = createUpgradeState({
      app: "db",
      unit: 0,
      substrate: "vm",
      dependencies: DEPS_OLD,
      view: readPeerView(raw),
      settings: { hold: "backup" },
    });
    const { effects, types } = step(state, { type: "upgradeCharm", view: readPeerView(raw) });
    expect(types.slice(0, 2)).toEqual(["writeUnitData", "reportProblem"]);
    expect(of(effects, "writeUnitData").filter((e) => "upgrade-hold" in e.data)).toEqual([
      { type: "writeUnitData", data: { "upgrade-hold": "backup" } },
    ]);
    expect(of(effects, "reportProblem").map((p) => [p.unit, p.key])).toEqual([["db/1", "state"]]);
    // the charm's answers bring no view: nothing is taken, nothing reported again
    const answer = step(state, { type: "upgradeFailed" });
    expect(answer.types).not.toContain("reportProblem");
  });
});
