import { ClusterModel, NEW, OLD } from "@charm-upgrade/core/testing";
import { describe, expect, it } from "vitest";
import { explore, formatViolations } from "./explore.js";

/**
 * Protocol bugs found by verification (foundBugs.ts), minimised and fixed. A test beside each checks that the
 * scenario still reaches the state the bug needed, so the regression test cannot pass for the wrong reason.
 */

/**
 * FIXED `rollback-skips-completed-units` (machines). Found by `pnpm soak` (seed 196; 9 of 20,000 runs), minimised by
 * exploring the rollback exhaustively with one scale-in (`faults: { scaleIn: true }`), 2 units:
 *
 *   deploy 2 units, leader app/0, whose upgrade fails; pre-upgrade-check; juju refresh (new)
 *   app/1 upgrades and completes; resume-upgrade; app/0 upgrades and fails              -> halted
 *   pre-upgrade-check on app/0 (recovery: stack [1, 0], app/0 in recovery); juju refresh (old)
 *   juju remove-unit app/0                                   (the failed unit leaves; app/1 becomes leader)
 *   app/1 runs relation-changed: drops app/0, pops itself as `completed` -> stack [], app/1 idle
 *       = app/1 idle, charm old, workload 1.1.0 (never rolled back); its upgrade-charm deferred for ever
 *
 * Cause: during a rollback, units that completed the forward upgrade keep `completed` until their rollback
 * upgrade-charm turns them `ready`. `maintainStack` pops any `completed` unit on top of the stack; on machines it
 * is skipped only while a unit is `failed` or in `recovery`. Once the failed unit leaves (and the leader has left
 * recovery, or was the failed unit), the stale `completed` units are popped without rolling back, and the barrier
 * of `grantBlocker` only looks at units still on the stack. With 3 units the leader also rolls back before them.
 *
 * Fix: recovery records the stale units in `upgrade-rollback-pending`; the leader pops none of them, and none is
 * granted, until the leader has seen it `ready` again.
 */
describe("regression: rollback-skips-completed-units", () => {
  function toRemoval(): ClusterModel {
    const model = new ClusterModel({ units: 2, substrate: "vm", revision: OLD, leader: 0, failUnits: [0] });
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.refresh(NEW);
    model.settle();
    model.runAction(0, "resumeUpgrade");
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.failUnits.clear();
    model.refresh(OLD);
    return model;
  }

  it("the scenario reaches the state the bug needs (recovery planned, app/1 still completed on the new workload)", () => {
    const model = toRemoval();
    expect(Object.fromEntries(model.states())).toEqual({ 0: "recovery", 1: "completed" });
    expect(model.stack()).toEqual([1, 0]);
    expect(model.units.get(1)?.workload).toBe(NEW.dependencies.workload?.version);
  });

  it("a unit that completed the upgrade is rolled back even when the failed unit is removed during the rollback", () => {
    const model = toRemoval();
    model.removeUnit(0);
    model.settle();
    const unit = model.units.get(1);
    expect(unit?.databag.state).toBe("idle");
    // before the fix: 1.1.0 — app/1 was popped as `completed` and never rolled back
    expect(unit?.workload).toBe(OLD.dependencies.workload?.version);
  });

  it("exhaustive: a rollback on machines with 2 units and one scale-in keeps every invariant and always ends", () => {
    const result = explore({ units: 2, substrate: "vm", scenario: "rollback", faults: { scaleIn: true } });
    // before the fix: stack-lost (the shortest trace is the one above), then a deadlock and livelocks
    expect(formatViolations(result)).toBe("rollback on vm with 2 units: no violation");
  });

  it("Kubernetes is not affected: the StatefulSet rolls every pod back whatever the stack says", () => {
    const result = explore({ units: 2, substrate: "k8s", scenario: "rollback", faults: { scaleIn: true } });
    expect(formatViolations(result)).toBe("rollback on k8s with 2 units: no violation");
  });
});

/**
 * Found by review: statuses offer `juju refresh <previous>` during a roll that has not failed. On machines, if the
 * refresh lands after the last unit completed the forward upgrade, the stack is gone when the old charm's
 * upgrade-charm runs: the units go idle with a unit on the new workload under the old charm. The library does not
 * lose this: upgrade-charm is kept (deferred), every unit says to run pre-upgrade-check, and that plans the
 * rollback as an upgrade that installs the old workload everywhere.
 */
describe("a mid-roll refresh back to the old revision on machines (no failure)", () => {
  it("halts with an instruction, and pre-upgrade-check then brings every unit to the old workload", () => {
    const model = new ClusterModel({ units: 2, substrate: "vm", revision: OLD, leader: 0, asyncUpgrades: true });
    model.pauseAfter = "none";
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.refresh(NEW);
    for (let i = 0; i < 200 && !(model.states().get(1) === "completed" && model.states().get(0) === "upgrading"); i++) {
      const next = model.runnable()[0];
      if (next === undefined) break;
      model.runNext(next);
    }
    expect(Object.fromEntries(model.states())).toEqual({ 0: "upgrading", 1: "completed" });
    model.refresh(OLD);
    model.settle();
    expect(model.units.get(1)?.workload).toBe(NEW.dependencies.workload?.version);
    const statuses = model.trace.flatMap((e) => (e.kind === "hook" ? e.effects : [])).filter((e) => e.type === "setUnitStatus");
    expect(statuses.at(-1)?.message).toMatch(/Run pre-upgrade-check on the leader/);
    expect(model.runAction(0, "preUpgradeCheck").ok).toBe(true);
    model.settle();
    expect([...model.units.values()].map((u) => [u.databag.state, u.workload])).toEqual([
      ["idle", OLD.dependencies.workload?.version],
      ["idle", OLD.dependencies.workload?.version],
    ]);
  });
});
