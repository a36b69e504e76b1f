import type { Dependencies, Effect, Substrate } from "@charm-upgrade/core";
import {
  ClusterNotReadyError,
  encodeDependencies,
  encodeStack,
  KubernetesClientError,
  satisfies,
} from "@charm-upgrade/core";
import type { DispatchResult, JujuEnv, SyncHookToolRunner, ToolCall } from "@charm-upgrade/juju";
import { callSync, eventOf, readHookContext, toolCalls } from "@charm-upgrade/juju";
import type { JujuModel } from "./jujuModel.js";
import type { SimCharm } from "./simCharm.js";

/**
 * The Python library that charm-upgrade succeeds, `charms.data_platform_libs.v0.upgrade` (LIBPATCH 19), as the
 * charm code of an old revision in the one model of Juju: the other side of the wire protocol in the first
 * refresh of a charm that moves to charm-upgrade. Each handler follows the library's source, rule for rule
 * (`Lnnn` are its line numbers, as the behaviour summary the project keeps gives them:
 * `/work/shared/reference/upstream-behaviour.md` §2), including its bugs; it talks to Juju through the same hook
 * tools as ops does (`relation-get`/`relation-set`, `is-leader`, `status-set`, `juju-log`, `action-set`/`action-fail`,
 * `goal-state` for `planned_units()`), so the model commits its writes by Juju's rules. What is the charm's and not
 * the library's (its pre-upgrade check, its stack, its granted handler, the Kubernetes patch) comes from
 * {@link PythonCharmCode}.
 *
 * @module
 */

/** The Python library's `STATES`, the furthest behind first (L502). */
const STATES = ["recovery", "failed", "idle", "ready", "upgrading", "completed"] as const;

/** The charm's own code around the library: what a charm using the Python library overrides or adds. */
export interface PythonCharmCode {
  readonly substrate: Substrate;
  /** The peer relation's endpoint (`DataUpgrade(..., relation_name="upgrade")`). */
  readonly relationName?: string | undefined;
  /** `dependency_model.dict()`: what `relation-created` stores and the version check compares. */
  readonly dependencies: Dependencies;
  /**
   * The charm's `pre_upgrade_check()`: throw a `ClusterNotReadyError` to refuse. On Kubernetes the charm sets the
   * first partition here (postgresql-k8s `src/upgrade.py` `_set_first_rolling_update_partition`:
   * `planned_units() - 1`), which `planned` gives.
   */
  preUpgradeCheck(planned: number): void;
  /** Machines: the charm's `build_upgrade_stack()`. */
  buildUpgradeStack(): readonly number[];
  /**
   * Machines: the charm's `upgrade_granted` handler, which upgrades the workload and then calls
   * `set_unit_completed()` or `set_unit_failed()` (and, on the leader, `on_upgrade_changed`: L1022–1032).
   */
  upgradeWorkload(): "completed" | "failed";
  /**
   * Kubernetes: the charm's own post-restart check of a pod in `upgrading` (postgresql-k8s does it on
   * `postgresql-pebble-ready`, after its workload joined the cluster), then `set_unit_completed()` or
   * `set_unit_failed()`. Asked in the `start` hook, where this model's restarted pod stands for pebble-ready.
   */
  restartedWorkload(): "completed" | "failed";
  /** Kubernetes: the charm's `_set_rolling_update_partition` (throws `KubernetesClientError`). */
  setPartition(partition: number): void;
}

/** A unit's `state` as the Python library reads it: the string, `""` when missing (L609–634). */
type PyState = string;

/** The end of a handler that the library ends by `event.fail(...)` or a return (an action's outcome). */
class ActionFailed extends Error {}

/** One hook of a unit running the Python library, with ops' per-hook caches of relation data. */
class PythonHook {
  readonly effects: Effect[] = [];
  private readonly bags = new Map<string, Record<string, string>>();
  private appBag: Record<string, string> | null = null;
  private members: string[] | null = null;
  private leader: boolean | null = null;
  /** `DataUpgrade._upgrade_stack`: `null` is Python's `None` (load from the relation on the next read). */
  private stackCache: number[] | null = null;
  actionFailure: string | null = null;
  actionResults: Record<string, string> | null = null;

  constructor(
    private readonly code: PythonCharmCode,
    private readonly tools: SyncHookToolRunner,
    readonly unit: string,
    readonly app: string,
    readonly relationId: number | null,
  ) {}

  private call<T>(call: ToolCall<T>): T {
    return callSync(this.tools, call);
  }

  get substrate(): Substrate {
    return this.code.substrate;
  }

  get unitNumber(): number {
    return Number(this.unit.slice(this.unit.indexOf("/") + 1));
  }

  /** `unit.is_leader()` (ops asks `is-leader` once and keeps the answer for the hook). */
  isLeader(): boolean {
    this.leader ??= this.call(toolCalls.isLeader());
    return this.leader;
  }

  /** `peer_relation.units`: the other units, as `relation-list` lists them. */
  peers(): readonly string[] {
    if (this.relationId === null) return [];
    this.members ??= this.call(toolCalls.relationList(this.relationId));
    return this.members;
  }

  /** `app_units` (L546–551): this unit and its peers (a set in Python; here in number order). */
  appUnits(): readonly string[] {
    const number = (name: string) => Number(name.slice(name.indexOf("/") + 1));
    return [...new Set([this.unit, ...this.peers()])].sort((a, b) => number(a) - number(b));
  }

  /** `peer_relation.data[unit]`: a unit that is neither this one nor a peer raises `KeyError` in ops. */
  data(unit: string): Record<string, string> {
    if (this.relationId === null) throw new Error("no peer relation");
    if (unit !== this.unit && !this.peers().includes(unit)) throw new Error(`KeyError: <ops.model.Unit ${unit}>`);
    let bag = this.bags.get(unit);
    if (!bag) {
      bag = this.call(toolCalls.relationGet(this.relationId, unit));
      this.bags.set(unit, bag);
    }
    return bag;
  }

  /** `peer_relation.data[charm.app]`. */
  appData(): Record<string, string> {
    if (this.relationId === null) throw new Error("no peer relation");
    this.appBag ??= this.call(toolCalls.relationGet(this.relationId, this.unit, { app: true }));
    return this.appBag;
  }

  /** `peer_relation.data[charm.unit].update(data)`: `relation-set` at once, as ops does. */
  updateUnit(data: Record<string, string>): void {
    if (this.relationId === null) return;
    this.call(toolCalls.relationSet(this.relationId, data));
    Object.assign(this.data(this.unit), data);
    this.effects.push({ type: "writeUnitData", data });
  }

  /** `peer_relation.data[charm.app].update(data)` (only the leader may: Juju refuses anyone else). */
  updateApp(data: Record<string, string>): void {
    if (this.relationId === null) return;
    this.call(toolCalls.relationSet(this.relationId, data, { app: true }));
    Object.assign(this.appData(), data);
    this.effects.push({ type: "writeAppData", data });
  }

  status(status: "active" | "maintenance" | "waiting" | "blocked", message = ""): void {
    this.call(toolCalls.statusSet(status, message));
    this.effects.push({ type: "setUnitStatus", status, message });
  }

  log(level: "DEBUG" | "INFO" | "WARNING" | "ERROR", message: string): void {
    this.call(toolCalls.jujuLog(level, message));
    const levels = { DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error" } as const;
    this.effects.push({ type: "log", level: levels[level], message });
  }

  /** `event.fail(message)`: the action fails (the handler then returns). */
  fail(message: string): never {
    this.actionFailure = message;
    this.effects.push({ type: "actionFail", message });
    throw new ActionFailed(message);
  }

  /** `event.set_results(results)`. */
  setResults(results: Record<string, string>): void {
    this.actionResults = { ...this.actionResults, ...results };
    this.effects.push({ type: "actionResult", results });
  }

  /** This unit's state as far as this hook read it (no extra `relation-get`: for the hook's result only). */
  readState(): string | null {
    return this.bags.get(this.unit)?.state ?? null;
  }

  /** `state` (L553–559). */
  get state(): string | null {
    if (this.relationId === null) return null;
    return this.data(this.unit).state ?? null;
  }

  /** `unit_states` (L624–634): `""` for a unit without one. */
  unitStates(): PyState[] {
    if (this.relationId === null) return [];
    return this.appUnits().map((unit) => this.data(unit).state ?? "");
  }

  /** `other_unit_states` (L609–622). */
  otherUnitStates(): PyState[] {
    return this.peers().map((unit) => this.data(unit).state ?? "");
  }

  /** `cluster_state` (L636–654): the furthest behind; `None` when a unit has no state or an unknown one. */
  clusterState(): string | null {
    const states = this.unitStates();
    if (!states.length) return null;
    let index = Number.POSITIVE_INFINITY;
    for (const state of states) {
      const at = (STATES as readonly string[]).indexOf(state);
      if (at < 0) return null; // STATES.index raises ValueError, caught
      index = Math.min(index, at);
    }
    return STATES[index] ?? null;
  }

  /**
   * `upgrade_stack` (L572–593): loaded lazily while the cache is `None`; an empty list in the relation reads as
   * `None`, but a cached list emptied by `pop()` stays `[]`. Returns the cached (mutable) list.
   */
  stack(): number[] | null {
    if (this.relationId === null) return null;
    if (this.stackCache === null) {
      const loaded = JSON.parse(this.appData()["upgrade-stack"] ?? "[]") as number[];
      this.stackCache = loaded.length ? loaded : null;
    }
    return this.stackCache;
  }

  /** The `upgrade_stack` setter (L595–607): `json.dumps`, and the cache replaced. */
  setStack(stack: number[]): void {
    if (this.relationId === null) return;
    this.updateApp({ "upgrade-stack": encodeStack(stack) });
    this.stackCache = stack;
  }

  /** `self._upgrade_stack = None`: the next read reloads the stack from the relation. */
  forgetStack(): void {
    this.stackCache = null;
  }

  /** `charm.app.planned_units()`: ops counts the units `goal-state` lists that are not dying. */
  plannedUnits(): number {
    const goal = this.call(toolCalls.goalState());
    return Object.values(goal.units).filter((unit) => unit.status !== "dying").length;
  }

  setPartition(partition: number): void {
    this.code.setPartition(partition);
    this.effects.push({ type: "setPartition", partition });
  }
}

/**
 * A charm revision written with the Python library: `dispatchSync` runs one hook or action the way ops dispatches
 * it to `DataUpgrade`'s observers (L506–538), through the given hook tools. Deferred events are kept in the unit's
 * store (`state-set`, ops' `JujuStorage`) and re-emitted before the hook's own event, as ops does.
 */
export class PythonLibCharm {
  private readonly code: PythonCharmCode;
  private readonly relationName: string;

  constructor(code: PythonCharmCode) {
    this.code = code;
    this.relationName = code.relationName ?? "upgrade";
  }

  /** One hook or action, synchronously (the same port as `CharmUpgrade.dispatchSync`). */
  dispatchSync(port: { readonly env: JujuEnv; readonly tools: SyncHookToolRunner }): DispatchResult {
    const hook = readHookContext(port.env);
    const own = hook.relation?.name === this.relationName ? hook.relation.id : null;
    const relationId = own ?? callSync(port.tools, toolCalls.relationIds(this.relationName))[0] ?? null;
    const py = new PythonHook(this.code, port.tools, hook.unitName, hook.appName, relationId);
    const stored = callSync(port.tools, toolCalls.stateGet(DEFERRED_KEY));
    const deferred: string[] = stored ? (JSON.parse(stored) as string[]) : [];
    const stillDeferred: string[] = [];
    const run = (name: string, kind: "hook" | "action") => {
      try {
        if (this.handle(py, name, kind) === "defer" && !stillDeferred.includes(name)) stillDeferred.push(name);
      } catch (error) {
        if (!(error instanceof ActionFailed)) throw error;
      }
    };
    for (const name of deferred) run(name, "hook");
    run(hook.name, hook.kind);
    if (JSON.stringify(stillDeferred) !== JSON.stringify(deferred))
      callSync(port.tools, toolCalls.stateSet(DEFERRED_KEY, JSON.stringify(stillDeferred)));
    if (hook.kind === "action") {
      if (py.actionFailure !== null) callSync(port.tools, toolCalls.actionFail(py.actionFailure));
      else if (py.actionResults) callSync(port.tools, toolCalls.actionSet(py.actionResults));
    }
    const state = py.readState();
    return {
      hook,
      event: eventOf(hook, this.relationName),
      state: (STATES as readonly string[]).includes(state ?? "") ? (state as (typeof STATES)[number]) : null,
      // As far as this hook read: the Python library has no such notion for one hook (its `idle` reads every unit).
      idle: state === "idle",
      effects: py.effects,
      deferred: [],
      final: null,
    };
  }

  /** ops' dispatch to the library's observers (L506–538); `defer` when the handler called `event.defer()`. */
  private handle(py: PythonHook, name: string, kind: "hook" | "action"): "defer" | null {
    const relation = this.relationName;
    if (kind === "action") {
      if (name === "pre-upgrade-check") this.onPreUpgradeCheck(py);
      // resume-upgrade is observed on Kubernetes only; a machine charm does not declare it (Juju refuses to run an
      // action a charm does not define: `action "resume-upgrade" not defined on unit`).
      else if (name === "resume-upgrade") {
        if (this.code.substrate === "k8s") this.onResumeUpgrade(py);
        else py.fail(`action "resume-upgrade" not defined on unit "${py.unit}"`);
      }
      return null;
    }
    if (name === `${relation}-relation-created`) return this.onCreated(py);
    if (name === `${relation}-relation-changed`) this.onChanged(py);
    else if (name === "upgrade-charm") return this.onUpgradeCharm(py);
    else if (name === "start" && this.code.substrate === "k8s" && py.relationId !== null) this.onRestarted(py);
    return null;
  }

  /** `_on_upgrade_created` (L761–774). */
  private onCreated(py: PythonHook): "defer" | null {
    if (py.relationId === null) return "defer";
    py.updateUnit({ state: "idle" });
    if (py.isLeader()) {
      py.log("DEBUG", "Persisting dependencies to upgrade relation data...");
      py.updateApp({ dependencies: encodeDependencies(this.code.dependencies) });
    }
    return null;
  }

  /** `_on_pre_upgrade_check_action` (L776–823). */
  private onPreUpgradeCheck(py: PythonHook): void {
    if (py.relationId === null) py.fail("Could not find upgrade relation.");
    if (!py.isLeader()) py.fail("Action must be ran on the Juju leader.");
    if (py.clusterState() === "failed") {
      py.log("INFO", "Entering recovery state for rolling-back to previous version...");
      this.repairStack(py);
      py.status("blocked", "ready to rollback application");
      py.updateUnit({ state: "recovery" });
      return;
    }
    if (py.clusterState() !== "idle") py.fail("Cannot run pre-upgrade checks, cluster already upgrading.");
    let built: number[];
    try {
      py.log("INFO", "Running pre-upgrade-check...");
      this.code.preUpgradeCheck(this.code.substrate === "k8s" ? py.plannedUnits() : 0);
      built =
        this.code.substrate === "k8s"
          ? py.appUnits().map((unit) => Number(unit.slice(unit.indexOf("/") + 1)))
          : [...this.code.buildUpgradeStack()];
    } catch (error) {
      if (error instanceof ActionFailed) throw error;
      py.log("ERROR", String(error instanceof Error ? error.message : error));
      py.fail(error instanceof ClusterNotReadyError ? error.message : "Unknown error found.");
    }
    py.log("INFO", "Setting upgrade-stack to relation data...");
    py.setStack(built);
  }

  /** `_on_resume_upgrade_action` (L825–854), Kubernetes only. */
  private onResumeUpgrade(py: PythonHook): void {
    if (py.relationId === null) py.fail("Could not find upgrade relation.");
    if (!py.isLeader()) py.fail("Action must be ran on the Juju leader.");
    const stack = py.stack();
    if (!stack) py.fail("Nothing to resume, upgrade stack unset.");
    if (stack.length !== py.peers().length) py.fail("Upgrade can be resumed only once after juju refresh is called.");
    const next = stack.at(-1) as number;
    try {
      py.setPartition(next);
      py.setResults({ message: `Upgrade will resume on unit ${next}` });
    } catch (error) {
      if (!(error instanceof KubernetesClientError)) throw error;
      py.fail("Cannot set rolling update partition.");
    }
  }

  /** `_upgrade_supported_check` (L856–888): stored against this code's DEPENDENCIES, key by key of the new model. */
  private versionsIncompatible(py: PythonHook): string | null {
    const raw = py.appData().dependencies ?? "";
    // `stored_dependencies` (L561–570) is None without stored data: `getattr(None, key)` raises (upstream bug 8).
    if (!raw) throw new Error("AttributeError: 'NoneType' object has no attribute (no stored dependencies)");
    const stored = JSON.parse(raw) as Record<string, { version: string }>;
    const problems: string[] = [];
    for (const [key, incoming] of Object.entries(this.code.dependencies)) {
      const old = stored[key];
      if (!old) throw new Error(`pydantic ValidationError: ${key} field required`);
      if (!satisfies(old.version, incoming.upgrade_supported))
        problems.push(`, ${key} ${old.version} can not be upgraded to ${incoming.version}`);
    }
    return problems.length ? `Versions incompatible${problems.join("")}` : null;
  }

  /** `_on_upgrade_charm` (L890–942). */
  private onUpgradeCharm(py: PythonHook): "defer" | null {
    if (py.relationId === null) return "defer";
    const stack = py.stack();
    if (!stack) {
      py.log("ERROR", "Cluster upgrade failed, ensure pre-upgrade checks are ran first.");
      return null;
    }
    if (this.code.substrate === "vm") {
      if (py.isLeader()) {
        const incompatible = this.versionsIncompatible(py);
        if (incompatible) {
          py.log("ERROR", incompatible);
          this.setUnitFailed(py);
          return null;
        }
        const top = stack.at(-1);
        if (`${py.app}/${top}` === py.unit && py.data(py.unit).state === "recovery") {
          py.updateUnit({ state: "ready" });
          this.onChanged(py);
          return null;
        }
      }
      py.status("waiting", "other units upgrading first...");
      py.updateUnit({ state: "ready" });
      if (py.appUnits().length === 1) this.granted(py);
      return null;
    }
    if (py.unit === `${py.app}/${py.plannedUnits() - 1}`) {
      const incompatible = this.versionsIncompatible(py);
      if (incompatible) {
        py.log("ERROR", incompatible);
        this.setUnitFailed(py);
        return null;
      }
    }
    py.status("maintenance", "upgrading unit");
    py.updateUnit({ state: "upgrading" });
    return null;
  }

  /** `on_upgrade_changed` (L944–1020). */
  private onChanged(py: PythonHook): void {
    if (py.relationId === null) return;
    const cluster = py.clusterState();
    if (cluster === "failed") return;
    if (this.code.substrate === "vm" && cluster === "recovery") {
      py.log("DEBUG", "Cluster in recovery, skip...");
      return;
    }
    const stack = py.stack();
    if (!stack?.length) {
      if (py.state === "completed" && (cluster === "idle" || cluster === "completed")) {
        py.log("INFO", "All units completed upgrade, setting idle upgrade state...");
        py.status("active");
        py.updateUnit({ state: "idle" });
        if (py.isLeader()) py.updateApp({ dependencies: encodeDependencies(this.code.dependencies) });
      }
      return;
    }
    if (py.unitStates().includes("upgrading") && (py.state === "idle" || py.state === "ready"))
      py.status("waiting", "other units upgrading first...");
    const topId = stack.pop() as number;
    const top = `${py.app}/${topId}`;
    const topState = py.data(top).state;
    if (py.isLeader() && topState === "completed") {
      py.updateApp({ "upgrade-stack": encodeStack(stack) });
      this.onChanged(py);
    }
    if (
      py.unit === top &&
      (topState === "ready" || topState === "upgrading") &&
      py.clusterState() === "ready" &&
      !py.otherUnitStates().includes("upgrading")
    ) {
      py.status("maintenance", "upgrading...");
      py.updateUnit({ state: "upgrading" });
      this.granted(py);
    }
  }

  /** `upgrade_granted`, emitted synchronously: the library's handler on Kubernetes is a no-op (L1022–1037). */
  private granted(py: PythonHook): void {
    py.effects.push({ type: "grantUpgrade" });
    if (this.code.substrate === "k8s") return;
    if (this.code.upgradeWorkload() === "failed") {
      this.setUnitFailed(py);
      return;
    }
    this.setUnitCompleted(py);
    // The charm's duty on the leader, as the docstring asks (L189–191): re-run on_upgrade_changed.
    if (py.isLeader()) this.onChanged(py);
  }

  /** The charm's post-restart check of an upgraded pod (Kubernetes): `set_unit_completed` or `set_unit_failed`. */
  private onRestarted(py: PythonHook): void {
    if (py.state !== "upgrading" && py.state !== "recovery") return;
    if (this.code.restartedWorkload() === "failed") this.setUnitFailed(py);
    else this.setUnitCompleted(py);
  }

  /** `set_unit_failed` (L723–739): `Blocked("")` (no library call site passes a cause: upstream bug 16). */
  private setUnitFailed(py: PythonHook): void {
    if (py.relationId === null) return;
    if (py.isLeader()) py.forgetStack();
    py.status("blocked", "");
    py.updateUnit({ state: "failed" });
    this.logRollbackInstructions(py);
  }

  /** `set_unit_completed` (L741–759); on Kubernetes it emits `upgrade_finished`. */
  private setUnitCompleted(py: PythonHook): void {
    if (py.relationId === null) return;
    if (py.isLeader()) py.forgetStack();
    py.status("maintenance", "upgrade completed");
    py.updateUnit({ state: "completed" });
    if (this.code.substrate === "k8s") this.onFinished(py);
  }

  /** `_on_upgrade_finished` (L1039–1073): the leader pops; each completing unit lowers the partition below it. */
  private onFinished(py: PythonHook): void {
    if (this.code.substrate === "vm" || py.relationId === null) return;
    if (py.isLeader()) this.onChanged(py);
    const number = py.unitNumber;
    if (number === py.peers().length) {
      py.log("INFO", `${py.unit} unit upgraded. Evaluate and run \`resume-upgrade\` action to continue upgrade`);
      return;
    }
    if (number === 0) {
      py.log("INFO", `${py.unit} unit upgraded. Upgrade is complete`);
      return;
    }
    try {
      py.setPartition(number - 1);
    } catch (error) {
      if (!(error instanceof KubernetesClientError)) throw error;
      py.log("ERROR", "Cannot set rolling update partition");
      this.setUnitFailed(py);
      this.logRollbackInstructions(py); // called twice (upstream bug 13)
    }
  }

  /** `_repair_upgrade_stack` (L699–721): re-insert the units missing from the stack just below its top. */
  private repairStack(py: PythonHook): void {
    const stack = py.stack();
    const cluster = py.clusterState();
    if (
      (cluster !== "failed" && cluster !== "recovery") ||
      !stack?.length ||
      stack.length === py.appUnits().length ||
      !py.isLeader()
    )
      return;
    for (const unit of py.appUnits()) {
      const id = Number(unit.slice(unit.indexOf("/") + 1));
      if (!stack.includes(id)) stack.splice(stack.length - 1, 0, id);
    }
    py.setStack(stack);
  }

  /** The charm's `log_rollback_instructions` (abstract in the library): the two steps charms log (§5). */
  private logRollbackInstructions(py: PythonHook): void {
    py.log(
      "WARNING",
      "1. Re-run `pre-upgrade-check` action on the leader unit to enter 'recovery' state 2. Run `juju refresh` to the previously deployed charm revision",
    );
  }
}

/** Where ops keeps the events a handler deferred, in the unit's server-side store. */
const DEFERRED_KEY = "ops.deferred";

/**
 * The Python-library charm of the one model's simulated database (its world: which workload each unit installed,
 * which units fail) for unit `id` running `revision`: what `runHookSync` runs for a revision the {@link SimCharm}
 * says uses the Python library.
 */
export function simPythonCharm(model: JujuModel, charm: SimCharm, id: number, revision: number): PythonLibCharm {
  const version = charm.versionOf(revision);
  const upgrade = (): "completed" | "failed" => {
    charm.recordGrant(model, id, revision, charm.failing.has(id) ? "failed" : "completed");
    if (charm.failing.has(id)) return "failed";
    charm.workloads.set(id, version);
    return "completed";
  };
  return new PythonLibCharm({
    substrate: model.substrate,
    dependencies: charm.dependenciesOf(revision),
    preUpgradeCheck: (planned) => {
      if (charm.failPreUpgradeCheck !== undefined)
        throw new ClusterNotReadyError(charm.failPreUpgradeCheck, "the simulated charm was told to refuse");
      if (model.substrate === "k8s") model.setPartition(planned - 1);
    },
    buildUpgradeStack: () => {
      const leader = model.leader ?? id;
      const others = [...model.units.keys()].filter((unit) => unit !== leader).sort((a, b) => a - b);
      return [leader, ...others];
    },
    upgradeWorkload: upgrade,
    restartedWorkload: () => (charm.failing.has(id) ? "failed" : "completed"),
    setPartition: (partition) => model.setPartition(partition),
  });
}
