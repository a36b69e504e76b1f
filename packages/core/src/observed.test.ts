import { describe, expect, it } from "vitest";
import { appStatusOf } from "./appStatus.js";
import type { Effect } from "./effects.js";
import type { RuntimeObservation } from "./observed.js";
import {
  completedOnOtherWorkload,
  missedUpgradeCharm,
  observedMismatch,
  readObservation,
  workloadAhead,
} from "./observed.js";
import { hookSession } from "./hookSession.js";
import type { HookEventType, HookOutcome } from "./hookSession.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { planFromSnapshot } from "./plan.js";
import { createUpgradeState, reduce } from "./reduce.js";
import { NEW, OLD } from "./testing/index.js";
import type { Substrate } from "./substrate.js";

const FROM = "ch:amd64/jammy/db-381";
const TO = "ch:amd64/jammy/db-382";
const stored = JSON.stringify(OLD.dependencies);

/** Units' databags (`state`, and the charm each runs) and the application's. */
function bags(
  units: Record<number, { state: string; charm?: string; workload?: string }>,
  app: Record<string, string>,
  leader = false,
): PeerDatabags {
  return {
    leader,
    units: Object.fromEntries(
      Object.entries(units).map(([id, { state, charm, workload }]) => [
        `db/${id}`,
        {
          state,
          ...(charm ? { "upgrade-running-charm": charm } : {}),
          ...(workload ? { "upgrade-running-workload": workload } : {}),
        },
      ]),
    ),
    app,
  };
}

function stateOf(
  unit: number,
  raw: PeerDatabags,
  extra: {
    substrate?: Substrate;
    charm?: string;
    workloadVersion?: string;
    observed?: RuntimeObservation;
  } = {},
) {
  return createUpgradeState({
    app: "db",
    unit,
    substrate: extra.substrate ?? "vm",
    dependencies: NEW.dependencies,
    view: readPeerView(raw),
    charm: extra.charm ?? TO,
    ...(extra.workloadVersion ? { workloadVersion: extra.workloadVersion } : {}),
    ...(extra.observed ? { observed: extra.observed } : {}),
  });
}

const statuses = (effects: readonly Effect[]) =>
  effects.filter((e): e is Extract<Effect, { type: "setUnitStatus" }> => e.type === "setUnitStatus");

const rolling = { dependencies: stored, "upgrade-stack": "[0, 1]", "upgrade-from-charm": FROM };

describe("observed versions against recorded states", () => {
  it("a unit that says it completed but runs the charm the roll leaves is named, in its status and the application's", () => {
    // db/2 completed, then Juju put the old charm back without upgrade-charm (LP#2068500)
    const raw = bags(
      { 0: { state: "ready", charm: TO }, 1: { state: "ready", charm: TO }, 2: { state: "completed", charm: FROM } },
      rolling,
      true,
    );
    const leader = stateOf(0, raw);
    expect(observedMismatch(leader.context, 2)).toBe(
      "db/2 says completed but runs charm 381, the one the upgrade leaves",
    );
    expect(observedMismatch(leader.context, 1)).toBeNull();
    expect(appStatusOf(leader.context)).toMatchObject({
      status: "blocked",
      message: expect.stringContaining("db/2 says completed but runs charm 381"),
    });
    const self = reduce(stateOf(2, { ...raw, leader: false }, { charm: FROM }), {
      type: "tick",
      view: readPeerView({ ...raw, leader: false }),
    });
    expect(statuses(self.effects).at(-1)).toMatchObject({
      status: "blocked",
      message:
        "db/2 says completed but runs charm 381, the one the upgrade leaves | roll back: juju refresh db --revision 381",
    });
  });

  it("Kubernetes: a completed unit whose pod is not on the latest revision says so, and does not call the upgrade over", () => {
    const over = { dependencies: stored, "upgrade-from-charm": FROM };
    const raw = bags({ 0: { state: "idle", charm: TO }, 1: { state: "completed", charm: TO } }, over);
    const behind = { latest: false, revision: "db-5d4b8c", image: "registry.example/db:1.0" };
    const stuck = reduce(stateOf(1, raw, { substrate: "k8s", observed: behind }), {
      type: "tick",
      view: readPeerView(raw),
    });
    expect(stuck.state.value).toBe("completed");
    expect(statuses(stuck.effects).at(-1)).toMatchObject({
      status: "blocked",
      message:
        // within 120 characters, the revision (detail) gives way to the rollback command
        "db/1 says completed but is not on the application's latest revision | roll back: juju refresh db --revision 381",
    });
    // once its pod runs the latest revision, it is done — when the leader has closed the roll (its records cleared:
    // until then a unit that is not the leader stays completed, see `awaitsRollClose`)
    const latest = { ...behind, latest: true, revision: "db-7f9a1e" };
    const open = reduce(stateOf(1, raw, { substrate: "k8s", observed: latest }), {
      type: "tick",
      view: readPeerView(raw),
    });
    expect(open.state.value).toBe("completed");
    const closed = bags(
      { 0: { state: "idle", charm: TO }, 1: { state: "completed", charm: TO } },
      { dependencies: stored },
    );
    const done = reduce(stateOf(1, closed, { substrate: "k8s", observed: latest }), {
      type: "tick",
      view: readPeerView(closed),
    });
    expect(done.state.value).toBe("idle");
    // nothing observed: its state decides, as before
    expect(
      reduce(stateOf(1, closed, { substrate: "k8s" }), { type: "tick", view: readPeerView(closed) }).state.value,
    ).toBe("idle");
  });

  it("a completed unit whose workload still reports the version before the upgrade is named", () => {
    const raw = bags({ 0: { state: "ready", charm: TO }, 1: { state: "completed", charm: TO } }, rolling);
    const old = reduce(stateOf(1, raw, { workloadVersion: "1.0.0" }), { type: "tick", view: readPeerView(raw) });
    expect(statuses(old.effects).at(-1)).toMatchObject({
      status: "blocked",
      message:
        "db/1 completed but its workload reports 1.0.0, not 1.1.0 | workload 1.0.0 | roll back: juju refresh db --revision 381",
    });
    const fine = reduce(stateOf(1, raw, { workloadVersion: "1.1.0" }), { type: "tick", view: readPeerView(raw) });
    expect(statuses(fine.effects).at(-1)).toMatchObject({ status: "maintenance" });
    expect(statuses(fine.effects).at(-1)?.message).toMatch(
      /^upgrade completed \| charm 382, workload 1\.1\.0 \| roll back/,
    );
  });

  it("a unit's observations are judged against the state it had when it observed, not the one it reaches in the hook", () => {
    // granted in this hook: the charm reported 1.0.0 before it upgraded the workload
    const raw = bags({ 0: { state: "ready", charm: TO }, 1: { state: "upgrading", charm: TO } }, rolling);
    const hook = reduce(stateOf(1, raw, { workloadVersion: "1.0.0" }), { type: "upgradeCompleted" });
    expect(hook.state.value).toBe("completed");
    expect(statuses(hook.effects).every((s) => s.status !== "blocked")).toBe(true);
  });

  it("a rollback says nothing of mismatches: a unit's state may date from the attempt being rolled back", () => {
    const raw = bags(
      { 0: { state: "ready", charm: FROM }, 1: { state: "completed", charm: FROM } },
      { ...rolling, "upgrade-rollback": "true" },
    );
    expect(observedMismatch(stateOf(1, raw, { charm: FROM, workloadVersion: "1.0.0" }).context, 1)).toBeNull();
  });

  it("each unit records the workload version its charm reports when it changes; the plan lists what each runs", () => {
    const raw = bags(
      { 0: { state: "idle", charm: FROM, workload: "1.0.0" }, 1: { state: "idle" } },
      { dependencies: stored },
      true,
    );
    const first = reduce(stateOf(1, { ...raw, leader: false }, { charm: FROM, workloadVersion: "1.0.0" }), {
      type: "tick",
      view: readPeerView({ ...raw, leader: false }),
    });
    expect(first.effects).toContainEqual({
      type: "writeUnitData",
      data: { "upgrade-running-charm": FROM },
    });
    expect(first.effects).toContainEqual({ type: "writeUnitData", data: { "upgrade-running-workload": "1.0.0" } });
    // unchanged: nothing written
    const again = reduce(stateOf(0, raw, { charm: FROM, workloadVersion: "1.0.0" }), {
      type: "tick",
      view: readPeerView(raw),
    });
    expect(again.effects.filter((e) => e.type === "writeUnitData")).toEqual([]);
    const plan = planFromSnapshot({
      app: "db",
      substrate: "vm",
      leader: 0,
      databags: { units: raw.units, app: raw.app },
    });
    expect(plan.results["units-running"]).toBe(`db/0 ${FROM} workload 1.0.0; db/1 unknown`);
  });

  it("the version the charm reports after a completed grant is recorded with completed, validated as at the start", () => {
    const raw = bags(
      { 0: { state: "ready", charm: TO }, 1: { state: "upgrading", charm: TO, workload: "1.0.0" } },
      rolling,
    );
    const upgrading = stateOf(1, raw, { workloadVersion: "1.0.0" });
    const writes = (effects: readonly Effect[]) => effects.filter((e) => e.type === "writeUnitData");
    const done = reduce(upgrading, { type: "upgradeCompleted", workloadVersion: "1.1.0" });
    expect(done.state.value).toBe("completed");
    expect(writes(done.effects)).toContainEqual({
      type: "writeUnitData",
      data: { "upgrade-running-workload": "1.1.0" },
    });
    expect(done.state.context.view.units.find((u) => u.id === 1)?.workload).toBe("1.1.0");
    // the same version as recorded, none, or one that does not validate: nothing written for it
    for (const workloadVersion of ["1.0.0", undefined, "1.1\n; rm -rf /"]) {
      const event = workloadVersion === undefined ? {} : { workloadVersion };
      const other = reduce(upgrading, { type: "upgradeCompleted", ...event });
      expect(other.state.value).toBe("completed");
      expect(writes(other.effects).some((e) => "upgrade-running-workload" in e.data)).toBe(false);
    }
  });

  it("a reported version or observation that does not validate is nothing observed, and bad peer data is reported", () => {
    expect(readObservation({ latest: "yes" })).toBeNull();
    expect(readObservation({ latest: true, revision: "db-1", image: "a b" })).toBeNull();
    expect(readObservation({ latest: false })).toEqual({ latest: false, revision: null, image: null });
    const view = readPeerView(bags({ 0: { state: "idle", workload: "1.0\n; rm -rf /" } }, {}));
    expect(view.units[0]?.workload).toBeUndefined();
    expect(view.problems).toContainEqual(expect.objectContaining({ unit: "db/0", key: "upgrade-running-workload" }));
  });
});

/** One whole machine hook of `unit` through the hook session, every charm call answered `ok` (a grant: `completed`). */
function hook(unit: number, event: HookEventType, databags: PeerDatabags, charm: string): HookOutcome {
  const session = hookSession({
    app: "db",
    unit,
    substrate: "vm",
    dependencies: NEW.dependencies,
    event,
    inAction: false,
    databags,
    memory: null,
    charm,
    abilities: { checkTrust: false, buildUpgradeStack: true, setPartition: false, logRollbackInstructions: false },
  });
  let step = session.next();
  while (!step.done) step = session.next(step.value.type === "grant" ? { ok: true, value: "completed" } : { ok: true });
  return step.value;
}

describe("a charm replaced without upgrade-charm (LP#2068500)", () => {
  it("is told from the charm a unit runs against the one its databag recorded, unless upgrade-charm is among the hook's events", () => {
    expect(missedUpgradeCharm(FROM, TO, ["relationChanged"])).toBe(true);
    expect(missedUpgradeCharm(FROM, TO, ["tick", "upgradeCharm"])).toBe(false);
    expect(missedUpgradeCharm(TO, TO, ["tick"])).toBe(false);
    // nothing recorded (a unit's first hooks, a unit on the Python library), or not a charm: nothing can be told
    expect(missedUpgradeCharm(undefined, TO, ["tick"])).toBe(false);
    expect(missedUpgradeCharm(FROM, null, ["tick"])).toBe(false);
    expect(missedUpgradeCharm("db-381; rm -rf /", TO, ["tick"])).toBe(false);
  });

  it("the unit's retried hook takes the upgrade-charm first: idle on the new charm, it becomes ready (and on top, is granted)", () => {
    const raw = bags({ 0: { state: "idle", charm: FROM }, 1: { state: "idle", charm: FROM } }, rolling);
    // db/0 is not next (db/1 is on top of [0, 1]): ready, waiting for db/1
    const waiting = hook(0, "relationChanged", raw, TO);
    expect(waiting.unitWrites).toMatchObject({ state: "ready", "upgrade-running-charm": TO });
    expect(waiting.logs).toContainEqual({
      level: "WARNING",
      message: `Juju replaced this unit's charm (${FROM} -> ${TO}) without upgrade-charm (LP#2068500): handled as upgrade-charm`,
    });
    // db/1 is next, and once every unit is ready it is granted, and completes, in the same hook
    expect(hook(1, "tick", raw, TO).unitWrites).toMatchObject({ state: "ready", "upgrade-running-charm": TO });
    const others = bags({ 0: { state: "ready", charm: TO }, 1: { state: "idle", charm: FROM } }, rolling);
    expect(hook(1, "tick", others, TO).unitWrites).toMatchObject({ state: "completed", "upgrade-running-charm": TO });
    // the same hook after a real upgrade-charm, or with the charm recorded already: no second upgrade-charm
    const seen = bags({ 0: { state: "idle", charm: TO }, 1: { state: "idle", charm: FROM } }, rolling);
    expect(hook(0, "relationChanged", seen, TO).unitWrites).toEqual({});
  });

  it("after a refresh back, a unit that completed and got the old charm without upgrade-charm is ready on it again", () => {
    const raw = bags({ 0: { state: "ready", charm: TO }, 1: { state: "completed", charm: TO } }, rolling);
    const back = hook(1, "tick", raw, FROM);
    expect(back.unitWrites).toMatchObject({ state: "ready", "upgrade-running-charm": FROM });
  });
});

describe("a workload ahead of its unit's record (a grant's hook failed after its work, then a refresh back)", () => {
  /**
   * db/1 receives the roll's origin (`FROM`, installing 1.0.0) while it says `state`, its charm reporting `reported`.
   * Its databag records `FROM`: the hook that failed was its upgrade-charm to the new charm (nothing of it recorded).
   */
  function receivesOrigin(state: string, reported: string | null, substrate: Substrate = "vm") {
    const raw = bags({ 0: { state: "idle", charm: FROM }, 1: { state, charm: FROM } }, rolling);
    return createUpgradeState({
      app: "db",
      unit: 1,
      substrate,
      dependencies: OLD.dependencies,
      view: readPeerView(raw),
      charm: FROM,
      ...(reported !== null ? { workloadVersion: reported } : {}),
    });
  }
  const upgradeCharm = (state: ReturnType<typeof receivesOrigin>) =>
    reduce(state, { type: "upgradeCharm", view: state.context.view });

  it("a unit idle or ready on the old charm whose workload runs the new version becomes ready, to be rolled back", () => {
    for (const recorded of ["idle", "ready"]) {
      const state = receivesOrigin(recorded, "1.1.0");
      expect(workloadAhead(state.context)).toBe(true);
      const result = upgradeCharm(state);
      expect(result.state.value).toBe("ready");
      expect(result.effects).toContainEqual({
        type: "log",
        level: "warning",
        message: `db/1 runs workload 1.1.0, not the 1.0.0 ${FROM} installs, though it recorded ${recorded}: its upgrade's hook failed after the upgrade (Juju discarded its record); rolled back as an upgraded unit`,
      });
    }
  });

  it("a unit that never upgraded (its workload is the one the old charm installs) goes back to idle, as before", () => {
    const result = upgradeCharm(receivesOrigin("ready", "1.0.0"));
    expect(workloadAhead(receivesOrigin("ready", "1.0.0").context)).toBe(false);
    expect(result.state.value).toBe("idle");
  });

  it("nothing is told without a reported version, on Kubernetes (the pod's image says it), or on the new charm", () => {
    expect(workloadAhead(receivesOrigin("idle", null).context)).toBe(false);
    expect(upgradeCharm(receivesOrigin("idle", null)).state.value).toBe("idle");
    expect(workloadAhead(receivesOrigin("idle", "1.1.0", "k8s").context)).toBe(false);
    const raw = bags({ 0: { state: "ready", charm: TO }, 1: { state: "idle", charm: TO } }, rolling);
    expect(workloadAhead(stateOf(1, raw, { workloadVersion: "1.1.0" }).context)).toBe(false);
  });
});

describe("a unit completed on the roll's target whose workload is not what that charm installs", () => {
  // The roll goes FROM -> TO (`upgrade-to-charm` recorded) and its stack has emptied. db/1 completed TO (1.1.0), got a
  // third charm whose grant's hook upgraded the workload to 1.2.0 and failed (Juju discarded its writes), was popped
  // by the leader meanwhile, and now receives TO again: what the statuses told the operator to refresh to.
  const THIRD = "ch:amd64/jammy/db-383";
  const emptied = { dependencies: stored, "upgrade-from-charm": FROM, "upgrade-to-charm": TO };

  /** db/1 receives `charm` (its databag records it, as the hook's own write does) while it says `completed`. */
  function receives(
    reported: string | null,
    options: { charm?: string; substrate?: Substrate; app?: Record<string, string> } = {},
  ) {
    const charm = options.charm ?? TO;
    const raw = bags(
      { 0: { state: "completed", charm: TO }, 1: { state: "completed", charm } },
      options.app ?? emptied,
    );
    return createUpgradeState({
      app: "db",
      unit: 1,
      substrate: options.substrate ?? "vm",
      dependencies: NEW.dependencies,
      view: readPeerView(raw),
      charm,
      ...(reported !== null ? { workloadVersion: reported } : {}),
    });
  }
  const upgradeCharm = (state: ReturnType<typeof receives>) =>
    reduce(state, { type: "upgradeCharm", view: state.context.view });

  it("is not done: it becomes ready on the charm it runs, and says why", () => {
    const state = receives("1.2.0");
    expect(completedOnOtherWorkload(state.context)).toBe(true);
    const result = upgradeCharm(state);
    // before: idle — the empty stack read as a refresh without a plan, then the roll over for it
    expect(result.state.value).toBe("ready");
    expect(result.effects).toContainEqual({ type: "writeUnitData", data: { state: "ready" } });
    expect(result.effects).toContainEqual({
      type: "log",
      level: "warning",
      message: `db/1 recorded completed but runs workload 1.2.0, not the 1.1.0 ${TO} installs: not done; it upgrades again`,
    });
    expect(result.effects.map((effect) => effect.type)).not.toContain("defer");
  });

  it("the leader puts it back on the emptied stack, so it is granted again", () => {
    const raw = bags({ 0: { state: "completed", charm: TO }, 1: { state: "ready", charm: TO } }, emptied, true);
    const leader = stateOf(0, raw, { workloadVersion: "1.1.0" });
    const result = reduce(leader, { type: "relationChanged", view: leader.context.view });
    expect(result.effects).toContainEqual({ type: "writeAppData", data: { "upgrade-stack": "[1]" } });
    expect(result.state.value).toBe("completed");
  });

  it("nothing changes when its workload is what the charm installs, or nothing is told", () => {
    for (const reported of ["1.1.0", null]) {
      const state = receives(reported);
      expect(completedOnOtherWorkload(state.context)).toBe(false);
      expect(upgradeCharm(state).state.value).toBe("idle");
    }
  });

  it("nothing is told on a third charm (refused), on Kubernetes, in a rollback, or with no roll", () => {
    expect(completedOnOtherWorkload(receives("1.2.0", { charm: THIRD }).context)).toBe(false);
    expect(completedOnOtherWorkload(receives("1.0.0", { substrate: "k8s" }).context)).toBe(false);
    const back = { ...emptied, "upgrade-rollback": "true", "upgrade-stack": "[1]" };
    expect(completedOnOtherWorkload(receives("1.2.0", { charm: FROM, app: back }).context)).toBe(false);
    expect(completedOnOtherWorkload(receives("1.2.0", { app: { dependencies: stored } }).context)).toBe(false);
  });
});
