import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Faults, GrantRecord, SimEvent } from "./simulator.js";
import { findViolations } from "./findViolations.js";
import { rehearseUpgrade, settleResuming } from "./rehearseUpgrade.js";
import { Simulator } from "./simulator.js";

/**
 * Properties of whole simulated upgrades (1–10 units, random seeds, leaders and faults), every hook running the
 * real Juju adapter. A failure prints the fast-check seed and the shrunk scenario; `replay(scenario)` reproduces it.
 */

interface Scenario {
  readonly units: number;
  readonly seed: number;
  readonly leader: number;
  readonly faults: Faults;
  readonly failUnit: number | undefined;
}

const NO_FAULTS: Faults = {};

/** Crashes, duplicated and reordered relation-changed, and one-off leadership change, unit added, unit removed. */
const faultsArb: fc.Arbitrary<Faults> = fc.record({
  crash: fc.constantFrom(0, 0.05, 0.2),
  maxCrashes: fc.constantFrom(10, 30),
  duplicate: fc.constantFrom(0, 0.1, 0.3),
  reorder: fc.constantFrom(0, 0.2, 0.5),
  leaderChangeAfter: fc.option(fc.nat(60), { nil: undefined }),
  addUnitAfter: fc.option(fc.nat(60), { nil: undefined }),
  removeUnitAfter: fc.option(fc.nat(60), { nil: undefined }),
});

const scenarioArb = (options: { faults: boolean; fail: boolean }): fc.Arbitrary<Scenario> =>
  fc.integer({ min: 1, max: 10 }).chain((units) =>
    fc.record({
      units: fc.constant(units),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      leader: fc.integer({ min: 0, max: units - 1 }),
      faults: options.faults ? faultsArb : fc.constant(NO_FAULTS),
      failUnit: options.fail ? fc.integer({ min: 0, max: units - 1 }) : fc.constant(undefined),
    }),
  );

/** Deploy, settle, pre-upgrade-check on the leader, refresh to revision 2, settle (resuming when the upgrade pauses). */
async function upgrade(s: Scenario): Promise<Simulator> {
  const sim = new Simulator({
    units: s.units,
    substrate: "vm",
    seed: s.seed,
    leader: s.leader,
    faults: s.faults,
    failUnits: s.failUnit === undefined ? [] : [s.failUnit],
  });
  expect((await sim.settle()).settled).toBe(true);
  const check = await sim.runAction(sim.leader, "pre-upgrade-check");
  expect(check.ok, check.message).toBe(true);
  await sim.settle();
  sim.refresh(2);
  await settleResuming(sim);
  return sim;
}

/** Every safety invariant held (see `findViolations`). */
function safe(sim: Simulator): void {
  expect(findViolations(sim.events, sim.app, sim.substrate)).toEqual([]);
}

const grantsOf = (sim: Simulator, refresh: number): GrantRecord[] =>
  sim.grants.filter((grant) => grant.refresh === refresh);
/** Whether Juju elected another leader after the first refresh (a fault, or the leader was removed). */
const leaderChangedAfterRefresh = (events: readonly SimEvent[]): boolean => {
  const refresh = events.findIndex((e) => e.type === "operator" && e.message.startsWith("juju refresh"));
  return events.slice(refresh).some((e) => e.type === "leader");
};

const RUNS = { numRuns: 30 } as const;

describe("simulated machine upgrades (real adapter, random schedules and faults)", () => {
  it("at most one unit upgrades at a time", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: true, fail: false }), async (s) => safe(await upgrade(s))),
      RUNS,
    );
  });

  it("the stack never loses or duplicates a unit, with or without a failing unit", async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb({ faults: true, fail: false }),
        fc.option(fc.nat(), { nil: undefined }),
        async (s, f) => {
          safe(await upgrade({ ...s, failUnit: f === undefined ? undefined : f % s.units }));
        },
      ),
      RUNS,
    );
  });

  it("the workload leader (bottom of the stack) upgrades last when leadership does not change", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: true, fail: false }), async (s) => {
        const sim = await upgrade(s);
        fc.pre(!leaderChangedAfterRefresh(sim.events));
        const order = [...new Set(grantsOf(sim, 1).map((grant) => grant.unit))];
        expect(order.at(-1), `order ${order.join(", ")}`).toBe(`${sim.app}/${s.leader}`);
      }),
      RUNS,
    );
  });

  it("a failure halts further grants", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: true, fail: true }), async (s) => {
        const sim = await upgrade(s);
        const failing = `${sim.app}/${s.failUnit}`;
        fc.pre(sim.units().some((unit) => unit.name === failing));
        const grants = grantsOf(sim, 1);
        const first = grants.findIndex((grant) => grant.outcome === "failed");
        expect(first, "the failing unit was granted").toBeGreaterThanOrEqual(0);
        expect(
          grants.slice(first).every((grant) => grant.unit === failing),
          `grants ${grants.map((g) => g.unit).join(", ")}`,
        ).toBe(true);
        expect(sim.unit(failing).state).toBe("failed");
        expect(sim.units().filter((unit) => unit.state === "upgrading")).toEqual([]);
      }),
      RUNS,
    );
  });

  it("liveness: with no fault, every unit ends idle on the new version", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: false, fail: false }), async (s) => {
        const sim = await upgrade(s);
        expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion])).toEqual(
          sim.units().map((u) => [u.name, "idle", "1.1.0"]),
        );
        expect(sim.stack()).toBeNull();
        expect(JSON.parse(sim.applicationData.dependencies ?? "{}").workload.version).toBe("1.1.0");
      }),
      RUNS,
    );
  });

  it("liveness: rollback after a failed unit brings every unit back to idle on the old version", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: false, fail: true }), async (s) => {
        const sim = await upgrade(s);
        const recovery = await sim.runAction(sim.leader, "pre-upgrade-check");
        expect(recovery.ok, recovery.message).toBe(true);
        sim.setFailingUnits([]);
        sim.refresh(1);
        await settleResuming(sim);
        expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion])).toEqual(
          sim.units().map((u) => [u.name, "idle", "1.0.0"]),
        );
        safe(sim);
      }),
      RUNS,
    );
  });

  it("liveness under faults (crashes, duplicates, reordering, leadership change, scaling): every unit ends idle on the new version", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb({ faults: true, fail: false }), async (s) => {
        const sim = await upgrade(s);
        expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion])).toEqual(
          sim.units().map((u) => [u.name, "idle", "1.1.0"]),
        );
        expect(sim.stack()).toBeNull();
      }),
      RUNS,
    );
  });
});

/** Kubernetes faults: as on machines (scale-down removes the highest ordinal, the first pod upgraded). */
const k8sFaultsArb: fc.Arbitrary<Faults> = fc.record({
  crash: fc.constantFrom(0, 0.05, 0.2),
  maxCrashes: fc.constantFrom(10, 30),
  duplicate: fc.constantFrom(0, 0.1, 0.3),
  reorder: fc.constantFrom(0, 0.2, 0.5),
  leaderChangeAfter: fc.option(fc.nat(40), { nil: undefined }),
  addUnitAfter: fc.option(fc.nat(40), { nil: undefined }),
  removeUnitAfter: fc.option(fc.nat(40), { nil: undefined }),
});

describe("simulated Kubernetes upgrades (real adapter, random schedules and faults)", () => {
  it("one pod at a time, never one below the partition on the new revision, and every unit ends idle on it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10 }), fc.nat(), k8sFaultsArb, async (units, seed, faults) => {
        const report = await rehearseUpgrade({ units, substrate: "k8s", seed, faults, onProgress: undefined });
        expect(report.violations).toEqual([]);
        expect(report.outcome, report.summary).toBe("upgraded");
        expect(report.partition).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it("a failure halts the roll, and rollback (recovery, refresh to the old revision) brings every unit back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10 }), fc.nat(), fc.nat(), async (units, seed, f) => {
        const report = await rehearseUpgrade({ units, substrate: "k8s", seed, failUnit: f % units, rollback: true });
        expect(report.violations).toEqual([]);
        expect(report.order.at(-1)).toBe(`db/${f % units}`);
        expect(report.outcome, report.summary).toBe("rolled-back");
      }),
      { numRuns: 15 },
    );
  });
});
