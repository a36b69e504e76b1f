import type { Substrate } from "@charm-upgrade/core";
import { HookMemo } from "@charm-upgrade/sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { picker, Recorder } from "./drive.js";
import type { InvariantName } from "./invariants.js";
import { stackOf } from "./invariants.js";
import { memoReduce } from "./memoReduce.js";
import type { WorldSnapshot } from "./world.js";
import { NEW, OLD, World } from "./world.js";

/**
 * Properties of whole upgrades on the one model of Juju, every hook running the adapter that ships
 * (`dispatchSync`): random schedules among everything Juju and the StatefulSet controller may do next (which unit
 * runs its next hook, when each machine agent notices the refresh, when a pod is deleted and when the new one is
 * ready, `update-status` when nothing else is due), a `relation-changed` run twice, a leadership change, a failing
 * unit and the rollback after it. Every step is also checked against the safety invariants of `invariants.ts`;
 * each property asserts the ones it is about.
 *
 * The schedule is a list of choices fast-check generates and shrinks (`picks`, cycled). Runs are bounded so the
 * file stays well under a minute on 2 cores: up to 6 units (an upgrade is ≈ 2.3·N² hooks, each running the real
 * adapter), 20–40 runs per property, and a cache of whole hooks (`HookMemo`) and a memoised reducer shared by the
 * runs (both replay only what the real code did for the same inputs). These properties replace those that drove
 * the pure reducer through `ClusterModel`, core's old second model of Juju (issue 11); they check behaviour, not the
 * order of hooks, which is now Juju's.
 */

/**
 * Shared by the runs: reducer steps already computed, and whole hooks already run, by their inputs. One cache of
 * hooks per substrate and charm behaviour, so that a hook is never replayed in a world other than the one it was
 * recorded in (a machine charm's hook on Kubernetes, a two-step answer to a grant for a charm that answers at once),
 * whatever `HookMemo`'s key covers.
 */
const reduce = memoReduce(undefined, 100_000);
const memos = new Map<string, HookMemo>();
function memoFor(substrate: Substrate, twoStep: boolean): HookMemo {
  const key = `${substrate}/${twoStep}`;
  const known = memos.get(key);
  if (known) return known;
  const memo = new HookMemo(50_000);
  memos.set(key, memo);
  return memo;
}

interface Scenario {
  readonly units: number;
  readonly substrate: Substrate;
  readonly leader: number;
  readonly picks: readonly number[];
  /** Units whose next `relation-changed` after the refresh runs twice (the agent died before recording it). */
  readonly duplicates: readonly number[];
  /** A leadership change right after `juju refresh` (a fault), or none. */
  readonly newLeader: number | undefined;
  /** The charm answers a grant in a later hook (others see `upgrading` committed), as a database restarting does. */
  readonly twoStep: boolean;
}

const MAX_UNITS = 6;

const scenario = (substrate?: Substrate): fc.Arbitrary<Scenario> =>
  fc.integer({ min: 1, max: MAX_UNITS }).chain((units) =>
    fc.record({
      units: fc.constant(units),
      substrate: substrate ? fc.constant(substrate) : fc.constantFrom<Substrate>("vm", "k8s"),
      leader: fc.integer({ min: 0, max: units - 1 }),
      picks: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
      duplicates: fc.array(fc.nat({ max: units - 1 }), { maxLength: 3 }),
      newLeader: fc.option(fc.integer({ min: 0, max: units - 1 }), { nil: undefined }),
      twoStep: fc.boolean(),
    }),
  );

/** Settled deployments (no fault, the model's own order) by configuration: deploying is the same every time. */
const deployments = new Map<string, WorldSnapshot>();

/** A world of `s`, deployed and settled. */
function deployed(s: Scenario): Recorder {
  const world = new World({
    units: s.units,
    substrate: s.substrate,
    leader: s.leader,
    twoStepUpgrades: s.twoStep,
    memo: memoFor(s.substrate, s.twoStep),
    reduce,
  });
  const key = `${s.units}/${s.substrate}/${s.leader}/${s.twoStep}`;
  const settled = deployments.get(key);
  if (settled) world.restore(settled);
  else {
    world.settle();
    deployments.set(key, world.snapshot());
  }
  return new Recorder(world);
}

/**
 * Deploy, pre-upgrade-check on the leader, let time pass, `juju refresh` (with `s`'s faults), and drive to the end,
 * resuming whenever the roll waits for the operator (the default pause policy, `first`, waits after the first unit).
 */
function upgrade(s: Scenario, failing: number | null = null): Recorder {
  const run = deployed(s);
  const pick = picker(s.picks);
  const check = run.action(s.leader, "pre-upgrade-check");
  expect(check.ok, check.message).toBe(true);
  expect(run.toRest({ pick })).toBe(true);
  if (failing !== null) run.world.charm.failing = new Set([failing]);
  run.world.model.refresh(NEW);
  if (s.newLeader !== undefined && s.newLeader !== s.leader) run.world.model.setLeader(s.newLeader);
  expect(run.toEnd({ pick, duplicates: [...s.duplicates] }), "the upgrade came to rest").toBe(true);
  return run;
}

/** After a halted upgrade: pre-upgrade-check on the leader (recovery), then `juju refresh` back, to the end. */
function rollback(run: Recorder, s: Scenario): Recorder {
  const recovery = run.action(run.leader, "pre-upgrade-check");
  expect(recovery.ok, recovery.message).toBe(true);
  run.world.charm.failing.clear();
  run.world.model.refresh(OLD);
  expect(run.toEnd({ pick: picker(s.picks) }), "the rollback came to rest").toBe(true);
  return run;
}

/** The breaches of the named invariants, as `step: invariant: message` lines (empty when they held). */
function breachesOf(run: Recorder, ...names: InvariantName[]): string[] {
  return run.breaches.filter((b) => names.includes(b.invariant)).map((b) => `${b.step}: ${b.invariant}: ${b.message}`);
}

/** Every unit idle, on `version`, with no stack. */
function allIdleOn(run: Recorder, version: string): void {
  const units = run.units();
  expect(units).toEqual(units.map(([id]) => [id, "idle", version]));
  expect(stackOf(run.observe())).toEqual([]);
}

const ids = (n: number) => [...Array(n).keys()];

describe("protocol properties (the one model of Juju, the adapter that ships)", () => {
  it("with no failing unit, every unit ends idle on the new version, and the new dependencies are stored", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const run = upgrade(s);
        allIdleOn(run, "1.1.0");
        expect(JSON.parse(run.observe().appData.dependencies ?? "{}").workload.version).toBe("1.1.0");
        expect(run.breaches.map((b) => b.message)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it("on machines, at most one unit upgrades at a time, only the top of the stack is granted, and every unit is", () => {
    fc.assert(
      fc.property(scenario("vm"), (s) => {
        const run = upgrade(s);
        expect(breachesOf(run, "one-upgrading", "grant-while-upgrading", "grant-not-top")).toEqual([]);
        for (const grant of run.grants) expect(grant.upgradingOthers, `grant to ${grant.unit}`).toEqual([]);
        expect(run.order().sort((a, b) => a - b)).toEqual(ids(s.units));
      }),
      { numRuns: 30 },
    );
  });

  it("the workload leader (bottom of the charm's stack) upgrades last", () => {
    fc.assert(
      fc.property(scenario("vm"), (s) => {
        const run = upgrade({ ...s, newLeader: undefined });
        expect(run.order().at(-1)).toBe(s.leader);
      }),
      { numRuns: 25 },
    );
  });

  it("the stack never loses or duplicates a unit, with or without a failing unit", () => {
    fc.assert(
      fc.property(scenario(), fc.option(fc.nat(), { nil: undefined }), (s, fail) => {
        const run = upgrade(s, fail === undefined ? null : fail % s.units);
        expect(breachesOf(run, "stack-lost", "stack-duplicate")).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  it("a unit is never reported done while it runs the old revision", () => {
    fc.assert(
      fc.property(scenario(), fc.option(fc.nat(), { nil: undefined }), (s, fail) => {
        const run = upgrade(s, fail === undefined ? null : fail % s.units);
        expect(breachesOf(run, "done-on-old")).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  it("no unit is granted before pre-upgrade-check", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const run = deployed(s);
        run.world.model.refresh(NEW);
        expect(run.toRest({ pick: picker(s.picks) })).toBe(true);
        expect(run.grants).toEqual([]);
        expect(breachesOf(run, "grant-before-plan")).toEqual([]);
        // (ClusterModel let a unit stay `upgrading` here; on the one model every unit stays idle, as exploration's
        // `unplanned` end state requires.)
        for (const unit of run.observe().units) expect(unit.state, `app/${unit.id}`).toBe("idle");
      }),
      { numRuns: 20 },
    );
  });

  it("a failure halts further grants, and recovery puts every unit back on the stack", () => {
    fc.assert(
      fc.property(scenario("vm"), fc.nat(), (s, f) => {
        const failing = f % s.units;
        const run = upgrade(s, failing);
        expect(run.order().at(-1)).toBe(failing);
        const halted = run.states.find((change) => change.unit === failing && change.to === "failed");
        expect(halted, "the failing unit reported its failure").toBeDefined();
        const after = run.grants.filter((grant) => grant.step > (halted?.step ?? 0) && grant.unit !== failing);
        expect(after.map((grant) => `app/${grant.unit} at step ${grant.step}`)).toEqual([]);
        expect(breachesOf(run, "grant-while-failed")).toEqual([]);
        expect(run.observe().units.find((u) => u.id === failing)?.state).toBe("failed");
        const recovery = run.action(run.leader, "pre-upgrade-check");
        expect(recovery.ok, recovery.message).toBe(true);
        const stack = stackOf(run.observe());
        expect([...stack].sort((a, b) => a - b)).toEqual(ids(s.units));
        expect(stack.at(-1)).toBe(failing);
      }),
      { numRuns: 25 },
    );
  });

  // Found here (fixed): after recovery, a unit whose agent had not yet noticed the refresh back was granted,
  // installed the new charm's workload again, reported `completed` and was popped (`done-on-old`), ending idle on
  // the old charm with the new workload. A unit's own charm is now in its databag, and a rollback grants and pops
  // only units on the charm it goes to (`onRollTarget`).
  it("machines: rollback after a failure brings every unit back to idle on the old version", () => {
    fc.assert(
      fc.property(scenario("vm"), fc.nat(), (s, f) => {
        const run = rollback(upgrade(s, f % s.units), s);
        allIdleOn(run, "1.0.0");
        expect(breachesOf(run, "stack-lost", "stack-duplicate", "done-on-old")).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  // Found here (fixed): after recovery the stack held the units that completed the failed upgrade, still
  // `completed`, and the leader popped them as done while their pods still ran the new revision (`done-on-old`; the
  // StatefulSet rolled them back all the same, so the end state looked right). Now only units on the charm the
  // rollback goes to are popped (`onRollTarget`).
  it("Kubernetes: rollback after a failure rolls every upgraded pod back and ends with every unit idle on the old version", () => {
    fc.assert(
      fc.property(scenario("k8s"), fc.nat(), (s, f) => {
        const failing = f % s.units;
        const run = upgrade({ ...s, newLeader: undefined }, failing);
        expect(run.observe().units.find((u) => u.id === failing)?.state).toBe("failed");
        rollback(run, s);
        allIdleOn(run, "1.0.0");
        expect(run.observe().units.map((u) => u.pod)).toEqual(ids(s.units).map(() => OLD));
        expect(breachesOf(run, "stack-lost", "stack-duplicate", "done-on-old", "partition")).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it("Kubernetes: no pod below the partition ever runs the new revision, and the roll waits for resume-upgrade after the first unit", () => {
    fc.assert(
      fc.property(scenario("k8s"), (s) => {
        const run = deployed(s);
        const pick = picker(s.picks);
        expect(run.action(s.leader, "pre-upgrade-check").ok).toBe(true);
        run.world.model.refresh(NEW);
        expect(run.toRest({ pick })).toBe(true);
        if (s.units > 1) {
          // paused: only the highest ordinal moved
          expect(
            run
              .observe()
              .units.filter((u) => u.pod === NEW)
              .map((u) => u.id),
          ).toEqual([s.units - 1]);
          expect(run.order()).toEqual([s.units - 1]);
        }
        expect(run.toEnd({ pick })).toBe(true);
        expect(breachesOf(run, "partition")).toEqual([]);
        allIdleOn(run, "1.1.0");
      }),
      { numRuns: 25 },
    );
  });

  it("changing the pause policy and holds mid-roll never grants two units at once, and never grants while a unit holds", () => {
    const change = fc.oneof(
      fc.record({
        kind: fc.constant("policy" as const),
        value: fc.constantFrom<unknown>("none", "first", "all", "bogus", undefined),
      }),
      fc.record({ kind: fc.constant("hold" as const), unit: fc.nat({ max: MAX_UNITS - 1 }), on: fc.boolean() }),
      fc.record({ kind: fc.constant("resume" as const) }),
    );
    fc.assert(
      fc.property(scenario("vm"), fc.array(fc.tuple(fc.nat({ max: 200 }), change), { maxLength: 12 }), (s, changes) => {
        const run = deployed(s);
        const { model, charm } = run.world;
        const pick = picker(s.picks);
        run.action(s.leader, "pre-upgrade-check");
        model.refresh(NEW);
        const byStep = new Map<number, (typeof changes)[number][1][]>();
        for (const [step, c] of changes) byStep.set(step, [...(byStep.get(step) ?? []), c]);
        const before = (step: number) => {
          for (const c of byStep.get(step) ?? []) {
            if (c.kind === "policy") model.configure("pause-after-unit-upgrade", c.value);
            else if (c.kind === "resume") run.action(run.leader, "resume-upgrade");
            else if (c.on) charm.holds.set(c.unit % s.units, "backup");
            else charm.holds.delete(c.unit % s.units);
          }
          byStep.delete(step);
        };
        run.toRest({ pick, before, limit: 400 });
        for (const grant of run.grants.filter((g) => !g.again)) {
          expect(grant.upgradingOthers, `grant to ${grant.unit}`).toEqual([]);
          expect(grant.held, `grant to ${grant.unit} while held`).toEqual([]);
        }
        expect(breachesOf(run, "one-upgrading", "grant-while-upgrading", "stack-lost", "stack-duplicate")).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });
});

describe("regressions: shrunk counterexamples", () => {
  it("rollback of 2 units whose leader failed last rolls back the unit that had completed too", () => {
    // fast-check counterexample (ClusterModel days): {"units":2,"substrate":"vm","leader":0,"picks":[0]}, failing
    // unit 0. The repaired stack [1, 0] put app/1 back with its stale `completed` state; the leader rolled back
    // first, then popped app/1 as if it had completed the rollback. Now every unit on the stack must be `ready`
    // again (have received the charm again) before anyone is granted.
    const s: Scenario = {
      units: 2,
      substrate: "vm",
      leader: 0,
      picks: [0],
      duplicates: [],
      newLeader: undefined,
      twoStep: false,
    };
    const run = upgrade(s, 0);
    expect(run.units()).toEqual([
      [0, "failed", "1.0.0"],
      [1, "completed", "1.1.0"],
    ]);
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    expect(stackOf(run.observe())).toEqual([1, 0]);
    run.world.charm.failing.clear();
    run.world.model.refresh(OLD);
    expect(run.toEnd()).toBe(true);
    expect(run.units()).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
    expect(run.breaches).toEqual([]);
  });

  it("a single unit's whole upgrade finishes in one hook: it completes, pops itself and is idle again", () => {
    // fast-check counterexample (ClusterModel days): {"units":1,"substrate":"vm","leader":0}. The stack invariant
    // must accept a unit leaving the stack as `idle` in the hook that finished the whole upgrade.
    const run = deployed({
      units: 1,
      substrate: "vm",
      leader: 0,
      picks: [0],
      duplicates: [],
      newLeader: undefined,
      twoStep: false,
    });
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    run.world.model.refresh(NEW);
    expect(run.toRest()).toBe(true);
    const granting = run.hooks.filter((hook) => hook.effects.some((e) => e.type === "grantUpgrade"));
    expect(granting.map((hook) => hook.hook)).toEqual(["upgrade-charm"]);
    // its committed state never left `idle`: granted, completed, popped and idle again in that one hook
    expect(run.states).toEqual([]);
    expect(run.units()).toEqual([[0, "idle", "1.1.0"]]);
    expect(stackOf(run.observe())).toEqual([]);
    expect(run.breaches).toEqual([]);
  });

  /** The shrunk counterexample of the Kubernetes rollback property: 5 units, app/0 (upgraded last) fails. */
  const k8sRollback: Scenario = {
    units: 5,
    substrate: "k8s",
    leader: 0,
    picks: [0],
    duplicates: [],
    newLeader: undefined,
    twoStep: true,
  };

  it("Kubernetes rollback with 5 units: the scenario reaches the state the bug needs (recovery, 4 units completed on the new revision)", () => {
    const run = upgrade(k8sRollback, 0);
    expect(run.units()).toEqual([[0, "failed", "1.1.0"], ...[1, 2, 3, 4].map((id) => [id, "completed", "1.1.0"])]);
    expect(run.action(run.leader, "pre-upgrade-check").ok).toBe(true);
    expect(run.observe().units.map((u) => u.pod)).toEqual([NEW, NEW, NEW, NEW, NEW]);
  });

  // Regression (shrunk counterexample of the Kubernetes rollback property above).
  it("Kubernetes rollback with 5 units: no unit is popped as done while its pod still runs the new revision", () => {
    // fast-check counterexample: {"units":5,"substrate":"k8s","leader":0,"picks":[0],"duplicates":[],"twoStep":true},
    // failing unit 0. Before the fix, the leader popped app/1, app/2 and app/3 (`completed` from the failed upgrade) in one
    // hook after the refresh back, while they ran charm revision 2 and workload 1.1.0.
    const run = rollback(upgrade(k8sRollback, 0), k8sRollback);
    expect(breachesOf(run, "done-on-old", "stack-lost")).toEqual([]);
    allIdleOn(run, "1.0.0");
  });

  /** A shrunk counterexample of the machine rollback property: 5 units, app/3 fails. */
  const vmRollback: Scenario = {
    units: 5,
    substrate: "vm",
    leader: 0,
    picks: [303314318, 0],
    duplicates: [],
    newLeader: undefined,
    twoStep: false,
  };

  it("machine rollback with 5 units: the scenario reaches the state the bug needs (recovery, app/4 completed on the new workload)", () => {
    const run = upgrade(vmRollback, 3);
    expect(run.units()).toEqual([
      [0, "ready", "1.0.0"],
      [1, "ready", "1.0.0"],
      [2, "ready", "1.0.0"],
      [3, "failed", "1.0.0"],
      [4, "completed", "1.1.0"],
    ]);
    expect(run.action(run.leader, "pre-upgrade-check").ok).toBe(true);
    expect(stackOf(run.observe())).toEqual([0, 1, 2, 4, 3]);
  });

  // Regression (shrunk counterexample of the machine rollback property above).
  it("machine rollback with 5 units: no unit still on the new charm is granted and popped", () => {
    // fast-check counterexample: {"units":5,"substrate":"vm","leader":0,"picks":[303314318,0],"duplicates":[],
    // "twoStep":false}, failing unit 3. Before the fix, app/2 was granted while it still ran charm revision 2, installed
    // workload 1.1.0 again, was popped as completed, and ended idle on charm revision 1 with workload 1.1.0.
    const run = rollback(upgrade(vmRollback, 3), vmRollback);
    expect(breachesOf(run, "done-on-old", "stack-lost")).toEqual([]);
    allIdleOn(run, "1.0.0");
  });
});
