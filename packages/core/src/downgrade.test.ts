import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appStatusOf } from "./appStatus.js";
import { checkCompatibility, checkDowngrade } from "./compatibility.js";
import type { Dependencies } from "./dependencyModel.js";
import { parseDependencies, safeParseDependencies } from "./dependencyModel.js";
import type { Effect } from "./effects.js";
import type { PeerDatabags } from "./peerView.js";
import { encodeDependencies, readPeerView } from "./peerView.js";
import { satisfies } from "./poetry/index.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { Substrate } from "./substrate.js";

const FROM = "ch:amd64/jammy/db-381";
const TO = "ch:amd64/jammy/db-382";

const model = (version: string, extra: Record<string, string> = {}) => ({
  dependencies: {},
  name: "workload",
  upgrade_supported: ">=1",
  version,
  ...extra,
});
/** The revision deployed first: workload 1.0.0. */
const OLD: Dependencies = parseDependencies({ workload: model("1.0.0") });
/** The next: workload 1.1.0, whose data 1.0.x cannot read. */
const NEW: Dependencies = parseDependencies({ workload: model("1.1.0", { downgrade_supported: ">=1.1" }) });
const REFUSAL = "workload 1.1.0 cannot go back to 1.0.0 (downgrade_supported >=1.1)";

function bags(
  units: Record<number, Record<string, string>>,
  app: Record<string, string>,
  leader = false,
): PeerDatabags {
  return { leader, units: Object.fromEntries(Object.entries(units).map(([id, bag]) => [`db/${id}`, bag])), app };
}

function at(unit: number, raw: PeerDatabags, code: Dependencies, charm: string, substrate: Substrate = "vm") {
  return createUpgradeState({ app: "db", unit, substrate, dependencies: code, view: readPeerView(raw), charm });
}

const of = <T extends Effect["type"]>(effects: readonly Effect[], type: T) =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);

describe("DEPENDENCIES downgrade_supported", () => {
  it("is optional, must parse, and leaves the stored JSON of a charm without it byte-identical to the Python library's", () => {
    expect(NEW.workload?.downgrade_supported).toBe(">=1.1");
    expect(encodeDependencies(OLD)).toBe(
      '{"workload": {"dependencies": {}, "name": "workload", "upgrade_supported": ">=1", "version": "1.0.0"}}',
    );
    // after the original's fields: a Python reader (pydantic's default Extra.ignore) skips it
    expect(encodeDependencies(NEW)).toBe(
      '{"workload": {"dependencies": {}, "name": "workload", "upgrade_supported": ">=1", "version": "1.1.0", "downgrade_supported": ">=1.1"}}',
    );
    const bad = safeParseDependencies({ workload: model("1.1.0", { downgrade_supported: "^ 1" }) });
    expect(bad.success).toBe(false);
    expect(bad.success ? [] : bad.issues).toContainEqual({
      path: "workload.downgrade_supported",
      message: "Could not parse version constraint: ^",
    });
    // null reads as absent
    expect(
      parseDependencies({ workload: { ...model("1.0.0"), downgrade_supported: null } }).workload,
    ).not.toHaveProperty("downgrade_supported");
  });

  it("checkDowngrade says which key cannot go back to which version", () => {
    expect(checkDowngrade(OLD, NEW)).toBe(REFUSAL);
    expect(checkDowngrade(NEW, NEW)).toBeNull();
    expect(checkDowngrade(OLD, OLD)).toBeNull();
    expect(checkDowngrade({}, NEW)).toBeNull();
  });
});

describe("a rollback stops before a unit whose workload cannot go back", () => {
  const stored = encodeDependencies(OLD);
  const forward = { dependencies: stored, "upgrade-stack": "[0, 1]", "upgrade-from-charm": FROM };

  it("a unit records why its workload cannot go back when it is granted (new code), and clears it when it can", () => {
    const raw = bags({ 0: { state: "ready", "upgrade-running-charm": TO }, 1: { state: "ready" } }, forward);
    const granted = reduce(at(1, raw, NEW, TO), { type: "tick", view: readPeerView(raw) });
    expect(of(granted.effects, "grantUpgrade")).toHaveLength(1);
    expect(of(granted.effects, "writeUnitData")).toContainEqual({
      type: "writeUnitData",
      data: { state: "upgrading", "upgrade-no-downgrade": REFUSAL },
    });
    // a revision without the rule, granted over a stale record, clears it
    const stale = bags(
      { 0: { state: "ready", "upgrade-running-charm": TO }, 1: { state: "ready", "upgrade-no-downgrade": REFUSAL } },
      forward,
    );
    const cleared = reduce(at(1, stale, OLD, TO), { type: "tick", view: readPeerView(stale) });
    expect(of(cleared.effects, "writeUnitData")).toContainEqual({
      type: "writeUnitData",
      data: { state: "upgrading", "upgrade-no-downgrade": "" },
    });
  });

  it("machines: refreshed back, the unit is ready on the old charm but not granted; it and the application say why", () => {
    const rollback = { ...forward, "upgrade-stack": "[0, 1]", "upgrade-rollback": "true" };
    const units = {
      0: { state: "ready", "upgrade-running-charm": FROM },
      1: { state: "ready", "upgrade-running-charm": FROM, "upgrade-no-downgrade": REFUSAL },
    };
    const raw = bags(units, rollback);
    const stopped = reduce(at(1, raw, OLD, FROM), { type: "tick", view: readPeerView(raw) });
    expect(stopped.state.value).toBe("ready");
    expect(of(stopped.effects, "grantUpgrade")).toEqual([]);
    expect(of(stopped.effects, "setUnitStatus").at(-1)).toMatchObject({
      status: "blocked",
      // whole, and without the rollback command: the rollback is what stopped here
      message: `db/1 cannot roll back: ${REFUSAL}. Refresh forward instead`,
    });
    const leader = at(0, { ...raw, leader: true }, OLD, FROM);
    expect(appStatusOf(leader.context)).toEqual({
      type: "setAppStatus",
      status: "blocked",
      message: `Rollback stopped at db/1: ${REFUSAL}. Refresh forward instead`,
    });
    // the same unit without the record rolls back
    const { "upgrade-no-downgrade": _, ...plain } = units[1];
    const free = bags({ ...units, 1: plain }, rollback);
    expect(
      of(reduce(at(1, free, OLD, FROM), { type: "tick", view: readPeerView(free) }).effects, "grantUpgrade"),
    ).toHaveLength(1);
  });

  it("Kubernetes: the pod restarted on the old revision is not handed to the charm; it waits, ready, and is never popped", () => {
    const rollback = {
      dependencies: stored,
      "upgrade-stack": "[0, 1]",
      "upgrade-from-charm": FROM,
      "upgrade-rollback": "true",
    };
    const raw = bags(
      {
        0: { state: "idle", "upgrade-running-charm": FROM },
        1: { state: "completed", "upgrade-running-charm": TO, "upgrade-no-downgrade": REFUSAL },
      },
      rollback,
    );
    const restarted = reduce(at(1, raw, OLD, FROM, "k8s"), { type: "upgradeCharm", view: readPeerView(raw) });
    expect(restarted.state.value).toBe("ready");
    expect(of(restarted.effects, "grantUpgrade")).toEqual([]);
    expect(of(restarted.effects, "writeUnitData")).toContainEqual({ type: "writeUnitData", data: { state: "ready" } });
    expect(of(restarted.effects, "setUnitStatus").at(-1)?.status).toBe("blocked");
    // the leader keeps it on the stack: it is not rolled back
    const after = bags(
      {
        0: { state: "idle", "upgrade-running-charm": FROM },
        1: { state: "ready", "upgrade-running-charm": FROM, "upgrade-no-downgrade": REFUSAL },
      },
      rollback,
      true,
    );
    const leader = reduce(at(0, after, OLD, FROM, "k8s"), { type: "relationChanged", view: readPeerView(after) });
    expect(of(leader.effects, "writeAppData").map((w) => w.data["upgrade-stack"])).not.toContain("[0]");
    expect(of(leader.effects, "setAppStatus").at(-1)?.message).toMatch(/^Rollback stopped at db\/1: /);
  });

  it("Kubernetes: a pod restarted on the roll's origin before the leader turned the roll around is not handed to the charm either (verify: refreshBackPaused with noDowngrade)", () => {
    // paused after the first unit: db/1 completed and left the stack; `juju refresh` back restarts its pod at once
    const raw = bags(
      {
        0: { state: "idle", "upgrade-running-charm": FROM },
        1: { state: "completed", "upgrade-running-charm": TO, "upgrade-no-downgrade": REFUSAL },
      },
      { ...forward, "upgrade-stack": "[0]", "upgrade-to-charm": TO },
    );
    const restarted = reduce(at(1, raw, OLD, FROM, "k8s"), { type: "upgradeCharm", view: readPeerView(raw) });
    expect(of(restarted.effects, "grantUpgrade")).toEqual([]);
    expect(restarted.state.value).toBe("ready");
    expect(of(restarted.effects, "setUnitStatus").at(-1)).toMatchObject({
      status: "blocked",
      message: `db/1 cannot roll back: ${REFUSAL}. Refresh forward instead`,
    });
    // without the record it is handed to the charm, as before
    const { "upgrade-no-downgrade": _, ...plain } = { ...raw.units["db/1"] };
    const free = { ...raw, units: { ...raw.units, "db/1": plain } };
    const handed = reduce(at(1, free, OLD, FROM, "k8s"), { type: "upgradeCharm", view: readPeerView(free) });
    expect(of(handed.effects, "grantUpgrade")).toHaveLength(1);
  });

  it("a refresh to an older revision once the upgrade completed is a downgrade the version check refuses when downgrade_supported says so", () => {
    const report = checkCompatibility(NEW, OLD);
    expect(report.compatible).toBe(false);
    expect(report.message).toBe("Versions incompatible, workload 1.1.0 can not be upgraded to 1.0.0");
    expect(report.keys[0]).toMatchObject({ verdict: "incompatible", downgrade: ">=1.1", reason: REFUSAL });
    // an older version the rule allows, and any newer version, pass
    const patch = parseDependencies({ workload: model("1.1.0") });
    expect(checkCompatibility(NEW, patch).compatible).toBe(true);
    const tilde = parseDependencies({ workload: model("1.1.0", { downgrade_supported: "~1.1" }) });
    expect(checkCompatibility(tilde, parseDependencies({ workload: model("1.2.0") })).compatible).toBe(true);
    // without the rule, the original's check only
    expect(checkCompatibility(parseDependencies({ workload: model("1.1.0") }), OLD).compatible).toBe(true);
  });

  it("Kubernetes: every pod restarted on older code checks that its workload may go back, not only the highest (verify: refreshBack with noDowngrade, the refresh after the roll ended)", () => {
    // the roll to 1.1.0 ended (DEPENDENCIES stored, records cleared); `juju refresh` back restarts every pod (partition 0)
    const raw = bags(
      { 0: { state: "idle", "upgrade-running-charm": TO }, 1: { state: "idle", "upgrade-running-charm": TO } },
      { dependencies: encodeDependencies(NEW), "upgrade-settled-charm": TO },
    );
    for (const unit of [0, 1]) {
      const restarted = reduce(at(unit, raw, OLD, FROM, "k8s"), { type: "upgradeCharm", view: readPeerView(raw) });
      expect(restarted.state.value).toBe("failed");
      expect(of(restarted.effects, "grantUpgrade")).toEqual([]);
      expect(of(restarted.effects, "setUnitStatus").at(-1)?.message).toMatch(
        /workload 1\.1\.0 can not be upgraded to 1\.0\.0/,
      );
    }
  });

  it("the charm may say so itself (downgradeBlocker): its word is recorded", () => {
    const raw = bags({ 0: { state: "completed", "upgrade-running-charm": TO } }, forward);
    const state = createUpgradeState({
      app: "db",
      unit: 0,
      substrate: "vm",
      dependencies: OLD,
      view: readPeerView(raw),
      charm: TO,
      noDowngrade: "the catalog was migrated to format 7",
    });
    expect(reduce(state, { type: "tick", view: readPeerView(raw) }).effects).toContainEqual({
      type: "writeUnitData",
      data: { "upgrade-no-downgrade": "the catalog was migrated to format 7" },
    });
  });

  it("property: a unit upgraded by a revision with downgrade_supported rolls back exactly when the old version satisfies it", () => {
    const rules = ["*", ">=1", ">=1.0.5", ">=1.1", "^1.1", "~1.0", "<1.0", ">=1.0,<1.1"];
    const olds = ["1.0.0", "1.0.5", "1.0.9"];
    fc.assert(
      fc.property(
        fc.constantFrom(...rules),
        fc.constantFrom(...olds),
        fc.constantFrom<Substrate>("vm", "k8s"),
        (rule, version, substrate) => {
          const before = parseDependencies({ workload: model(version) });
          const after = parseDependencies({ workload: model("1.1.0", { downgrade_supported: rule }) });
          const app = {
            dependencies: encodeDependencies(before),
            "upgrade-stack": "[0, 1]",
            "upgrade-from-charm": FROM,
          };
          // forward: unit 1 upgrades on the new code and records what its workload allows
          const ready = bags({ 0: { state: "ready", "upgrade-running-charm": TO }, 1: { state: "ready" } }, app);
          const upgrade =
            substrate === "vm"
              ? reduce(at(1, ready, after, TO), { type: "tick", view: readPeerView(ready) })
              : reduce(at(1, bags({ 0: { state: "idle" }, 1: { state: "idle" } }, app), after, TO, "k8s"), {
                  type: "upgradeCharm",
                  view: readPeerView(bags({ 0: { state: "idle" }, 1: { state: "idle" } }, app)),
                });
          const record = of(upgrade.effects, "writeUnitData").find((w) => "upgrade-no-downgrade" in w.data)?.data[
            "upgrade-no-downgrade"
          ];
          // refreshed back: unit 1 received the old charm; granted (machines) or handed to the charm (K8s) iff allowed
          const back = bags(
            {
              0: { state: substrate === "vm" ? "ready" : "idle", "upgrade-running-charm": FROM },
              1: {
                state: substrate === "vm" ? "ready" : "completed",
                "upgrade-running-charm": substrate === "vm" ? FROM : TO,
                ...(record ? { "upgrade-no-downgrade": record } : {}),
              },
            },
            { ...app, "upgrade-rollback": "true" },
          );
          const event = substrate === "vm" ? ("tick" as const) : ("upgradeCharm" as const);
          const rolled = reduce(at(1, back, before, FROM, substrate), { type: event, view: readPeerView(back) });
          const handed = of(rolled.effects, "grantUpgrade").length > 0;
          expect(handed).toBe(satisfies(version, rule));
          expect(Boolean(record)).toBe(!satisfies(version, rule));
        },
      ),
    );
  });
});

describe("a refresh forward after a stopped rollback turns the roll forward again", () => {
  const stored = encodeDependencies(OLD);
  /** Refreshed back while paused after db/1: the rollback stopped before db/1, which cannot go back. */
  const stoppedApp = {
    dependencies: stored,
    "upgrade-stack": "[1]",
    "upgrade-plan": "[0, 1]",
    "upgrade-from-charm": FROM,
    "upgrade-to-charm": TO,
    "upgrade-rollback": "true",
  };
  const refused = { "upgrade-no-downgrade": REFUSAL };
  /** The leader's hook, on the charm its databag says it runs. */
  const leaderHook = (raw: PeerDatabags, substrate: Substrate = "vm") => {
    const charm = raw.units["db/0"]?.["upgrade-running-charm"] === TO ? TO : FROM;
    const code = charm === TO ? NEW : OLD;
    return reduce(at(0, raw, code, charm, substrate), { type: "relationChanged", view: readPeerView(raw) });
  };
  const appWrites = (effects: readonly Effect[]) =>
    Object.assign({}, ...of(effects, "writeAppData").map((w) => w.data));

  it("the leader records the unit the rollback stopped before, once it runs the origin", () => {
    const units = {
      0: { state: "idle", "upgrade-running-charm": FROM },
      1: { state: "ready", "upgrade-running-charm": FROM, ...refused },
    };
    expect(appWrites(leaderHook(bags(units, stoppedApp, true)).effects)).toEqual({ "upgrade-rollback-stopped": "1" });
    // not before the refresh back reached it (it runs the target: nothing is stopped yet), nor without the record
    const early = { ...units, 1: { state: "completed", "upgrade-running-charm": TO, ...refused } };
    expect(appWrites(leaderHook(bags(early, stoppedApp, true)).effects)).not.toHaveProperty("upgrade-rollback-stopped");
    const free = { ...units, 1: { state: "ready", "upgrade-running-charm": FROM } };
    expect(appWrites(leaderHook(bags(free, stoppedApp, true)).effects)).not.toHaveProperty("upgrade-rollback-stopped");
  });

  it("machines: the stopped unit seen on the target again ends the rollback; the stack goes forward, the leader last", () => {
    const app = { ...stoppedApp, "upgrade-rollback-stopped": "1" };
    const units = {
      0: { state: "ready", "upgrade-running-charm": TO },
      1: { state: "ready", "upgrade-running-charm": TO, ...refused },
    };
    const turned = leaderHook(bags(units, app, true));
    expect(appWrites(turned.effects)).toEqual({
      "upgrade-stack": "[0, 1]",
      "upgrade-rollback": "",
      "upgrade-rollback-stopped": "",
    });
    expect(of(turned.effects, "log").map((l) => l.message)).toContainEqual(
      `juju refresh forward to ${TO} after the rollback stopped: upgrading db/1, db/0 again (units that completed on it are done)`,
    );
    // db/1 (ready on the target, never rolled back) is granted first: the charm's upgrade runs again on its workload
    const grant = bags(units, {
      ...app,
      "upgrade-stack": "[0, 1]",
      "upgrade-rollback": "",
      "upgrade-rollback-stopped": "",
    });
    const next = reduce(at(1, grant, NEW, TO), { type: "relationChanged", view: readPeerView(grant) });
    expect(of(next.effects, "grantUpgrade")).toHaveLength(1);
  });

  it("machines: it waits while a unit the rollback moved is still on the origin (the forward roll would turn back)", () => {
    const app = { ...stoppedApp, "upgrade-stack": "[0, 1]", "upgrade-rollback-stopped": "1" };
    const units = {
      0: { state: "ready", "upgrade-running-charm": FROM },
      1: { state: "ready", "upgrade-running-charm": TO, ...refused },
    };
    expect(appWrites(leaderHook(bags(units, app, true)).effects)).not.toHaveProperty("upgrade-rollback");
    // a unit the rollback left alone (idle on the origin) does not hold it: it upgrades with the others
    const alone = { ...units, 0: { state: "idle", "upgrade-running-charm": FROM } };
    expect(appWrites(leaderHook(bags(alone, { ...app, "upgrade-stack": "[1]" }, true)).effects)).toMatchObject({
      "upgrade-rollback": "",
      "upgrade-stack": "[0, 1]",
    });
  });

  it("without the record, a unit on the target in a rollback is one the refresh back has not reached: nothing turns", () => {
    const units = {
      0: { state: "idle", "upgrade-running-charm": FROM },
      1: { state: "completed", "upgrade-running-charm": TO, ...refused },
    };
    expect(appWrites(leaderHook(bags(units, stoppedApp, true)).effects)).not.toHaveProperty("upgrade-rollback");
  });

  it("Kubernetes: the pod restarted on the target and completed is done; the rest go on from the partition, after the pause", () => {
    const app = { ...stoppedApp, "upgrade-plan": "[0, 1]", "upgrade-partition": "1", "upgrade-rollback-stopped": "1" };
    const units = {
      0: { state: "idle", "upgrade-running-charm": FROM },
      1: { state: "completed", "upgrade-running-charm": TO, ...refused },
    };
    const turned = leaderHook(bags(units, app, true), "k8s");
    expect(appWrites(turned.effects)).toEqual({
      "upgrade-stack": "[0]",
      "upgrade-rollback": "",
      "upgrade-rollback-stopped": "",
    });
    // paused after the first unit (db/1): the partition stays until resume-upgrade
    expect([...of(turned.effects, "setPartition"), ...of(turned.effects, "lowerPartition")]).toEqual([]);
    const resumed = bags(
      units,
      {
        ...app,
        "upgrade-stack": "[0]",
        "upgrade-rollback": "",
        "upgrade-rollback-stopped": "",
        "upgrade-resumed": "0",
      },
      true,
    );
    expect(of(leaderHook(resumed, "k8s").effects, "lowerPartition")).toEqual([
      { type: "lowerPartition", partition: 0 },
    ]);
  });

  it("after a failure the roll's target may not be recorded: the stopped unit on any charm but the origin turns it", () => {
    const { "upgrade-to-charm": _, ...app } = { ...stoppedApp, "upgrade-rollback-stopped": "1" };
    const units = {
      0: { state: "ready", "upgrade-running-charm": TO },
      1: { state: "ready", "upgrade-running-charm": TO, ...refused },
    };
    expect(appWrites(leaderHook(bags(units, app, true)).effects)).toMatchObject({
      "upgrade-rollback": "",
      "upgrade-stack": "[0, 1]",
    });
  });

  it("the leader records the stop in the hook that pops the units rolled back above it", () => {
    const units = {
      0: { state: "completed", "upgrade-running-charm": FROM },
      1: { state: "ready", "upgrade-running-charm": FROM, ...refused },
    };
    const writes = appWrites(leaderHook(bags(units, { ...stoppedApp, "upgrade-stack": "[1, 0]" }, true)).effects);
    expect(writes).toEqual({ "upgrade-stack": "[1]", "upgrade-rollback-stopped": "1" });
  });
});
