import type { Dependencies, Effect, Substrate, UnitState } from "@charm-upgrade/core";
import { isUnitState, KEYS, parseDependencies } from "@charm-upgrade/core";
import type { DispatchResult, InMemoryLogLine, StatusInfo } from "@charm-upgrade/juju";
import { createUpgrade } from "@charm-upgrade/juju";
import type { Random } from "@charm-upgrade/core/testing";
import { createRandom } from "@charm-upgrade/core/testing";
import type { HookEnd, ModelStep, PendingHook } from "./jujuModel.js";
import { JujuModel, PEER_RELATION } from "./jujuModel.js";
import type { CharmGrant } from "./simCharm.js";
import { SimCharm } from "./simCharm.js";
import type { SimInspection, SimInspector } from "./simInspection.js";
import { createSimInspection } from "./simInspection.js";
import { DEFAULT_REVISIONS } from "./revisions.js";

export { PEER_RELATION };

const CHANGED = `${PEER_RELATION.name}-relation-changed`;
const CONFIG_KEY = "pause-after-unit-upgrade";

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
  /**
   * Chance that a `relation-changed` runs twice: its data reached the controller, but the agent died before
   * recording that it ran, so it runs it again (a duplicate must be harmless).
   */
  readonly duplicate?: number | undefined;
  /** Chance that a unit runs its relation hooks out of their usual order (its watchers report late). */
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
  | {
      readonly type: "state";
      readonly seq: number;
      readonly unit: string;
      readonly from: UnitState | null;
      readonly to: UnitState | null;
    }
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
  /** The hooks it will run next, in order, if nothing else changes (Juju's resolver replayed). */
  readonly queued: readonly string[];
  /** The error of a hook that kept failing (the unit is in error and runs nothing until resolved), or `null`. */
  readonly error: string | null;
  /** Kubernetes: the pod is being deleted, or was recreated and has not run its upgrade-charm yet. */
  readonly restarting: boolean;
  readonly logs: readonly InMemoryLogLine[];
}

/** What {@link Simulator.settle} did. */
export interface SettleResult {
  readonly hooks: number;
  /** False when the hook limit was reached first. */
  readonly settled: boolean;
}

interface UnitExtra {
  failures: number;
  error: string | null;
  crashNext: boolean;
  /** The unit's last hook was a duplicated relation-changed: its rerun is recorded (a duplicate happens once). */
  duplicated: boolean;
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
 * An in-memory Juju running one application of N units with the peer relation `upgrade`: the shared model of
 * Juju ({@link JujuModel}: Juju's resolver, commit rules, the StatefulSet controller) with a database charm written
 * with the library ({@link SimCharm}), each hook running the real adapter (`createUpgrade(...).dispatch()`) over
 * in-memory hook tools that print what Juju's print.
 *
 * A seeded scheduler picks what happens next among what Juju may do (which unit runs a hook, when a machine's agent
 * notices a refresh, when the StatefulSet controller restarts a pod and when it is ready); {@link Faults} are
 * injected on demand.
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
  /** The model of Juju the simulation runs in. */
  readonly model: JujuModel;
  private readonly charm: SimCharm;
  private readonly random: Random;
  private readonly faults: Faults;
  private readonly onEvent: SimulatorOptions["onEvent"];
  private readonly inspection: SimInspection | null;
  private readonly extra = new Map<number, UnitExtra>();
  /** Grants made during the hook that runs now, emitted after it. */
  private pendingGrants: CharmGrant[] = [];
  /** Bumped by every change that can make a unit act differently; `settle` stops when a tick round changes none. */
  private progress = 0;
  private refreshes = 0;
  private hooksSinceRefresh = 0;
  private crashes = 0;
  private readonly fired = new Set<string>();
  private readonly openGrants = new Set<string>();
  private busy = false;

  /** @param options - see {@link SimulatorOptions}; the units are deployed at once (their setup hooks are due). */
  constructor(options: SimulatorOptions) {
    if (!Number.isSafeInteger(options.units) || options.units < 1)
      throw new RangeError(`units must be a positive integer, got ${options.units}`);
    this.app = options.app ?? "db";
    this.substrate = options.substrate ?? "vm";
    this.seed = options.seed ?? 1;
    this.random = createRandom(this.seed);
    this.faults = options.faults ?? {};
    this.onEvent = options.onEvent;
    this.inspection = options.inspect ? createSimInspection(options.inspect) : null;
    const revisions = new Map<number, Dependencies>();
    for (const [key, deps] of Object.entries(options.revisions ?? DEFAULT_REVISIONS))
      revisions.set(Number(key), parseDependencies(deps));
    if (!revisions.size) throw new RangeError("revisions must name at least one charm revision");
    const revision = options.revision ?? Math.min(...revisions.keys());
    if (!revisions.has(revision))
      throw new RangeError(`no charm revision ${revision} (known: ${[...revisions.keys()].join(", ")})`);
    const leader = options.leader ?? 0;
    if (!Number.isSafeInteger(leader) || leader < 0 || leader >= options.units)
      throw new RangeError(`leader must be a unit number below ${options.units}, got ${leader}`);
    const inspection = this.inspection;
    this.charm = new SimCharm({
      revisions,
      failPreUpgradeCheck: options.failPreUpgradeCheck,
      onGrant: (grant) => this.pendingGrants.push(grant),
      inspect: inspection ? (unit) => inspection.forUnit(unit) : undefined,
    });
    this.charm.failing = new Set(options.failUnits ?? []);
    this.model = new JujuModel({
      app: this.app,
      substrate: this.substrate,
      units: options.units,
      leader,
      revision,
      config: options.pauseAfterUnitUpgrade === undefined ? {} : { [CONFIG_KEY]: options.pauseAfterUnitUpgrade },
    });
    for (const unit of this.model.units.values()) {
      this.extra.set(unit.id, { failures: 0, error: null, crashNext: false, duplicated: false });
      this.charm.workloads.set(unit.id, this.charm.versionOf(revision));
      this.emit({ type: "unitAdded", unit: unit.name, revision, workloadVersion: this.charm.versionOf(revision) });
    }
    this.emit({ type: "leader", unit: `${this.app}/${leader}` });
  }

  // ---------------------------------------------------------------- what the operator sees

  /** The Juju leader's unit number (`-1` when the application has no unit). */
  get leader(): number {
    return this.model.leader ?? -1;
  }

  /** Kubernetes: the StatefulSet's rolling-update partition; `null` on machines. */
  get partition(): number | null {
    return this.substrate === "k8s" ? this.model.partition : null;
  }

  /** The application's charm revision (Kubernetes: the StatefulSet's pod template). */
  get revision(): number {
    return this.model.charm;
  }

  /** The application's config, as `juju config` would show it (read by every hook). */
  get config(): { readonly pauseAfterUnitUpgrade?: string | undefined } {
    const value = this.model.config[CONFIG_KEY];
    return value === undefined ? {} : { pauseAfterUnitUpgrade: String(value) };
  }

  /** A copy of the committed application databag. */
  get applicationData(): Record<string, string> {
    return { ...this.model.appData };
  }

  /** The committed upgrade stack (last element upgrades next), or `null` when unset, empty or invalid. */
  stack(): number[] | null {
    const raw = this.model.appData[KEYS.stack];
    if (raw === undefined) return null;
    try {
      const parsed = JSON.parse(raw) as unknown;
      return Array.isArray(parsed) && parsed.length > 0 && parsed.every((id) => typeof id === "number")
        ? (parsed as number[])
        : null;
    } catch {
      return null;
    }
  }

  /** Every unit, by number. */
  units(): SimUnitInfo[] {
    return [...this.model.units.keys()].sort((a, b) => a - b).map((id) => this.info(id));
  }

  /** One unit, by number or name. */
  unit(unit: number | string): SimUnitInfo {
    return this.info(this.idOf(unit));
  }

  /** The workload version a charm revision installs. */
  versionOf(revision: number): string {
    return this.charm.versionOf(revision);
  }

  // ---------------------------------------------------------------- what the operator does

  /**
   * `juju refresh --revision <revision>`: new charm code. Machines: each unit's agent notices it (at a time the
   * scheduler picks) and runs `upgrade-charm` before its other hooks. Kubernetes: the StatefulSet's pod template
   * changes and the controller restarts the pods at or above the partition, highest first.
   */
  refresh(revision: number): void {
    this.charm.dependenciesOf(revision);
    this.refreshes++;
    this.hooksSinceRefresh = 0;
    this.progress++;
    this.emit({ type: "operator", message: `juju refresh ${this.app} --revision ${revision}` });
    this.model.refresh(revision);
  }

  /** `juju run <unit> <action>`: runs on that unit at once (between hooks), returning the operator's outcome. */
  async runAction(unit: number | string, action: ActionName): Promise<ActionOutcome> {
    const id = this.idOf(unit);
    this.emit({ type: "operator", message: `juju run ${this.app}/${id} ${action}` });
    return this.exclusive(async () => {
      const { outcome } = await this.run(id, { action: { name: action } }, false, false);
      return outcome ?? { ok: false, results: {}, message: "the action did not run" };
    });
  }

  /** `juju add-unit`: a new unit on the application's current charm; the others see it join. Returns its name. */
  addUnit(): string {
    const id = this.model.addUnit();
    const unit = this.model.units.get(id);
    const revision = unit?.agent.charm ?? this.model.charm;
    this.extra.set(id, { failures: 0, error: null, crashNext: false, duplicated: false });
    this.charm.workloads.set(id, this.charm.versionOf(revision));
    this.progress++;
    const name = `${this.app}/${id}`;
    this.emit({ type: "operator", message: `juju add-unit ${this.app} (${name})` });
    this.emit({ type: "unitAdded", unit: name, revision, workloadVersion: this.charm.versionOf(revision) });
    return name;
  }

  /**
   * `juju remove-unit`: the unit leaves at once (its own departing hooks are not simulated); the others run
   * `relation-departed`, and if it led, Juju elects the lowest-numbered remaining unit. Default: the highest-numbered
   * unit (what scaling a StatefulSet down removes).
   */
  removeUnit(unit?: number | string): string {
    const id = unit === undefined ? [...this.model.units.keys()].sort((a, b) => b - a)[0] : this.idOf(unit);
    if (id === undefined) throw new RangeError("the application has no unit to remove");
    const name = `${this.app}/${id}`;
    const wasLeader = this.model.leader === id;
    this.emit({ type: "operator", message: `juju remove-unit ${name}` });
    this.model.removeUnit(id);
    this.extra.delete(id);
    this.openGrants.delete(name);
    this.progress++;
    this.emit({ type: "unitRemoved", unit: name });
    if (wasLeader && this.model.leader !== null)
      this.emit({ type: "leader", unit: `${this.app}/${this.model.leader}` });
    return name;
  }

  /** Juju elects `unit` leader: it runs `leader-elected`; the old leader is no longer leader from now on. */
  setLeader(unit: number | string): void {
    const id = this.idOf(unit);
    if (this.model.leader === id) return;
    this.model.setLeader(id);
    this.progress++;
    this.emit({ type: "leader", unit: `${this.app}/${id}` });
  }

  /** Which units' workload upgrade fails from now on (a rollback clears them: the old version installs fine). */
  setFailingUnits(units: readonly number[]): void {
    this.charm.failing = new Set(units);
  }

  /**
   * The charm on `unit` starts another operation that must not overlap the upgrade (`reason`, e.g. a backup), or
   * with `null` finishes it. Its `hold()` answers so from now on; the unit's next `update-status` records it for the
   * others.
   */
  setHold(unit: number | string, reason: string | null): void {
    const id = this.idOf(unit);
    if (reason === null) this.charm.holds.delete(id);
    else this.charm.holds.set(id, reason);
    this.progress++;
    this.emit({
      type: "operator",
      message:
        reason === null ? `${this.app}/${id}: hold released` : `${this.app}/${id}: holds the upgrade (${reason})`,
    });
  }

  /**
   * The post-upgrade health check of `unit` fails with `reason` from now on (it installs the workload, then answers
   * `pending`), or with `null` passes again; its next `update-status` asks again.
   */
  setUnhealthy(unit: number | string, reason: string | null): void {
    const id = this.idOf(unit);
    if (reason === null) this.charm.unhealthy.delete(id);
    else this.charm.unhealthy.set(id, reason);
    this.progress++;
    this.emit({
      type: "operator",
      message:
        reason === null ? `${this.app}/${id}: healthy again` : `${this.app}/${id}: unhealthy after upgrade (${reason})`,
    });
  }

  /** `juju config <app> pause-after-unit-upgrade=<value>` (`undefined`: reset): every unit runs config-changed. */
  configure(pauseAfterUnitUpgrade: string | undefined): void {
    this.model.configure(CONFIG_KEY, pauseAfterUnitUpgrade);
    this.progress++;
    this.emit({
      type: "operator",
      message:
        pauseAfterUnitUpgrade === undefined
          ? `juju config ${this.app} --reset ${CONFIG_KEY}`
          : `juju config ${this.app} ${CONFIG_KEY}=${pauseAfterUnitUpgrade}`,
    });
  }

  /** `juju resolve <unit>`: retry a unit left in error by a hook that kept failing. */
  resolve(unit: number | string): void {
    const extra = this.extra.get(this.idOf(unit));
    if (!extra) return;
    extra.error = null;
    extra.failures = 0;
  }

  // ---------------------------------------------------------------- time passing

  /**
   * Run one hook: the seeded scheduler picks among what Juju may do next (a unit's hook, a machine noticing a
   * refresh, the StatefulSet controller), or runs `unit`'s next hook. Scheduled faults fire first. Returns the
   * hook that ran, or `null` when nothing is due (on `unit`).
   */
  step(unit?: number | string): Promise<HookRecord | null> {
    const only = unit === undefined ? undefined : this.idOf(unit);
    return this.exclusive(() => this.stepUnlocked(only));
  }

  /** Fault on demand: `unit`'s next hook crashes after doing its work (its writes are discarded; Juju retries it). */
  injectCrash(unit: number | string): void {
    const extra = this.extra.get(this.idOf(unit));
    if (extra) extra.crashNext = true;
  }

  /**
   * Run hooks until nothing is due, then let time pass (`update-status` on every unit) until a whole round of it
   * changes nothing: a deferred event or a pending grant gets its next hook, as in Juju.
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
        for (const id of [...this.model.units.keys()].sort((a, b) => a - b)) {
          const extra = this.extra.get(id);
          const agent = this.model.units.get(id)?.agent;
          if (!extra || extra.error !== null || !agent?.started || this.model.nextHook(id) || hooks >= limit) continue;
          await this.run(id, { updateStatus: true }, false, false);
          hooks++;
        }
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

  private idOf(unit: number | string): number {
    const id = typeof unit === "number" ? unit : Number(unit.slice(unit.lastIndexOf("/") + 1));
    if (!this.model.units.has(id) || (typeof unit === "string" && unit !== `${this.app}/${id}`))
      throw new RangeError(`no unit ${unit} in ${this.app}`);
    return id;
  }

  private info(id: number): SimUnitInfo {
    const unit = this.model.units.get(id);
    if (!unit) throw new RangeError(`no unit ${id} in ${this.app}`);
    const state = this.model.databags[unit.name]?.[KEYS.state];
    const pod = unit.pod;
    return {
      name: unit.name,
      id,
      leader: id === this.model.leader,
      state: isUnitState(state) ? state : null,
      workloadVersion: this.charm.workloadOf(this.model, id),
      revision: unit.agent.charm,
      status: { ...unit.status },
      queued: this.model.due(id).map((hook) => hook.name),
      error: this.extra.get(id)?.error ?? null,
      restarting: pod !== null && (pod.terminating || unit.agent.queued === "upgrade-charm"),
      logs: this.model.logs.get(unit.name) ?? [],
    };
  }

  /** What Juju may do next (hooks of units in error excluded; `update-status` is `settle`'s). */
  private runnable(only?: number): ModelStep[] {
    return this.model.steps().filter((step) => {
      if (step.kind === "update-status") return false;
      if (only !== undefined && step.unit !== only) return false;
      return step.kind !== "hook" || this.extra.get(step.unit)?.error === null;
    });
  }

  private rolls(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random.chance(rate);
  }

  private firesNow(kind: string, after: number | undefined): boolean {
    if (after === undefined || this.refreshes === 0 || this.fired.has(kind) || this.hooksSinceRefresh < after)
      return false;
    this.fired.add(kind);
    return true;
  }

  private scheduledFaults(): void {
    if (this.firesNow("leaderChange", this.faults.leaderChangeAfter)) {
      const others = [...this.model.units.keys()].filter((id) => id !== this.model.leader).sort((a, b) => a - b);
      if (others.length) {
        const next = this.random.pick(others);
        this.emit({ type: "fault", fault: `leadership moves to ${this.app}/${next}`, unit: `${this.app}/${next}` });
        this.setLeader(next);
      }
    }
    if (this.firesNow("addUnit", this.faults.addUnitAfter)) {
      const name = this.addUnit();
      this.emit({ type: "fault", fault: `unit ${name} added mid-upgrade`, unit: name });
    }
    if (this.firesNow("removeUnit", this.faults.removeUnitAfter) && this.model.units.size > 1) {
      const victim =
        this.substrate === "k8s" ? undefined : this.random.pick([...this.model.units.keys()].sort((a, b) => a - b));
      const name = this.removeUnit(victim);
      this.emit({ type: "fault", fault: `unit ${name} removed mid-upgrade`, unit: name });
    }
  }

  private async stepUnlocked(only?: number): Promise<HookRecord | null> {
    this.scheduledFaults();
    // A unit asked for by name notices a refresh first: its agent would, sooner or later.
    if (only !== undefined && this.substrate === "vm" && this.model.units.get(only)?.agent.seen !== this.model.charm)
      this.model.notice(only);
    for (;;) {
      const steps = this.runnable(only);
      if (!steps.length) return null;
      const step = this.random.pick(steps);
      if (step.kind !== "hook") {
        this.takeStep(step as Exclude<ModelStep, { kind: "hook" | "update-status" }>);
        if (only === undefined) continue;
        continue;
      }
      const extra = this.extra.get(step.unit);
      if (!extra) return null;
      const crash = extra.crashNext || ((this.faults.maxCrashes ?? 10) > this.crashes && this.rolls(this.faults.crash));
      if (crash && !extra.crashNext) this.crashes++;
      extra.crashNext = false;
      const next = this.model.nextHook(step.unit);
      let relationHook: PendingHook | undefined;
      const due = this.model.relationHooksDue(step.unit);
      if (due.length > 1 && this.rolls(this.faults.reorder)) {
        relationHook = due[1 + this.random.int(due.length - 1)];
        this.emit({
          type: "fault",
          fault: `${relationHook?.name} from ${relationHook?.remote ?? this.app} delivered out of order`,
          unit: `${this.app}/${step.unit}`,
        });
      }
      // The agent died before recording the hook: it runs again, and that second run is recorded.
      const duplicate =
        !crash && !extra.duplicated && (relationHook ?? next)?.name === CHANGED && this.rolls(this.faults.duplicate);
      extra.duplicated = duplicate;
      if (duplicate)
        this.emit({
          type: "fault",
          fault: `duplicate ${CHANGED} from ${(relationHook ?? next)?.remote ?? this.app}`,
          unit: `${this.app}/${step.unit}`,
        });
      const { record } = await this.run(step.unit, relationHook ? { relationHook } : {}, crash, duplicate);
      if (this.refreshes > 0) this.hooksSinceRefresh++;
      if (record.outcome === "failed" && record.kind === "hook" && this.model.units.has(step.unit)) {
        // Juju retries a failed hook before anything else on the unit; one that keeps failing leaves it in error.
        if (++extra.failures >= MAX_HOOK_FAILURES) extra.error = record.error ?? "hook failed";
      } else if (record.outcome === "ok") {
        extra.failures = 0;
      }
      return record;
    }
  }

  /** A step of Juju or of the StatefulSet controller that is not a hook. */
  private takeStep(step: Exclude<ModelStep, { kind: "hook" | "update-status" }>): void {
    this.model.take(step);
    this.progress++;
  }

  /** One hook or action on one unit: a fresh "process" running the adapter, then Juju's commit or discard. */
  private async run(
    id: number,
    what: Parameters<JujuModel["begin"]>[1],
    crash: boolean,
    duplicate: boolean,
  ): Promise<{ record: HookRecord; outcome: ActionOutcome | null }> {
    const run = this.model.begin(id, what);
    const name = run.unitName;
    const ownBefore = { ...(this.model.databags[name] ?? {}) };
    const appBefore = { ...this.model.appData };
    const storeBefore = JSON.stringify(this.model.units.get(id)?.store ?? {});
    const partitionBefore = this.model.partition;
    this.pendingGrants = [];
    let result: DispatchResult | null = null;
    let error: unknown = null;
    try {
      // The charm process: one createUpgrade per hook, as each hook is a new process.
      result = await createUpgrade({
        ...this.charm.optionsFor(this.model, id, run.revision),
        tools: run.tools.run,
        env: run.env,
      }).dispatch();
      if (crash) throw new SimulatedCrash(run.hook.name);
    } catch (thrown) {
      error = thrown;
    }
    const action = run.tools.model.action;
    const how: HookEnd = error
      ? error instanceof SimulatedCrash
        ? "crashed"
        : "failed"
      : duplicate
        ? "uncommitted"
        : "ok";
    const committed = this.model.end(run, how);
    const seq = this.hooks.length + 1;
    let outcome: HookOutcome = how === "crashed" ? "crashed" : how === "failed" ? "failed" : "ok";
    let failure: string | undefined = error ? messageOf(error) : undefined;
    if (!error && action?.failure != null) {
      outcome = "failed";
      failure = action.failure;
    }
    for (const grant of this.pendingGrants) await this.recordGrant(seq, grant);
    if (committed?.stateChanged || JSON.stringify(this.model.units.get(id)?.store ?? {}) !== storeBefore)
      this.progress++;
    const record: HookRecord = {
      seq,
      unit: name,
      kind: run.kind,
      hook: run.hook.name,
      ...(run.hook.remote !== undefined ? { remote: run.hook.remote } : {}),
      revision: run.revision,
      outcome,
      ...(failure !== undefined ? { error: failure } : {}),
      effects: result?.effects ?? [],
    };
    this.hooks.push(record);
    await this.emit({ type: "hook", record });
    if (error)
      await this.emit({ type: "fault", fault: `${run.hook.name} on ${name} ${outcome}: ${failure ?? ""}`, unit: name });
    if (committed?.unitChanged) await this.committed(seq, name, name, ownBefore, this.model.databags[name] ?? {});
    if (committed?.appChanged) await this.committed(seq, name, this.app, appBefore, this.model.appData);
    if (this.model.partition !== partitionBefore) {
      this.progress++;
      await this.emit({ type: "partition", partition: this.model.partition });
    }
    const unit = this.model.units.get(id);
    if (how === "ok" && run.hook.name === "stop" && unit?.pod) {
      this.progress++;
      this.charm.workloads.set(id, this.charm.versionOf(unit.pod.revision));
      await this.emit({
        type: "restart",
        unit: name,
        revision: unit.pod.revision,
        workloadVersion: this.charm.versionOf(unit.pod.revision),
      });
    }
    // A committed hook after which the unit is not upgrading ends its grant (the charm answered).
    if (how !== "failed" && how !== "crashed" && this.model.databags[name]?.[KEYS.state] !== "upgrading")
      this.openGrants.delete(name);
    let actionOutcome: ActionOutcome | null = null;
    if (action) {
      actionOutcome =
        outcome === "ok"
          ? { ok: true, results: { ...action.results }, message: action.results.message ?? "" }
          : { ok: false, results: { ...action.results }, message: failure ?? "the action failed" };
    }
    return { record, outcome: actionOutcome };
  }

  private async recordGrant(seq: number, grant: CharmGrant): Promise<void> {
    const name = `${this.app}/${grant.unit}`;
    const record: GrantRecord = {
      seq,
      unit: name,
      revision: grant.revision,
      upgradingOthers: grant.upgradingOthers.map((id) => `${this.app}/${id}`),
      openGrants: [...this.openGrants].filter((other) => other !== name),
      refresh: this.refreshes,
      version: grant.version,
      outcome: grant.outcome,
      again: this.openGrants.has(name),
      held: grant.held.map((id) => `${this.app}/${id}`),
    };
    this.grants.push(record);
    this.openGrants.add(name);
    await this.emit({ type: "grant", grant: record });
  }

  /** Record a committed databag change and report state changes. */
  private async committed(
    seq: number,
    writer: string,
    databag: string,
    before: Record<string, string>,
    after: Record<string, string>,
  ): Promise<void> {
    const data: Record<string, string> = {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (before[key] !== after[key]) data[key] = after[key] ?? "";
    }
    this.progress++;
    const change: DatabagChange = { seq, writer, databag, data };
    this.changes.push(change);
    await this.emit({ type: "databag", change });
    if (databag !== this.app && KEYS.state in data) {
      const from = before[KEYS.state];
      const to = after[KEYS.state];
      await this.emit({
        type: "state",
        seq,
        unit: writer,
        from: isUnitState(from) ? from : null,
        to: isUnitState(to) ? to : null,
      });
    }
  }
}
