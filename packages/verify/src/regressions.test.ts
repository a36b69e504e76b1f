import { describe, expect, it } from "vitest";
import { Recorder } from "./drive.js";
import { explore, formatViolations } from "./explore.js";
import type { WorldOptions } from "./world.js";
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
/**
 * A deployed world, planned (pre-upgrade-check on app/0, the leader) and refreshed to the new revision; on machines
 * every agent has noticed it unless `notice` is `false` (the scenario spreads the notices itself).
 */
function plannedAndRefreshed(options: WorldOptions, notice = true): World {
  const world = new World(options);
  world.settle();
  expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
  world.model.refresh(NEW);
  if (notice) world.model.noticeAll();
  return world;
}

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
 * FIXED `partition-recorded-before-held` (Kubernetes, issue 12.2), reproduced through the real adapter: the leader
 * recorded a partition as soon as it asked for it, so a patch the API server did not take (409, 429, 5xx after the
 * retries, a timeout) left a recorded partition the server never held, and the unit that asked was marked `failed`
 * (even an idle leader), halting a healthy roll; at pre-upgrade-check a plan was committed with a partition never
 * set. Planted again as `recordsUnheldPartition` (plantedBugs.ts): caught by `recorded-partition` and a livelock.
 *
 * Fix: the partition is recorded only once the API server holds it (`partitionSet`); a failure fails nobody, the next
 * hook moves it again, and the application status says so (`waiting`, or `blocked` with `juju trust` on a 403); an
 * action that meets one fails and changes nothing.
 */
/** As {@link settleResuming}, with time passing too: update-status on every unit whenever nothing else is due. */
function settleWithTime(world: World): void {
  for (let round = 0; round < 20; round++) {
    const before = world.snapshot();
    settleResuming(world);
    for (const id of [...world.model.units.keys()]) world.hook(id, { updateStatus: true });
    if (world.snapshot() === before) return;
  }
}

/** Take Juju's and the controller's steps in order until the API server's pending faults have all been met. */
function runUntilFaultsMet(world: World): void {
  for (let steps = 0; world.charm.partitionFaults.length && steps < 1_000; steps++) {
    const step = world.model.steps().find((next) => next.kind !== "update-status");
    if (!step) throw new Error("nothing due, and a fault still pending");
    if (step.kind === "hook") world.hook(step.unit);
    else world.take(step);
  }
}

describe("regression: partition-recorded-before-held", () => {
  /** Three units, leader app/0, planned and refreshed: the first request after this lowers the partition to 1. */
  function planned(pauseAfter: "none" | "first"): World {
    return plannedAndRefreshed({ units: 3, substrate: "k8s", leader: 0, pauseAfter });
  }

  it("pre-upgrade-check whose partition patch fails commits no plan, and runs again once the API server answers", () => {
    const world = new World({ units: 3, substrate: "k8s", leader: 0 });
    world.settle();
    world.charm.partitionFaults.push("throttled");
    const failed = world.action(0, "pre-upgrade-check");
    expect(failed.ok).toBe(false);
    expect(failed.message).toMatch(
      /^Could not set the StatefulSet partition to 2, so nothing was planned: The Kubernetes API .* is throttling the charm .*\. Run pre-upgrade-check again\.$/,
    );
    expect(world.observe().appData["upgrade-stack"]).toBeUndefined();
    expect(world.observe().appData["upgrade-partition"]).toBeUndefined();
    expect(units(world).map(([, state]) => state)).toEqual(["idle", "idle", "idle"]);
    expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
    expect(world.observe().appData["upgrade-partition"]).toBe("2");
    expect(world.model.partition).toBe(2);
  });

  it("a transient failure in a hook: nobody fails, the status says it retries, the next hook moves it, the roll ends", () => {
    const world = planned("none");
    world.charm.partitionFaults.push("unavailable");
    world.settle(); // app/2 upgrades; the leader's move to 1 fails, and nothing else is due
    expect(world.model.partition).toBe(2);
    expect(world.observe().appData["upgrade-partition"]).toBe("2");
    expect(world.observe().units.some((u) => u.state === "failed")).toBe(false);
    expect(world.model.appStatus.status).toBe("waiting");
    expect(world.model.appStatus.message).toMatch(/^Partition not moved to 1, retrying on the next hook: /);
    world.hook(0, { updateStatus: true }); // time passes: update-status moves it
    expect(world.model.partition).toBe(1);
    expect(world.observe().appData["upgrade-partition"]).toBe("1");
    settleResuming(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
      [2, "idle", "1.1.0"],
    ]);
  });

  it("a timed-out patch the API server applied anyway: the recorded partition stays the higher one until read back", () => {
    const world = planned("none");
    // the leader reads the partition back (answered), then patches it (timed out, applied)
    world.charm.partitionFaults.push("answered", "timeout");
    runUntilFaultsMet(world);
    // the server holds 1 (pod app-1 may restart), the leader still records 2: never below what the server holds
    expect(world.model.partition).toBe(1);
    expect(world.observe().appData["upgrade-partition"]).toBe("2");
    settleResuming(world);
    expect(units(world).map(([, state, workload]) => `${state}@${workload}`)).toEqual([
      "idle@1.1.0",
      "idle@1.1.0",
      "idle@1.1.0",
    ]);
  });

  it("resume-upgrade refused by the API server (403) fails the action, not the leader, and names juju trust", () => {
    const world = planned("first");
    world.settle(); // app/2 upgraded; the roll waits for resume-upgrade
    world.charm.partitionFaults.push("forbidden");
    const failed = world.action(0, "resume-upgrade");
    expect(failed.ok).toBe(false);
    expect(failed.message).toMatch(
      /^Could not set the StatefulSet partition to 1, so the upgrade did not resume: Not allowed to .* \(403 Forbidden\): run juju trust app --scope=cluster\. Run juju trust app --scope=cluster, then run resume-upgrade again\.$/,
    );
    expect(units(world)[0]?.[1]).toBe("idle");
    expect(world.observe().appData["upgrade-resumed"]).toBeUndefined();
    expect(world.model.partition).toBe(2);
    settleResuming(world);
    expect(units(world).map(([, state, workload]) => `${state}@${workload}`)).toEqual([
      "idle@1.1.0",
      "idle@1.1.0",
      "idle@1.1.0",
    ]);
  });
});

/**
 * FIXED `unchecked-refresh-restarts-every-pod` (Kubernetes, issue 12.5): `juju refresh` without pre-upgrade-check
 * left the partition at 0, so the StatefulSet restarted every pod on the new revision, one after the other. Planted
 * again as `stopHoldsNobody` (plantedBugs.ts): caught by `unchecked-refresh`.
 *
 * Fix: a pod stopping while no upgrade is planned raises the partition to its own number in its `stop` hook (as
 * charm-refresh does), so only the highest unit restarts; it waits, and the application status names the next step.
 */
describe("regression: unchecked-refresh-restarts-every-pod", () => {
  it("only the highest pod restarts; pre-upgrade-check then plans from it and the roll ends on the new revision", () => {
    const world = new World({ units: 3, substrate: "k8s", leader: 0 });
    world.settle();
    world.model.refresh(NEW);
    world.model.noticeAll();
    world.settle();
    expect(world.model.partition).toBe(2);
    expect(world.observe().units.map((u) => u.revision)).toEqual([OLD, OLD, NEW]);
    expect(world.model.appStatus.message).toMatch(
      /^juju refresh ran before pre-upgrade-check \(app\/2 on .*\): run pre-upgrade-check on app\/0$/,
    );
    expect(world.action(0, "pre-upgrade-check").ok).toBe(true);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
      [2, "idle", "1.1.0"],
    ]);
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

/**
 * FIXED (issue 12.7) `stale-dependencies-after-unplanned-refresh` (Kubernetes): a `juju refresh` made without
 * pre-upgrade-check once restarted every pod on the new revision with no roll to end, so the leader never stored the
 * new DEPENDENCIES and the next upgrade's version check compared against the old ones. A first fix stored them once
 * every unit ran the new charm at rest, and stalled later rolls (soak seeds 35, 176, 183). Since 12.5 the stop hook
 * holds the unchecked refresh at the highest pod, whose status asks for pre-upgrade-check; the roll that check plans
 * ends as every roll does, storing the new DEPENDENCIES.
 */
describe("regression: stale-dependencies-after-unplanned-refresh", () => {
  for (const units of [1, 2, 3]) {
    it(`${units} unit(s): the unchecked refresh asks for pre-upgrade-check, and the roll it plans stores the new DEPENDENCIES`, () => {
      const world = new World({ units, substrate: "k8s", leader: 0, twoStepUpgrades: false });
      world.settle();
      const stored = world.observe().appData.dependencies;
      expect(JSON.parse(stored ?? "null")).toEqual(world.charm.dependenciesOf(OLD));
      world.model.refresh(NEW);
      world.model.noticeAll();
      world.settle();
      const top = world.model.units.get(units - 1);
      expect(top?.status).toEqual({
        status: "blocked",
        message: "Run pre-upgrade-check on the leader to start the upgrade",
      });
      expect(world.observe().appData.dependencies).toBe(stored);
      expect(world.action(world.model.leader ?? 0, "pre-upgrade-check").ok).toBe(true);
      settleResuming(world);
      const end = world.observe();
      expect(end.units.map((u) => [u.state, u.workload])).toEqual(end.units.map(() => ["idle", "1.1.0"]));
      expect(JSON.parse(end.appData.dependencies ?? "null")).toEqual(world.charm.dependenciesOf(NEW));
    });
  }
});

/** Take the model's steps (hooks and the controller's) in order while `go` says so; `false` if nothing was due. */
function stepWhile(world: World, go: (step: ReturnType<World["model"]["steps"]>[number]) => boolean): void {
  for (let steps = 0; steps < 1_000; steps++) {
    const step = world.model.steps().find((next) => next.kind !== "update-status" && go(next));
    if (!step) return;
    if (step.kind === "hook") world.hook(step.unit);
    else if (step.kind !== "update-status") world.take(step);
  }
  throw new Error("no end within 1,000 steps");
}

/**
 * FIXED (issue 15) `refresh-back-drops-restarting-unit` (Kubernetes), found by `pnpm soak` (seed 651): the refresh
 * back reached the leader while the forward roll's last unit, released by the partition, was restarting onto the new
 * revision — its pod recreated, its upgrade-charm not run yet. Its record (idle, on the old charm) said it never
 * upgraded, so the rollback left it out, though it ran the new workload; its upgrade-charm then reported the new
 * charm outside the rollback's stack (`completed` on it), and the controller rolled it back unseen by the stack.
 *
 * Fix: in a Kubernetes rollback the leader puts back on the stack a unit that reports the charm the rollback leaves
 * (upgrading, completed or failed on it); it is popped once it completed on the old one. (No hook can know of the new
 * pod before its upgrade-charm: the invariant judges a restarting pod by what its unit recorded, as it does for
 * completions.)
 */
describe("regression: refresh-back-drops-restarting-unit", () => {
  /** 3 units, leader app/2, no pause: the roll reaches app/0, whose pod restarts; then `juju refresh` back. */
  function toRefreshBack(): World {
    const world = new World({ units: 3, substrate: "k8s", leader: 2, pauseAfter: "none", twoStepUpgrades: false });
    world.settle();
    expect(world.action(2, "pre-upgrade-check").ok).toBe(true);
    world.model.refresh(NEW);
    const restarting0 = () => world.observe().units[0]?.restarting === true;
    stepWhile(world, () => !(restarting0() && world.model.units.get(0)?.pod?.terminating === false));
    expect(world.observe().units[0]).toMatchObject({ state: "idle", pod: NEW, restarting: true });
    world.model.refresh(OLD);
    // Everything but app/0's hooks, until the leader turned the roll around.
    stepWhile(
      world,
      (step) => !(step.kind === "hook" && step.unit === 0) && world.model.appData["upgrade-rollback"] !== "true",
    );
    return world;
  }

  it("the scenario reaches the state the bug needs (a rollback whose stack leaves out app/0, restarting on the new revision)", () => {
    const world = toRefreshBack();
    const s = world.observe();
    expect(s.appData["upgrade-rollback"]).toBe("true");
    expect(JSON.parse(s.appData["upgrade-stack"] ?? "[]")).not.toContain(0);
    expect(s.units[0]).toMatchObject({ state: "idle", workload: "1.1.0", restarting: true });
  });

  it("app/0 goes back on the rollback's stack once its upgrade-charm reports the new charm, and is rolled back", () => {
    const world = toRefreshBack();
    stepWhile(
      world,
      (step) => step.kind === "hook" && step.unit === 0 && world.observe().units[0]?.restarting === true,
    );
    stepWhile(world, (step) => step.kind === "hook" && step.unit === 2);
    expect(JSON.parse(world.observe().appData["upgrade-stack"] ?? "[]")).toContain(0);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
      [2, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });
});

/**
 * FIXED (issue 15) `refresh-back-leaves-joined-unit` (machines), found by `pnpm soak` with scale-outs in refresh-back
 * runs (seed 724; the soak had left them out since seed 463): a unit added mid-roll installs the new revision and
 * sits idle on it (it takes no part in the roll). `juju refresh` back then reached it as it reaches a unit that never
 * upgraded: it went idle on the old charm, and the rollback left it alone — on the new workload for good.
 *
 * Fix: a unit that ran another charm than the roll's origin until its upgrade-charm (its databag recorded it) becomes
 * `ready` on the old charm, as an upgraded unit does, so the leader turns the roll around with it on the stack; a
 * rollback's stack takes in any unit recorded on another charm already.
 */
describe("regression: refresh-back-leaves-joined-unit", () => {
  /** 2 units, leader app/0, paused after app/1 upgraded; app/2 added on the new revision; then `juju refresh` back. */
  function toRefreshBack(): World {
    const world = plannedAndRefreshed({
      units: 2,
      substrate: "vm",
      leader: 0,
      pauseAfter: "first",
      twoStepUpgrades: false,
    });
    world.settle();
    const id = world.model.addUnit();
    world.charm.workloads.set(id, world.charm.versionOf(NEW));
    world.settle();
    world.model.refresh(OLD);
    return world;
  }

  it("the scenario reaches the state the bug needs (paused; app/2 joined idle on the new revision)", () => {
    const world = toRefreshBack();
    expect(units(world)).toEqual([
      [0, "ready", "1.0.0"],
      [1, "completed", "1.1.0"],
      [2, "idle", "1.1.0"],
    ]);
    expect(world.observe().units[2]?.revision).toBe(NEW);
  });

  for (const first of [1, 2]) {
    it(`the refresh back rolls the unit that joined back too (app/${first} notices it first)`, () => {
      const world = toRefreshBack();
      world.model.notice(first);
      stepWhile(world, (step) => step.kind === "hook" && step.unit === first);
      world.model.noticeAll();
      settleResuming(world);
      // before the fix: [2, "idle", "1.1.0"]
      expect(units(world)).toEqual([
        [0, "idle", "1.0.0"],
        [1, "idle", "1.0.0"],
        [2, "idle", "1.0.0"],
      ]);
      expect(world.model.appStatus).toEqual({ status: "active", message: "" });
    });
  }
});

/**
 * (issue 15) `refresh-back-after-the-last-unit` (Kubernetes), found by `pnpm soak` (seeds 1526, 2087, 2732, 2733, 4347,
 * 4726, 4904 stalled): `juju refresh` back while the roll's last unit upgrades, the partition already at 0. The last
 * unit completes on the new revision before any pod restarts onto the old template, so the roll ends (every unit
 * idle on the new charm, its records cleared); the refresh back then reaches the pods as a new `juju refresh` made
 * without pre-upgrade-check, which nothing a hook sees tells apart from it. It is held as one (issue 12.5): the
 * first pods to restart hold the others with the partition and ask for pre-upgrade-check, and the check plans the way
 * back. (The soak's operator ran it on machines only, and stalled.)
 */
describe("regression: refresh-back-after-the-last-unit", () => {
  /**
   * 3 units, leader app/2, no pause: the roll reaches app/0, granted; then `juju refresh` back. The charm observes
   * nothing of the pods (neither `observe` nor `unitRollout`): what the units recorded is all it goes by.
   */
  function toRefreshBack(): World {
    const world = toLastUnit({ observesPods: false, readsRollout: false });
    // app/0 completes and the roll ends before any pod restarts onto the old template.
    stepWhile(world, (step) => step.kind === "hook" && world.observe().appData["upgrade-from-charm"] !== undefined);
    return world;
  }

  /** The roll at its last unit, app/0's pod restarting on the new revision (the partition at 0); then `juju refresh` back. */
  function toLastUnit(charm: { readonly observesPods: boolean; readonly readsRollout: boolean }): World {
    const world = new World({
      units: 3,
      substrate: "k8s",
      leader: 2,
      pauseAfter: "none",
      twoStepUpgrades: false,
      ...charm,
    });
    world.settle();
    expect(world.action(2, "pre-upgrade-check").ok).toBe(true);
    world.model.refresh(NEW);
    // until app/0's pod was recreated on the new revision (its upgrade-charm to come)
    stepWhile(world, () => world.observe().units[0]?.pod !== NEW);
    expect(world.model.partition).toBe(0);
    expect(world.observe().units.map((u) => u.state)).toEqual(["idle", "completed", "completed"]);
    world.model.refresh(OLD);
    return world;
  }

  it("the scenario reaches the state the bug needs (the roll ended on the new revision, the template the old one)", () => {
    const world = toRefreshBack();
    const s = world.observe();
    // the leader closed the roll; the others end it at their next hook
    expect(s.units.map((u) => [u.state, u.revision])).toEqual([
      ["completed", NEW],
      ["completed", NEW],
      ["idle", NEW],
    ]);
    expect(s.appData["upgrade-from-charm"]).toBeUndefined();
    expect(s.charm).toBe(OLD);
  });

  it("the pods that restart hold the others and ask for pre-upgrade-check, which rolls every unit back", () => {
    const world = toRefreshBack();
    settleWithTime(world);
    expect(world.model.partition).toBeGreaterThan(0);
    expect(world.model.units.get(2)?.status).toEqual({
      status: "blocked",
      message: "Run pre-upgrade-check on the leader to start the upgrade",
    });
    expect(world.model.appStatus.message).toMatch(
      /^juju refresh ran before pre-upgrade-check \(.*\): run pre-upgrade-check on app\/2$/,
    );
    expect(world.action(2, "pre-upgrade-check").ok).toBe(true);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
      [2, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });

  it("a charm that observes its pod does not end the roll on an outdated pod: the refresh back turns it around", () => {
    const world = toLastUnit({ observesPods: true, readsRollout: false });
    // app/0 completes before any pod restarts: nobody ends the roll, its pods are not on the latest template.
    stepWhile(world, (step) => step.kind === "hook");
    const s = world.observe();
    expect(s.units.map((u) => [u.state, u.revision])).toEqual([
      ["completed", NEW],
      ["completed", NEW],
      ["completed", NEW],
    ]);
    expect(s.appData["upgrade-from-charm"]).toBe(`ch:amd64/jammy/app-${OLD}`);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
      [2, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });
  it("a charm that reads the rollout (`unitRollout`): the leader does not end the roll while pods are to restart", () => {
    const world = toLastUnit({ observesPods: false, readsRollout: true });
    // app/0 completes before any pod restarts: the leader keeps the roll open, every pod awaits the old template.
    stepWhile(world, (step) => step.kind === "hook");
    expect(world.model.unitRollout().pending).toEqual([0, 1, 2]);
    expect(world.observe().appData["upgrade-from-charm"]).toBe(`ch:amd64/jammy/app-${OLD}`);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
      [2, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });
});

/**
 * FIXED `refresh-forward-after-stopped-rollback` (issue 15.4; both substrates). Found by exploring `refreshBackPaused`
 * with a workload that cannot go back and the operator's refresh forward (`noDowngrade`, `refreshForward`), 2 units:
 *
 *   deploy 2 units, leader app/0; pre-upgrade-check; juju refresh (new); app/1 upgrades, the roll pauses
 *   juju refresh (old): app/1 receives it; its workload cannot go back -> the rollback stops before it
 *       = app/1 ready on the old charm, workload 1.1.0, "Refresh forward instead"
 *   juju refresh (new), as the status says
 *       = machines: app/1 "runs …app-2, not the charm the rollback returns to", the application "Rolling back …
 *         juju refresh app --revision 1"; Kubernetes: app/1's pod restarted on the new revision, waiting likewise
 *
 * Fix: the leader records the unit the rollback stopped before (`upgrade-rollback-stopped`) while it runs the origin;
 * seen on the roll's target again (and no unit still on the origin mid-rollback), the roll turns forward again.
 */
describe("regression: refresh-forward-after-stopped-rollback", () => {
  function toStopped(substrate: "vm" | "k8s"): World {
    const world = plannedAndRefreshed({ units: 2, substrate, leader: 0, noDowngrade: true });
    world.settle();
    world.model.refresh(OLD);
    world.model.noticeAll();
    world.settle();
    return world;
  }

  it.each(["vm", "k8s"] as const)(
    "%s: the scenario reaches the state the bug needs (the rollback stopped before app/1, on the old charm)",
    (substrate) => {
      const world = toStopped(substrate);
      const s = world.observe();
      // app/1's data is the new workload's (Kubernetes: its pod restarted on the old image, not handed to the charm)
      expect(s.units.map((u) => [u.id, u.state, u.revision, u.ran])).toEqual([
        [0, "idle", OLD, "1.0.0"],
        [1, "ready", OLD, "1.1.0"],
      ]);
      expect(s.units[1]?.databag["upgrade-no-downgrade"]).toMatch(/cannot go back/);
      expect(s.appData["upgrade-rollback"]).toBe("true");
      expect(s.appData["upgrade-rollback-stopped"]).toBe("1");
      expect(world.model.appStatus.message).toMatch(/^Rollback stopped at app\/1: .*Refresh forward instead$/);
    },
  );

  it.each(["vm", "k8s"] as const)(
    "%s: juju refresh forward then ends the upgrade on the new revision (before the fix: the rollback stayed)",
    (substrate) => {
      const world = toStopped(substrate);
      world.model.refresh(NEW);
      world.model.noticeAll();
      settleWithTime(world);
      expect(units(world)).toEqual([
        [0, "idle", "1.1.0"],
        [1, "idle", "1.1.0"],
      ]);
      const app = world.observe().appData;
      expect(app["upgrade-rollback"]).toBeUndefined();
      expect(app["upgrade-rollback-stopped"]).toBeUndefined();
      expect(world.model.appStatus).toEqual({ status: "active", message: "" });
    },
  );
});

/**
 * FIXED `skipped-upgrade-charm-stalls` (machines, issue 12; LP#2068500), found by a one-off sweep of the faults the
 * model has (docs/verification.md, "Faults from production and the model": 10 of 60 runs waited for ever), minimised
 * by exploring the upgrade with the fault (`faults: { skipUpgradeCharm: true }`), 2 units:
 *
 *   deploy 2 units, leader app/0; pre-upgrade-check (stack [0, 1]); juju refresh (new)
 *   app/0's next hook fails; Juju replaces its charm without upgrade-charm and retries the hook on the new charm
 *       = app/0 idle on charm 2, no upgrade-charm due; app/1 upgrades, completes and is popped; app/0 stays idle on
 *         top of the stack, and nothing grants it: a livelock (63 states)
 *
 * The same after a refresh back: a unit that completed gets the old charm without upgrade-charm, stays `completed`
 * on it, and the rollback the leader starts waits for it to be `ready` for ever.
 *
 * Fix: what a unit runs decides, not which hooks Juju sent it. A hook whose unit runs another charm than the one its
 * databag recorded, and that has no upgrade-charm among its events, takes one first (`missedUpgradeCharm` in
 * core/observed.ts; `hookSession`), reading what an upgrade-charm reads (`hookProgram`).
 */
describe("regression: skipped-upgrade-charm-stalls", () => {
  /** 2 units, leader app/0, planned and refreshed; then app/0's hook fails and its charm is replaced (LP#2068500). */
  function skipped(): World {
    const world = plannedAndRefreshed({ units: 2, substrate: "vm", leader: 0 }, false);
    world.failHook(0);
    world.model.refreshSkippingUpgradeCharm(0);
    return world;
  }

  it("the scenario reaches the state the bug needs (app/0 idle on the new charm, no upgrade-charm due, a hook to retry)", () => {
    const world = skipped();
    expect(world.model.units.get(0)?.agent.charm).toBe(NEW);
    expect(world.model.due(0).map((hook) => hook.name)).not.toContain("upgrade-charm");
    expect(world.model.units.get(0)?.agent.retry).not.toBeNull();
    expect(world.observe().units[0]).toMatchObject({ state: "idle", revision: NEW, restarting: true });
  });

  it("the unit takes the upgrade-charm Juju did not send in its retried hook, and the roll ends upgraded", () => {
    const world = skipped();
    const run = new Recorder(world);
    run.planned = true;
    expect(run.toEnd()).toBe(true);
    expect(run.breaches).toEqual([]);
    // before the fix: app/0 stayed idle on 1.0.0 with the stack [0]
    expect(run.units()).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
    ]);
    expect(world.model.appData["upgrade-stack"]).toBe("[]");
    expect(world.model.logs.get("app/0")?.map((line) => line.message)).toContainEqual(
      "Juju replaced this unit's charm (ch:amd64/jammy/app-1 -> ch:amd64/jammy/app-2) without upgrade-charm (LP#2068500): handled as upgrade-charm",
    );
  });

  it("after a refresh back: a completed unit that gets the old charm without upgrade-charm is rolled back", () => {
    const world = plannedAndRefreshed({ units: 2, substrate: "vm", leader: 0 });
    world.settle();
    // paused after the first unit (the default policy): app/1 upgraded, app/0 waits
    expect(units(world)).toEqual([
      [0, "ready", "1.0.0"],
      [1, "completed", "1.1.0"],
    ]);
    world.model.refresh(OLD);
    world.failHook(1);
    world.model.refreshSkippingUpgradeCharm(1);
    const run = new Recorder(world);
    run.planned = true;
    expect(run.toEnd()).toBe(true);
    expect(run.breaches).toEqual([]);
    expect(run.units()).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
  });

  it("exhaustive: the upgrade, and a refresh back while paused, on machines with 2 units and the fault at any point: every invariant kept, always an end", () => {
    const faults = { duplicate: false, leaderChange: false, skipUpgradeCharm: true };
    // before the fix: a livelock (the shortest trace is the one above)
    expect(formatViolations(explore({ units: 2, substrate: "vm", scenario: "upgrade", faults }))).toBe(
      "upgrade on vm with 2 units: no violation",
    );
    expect(formatViolations(explore({ units: 2, substrate: "vm", scenario: "refreshBackPaused", faults }))).toBe(
      "refreshBackPaused on vm with 2 units: no violation",
    );
  });
});

/**
 * FIXED (issue 15) `refresh-back-meets-unseen-restart` (Kubernetes), found by exploring `refreshBack` at N = 2 with a
 * leadership change (`faults: { duplicate: false, leaderChange: true }`: 517,198 states, 2 violations). Both need a
 * pod that restarted before its unit ran any hook, which no databag shows:
 *
 *   (a) livelock: resume-upgrade lets app/0 through; its pod restarts onto the new revision (upgrade-charm not run yet)
 *       juju refresh back; app/1's pod restarts on the old revision and completes there; app/1 becomes the leader
 *       app/1 turns the roll around (app/0 idle on the old charm by its record: left alone) and ends it at once
 *       pre-upgrade-check on app/1: the partition to 1, above app/0's pod, which stays on the new revision for good
 *   (b) `partition`: the roll ends on the new revision as the late refresh back reaches the pods (the partition at 0)
 *       app/1's pod restarts on the old revision, then app/0's, whose unit has not run a hook; app/1 becomes the leader
 *       pre-upgrade-check on app/1: the partition to 1, above app/0's pod already on the revision rolled out
 *
 * Fix: the charm reads where the rollout stands (`unitRollout`, `JujuModel.unitRollout()`): pre-upgrade-check sets the
 * partition no higher than a pod off the StatefulSet's current revision, and the leader does not close a roll while
 * the controller still has a pod to restart (the other units stay `completed` until it closes, so a late refresh back
 * turns the roll around when their pods restart). A charm without `unitRollout` still meets both.
 */
describe("regression: refresh-back-meets-unseen-restart", () => {
  /** 2 units, leader app/0, pause `first`: app/1 upgrades, resume-upgrade, app/0's pod deleted and its stop run. */
  function toSecondPod(readsRollout: boolean): World {
    const world = plannedAndRefreshed({ units: 2, substrate: "k8s", leader: 0, readsRollout }, false);
    world.take({ kind: "pod-delete", unit: 1 });
    for (let i = 0; i < 3; i++) world.hook(1); // stop, upgrade-charm, config-changed: completed
    world.hook(0); // the leader pops app/1
    world.take({ kind: "pod-ready", unit: 1 });
    expect(world.action(0, "resume-upgrade").ok).toBe(true);
    world.take({ kind: "pod-delete", unit: 0 });
    world.hook(0); // stop: app/0's pod is recreated on the new revision, its upgrade-charm to come
    expect(world.observe().units[0]).toMatchObject({ state: "idle", pod: NEW, restarting: true });
    return world;
  }

  /** (a) up to the new leader's first hook after the refresh back. */
  function toNewLeader(readsRollout: boolean): World {
    const world = toSecondPod(readsRollout);
    world.model.refresh(OLD);
    world.take({ kind: "pod-delete", unit: 1 });
    world.hook(1); // upgrade-charm on the old revision
    world.hook(1); // config-changed: completed there
    world.model.setLeader(1);
    world.hook(1); // start: it did not lead in its last hook, so it acts as a follower until leader-elected (issue 14)
    world.hook(1); // leader-elected, as the leader
    return world;
  }

  it("(a) the scenario reaches the state the bug needs (a charm that cannot read the rollout)", () => {
    const world = toNewLeader(false);
    const s = world.observe();
    expect(s.appData["upgrade-from-charm"]).toBeUndefined();
    expect(s.units.map((u) => [u.state, u.pod])).toEqual([
      ["idle", NEW],
      ["idle", OLD],
    ]);
    expect(world.model.unitRollout().pending).toEqual([0]);
    expect(world.action(1, "pre-upgrade-check").ok).toBe(true);
    expect(world.model.partition).toBe(1); // above app/0, whose pod stays on the new revision
  });

  it("(a) the new leader keeps the rollback open until app/0's pod is back, and the units end on the old revision", () => {
    const world = toNewLeader(true);
    expect(world.observe().appData["upgrade-from-charm"]).toBe(`ch:amd64/jammy/app-${OLD}`);
    // pre-upgrade-check is refused meanwhile: the roll is not over
    expect(world.action(1, "pre-upgrade-check").ok).toBe(false);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
    expect(world.observe().appData["upgrade-from-charm"]).toBeUndefined();
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });

  /** (b) app/0 upgrading when the refresh back comes; it completes and the leader pops it. */
  function toLateRefreshBack(readsRollout: boolean): World {
    const world = toSecondPod(readsRollout);
    world.hook(0); // upgrade-charm: upgrading
    world.take({ kind: "pod-ready", unit: 0 });
    world.model.refresh(OLD);
    world.hook(0); // config-changed: completed, popped
    return world;
  }

  it("(b) the scenario reaches the state the bug needs (a charm that cannot read the rollout)", () => {
    const world = toLateRefreshBack(false);
    expect(world.observe().appData["upgrade-from-charm"]).toBeUndefined(); // the roll ended on the new revision
    world.take({ kind: "pod-delete", unit: 1 });
    for (let i = 0; i < 3; i++) world.hook(1);
    world.take({ kind: "pod-ready", unit: 1 });
    world.take({ kind: "pod-delete", unit: 0 }); // app/0's pod restarts on the old revision, no hook run yet
    world.model.setLeader(1);
    const before = world.snapshot();
    expect(world.action(1, "pre-upgrade-check").ok).toBe(true);
    expect(world.model.partition).toBe(1);
    expect(world.observe().units[0]?.pod).toBe(OLD);
    // The same check by a charm that reads the rollout sets the partition no higher than app/0's pod.
    const reading = new World({ units: 2, substrate: "k8s", leader: 0 });
    reading.restore(before);
    expect(reading.action(1, "pre-upgrade-check").ok).toBe(true);
    expect(reading.model.partition).toBe(0);
  });

  it("(b) the leader keeps the roll open as the late refresh back restarts the pods, which turns it around", () => {
    const world = toLateRefreshBack(true);
    expect(world.observe().appData["upgrade-from-charm"]).toBe(`ch:amd64/jammy/app-${OLD}`);
    world.model.setLeader(1);
    settleWithTime(world);
    expect(units(world)).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
    expect(world.model.appStatus).toEqual({ status: "active", message: "" });
  });
});

/**
 * FIXED `crashed-grant-then-refresh-back` (machines, issues 12 and 15): a grant's hook fails after its work, then the
 * operator refreshes back. Found by an engineer combining two faults the soak had apart (its `crash`, and refresh
 * back), 2 units:
 *
 *   deploy 2 units, leader app/0; pre-upgrade-check (stack [0, 1]); juju refresh (new)
 *   app/1 runs upgrade-charm: ready, granted (on top), its charm upgrades the workload to 1.1.0 — and the hook FAILS
 *       (Juju discards its relation writes: app/1 stays `idle` on record; the hook is retried)
 *   juju refresh (old): app/0 gets the old charm (idle: never upgraded); app/1's retried hook on the new charm waits
 *       for app/0 (ready, workload 1.1.0); then app/1 gets the old charm: `ready` on it and never upgraded on record
 *       = app/1 idle on charm 1 running workload 1.1.0, the roll closed: never rolled back
 *
 * Fix: what the workload runs decides, not what the unit recorded. A unit that says it never upgraded (idle, ready)
 * and receives the charm the roll came from while its charm reports another workload version than that charm installs
 * (`workloadAhead` in core/observed.ts) is handled as an upgraded unit: `ready` on the old charm, which the leader
 * rolls back. It needs the charm's `workloadVersion()` (the simulated charm reports what it installed).
 */
describe("regression: crashed-grant-then-refresh-back", () => {
  /** 2 units, leader app/0, planned and refreshed; app/1's first grant's hook crashes after upgrading its workload. */
  function crashedGrant(): World {
    const world = plannedAndRefreshed({ units: 2, substrate: "vm", leader: 0 });
    world.hook(0); // the leader's upgrade-charm: ready
    const crashed = world.hook(1, {}, "crashed"); // app/1's upgrade-charm: granted, upgrades, then fails
    expect(crashed.run.hook.name).toBe("upgrade-charm");
    expect(crashed.result?.effects.map((effect) => effect.type)).toContain("grantUpgrade");
    return world;
  }

  it("the scenario reaches the state the bug needs (app/1 idle on record, its workload upgraded, its hook to retry)", () => {
    const world = crashedGrant();
    expect(units(world)).toEqual([
      [0, "ready", "1.0.0"],
      [1, "idle", "1.1.0"],
    ]);
    expect(world.model.units.get(1)?.agent.retry?.name).toBe("upgrade-charm");
  });

  it("after a refresh back, the unit whose grant's hook failed is rolled back", () => {
    const world = crashedGrant();
    world.model.refresh(OLD);
    const run = new Recorder(world);
    run.planned = true;
    expect(run.toEnd()).toBe(true);
    expect(run.breaches).toEqual([]);
    // before the fix: [1, "idle", "1.1.0"] — on the old charm, never rolled back
    expect(run.units()).toEqual([
      [0, "idle", "1.0.0"],
      [1, "idle", "1.0.0"],
    ]);
    expect(world.observe().units.map((unit) => unit.revision)).toEqual([OLD, OLD]);
    expect(world.model.logs.get("app/1")?.map((line) => line.message)).toContainEqual(
      "app/1 runs workload 1.1.0, not the 1.0.0 ch:amd64/jammy/app-1 installs, though it recorded ready: its upgrade's hook failed after the upgrade (Juju discarded its record); rolled back as an upgraded unit",
    );
  });

  it("without a refresh back, the retried grant's hook on the same charm ends the roll upgraded", () => {
    const world = crashedGrant();
    const run = new Recorder(world);
    run.planned = true;
    expect(run.toEnd()).toBe(true);
    expect(run.breaches).toEqual([]);
    expect(run.units()).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
    ]);
    expect(world.model.appData["upgrade-stack"]).toBe("[]");
  });

  it("exhaustive: a refresh back on machines with 2 units and a grant's hook failing after its work at any point: every invariant kept, always an end", () => {
    // One-step grants (the charm answers `completed` in the granting hook, whose failure discards it): the same
    // failure, in a third of the states of two-step grants.
    const faults = { duplicate: false, leaderChange: false, crashGrant: true };
    const result = explore({ units: 2, substrate: "vm", scenario: "refreshBack", faults, asyncUpgrades: false });
    // before the fix: a livelock (294 states; the shortest trace is the one above, the refresh back before the crash)
    expect(formatViolations(result)).toBe("refreshBack on vm with 2 units: no violation");
  });
});

/**
 * FIXED `crashed-grant-on-second-refresh` (machines, issues 12 and 15): a unit completed the roll's revision, then a
 * `juju refresh` to a third revision reached it before the leader popped it; its grant's hook on the third upgraded
 * the workload and failed. Found by exploring `secondRefresh` with the fault (`faults.crashGrant`, 2 units):
 *
 *   deploy 2 units, leader app/0; pre-upgrade-check (stack [0, 1]); juju refresh (r2)
 *   app/0 ready; app/1 granted, completed on r2 (1.1.0); juju refresh (r3) before app/0 pops app/1
 *   app/1's upgrade-charm on r3: ready, granted (no target recorded yet: r3 is taken as it), its charm installs 1.2.0,
 *       and the hook FAILS (Juju discards its writes: app/1 still says completed on r2; the hook is retried)
 *   app/0 pops app/1 (completed, as recorded) and records r2 as the target; app/1's retry on r3 is refused (a third
 *       charm); app/0 completes r2; the operator refreshes to r2 as the statuses say
 *       = app/1 completed on r2 running workload 1.2.0: the roll ends, app/1 never upgraded again
 *
 * Fix: a unit that recorded `completed`, receives the roll's target and whose workload reports another version than
 * that charm installs is not done (`completedOnOtherWorkload` in core/observed.ts): `ready` again, and the leader puts
 * it back on the stack even once it emptied (`readyOffStack`). The leader's pop itself was right (it sees the record
 * only): the invariant `stack-lost` now judges a unit whose charm was replaced without a committed hook by the charm
 * it runs too.
 */
describe("regression: crashed-grant-on-second-refresh", () => {
  /** The trace above up to the leader's pop of app/1, checked step by step. */
  function popped(): Recorder {
    const world = new World({ units: 2, substrate: "vm", leader: 0 });
    world.settle();
    const run = new Recorder(world);
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    world.model.refresh(NEW);
    world.model.notice(0);
    run.hook(0); // upgrade-charm: ready
    world.model.notice(1);
    run.hook(1); // upgrade-charm: granted
    run.hook(1); // completed
    world.model.refresh(THIRD);
    world.model.notice(1);
    const crashed = run.step(1, () => world.hook(1, {}, "crashed")); // upgrade-charm on r3: granted, then fails
    expect(crashed.run.hook.name).toBe("upgrade-charm");
    expect(crashed.result?.effects.map((effect) => effect.type)).toContain("grantUpgrade");
    run.hook(0); // the leader pops app/1
    return run;
  }

  it("the scenario reaches the state the bug needs (app/1 popped as completed on r2, running r3's workload)", () => {
    const run = popped();
    expect(run.units()).toEqual([
      [0, "ready", "1.0.0"],
      [1, "completed", "1.2.0"],
    ]);
    const seen = run.observe();
    expect(seen.units.map((unit) => unit.revision)).toEqual([NEW, THIRD]);
    expect(seen.units[1]?.databag["upgrade-running-charm"]).toBe("ch:amd64/jammy/app-2");
    expect(seen.appData["upgrade-stack"]).toBe("[0]");
    expect(seen.appData["upgrade-to-charm"]).toBe("ch:amd64/jammy/app-2");
    expect(run.world.model.units.get(1)?.agent.retry?.name).toBe("upgrade-charm");
    // before the fix: stack-lost (the leader's pop, judged by the revision app/1 recorded only)
    expect(run.breaches).toEqual([]);
  });

  it("once the operator refreshes to the roll's target, the unit whose grant's hook failed is upgraded again", () => {
    const run = popped();
    expect(run.action(0, "resume-upgrade").ok).toBe(true); // app/0 granted (pause-after-unit-upgrade=first)
    run.hook(1); // app/1's retried upgrade-charm on r3: refused, a third charm
    expect(run.units()[1]).toEqual([1, "completed", "1.2.0"]);
    expect(run.toEnd()).toBe(true); // app/0 completes r2, then receives r3 too (refused)
    expect(run.units()).toEqual([
      [0, "completed", "1.1.0"],
      [1, "completed", "1.2.0"],
    ]);
    const { world } = run;
    world.model.refresh(NEW); // as the statuses say
    expect(run.toEnd()).toBe(true);
    expect(run.breaches).toEqual([]);
    // before the fix: [1, "idle", "1.2.0"] — on r2, never upgraded again
    expect(run.units()).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
    ]);
    expect(run.observe().units.map((unit) => unit.revision)).toEqual([NEW, NEW]);
    expect(world.model.logs.get("app/1")?.map((line) => line.message)).toContainEqual(
      "app/1 recorded completed but runs workload 1.2.0, not the 1.1.0 ch:amd64/jammy/app-2 installs: not done; it upgrades again",
    );
  });

  it("exhaustive: a refresh to a third revision on machines with 2 units and a grant's hook failing after its work at any point: every invariant kept, always an end", () => {
    // Two-step grants (the livelock needs them: with one-step grants only the stack-lost shows), no pause (the
    // operator's resume-upgrade would add half again as many states): 200,370 states.
    const faults = { duplicate: false, leaderChange: false, crashGrant: true };
    const result = explore({ units: 2, substrate: "vm", scenario: "secondRefresh", faults, pauseAfter: "none" });
    // before the fix: stack-lost and a livelock (170 states; the shortest traces are the one above)
    expect(formatViolations(result)).toBe("secondRefresh on vm with 2 units: no violation");
  });
});
