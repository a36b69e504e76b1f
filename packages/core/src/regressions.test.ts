import { describe, expect, it } from "vitest";
import { ClusterModel, NEW, OLD } from "./testing/index.js";

/** Shrunk counterexamples found by the property tests, kept as named regression tests. */
describe("regressions", () => {
  it("rollback of 2 units whose leader failed last rolls back the unit that had completed too", () => {
    // fast-check counterexample: {"units":2,"substrate":"vm","leader":0,"picks":[0]}, failing unit 0.
    // The repaired stack [1, 0] put app/1 back with its stale `completed` state; the leader rolled back first,
    // then popped app/1 as if it had completed the rollback. The barrier now requires every unit on the stack
    // to be `ready` (to have received the charm again) before anyone is granted.
    const cluster = new ClusterModel({ units: 2, substrate: "vm", revision: OLD, leader: 0, failUnits: [0] });
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    cluster.settle();
    cluster.refresh(NEW);
    cluster.settle();
    expect(cluster.runAction(0, "resumeUpgrade").ok).toBe(true);
    cluster.settle();
    expect([...cluster.states()]).toEqual([
      [0, "failed"],
      [1, "completed"],
    ]);
    expect(cluster.runAction(0, "preUpgradeCheck").ok).toBe(true);
    expect(cluster.stack()).toEqual([1, 0]);
    cluster.failUnits.clear();
    cluster.refresh(OLD);
    cluster.settle();
    expect([...cluster.states().values()]).toEqual(["idle", "idle"]);
    expect([...cluster.units.values()].map((u) => u.workload)).toEqual(["1.0.0", "1.0.0"]);
  });

  it("a single unit's whole upgrade finishes in its own upgrade-charm hook", () => {
    // fast-check counterexample: {"units":1,"substrate":"vm","leader":0}: the unit completes, pops itself and
    // returns to idle in one hook; the stack invariant must accept a unit leaving the stack as idle there.
    const cluster = new ClusterModel({ units: 1, substrate: "vm", revision: OLD });
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    cluster.refresh(NEW);
    expect(cluster.settle()).toBe(1);
    expect(cluster.states().get(0)).toBe("idle");
    expect(cluster.stack()).toBeNull();
  });
});
