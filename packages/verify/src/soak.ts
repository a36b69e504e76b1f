import { fork } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Substrate } from "@charm-upgrade/core";
import type { Random } from "@charm-upgrade/core/testing";
import { createRandom } from "@charm-upgrade/core/testing";
import { HookMemo, PARTITION_FAULTS } from "@charm-upgrade/sim";
import type { Breach, InvariantName } from "./invariants.js";
import { describeState, isEnd, revisionOf, stateBreaches, stepBreaches } from "./invariants.js";
import type { Reducer } from "./memoReduce.js";
import { memoReduce } from "./memoReduce.js";
import { argument } from "./argv.js";
import type { WorldSnapshot } from "./world.js";
import { NEW, OLD, THIRD, World } from "./world.js";

/**
 * Fault campaigns: many seeded random upgrades on the one model of Juju, every hook running the adapter that
 * ships, each run a pure function of its seed — with crashed hooks, relation hooks run twice or out of their
 * usual order, leadership changes, a failing unit and the rollback that follows, scale-out and scale-in in the middle
 * of the upgrade, `juju refresh` before pre-upgrade-check (the operator runs the check once the model is quiet), and
 * on Kubernetes the API server failing partition requests (409, 429, 503, a timed-out patch that was applied, 403);
 * on machines a unit whose hook failed getting the new charm without `upgrade-charm` (LP#2068500);
 * the operator's `juju refresh` back mid-roll (issue 15), or to a third revision mid-roll and then what the statuses
 * say (issue 12.4); on Kubernetes evicted pods (12.1) and a partition changed outside the library (`kubectl patch`,
 * 12.4). Every step is checked against the same safety invariants as the exhaustive
 * exploration, and every run must end: every unit idle on the new revision, or (after a failure) idle on the old.
 *
 * `pnpm soak [--runs 100000] [--first-seed 1] [--workers 2] [--write-doc]`; `pnpm soak --seed 1234` replays one run,
 * verbosely. `--write-doc` records the summary in docs/verification.md. Evicted pods and a partition patched by hand
 * are injected on Kubernetes (`--no-evictions`, `--no-partition-edits` leave them out), charms replaced without
 * `upgrade-charm` on machines (`--no-skipped-upgrade-charm`).
 *
 * @module
 */

/** How one run is set up: every field is drawn from the run's seed. */
export interface RunSetup {
  readonly seed: number;
  readonly units: number;
  readonly substrate: Substrate;
  readonly leader: number;
  readonly asyncUpgrades: boolean;
  readonly pauseAfter: "none" | "first" | "all" | undefined;
  /** The unit whose upgrade fails, if any (its failure is followed by a rollback). */
  readonly failing: number | null;
  /** Chance that a hook crashes (its writes are discarded; Juju retries it first). */
  readonly crash: number;
  /** Chance that a relation-changed runs twice (its agent died before recording it). */
  readonly duplicate: number;
  /** Chance that a unit runs its relation hooks out of their usual order (late watchers). */
  readonly reorder: number;
  readonly leaderChanges: number;
  readonly scaleOuts: number;
  readonly scaleIns: number;
  /** `juju refresh` comes before pre-upgrade-check (the check runs once the model is quiet). */
  readonly unchecked: boolean;
  /** Kubernetes: how many partition requests the API server fails (each of a random kind, at a random time). */
  readonly apiFaults: number;
  /** The operator runs `juju refresh` back to the old revision at some point mid-roll, without pre-upgrade-check. */
  readonly refreshBack: boolean;
  /**
   * The operator runs `juju refresh` to a third revision mid-roll; once the roll is at rest, what the statuses say:
   * `juju refresh` to the roll's target or back to its origin (either, at random).
   */
  readonly thirdRefresh: boolean;
  /** Kubernetes: pods evicted (OOM-killed, drained) at random moments; each comes back on its ordinal's revision. */
  readonly evictions: number;
  /** Kubernetes: times someone sets the StatefulSet's partition by hand (`kubectl patch`) mid-roll. */
  readonly partitionEdits: number;
  /** Kubernetes: the charm observes its pod (`observe`): a unit whose pod is not on the latest template is not done. */
  readonly observesPods: boolean;
  /**
   * Machines: times a unit's hook fails and Juju then replaces its charm with the application's without
   * `upgrade-charm`, the failed hook retried on it (LP#2068500; `juju refresh --force-units` from an error).
   */
  readonly skippedUpgradeCharms: number;
  /**
   * The library the deployed revision runs: `python` makes the refresh the migration refresh from
   * `charms.data_platform_libs.v0.upgrade` (issue 12.6). Only without a failing unit: the rollback would return to
   * the Python library, whose own bugs (data-platform-libs #145) are not this library's to hold.
   */
  readonly oldLibrary: "charm-upgrade" | "python";
}

/** What one run did. */
export interface RunReport {
  readonly setup: RunSetup;
  /** Hooks, actions and other steps taken. */
  readonly steps: number;
  readonly crashes: number;
  /** `upgraded` or `rolledBack` when the run ended well; otherwise why it did not end. */
  readonly outcome: "upgraded" | "rolledBack" | "restored" | "stuck" | "too long";
  /** Breaches of the safety invariants (the first few), and of liveness (`stuck`, `too long`). */
  readonly failures: readonly Breach[];
  /** Units that left the stack without completing, and stacks that listed a unit twice. */
  readonly lost: number;
  readonly duplicated: number;
  /** With `verbose`: every step and the state after it. */
  readonly log: readonly string[];
}

/** Draw a run's setup from its seed. */
export function setupOf(seed: number): RunSetup {
  const random = createRandom(seed);
  const units = 1 + random.int(7);
  const substrate = random.pick<Substrate>(["vm", "k8s"]);
  const leader = random.int(units);
  const asyncUpgrades = random.chance(0.5);
  const pauseAfter = random.pick([undefined, "none", "first", "all"] as const);
  const failing = random.chance(0.35) ? random.int(units) : null;
  const crash = random.pick([0, 0.02, 0.1]);
  const duplicate = random.pick([0, 0.05, 0.2]);
  const reorder = random.pick([0, 0.05, 0.2]);
  const leaderChanges = random.int(3);
  const scaleOuts = random.chance(0.3) ? 1 + random.int(2) : 0;
  const scaleIns = random.chance(0.3) && units > 1 ? 1 + random.int(Math.min(2, units - 1)) : 0;
  const unchecked = random.chance(0.2);
  const apiFaults = substrate === "k8s" && random.chance(0.4) ? 1 + random.int(3) : 0;
  const oldLibrary: RunSetup["oldLibrary"] = random.chance(0.3) && failing === null ? "python" : "charm-upgrade";
  const setup = {
    seed,
    units,
    substrate,
    leader,
    asyncUpgrades,
    pauseAfter,
    failing,
    crash,
    duplicate,
    reorder,
    // Kubernetes, from the Python library: a unit that becomes leader while it still runs the Python library never
    // pops a unit that completed before (the library does not observe leader-elected, and nothing writes again to
    // send it relation-changed), so its resume-upgrade refuses for good: the Python library's own stall.
    leaderChanges: oldLibrary === "python" && substrate === "k8s" ? 0 : leaderChanges,
    scaleOuts,
    // The Python library's own failures on a scale-in, which this library cannot prevent (docs/migration.md says
    // what to do). Kubernetes: its leader's resume-upgrade refuses for good once a unit has left
    // (`len(stack) != len(peers)`, L838), and while it leads nothing else lowers the partition. Machines: a unit
    // still on the Python revision when a stacked unit leaves raises `KeyError` in relation-changed
    // (data-platform-libs #191, upstream-behaviour.md item 1; soak seed 3424); in error, it is not refreshed until
    // the operator resolves it (juju/juju `worker/uniter/resolver.go` `nextOpHookError`).
    scaleIns: oldLibrary === "python" ? 0 : scaleIns,
    // The migration is planned by the Python library before the refresh, with an API server that answers: its
    // failure handling (a unit failed for a refused patch) is its own.
    unchecked: oldLibrary === "python" ? false : unchecked,
    apiFaults: oldLibrary === "python" ? 0 : apiFaults,
    oldLibrary,
  };
  // Drawn after the rest, so that adding them left every earlier seed's setup as it was.
  const refresh = random.pick(["none", "none", "none", "back", "third"] as const);
  return {
    ...setup,
    // Not from the Python library: a refresh back would return the roll to it (its own bugs are not ours to hold).
    refreshBack: refresh === "back" && setup.oldLibrary !== "python",
    // On both substrates (issue 12.4: on Kubernetes a third revision that reaches the pods as the roll ends restarts them
    // while the StatefulSet's current revision is still the first; the leader reads which pods restarted, `unitRollout`,
    // and sets no partition above them — soak seed 441, explore.test's secondRefresh on k8s).
    thirdRefresh: refresh === "third" && setup.oldLibrary !== "python",
    evictions: evictionsOf(random, substrate, setup.oldLibrary),
    // Not from the Python library either: its leader never reads the partition back (seeds 607, 909). The draw is
    // made whatever the library, so that every later one is too.
    partitionEdits: substrate === "k8s" && random.chance(0.2) && setup.oldLibrary !== "python" ? 1 : 0,
    // Drawn last, as the two above: half the Kubernetes charms observe their pod (`observe`), as the guide advises.
    observesPods: substrate === "k8s" && random.chance(0.5),
    // Drawn after everything else, whatever the substrate and library (so every earlier draw is as it was): a
    // quarter of the machine runs. Not from the Python library: its units record no charm, so nothing can tell that
    // the charm changed without upgrade-charm (docs/verification.md).
    skippedUpgradeCharms: skipsOf(random, substrate, setup.oldLibrary),
  };
}

/**
 * Kubernetes: how many pods a run evicts (drawn the same whatever the library, so that every later draw is too).
 * None from the Python library: a pod of the old revision restarted mid-migration runs `upgrade-charm` on it, which
 * marks the unit `upgrading` whenever a stack is set (upstream-behaviour.md, its transition table: "any pod restart
 * with a stale stack does this"; LP#2021891), then `completed` on the old workload — the Python library's own bug,
 * which the charm-upgrade leader cannot see through (soak seeds 1399, 1556, 1647, 1738: `done-on-old`).
 */
function evictionsOf(random: Random, substrate: Substrate, oldLibrary: RunSetup["oldLibrary"]): number {
  const evictions = substrate === "k8s" && random.chance(0.3) ? 1 + random.int(2) : 0;
  return oldLibrary === "python" ? 0 : evictions;
}

/** Machines: how many times a run replaces a unit's charm without upgrade-charm (see `RunSetup.skippedUpgradeCharms`). */
function skipsOf(random: Random, substrate: Substrate, oldLibrary: RunSetup["oldLibrary"]): number {
  const skips = random.chance(0.25) ? 1 + random.int(2) : 0;
  return substrate === "vm" && oldLibrary !== "python" ? skips : 0;
}

/** Which of the faults of issue 12 a campaign injects, where a run's setup draws them. */
export interface SoakFaults {
  /** Evicted pods (12.1); default `true`. */
  readonly evictions?: boolean;
  /** A partition patched by hand (12.4); default `true`. */
  readonly partitionEdits?: boolean;
  /** Machines: a charm replaced without upgrade-charm on a unit whose hook failed (LP#2068500); default `true`. */
  readonly skippedUpgradeCharms?: boolean;
}

/** A copy of `items` in a random order (Fisher–Yates). */
function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What runs share within one process: a memoised `reduce` and a cache of whole hooks, both bounded. */
let shared: { reduce: Reducer; memo: HookMemo } | null = null;

/** Settled deployments by configuration: deploying has no faults, so it is done once per configuration. */
const deployments = new Map<string, WorldSnapshot>();

/**
 * Run one seeded upgrade (and the rollback, when a unit fails), checking every invariant at every step.
 *
 * @example
 * ```ts
 * const report = soakRun(1234);
 * if (report.failures.length) console.log(report.setup, report.failures);
 * ```
 */
export function soakRun(
  seed: number,
  options: {
    readonly verbose?: boolean;
    readonly reduce?: Reducer;
  } & SoakFaults = {},
): RunReport {
  const setup = setupOf(seed);
  const random: Random = createRandom(seed ^ 0x5bd1e995);
  if (!options.reduce && !shared) shared = { reduce: memoReduce(undefined, 100_000), memo: new HookMemo(200_000) };
  const world = new World({
    units: setup.units,
    substrate: setup.substrate,
    leader: setup.leader,
    reduce: options.reduce ?? shared?.reduce,
    memo: options.reduce ? new HookMemo() : shared?.memo,
    twoStepUpgrades: setup.asyncUpgrades,
    pauseAfter: setup.pauseAfter,
    oldLibrary: setup.oldLibrary,
    observesPods: setup.observesPods,
  });
  const { model, charm } = world;
  const { substrate } = setup;
  const versionOf = (revision: number) => charm.versionOf(revision);
  const log: string[] = [];
  const failures: Breach[] = [];
  let lost = 0;
  let duplicated = 0;
  let steps = 0;
  let crashes = 0;
  let planned = false;
  let partitionFaulted = false;
  const budget = {
    leaderChanges: setup.leaderChanges,
    scaleOuts: setup.scaleOuts,
    scaleIns: setup.scaleIns,
    crashes: 25,
    apiFaults: setup.apiFaults,
    evictions: options.evictions === false ? 0 : setup.evictions,
    partitionEdits: options.partitionEdits === false ? 0 : setup.partitionEdits,
    skippedUpgradeCharms: options.skippedUpgradeCharms === false ? 0 : setup.skippedUpgradeCharms,
  };
  const describe = () => describeState(world.observe(), substrate, (id) => model.nextHook(id)?.name ?? "");
  const note = (line: string) => {
    if (options.verbose) log.push(line, `  = ${describe()}`);
  };
  const step = (what: string, unit: number | null, act: () => void) => {
    const before = world.observe();
    steps++;
    world.takeTrace();
    try {
      act();
    } catch (error) {
      world.takeTrace();
      failures.push({
        invariant: "hook-error",
        message: `step ${steps} (${what}): ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    const after = world.observe();
    const trace = world.takeTrace();
    const breaches = [
      ...stepBreaches({
        substrate,
        before,
        after,
        ...trace,
        unit,
        planned,
        partitionFaulted,
        newRevision: NEW,
        versionOf,
      }),
      ...stateBreaches(after, substrate),
    ];
    for (const breach of breaches) {
      if (breach.invariant === "stack-lost") lost++;
      if (breach.invariant === "stack-duplicate") duplicated++;
      if (failures.length < 5)
        failures.push({ invariant: breach.invariant, message: `step ${steps} (${what}): ${breach.message}` });
    }
    note(what);
  };
  const leader = () => model.leader ?? 0;

  // Deploy and settle (no faults yet: as the exploration does, in the model's order), then plan and refresh.
  // (The pause policy and how the charm answers grants play no part before the first grant.)
  const deployment = `${setup.units}/${substrate}/${setup.leader}/${setup.pauseAfter ?? "-"}/${setup.oldLibrary}/${options.reduce ? "custom" : "core"}`;
  const settled = deployments.get(deployment);
  if (settled) world.restore(settled);
  else {
    world.settle();
    deployments.set(deployment, world.snapshot());
  }
  world.takeTrace();
  note(`deployed ${setup.units} units on ${substrate}: ${JSON.stringify(setup)}`);
  /** pre-upgrade-check on the leader; a refusal is a breach unless a partition request was failed on purpose. */
  const check = (when: string) => {
    step(`pre-upgrade-check on app/${leader()}${when}`, leader(), () => {
      const outcome = world.action(leader(), "pre-upgrade-check");
      if (outcome.ok) planned = true;
      else if (!partitionFaulted) throw new Error(`pre-upgrade-check refused: ${outcome.message}`);
      else note(`pre-upgrade-check failed on the API fault: ${outcome.message}`);
    });
    if (planned && setup.failing !== null) charm.failing = new Set([setup.failing]);
  };
  if (setup.unchecked) step("juju refresh to new, without pre-upgrade-check", null, () => model.refresh(NEW));
  else {
    check("");
    step("juju refresh to new", null, () => model.refresh(NEW));
  }

  // back: refreshed back mid-roll; third: refreshed to a third revision; resolved: then to what the statuses said.
  let phase: "upgrade" | "rollback" | "back" | "third" | "resolved" = "upgrade";
  let outcome: RunReport["outcome"] = "too long";
  let idleRounds = 0;
  const limit = 600 + 250 * (setup.units + setup.scaleOuts) ** 2;
  while (steps < limit && failures.length === 0) {
    // Faults and operator moves in the middle of the run.
    if (budget.leaderChanges && random.chance(0.02)) {
      const others = [...model.units.keys()].filter((id) => id !== model.leader).sort((a, b) => a - b);
      if (others.length) {
        budget.leaderChanges--;
        const to = random.pick(others);
        step(`FAULT: app/${to} becomes the leader`, null, () => model.setLeader(to));
      }
    }
    if (budget.apiFaults && random.chance(0.02)) {
      budget.apiFaults--;
      partitionFaulted = true;
      const kind = random.pick(PARTITION_FAULTS);
      step(`FAULT: the API server will fail the next partition request (${kind})`, null, () =>
        charm.partitionFaults.push(kind),
      );
    }
    // Scaling waits for the plan: before it, the unchecked-refresh invariant counts the pods on the new revision.
    // A unit added mid-roll installs the new revision; a refresh back rolls it back too (seed 724). Not in runs with
    // a refresh to a third revision (not tried yet).
    if (planned && budget.scaleOuts && !setup.thirdRefresh && random.chance(0.01)) {
      budget.scaleOuts--;
      step(`scale-out: a unit added (revision ${model.charm})`, null, () => {
        const id = model.addUnit();
        charm.workloads.set(id, charm.versionOf(model.units.get(id)?.agent.charm ?? model.charm));
      });
    }
    if (planned && budget.scaleIns && model.units.size > 1 && random.chance(0.01)) {
      budget.scaleIns--;
      const ids = [...model.units.keys()].sort((a, b) => a - b);
      // A StatefulSet scales in from its highest ordinal; on machines any unit may be removed.
      const id = substrate === "k8s" ? Math.max(...ids) : random.pick(ids);
      step(`scale-in: app/${id} removed`, null, () => model.removeUnit(id));
    }
    // Not on a leader still on the Python library: it accepts resume-upgrade again until the first unit is popped and
    // then sets the partition to the top of its stack, above pods that already restarted (upstream bug 11); the
    // operator runs it once, when the statuses say the roll is paused (docs/migration.md).
    const onPython = charm.runsPythonLibrary(model.units.get(leader())?.agent.charm ?? model.charm);
    if (random.chance(0.02) && !onPython)
      step(`resume-upgrade on app/${leader()} (any time)`, leader(), () => world.action(leader(), "resume-upgrade"));
    const rolling = Boolean(model.appData["upgrade-stack"] && model.appData["upgrade-stack"] !== "[]");
    if (phase === "upgrade" && rolling && (setup.refreshBack || setup.thirdRefresh) && random.chance(0.03)) {
      // What failed was the new revision's workload: the old one, or another, is fine.
      charm.failing.clear();
      phase = setup.refreshBack ? "back" : "third";
      const to = setup.refreshBack ? OLD : THIRD;
      step(`operator: juju refresh to ${to} mid-roll`, null, () => model.refresh(to));
    }
    if (budget.evictions && random.chance(0.01)) {
      const ids = [...model.units.keys()].filter((id) => !model.units.get(id)?.pod?.terminating);
      if (ids.length) {
        budget.evictions--;
        const id = random.pick(ids.sort((a, b) => a - b));
        step(`FAULT: pod app-${id} evicted`, null, () => model.evict(id));
      }
    }
    if (budget.skippedUpgradeCharms) {
      // A unit not on the application's charm (yet), with hooks to run: its next one fails before charm-upgrade's part
      // runs, then Juju replaces its charm without upgrade-charm and retries the failed hook on it. (The window is
      // short — from a refresh to the unit's upgrade-charm — hence the higher chance within it.)
      const ids = [...model.units.values()]
        .filter((unit) => unit.agent.installed && unit.agent.charm !== model.charm)
        .map((unit) => unit.id)
        .sort((a, b) => a - b);
      if (ids.length && random.chance(0.1)) {
        budget.skippedUpgradeCharms--;
        const id = random.pick(ids);
        step(
          `FAULT: app/${id}'s hook fails, then Juju replaces its charm without upgrade-charm (LP#2068500)`,
          null,
          () => {
            world.failHook(id);
            model.refreshSkippingUpgradeCharm(id);
          },
        );
      }
    }
    if (budget.partitionEdits && rolling && random.chance(0.01)) {
      budget.partitionEdits--;
      const to = random.int(model.units.size + 1);
      step(`FAULT: kubectl patch sets the partition to ${to}`, null, () => model.patchPartition(to));
    }
    if (failures.length) break;

    const possible = model.steps();
    const busy = possible.filter((s) => s.kind !== "update-status");
    if (busy.length) {
      idleRounds = 0;
      const next = random.pick(busy);
      if (next.kind !== "hook") {
        step(`${next.kind} app/${next.unit}`, null, () => world.take(next));
        continue;
      }
      const unit = next.unit;
      const due = model.relationHooksDue(unit);
      const reordered =
        due.length > 1 && setup.reorder > 0 && random.chance(setup.reorder)
          ? due[1 + random.int(due.length - 1)]
          : undefined;
      const hook = reordered ?? model.nextHook(unit);
      const crash = budget.crashes > 0 && setup.crash > 0 && random.chance(setup.crash);
      const twice =
        !crash &&
        hook?.name.endsWith("-relation-changed") === true &&
        setup.duplicate > 0 &&
        random.chance(setup.duplicate);
      if (crash) {
        budget.crashes--;
        crashes++;
      }
      const what = `app/${unit} runs ${hook?.name ?? "?"}${hook?.remote ? ` (${hook.remote})` : ""}${reordered ? " out of order" : ""}${crash ? " and CRASHES" : twice ? " and runs it AGAIN" : ""}`;
      step(what, unit, () =>
        world.hook(
          unit,
          reordered ? { relationHook: reordered } : {},
          crash ? "crashed" : twice ? "uncommitted" : undefined,
        ),
      );
      continue;
    }

    // Nothing due but update-status: an end, time passing, or an operator.
    if (!planned) {
      // `juju refresh` came first and everything it set off has happened: the operator runs the check now.
      check(" (after the refresh)");
      continue;
    }
    const s = world.observe();
    if (phase === "upgrade" && isEnd(s, "upgraded", NEW, versionOf)) {
      outcome = "upgraded";
      break;
    }
    if (phase === "rollback" && isEnd(s, "rolledBack", OLD, versionOf)) {
      outcome = "rolledBack";
      break;
    }
    if ((phase === "back" || phase === "resolved") && isEnd(s, "restored", OLD, versionOf)) {
      outcome = "restored";
      break;
    }
    if (
      (phase === "third" || phase === "resolved") &&
      (isEnd(s, "upgraded", NEW, versionOf) || isEnd(s, "upgraded", THIRD, versionOf))
    ) {
      outcome = "upgraded";
      break;
    }
    if (phase === "upgrade" && isEnd(s, "halted", NEW, versionOf)) {
      phase = "rollback";
      step(`pre-upgrade-check on app/${leader()} (recovery)`, leader(), () => {
        const check = world.action(leader(), "pre-upgrade-check");
        if (!check.ok) throw new Error(`pre-upgrade-check refused in a halted cluster: ${check.message}`);
      });
      charm.failing.clear();
      step("juju refresh to old (rollback)", null, () => model.refresh(OLD));
      continue;
    }
    // Time passes: update-status on every unit, in random order. Two rounds that change nothing: the operator.
    const before = world.snapshot();
    for (const unit of shuffled(
      random,
      possible.map((p) => p.unit),
    ))
      step(`app/${unit} runs update-status`, unit, () => world.hook(unit, { updateStatus: true }));
    if (world.snapshot() !== before || model.steps().some((p) => p.kind !== "update-status")) {
      idleRounds = 0;
      continue;
    }
    if (++idleRounds < 2) continue;
    // The operator reads the statuses. After a third revision: refresh to the roll's target or back to its origin.
    if (phase === "third") {
      const moves = [revisionOf(model.appData["upgrade-from-charm"]), revisionOf(model.appData["upgrade-to-charm"])];
      const options = [...new Set(moves)].filter((r): r is number => r !== null && r !== model.charm);
      if (options.length) {
        phase = "resolved";
        const to = random.pick(options.sort((a, b) => a - b));
        step(`operator: juju refresh to ${to} (as the statuses say)`, null, () => model.refresh(to));
        continue;
      }
    }
    // A refresh that reached the units after the roll had ended is a new, unplanned one — a refresh back that came
    // while the roll's last unit upgraded (Kubernetes: the partition already at 0) reaches the pods only after the
    // roll ended, and no hook can tell it from a new refresh (soak seeds 1526, 2732): on machines the units ask for
    // pre-upgrade-check (blocked, upgrade-charm deferred); on Kubernetes the pods that restarted do, and the
    // application status names the command (the pods below are held by the partition). The operator runs it.
    const settledCharm = revisionOf(model.appData["upgrade-settled-charm"]);
    if (
      phase !== "upgrade" &&
      phase !== "rollback" &&
      !model.appData["upgrade-from-charm"] &&
      [...model.units.values()].some((unit) => unit.agent.charm !== settledCharm)
    ) {
      let checked = false;
      let refusal = "";
      step(`pre-upgrade-check on app/${leader()} (the units ask for it)`, leader(), () => {
        const outcome = world.action(leader(), "pre-upgrade-check");
        checked = outcome.ok;
        refusal = outcome.message;
      });
      if (checked) continue;
      // The API server failed the partition move (a fault of this run): nothing was planned; run it again.
      if (partitionFaulted && refusal.startsWith("Could not set the StatefulSet partition")) continue;
    }
    let resumed = false;
    let refused = "";
    step(`resume-upgrade on app/${leader()}`, leader(), () => {
      const outcome = world.action(leader(), "resume-upgrade");
      resumed = outcome.ok;
      refused = outcome.message;
    });
    if (resumed) continue;
    // The API server failed the partition move (a fault of this run): the action changed nothing; run it again.
    if (partitionFaulted && refused.startsWith("Could not set the StatefulSet partition")) continue;
    outcome = "stuck";
    failures.push({ invariant: "hook-error", message: `stuck after ${steps} steps: ${describe()}` });
    break;
  }
  if (outcome === "too long" && failures.length === 0) {
    failures.push({ invariant: "hook-error", message: `no end after ${steps} steps: ${describe()}` });
  }
  return { setup, steps, crashes, outcome, failures, lost, duplicated, log };
}

/** A failed run, for the summary. */
export interface SoakFailure {
  readonly seed: number;
  readonly invariant: InvariantName | "liveness";
  readonly message: string;
  /** Units this run lost from a stack, or listed twice. */
  readonly lost: number;
  readonly duplicated: number;
}

/** What a campaign found. */
export interface SoakSummary {
  readonly runs: number;
  readonly steps: number;
  readonly crashes: number;
  readonly upgraded: number;
  readonly rolledBack: number;
  /** Runs that ended back on the old revision after a `juju refresh` back mid-roll (no failure needed). */
  readonly restored: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly failures: readonly SoakFailure[];
  readonly timeMs: number;
}

/**
 * Run seeds `firstSeed .. firstSeed + runs - 1` in this process.
 *
 * @example
 * ```ts
 * const summary = soak({ runs: 2_000 });
 * expect(summary.failures).toEqual([]);
 * ```
 */
export function soak(options: { readonly runs: number; readonly firstSeed?: number } & SoakFaults): SoakSummary {
  const start = performance.now();
  const first = options.firstSeed ?? 1;
  let steps = 0;
  let crashes = 0;
  let upgraded = 0;
  let rolledBack = 0;
  let restored = 0;
  let lost = 0;
  let duplicated = 0;
  const failures: SoakFailure[] = [];
  for (let seed = first; seed < first + options.runs; seed++) {
    const report = soakRun(seed, faultsOf(options));
    steps += report.steps;
    crashes += report.crashes;
    lost += report.lost;
    duplicated += report.duplicated;
    if (report.outcome === "upgraded") upgraded++;
    if (report.outcome === "rolledBack") rolledBack++;
    if (report.outcome === "restored") restored++;
    const first = report.failures[0];
    if (first) {
      const liveness = report.outcome === "stuck" || report.outcome === "too long";
      const name = (breach: Breach) => (liveness && breach.invariant === "hook-error" ? "liveness" : breach.invariant);
      failures.push({
        seed,
        invariant: name(first),
        message: first.message,
        lost: report.lost,
        duplicated: report.duplicated,
      });
    }
  }
  return {
    runs: options.runs,
    steps,
    crashes,
    upgraded,
    rolledBack,
    restored,
    lost,
    duplicated,
    failures,
    timeMs: performance.now() - start,
  };
}

/** Add up summaries of disjoint seed ranges. */
export function mergeSummaries(parts: readonly SoakSummary[], timeMs: number): SoakSummary {
  const sum = (key: "runs" | "steps" | "crashes" | "upgraded" | "rolledBack" | "restored" | "lost" | "duplicated") =>
    parts.reduce((n, p) => n + p[key], 0);
  return {
    runs: sum("runs"),
    steps: sum("steps"),
    crashes: sum("crashes"),
    upgraded: sum("upgraded"),
    rolledBack: sum("rolledBack"),
    restored: sum("restored"),
    lost: sum("lost"),
    duplicated: sum("duplicated"),
    failures: parts.flatMap((p) => p.failures).sort((a, b) => a.seed - b.seed),
    timeMs,
  };
}

/** Just the {@link SoakFaults} of `options` (absent ones left absent: `exactOptionalPropertyTypes`). */
function faultsOf(options: SoakFaults): SoakFaults {
  return {
    ...(options.evictions === undefined ? {} : { evictions: options.evictions }),
    ...(options.partitionEdits === undefined ? {} : { partitionEdits: options.partitionEdits }),
    ...(options.skippedUpgradeCharms === undefined ? {} : { skippedUpgradeCharms: options.skippedUpgradeCharms }),
  };
}

/**
 * The {@link SoakFaults} the command line asks for: `--no-evictions`, `--no-partition-edits`,
 * `--no-skipped-upgrade-charm`.
 */
function faultsFromArgv(argv: readonly string[]): SoakFaults {
  return {
    ...(argv.includes("--no-evictions") ? { evictions: false } : {}),
    ...(argv.includes("--no-partition-edits") ? { partitionEdits: false } : {}),
    ...(argv.includes("--no-skipped-upgrade-charm") ? { skippedUpgradeCharms: false } : {}),
  };
}

/** The command-line flags that give `faults` (for a worker process). */
function faultFlags(faults: SoakFaults): string[] {
  return [
    ...(faults.evictions === false ? ["--no-evictions"] : []),
    ...(faults.partitionEdits === false ? ["--no-partition-edits"] : []),
    ...(faults.skippedUpgradeCharms === false ? ["--no-skipped-upgrade-charm"] : []),
  ];
}

/** Run a campaign on `workers` processes (each a contiguous range of seeds). */
async function soakParallel(
  runs: number,
  firstSeed: number,
  workers: number,
  faults: SoakFaults,
): Promise<SoakSummary> {
  const start = performance.now();
  const per = Math.ceil(runs / workers);
  const script = fileURLToPath(import.meta.url);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const from = firstSeed + w * per;
      const count = Math.max(0, Math.min(per, firstSeed + runs - from));
      return new Promise<SoakSummary>((resolve, reject) => {
        const child = fork(script, ["--worker", String(from), String(count), ...faultFlags(faults)], {
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        child.once("message", (summary) => resolve(summary as SoakSummary));
        child.once("exit", (code) => (code ? reject(new Error(`soak worker ${w} exited with ${code}`)) : undefined));
      });
    }),
  );
  return mergeSummaries(parts, performance.now() - start);
}

/** The campaign's result in words. */
export function formatSummary(summary: SoakSummary): string {
  const lines = [
    `${summary.runs.toLocaleString("en")} seeded runs, ${summary.steps.toLocaleString("en")} steps (${summary.crashes.toLocaleString("en")} crashed hooks) in ${(summary.timeMs / 1000).toFixed(1)} s`,
    `ended upgraded: ${summary.upgraded.toLocaleString("en")}, ended rolled back after a failure: ${summary.rolledBack.toLocaleString("en")}, ended restored by a refresh back: ${summary.restored.toLocaleString("en")}`,
    `units lost from a stack: ${summary.lost}, units listed twice in a stack: ${summary.duplicated}`,
    `failed runs: ${summary.failures.length}`,
  ];
  for (const failure of summary.failures.slice(0, 50)) {
    lines.push(`  seed ${failure.seed}: ${failure.invariant}: ${failure.message}`);
  }
  if (summary.failures.length > 50) lines.push(`  … and ${summary.failures.length - 50} more`);
  return lines.join("\n");
}

/** The markers around the fault-campaign section of docs/verification.md (`pnpm verify` keeps what is between). */
export const SOAK_START = "<!-- soak:start -->";
export const SOAK_END = "<!-- soak:end -->";

/** Replace the fault-campaign section of docs/verification.md (between its markers; appended if they are missing). */
function writeSoakSection(path: string, command: string, summary: SoakSummary): void {
  const section = [
    SOAK_START,
    `Command: \`${command}\` — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`,
    "",
    "```",
    formatSummary(summary),
    "```",
    SOAK_END,
  ].join("\n");
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Verification\n";
  const start = text.indexOf(SOAK_START);
  const end = text.indexOf(SOAK_END);
  const next =
    start >= 0 && end > start
      ? `${text.slice(0, start)}${section}${text.slice(end + SOAK_END.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

async function main(): Promise<void> {
  if (process.argv.includes("--worker")) {
    const at = process.argv.indexOf("--worker");
    const summary = soak({
      firstSeed: Number(process.argv[at + 1]),
      runs: Number(process.argv[at + 2]),
      ...faultsFromArgv(process.argv),
    });
    process.send?.(summary, () => process.exit(0));
    return;
  }
  const replay = argument("--seed");
  if (replay !== undefined) {
    const report = soakRun(Number(replay), { verbose: true, ...faultsFromArgv(process.argv) });
    console.log(report.log.join("\n"));
    console.log(
      JSON.stringify(
        { setup: report.setup, outcome: report.outcome, steps: report.steps, failures: report.failures },
        null,
        2,
      ),
    );
    process.exitCode = report.failures.length ? 1 : 0;
    return;
  }
  const runs = Number(argument("--runs") ?? 100_000);
  const firstSeed = Number(argument("--first-seed") ?? 1);
  const workers = Math.max(1, Number(argument("--workers") ?? Math.min(2, availableParallelism())));
  console.log(
    `pnpm soak: ${runs.toLocaleString("en")} runs from seed ${firstSeed} on ${workers} worker${workers === 1 ? "" : "s"}`,
  );
  const faults = faultsFromArgv(process.argv);
  const summary =
    workers === 1 ? soak({ runs, firstSeed, ...faults }) : await soakParallel(runs, firstSeed, workers, faults);
  console.log(formatSummary(summary));
  if (summary.failures.length) console.log("Replay a failing run with: pnpm soak --seed <seed>");
  if (process.argv.includes("--write-doc")) {
    const command = `pnpm soak ${process.argv.slice(2).join(" ")}`.trim();
    const path = fileURLToPath(new URL("../../../docs/verification.md", import.meta.url));
    writeSoakSection(path, command, summary);
    console.log(`wrote the fault-campaign section of ${path}`);
  }
  process.exitCode = summary.failures.length || summary.lost || summary.duplicated ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
