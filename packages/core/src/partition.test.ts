import { describe, expect, it } from "vitest";
import type { CharmAnswer, CharmCall } from "./charmCall.js";
import { awaitedRolloutOf, heldPartitionOf, toErrorData, unitRolloutOf } from "./charmCall.js";
import type { ErrorData } from "./events.js";
import type { HookEventType, HookInput, HookOutcome } from "./hookSession.js";
import { hookSession } from "./hookSession.js";
import type { PeerDatabags } from "./peerView.js";
import { partitionFailure } from "./protocol.js";
import { OLD } from "./testing/index.js";

/**
 * Kubernetes partition moves as the API server answers them (issue 12.2, 12.5): recorded only once it holds them, a
 * failure retried at the next hook with a status that names the cause, an action that fails on one changes nothing,
 * and a pod stopping while nothing is planned holds the pods below it. Whole hooks, through {@link hookSession}.
 */

const DEPS = JSON.stringify(OLD.dependencies);

/** How the scripted API server answers a partition request. */
type Answer = "ok" | ErrorData;

const transient: ErrorData = {
  kind: "KubernetesClientError",
  message:
    "The Kubernetes API at https://10.152.183.1:443 answered 503 (Service Unavailable) to every one of 3 attempts",
  cause: "the API server failed to handle the request",
  resolution: "nothing to do: the next hook tries again",
  failure: "transient",
};
const forbidden: ErrorData = {
  kind: "KubernetesClientError",
  message: "Not allowed to patch StatefulSet db (403 Forbidden): run juju trust db --scope=cluster",
  cause: "the charm is not trusted",
  resolution: "juju trust db --scope=cluster",
  failure: "permission",
};

interface Hook {
  readonly unit: number;
  readonly event: HookEventType;
  readonly databags: PeerDatabags;
  /** The partition the API server holds (what `getPartition` reads). */
  readonly held?: number;
  /** Answers to the `setPartition` calls, in order (default: every one succeeds). */
  readonly answers?: readonly Answer[];
  readonly getPartition?: Answer;
  /** What `awaitsRollout` answers (a value, or an error); asked only when the abilities say the charm has it. */
  readonly awaitsRollout?: { readonly value: unknown } | ErrorData;
  /** What `unitRollout` answers (a value, or an error); asked only when the abilities say the charm has it. */
  readonly unitRollout?: { readonly value: unknown } | ErrorData;
  readonly abilities?: Partial<HookInput["abilities"]>;
  readonly memory?: string | null;
  /** `pause-after-unit-upgrade` (default `none`: the roll never waits for resume-upgrade). */
  readonly pause?: string;
}

/** Run one hook, answering the charm calls; returns the outcome and the calls the hook made. */
function run(hook: Hook): { outcome: HookOutcome; calls: CharmCall[] } {
  const answers = [...(hook.answers ?? [])];
  const session = hookSession({
    app: "db",
    unit: hook.unit,
    substrate: "k8s",
    dependencies: OLD.dependencies,
    event: hook.event,
    inAction: hook.event === "preUpgradeCheck" || hook.event === "resumeUpgrade",
    databags: hook.databags,
    memory: hook.memory ?? null,
    settings: { pauseAfterUnitUpgrade: hook.pause ?? "none" },
    abilities: {
      checkTrust: false,
      buildUpgradeStack: false,
      setPartition: true,
      getPartition: true,
      logRollbackInstructions: false,
      ...hook.abilities,
    },
  });
  const calls: CharmCall[] = [];
  const answer = (call: CharmCall): CharmAnswer => {
    calls.push(call);
    const fail = (error: ErrorData): CharmAnswer => ({ ok: false, error });
    switch (call.type) {
      case "setPartition": {
        const next = answers.shift() ?? "ok";
        return next === "ok" ? { ok: true } : fail(next);
      }
      case "getPartition": {
        const read = hook.getPartition ?? "ok";
        return read === "ok" ? { ok: true, value: hook.held ?? 0 } : fail(read);
      }
      case "awaitsRollout": {
        const awaits = hook.awaitsRollout ?? { value: null };
        return "value" in awaits ? { ok: true, value: awaits.value } : fail(awaits);
      }
      case "unitRollout": {
        const rollout = hook.unitRollout ?? { value: null };
        return "value" in rollout ? { ok: true, value: rollout.value } : fail(rollout);
      }
      default:
        return { ok: true };
    }
  };
  let step = session.next();
  while (!step.done) step = session.next(answer(step.value));
  return { outcome: step.value, calls };
}

const partitionCalls = (calls: readonly CharmCall[]) => calls.filter((call) => call.type !== "preUpgradeCheck");

/** Mid-roll, pause `none`: db/2 completed, so the leader pops it and lowers the partition from 2 to 1. */
const midRoll: PeerDatabags = {
  leader: true,
  units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "completed" } },
  app: { dependencies: DEPS, "upgrade-stack": "[0, 1, 2]", "upgrade-partition": "2" },
};

/** The leader reads the partition back before it moves it (issue 12.4), then sets it. */
const readThenSet = (partition: number): CharmCall[] => [{ type: "getPartition" }, { type: "setPartition", partition }];

describe("a partition move in a hook (the leader's roll)", () => {
  it("recorded only once the API server holds it", () => {
    const { outcome, calls } = run({ unit: 0, event: "tick", databags: midRoll, held: 2 });
    expect(calls).toEqual(readThenSet(1));
    expect(outcome.appWrites).toEqual({ "upgrade-stack": "[0, 1]", "upgrade-partition": "1" });
  });

  it("transient failure: nothing recorded, nobody failed, a waiting status saying it retries; the next hook moves it", () => {
    const { outcome } = run({ unit: 0, event: "tick", databags: midRoll, held: 2, answers: [transient] });
    // the pop is committed, the partition is not: the recorded one stays the one the API server holds
    expect(outcome.appWrites).toEqual({ "upgrade-stack": "[0, 1]" });
    expect(outcome.unitWrites).toEqual({});
    expect(outcome.final.value).toBe("idle");
    // the API server's address is left out of the status (the log has it); Juju shows 120 characters
    expect(outcome.appStatus).toEqual({
      status: "waiting",
      message:
        "Partition not moved to 1, retrying on the next hook: The Kubernetes API answered 503 (Service Unavailable) to every one…",
    });
    expect(outcome.logs).toContainEqual({
      level: "WARNING",
      message: `Partition not moved to 1: ${transient.message} (cause: ${transient.cause}); not recorded, retried on the next hook`,
    });

    // The next hook (update-status, say) sees the stack popped and the partition still 2: it moves it again.
    const after: PeerDatabags = { ...midRoll, app: { ...midRoll.app, ...outcome.appWrites } };
    const next = run({ unit: 0, event: "tick", databags: after, held: 2, memory: outcome.memory });
    expect(next.calls).toEqual(readThenSet(1));
    expect(next.outcome.appWrites).toEqual({ "upgrade-partition": "1" });
    expect(next.outcome.appStatus?.status).not.toBe("waiting");
  });

  it("refused (403): blocked with juju trust, and still retried at the next hook", () => {
    const { outcome } = run({ unit: 0, event: "tick", databags: midRoll, held: 2, answers: [forbidden] });
    expect(outcome.appWrites).toEqual({ "upgrade-stack": "[0, 1]" });
    expect(outcome.final.value).toBe("idle");
    expect(outcome.appStatus).toEqual({
      status: "blocked",
      message: "Not allowed to move the StatefulSet partition: run juju trust db --scope=cluster",
    });
    const after: PeerDatabags = { ...midRoll, app: { ...midRoll.app, ...outcome.appWrites } };
    expect(run({ unit: 0, event: "tick", databags: after, held: 2 }).calls).toEqual(readThenSet(1));
  });
});

describe("a partition set outside charm-upgrade (kubectl patch) is read back by the leader (issue 12.4)", () => {
  /** db/2 upgraded and was popped; the partition recorded at 1 lets db/1 through: the leader expects it to restart. */
  const released: PeerDatabags = {
    leader: true,
    units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "idle" } },
    app: { dependencies: DEPS, "upgrade-stack": "[0, 1]", "upgrade-partition": "1" },
  };

  it("held where recorded: nothing to do", () => {
    const { calls, outcome } = run({ unit: 0, event: "tick", databags: released, held: 1 });
    expect(calls).toEqual([{ type: "getPartition" }]);
    expect(outcome.appWrites).toEqual({});
    expect(outcome.logs.map((line) => line.level)).not.toContain("WARNING");
  });

  it("raised above the recorded one, holding the unit the roll waits for: set back, and the status says so", () => {
    const { calls, outcome } = run({ unit: 0, event: "tick", databags: released, held: 2 });
    expect(calls).toEqual(readThenSet(1));
    expect(outcome.appWrites).toEqual({});
    expect(outcome.appStatus).toEqual({
      status: "maintenance",
      message:
        "Partition set to 2 outside charm-upgrade; set back to 1. To stop the roll, use pause-after-unit-upgrade",
    });
    expect(outcome.logs).toContainEqual({
      level: "WARNING",
      message:
        "The StatefulSet partition of db was set to 2 outside charm-upgrade (kubectl patch?), which would hold back db/1 for ever; charm-upgrade set it back to 1. To stop an upgrade, set pause-after-unit-upgrade or hold it in the charm, not with the partition",
    });
  });

  it("set back failing: the status says why, and the next hook tries again", () => {
    const { outcome } = run({ unit: 0, event: "tick", databags: released, held: 2, answers: [transient] });
    expect(outcome.appWrites).toEqual({});
    expect(outcome.appStatus?.status).toBe("waiting");
    expect(outcome.appStatus?.message).toMatch(/^Partition not moved to 1, retrying on the next hook/);
  });

  it("lowered below it: recorded, never raised back (the pods above it restart), and the roll goes on from there", () => {
    const { calls, outcome } = run({ unit: 0, event: "tick", databags: released, held: 0 });
    expect(calls).toEqual([{ type: "getPartition" }]);
    expect(outcome.appWrites).toEqual({ "upgrade-partition": "0" });
    expect(outcome.appStatus).toEqual({
      status: "maintenance",
      message: "Partition set to 0 outside charm-upgrade: pods 0 and up restart without their turn; not raised back",
    });
    // db/1 restarted and completed: the leader pops it; db/0 is let through by the partition it recorded (no move)
    const next: PeerDatabags = {
      ...released,
      units: { ...released.units, "db/1": { state: "completed" } },
      app: { ...released.app, ...outcome.appWrites },
    };
    const popped = run({ unit: 0, event: "tick", databags: next, held: 0 });
    expect(popped.calls).toEqual([{ type: "getPartition" }]);
    expect(popped.outcome.appWrites).toEqual({ "upgrade-stack": "[0]" });
  });

  it("during a rollback too: raised above the recorded one, it would hold the upgraded pods on the new revision", () => {
    const rollingBack: PeerDatabags = {
      leader: true,
      units: { "db/0": { state: "recovery" }, "db/1": { state: "idle" }, "db/2": { state: "failed" } },
      app: { dependencies: DEPS, "upgrade-stack": "[2]", "upgrade-partition": "2", "upgrade-rollback": "true" },
    };
    expect(run({ unit: 0, event: "tick", databags: rollingBack, held: 3 }).calls).toEqual(readThenSet(2));
    expect(run({ unit: 0, event: "tick", databags: rollingBack, held: 2 }).calls).toEqual([{ type: "getPartition" }]);
  });

  it("a failed read changes nothing and says why", () => {
    const { calls, outcome } = run({ unit: 0, event: "tick", databags: released, getPartition: transient });
    expect(calls).toEqual([{ type: "getPartition" }]);
    expect(outcome.appWrites).toEqual({});
    expect(outcome.appStatus?.status).toBe("waiting");
  });
});

describe("a partition move in an action fails the action, which changes nothing", () => {
  const idle: PeerDatabags = {
    leader: true,
    units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "idle" } },
    app: { dependencies: DEPS },
  };

  it("pre-upgrade-check commits the plan only after setPartition succeeded", () => {
    const failed = run({ unit: 0, event: "preUpgradeCheck", databags: idle, answers: [transient] });
    expect(partitionCalls(failed.calls)).toEqual([{ type: "setPartition", partition: 2 }]);
    expect(failed.outcome.actionFailure).toBe(
      `Could not set the StatefulSet partition to 2, so nothing was planned: ${transient.message}. Run pre-upgrade-check again.`,
    );
    expect(failed.outcome.appWrites).toEqual({});
    expect(failed.outcome.unitWrites).toEqual({});
    expect(failed.outcome.status).toBeNull();
    expect(failed.outcome.appStatus).toBeNull();
    expect(failed.outcome.actionResults).toBeNull();

    const planned = run({ unit: 0, event: "preUpgradeCheck", databags: idle });
    expect(planned.outcome.actionFailure).toBeNull();
    expect(planned.outcome.appWrites).toMatchObject({ "upgrade-stack": "[0, 1, 2]", "upgrade-partition": "2" });
  });

  it("pre-upgrade-check refused (403) says to run juju trust, then the action again", () => {
    const failed = run({ unit: 0, event: "preUpgradeCheck", databags: idle, answers: [forbidden] });
    expect(failed.outcome.actionFailure).toBe(
      `Could not set the StatefulSet partition to 2, so nothing was planned: ${forbidden.message}. Run juju trust db --scope=cluster, then run pre-upgrade-check again.`,
    );
    expect(failed.outcome.appWrites).toEqual({});
  });

  it("resume-upgrade fails the action, not the leader's unit; nothing is resumed", () => {
    // db/2 upgraded and was popped: the roll waits for resume-upgrade (pause `first`)
    const paused: PeerDatabags = {
      leader: true,
      units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "completed" } },
      app: { dependencies: DEPS, "upgrade-stack": "[0, 1]", "upgrade-partition": "2" },
    };
    const failed = run({
      unit: 0,
      event: "resumeUpgrade",
      databags: paused,
      held: 2,
      answers: [transient],
      pause: "first",
    });
    expect(partitionCalls(failed.calls)).toEqual(readThenSet(1));
    expect(failed.outcome.actionFailure).toBe(
      `Could not set the StatefulSet partition to 1, so the upgrade did not resume: ${transient.message}. Run resume-upgrade again.`,
    );
    expect(failed.outcome.appWrites).toEqual({});
    expect(failed.outcome.unitWrites).toEqual({});
    expect(failed.outcome.final.value).toBe("idle");
    expect(failed.outcome.status).toBeNull();

    const resumed = run({ unit: 0, event: "resumeUpgrade", databags: paused, held: 2, pause: "first" });
    expect(resumed.outcome.actionFailure).toBeNull();
    expect(resumed.outcome.appWrites).toEqual({ "upgrade-resumed": "1", "upgrade-partition": "1" });
  });
});

describe("stop with no upgrade planned (juju refresh without pre-upgrade-check)", () => {
  const settled: PeerDatabags = {
    leader: false,
    units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "idle" } },
    app: { dependencies: DEPS },
  };

  it("the stopping pod raises the partition to its own number, so no pod below it restarts", () => {
    const { calls, outcome } = run({ unit: 2, event: "stop", databags: settled, held: 0 });
    expect(calls).toEqual([{ type: "getPartition" }, { type: "setPartition", partition: 2 }]);
    expect(outcome.logs).toContainEqual({
      level: "INFO",
      message: "db/2 is stopping with no upgrade planned: raising the partition from 0 to 2",
    });
    expect(outcome.appWrites).toEqual({}); // not the leader: only the API server holds it
  });

  it("never lowers it, and unit 0 (which holds nobody) or a planned roll leave it alone", () => {
    expect(run({ unit: 1, event: "stop", databags: settled, held: 2 }).calls).toEqual([{ type: "getPartition" }]);
    expect(run({ unit: 0, event: "stop", databags: settled }).calls).toEqual([]);
    const planned: PeerDatabags = {
      ...settled,
      app: { dependencies: DEPS, "upgrade-stack": "[0, 1, 2]", "upgrade-partition": "2" },
    };
    expect(run({ unit: 2, event: "stop", databags: planned }).calls).toEqual([]);
  });

  it("the API server failing the read or the patch: logged, nothing else; the leader's status says why", () => {
    const read = run({ unit: 2, event: "stop", databags: settled, getPartition: transient });
    expect(read.calls).toEqual([{ type: "getPartition" }]);
    expect(read.outcome.logs.map((line) => line.level)).toContain("WARNING");
    const leader = run({ unit: 2, event: "stop", databags: { ...settled, leader: true }, answers: [forbidden] });
    expect(leader.calls).toEqual([{ type: "getPartition" }, { type: "setPartition", partition: 2 }]);
    expect(leader.outcome.appWrites).toEqual({});
    expect(leader.outcome.appStatus).toEqual({
      status: "blocked",
      message: "Not allowed to move the StatefulSet partition: run juju trust db --scope=cluster",
    });
  });

  describe("an eviction is not a rollout (issue 12.1): the charm says whether this pod awaits one", () => {
    const stop = (awaitsRollout: { readonly value: unknown } | ErrorData) =>
      run({ unit: 2, event: "stop", databags: settled, held: 0, awaitsRollout, abilities: { awaitsRollout: true } });

    it("a pod on the revision being rolled out, or with none under way, leaves the partition where it is", () => {
      const { calls, outcome } = stop({ value: false });
      expect(calls).toEqual([{ type: "getPartition" }, { type: "awaitsRollout" }]);
      expect(outcome.logs).toContainEqual({
        level: "INFO",
        message:
          "db/2 is stopping with no upgrade planned and no rollout it has not taken (an eviction): the partition stays at 0",
      });
      expect(outcome.appWrites).toEqual({});
    });

    it("the restart of a rollout this pod has not taken (an unchecked juju refresh) raises it", () => {
      const { calls, outcome } = stop({ value: true });
      expect(calls).toEqual([
        { type: "getPartition" },
        { type: "awaitsRollout" },
        { type: "setPartition", partition: 2 },
      ]);
      expect(outcome.logs).toContainEqual({
        level: "INFO",
        message:
          "db/2 is stopping for a rollout with no upgrade planned (juju refresh without pre-upgrade-check): raising the partition from 0 to 2",
      });
    });

    it("unknown, an error or a nonsense answer raises it, as without the callback (the safer mistake)", () => {
      expect(stop({ value: null }).calls).toContainEqual({ type: "setPartition", partition: 2 });
      const failed = stop(transient);
      expect(failed.calls).toContainEqual({ type: "setPartition", partition: 2 });
      expect(failed.outcome.logs).toContainEqual({
        level: "WARNING",
        message: `Cannot tell whether db/2 is stopping for a rollout or an eviction (${transient.message}): holding the pods below it in case it is a rollout`,
      });
      expect(stop({ value: "yes" }).calls).toContainEqual({ type: "setPartition", partition: 2 });
    });

    it("not asked when the partition already holds this pod", () => {
      const { calls } = run({
        unit: 1,
        event: "stop",
        databags: settled,
        held: 2,
        awaitsRollout: { value: false },
        abilities: { awaitsRollout: true },
      });
      expect(calls).toEqual([{ type: "getPartition" }]);
    });
  });

  it("without getPartition it cannot hold the others and says so", () => {
    const { calls, outcome } = run({ unit: 2, event: "stop", databags: settled, abilities: { getPartition: false } });
    expect(calls).toEqual([]);
    expect(outcome.logs).toContainEqual({
      level: "WARNING",
      message:
        "Cannot hold the pods below db/2 in case a juju refresh ran without pre-upgrade-check: createUpgrade was given no getPartition (plug in the Kubernetes adapter)",
    });
  });
});

describe("what the core reads from the charm's answers", () => {
  it("toErrorData keeps the failure an adapter's error names (HTTP's forbidden is a permission failure)", () => {
    const error = (failure: unknown) =>
      Object.assign(new Error("m"), { kind: "KubernetesClientError", cause: "c", resolution: "r", failure });
    expect(toErrorData(error("transient")).failure).toBe("transient");
    expect(toErrorData(error("forbidden")).failure).toBe("permission");
    expect(toErrorData(error("notFound")).failure).toBe("notFound");
    expect(toErrorData(error("toString"))).not.toHaveProperty("failure");
    expect(toErrorData(error(42))).not.toHaveProperty("failure");
  });

  it("heldPartitionOf accepts only a whole number", () => {
    expect(heldPartitionOf({ ok: true, value: 3 })).toBe(3);
    for (const value of [-1, 1.5, "3", null, undefined, Number.NaN])
      expect(heldPartitionOf({ ok: true, value })).toMatchObject({ kind: "UpgradeError", failure: "invalid" });
    expect(heldPartitionOf({ ok: false, error: transient })).toBe(transient);
  });

  it("awaitedRolloutOf accepts true, false and null (or nothing: unknown)", () => {
    expect(awaitedRolloutOf({ ok: true, value: true })).toBe(true);
    expect(awaitedRolloutOf({ ok: true, value: false })).toBe(false);
    expect(awaitedRolloutOf({ ok: true, value: null })).toBeNull();
    expect(awaitedRolloutOf({ ok: true })).toBeNull();
    for (const value of ["true", 1, {}])
      expect(awaitedRolloutOf({ ok: true, value })).toMatchObject({ kind: "UpgradeError", failure: "invalid" });
    expect(awaitedRolloutOf({ ok: false, error: transient })).toBe(transient);
  });

  it("partitionFailure: waiting while it retries by itself, blocked with the fix when the operator must act", () => {
    expect(partitionFailure("db", 1, transient).status).toBe("waiting");
    expect(partitionFailure("db", 1, forbidden)).toMatchObject({
      status: "blocked",
      fix: "run juju trust db --scope=cluster",
    });
    const missing: ErrorData = {
      kind: "KubernetesClientError",
      message: "StatefulSet db not found.",
      cause: "404",
      resolution: "check the application name",
      failure: "notFound",
    };
    expect(partitionFailure("db", 1, missing)).toMatchObject({
      status: "blocked",
      message: "Cannot move the partition to 1: StatefulSet db not found; check the application name",
    });
  });
});

it("a Kubernetes pre-upgrade-check without setPartition is refused: every pod would restart at once", () => {
  const idle: PeerDatabags = { leader: true, units: { "db/0": { state: "idle" } }, app: { dependencies: DEPS } };
  const { outcome } = run({ unit: 0, event: "preUpgradeCheck", databags: idle, abilities: { setPartition: false } });
  expect(outcome.actionFailure).toMatch(/setPartition\(\) is required on Kubernetes/);
  expect(outcome.appWrites).toEqual({});
});

describe("unitRollout (issue 15: a pod restarted before its unit ran a hook)", () => {
  const FROM = "ch:amd64/jammy/db-381";
  const idle: PeerDatabags = {
    leader: true,
    units: { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/2": { state: "idle" } },
    app: { dependencies: DEPS },
  };
  const reads = { unitRollout: true };

  it("pre-upgrade-check sets the partition no higher than a pod off the current revision, whatever its unit recorded", () => {
    const rollout = { value: { restarted: [1, 2], pending: [0] } };
    const planned = run({ unit: 0, event: "preUpgradeCheck", databags: idle, abilities: reads, unitRollout: rollout });
    expect(planned.calls.filter((call) => call.type === "setPartition")).toEqual([
      { type: "setPartition", partition: 1 },
    ]);
    expect(planned.outcome.appWrites).toMatchObject({ "upgrade-stack": "[0, 1, 2]", "upgrade-partition": "1" });
    // at rest, nothing restarted: the highest unit, as always
    const rest = { value: { restarted: [], pending: [] } };
    const usual = run({ unit: 0, event: "preUpgradeCheck", databags: idle, abilities: reads, unitRollout: rest });
    expect(usual.outcome.appWrites).toMatchObject({ "upgrade-partition": "2" });
  });

  it("pre-upgrade-check that cannot tell fails and changes nothing; without the callback it goes by the records", () => {
    const unknown = run({ unit: 0, event: "preUpgradeCheck", databags: idle, abilities: reads });
    expect(unknown.outcome.actionFailure).toBe(
      "Cannot tell which pods restarted onto another revision (the StatefulSet controller has not caught up yet): run pre-upgrade-check again in a moment",
    );
    expect(unknown.calls.some((call) => call.type === "setPartition")).toBe(false);
    expect(unknown.outcome.appWrites).toEqual({});
    const without = run({ unit: 0, event: "preUpgradeCheck", databags: idle });
    expect(without.calls.some((call) => call.type === "unitRollout")).toBe(false);
    expect(without.outcome.appWrites).toMatchObject({ "upgrade-partition": "2" });
  });

  /** The roll's last unit done: the leader (db/0) completed, the others idle, the stack empty, the records kept. */
  const ending: PeerDatabags = {
    leader: true,
    units: { "db/0": { state: "completed" }, "db/1": { state: "idle" }, "db/2": { state: "idle" } },
    app: { dependencies: DEPS, "upgrade-stack": "[]", "upgrade-from-charm": FROM, "upgrade-partition": "0" },
  };

  it("the leader does not close the roll while the rollout still restarts a pod, or when it cannot tell", () => {
    const pending = { value: { restarted: [1, 2], pending: [0] } };
    const open = run({ unit: 0, event: "tick", databags: ending, abilities: reads, unitRollout: pending });
    expect(open.calls).toContainEqual({ type: "unitRollout" });
    expect(open.outcome.final.value).toBe("completed");
    expect(open.outcome.appWrites["upgrade-from-charm"]).toBeUndefined();
    const unknown = run({ unit: 0, event: "tick", databags: ending, abilities: reads });
    expect(unknown.outcome.final.value).toBe("completed");
    const done = { value: { restarted: [0, 1, 2], pending: [] } };
    const closed = run({ unit: 0, event: "tick", databags: ending, abilities: reads, unitRollout: done });
    expect(closed.outcome.final.value).toBe("idle");
    expect(closed.outcome.appWrites["upgrade-from-charm"]).toBe("");
    // without the callback, by the records alone, as before
    expect(run({ unit: 0, event: "tick", databags: ending }).outcome.final.value).toBe("idle");
  });

  it("another unit stays completed until the leader closed the roll", () => {
    const other: PeerDatabags = {
      ...ending,
      leader: false,
      units: { "db/0": { state: "idle" }, "db/1": { state: "completed" }, "db/2": { state: "idle" } },
    };
    expect(run({ unit: 1, event: "tick", databags: other }).outcome.final.value).toBe("completed");
    const closed = { ...other, app: { dependencies: DEPS, "upgrade-stack": "[]" } };
    expect(run({ unit: 1, event: "tick", databags: closed }).outcome.final.value).toBe("idle");
  });

  it("unitRolloutOf accepts two lists of unit numbers (sorted, each once) or null; anything else is invalid", () => {
    expect(unitRolloutOf({ ok: true, value: { restarted: [2, 0, 2], pending: [] } })).toEqual({
      restarted: [0, 2],
      pending: [],
    });
    expect(unitRolloutOf({ ok: true, value: null })).toBeNull();
    expect(unitRolloutOf({ ok: true })).toBeNull();
    for (const value of [[1], { restarted: [1] }, { restarted: [-1], pending: [] }, { restarted: ["1"], pending: [] }])
      expect(unitRolloutOf({ ok: true, value })).toMatchObject({ kind: "UpgradeError", failure: "invalid" });
    expect(unitRolloutOf({ ok: false, error: transient })).toBe(transient);
  });
});
