import { createHash } from "node:crypto";
import type { Substrate } from "@charm-upgrade/core";
import { MEMORY_KEY, readHookMemory } from "@charm-upgrade/core";
import type { PartitionFault } from "@charm-upgrade/sim";
import { PARTITION_FAULTS } from "@charm-upgrade/sim";
import type { Breach, EndKind, InvariantName } from "./invariants.js";
import { describeState, isEnd, revisionOf, stackOf, stateBreaches, stepBreaches, stoppedAt } from "./invariants.js";
import type { Reducer } from "./memoReduce.js";
import { memoReduce } from "./memoReduce.js";
import type { Observation, WorldSnapshot } from "./world.js";
import { NEW, OLD, THIRD, World } from "./world.js";

/**
 * Exhaustive exploration of the upgrade on the one model of Juju, every hook running the adapter that ships: every
 * choice Juju (and the StatefulSet controller) may make — which unit runs its next hook, when a unit's agent
 * notices a refresh, when the controller deletes a pod and when the new one is ready, `update-status` on a unit
 * with nothing else to do — with bounded faults, from a scenario's start states. States are deduplicated by a hash
 * of their canonical text; every state and every step is checked against the safety invariants, and a
 * reverse-reachability pass over the explored graph checks that an end state stays reachable from every state.
 *
 * @module
 */

/**
 * What is explored:
 *
 * - `upgrade` — deployed and settled, pre-upgrade-check on the leader, `juju refresh` to the new revision;
 * - `failure` — the same, with one unit whose upgrade fails (every choice of unit);
 * - `rollback` — from every halted end state of `failure`: pre-upgrade-check on the leader (recovery), then
 *   `juju refresh` back to the old revision;
 * - `unplanned` — `juju refresh` without pre-upgrade-check: nothing may ever be granted, and on Kubernetes at most
 *   the highest unit's pod restarts (its `stop` raises the partition to it);
 * - `refreshBack` — the upgrade, and at any point while a stack is set the operator may `juju refresh` back to the
 *   old revision (once), without pre-upgrade-check: the roll turns around (issue 15.1);
 * - `refreshBackPaused` — the upgrade, paused after its first unit (pause policy `first`; resume-upgrade is never
 *   run), then `juju refresh` back: the commonest rollback, the first upgraded unit misbehaves;
 * - `refreshBackAfterFailure` — from every halted end state of `failure`: `juju refresh` back to the old revision,
 *   without pre-upgrade-check;
 * - `secondRefresh` — the upgrade, and at any point while a stack is set the operator may `juju refresh` to a third
 *   revision (once; issue 12.4); the roll refuses it and says how to go on, and the operator then does one of what
 *   it says (once): `juju refresh` to the roll's target, or back to the old revision;
 * - `migration` — as `upgrade`, but the deployed revision runs the Python library (`PythonLibCharm`): its leader
 *   plans, and the roll runs with old units on the Python library and new units on charm-upgrade.
 */
export type ScenarioName =
  | "upgrade"
  | "failure"
  | "rollback"
  | "unplanned"
  | "refreshBack"
  | "refreshBackPaused"
  | "refreshBackAfterFailure"
  | "secondRefresh"
  | "migration";

/** An end state a scenario may stop in: its kind, and the revision every unit must run there. */
export interface EndState {
  readonly kind: EndKind;
  readonly target: number;
}

/**
 * The end states a scenario must always be able to reach. With the scale-in fault, a failure may also end
 * upgraded (the failing unit was removed before its turn).
 */
export function scenarioEnds(
  options: Pick<ExploreOptions, "scenario" | "faults" | "noDowngrade" | "refreshForward">,
): readonly EndState[] {
  const ends = baseEnds(options);
  // The new revision's workload cannot go back: a refresh back stops before the first unit that upgraded, and the
  // operator refreshes forward again, as its status says.
  if (!options.noDowngrade || !ends.some((end) => end.kind === "restored")) return ends;
  // A refresh back that reached the units after the roll had ended is a downgrade the version check refuses: the
  // unit that checks versions fails, saying that the workload cannot go back, and the roll halts.
  const more: EndState[] = [
    { kind: "stopped", target: OLD },
    { kind: "halted", target: OLD },
  ];
  if (options.refreshForward) more.push({ kind: "upgraded", target: NEW });
  return [...ends, ...more].filter(
    (end, i, all) => all.findIndex((other) => other.kind === end.kind && other.target === end.target) === i,
  );
}

function baseEnds(options: Pick<ExploreOptions, "scenario" | "faults">): readonly EndState[] {
  switch (options.scenario) {
    case "upgrade":
    case "migration":
      return [{ kind: "upgraded", target: NEW }];
    case "failure":
      return options.faults?.scaleIn
        ? [
            { kind: "halted", target: NEW },
            { kind: "upgraded", target: NEW },
          ]
        : [{ kind: "halted", target: NEW }];
    case "rollback":
      return [{ kind: "rolledBack", target: OLD }];
    case "unplanned":
      return [{ kind: "unplanned", target: NEW }];
    case "refreshBack":
      return [
        { kind: "upgraded", target: NEW },
        { kind: "restored", target: OLD },
      ];
    case "refreshBackPaused":
    case "refreshBackAfterFailure":
      return [{ kind: "restored", target: OLD }];
    case "secondRefresh":
      // The roll's target is the charm its first unit upgraded to: the third revision, when the second refresh came
      // before any unit moved.
      return [
        { kind: "upgraded", target: NEW },
        { kind: "upgraded", target: THIRD },
        { kind: "restored", target: OLD },
      ];
  }
}

/** Options of {@link explore}. */
export interface ExploreOptions {
  readonly units: number;
  readonly substrate: Substrate;
  readonly scenario: ScenarioName;
  /**
   * Fault steps, each at most once per run: a `relation-changed` run twice (its agent died before recording it) and
   * a leadership change (default: on), the removal of a unit (default: off; on Kubernetes the highest ordinal, as a
   * StatefulSet scales in), and on Kubernetes the API server failing the next partition request (default: off;
   * `true` tries every {@link PartitionFault}, or name the ones to try). Kubernetes only (default: off): a pod evicted
   * or OOM-killed (`evict`: any pod, at any time; it comes back on the revision its ordinal gets and Juju runs
   * `upgrade-charm` anyway, LP#2021891), and the StatefulSet's partition changed outside the library while a stack is
   * set (`partitionEdit`: `kubectl patch` to any other value from 0 to the number of units). Machines only (default:
   * off): `skipUpgradeCharm` — a unit's next hook (or update-status) fails before charm-upgrade's part of it runs, and
   * Juju then replaces its charm with the
   * application's without `upgrade-charm`, the failed hook retried on it (LP#2068500, `juju refresh --force-units` from
   * an error: `JujuModel.refreshSkippingUpgradeCharm`); at any point where the unit does not run the application's
   * charm yet (after the refresh, or after a refresh back). Machines only (default: off): `crashGrant` — a hook that
   * grants its unit fails after its work (the charm upgraded the workload, then raised: Juju discards the hook's
   * relation writes and retries it, `JujuModel.end` `crashed`, the soak's `crash`); once, at any grant.
   */
  readonly faults?: {
    readonly duplicate?: boolean;
    readonly leaderChange?: boolean;
    readonly scaleIn?: boolean;
    readonly apiError?: boolean | readonly PartitionFault[];
    readonly evict?: boolean;
    readonly partitionEdit?: boolean;
    readonly skipUpgradeCharm?: boolean;
    readonly crashGrant?: boolean;
  };
  /** The charm answers a grant `pending` first and `completed` in a later hook, so others see `upgrading` (default `true`). */
  readonly asyncUpgrades?: boolean;
  /**
   * The new revision's workload cannot go back to the old one (its DEPENDENCIES say `downgrade_supported: ">=1.1"`,
   * issue 15.4; default: off). In the refresh-back scenarios the rollback then stops before the first unit that
   * upgraded (the `stopped` end state), with a status that says so.
   */
  readonly noDowngrade?: boolean;
  /**
   * With `noDowngrade`: once the rollback stopped and the roll is at rest, the operator refreshes forward to the new
   * revision (once), as the statuses say; the roll must then end upgraded (default: off).
   */
  readonly refreshForward?: boolean;
  /** The application's `pause-after-unit-upgrade` (default: unset, which is `first`). */
  readonly pauseAfter?: "none" | "first" | "all";
  /** Test-only: the reducer the library's hooks run through (default: the core's `reduce`, memoised). */
  readonly reduce?: Reducer;
  /** Give up (and report `complete: false`) beyond this many states (default 30,000,000). */
  readonly maxStates?: number;
  /** Called every 100,000 states, for long runs. */
  readonly onProgress?: (progress: {
    readonly states: number;
    readonly transitions: number;
    readonly frontier: number;
    readonly ms: number;
  }) => void;
}

/** A broken invariant, with the shortest sequence of steps that reaches it. */
export interface Violation {
  /** A safety invariant, or `deadlock` / `livelock` (an end state is not reachable). */
  readonly invariant: InvariantName | "deadlock" | "livelock";
  readonly message: string;
  /** How many explored states break it (for deadlock/livelock: states from which no end is reachable). */
  readonly count: number;
  /** The steps from a start state, each with the state it leads to. */
  readonly trace: readonly string[];
}

/** What an exploration found. */
export interface ExploreResult {
  readonly options: ExploreOptions;
  readonly roots: number;
  /** Distinct states explored. */
  readonly states: number;
  /** Steps taken (edges of the state graph, fault steps and repeated states included). */
  readonly transitions: number;
  /** Distinct end states reached. */
  readonly ends: number;
  /** The longest shortest path from a start state. */
  readonly depth: number;
  readonly timeMs: number;
  /** False when `maxStates` stopped the exploration: then nothing is proven. */
  readonly complete: boolean;
  /** The first (shortest) violation of each invariant; empty when the protocol holds. */
  readonly violations: readonly Violation[];
}

/** Explorer state beyond the world: which faults and operator refreshes this run has used, and whether it planned. */
interface Flags {
  readonly duplicated: boolean;
  readonly leaderChanged: boolean;
  readonly scaledIn: boolean;
  readonly planned: boolean;
  /** The API server was told to fail a partition request (see `ExploreOptions.faults.apiError`). */
  readonly apiFaulted?: boolean;
  readonly evicted: boolean;
  readonly partitionEdited: boolean;
  /** A unit's charm was replaced without upgrade-charm (see `ExploreOptions.faults.skipUpgradeCharm`). */
  readonly skipped?: boolean;
  /** A grant's hook failed after its work (see `ExploreOptions.faults.crashGrant`). */
  readonly crashed?: boolean;
  /** The operator's `juju refresh` moves of the scenario this run has made (refresh back; third, then resolution). */
  readonly refreshes: number;
  /** The operator ran pre-upgrade-check after such a refresh (the roll had ended before the refresh reached it). */
  readonly replanned: boolean;
}

/** A start state, with how it was reached. */
interface Root {
  readonly snapshot: WorldSnapshot;
  readonly flags: Flags;
  readonly prefix: readonly string[];
}

/** A set of state hashes, sharded: one V8 Map holds at most 2^24 entries. */
class StateIds {
  private readonly shards: Map<string, number>[] = Array.from({ length: 64 }, () => new Map());
  size = 0;
  private shard(key: string): Map<string, number> {
    return this.shards[key.charCodeAt(0) & 63] as Map<string, number>;
  }
  get(key: string): number | undefined {
    return this.shard(key).get(key);
  }
  /** Add `key` with the next id, and return it. */
  add(key: string): number {
    const id = this.size++;
    this.shard(key).set(key, id);
    return id;
  }
}

const HOOK = 0;
const TICK = 1;
const NOTICE = 2;
const POD_DELETE = 3;
const POD_READY = 4;
const DUPLICATE = 5;
const LEADER = 6;
const REMOVE = 7;
const RESUME = 8;
const EVICT = 9;
const PARTITION = 10;
/** An operator's `juju refresh`: the "unit" part of the code is the revision. */
const REFRESH = 11;
/** The operator runs pre-upgrade-check on the leader after a refresh the library saw as unplanned. */
const CHECK = 12;
/** An API fault: `unit` is the index of the {@link PartitionFault} in `PARTITION_FAULTS`. */
const API = 13;
/** Machines: the unit's next hook fails, then Juju replaces its charm without upgrade-charm (LP#2068500). */
const SKIP = 14;
/** Machines: the unit's next hook grants it, its charm upgrades the workload, then the hook fails (it is retried). */
const CRASH = 15;
const KINDS = 16;
const FAULT_KINDS: ReadonlySet<number> = new Set([DUPLICATE, LEADER, REMOVE, EVICT, PARTITION, API, SKIP, CRASH]);

function label(code: number): string {
  const unit = Math.floor(code / KINDS);
  if (code % KINDS === API)
    return `FAULT: the Kubernetes API server fails the next partition request (${PARTITION_FAULTS[unit]})`;
  switch (code % KINDS) {
    case HOOK:
      return `app/${unit} runs its next hook`;
    case TICK:
      return `app/${unit} runs update-status`;
    case NOTICE:
      return `app/${unit}'s agent notices the new charm`;
    case POD_DELETE:
      return `the StatefulSet controller deletes pod app-${unit}`;
    case POD_READY:
      return `pod app-${unit} is Running and Ready`;
    case DUPLICATE:
      return `app/${unit} runs its next hook (relation-changed); FAULT: its agent dies before recording it, so it runs again`;
    case LEADER:
      return `FAULT: app/${unit} becomes the leader`;
    case REMOVE:
      return `operator: juju remove-unit app/${unit} (scale-in)`;
    case EVICT:
      return `FAULT: pod app-${unit} is evicted (OOM-killed, drained)`;
    case PARTITION:
      return `FAULT: kubectl patch sets the StatefulSet partition to ${unit} (outside the library)`;
    case REFRESH:
      return `operator: juju refresh app --revision ${unit}`;
    case CHECK:
      return `operator: juju run app/${unit} pre-upgrade-check (the units ask for it)`;
    case CRASH:
      return `app/${unit} runs its next hook, which grants it; FAULT: the hook fails after its charm upgraded the workload (Juju discards its writes and retries it)`;
    case SKIP:
      return `FAULT: app/${unit}'s next hook fails, then Juju replaces its charm without upgrade-charm (LP#2068500); the failed hook is retried on it`;
    default:
      return `operator: juju run app/${unit} resume-upgrade`;
  }
}

/** A growable Int32 array. */
class Ints {
  data = new Int32Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  at(i: number): number {
    return this.data[i] ?? 0;
  }
}

/**
 * One exploration: call {@link Explorer.run} once. Kept as a class so that a rollback exploration can start from
 * the halted end states of a failure exploration and print traces through both.
 */
export class Explorer {
  readonly options: ExploreOptions;
  private readonly world: World;
  private readonly ends: readonly EndState[];
  private readonly versionOf: (revision: number) => string;
  private readonly downgradeRefusal: (from: string, to: string) => string | null;
  private readonly ids = new StateIds();
  private readonly parent = new Ints();
  private readonly via = new Ints();
  private readonly depthOf = new Ints();
  private readonly edgeFrom = new Ints();
  private readonly edgeTo = new Ints();
  private readonly roots: Root[] = [];
  private endIds: number[] = [];
  private readonly endSnapshots = new Map<number, { snapshot: WorldSnapshot; flags: Flags }>();
  private readonly firstBreach = new Map<string, { breach: Breach; id: number; step: number; count: number }>();
  private transitions = 0;
  private complete = true;
  /** The world as constructed: every unit's setup hooks due. */
  private readonly initial: WorldSnapshot;

  constructor(options: ExploreOptions) {
    this.options = options;
    this.ends = scenarioEnds(options);
    this.world = new World({
      units: options.units,
      substrate: options.substrate,
      leader: 0,
      reduce: options.reduce ?? memoReduce(),
      twoStepUpgrades: options.asyncUpgrades ?? true,
      pauseAfter: options.pauseAfter,
      oldLibrary: options.scenario === "migration" ? "python" : "charm-upgrade",
      noDowngrade: options.noDowngrade,
    });
    this.downgradeRefusal = (from, to) => this.world.downgradeRefusal(from, to);
    this.versionOf = (revision) => this.world.charm.versionOf(revision);
    this.initial = this.world.snapshot();
  }

  /** The world, deployed and settled on the old revision. */
  private deployed(): WorldSnapshot {
    const world = this.world;
    world.restore(this.initial);
    world.settle();
    world.takeTrace();
    return world.snapshot();
  }

  private observe(): Observation {
    return this.world.observe();
  }

  /** The start states of the scenario (for `rollback`, `from` supplies the halted states). */
  private buildRoots(from?: Explorer): void {
    const { scenario, substrate } = this.options;
    const world = this.world;
    const settled = this.deployed();
    const fresh = (planned: boolean): Flags => ({
      duplicated: false,
      leaderChanged: false,
      scaledIn: false,
      planned,
      evicted: false,
      partitionEdited: false,
      refreshes: 0,
      replanned: false,
    });
    const leader = () => world.model.leader ?? 0;
    const plan = (failUnits: readonly number[], prefix: string[]) => {
      world.restore(settled);
      world.charm.failing = new Set(failUnits);
      const check = world.action(leader(), "pre-upgrade-check");
      if (!check.ok) throw new Error(`pre-upgrade-check refused on a settled cluster: ${check.message}`);
      world.model.refresh(NEW);
      world.takeTrace();
      this.roots.push({
        snapshot: world.snapshot(),
        flags: fresh(true),
        prefix: [
          ...prefix,
          `operator: juju run app/${leader()} pre-upgrade-check`,
          `operator: juju refresh app --revision ${NEW}`,
        ],
      });
    };
    const deploy = `deploy ${this.options.units} units of revision ${OLD} on ${substrate}, settle (every hook run in order)`;
    if (scenario === "upgrade" || scenario === "refreshBack" || scenario === "secondRefresh") plan([], [deploy]);
    if (scenario === "refreshBackPaused") {
      plan([], [deploy]);
      const root = this.roots.pop() as Root;
      world.restore(root.snapshot);
      const paused = this.pausedAfterFirst();
      if (paused === null) throw new Error("the upgrade did not pause after its first unit (pause policy first)");
      world.model.refresh(OLD);
      this.roots.push({
        snapshot: world.snapshot(),
        flags: { ...root.flags, refreshes: 1 },
        prefix: [
          ...root.prefix,
          `every hook in order until the roll pauses after its first unit: ${paused}`,
          `operator: juju refresh app --revision ${OLD} (back, without pre-upgrade-check)`,
        ],
      });
    }
    if (scenario === "migration") plan([], [`${deploy}, its charm on the Python library`]);
    if (scenario === "failure")
      for (let f = 0; f < this.options.units; f++) plan([f], [`${deploy}; the upgrade of app/${f} will fail`]);
    if (scenario === "unplanned") {
      world.restore(settled);
      world.model.refresh(NEW);
      this.roots.push({
        snapshot: world.snapshot(),
        flags: fresh(false),
        prefix: [deploy, `operator: juju refresh app --revision ${NEW} (no pre-upgrade-check)`],
      });
    }
    if (scenario === "refreshBackAfterFailure") {
      if (!from) throw new Error("a refresh back after a failure starts from a failure exploration");
      const seen = new Set<string>();
      for (const [id, end] of from.endSnapshots) {
        world.restore(end.snapshot);
        if (!isEnd(this.observe(), "halted", NEW, this.versionOf)) continue;
        // The old revision's workload is known good: what failed was the upgrade.
        world.charm.failing = new Set();
        world.model.refresh(OLD);
        const snapshot = world.snapshot();
        const key = this.keyOf(snapshot, end.flags);
        if (seen.has(key)) continue;
        seen.add(key);
        this.roots.push({
          snapshot,
          // The refresh back counts (a refresh that reaches a unit after the roll ended makes it ask for a check).
          flags: { ...end.flags, refreshes: 1 },
          prefix: [
            ...from.traceTo(id),
            `operator: juju refresh app --revision ${OLD} (back, without pre-upgrade-check)`,
          ],
        });
      }
    }
    if (scenario === "rollback") {
      if (!from) throw new Error("a rollback exploration starts from a failure exploration");
      const seen = new Set<string>();
      for (const [id, end] of from.endSnapshots) {
        world.restore(end.snapshot);
        if (!isEnd(this.observe(), "halted", NEW, this.versionOf)) continue;
        world.charm.failing = new Set();
        const snapshot = world.snapshot();
        // The rollback continues the run: faults the failure already used are used up.
        const key = this.keyOf(snapshot, end.flags);
        if (seen.has(key)) continue;
        seen.add(key);
        const before = this.observe();
        const check = world.action(leader(), "pre-upgrade-check");
        const prefix = [...from.traceTo(id), `operator: juju run app/${leader()} pre-upgrade-check (recovery)`];
        const trace = world.takeTrace();
        const breaches = stepBreaches({
          substrate,
          before,
          after: this.observe(),
          ...trace,
          unit: leader(),
          planned: true,
          newRevision: NEW,
          versionOf: this.versionOf,
          downgradeRefusal: this.downgradeRefusal,
        });
        if (!check.ok)
          breaches.push({
            invariant: "hook-error",
            message: `pre-upgrade-check refused in a halted state: ${check.message}`,
          });
        world.model.refresh(OLD);
        const root = {
          snapshot: world.snapshot(),
          flags: end.flags,
          prefix: [...prefix, `operator: juju refresh app --revision ${OLD}`],
        };
        this.roots.push(root);
        for (const breach of breaches) this.recordRootBreach(breach, root.prefix);
      }
    }
  }

  private readonly rootBreaches: Violation[] = [];
  private recordRootBreach(breach: Breach, trace: readonly string[]): void {
    if (this.rootBreaches.some((v) => v.invariant === breach.invariant)) return;
    this.rootBreaches.push({ invariant: breach.invariant, message: breach.message, count: 1, trace });
  }

  /**
   * From the world as it is: every step in the model's order (units by number, update-status rounds when nothing
   * else is due), never resume-upgrade, until it is at rest. Returns the units' states if the roll then waits after
   * its first unit (a stack set, a unit done, none upgrading), else `null`.
   */
  private pausedAfterFirst(): string | null {
    const world = this.world;
    for (let round = 0; round < 1000; round++) {
      world.settle();
      const before = world.snapshot();
      for (const step of world.model.steps())
        if (step.kind === "update-status") world.hook(step.unit, { updateStatus: true });
      if (world.snapshot() === before) break;
    }
    world.takeTrace();
    const s = this.observe();
    const stack = stackOf(s);
    const done = s.units.some((u) => u.state === "completed" || (u.state === "idle" && u.revision === NEW));
    if (!stack.length || !done || s.units.some((u) => u.state === "upgrading")) return null;
    return describeState(s, this.options.substrate);
  }

  /**
   * In a rollback stopped before units whose workload cannot go back (the world in that state): after update-status
   * on every unit, the status of the one the rollback waits on (the top of the stack) and the application's name it. Statuses
   * are not part of a state (see `JujuModel.snapshot`), so they are asked for here; the world is left changed (the
   * caller restores it before the next step).
   */
  private stoppedStatusBreaches(observation: Observation): Breach[] {
    const world = this.world;
    const top = stackOf(observation).at(-1);
    const stuck = stoppedAt(observation, OLD, this.versionOf).filter((id) => id === top);
    const breaches: Breach[] = [];
    try {
      for (const id of [...world.model.units.keys()].sort((a, b) => a - b)) world.hook(id, { updateStatus: true });
    } finally {
      world.takeTrace();
    }
    // The model's statuses are not part of a state (they carry over from whatever state the world was in last); the
    // library remembers what it last set in each unit's store (`MEMORY_KEY`), which is, and sets a status only when
    // it differs from that.
    const memory = (id: number | null) =>
      readHookMemory(id === null ? null : (world.model.units.get(id)?.store[MEMORY_KEY] ?? null)).memory;
    for (const id of stuck) {
      const status = memory(id).status;
      if (!status?.message.includes(`app/${id} cannot roll back`))
        breaches.push({
          invariant: "downgrade-named",
          message: `app/${id} cannot go back, but its status is ${status?.status}: "${status?.message}"`,
        });
    }
    const app = memory(world.model.leader).appStatus ?? { status: "unknown", message: "" };
    // (Kubernetes: every pod that restarted on the old revision and cannot go back waits; the application names one.)
    if (
      !stoppedAt(observation, OLD, this.versionOf).some((id) => app.message.includes(`Rollback stopped at app/${id}`))
    )
      breaches.push({
        invariant: "downgrade-named",
        message: `the rollback waits on app/${stuck.join(", app/")}, but the application status is ${app.status}: "${app.message}"`,
      });
    return breaches;
  }

  private keyOf(snapshot: WorldSnapshot, flags: Flags): string {
    const flagged = `${snapshot}|${flags.duplicated ? 1 : 0}${flags.leaderChanged ? 1 : 0}${flags.scaledIn ? 1 : 0}${flags.planned ? 1 : 0}${flags.evicted ? 1 : 0}${flags.partitionEdited ? 1 : 0}${flags.refreshes}${flags.replanned ? 1 : 0}${flags.apiFaulted ? 1 : 0}${flags.skipped ? 1 : 0}${flags.crashed ? 1 : 0}`;
    // 96 bits: the chance of any collision among 10^8 states is below 10^-12.
    return createHash("sha1").update(flagged).digest("base64").slice(0, 16);
  }

  /** Apply step `code` to the world (already restored to the source state); null when it is not possible. */
  private apply(code: number, flags: Flags): { flags: Flags; unit: number | null } | null {
    const unit = Math.floor(code / KINDS);
    const world = this.world;
    const { model } = world;
    switch (code % KINDS) {
      case HOOK:
        world.hook(unit);
        return { flags, unit };
      case TICK:
        world.hook(unit, { updateStatus: true });
        return { flags, unit };
      case NOTICE:
        world.take({ kind: "notice", unit });
        return { flags, unit: null };
      case POD_DELETE:
        world.take({ kind: "pod-delete", unit });
        return { flags, unit: null };
      case POD_READY:
        world.take({ kind: "pod-ready", unit });
        return { flags, unit: null };
      case DUPLICATE:
        world.hook(unit, {}, "uncommitted");
        return { flags: { ...flags, duplicated: true }, unit };
      case LEADER:
        model.setLeader(unit);
        return { flags: { ...flags, leaderChanged: true }, unit: null };
      case REMOVE:
        model.removeUnit(unit);
        return { flags: { ...flags, scaledIn: true }, unit: null };
      case API:
        world.charm.partitionFaults.push(PARTITION_FAULTS[unit] as PartitionFault);
        return { flags: { ...flags, apiFaulted: true }, unit: null };
      case EVICT:
        model.evict(unit);
        return { flags: { ...flags, evicted: true }, unit: null };
      case PARTITION:
        model.patchPartition(unit);
        return { flags: { ...flags, partitionEdited: true }, unit: null };
      case SKIP:
        // The hook fails before charm-upgrade's part of it runs (the charm's own code raised: Juju retries the hook;
        // a hook that fails after its work is the `crashed` fault of the soak), then the charm is replaced.
        world.failHook(unit);
        model.refreshSkippingUpgradeCharm(unit);
        return { flags: { ...flags, skipped: true }, unit };
      case CRASH:
        // Only a hook that grants: the charm's work (the workload upgrade) is done when the hook fails.
        if (!world.hook(unit, {}, "crashed").result?.effects.some((effect) => effect.type === "grantUpgrade"))
          return null;
        return { flags: { ...flags, crashed: true }, unit };
      case REFRESH:
        // What failed was the new revision's workload: the old one, or a fixed one, is fine.
        world.charm.failing = new Set();
        model.refresh(unit);
        return { flags: { ...flags, refreshes: flags.refreshes + 1 }, unit: null };
      case CHECK:
        return world.action(unit, "pre-upgrade-check").ok ? { flags: { ...flags, replanned: true }, unit } : null;
      default: {
        const faults = world.charm.partitionFaults.length;
        const outcome = world.action(unit, "resume-upgrade");
        // Refused, it changed nothing — unless the API server's fault met it (then the operator runs it again).
        return outcome.ok || world.charm.partitionFaults.length < faults ? { flags, unit } : null;
      }
    }
  }

  /** The steps possible from the current state of the world. */
  private steps(flags: Flags): number[] {
    const { model } = this.world;
    const codes: number[] = [];
    for (const step of model.steps()) {
      const kind = {
        hook: HOOK,
        "update-status": TICK,
        notice: NOTICE,
        "pod-delete": POD_DELETE,
        "pod-ready": POD_READY,
      }[step.kind];
      codes.push(step.unit * KINDS + kind);
    }
    const leader = model.leader;
    const { scenario } = this.options;
    const rolling = Boolean(model.appData["upgrade-stack"] && model.appData["upgrade-stack"] !== "[]");
    // Juju runs the action only when the leader's agent would take it now (JujuModel.acceptsAction). Paused after
    // the first unit: resume-upgrade is not the operator's choice in this scenario — until the operator refreshed
    // forward after a stopped rollback (`refreshForward`): the roll then pauses after its first unit again, and the
    // operator resumes it as the statuses say.
    const accepts = leader !== null && model.acceptsAction(leader);
    const resumes = scenario !== "refreshBackPaused" || flags.refreshes > 1;
    if (leader !== null && accepts && rolling && resumes) codes.push(leader * KINDS + RESUME);
    const atRest = model.steps().every((step) => step.kind === "update-status");
    for (const revision of this.refreshes(flags, rolling, atRest)) codes.push(revision * KINDS + REFRESH);
    // A refresh that reached the units after the roll had ended is a new, unplanned one: the units ask for
    // pre-upgrade-check (machines: blocked, upgrade-charm deferred; Kubernetes: the highest pod's stop held the
    // others, issue 12.5), and the operator runs it.
    // (Statuses are not in a snapshot: what the units ask for is judged from the records instead — no roll recorded,
    // and a unit runs a charm other than the one the application settled on.)
    const settled = revisionOf(model.appData["upgrade-settled-charm"]);
    const asked =
      !rolling &&
      !model.appData["upgrade-from-charm"] &&
      [...model.units.values()].some((unit) => unit.agent.charm !== settled);
    // (Not when a unit failed: its status says the versions are incompatible, and names the refresh that undoes it.)
    const failed = [...model.units.values()].some((unit) => model.databags[unit.name]?.state === "failed");
    if (leader !== null && accepts && flags.refreshes > 0 && asked && !failed) codes.push(leader * KINDS + CHECK);
    const faults = this.options.faults ?? {};
    const ids = [...model.units.keys()].sort((a, b) => a - b);
    if (this.options.substrate === "k8s" && faults.evict && !flags.evicted) {
      for (const id of ids) if (!model.units.get(id)?.pod?.terminating) codes.push(id * KINDS + EVICT);
    }
    if (this.options.substrate === "k8s" && faults.partitionEdit && !flags.partitionEdited && rolling) {
      for (let p = 0; p <= this.options.units; p++) if (p !== model.partition) codes.push(p * KINDS + PARTITION);
    }
    if (faults.duplicate !== false && !flags.duplicated) {
      for (const id of ids)
        if (model.nextHook(id)?.name.endsWith("-relation-changed")) codes.push(id * KINDS + DUPLICATE);
    }
    if (faults.leaderChange !== false && !flags.leaderChanged)
      for (const id of ids) if (id !== leader) codes.push(id * KINDS + LEADER);
    if (faults.scaleIn && !flags.scaledIn && ids.length > 1) {
      const removable = this.options.substrate === "k8s" ? ids.slice(-1) : ids;
      for (const id of removable) codes.push(id * KINDS + REMOVE);
    }
    if (faults.skipUpgradeCharm && !flags.skipped && this.options.substrate === "vm") {
      // A unit not (yet) on the application's charm, installed (its agent runs hooks: a failed one, then a retry).
      for (const id of ids) {
        const agent = model.units.get(id)?.agent;
        if (agent?.installed && agent.charm !== model.charm) codes.push(id * KINDS + SKIP);
      }
    }
    if (faults.crashGrant && !flags.crashed && this.options.substrate === "vm") {
      for (const id of ids) if (model.nextHook(id)) codes.push(id * KINDS + CRASH);
    }
    if (faults.apiError && !flags.apiFaulted && this.options.substrate === "k8s") {
      const kinds = faults.apiError === true ? PARTITION_FAULTS : faults.apiError;
      for (const kind of kinds) codes.push(PARTITION_FAULTS.indexOf(kind) * KINDS + API);
    }
    return codes;
  }

  /**
   * The operator's `juju refresh` moves the scenario allows now (revisions): back to the old revision mid-roll; a
   * third revision mid-roll, then, once the roll is at rest (the operator reads the blocked status and acts on it;
   * any point would square the states), what the statuses say to do — refresh to the roll's target (the charm its
   * first unit upgraded to, which the leader records) or back.
   */
  private refreshes(flags: Flags, rolling: boolean, atRest: boolean): number[] {
    const { model } = this.world;
    // The rollback stopped before a unit whose workload cannot go back: its status says to refresh forward instead.
    if (
      this.options.noDowngrade &&
      this.options.refreshForward &&
      atRest &&
      model.charm === OLD &&
      flags.refreshes <= 1 &&
      isEnd(this.observe(), "stopped", OLD, this.versionOf)
    )
      return [NEW];
    switch (this.options.scenario) {
      case "refreshBack":
        return flags.refreshes === 0 && rolling && model.charm === NEW ? [OLD] : [];
      case "secondRefresh": {
        if (flags.refreshes === 0) return rolling && model.charm === NEW ? [THIRD] : [];
        if (flags.refreshes > 1 || !atRest) return [];
        // What the blocked statuses name: the roll's target, or back to its origin (as the leader recorded them:
        // when the third revision arrived after the roll had ended, a new roll to it may have been planned since).
        const moves = [revisionOf(model.appData["upgrade-from-charm"]), revisionOf(model.appData["upgrade-to-charm"])];
        return [...new Set(moves)].filter(
          (revision): revision is number => revision !== null && revision !== model.charm,
        );
      }
      default:
        return [];
    }
  }

  private record(breach: Breach, id: number, step: number): void {
    const known = this.firstBreach.get(breach.invariant);
    if (known) known.count++;
    else this.firstBreach.set(breach.invariant, { breach, id, step, count: 1 });
  }

  /** Explore every reachable state. `from`: for `rollback`, the finished failure exploration. */
  run(from?: Explorer): ExploreResult {
    const start = performance.now();
    const { substrate } = this.options;
    const ends = this.ends;
    const maxStates = this.options.maxStates ?? 30_000_000;
    const world = this.world;
    this.buildRoots(from);

    const frontier: { id: number; text: WorldSnapshot; flags: Flags }[] = [];
    const isEndState: number[] = [];
    const add = (
      snapshot: WorldSnapshot,
      observation: Observation,
      flags: Flags,
      parent: number,
      via: number,
      depth: number,
    ): number => {
      const hash = this.keyOf(snapshot, flags);
      const known = this.ids.get(hash);
      if (known !== undefined) return known;
      const id = this.ids.add(hash);
      this.parent.push(parent);
      this.via.push(via);
      this.depthOf.push(depth);
      for (const breach of stateBreaches(observation, substrate)) this.record(breach, id, -1);
      if (ends.some((end) => isEnd(observation, end.kind, end.target, this.versionOf))) {
        isEndState.push(id);
        this.endSnapshots.set(id, { snapshot, flags });
        if (this.options.noDowngrade && isEnd(observation, "stopped", OLD, this.versionOf))
          for (const breach of this.stoppedStatusBreaches(observation)) this.record(breach, id, -1);
      }
      frontier.push({ id, text: snapshot, flags });
      return id;
    };
    this.roots.forEach((root, i) => {
      world.restore(root.snapshot);
      add(root.snapshot, this.observe(), root.flags, -1, i, 0);
    });

    let outNonFault = new Ints();
    for (let head = 0; head < frontier.length; head++) {
      const entry = frontier[head];
      if (!entry) continue;
      frontier[head] = undefined as never; // release memory as the frontier advances
      if (this.ids.size > maxStates) {
        this.complete = false;
        break;
      }
      if (this.options.onProgress && head % 100_000 === 0 && head) {
        this.options.onProgress({
          states: this.ids.size,
          transitions: this.transitions,
          frontier: frontier.length - head,
          ms: performance.now() - start,
        });
      }
      world.restore(entry.text);
      const before = this.observe();
      let progress = 0;
      for (const code of this.steps(entry.flags)) {
        world.restore(entry.text);
        world.takeTrace();
        let applied: { flags: Flags; unit: number | null } | null;
        try {
          applied = this.apply(code, entry.flags);
        } catch (error) {
          world.takeTrace();
          this.transitions++;
          this.record(
            {
              invariant: "hook-error",
              message: `${label(code)}: ${error instanceof Error ? error.message : String(error)}`,
            },
            entry.id,
            code,
          );
          continue;
        }
        const trace = world.takeTrace();
        if (!applied) continue;
        this.transitions++;
        const after = this.observe();
        for (const breach of stepBreaches({
          substrate,
          before,
          after,
          ...trace,
          unit: applied.unit,
          planned: entry.flags.planned,
          partitionFaulted: applied.flags.apiFaulted === true,
          newRevision: NEW,
          versionOf: this.versionOf,
          downgradeRefusal: this.downgradeRefusal,
        })) {
          this.record(breach, entry.id, code);
        }
        const target = add(
          world.snapshot(),
          after,
          applied.flags,
          entry.id,
          code,
          (this.depthOf.at(entry.id) ?? 0) + 1,
        );
        if (!FAULT_KINDS.has(code % KINDS)) {
          this.edgeFrom.push(entry.id);
          this.edgeTo.push(target);
          progress++;
        }
      }
      outNonFault.push(progress);
    }
    this.endIds = isEndState;

    const violations: Violation[] = [...this.rootBreaches];
    for (const { breach, id, step, count } of this.firstBreach.values()) {
      const trace = this.traceTo(id);
      if (step >= 0) trace.push(`${label(step)}  <-- ${breach.message}`);
      else trace.push(`  <-- ${breach.message}`);
      violations.push({ invariant: breach.invariant, message: breach.message, count, trace });
    }
    if (this.complete) violations.push(...this.liveness(outNonFault));
    outNonFault = new Ints();
    let depth = 0;
    for (let i = 0; i < this.depthOf.length; i++) depth = Math.max(depth, this.depthOf.at(i));
    return {
      options: this.options,
      roots: this.roots.length,
      states: this.ids.size,
      transitions: this.transitions,
      ends: isEndState.length,
      depth,
      timeMs: performance.now() - start,
      complete: this.complete,
      violations,
    };
  }

  /**
   * Liveness: mark every state from which an end state is reachable by hooks, Juju's and the controller's steps
   * and operator steps alone (faults never help), walking the explored graph backwards from the end states. A
   * state left unmarked with no step at all is a deadlock; one with steps that only lead to other unmarked states
   * is a livelock.
   */
  private liveness(outNonFault: Ints): Violation[] {
    const n = this.ids.size;
    const start = new Int32Array(n + 1);
    for (let e = 0; e < this.edgeTo.length; e++) start[this.edgeTo.at(e) + 1]!++;
    for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, n);
    const preds = new Int32Array(this.edgeTo.length);
    for (let e = 0; e < this.edgeTo.length; e++) preds[fill[this.edgeTo.at(e)]!++] = this.edgeFrom.at(e);
    const live = new Uint8Array(n);
    const queue: number[] = [];
    for (const id of this.endIds) {
      live[id] = 1;
      queue.push(id);
    }
    for (let head = 0; head < queue.length; head++) {
      const id = queue[head]!;
      for (let p = start[id]!; p < start[id + 1]!; p++) {
        const pred = preds[p]!;
        if (!live[pred]) {
          live[pred] = 1;
          queue.push(pred);
        }
      }
    }
    let deadlocks = 0;
    let livelocks = 0;
    let firstDeadlock = -1;
    let firstLivelock = -1;
    for (let id = 0; id < n; id++) {
      if (live[id]) continue;
      if (outNonFault.at(id) === 0) {
        deadlocks++;
        if (firstDeadlock < 0) firstDeadlock = id;
      } else {
        livelocks++;
        if (firstLivelock < 0) firstLivelock = id;
      }
    }
    const violations: Violation[] = [];
    const kind = this.ends.map((end) => end.kind).join(" or ");
    if (firstDeadlock >= 0) {
      violations.push({
        invariant: "deadlock",
        message: `${deadlocks} state(s) are stuck: no step applies, but it is not an end state (${kind})`,
        count: deadlocks,
        trace: [...this.traceTo(firstDeadlock), "  <-- stuck here"],
      });
    }
    if (firstLivelock >= 0) {
      violations.push({
        invariant: "livelock",
        message: `${livelocks} state(s) can still take steps but can never reach an end state (${kind})`,
        count: livelocks,
        trace: [...this.traceTo(firstLivelock), "  <-- no end state is reachable from here"],
      });
    }
    return violations;
  }

  /** One line describing the world as it is. */
  private describe(): string {
    const { model } = this.world;
    return describeState(this.observe(), this.options.substrate, (id) => model.nextHook(id)?.name ?? "");
  }

  /** The shortest known steps to state `id`, replayed from its start state, each followed by the state it reaches. */
  traceTo(id: number): string[] {
    const path: number[] = [];
    let at = id;
    while (this.parent.at(at) >= 0) {
      path.push(this.via.at(at));
      at = this.parent.at(at);
    }
    const root = this.roots[this.via.at(at)];
    if (!root) return [`(unknown start state for ${id})`];
    const world = this.world;
    world.restore(root.snapshot);
    const lines = [...root.prefix, `  = ${this.describe()}`];
    let flags = root.flags;
    for (const code of path.reverse()) {
      try {
        const applied = this.apply(code, flags);
        if (applied) flags = applied.flags;
        lines.push(label(code), `  = ${this.describe()}`);
      } catch (error) {
        lines.push(`${label(code)} threw ${error instanceof Error ? error.message : String(error)}`);
        break;
      }
      world.takeTrace();
    }
    return lines;
  }
}

/**
 * Explore every reachable state of a scenario and check the invariants.
 *
 * @example
 * ```ts
 * const result = explore({ units: 3, substrate: "vm", scenario: "upgrade" });
 * if (result.violations.length) console.log(formatViolations(result));
 * ```
 */
export function explore(options: ExploreOptions): ExploreResult {
  if (options.scenario !== "rollback" && options.scenario !== "refreshBackAfterFailure")
    return new Explorer(options).run();
  const failure = new Explorer({ ...options, scenario: "failure" });
  const failed = failure.run();
  const rollback = new Explorer(options);
  const result = rollback.run(failure);
  if (!failed.complete) return { ...result, complete: false };
  return result;
}

/** A violation report, with its trace, for humans. */
export function formatViolations(result: ExploreResult): string {
  const { units, substrate, scenario } = result.options;
  const head = `${scenario} on ${substrate} with ${units} units`;
  if (!result.violations.length) return `${head}: no violation`;
  return result.violations
    .map((v) =>
      [`${head}: ${v.invariant} (${v.count} times): ${v.message}`, ...v.trace.map((line) => `    ${line}`)].join("\n"),
    )
    .join("\n\n");
}
