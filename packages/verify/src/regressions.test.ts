import { describe, expect, it } from "vitest";
import { explore, formatViolations } from "./explore.js";
import { NEW, OLD, THIRD, World } from "./world.js";

/**
 * Protocol bugs found by verification (foundBugs.ts), minimised and fixed. A test beside each checks that the
 * scenario still reaches the state the bug needed, so the regression test cannot pass for the wrong reason.
 */

/** Every unit's committed state and the workload it runs. */
function units(world: World): [number, string, string][] {
  return world.observe().units.map((u) => [u.id, u.state, u.workload]);
}

/** Resume whenever the roll waits for the operator, until nothing happens any more. */
function settleResuming(world: World): void {
  for (let round = 0; round < 10; round++) {
    world.settle();
    const leader = world.model.leader ?? 0;
    if (!world.action(leader, "resume-upgrade").ok) return;
  }
}

/**
 * FIXED `rollback-skips-completed-units` (machines). Found by `pnpm soak` (seed 196; 9 of 20,000 runs), minimised by
 * exploring the rollback exhaustively with one scale-in (`faults: { scaleIn: true }`), 2 units:
 *
 *   deploy 2 units, leader app/0, whose upgrade fails; pre-upgrade-check; juju refresh (new)
 *   app/1 upgrades and completes; resume-upgrade; app/0 upgrades and fails              -> halted
 *   pre-upgrade-check on app/0 (recovery: stack [1, 0], app/0 in recovery); juju refresh (old)
 *   juju remove-unit app/0                                   (the failed unit leaves; app/1 becomes leader)
 *   app/1 runs relation-changed: drops app/0, pops itself as `completed` -> stack [], app/1 idle
 *       = app/1 idle, charm old, workload 1.1.0 (never rolled back)
 *
 * Fix: recovery records the stale units in `upgrade-rollback-pending`; the leader pops none of them, and none is
 * granted, until the leader has seen it `ready` again.
 */
describe("regression: rollback-skips-completed-units", () => {
  function toRemoval(): World {
    const world = new World({ units: 2, substrate: "vm", leader: 0, twoStepUpgrades: false });
    world.charm.failing = new Set([0]);
    world.settle();
    expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
    world.model.refresh(NEW);
    world.model.noticeAll();
    settleResuming(world);
    expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
    world.charm.failing.clear();
    world.model.refresh(OLD);
    return world;
  }

  it("the scenario reaches the state the bug needs (recovery planned, app/1 still completed on the new workload)", () => {
    const world = toRemoval();
    expect(units(world)).toEqual([
      [0, "recovery", "1.0.0"],
      [1, "completed", "1.1.0"],
    ]);
    expect(world.observe().appData["upgrade-stack"]).toBe("[1, 0]");
  });

  it("a unit that completed the upgrade is rolled back even when the failed unit is removed during the rollback", () => {
    const world = toRemoval();
    world.model.removeUnit(0);
    world.model.noticeAll();
    world.settle();
    // before the fix: 1.1.0 — app/1 was popped as `completed` and never rolled back
    expect(units(world)).toEqual([[1, "idle", "1.0.0"]]);
  });

  it("exhaustive: a rollback on machines with 2 units and one scale-in keeps every invariant and always ends", () => {
    const result = explore({ units: 2, substrate: "vm", scenario: "rollback", faults: { scaleIn: true } });
    // before the fix: stack-lost (the shortest trace is the one above), then a deadlock and livelocks
    expect(formatViolations(result)).toBe("rollback on vm with 2 units: no violation");
  });
});

/**
 * A `juju refresh` to a third revision mid-roll (issue 12.4, 15.1), found by exploring `secondRefresh` (machines,
 * 2 units): the third revision reached both units after the last one had been granted, so the stack was already
 * empty while both were `completed` on it; the operator then did what the status said, `juju refresh` back, and the
 * units asked for a pre-upgrade-check that was refused (a livelock). A refresh to a third revision is refused: its
 * units are not granted, the statuses name it and the two commands that end it; a refresh back while the roll's
 * last units finish (empty stack, its records kept) still rolls back.
 */
describe("regression: refresh to a third revision mid-roll", () => {
  /** Upgrade of 2 units paused after app/1, resumed; app/0 granted; then `juju refresh` to the third revision. */
  function toThird(): World {
    const world = new World({ units: 2, substrate: "vm", leader: 0, twoStepUpgrades: true });
    world.settle();
    const { model } = world;
    const take = (kind: "notice" | "hook", unit: number) => {
      const step = model.steps().find((s) => s.kind === kind && s.unit === unit);
      if (!step) throw new Error(`no ${kind} due for app/${unit}`);
      if (step.kind === "hook") world.hook(unit);
      else if (step.kind === "notice") world.take(step);
    };
    expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
    model.refresh(NEW);
    for (const [kind, unit] of [
      ["notice", 0],
      ["hook", 0],
      ["notice", 1],
      ["hook", 1],
      ["hook", 1],
      ["hook", 0],
    ] as const)
      take(kind, unit);
    expect(world.action(0, "resume-upgrade").ok).toBe(true);
    model.refresh(THIRD);
    for (const [kind, unit] of [
      ["notice", 1],
      ["hook", 1],
      ["hook", 0],
      ["notice", 0],
      ["hook", 0],
    ] as const)
      take(kind, unit);
    world.settle();
    return world;
  }

  it("the scenario reaches the state the bug needs (both completed on the third revision, the stack empty)", () => {
    const world = toThird();
    const s = world.observe();
    expect(s.units.map((u) => [u.id, u.state, u.revision])).toEqual([
      [0, "completed", THIRD],
      [1, "completed", THIRD],
    ]);
    expect(s.appData["upgrade-stack"]).toBe("[]");
    expect(s.appData["upgrade-to-charm"]).toBe(`ch:amd64/jammy/app-${NEW}`);
  });

  it("is refused: no unit finishes on it, and every status names it and the commands that end it", () => {
    const world = toThird();
    for (const id of [0, 1])
      expect(world.model.units.get(id)?.status).toEqual({
        status: "blocked",
        message: `Refresh to app-${THIRD} refused mid-upgrade. Go on: juju refresh app --revision ${NEW} | roll back: juju refresh app --revision ${OLD}`,
      });
    expect(world.model.appStatus).toEqual({
      status: "blocked",
      message: `Refresh to app-${THIRD} refused mid-upgrade. Go on: juju refresh app --revision ${NEW}; or roll back: juju refresh app --revision ${OLD}`,
    });
    expect(units(world)).toEqual([
      [0, "completed", "1.1.0"],
      [1, "completed", "1.1.0"],
    ]);
  });

  it("then `juju refresh` to the roll's target finishes the upgrade", () => {
    const world = toThird();
    world.model.refresh(NEW);
    world.model.noticeAll();
    settleResuming(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
    ]);
    expect(world.observe().appData["upgrade-from-charm"]).toBeUndefined();
  });

  it("or `juju refresh` back rolls both units back (before the fix: a livelock asking for pre-upgrade-check)", () => {
    const world = toThird();
    world.model.refresh(OLD);
    world.model.noticeAll();
    settleResuming(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });
});
