import { describe, expect, it } from "vitest";
import type { Effect } from "./effects.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { UpgradeState } from "./reduce.js";
import { planFromSnapshot } from "./plan.js";
import { INCOMPATIBLE, NEW, OLD } from "./testing/index.js";

const stored = JSON.stringify(OLD.dependencies);
const of = <T extends Effect["type"]>(effects: readonly Effect[], type: T) =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

function raw(states: Record<number, string>, app: Record<string, string>, leader: boolean): PeerDatabags {
  const units: Record<string, Record<string, string>> = {};
  for (const [id, state] of Object.entries(states)) units[`db/${id}`] = { state };
  return { leader, units, app };
}

function at(unit: number, bags: PeerDatabags, deps = NEW.dependencies): UpgradeState {
  return createUpgradeState({
    app: "db",
    unit,
    substrate: "vm",
    dependencies: deps,
    view: readPeerView(bags),
    settings: { pauseAfterUnitUpgrade: "none" },
  });
}

describe("force-upgrade: named overrides, never a blanket force", () => {
  it("check-compatibility=false lets the unit failed by the version check go on, logged and recorded", () => {
    const bags = raw({ 0: "failed", 1: "ready" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, true);
    const { state, effects } = reduce(at(0, bags, INCOMPATIBLE.dependencies), {
      type: "forceUpgrade",
      view: readPeerView(bags),
      checkCompatibility: false,
      checkHealth: true,
    });
    expect(state.value).toBe("ready");
    expect(of(effects, "writeUnitData")[0]?.data["upgrade-skipped-checks"]).toBe('["version-compatibility"]');
    expect(
      of(effects, "log").some(
        (e) => e.level === "warning" && /skipped the version-compatibility check/.test(e.message),
      ),
    ).toBe(true);
    expect(of(effects, "actionResult")[0]?.results["skipped-checks"]).toBe("version-compatibility");
  });

  it("check-health=false completes an upgraded unit waiting on its health check", () => {
    const bags = raw({ 0: "ready", 1: "upgrading" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
    const { state, effects } = reduce(at(1, bags), {
      type: "forceUpgrade",
      view: readPeerView(bags),
      checkCompatibility: true,
      checkHealth: false,
    });
    expect(state.value).toBe("completed");
    expect(of(effects, "actionResult")[0]?.results.message).toBe("Forced: skipped health on db/1.");
  });

  it("refuses to skip nothing, and refuses a check the unit is not waiting on", () => {
    const bags = raw({ 0: "ready", 1: "upgrading" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
    const none = reduce(at(1, bags), {
      type: "forceUpgrade",
      view: readPeerView(bags),
      checkCompatibility: true,
      checkHealth: true,
    });
    expect(of(none.effects, "actionFail")[0]?.message).toMatch(/must skip at least one check/);
    const wrong = reduce(at(0, bags), {
      type: "forceUpgrade",
      view: readPeerView(bags),
      checkCompatibility: false,
      checkHealth: false,
    });
    expect(wrong.state.value).toBe("ready");
    expect(of(wrong.effects, "actionFail")[0]?.message).toMatch(/^Nothing to force on db\/0 \(it is ready\)/);
  });
});

describe("health gate", () => {
  it("an upgraded but unhealthy unit stays upgrading, says what the operator may do, and holds the next unit", () => {
    const bags = raw({ 0: "ready", 1: "upgrading" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
    const { state, effects } = reduce(at(1, bags), { type: "upgradePending", reason: "replica lag 30s" });
    expect(state.value).toBe("upgrading");
    const status = of(effects, "setUnitStatus").at(-1);
    // what is wrong, what the operator may do, and the rollback command
    expect(status?.message).toBe(
      "Unhealthy: replica lag 30s. Fix, or force-upgrade check-health=false | roll back: juju refresh db --revision <previous>",
    );
    expect(status?.message.length).toBeLessThanOrEqual(120);
    // the next unit is not granted while it is upgrading; the reason names it
    const next = reduce(at(0, bags), { type: "relationChanged", view: readPeerView(bags) });
    expect(next.state.value).toBe("ready");
    expect(of(next.effects, "explain")[0]?.reason).toMatch(/db\/1 upgrades before db\/0|db\/1 is upgrading/);
    // retried on later events: the grant is asked again
    expect(reduce(at(1, bags), { type: "tick", view: readPeerView(bags) }).effects.map((e) => e.type)).toContain(
      "grantUpgrade",
    );
  });
});

describe("application status (leader)", () => {
  it("names the progress, the next step and the rollback command, within 120 characters", () => {
    const running = raw(
      { 0: "ready", 1: "ready", 2: "completed" },
      { dependencies: stored, "upgrade-stack": "[0, 1]" },
      true,
    );
    const app = of(
      reduce(at(0, running), { type: "relationChanged", view: readPeerView(running) }).effects,
      "setAppStatus",
    ).at(-1);
    expect(app).toEqual({
      type: "setAppStatus",
      status: "maintenance",
      message: "Upgrading db (1/3 done): db/1 next; to roll back: juju refresh db --revision <previous>",
    });
    const paused = createUpgradeState({
      app: "db",
      unit: 0,
      substrate: "vm",
      dependencies: NEW.dependencies,
      view: readPeerView(running),
    });
    const pausedStatus = of(
      reduce(paused, { type: "relationChanged", view: readPeerView(running) }).effects,
      "setAppStatus",
    ).at(-1);
    expect(pausedStatus?.status).toBe("waiting");
    expect(pausedStatus?.message).toBe(
      "Paused (1/3 upgraded): check them, then run resume-upgrade on db/0; or roll back: juju refresh db --revision <previous>",
    );
    const failed = raw({ 0: "ready", 1: "failed" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, true);
    const failedStatus = of(
      reduce(at(0, failed), { type: "relationChanged", view: readPeerView(failed) }).effects,
      "setAppStatus",
    ).at(-1);
    expect(failedStatus?.status).toBe("blocked");
    expect(failedStatus?.message).toBe(
      "db/1 failed its upgrade. Run pre-upgrade-check on the leader, then roll back: juju refresh db --revision <previous>",
    );
    for (const s of [app, pausedStatus, failedStatus]) expect(s?.message.length).toBeLessThanOrEqual(120);
  });

  it("is cleared when every unit is idle again, and never set by a non-leader", () => {
    const idle = raw({ 0: "idle", 1: "idle" }, { dependencies: stored }, true);
    expect(of(reduce(at(0, idle), { type: "tick", view: readPeerView(idle) }).effects, "setAppStatus")).toEqual([
      { type: "setAppStatus", status: "active", message: "" },
    ]);
    const running = raw({ 0: "ready", 1: "ready" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
    expect(of(reduce(at(0, running), { type: "tick", view: readPeerView(running) }).effects, "setAppStatus")).toEqual(
      [],
    );
  });
});

describe("the plan", () => {
  it("pre-upgrade-check returns the order, where the roll pauses, the running versions and the checks it ran", () => {
    const bags = raw({ 0: "idle", 1: "idle", 2: "idle" }, { dependencies: stored }, true);
    const state = createUpgradeState({
      app: "db",
      unit: 0,
      substrate: "vm",
      dependencies: OLD.dependencies,
      view: readPeerView(bags),
    });
    const ran = reduce(state, { type: "preUpgradeCheck", view: readPeerView(bags) });
    const results = of(
      reduce(ran.state, { type: "preUpgradeCheckPassed", stack: [0, 1, 2] }).effects,
      "actionResult",
    )[0]?.results;
    expect(results).toEqual({
      message: "Pre-upgrade check passed. Upgrade order: db/2, db/1, db/0. Now run juju refresh db.",
      "upgrade-order": "db/2, db/1, db/0",
      pauses: "after db/2 (pause-after-unit-upgrade=first), until resume-upgrade",
      "running-versions": "workload 1.0.0 (upgrade_supported >=1)",
      compatibility:
        "checked on upgrade-charm by db/0: each key's running version against the new revision's upgrade_supported",
      checks: "peer data valid; every unit idle; the charm's pre-upgrade check passed",
      "units-running": "db/0 unknown; db/1 unknown; db/2 unknown",
      rollback: "juju refresh db --revision <previous>",
    });
  });

  it("charm-upgrade plan computes the same from a snapshot of the databags", () => {
    const snapshot = {
      app: "db",
      substrate: "k8s" as const,
      leader: 1,
      databags: {
        units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/4": { state: "idle" } },
        app: { dependencies: stored },
      },
      settings: { pauseAfterUnitUpgrade: "all" },
    };
    const { results, problems } = planFromSnapshot(snapshot);
    expect(problems).toEqual([]);
    expect(results["upgrade-order"]).toBe("db/4, db/1, db/0");
    expect(results.pauses).toBe("after every unit (pause-after-unit-upgrade=all), until resume-upgrade");
    expect(results.message).toBe("Proposed. Upgrade order: db/4, db/1, db/0. Now run juju refresh db.");
  });
});

describe("issue 12.7: force-upgrade on Kubernetes, and leader-only refusals", () => {
  it("Kubernetes: check-compatibility=false takes the restarted pod to upgrading, never to ready (never granted there)", () => {
    const bags = raw({ 0: "idle", 1: "failed" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
    const state = createUpgradeState({
      app: "db",
      unit: 1,
      substrate: "k8s",
      dependencies: INCOMPATIBLE.dependencies,
      view: readPeerView(bags),
      settings: { pauseAfterUnitUpgrade: "none" },
    });
    const { state: next, effects } = reduce(state, {
      type: "forceUpgrade",
      view: readPeerView(bags),
      checkCompatibility: false,
      checkHealth: true,
    });
    expect(next.value).toBe("upgrading");
    expect(of(effects, "writeUnitData").map((e) => e.data.state)).toContain("upgrading");
    expect(of(effects, "writeUnitData")[0]?.data["upgrade-skipped-checks"]).toBe('["version-compatibility"]');
    expect(of(effects, "actionFail")).toEqual([]);
  });

  it.each(["preUpgradeCheck", "resumeUpgrade"] as const)(
    "%s off the leader names the application in the command, not a literal <app>",
    (type) => {
      const bags = raw({ 0: "idle", 1: "idle" }, { dependencies: stored, "upgrade-stack": "[0, 1]" }, false);
      const { effects } = reduce(at(1, bags), { type, view: readPeerView(bags) });
      const action = type === "preUpgradeCheck" ? "pre-upgrade-check" : "resume-upgrade";
      expect(of(effects, "actionFail")[0]?.message).toBe(
        `Action must be run on the Juju leader unit (juju run db/leader ${action}).`,
      );
    },
  );
});
