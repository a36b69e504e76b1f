import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Substrate } from "./substrate.js";
import { ClusterModel, NEW, OLD } from "./testing/index.js";
import type { TraceEntry } from "./testing/index.js";

/**
 * Properties of the protocol over whole upgrades of 1–10 units, random schedules and faults, driven through the
 * pure reducer by the in-memory cluster model. Each hook rebuilds the unit's state from the databags.
 */

interface Scenario {
  readonly units: number;
  readonly substrate: Substrate;
  readonly leader: number;
  readonly picks: readonly number[];
  readonly duplicates: readonly number[];
  /** A leadership change right after `juju refresh` (a fault), or none. */
  readonly newLeader: number | undefined;
}

const scenario = (substrate?: Substrate): fc.Arbitrary<Scenario> =>
  fc.integer({ min: 1, max: 10 }).chain((units) =>
    fc.record({
      units: fc.constant(units),
      substrate: substrate ? fc.constant(substrate) : fc.constantFrom<Substrate>("vm", "k8s"),
      leader: fc.integer({ min: 0, max: units - 1 }),
      picks: fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
      duplicates: fc.array(fc.nat({ max: units - 1 }), { maxLength: 6 }),
      newLeader: fc.option(fc.integer({ min: 0, max: units - 1 }), { nil: undefined }),
    }),
  );

/** A scheduler that picks the next unit to run a hook from a cycled list of choices. */
function picker(picks: readonly number[]): (runnable: readonly number[]) => number {
  let i = 0;
  return (runnable) => runnable[(picks[i++ % picks.length] ?? 0) % runnable.length] ?? 0;
}

/** Deploy, settle, run pre-upgrade-check on the leader, refresh, and drive to the end (resuming on K8s). */
function upgrade(s: Scenario, failUnits: readonly number[] = []): ClusterModel {
  const cluster = new ClusterModel({ units: s.units, substrate: s.substrate, revision: OLD, leader: s.leader, failUnits });
  const pick = picker(s.picks);
  cluster.settle(pick);
  const check = cluster.runAction(s.leader, "preUpgradeCheck");
  expect(check.ok, check.message).toBe(true);
  cluster.settle(pick);
  cluster.refresh(NEW);
  if (s.newLeader !== undefined && s.newLeader !== s.leader) cluster.setLeader(s.newLeader);
  for (const unit of s.duplicates) cluster.units.get(unit)?.queue.push({ type: "relationChanged", source: "duplicate" });
  for (let round = 0; round < 3 * s.units + 3; round++) {
    cluster.settle(pick);
    // The default pause policy (`first`) waits for the operator after the first unit, on both substrates.
    if (cluster.stack()) cluster.runAction(cluster.leader, "resumeUpgrade");
  }
  cluster.settle(pick);
  return cluster;
}

const grants = (trace: readonly TraceEntry[]) =>
  trace.filter((e): e is Extract<TraceEntry, { kind: "grant" }> => e.kind === "grant");

/** Replay committed writes; check that a unit only ever leaves the stack when it completed or left. */
function stackNeverLosesUnits(cluster: ClusterModel): void {
  const states = new Map<number, string>();
  let stack: number[] = [];
  for (const entry of cluster.trace) {
    if (entry.kind !== "commit") continue;
    if (entry.unitData.state) states.set(entry.unit, entry.unitData.state);
    const raw = entry.appData["upgrade-stack"];
    if (raw === undefined) continue;
    const next = JSON.parse(raw) as number[];
    expect(new Set(next).size, `duplicate in stack ${raw}`).toBe(next.length);
    for (const id of stack) {
      if (next.includes(id)) continue;
      // it completed (possibly finishing the whole upgrade in the same hook, when it is the last unit)
      const done = states.get(id) === "completed" || (entry.unit === id && states.get(id) === "idle");
      expect(done, `unit ${id} (${states.get(id)}) left the stack ${JSON.stringify(stack)} -> ${raw}`).toBe(true);
    }
    stack = next;
  }
}

describe("protocol properties", () => {
  it("with no fault, every unit ends idle on the new version, and the new dependencies are stored", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const cluster = upgrade(s);
        for (const [id, state] of cluster.states()) expect(state, `unit ${id}`).toBe("idle");
        for (const unit of cluster.units.values()) expect(unit.workload, `unit ${unit.id} workload`).toBe("1.1.0");
        expect(cluster.stack()).toBeNull();
        expect(JSON.parse(cluster.appData.dependencies ?? "{}").workload.version).toBe("1.1.0");
      }),
      { numRuns: 150 },
    );
  });

  it("on machines, at most one unit upgrades at a time, and only the top of the stack is granted", () => {
    fc.assert(
      fc.property(scenario("vm"), (s) => {
        const cluster = upgrade(s);
        for (const grant of grants(cluster.trace)) expect(grant.upgrading, `grant to ${grant.unit}`).toEqual([]);
        expect(grants(cluster.trace).map((g) => g.unit).sort((a, b) => a - b)).toEqual([...Array(s.units).keys()]);
      }),
      { numRuns: 150 },
    );
  });

  it("the workload leader (bottom of the charm's stack) upgrades last", () => {
    fc.assert(
      fc.property(scenario("vm"), (s) => {
        const cluster = upgrade({ ...s, newLeader: undefined });
        const order = grants(cluster.trace).map((g) => g.unit);
        expect(order.at(-1)).toBe(s.leader);
      }),
      { numRuns: 100 },
    );
  });

  it("the stack never loses or duplicates a unit", () => {
    fc.assert(
      fc.property(scenario(), fc.option(fc.nat(), { nil: undefined }), (s, fail) => {
        const failUnits = fail === undefined ? [] : [fail % s.units];
        stackNeverLosesUnits(upgrade(s, failUnits));
      }),
      { numRuns: 150 },
    );
  });

  it("no unit is granted before pre-upgrade-check", () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const cluster = new ClusterModel({ units: s.units, substrate: s.substrate, revision: OLD, leader: s.leader });
        const pick = picker(s.picks);
        cluster.settle(pick);
        cluster.refresh(NEW);
        cluster.settle(pick);
        expect(grants(cluster.trace)).toEqual([]);
        for (const [, state] of cluster.states()) expect(["idle", "upgrading"]).toContain(state);
      }),
      { numRuns: 100 },
    );
  });

  it("a failure halts further grants, and recovery puts every unit back on the stack", () => {
    fc.assert(
      fc.property(scenario("vm"), fc.nat(), (s, f) => {
        const failing = f % s.units;
        const cluster = upgrade(s, [failing]);
        const order = grants(cluster.trace).map((g) => g.unit);
        expect(order.at(-1)).toBe(failing);
        expect(cluster.states().get(failing)).toBe("failed");
        const recovery = cluster.runAction(cluster.leader, "preUpgradeCheck");
        expect(recovery.ok, recovery.message).toBe(true);
        const stack = cluster.stack() ?? [];
        expect([...stack].sort((a, b) => a - b)).toEqual([...Array(s.units).keys()]);
        expect(stack.at(-1)).toBe(failing);
      }),
      { numRuns: 100 },
    );
  });

  it("rollback after a failure brings every unit back to idle on the old version", () => {
    fc.assert(
      fc.property(scenario("vm"), fc.nat(), (s, f) => {
        const failing = f % s.units;
        const cluster = upgrade(s, [failing]);
        cluster.runAction(cluster.leader, "preUpgradeCheck");
        cluster.failUnits.clear();
        cluster.refresh(OLD);
        cluster.settle(picker(s.picks));
        for (const [id, state] of cluster.states()) expect(state, `unit ${id}`).toBe("idle");
        for (const unit of cluster.units.values()) expect(unit.workload).toBe("1.0.0");
        stackNeverLosesUnits(cluster);
      }),
      { numRuns: 100 },
    );
  });

  it("Kubernetes: rollback after a failure rolls every upgraded pod back and ends with every unit idle on the old version", () => {
    fc.assert(
      fc.property(scenario("k8s"), fc.nat(), (s, f) => {
        const failing = f % s.units;
        const cluster = upgrade({ ...s, newLeader: undefined }, [failing]);
        expect(cluster.states().get(failing)).toBe("failed");
        const recovery = cluster.runAction(cluster.leader, "preUpgradeCheck");
        expect(recovery.ok, recovery.message).toBe(true);
        cluster.failUnits.clear();
        cluster.refresh(OLD);
        cluster.settle(picker(s.picks));
        for (const [id, state] of cluster.states()) expect(state, `unit ${id}`).toBe("idle");
        for (const unit of cluster.units.values()) expect(unit.workload, `unit ${unit.id}`).toBe("1.0.0");
        expect(cluster.stack()).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it("Kubernetes: no pod below the partition ever runs the new revision, and the roll waits for resume-upgrade after the first unit", () => {
    fc.assert(
      fc.property(scenario("k8s"), (s) => {
        const cluster = new ClusterModel({ units: s.units, substrate: "k8s", revision: OLD, leader: s.leader });
        const pick = picker(s.picks);
        cluster.settle(pick);
        cluster.runAction(s.leader, "preUpgradeCheck");
        cluster.refresh(NEW);
        const check = () => {
          for (const unit of cluster.units.values()) if (unit.id < cluster.partition) expect(unit.revision.name, `pod ${unit.id} < partition ${cluster.partition}`).toBe("old");
        };
        while (cluster.runnable().length) {
          cluster.runNext(pick(cluster.runnable()));
          check();
        }
        if (s.units > 1) {
          // paused: only the highest ordinal moved
          expect([...cluster.units.values()].filter((u) => u.revision.name === "new").map((u) => u.id)).toEqual([s.units - 1]);
          expect(cluster.runAction(cluster.leader, "resumeUpgrade").ok).toBe(true);
        }
        while (cluster.runnable().length) {
          cluster.runNext(pick(cluster.runnable()));
          check();
        }
        for (const [id, state] of cluster.states()) expect(state, `unit ${id}`).toBe("idle");
      }),
      { numRuns: 100 },
    );
  });

  it("changing the pause policy and holds mid-roll never grants two units at once, and never grants while a unit holds", () => {
    const change = fc.oneof(
      fc.record({ kind: fc.constant("policy" as const), value: fc.constantFrom<unknown>("none", "first", "all", "bogus", undefined) }),
      fc.record({ kind: fc.constant("hold" as const), unit: fc.nat({ max: 9 }), on: fc.boolean() }),
      fc.record({ kind: fc.constant("resume" as const) }),
    );
    fc.assert(
      fc.property(scenario("vm"), fc.array(fc.tuple(fc.nat({ max: 200 }), change), { maxLength: 12 }), (s, changes) => {
        const cluster = new ClusterModel({ units: s.units, substrate: s.substrate, revision: OLD, leader: s.leader });
        const pick = picker(s.picks);
        cluster.settle(pick);
        cluster.runAction(s.leader, "preUpgradeCheck");
        cluster.refresh(NEW);
        const byStep = new Map<number, (typeof changes)[number][1][]>();
        for (const [step, c] of changes) byStep.set(step, [...(byStep.get(step) ?? []), c]);
        for (let step = 0; step < 400 && cluster.runnable().length; step++) {
          for (const c of byStep.get(step) ?? []) {
            if (c.kind === "policy") cluster.pauseAfter = c.value;
            else if (c.kind === "resume") cluster.runAction(cluster.leader, "resumeUpgrade");
            else {
              const unit = c.unit % s.units;
              if (c.on) cluster.holds.set(unit, "backup");
              else cluster.holds.delete(unit);
              const u = cluster.units.get(unit);
              if (u) cluster.enqueue(u, "tick");
            }
          }
          cluster.runNext(pick(cluster.runnable()));
        }
        for (const grant of grants(cluster.trace)) {
          expect(grant.upgrading, `grant to ${grant.unit}`).toEqual([]);
          expect(grant.held ?? [], `grant to ${grant.unit} while held`).toEqual([]);
        }
        stackNeverLosesUnits(cluster);
      }),
      { numRuns: 60 },
    );
  });
});
