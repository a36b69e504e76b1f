import { createHash } from "node:crypto";
import type { Substrate } from "@charm-upgrade/core";
import { ClusterModel, NEW, OLD } from "@charm-upgrade/core/testing";
import type { TraceEntry } from "@charm-upgrade/core/testing";
import type { Breach, EndKind, InvariantName, Snapshot } from "./invariants.js";
import { describeState, isEnd, stateBreaches, stepBreaches } from "./invariants.js";
import type { Reducer } from "./memoReduce.js";
import { memoReduce } from "./memoReduce.js";

/**
 * Exhaustive exploration of the protocol on the core's in-memory Juju model: every order in which Juju may
 * deliver the queued hooks, with bounded faults, from a scenario's start states. States are deduplicated by a
 * hash of their canonical JSON; every state and every step is checked against the safety invariants, and a
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
 * - `unplanned` — `juju refresh` without pre-upgrade-check: nothing may ever be granted.
 */
export type ScenarioName = "upgrade" | "failure" | "rollback" | "unplanned";

/** An end state a scenario may stop in: its kind, and the revision every unit must run there. */
export interface EndState {
  readonly kind: EndKind;
  readonly target: string;
}

/**
 * The end states a scenario must always be able to reach. With the scale-in fault, a failure may also end
 * upgraded (the failing unit was removed before its turn).
 */
export function scenarioEnds(options: Pick<ExploreOptions, "scenario" | "faults">): readonly EndState[] {
  switch (options.scenario) {
    case "upgrade":
      return [{ kind: "upgraded", target: NEW.name }];
    case "failure":
      return options.faults?.scaleIn ? [{ kind: "halted", target: NEW.name }, { kind: "upgraded", target: NEW.name }] : [{ kind: "halted", target: NEW.name }];
    case "rollback":
      return [{ kind: "rolledBack", target: OLD.name }];
    case "unplanned":
      return [{ kind: "unplanned", target: NEW.name }];
  }
}

/** Options of {@link explore}. */
export interface ExploreOptions {
  readonly units: number;
  readonly substrate: Substrate;
  readonly scenario: ScenarioName;
  /**
   * Fault steps, each at most once per run: a duplicated relation-changed and a leadership change (default: on),
   * and the removal of a unit (default: off; on Kubernetes the highest ordinal, as a StatefulSet scales in).
   */
  readonly faults?: { readonly duplicate?: boolean; readonly leaderChange?: boolean; readonly scaleIn?: boolean };
  /** The charm answers a grant in a later hook, so `upgrading` is visible to other units (default `true`). */
  readonly asyncUpgrades?: boolean;
  /** The application's `pause-after-unit-upgrade` (default: unset, which is `first`). */
  readonly pauseAfter?: "none" | "first" | "all";
  /** Test-only: the reducer the model's hooks run through (default: the core's `reduce`, memoised). */
  readonly reduce?: Reducer;
  /** Give up (and report `complete: false`) beyond this many states (default 30,000,000). */
  readonly maxStates?: number;
  /** Called every 100,000 states, for long runs. */
  readonly onProgress?: (progress: { readonly states: number; readonly transitions: number; readonly frontier: number; readonly ms: number }) => void;
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

/** Explorer state beyond the model: which faults this run has used, and whether an upgrade was planned. */
interface Flags {
  readonly duplicated: boolean;
  readonly leaderChanged: boolean;
  readonly scaledIn: boolean;
  readonly planned: boolean;
}

/** A start state, with how it was reached. */
interface Root {
  readonly snapshot: Snapshot;
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

/** The revisions a canonical key may name. */
const REVISIONS = new Map([OLD, NEW].map((r) => [r.name, r]));

/**
 * Decode a model's canonical key (`ClusterModel.canonicalKey`: sorted-keys JSON, revisions by name) back into a
 * snapshot. The BFS frontier keeps states as this text: a fifth of the memory of snapshot objects.
 */
export function decodeKey(text: string): Snapshot {
  const raw = JSON.parse(text) as Omit<Snapshot, "template" | "units"> & {
    template: string;
    units: (Omit<Snapshot["units"][number], "revision"> & { revision: string })[];
  };
  const revision = (name: string) => {
    const found = REVISIONS.get(name);
    if (!found) throw new Error(`unknown revision ${name} in a state key`);
    return found;
  };
  return {
    ...raw,
    pauseAfter: raw.pauseAfter ?? undefined,
    template: revision(raw.template),
    units: raw.units.map((u) => ({ ...u, revision: revision(u.revision) })),
  };
}

const HOOK = 0;
const DUPLICATE = 1;
const LEADER = 2;
const RESUME = 3;
const REMOVE = 4;
const KINDS = 5;

function label(code: number): string {
  const unit = Math.floor(code / KINDS);
  switch (code % KINDS) {
    case HOOK:
      return `app/${unit} runs its next hook`;
    case DUPLICATE:
      return `app/${unit} runs its next hook (relation-changed); FAULT: Juju will deliver it again`;
    case LEADER:
      return `FAULT: app/${unit} becomes the leader`;
    case REMOVE:
      return `operator: juju remove-unit app/${unit} (scale-in)`;
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
  private readonly model: ClusterModel;
  private readonly ends: readonly EndState[];
  private readonly ids = new StateIds();
  private readonly parent = new Ints();
  private readonly via = new Ints();
  private readonly depthOf = new Ints();
  private readonly edgeFrom = new Ints();
  private readonly edgeTo = new Ints();
  private readonly roots: Root[] = [];
  private endIds: number[] = [];
  private readonly endSnapshots = new Map<number, { snapshot: Snapshot; flags: Flags }>();
  private readonly firstBreach = new Map<string, { breach: Breach; id: number; step: number; count: number }>();
  private transitions = 0;
  private complete = true;

  constructor(options: ExploreOptions) {
    this.options = options;
    this.ends = scenarioEnds(options);
    this.model = new ClusterModel({
      units: options.units,
      substrate: options.substrate,
      revision: OLD,
      leader: 0,
      reduce: options.reduce ?? memoReduce(),
      asyncUpgrades: options.asyncUpgrades ?? true,
    });
    if (options.pauseAfter) this.model.pauseAfter = options.pauseAfter;
    this.initial = this.model.snapshot();
  }

  /** The model as constructed: every unit with relation-created queued. */
  private readonly initial: Snapshot;

  /** The model, deployed and settled on the old revision. */
  private deployed(): Snapshot {
    const model = this.model;
    model.restore(this.initial);
    model.settle();
    model.trace.length = 0;
    return model.snapshot();
  }

  /** The start states of the scenario (for `rollback`, `from` supplies the halted states). */
  private buildRoots(from?: Explorer): void {
    const { scenario, substrate } = this.options;
    const model = this.model;
    const settled = this.deployed();
    const fresh = (planned: boolean): Flags => ({ duplicated: false, leaderChanged: false, scaledIn: false, planned });
    const plan = (failUnits: readonly number[], prefix: string[]) => {
      model.restore({ ...settled, failUnits });
      const check = model.runAction(model.leader, "preUpgradeCheck");
      if (!check.ok) throw new Error(`pre-upgrade-check refused on a settled cluster: ${check.message}`);
      model.refresh(NEW);
      model.trace.length = 0;
      this.roots.push({
        snapshot: model.snapshot(),
        flags: fresh(true),
        prefix: [...prefix, `operator: juju run app/${settled.leader} pre-upgrade-check`, `operator: juju refresh app --revision ${NEW.name}`],
      });
    };
    const deploy = `deploy ${this.options.units} units of ${OLD.name} on ${substrate}, settle (every hook run in order)`;
    if (scenario === "upgrade") plan([], [deploy]);
    if (scenario === "failure") for (let f = 0; f < this.options.units; f++) plan([f], [`${deploy}; the upgrade of app/${f} will fail`]);
    if (scenario === "unplanned") {
      model.restore(settled);
      model.refresh(NEW);
      model.trace.length = 0;
      this.roots.push({ snapshot: model.snapshot(), flags: fresh(false), prefix: [deploy, `operator: juju refresh app --revision ${NEW.name} (no pre-upgrade-check)`] });
    }
    if (scenario === "rollback") {
      if (!from) throw new Error("a rollback exploration starts from a failure exploration");
      const seen = new Set<string>();
      for (const [id, end] of from.endSnapshots) {
        if (!isEnd(end.snapshot, "halted", NEW.name)) continue;
        model.restore({ ...end.snapshot, failUnits: [] });
        const before = model.snapshot();
        // The rollback continues the run: faults the failure already used are used up.
        const key = this.keyOf(before, end.flags).hash;
        if (seen.has(key)) continue;
        seen.add(key);
        const leader = model.leader;
        const check = model.runAction(leader, "preUpgradeCheck");
        const prefix = [...from.traceTo(id), `operator: juju run app/${leader} pre-upgrade-check (recovery)`];
        const breaches = stepBreaches({
          substrate,
          before,
          after: model.snapshot(),
          entries: model.trace.splice(0),
          unit: leader,
          planned: true,
          newRevision: NEW.name,
        });
        if (!check.ok) breaches.push({ invariant: "hook-error", message: `pre-upgrade-check refused in a halted state: ${check.message}` });
        model.refresh(OLD);
        model.trace.length = 0;
        const root = { snapshot: model.snapshot(), flags: end.flags, prefix: [...prefix, `operator: juju refresh app --revision ${OLD.name}`] };
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

  private keyOf(snapshot: Snapshot, flags: Flags): { readonly hash: string; readonly text: string } {
    const text = this.model.canonicalKey(snapshot);
    const flagged = `${text}|${flags.duplicated ? 1 : 0}${flags.leaderChanged ? 1 : 0}${flags.scaledIn ? 1 : 0}${flags.planned ? 1 : 0}`;
    // 96 bits: the chance of any collision among 10^8 states is below 10^-12.
    return { hash: createHash("sha1").update(flagged).digest("base64").slice(0, 16), text };
  }

  /** Apply step `code` to the model (already restored to the source state); null when it is not possible. */
  private apply(code: number, flags: Flags): { flags: Flags; unit: number | null } | null {
    const unit = Math.floor(code / KINDS);
    const model = this.model;
    switch (code % KINDS) {
      case HOOK:
        model.runNext(unit);
        return { flags, unit };
      case DUPLICATE: {
        // The uniter ran the hook but did not record it as done (it restarted): it runs the same hook again next.
        const target = model.units.get(unit);
        const next = target?.queue[0];
        if (!target || next?.type !== "relationChanged") return null;
        model.runNext(unit);
        target.queue.unshift({ type: "relationChanged", source: next.source ?? "duplicate" });
        return { flags: { ...flags, duplicated: true }, unit };
      }
      case LEADER:
        model.setLeader(unit);
        return { flags: { ...flags, leaderChanged: true }, unit: null };
      case REMOVE:
        model.removeUnit(unit);
        return { flags: { ...flags, scaledIn: true }, unit: null };
      default: {
        const outcome = model.runAction(unit, "resumeUpgrade");
        return outcome.ok ? { flags, unit } : null;
      }
    }
  }

  /** The steps possible from the current model state. */
  private steps(s: Snapshot, flags: Flags): number[] {
    const codes: number[] = [];
    const units = [...s.units].sort((a, b) => a.id - b.id);
    for (const u of units) if (u.queue.length) codes.push(u.id * KINDS + HOOK);
    if (s.appData["upgrade-stack"] && s.appData["upgrade-stack"] !== "[]") codes.push(s.leader * KINDS + RESUME);
    const faults = this.options.faults ?? {};
    if (faults.duplicate !== false && !flags.duplicated) {
      for (const u of units) if (u.queue[0]?.type === "relationChanged") codes.push(u.id * KINDS + DUPLICATE);
    }
    if (faults.leaderChange !== false && !flags.leaderChanged) for (const u of units) if (u.id !== s.leader) codes.push(u.id * KINDS + LEADER);
    if (faults.scaleIn && !flags.scaledIn && units.length > 1) {
      const removable = this.options.substrate === "k8s" ? units.slice(-1) : units;
      for (const u of removable) codes.push(u.id * KINDS + REMOVE);
    }
    return codes;
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
    const model = this.model;
    this.buildRoots(from);

    const frontier: { id: number; text: string; flags: Flags }[] = [];
    const isEndState: number[] = [];
    const add = (snapshot: Snapshot, flags: Flags, parent: number, via: number, depth: number): number => {
      const { hash, text } = this.keyOf(snapshot, flags);
      const known = this.ids.get(hash);
      if (known !== undefined) return known;
      const id = this.ids.add(hash);
      this.parent.push(parent);
      this.via.push(via);
      this.depthOf.push(depth);
      for (const breach of stateBreaches(snapshot, substrate, NEW.name)) this.record(breach, id, -1);
      if (ends.some((end) => isEnd(snapshot, end.kind, end.target))) {
        isEndState.push(id);
        this.endSnapshots.set(id, { snapshot, flags });
      }
      frontier.push({ id, text, flags });
      return id;
    };
    this.roots.forEach((root, i) => {
      add(root.snapshot, root.flags, -1, i, 0);
    });

    let outNonFault = new Ints();
    for (let head = 0; head < frontier.length; head++) {
      const entry = frontier[head];
      if (!entry) continue;
      frontier[head] = undefined as never; // release memory as the frontier advances
      const item = { id: entry.id, flags: entry.flags, snapshot: decodeKey(entry.text) };
      if (this.ids.size > maxStates) {
        this.complete = false;
        break;
      }
      if (this.options.onProgress && head % 100_000 === 0 && head) {
        this.options.onProgress({ states: this.ids.size, transitions: this.transitions, frontier: frontier.length - head, ms: performance.now() - start });
      }
      let progress = 0;
      for (const code of this.steps(item.snapshot, item.flags)) {
        model.restore(item.snapshot);
        let applied: { flags: Flags; unit: number | null } | null;
        let entries: TraceEntry[] = [];
        try {
          applied = this.apply(code, item.flags);
          entries = model.trace.splice(0);
        } catch (error) {
          model.trace.length = 0;
          this.transitions++;
          this.record({ invariant: "hook-error", message: `${label(code)}: ${error instanceof Error ? error.message : String(error)}` }, item.id, code);
          continue;
        }
        if (!applied) continue;
        this.transitions++;
        const after = model.snapshot();
        for (const breach of stepBreaches({
          substrate,
          before: item.snapshot,
          after,
          entries,
          unit: applied.unit,
          planned: item.flags.planned,
          newRevision: NEW.name,
        })) {
          this.record(breach, item.id, code);
        }
        const fault = code % KINDS === LEADER || code % KINDS === DUPLICATE || code % KINDS === REMOVE;
        const target = add(after, applied.flags, item.id, code, (this.depthOf.at(item.id) ?? 0) + 1);
        if (!fault) {
          this.edgeFrom.push(item.id);
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
   * Liveness: mark every state from which an end state is reachable by hooks and operator steps alone (faults
   * never help), walking the explored graph backwards from the end states. A state left unmarked with no step at
   * all is a deadlock; one with steps that only lead to other unmarked states is a livelock.
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
        message: `${deadlocks} state(s) are stuck: nothing is queued and no operator step applies, but it is not an end state (${kind})`,
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
    const { substrate } = this.options;
    const lines = [...root.prefix, `  = ${describeState(root.snapshot, substrate)}`];
    const model = this.model;
    model.restore(root.snapshot);
    let flags = root.flags;
    for (const code of path.reverse()) {
      try {
        const applied = this.apply(code, flags);
        if (applied) flags = applied.flags;
        lines.push(label(code), `  = ${describeState(model.snapshot(), substrate)}`);
      } catch (error) {
        lines.push(`${label(code)} threw ${error instanceof Error ? error.message : String(error)}`);
        break;
      }
      model.trace.length = 0;
    }
    return lines;
  }
}

/**
 * Explore every reachable state of a scenario and check the protocol's invariants.
 *
 * @example
 * ```ts
 * const result = explore({ units: 3, substrate: "vm", scenario: "upgrade" });
 * if (result.violations.length) console.log(formatViolations(result));
 * ```
 */
export function explore(options: ExploreOptions): ExploreResult {
  if (options.scenario !== "rollback") return new Explorer(options).run();
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
    .map((v) => [`${head}: ${v.invariant} (${v.count} times): ${v.message}`, ...v.trace.map((line) => `    ${line}`)].join("\n"))
    .join("\n\n");
}
