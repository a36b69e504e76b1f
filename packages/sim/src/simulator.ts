import type { Dependencies, Effect, Substrate, UnitState } from "@charm-upgrade/core";
import { ClusterNotReadyError, isUnitState, KEYS, parseDependencies } from "@charm-upgrade/core";
import type { DispatchResult, GrantOutcome, InMemoryAction, InMemoryLogLine, InMemoryModel, StatusInfo, UpgradeOptions } from "@charm-upgrade/juju";
import { createUpgrade, InMemoryHookTools } from "@charm-upgrade/juju";
import type { Random } from "@charm-upgrade/core/testing";
import type { SimInspection, SimInspector } from "./simInspection.js";
import { createSimInspection } from "./simInspection.js";
import { createRandom } from "@charm-upgrade/core/testing";
import { DEFAULT_REVISIONS, workloadVersion } from "./revisions.js";

/** The peer relation of the simulated application: endpoint `upgrade` (interface `upgrade`), relation id 1. */
export const PEER_RELATION = { name: "upgrade", id: 1 } as const;

const CREATED = `${PEER_RELATION.name}-relation-created`;
const JOINED = `${PEER_RELATION.name}-relation-joined`;
const CHANGED = `${PEER_RELATION.name}-relation-changed`;
const DEPARTED = `${PEER_RELATION.name}-relation-departed`;

/** The operator actions the simulated charm declares. */
export type ActionName = "pre-upgrade-check" | "resume-upgrade";

/**
 * Faults a simulation injects on demand. Rates are chances per opportunity, drawn from the seeded generator, so a
 * seed replays the same faults. The `...After` faults fire once, after that many hooks since the first
 * `refresh()` (mid-upgrade).
 */
export interface Faults {
  /** Chance that a hook crashes after doing its work: Juju discards its relation writes and retries it. */
  readonly crash?: number | undefined;
  /** The most crashes injected in one simulation (default 10), so that every run ends. */
  readonly maxCrashes?: number | undefined;
  /** Chance that a `relation-changed` is queued twice (Juju coalesces; a duplicate must be harmless). */
  readonly duplicate?: number | undefined;
  /** Chance that a unit runs a later queued `relation-changed` before an earlier one. */
  readonly reorder?: number | undefined;
  /** Juju elects another leader (chosen by the seed) after this many hooks since the first refresh. */
  readonly leaderChangeAfter?: number | undefined;
  /** A unit is added (on the application's current charm) after this many hooks since the first refresh. */
  readonly addUnitAfter?: number | undefined;
  /** A unit is removed (on machines chosen by the seed, on Kubernetes the highest ordinal) after this many hooks. */
  readonly removeUnitAfter?: number | undefined;
}

/** Options of a {@link Simulator}. */
export interface SimulatorOptions {
  /** Units deployed at the start (at least 1). */
  readonly units: number;
  /** Machines (`vm`, default) or Kubernetes (`k8s`: a StatefulSet with a rolling-update partition). */
  readonly substrate?: Substrate | undefined;
  /** Seed of the scheduler and the faults (default 1). */
  readonly seed?: number | undefined;
  /** Application name (default `db`). */
  readonly app?: string | undefined;
  /** The charm's DEPENDENCIES per revision number (default {@link DEFAULT_REVISIONS}). */
  readonly revisions?: Readonly<Record<number, unknown>> | undefined;
  /** The revision deployed (default: the lowest revision number). */
  readonly revision?: number | undefined;
  /** The initial Juju leader's unit number (default 0). */
  readonly leader?: number | undefined;
  /** Units whose workload upgrade fails when granted (see {@link Simulator.setFailingUnits}). */
  readonly failUnits?: readonly number[] | undefined;
  /** Make the charm's pre-upgrade check refuse, with this message. */
  readonly failPreUpgradeCheck?: string | undefined;
  readonly faults?: Faults | undefined;
  /** Called for everything that happens, in order; a returned promise is awaited (e.g. to pace a live view). */
  readonly onEvent?: ((event: SimEvent) => void | Promise<void>) | undefined;
  /** The application's config `pause-after-unit-upgrade` (default: unset, i.e. `first`); see {@link Simulator.config}. */
  readonly pauseAfterUnitUpgrade?: string | undefined;
  /**
   * An xstate inspection observer (e.g. `@statelyai/inspect`'s `inspector.inspect`): every unit shows up as an
   * actor of the upgrade machine, with each event it reduces and its snapshots (see {@link createSimInspection}).
   */
  readonly inspect?: SimInspector | undefined;
}

/** How a hook or action ended: committed (`ok`), crashed by an injected fault, or failed (threw, or `action-fail`). */
export type HookOutcome = "ok" | "crashed" | "failed";

/** One hook or action run, as recorded. */
export interface HookRecord {
  /** 1-based position in the simulation's history of runs. */
  readonly seq: number;
  readonly unit: string;
  readonly kind: "hook" | "action";
  /** The hook name (`upgrade-relation-changed`, `upgrade-charm`, …) or the action name. */
  readonly hook: string;
  /** The remote unit or application of a relation hook. */
  readonly remote?: string;
  /** The charm revision that ran it. */
  readonly revision: number;
  readonly outcome: HookOutcome;
  /** Why it failed: what was thrown, or the action's failure message. */
  readonly error?: string;
  /** The effects the adapter carried out (empty when the hook threw before finishing). */
  readonly effects: readonly Effect[];
}

/** A committed change of one databag: which hook, who wrote it, which databag, which keys (`""`: deleted). */
export interface DatabagChange {
  readonly seq: number;
  readonly writer: string;
  /** The unit name, or the application name for the application databag. */
  readonly databag: string;
  readonly data: Readonly<Record<string, string>>;
}

/** The charm's `onUpgradeGranted` was called. */
export interface GrantRecord {
  readonly seq: number;
  readonly unit: string;
  readonly revision: number;
  /** Other units whose committed state was `upgrading` at that moment (must be empty). */
  readonly upgradingOthers: readonly string[];
  /** Other units granted earlier whose upgrade has not ended (completed, failed, idle or removed) yet. */
  readonly openGrants: readonly string[];
  /** How many `refresh()` calls came before (1: the first upgrade, 2: its rollback, …). */
  readonly refresh: number;
  /** The workload version the charm was asked to install. */
  readonly version: string;
  /** What the charm answered (`pending`: upgraded, but its post-upgrade health check does not pass yet). */
  readonly outcome: "completed" | "failed" | "pending";
  /** True when the unit was already granted and not finished: the library asks the charm again (idempotent). */
  readonly again: boolean;
  /** Units that held the roll at that moment: a committed `upgrade-hold`, or this unit's own hold (must be empty). */
  readonly held: readonly string[];
}

/** An action's outcome, as the operator sees it. */
export interface ActionOutcome {
  readonly ok: boolean;
  /** `action-set` results. */
  readonly results: Readonly<Record<string, string>>;
  /** The failure message, or the `message` result. */
  readonly message: string;
}

/** Everything that happens in a simulation, in order. */
export type SimEvent =
  | { readonly type: "hook"; readonly record: HookRecord }
  | { readonly type: "state"; readonly seq: number; readonly unit: string; readonly from: UnitState | null; readonly to: UnitState | null }
  | { readonly type: "databag"; readonly change: DatabagChange }
  | { readonly type: "grant"; readonly grant: GrantRecord }
  | { readonly type: "operator"; readonly message: string }
  | { readonly type: "fault"; readonly fault: string; readonly unit: string | null }
  | { readonly type: "leader"; readonly unit: string }
  | { readonly type: "unitAdded"; readonly unit: string; readonly revision: number; readonly workloadVersion: string }
  | { readonly type: "unitRemoved"; readonly unit: string }
  | { readonly type: "partition"; readonly partition: number }
  | { readonly type: "restart"; readonly unit: string; readonly revision: number; readonly workloadVersion: string };

/** A unit as the operator sees it (`juju status`, plus what the simulation knows). */
export interface SimUnitInfo {
  readonly name: string;
  readonly id: number;
  readonly leader: boolean;
  /** The upgrade state in its databag (`null`: none written yet). */
  readonly state: UnitState | null;
  /** The workload version installed. */
  readonly workloadVersion: string;
  /** The charm revision it runs. */
  readonly revision: number;
  readonly status: StatusInfo;
  /** Hooks queued for it, in order. */
  readonly queued: readonly string[];
  /** The error of a hook that kept failing (the unit is in error and runs nothing until resolved), or `null`. */
  readonly error: string | null;
  /** Kubernetes: the pod restarted onto a new revision and has not yet run its upgrade-charm. */
  readonly restarting: boolean;
  readonly logs: readonly InMemoryLogLine[];
}

/** What {@link Simulator.settle} did. */
export interface SettleResult {
  readonly hooks: number;
  /** False when the hook limit was reached first. */
  readonly settled: boolean;
}

interface QueuedHook {
  readonly name: string;
  /** Remote unit or application of a relation hook. */
  readonly remote?: string;
  /** A failed hook that Juju retries (it runs before anything else on its unit). */
  readonly retry?: boolean;
}

interface UnitRecord {
  readonly id: number;
  readonly name: string;
  revision: number;
  workload: string;
  related: boolean;
  status: StatusInfo;
  applicationVersion: string;
  readonly store: Record<string, string>;
  readonly logs: InMemoryLogLine[];
  queue: QueuedHook[];
  restarting: boolean;
  failures: number;
  error: string | null;
  crashNext: boolean;
}

/** Consecutive real failures of a hook before the unit is left in error (Juju keeps retrying; we stop). */
const MAX_HOOK_FAILURES = 3;

/** A simulated crash: the charm process threw after its work. */
class SimulatedCrash extends Error {
  constructor(hook: string) {
    super(`simulated crash after ${hook}`);
    this.name = "SimulatedCrash";
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * An in-memory Juju running one application of N units with the peer relation `upgrade`, each hook running the
 * real `@charm-upgrade/juju` adapter (`createUpgrade(...).dispatch()`) over `InMemoryHookTools` — the production
 * code path, with a simulated charm.
 *
 * Juju's rules it keeps: a hook's relation writes commit only if it succeeds; only the leader writes the
 * application databag, a unit only its own; after a commit every other unit gets `relation-changed` (none when
 * nothing changed, none to the leader for its own application-databag write), coalesced per (receiver, source)
 * while still queued; one hook at a time per unit; a failed hook is retried before anything else on its unit;
 * `juju refresh` replaces the charm and, on machines, runs `upgrade-charm` on every unit first. On Kubernetes a
 * StatefulSet restarts pods at or above its partition onto the template revision, highest first, one at a time.
 *
 * A seeded scheduler picks which unit runs next; {@link Faults} are injected on demand.
 *
 * @example
 * ```ts
 * const sim = new Simulator({ units: 3, substrate: "vm", seed: 7 });
 * await sim.settle();
 * await sim.runAction(sim.leader, "pre-upgrade-check");
 * sim.refresh(2);
 * await sim.settle();
 * sim.units().map((u) => [u.name, u.state, u.workloadVersion]); // every unit idle on 1.1.0
 * ```
 */
export class Simulator {
  readonly app: string;
  readonly substrate: Substrate;
  readonly seed: number;
  /** Every hook and action run, in order. */
  readonly hooks: HookRecord[] = [];
  /** Every committed databag change, in order. */
  readonly changes: DatabagChange[] = [];
  /** Every call of the charm's `onUpgradeGranted`, in order. */
  readonly grants: GrantRecord[] = [];
  /** Everything that happened, in order. */
  readonly events: SimEvent[] = [];
  private readonly revisions: ReadonlyMap<number, Dependencies>;
  private readonly random: Random;
  private readonly faults: Faults;
  private readonly onEvent: SimulatorOptions["onEvent"];
  private readonly inspection: SimInspection | null;
  /** The application's config, read by every hook (`juju config` changes it for the next hooks). */
  readonly config: { pauseAfterUnitUpgrade?: string | undefined } = {};
  private readonly failPreUpgradeCheck: string | undefined;
  private readonly unitMap = new Map<number, UnitRecord>();
  private readonly databags: Record<string, Record<string, string>> = {};
  private readonly appData: Record<string, string> = {};
  private appStatus: StatusInfo = { status: "unknown", message: "" };
  private failing: Set<number>;
  private leaderId: number | null;
  private nextId = 0;
  /** The application's charm revision (machines: the last refreshed; Kubernetes: the pod template's). */
  private charm: number;
  private partitionValue = 0;
  /** Bumped by every change that can make a unit act differently; `settle` stops when a tick round changes none. */
  private progress = 0;
  private refreshes = 0;
  private hooksSinceRefresh = 0;
  private crashes = 0;
  private readonly fired = new Set<string>();
  private readonly openGrants = new Set<string>();
  /** The charm's `hold()` per unit: why it holds the roll (a backup…). */
  private readonly holds = new Map<number, string>();
  /** Units whose post-upgrade health check fails, with why. */
  private readonly unhealthy = new Map<number, string>();
  private busy = false;

  /** @param options - see {@link SimulatorOptions}; the units are deployed at once (their install hooks queued). */
  constructor(options: SimulatorOptions) {
    if (!Number.isSafeInteger(options.units) || options.units < 1) throw new RangeError(`units must be a positive integer, got ${options.units}`);
    this.app = options.app ?? "db";
    this.substrate = options.substrate ?? "vm";
    this.seed = options.seed ?? 1;
    this.random = createRandom(this.seed);
    this.faults = options.faults ?? {};
    this.onEvent = options.onEvent;
    this.inspection = options.inspect ? createSimInspection(options.inspect) : null;
    this.config.pauseAfterUnitUpgrade = options.pauseAfterUnitUpgrade;
    this.failPreUpgradeCheck = options.failPreUpgradeCheck;
    this.failing = new Set(options.failUnits ?? []);
    const revisions = new Map<number, Dependencies>();
    for (const [key, deps] of Object.entries(options.revisions ?? DEFAULT_REVISIONS)) revisions.set(Number(key), parseDependencies(deps));
    if (!revisions.size) throw new RangeError("revisions must name at least one charm revision");
    this.revisions = revisions;
    this.charm = options.revision ?? Math.min(...revisions.keys());
    this.dependenciesOf(this.charm);
    const leader = options.leader ?? 0;
    if (!Number.isSafeInteger(leader) || leader < 0 || leader >= options.units) throw new RangeError(`leader must be a unit number below ${options.units}, got ${leader}`);
    this.leaderId = leader;
    for (let i = 0; i < options.units; i++) this.deployUnit();
    this.emit({ type: "leader", unit: `${this.app}/${leader}` });
  }

  // ---------------------------------------------------------------- what the operator sees

  /** The Juju leader's unit number (`-1` when the application has no unit). */
  get leader(): number {
    return this.leaderId ?? -1;
  }

  /** Kubernetes: the StatefulSet's rolling-update partition; `null` on machines. */
  get partition(): number | null {
    return this.substrate === "k8s" ? this.partitionValue : null;
  }

  /** The application's charm revision (Kubernetes: the StatefulSet's pod template). */
  get revision(): number {
    return this.charm;
  }

  /** A copy of the committed application databag. */
  get applicationData(): Record<string, string> {
    return { ...this.appData };
  }

  /** The committed upgrade stack (last element upgrades next), or `null` when unset, empty or invalid. */
  stack(): number[] | null {
    const raw = this.appData[KEYS.stack];
    if (raw === undefined) return null;
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed) && parsed.length > 0 && parsed.every((id) => typeof id === "number") ? (parsed as number[]) : null;
    } catch {
      return null;
    }
  }

  /** Every unit, by number. */
  units(): SimUnitInfo[] {
    return [...this.unitMap.values()].sort((a, b) => a.id - b.id).map((unit) => this.info(unit));
  }

  /** One unit, by number or name. */
  unit(unit: number | string): SimUnitInfo {
    return this.info(this.record(unit));
  }

  /** The workload version a charm revision installs. */
  versionOf(revision: number): string {
    return workloadVersion(this.dependenciesOf(revision));
  }

  // ---------------------------------------------------------------- what the operator does

  /**
   * `juju refresh --revision <revision>`: new charm code. Machines: every unit runs `upgrade-charm` before its
   * other queued hooks. Kubernetes: the StatefulSet's pod template changes and the controller restarts pods.
   */
  refresh(revision: number): void {
    this.dependenciesOf(revision);
    this.refreshes++;
    this.hooksSinceRefresh = 0;
    this.charm = revision;
    this.progress++;
    this.emit({ type: "operator", message: `juju refresh ${this.app} --revision ${revision}` });
    if (this.substrate === "vm") {
      for (const unit of this.unitMap.values()) {
        unit.revision = revision;
        const rest = unit.queue.filter((hook) => hook.name !== "upgrade-charm");
        const retry = rest[0]?.retry ? rest.splice(0, 1) : [];
        unit.queue = [...retry, { name: "upgrade-charm" }, ...rest];
      }
    } else {
      this.reconcileStatefulSet();
    }
  }

  /** `juju run <unit> <action>`: runs on that unit at once (between hooks), returning the operator's outcome. */
  async runAction(unit: number | string, action: ActionName): Promise<ActionOutcome> {
    const record = this.record(unit);
    this.emit({ type: "operator", message: `juju run ${record.name} ${action}` });
    return this.exclusive(async () => {
      const { outcome } = await this.run(record, { name: action }, "action", false);
      this.reconcileStatefulSet();
      return outcome ?? { ok: false, results: {}, message: "the action did not run" };
    });
  }

  /** `juju add-unit`: a new unit on the application's current charm; the others see it join. Returns its name. */
  addUnit(): string {
    const unit = this.deployUnit();
    this.emit({ type: "operator", message: `juju add-unit ${this.app} (${unit.name})` });
    for (const other of this.unitMap.values()) if (other !== unit) this.enqueue(other, { name: JOINED, remote: unit.name });
    return unit.name;
  }

  /**
   * `juju remove-unit`: the unit leaves at once (its own departing hooks are not simulated); the others see it
   * depart, and if it led, Juju elects the lowest-numbered remaining unit. Default: the highest-numbered unit (what
   * scaling a StatefulSet down removes).
   */
  removeUnit(unit?: number | string): string {
    const record = unit === undefined ? [...this.unitMap.values()].sort((a, b) => b.id - a.id)[0] : this.record(unit);
    if (!record) throw new RangeError("the application has no unit to remove");
    this.emit({ type: "operator", message: `juju remove-unit ${record.name}` });
    this.unitMap.delete(record.id);
    delete this.databags[record.name];
    this.openGrants.delete(record.name);
    this.progress++;
    this.emit({ type: "unitRemoved", unit: record.name });
    for (const other of this.unitMap.values()) {
      other.queue = other.queue.filter((hook) => !(hook.name === CHANGED && hook.remote === record.name) || hook.retry);
      other.queue.push({ name: DEPARTED, remote: record.name });
    }
    if (this.leaderId === record.id) {
      const next = [...this.unitMap.keys()].sort((a, b) => a - b)[0];
      this.leaderId = null;
      if (next !== undefined) this.setLeader(next);
    }
    return record.name;
  }

  /** Juju elects `unit` leader: it gets `leader-elected`; the old leader is no longer leader from now on. */
  setLeader(unit: number | string): void {
    const record = this.record(unit);
    if (this.leaderId === record.id) return;
    this.leaderId = record.id;
    this.progress++;
    this.emit({ type: "leader", unit: record.name });
    this.enqueue(record, { name: "leader-elected" });
  }

  /** Which units' workload upgrade fails from now on (a rollback clears them: the old version installs fine). */
  setFailingUnits(units: readonly number[]): void {
    this.failing = new Set(units);
  }

  /**
   * The charm on `unit` starts another operation that must not overlap the upgrade (`reason`, e.g. a backup), or
   * with `null` finishes it. Its `hold()` answers so from now on; the unit's next hook (an update-status, queued
   * here) records it for the others.
   */
  setHold(unit: number | string, reason: string | null): void {
    const record = this.record(unit);
    if (reason === null) this.holds.delete(record.id);
    else this.holds.set(record.id, reason);
    this.progress++;
    this.emit({ type: "operator", message: reason === null ? `${record.name}: hold released` : `${record.name}: holds the upgrade (${reason})` });
    this.enqueue(record, { name: "update-status" });
  }

  /**
   * The post-upgrade health check of `unit` fails with `reason` from now on (it installs the workload, then answers
   * `pending`), or with `null` passes again; an update-status is queued so the unit checks again.
   */
  setUnhealthy(unit: number | string, reason: string | null): void {
    const record = this.record(unit);
    if (reason === null) this.unhealthy.delete(record.id);
    else this.unhealthy.set(record.id, reason);
    this.progress++;
    this.emit({ type: "operator", message: reason === null ? `${record.name}: healthy again` : `${record.name}: unhealthy after upgrade (${reason})` });
    this.enqueue(record, { name: "update-status" });
  }

  /** `juju config <app> pause-after-unit-upgrade=<value>` (`undefined`: reset): every unit gets config-changed. */
  configure(pauseAfterUnitUpgrade: string | undefined): void {
    this.config.pauseAfterUnitUpgrade = pauseAfterUnitUpgrade;
    this.progress++;
    this.emit({
      type: "operator",
      message: pauseAfterUnitUpgrade === undefined ? `juju config ${this.app} --reset pause-after-unit-upgrade` : `juju config ${this.app} pause-after-unit-upgrade=${pauseAfterUnitUpgrade}`,
    });
    for (const unit of this.unitMap.values()) this.enqueue(unit, { name: "config-changed" });
  }

  /** `juju resolve <unit>`: retry a unit left in error by a hook that kept failing. */
  resolve(unit: number | string): void {
    const record = this.record(unit);
    record.error = null;
    record.failures = 0;
  }

  // ---------------------------------------------------------------- time passing

  /**
   * Run one queued hook: the seeded scheduler picks a unit that has one (or run `unit`'s next hook). Scheduled
   * faults fire first. Returns what ran, or `null` when nothing is queued (on `unit`).
   */
  step(unit?: number | string): Promise<HookRecord | null> {
    const only = unit === undefined ? undefined : this.record(unit);
    return this.exclusive(() => this.stepUnlocked(only));
  }

  /** Fault on demand: `unit`'s next hook crashes after doing its work (its writes are discarded; Juju retries it). */
  injectCrash(unit: number | string): void {
    this.record(unit).crashNext = true;
  }

  /**
   * Run hooks until nothing is queued, then let time pass (`update-status` on every unit) until a whole round of
   * it changes nothing: a deferred event or a pending grant gets its next hook, as in Juju.
   */
  settle(options: { readonly limit?: number | undefined } = {}): Promise<SettleResult> {
    const limit = options.limit ?? 20_000;
    return this.exclusive(async () => {
      let hooks = 0;
      const drain = async () => {
        while (hooks < limit && (await this.stepUnlocked())) hooks++;
      };
      for (;;) {
        await drain();
        if (hooks >= limit) return { hooks, settled: false };
        const before = this.progress;
        for (const unit of this.sorted()) if (unit.error === null) this.enqueue(unit, { name: "update-status" });
        await drain();
        if (hooks >= limit) return { hooks, settled: false };
        if (this.progress === before && !this.runnable().length) return { hooks, settled: true };
      }
    });
  }

  // ---------------------------------------------------------------- internals

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error("Simulator: one call at a time (await the previous step, settle or action)");
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  private emit(event: SimEvent): void | Promise<void> {
    this.events.push(event);
    return this.onEvent?.(event);
  }

  private record(unit: number | string): UnitRecord {
    const id = typeof unit === "number" ? unit : Number(unit.slice(unit.lastIndexOf("/") + 1));
    const record = this.unitMap.get(id);
    if (!record || (typeof unit === "string" && unit !== record.name)) throw new RangeError(`no unit ${unit} in ${this.app}`);
    return record;
  }

  private info(unit: UnitRecord): SimUnitInfo {
    const state = this.databags[unit.name]?.[KEYS.state];
    return {
      name: unit.name,
      id: unit.id,
      leader: unit.id === this.leaderId,
      state: isUnitState(state) ? state : null,
      workloadVersion: unit.workload,
      revision: unit.revision,
      status: { ...unit.status },
      queued: unit.queue.map((hook) => hook.name),
      error: unit.error,
      restarting: unit.restarting,
      logs: unit.logs,
    };
  }

  private dependenciesOf(revision: number): Dependencies {
    const deps = this.revisions.get(revision);
    if (!deps) throw new RangeError(`no charm revision ${revision} (known: ${[...this.revisions.keys()].join(", ")})`);
    return deps;
  }

  private sorted(): UnitRecord[] {
    return [...this.unitMap.values()].sort((a, b) => a.id - b.id);
  }

  private runnable(): UnitRecord[] {
    return this.sorted().filter((unit) => unit.queue.length > 0 && unit.error === null);
  }

  private deployUnit(): UnitRecord {
    const id = this.nextId++;
    const name = `${this.app}/${id}`;
    const unit: UnitRecord = {
      id,
      name,
      revision: this.charm,
      workload: this.versionOf(this.charm),
      related: false,
      status: { status: "unknown", message: "" },
      applicationVersion: "",
      store: {},
      logs: [],
      queue: [{ name: "install" }, { name: CREATED }, { name: "start" }],
      restarting: false,
      failures: 0,
      error: null,
      crashNext: false,
    };
    if (this.leaderId === id || this.leaderId === null) {
      this.leaderId = id;
      unit.queue.splice(2, 0, { name: "leader-elected" });
    }
    this.unitMap.set(id, unit);
    this.databags[name] = {};
    this.progress++;
    this.emit({ type: "unitAdded", unit: name, revision: unit.revision, workloadVersion: unit.workload });
    return unit;
  }

  /** Queue a hook, coalescing `relation-changed` per (receiver, source) as Juju does — unless a duplicate is injected. */
  private enqueue(unit: UnitRecord, hook: QueuedHook): void {
    const coalesced = (hook.name === CHANGED || hook.name === "update-status") && unit.queue.some((q) => q.name === hook.name && q.remote === hook.remote);
    if (!coalesced) unit.queue.push(hook);
    if (hook.name === CHANGED && this.rolls(this.faults.duplicate)) {
      unit.queue.push(hook);
      this.emit({ type: "fault", fault: `duplicate ${CHANGED} from ${hook.remote ?? "?"}`, unit: unit.name });
    }
  }

  private rolls(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random.chance(rate);
  }

  private firesNow(kind: string, after: number | undefined): boolean {
    if (after === undefined || this.refreshes === 0 || this.fired.has(kind) || this.hooksSinceRefresh < after) return false;
    this.fired.add(kind);
    return true;
  }

  private scheduledFaults(): void {
    if (this.firesNow("leaderChange", this.faults.leaderChangeAfter)) {
      const others = this.sorted().filter((unit) => unit.id !== this.leaderId);
      if (others.length) {
        const next = this.random.pick(others);
        this.emit({ type: "fault", fault: `leadership moves to ${next.name}`, unit: next.name });
        this.setLeader(next.id);
      }
    }
    if (this.firesNow("addUnit", this.faults.addUnitAfter)) {
      const name = this.addUnit();
      this.emit({ type: "fault", fault: `unit ${name} added mid-upgrade`, unit: name });
    }
    if (this.firesNow("removeUnit", this.faults.removeUnitAfter) && this.unitMap.size > 1) {
      const victim = this.substrate === "k8s" ? undefined : this.random.pick(this.sorted()).id;
      const name = this.removeUnit(victim);
      this.emit({ type: "fault", fault: `unit ${name} removed mid-upgrade`, unit: name });
      this.reconcileStatefulSet();
    }
  }

  private async stepUnlocked(only?: UnitRecord): Promise<HookRecord | null> {
    this.scheduledFaults();
    const runnable = only ? (this.runnable().includes(only) ? [only] : []) : this.runnable();
    if (!runnable.length) return null;
    const unit = this.random.pick(runnable);
    this.maybeReorder(unit);
    const hook = unit.queue.shift();
    if (!hook) return null;
    const crash = unit.crashNext || ((this.faults.maxCrashes ?? 10) > this.crashes && this.rolls(this.faults.crash));
    if (crash && !unit.crashNext) this.crashes++;
    unit.crashNext = false;
    const { record } = await this.run(unit, hook, "hook", crash);
    if (this.refreshes > 0) this.hooksSinceRefresh++;
    if (record.outcome !== "ok" && this.unitMap.get(unit.id) === unit) {
      // Juju retries a failed hook before anything else on the unit; one that keeps failing leaves it in error.
      if (record.outcome === "failed" && ++unit.failures >= MAX_HOOK_FAILURES) unit.error = record.error ?? "hook failed";
      unit.queue.unshift({ ...hook, retry: true });
    } else {
      unit.failures = 0;
    }
    this.reconcileStatefulSet();
    return record;
  }

  /** Fault: deliver a later queued relation-changed in place of the earliest one (never before relation-created). */
  private maybeReorder(unit: UnitRecord): void {
    if (!this.faults.reorder || !unit.related || unit.queue[0]?.retry) return;
    const changed = unit.queue.flatMap((hook, index) => (hook.name === CHANGED ? [index] : []));
    const first = changed[0];
    if (first === undefined || changed.length < 2 || !this.rolls(this.faults.reorder)) return;
    const index = changed[1 + this.random.int(changed.length - 1)] ?? first;
    const [hook] = unit.queue.splice(index, 1);
    if (!hook) return;
    unit.queue.splice(first, 0, hook);
    this.emit({ type: "fault", fault: `${CHANGED} from ${hook.remote ?? "?"} delivered out of order`, unit: unit.name });
  }

  /** The StatefulSet controller: restart the highest outdated pod at or above the partition, one at a time. */
  private reconcileStatefulSet(): void {
    if (this.substrate !== "k8s") return;
    if ([...this.unitMap.values()].some((unit) => unit.restarting)) return;
    const outdated = this.sorted()
      .filter((unit) => unit.id >= this.partitionValue && unit.revision !== this.charm)
      .at(-1);
    if (!outdated) return;
    outdated.revision = this.charm;
    outdated.workload = this.versionOf(this.charm);
    outdated.restarting = true;
    outdated.queue = [{ name: "upgrade-charm" }, ...outdated.queue.filter((hook) => hook.name !== "upgrade-charm").map(({ retry: _, ...hook }) => hook)];
    outdated.error = null;
    outdated.failures = 0;
    this.progress++;
    this.emit({ type: "restart", unit: outdated.name, revision: this.charm, workloadVersion: outdated.workload });
  }

  private setPartitionFromCharm(partition: number): void {
    if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`invalid partition ${partition}`);
    if (partition === this.partitionValue) return;
    this.partitionValue = partition;
    this.progress++;
    this.emit({ type: "partition", partition });
  }

  private env(unit: UnitRecord, hook: QueuedHook, kind: "hook" | "action"): Record<string, string> {
    const env: Record<string, string> = {
      JUJU_DISPATCH_PATH: `${kind === "action" ? "actions" : "hooks"}/${hook.name}`,
      JUJU_UNIT_NAME: unit.name,
      JUJU_MODEL_NAME: "sim",
      JUJU_MODEL_UUID: "00000000-0000-4000-8000-000000000000",
      JUJU_CHARM_DIR: `/var/lib/juju/agents/unit-${this.app}-${unit.id}/charm`,
      JUJU_VERSION: "3.6.0",
    };
    if (kind === "action") {
      env.JUJU_ACTION_NAME = hook.name;
      env.JUJU_ACTION_UUID = String(this.hooks.length + 1);
      return env;
    }
    env.JUJU_HOOK_NAME = hook.name;
    if (hook.name.startsWith(`${PEER_RELATION.name}-relation-`)) {
      env.JUJU_RELATION = PEER_RELATION.name;
      env.JUJU_RELATION_ID = `${PEER_RELATION.name}:${PEER_RELATION.id}`;
      env.JUJU_REMOTE_APP = this.app;
      if (hook.remote?.includes("/")) env.JUJU_REMOTE_UNIT = hook.remote;
      if (hook.name === DEPARTED && hook.remote) env.JUJU_DEPARTING_UNIT = hook.remote;
    }
    return env;
  }

  /** The simulated charm's code for `unit` (its revision's DEPENDENCIES, and the callbacks of a database charm). */
  private charmOptions(unit: UnitRecord): UpgradeOptions {
    const deps = this.dependenciesOf(unit.revision);
    const common = {
      dependencies: deps,
      pauseAfterUnitUpgrade: this.config.pauseAfterUnitUpgrade,
      hold: () => this.holds.get(unit.id) ?? null,
      inspect: this.inspection?.forUnit(unit.name),
      preUpgradeCheck: async () => {
        if (this.failPreUpgradeCheck !== undefined) {
          throw new ClusterNotReadyError(this.failPreUpgradeCheck, "the simulated charm was told to refuse", "run the simulation without failPreUpgradeCheck");
        }
      },
      onUpgradeGranted: async (): Promise<GrantOutcome> => {
        const failed = this.failing.has(unit.id);
        const name = unit.name;
        const version = workloadVersion(deps);
        const states = this.sorted().map((other) => [other.name, this.databags[other.name]?.[KEYS.state]] as const);
        const unhealthy = this.unhealthy.get(unit.id);
        const held = this.sorted()
          .filter((other) => (other.id === unit.id ? this.holds.has(unit.id) : Boolean(this.databags[other.name]?.[KEYS.hold])))
          .map((other) => other.name);
        const grant: GrantRecord = {
          seq: this.hooks.length + 1,
          unit: name,
          revision: unit.revision,
          upgradingOthers: states.filter(([other, state]) => other !== name && state === "upgrading").map(([other]) => other),
          openGrants: [...this.openGrants].filter((other) => other !== name),
          refresh: this.refreshes,
          version,
          outcome: failed ? "failed" : unhealthy !== undefined ? "pending" : "completed",
          again: this.openGrants.has(name),
          held,
        };
        this.grants.push(grant);
        this.openGrants.add(name);
        await this.emit({ type: "grant", grant });
        if (failed) return { failed: `simulated failure: ${name} could not start workload ${version}` };
        unit.workload = version;
        return unhealthy === undefined ? "completed" : { pending: unhealthy };
      },
    };
    if (this.substrate === "k8s") {
      return { substrate: "k8s", ...common, setPartition: async (partition: number) => this.setPartitionFromCharm(partition) };
    }
    return {
      substrate: "vm",
      ...common,
      // A database charm: the Juju leader is made the workload primary and upgrades last; the others go highest first.
      buildUpgradeStack: async () => {
        const leader = this.leaderId ?? unit.id;
        return [leader, ...this.sorted().map((u) => u.id).filter((id) => id !== leader)];
      },
    };
  }

  /** One hook or action on one unit: a fresh "process" running the adapter, then Juju's commit or discard. */
  private async run(
    unit: UnitRecord,
    hook: QueuedHook,
    kind: "hook" | "action",
    crash: boolean,
  ): Promise<{ record: HookRecord; outcome: ActionOutcome | null }> {
    if (hook.name === CREATED) unit.related = true;
    const action: InMemoryAction | null = kind === "action" ? { name: hook.name, params: {}, results: {}, failure: null, logs: [] } : null;
    const model: InMemoryModel = {
      unit: unit.name,
      leader: unit.id === this.leaderId,
      relation: unit.related ? { ...PEER_RELATION } : null,
      databags: this.databags,
      appData: this.appData,
      status: unit.status,
      appStatus: this.appStatus,
      state: unit.store,
      logs: [],
      action,
      applicationVersion: unit.applicationVersion,
    };
    const juju = new InMemoryHookTools(model);
    const env = this.env(unit, hook, kind);
    let result: DispatchResult | null = null;
    let error: unknown = null;
    try {
      // The charm process: one createUpgrade per hook, as each hook is a new process.
      result = await createUpgrade({ ...this.charmOptions(unit), tools: juju.run, env }).dispatch();
      if (crash) throw new SimulatedCrash(hook.name);
    } catch (thrown) {
      error = thrown;
    }
    unit.status = model.status;
    unit.applicationVersion = model.applicationVersion;
    this.appStatus = model.appStatus;
    unit.logs.push(...model.logs);

    const seq = this.hooks.length + 1;
    let outcome: HookOutcome = "ok";
    let failure: string | undefined;
    if (error) {
      juju.discard();
      outcome = error instanceof SimulatedCrash ? "crashed" : "failed";
      failure = messageOf(error);
    } else {
      const ownBefore = { ...(this.databags[unit.name] ?? {}) };
      const appBefore = { ...this.appData };
      const committed = juju.commit();
      if (committed.stateChanged) this.progress++;
      if (committed.unitChanged) await this.committed(seq, unit, unit.name, ownBefore, this.databags[unit.name] ?? {});
      if (committed.appChanged) await this.committed(seq, unit, this.app, appBefore, this.appData);
      if (action?.failure !== null && action?.failure !== undefined) {
        outcome = "failed";
        failure = action.failure;
      }
      if (kind === "hook" && hook.name === "upgrade-charm") unit.restarting = false;
      // A committed hook after which the unit is not upgrading ends its grant (the charm answered).
      if (this.databags[unit.name]?.[KEYS.state] !== "upgrading") this.openGrants.delete(unit.name);
    }
    const record: HookRecord = {
      seq,
      unit: unit.name,
      kind,
      hook: hook.name,
      ...(hook.remote !== undefined ? { remote: hook.remote } : {}),
      revision: unit.revision,
      outcome,
      ...(failure !== undefined ? { error: failure } : {}),
      effects: result?.effects ?? [],
    };
    this.hooks.push(record);
    await this.emit({ type: "hook", record });
    if (error) await this.emit({ type: "fault", fault: `${hook.name} on ${unit.name} ${outcome}: ${failure ?? ""}`, unit: unit.name });
    let actionOutcome: ActionOutcome | null = null;
    if (action) {
      actionOutcome =
        outcome === "ok"
          ? { ok: true, results: { ...action.results }, message: action.results.message ?? "" }
          : { ok: false, results: { ...action.results }, message: failure ?? "the action failed" };
    }
    return { record, outcome: actionOutcome };
  }

  /** Record a committed databag change, report state changes, and notify every other unit. */
  private async committed(seq: number, writer: UnitRecord, databag: string, before: Record<string, string>, after: Record<string, string>): Promise<void> {
    const data: Record<string, string> = {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (before[key] !== after[key]) data[key] = after[key] ?? "";
    }
    this.progress++;
    const change: DatabagChange = { seq, writer: writer.name, databag, data };
    this.changes.push(change);
    await this.emit({ type: "databag", change });
    const isApp = databag === this.app;
    if (!isApp && KEYS.state in data) {
      const from = before[KEYS.state];
      const to = after[KEYS.state];
      await this.emit({ type: "state", seq, unit: writer.name, from: isUnitState(from) ? from : null, to: isUnitState(to) ? to : null });
    }
    for (const other of this.sorted()) {
      if (other === writer) continue;
      // The leader never hears of an application-databag write (it is the writer's own data).
      if (isApp && other.id === this.leaderId) continue;
      this.enqueue(other, { name: CHANGED, remote: databag });
    }
  }
}
