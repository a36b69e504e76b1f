import type { Dependencies } from "../dependencyModel.js";
import type { Effect } from "../effects.js";
import type { UpgradeEvent } from "../events.js";
import type { PeerView } from "../peerView.js";
import { KEYS, readPeerView } from "../peerView.js";
import { createUpgradeState, reduce } from "../reduce.js";
import type { ReduceResult, UpgradeState } from "../reduce.js";
import type { Substrate } from "../substrate.js";
import type { UnitState } from "../unitState.js";
import { isUnitState } from "../unitState.js";

/**
 * A minimal model of a Juju application, for testing the core alone: unit and app databags, one queue of hook
 * events per unit, hooks that commit their relation writes only when they finish, `relation-changed` to every
 * other unit after a commit (none when nothing changed, none to the leader for its own app write), and on
 * Kubernetes a StatefulSet partition and pods that restart highest first. Each hook builds the state afresh from
 * the databags, as a real hook process does. The Juju adapter and the full simulator live in other packages;
 * this model exists so the protocol's invariants can be property-tested against the pure reducer.
 */

/** The event kinds a hook can carry in this model (views are filled in when the hook runs). */
export type HookEventType = "relationCreated" | "relationChanged" | "upgradeCharm" | "leaderElected" | "tick";

/**
 * A queued hook. `source` is the unit (`app/3`) or application (`app`) whose data changed, for relation-changed:
 * as in Juju, a second change from the same source before the hook runs does not queue a second hook.
 */
export interface QueuedHook {
  readonly type: HookEventType;
  readonly source?: string;
}

/** One revision of the charm: its DEPENDENCIES and the workload version it installs. */
export interface Revision {
  readonly name: string;
  readonly dependencies: Dependencies;
}

/** A simulated unit. */
export interface ModelUnit {
  readonly id: number;
  databag: Record<string, string>;
  /** The charm code this unit runs. */
  revision: Revision;
  /** The workload version actually installed. */
  workload: string;
  queue: QueuedHook[];
  deferred: HookEventType[];
  /** Kubernetes: the pod is being restarted onto a new revision. */
  restarting: boolean;
}

/** One thing that happened, for assertions and counterexamples. */
export type TraceEntry =
  | {
      readonly kind: "hook";
      readonly unit: number;
      readonly event: string;
      readonly effects: readonly Effect[];
      /** The hook crashed after its work: its relation writes were discarded and Juju retries it. */
      readonly crashed?: true;
    }
  | { readonly kind: "grant"; readonly unit: number; readonly upgrading: readonly number[]; readonly held?: readonly number[] }
  | { readonly kind: "commit"; readonly unit: number; readonly unitData: Record<string, string>; readonly appData: Record<string, string> }
  | { readonly kind: "partition"; readonly partition: number }
  | { readonly kind: "action"; readonly unit: number; readonly action: string; readonly ok: boolean; readonly message: string };

/** Options of a {@link ClusterModel}. */
export interface ClusterOptions {
  readonly app?: string;
  readonly units: number;
  readonly substrate: Substrate;
  readonly revision: Revision;
  /** The Juju leader (default: unit 0). */
  readonly leader?: number;
  /** Machines: the stack the charm builds from the unit numbers (default: the leader at the bottom, others highest first). */
  readonly buildStack?: (ids: readonly number[], leader: number) => number[];
  /** Units whose upgrade fails (the charm reports `upgradeFailed`). */
  readonly failUnits?: readonly number[];
  /**
   * The reducer every hook runs through (default: the core's {@link reduce}). Verification passes a memoised one
   * for speed, and a deliberately broken one to prove that its checker catches a bug.
   */
  readonly reduce?: (state: UpgradeState, event: UpgradeEvent) => ReduceResult;
  /**
   * The charm upgrades its workload over more than one hook (default `false`: it answers every grant at once). On
   * the first grant (the unit's committed state is not yet `upgrading`) the charm starts the upgrade and answers
   * nothing, and a later hook (`tick`: the workload restarted) is queued; when granted again while `upgrading`,
   * it answers `upgradeCompleted` (or `upgradeFailed`). Other units then see `upgrading` committed.
   */
  readonly asyncUpgrades?: boolean;
}

/** Options of {@link ClusterModel.runNext}. */
export interface RunOptions {
  /**
   * The hook crashes after doing its work: effects outside Juju (the workload upgrade, the StatefulSet partition)
   * have happened, but Juju discards its relation writes, the charm's deferred events are as before the hook, and
   * Juju retries the same hook before any other of that unit.
   */
  readonly crash?: boolean;
}

/** A unit in a {@link ClusterSnapshot}. */
export interface UnitSnapshot {
  readonly id: number;
  readonly databag: Readonly<Record<string, string>>;
  readonly revision: Revision;
  readonly workload: string;
  readonly queue: readonly QueuedHook[];
  readonly deferred: readonly HookEventType[];
  readonly restarting: boolean;
}

/**
 * Everything that decides what a {@link ClusterModel} does next, as plain data (the trace is not part of it):
 * take one with {@link ClusterModel.snapshot}, go back to it with {@link ClusterModel.restore}.
 */
export interface ClusterSnapshot {
  /** Units in the model's order (the order `runnable()` lists them). */
  readonly units: readonly UnitSnapshot[];
  readonly appData: Readonly<Record<string, string>>;
  readonly leader: number;
  readonly partition: number;
  readonly template: Revision;
  readonly failUnits: readonly number[];
  readonly pauseAfter: unknown;
  readonly holds: readonly (readonly [number, string])[];
}

/** The result of running an action. */
export interface ActionOutcome {
  readonly ok: boolean;
  readonly message: string;
  readonly results: Record<string, string>;
}

/** The default machine stack: the leader (workload primary) at the bottom, other units highest number first. */
export function defaultStack(ids: readonly number[], leader: number): number[] {
  return [leader, ...ids.filter((id) => id !== leader).sort((a, b) => a - b)];
}

/** A Juju application of N units, driven through the pure reducer. */
export class ClusterModel {
  readonly app: string;
  readonly substrate: Substrate;
  readonly units = new Map<number, ModelUnit>();
  appData: Record<string, string> = {};
  leader: number;
  partition = 0;
  /** Kubernetes: the revision in the StatefulSet's pod template. */
  template: Revision;
  readonly trace: TraceEntry[] = [];
  failUnits: Set<number>;
  /** The application's config `pause-after-unit-upgrade` (undefined: the default, `first`). */
  pauseAfter: unknown = undefined;
  /** Units whose charm holds the roll, with the reason (e.g. a backup running there). */
  readonly holds = new Map<number, string>();
  private readonly buildStack: (ids: readonly number[], leader: number) => number[];
  private readonly reduceHook: (state: UpgradeState, event: UpgradeEvent) => ReduceResult;
  /** See {@link ClusterOptions.asyncUpgrades}. */
  asyncUpgrades: boolean;

  constructor(options: ClusterOptions) {
    this.app = options.app ?? "app";
    this.substrate = options.substrate;
    this.leader = options.leader ?? 0;
    this.template = options.revision;
    this.failUnits = new Set(options.failUnits ?? []);
    this.buildStack = options.buildStack ?? defaultStack;
    this.reduceHook = options.reduce ?? reduce;
    this.asyncUpgrades = options.asyncUpgrades ?? false;
    for (let id = 0; id < options.units; id++) this.addUnit(id, options.revision);
  }

  /** Add a unit running `revision`; it will get relation-created. Every other unit gets relation-changed. */
  addUnit(id: number, revision: Revision = this.template): void {
    this.version++;
    this.units.set(id, {
      id,
      databag: {},
      revision,
      workload: workloadOf(revision),
      queue: [{ type: "relationCreated" }],
      deferred: [],
      restarting: false,
    });
    for (const other of this.units.values()) if (other.id !== id) this.enqueue(other, "relationChanged", `${this.app}/${id}`);
  }

  /** Queue a hook on `unit`, coalescing relation-changed from the same source as Juju does. */
  enqueue(unit: ModelUnit, type: HookEventType, source?: string): void {
    if (type === "relationChanged" && unit.queue.some((q) => q.type === type && q.source === source)) return;
    unit.queue.push(source === undefined ? { type } : { type, source });
  }

  /** Remove a unit (scale-in); the others get relation-changed (departed). */
  removeUnit(id: number): void {
    this.version++;
    this.units.delete(id);
    if (this.leader === id) {
      const next = [...this.units.keys()].sort((a, b) => a - b)[0];
      if (next !== undefined) this.setLeader(next);
    }
    for (const other of this.units.values()) this.enqueue(other, "relationChanged", `${this.app}/${id}`);
  }

  /** Juju elects another leader. */
  setLeader(id: number): void {
    this.leader = id;
    const unit = this.units.get(id);
    if (unit) this.enqueue(unit, "leaderElected");
  }

  /** The peer view a hook on `unit` reads (validated once per committed change, as every unit reads the same data). */
  viewFor(unit: number): PeerView {
    if (!this.cached || this.cached.version !== this.version) {
      const units: Record<string, Record<string, string>> = {};
      for (const u of this.units.values()) units[`${this.app}/${u.id}`] = u.databag;
      this.cached = { version: this.version, view: this.readView(units, this.appData) };
    }
    return { ...this.cached.view, leader: unit === this.leader };
  }

  /**
   * Validate databags into a view, remembering views by content: every unit reads the same data, and a state
   * that is restored or reached again reads what was validated before. (The view depends only on the databags;
   * `leader` is set by the caller.)
   */
  private readView(units: Record<string, Record<string, string>>, app: Record<string, string>): PeerView {
    const key = JSON.stringify([units, app]);
    let view = this.views.get(key);
    if (!view) {
      if (this.views.size >= 4096) this.views.clear();
      view = readPeerView({ leader: false, units, app });
      this.views.set(key, view);
    }
    return view;
  }

  private readonly views = new Map<string, PeerView>();

  /** Bumped on every change of the databags or membership; keys the cached view. */
  private version = 0;
  private cached: { version: number; view: PeerView } | null = null;

  /** Each unit's written state. */
  states(): Map<number, UnitState | null> {
    const out = new Map<number, UnitState | null>();
    for (const u of this.units.values()) {
      const s = u.databag[KEYS.state];
      out.set(u.id, isUnitState(s) ? s : null);
    }
    return out;
  }

  /** The committed upgrade stack, or null. */
  stack(): number[] | null {
    const raw = this.appData[KEYS.stack];
    if (!raw) return null;
    const parsed = JSON.parse(raw) as number[];
    return parsed.length ? parsed : null;
  }

  /** Units with a queued hook. */
  runnable(): number[] {
    return [...this.units.values()].filter((u) => u.queue.length > 0).map((u) => u.id);
  }

  /** Run the next queued hook of `unit` (with `{ crash: true }`: the hook crashes, see {@link RunOptions}). */
  runNext(unit: number, options: RunOptions = {}): void {
    const u = this.units.get(unit);
    const queued = u?.queue.shift();
    if (!u || !queued) return;
    if (options.crash) {
      const deferred = [...u.deferred];
      this.runHook(u, queued.type, true);
      u.deferred = deferred;
      u.queue.unshift(queued);
    } else {
      this.runHook(u, queued.type);
    }
    if (this.substrate === "k8s") this.k8sController();
  }

  /** The model's state as plain data (copied; revisions are shared, they are never mutated). */
  snapshot(): ClusterSnapshot {
    return {
      units: [...this.units.values()].map((u) => ({
        id: u.id,
        databag: { ...u.databag },
        revision: u.revision,
        workload: u.workload,
        queue: u.queue.map((q) => ({ ...q })),
        deferred: [...u.deferred],
        restarting: u.restarting,
      })),
      appData: { ...this.appData },
      leader: this.leader,
      partition: this.partition,
      template: this.template,
      failUnits: [...this.failUnits],
      pauseAfter: this.pauseAfter,
      holds: [...this.holds],
    };
  }

  /**
   * Go back to a {@link snapshot} (the trace is kept). Revisions are told apart by name, so a snapshot that went
   * through JSON restores to a model whose pods compare equal to the template when they run the same revision.
   */
  restore(snapshot: ClusterSnapshot): void {
    const revisions = new Map<string, Revision>([[snapshot.template.name, snapshot.template]]);
    const intern = (r: Revision): Revision => {
      const known = revisions.get(r.name);
      if (known) return known;
      revisions.set(r.name, r);
      return r;
    };
    this.units.clear();
    for (const u of snapshot.units) {
      this.units.set(u.id, {
        id: u.id,
        databag: { ...u.databag },
        revision: intern(u.revision),
        workload: u.workload,
        queue: u.queue.map((q) => ({ ...q })),
        deferred: [...u.deferred],
        restarting: u.restarting,
      });
    }
    this.appData = { ...snapshot.appData };
    this.leader = snapshot.leader;
    this.partition = snapshot.partition;
    this.template = snapshot.template;
    this.failUnits = new Set(snapshot.failUnits);
    this.pauseAfter = snapshot.pauseAfter;
    this.holds.clear();
    for (const [id, reason] of snapshot.holds) this.holds.set(id, reason);
    this.version++;
  }

  /** An independent copy of this model (same options and state; an empty trace). */
  clone(): ClusterModel {
    const copy = new ClusterModel({
      app: this.app,
      units: 0,
      substrate: this.substrate,
      revision: this.template,
      leader: this.leader,
      buildStack: this.buildStack,
      reduce: this.reduceHook,
      asyncUpgrades: this.asyncUpgrades,
    });
    copy.restore(this.snapshot());
    return copy;
  }

  /**
   * A canonical text of the model's state: JSON with sorted keys, units by number, revisions by name, the trace
   * left out. Two models with the same key behave the same from here on; use it to deduplicate states.
   */
  canonicalKey(snapshot: ClusterSnapshot = this.snapshot()): string {
    // The same text as a generic sorted-keys JSON encoder would give, written out field by field (alphabetical
    // order) because explorations compute it for every state they reach.
    const s = snapshot;
    const units = [...s.units]
      .sort((a, b) => a.id - b.id)
      .map((u) => {
        const queue = u.queue.map((q) => (q.source === undefined ? `{"type":${JSON.stringify(q.type)}}` : `{"source":${JSON.stringify(q.source)},"type":${JSON.stringify(q.type)}}`));
        return (
          `{"databag":${sortedRecord(u.databag)},"deferred":${JSON.stringify(u.deferred)},"id":${u.id},"queue":[${queue.join(",")}],` +
          `"restarting":${u.restarting},"revision":${JSON.stringify(u.revision.name)},"workload":${JSON.stringify(u.workload)}}`
        );
      });
    const failUnits = [...s.failUnits].sort((a, b) => a - b);
    const holds = [...s.holds].sort((a, b) => a[0] - b[0]);
    return (
      `{"appData":${sortedRecord(s.appData)},"failUnits":${JSON.stringify(failUnits)},"holds":${JSON.stringify(holds)},"leader":${s.leader},` +
      `"partition":${s.partition},${s.pauseAfter === undefined ? "" : `"pauseAfter":${stableJson(s.pauseAfter)},`}` +
      `"template":${JSON.stringify(s.template.name)},"units":[${units.join(",")}]}`
    );
  }

  /** `juju refresh`: new charm code. Machines: every unit gets upgrade-charm. Kubernetes: the template changes. */
  refresh(revision: Revision): void {
    this.template = revision;
    if (this.substrate === "vm") {
      for (const u of this.units.values()) {
        u.revision = revision;
        this.enqueue(u, "upgradeCharm");
      }
    } else {
      this.k8sController();
    }
  }

  /** Run an operator action on `unit` (a hook of its own). */
  runAction(unit: number, action: "preUpgradeCheck" | "resumeUpgrade"): ActionOutcome {
    const u = this.units.get(unit);
    if (!u) return { ok: false, message: `no unit ${unit}`, results: {} };
    const outcome = this.runHook(u, action);
    this.trace.push({ kind: "action", unit, action, ok: outcome.ok, message: outcome.message });
    if (this.substrate === "k8s") this.k8sController();
    return outcome;
  }

  /** Run hooks in the order `pick` chooses until none is queued or `limit` hooks ran; returns hooks run. */
  settle(pick?: (runnable: readonly number[]) => number, limit = 10_000): number {
    let ran = 0;
    if (pick) {
      for (let runnable = this.runnable(); runnable.length && ran < limit; runnable = this.runnable()) {
        this.runNext(pick(runnable));
        ran++;
      }
      return ran;
    }
    // The first runnable unit, found without listing them all (N = 1000 runs millions of hooks).
    for (let next = this.firstRunnable(); next !== null && ran < limit; next = this.firstRunnable()) {
      this.runNext(next);
      ran++;
    }
    return ran;
  }

  private firstRunnable(): number | null {
    for (const u of this.units.values()) if (u.queue.length > 0) return u.id;
    return null;
  }

  private k8sController(): void {
    // The StatefulSet controller: pods at ordinal >= partition not on the template revision restart, highest
    // first, one at a time (the next waits until the restarted one has run its upgrade-charm hook).
    if ([...this.units.values()].some((u) => u.restarting)) return;
    const outdated = [...this.units.values()]
      .filter((u) => u.id >= this.partition && u.revision !== this.template)
      .sort((a, b) => b.id - a.id)[0];
    if (!outdated) return;
    outdated.revision = this.template;
    outdated.restarting = true;
    outdated.deferred = [];
    outdated.queue = [{ type: "upgradeCharm" }, ...outdated.queue.filter((e) => e.type !== "upgradeCharm")];
  }

  private runHook(u: ModelUnit, event: HookEventType | "preUpgradeCheck" | "resumeUpgrade", crash = false): ActionOutcome {
    const unitWrites: Record<string, string> = {};
    const appWrites: Record<string, string> = {};
    let outcome: ActionOutcome = { ok: true, message: "", results: {} };
    const results: Record<string, string> = {};
    const isLeader = u.id === this.leader;
    const view = (): PeerView => {
      if (!Object.keys(unitWrites).length && !Object.keys(appWrites).length) return this.viewFor(u.id);
      const units: Record<string, Record<string, string>> = {};
      for (const other of this.units.values()) {
        units[`${this.app}/${other.id}`] = other.id === u.id ? { ...other.databag, ...unitWrites } : other.databag;
      }
      return { ...this.readView(units, { ...this.appData, ...appWrites }), leader: isLeader };
    };
    let state: UpgradeState = createUpgradeState({
      app: this.app,
      unit: u.id,
      substrate: this.substrate,
      dependencies: u.revision.dependencies,
      view: view(),
      settings: { pauseAfterUnitUpgrade: this.pauseAfter, hold: this.holds.get(u.id) ?? null },
    });
    const pending: UpgradeEvent[] = [];
    const replay = event === "relationCreated" ? [] : u.deferred.splice(0);
    for (const type of replay) pending.push({ type, view: null });
    pending.push({ type: event, view: null });
    const allEffects: Effect[] = [];
    const apply = (ev: UpgradeEvent, depth: number) => {
      const withView = "view" in ev ? ({ ...ev, view: view() } as UpgradeEvent) : ev;
      const result = this.reduceHook(state, withView);
      state = result.state;
      allEffects.push(...result.effects);
      // The charm's answers are reduced after this step's effects are all carried out, in order.
      const feedback: UpgradeEvent[] = [];
      for (const effect of result.effects) {
        switch (effect.type) {
          case "writeUnitData":
            Object.assign(unitWrites, effect.data);
            break;
          case "writeAppData":
            if (!isLeader) throw new Error(`unit ${u.id} wrote the app databag without being leader`);
            Object.assign(appWrites, effect.data);
            break;
          case "defer":
            if (ev.type !== "preUpgradeCheck" && ev.type !== "resumeUpgrade" && "view" in ev) u.deferred.push(ev.type as HookEventType);
            break;
          case "runPreUpgradeCheck": {
            if (depth > 2) break;
            const ids = [...this.units.keys()];
            feedback.push({ type: "preUpgradeCheckPassed", stack: this.buildStack(ids, this.leader) });
            break;
          }
          case "grantUpgrade": {
            if (depth > 2) break;
            const upgrading = [...this.units.values()]
              .filter((o) => o.id !== u.id && o.databag[KEYS.state] === "upgrading")
              .map((o) => o.id);
            // Holds the cluster can know of: committed to a databag (a charm's hold takes effect at its next hook).
            const held = [...this.units.values()].filter((o) => o.databag[KEYS.hold]).map((o) => o.id);
            this.trace.push({ kind: "grant", unit: u.id, upgrading, held });
            if (this.asyncUpgrades && u.databag[KEYS.state] !== "upgrading") {
              // The upgrade started; the charm answers when granted again in a later hook.
              this.enqueue(u, "tick");
              break;
            }
            if (this.failUnits.has(u.id)) {
              feedback.push({ type: "upgradeFailed", cause: `simulated failure of ${this.app}/${u.id}` });
            } else {
              u.workload = workloadOf(u.revision);
              feedback.push({ type: "upgradeCompleted" });
            }
            break;
          }
          case "setPartition":
            this.partition = effect.partition;
            this.trace.push({ kind: "partition", partition: effect.partition });
            break;
          case "actionFail":
            outcome = { ok: false, message: effect.message, results: {} };
            break;
          case "actionResult":
            Object.assign(results, effect.results);
            break;
          default:
            break;
        }
      }
      for (const next of feedback) apply(next, depth + 1);
    };
    for (const ev of pending) apply(ev, 0);
    if (outcome.ok) outcome = { ok: true, message: results.message ?? "", results };
    if (crash) {
      this.trace.push({ kind: "hook", unit: u.id, event, effects: allEffects, crashed: true });
      return outcome;
    }
    this.trace.push({ kind: "hook", unit: u.id, event, effects: allEffects });
    this.commit(u, unitWrites, appWrites);
    if (event === "upgradeCharm") u.restarting = false;
    return outcome;
  }

  private commit(u: ModelUnit, unitWrites: Record<string, string>, appWrites: Record<string, string>): void {
    const unitChanged = Object.entries(unitWrites).some(([k, v]) => u.databag[k] !== v);
    const appChanged = Object.entries(appWrites).some(([k, v]) => this.appData[k] !== v);
    if (!unitChanged && !appChanged) return;
    Object.assign(u.databag, unitWrites);
    Object.assign(this.appData, appWrites);
    this.version++;
    this.trace.push({ kind: "commit", unit: u.id, unitData: unitWrites, appData: appWrites });
    for (const other of this.units.values()) {
      if (other.id === u.id) continue;
      // Juju tells every other unit; the writer never hears of its own write, and the leader never hears of an
      // app-databag write (so the leader must act on its own writes in the same hook, which the core does).
      if (unitChanged) this.enqueue(other, "relationChanged", `${this.app}/${u.id}`);
      if (appChanged && other.id !== this.leader) this.enqueue(other, "relationChanged", this.app);
    }
  }
}

/** A string record as JSON with its keys sorted. */
function sortedRecord(record: Readonly<Record<string, string>>): string {
  const keys = Object.keys(record).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i ? "," : ""}${JSON.stringify(key)}:${JSON.stringify(record[key])}`;
  }
  return `${out}}`;
}

/** JSON with object keys sorted at every level, so equal data always gives the same text. */
function stableJson(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  let out: string;
  if (Array.isArray(value)) {
    out = "[";
    for (let i = 0; i < value.length; i++) out += (i ? "," : "") + stableJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out = "{";
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${stableJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

/** The workload version a revision installs: the `version` of its `workload` entry, else of its first entry. */
export function workloadOf(revision: Revision): string {
  const deps = revision.dependencies;
  const entry = deps.workload ?? Object.values(deps)[0];
  return entry?.version ?? revision.name;
}
