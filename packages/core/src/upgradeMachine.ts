import { enqueueActions, not, setup } from "xstate";
import type { Dependencies } from "./dependencyModel.js";
import type { Effect } from "./effects.js";
import type { ErrorData, UpgradeEvent } from "./events.js";
import { CHARM_PATTERN, encodeDependencies, encodeStack, KEYS } from "./peerView.js";
import type { PeerView } from "./peerView.js";
import {
  appKeyInvalid,
  checksVersions,
  compatibility,
  describeStates,
  everyUnitIdle,
  grantBlocker,
  haltedByFailure,
  inRecovery,
  maintainStack,
  ownState,
  holdBlocker,
  pauseBlocker,
  rollingBack,
  planProblem,
  repairStack,
  sameUnits,
  staleOnStack,
  topOfStack,
  unitName,
  withOwnState,
} from "./protocol.js";
import { planResults } from "./plan.js";
import { rollbackCommand } from "./rollbackCommand.js";
import { readSettings } from "./settings.js";
import type { UnitState } from "./unitState.js";
import type { UpgradeContext, UpgradeInput } from "./upgradeContext.js";


/** An empty view, for units whose peer relation does not exist yet. */
export const EMPTY_VIEW: PeerView = { leader: false, units: [], stack: null, dependencies: null, resumed: null, partition: null, problems: [] };

/** Juju truncates statuses for display at 120 characters; keep every message within it. */
const STATUS_WIDTH = 120;
const clipStatus = (text: string) => (text.length > STATUS_WIDTH ? `${text.slice(0, STATUS_WIDTH - 1)}…` : text);

/** The context a unit starts a hook with, from what it read. */
export function contextFromInput(input: UpgradeInput): UpgradeContext {
  const view = input.view ?? EMPTY_VIEW;
  return {
    app: input.app,
    unit: input.unit,
    substrate: input.substrate,
    dependencies: input.dependencies,
    related: input.view !== null,
    view: withOwnState(view, input.unit, stateIn(view, input.unit)),
    settings: readSettings(input.settings),
    charm: input.charm ?? null,
    workloadVersion: input.workloadVersion ?? null,
    workloadKey: workloadKeyOf(input.dependencies, input.workloadKey),
  };
}

/** The DEPENDENCIES key that names the workload: the charm's choice, `workload`, the first non-charm key, the first. */
function workloadKeyOf(dependencies: Dependencies, chosen: string | undefined): string | null {
  const keys = Object.keys(dependencies);
  if (chosen !== undefined) return keys.includes(chosen) ? chosen : null;
  if (keys.includes("workload")) return "workload";
  return keys.find((key) => !/charm/i.test(key)) ?? keys[0] ?? null;
}

/**
 * The checks a force-upgrade may skip on this unit: `version-compatibility` when it failed the version check
 * (and the stored versions are indeed incompatible), `health` when it is upgraded and waiting on its health check.
 */
function forcedChecks(context: UpgradeContext, event: Extract<UpgradeEvent, { type: "forceUpgrade" }>): string[] {
  const checks: string[] = [];
  const state = ownState(context);
  if (!event.checkCompatibility && state === "failed" && checksVersions(context) && compatibility(context)?.compatible === false) {
    checks.push("version-compatibility");
  }
  if (!event.checkHealth && state === "upgrading") checks.push("health");
  return checks;
}

/** The fresh view an event carries, or the context's when it carries none. */
function viewOf(context: UpgradeContext, event: UpgradeEvent): PeerView {
  if (!("view" in event) || !event.view) return context.view;
  const mine = ownState(context) ?? stateIn(event.view, context.unit);
  // Usually the fresh view already records this unit's state: no copy of every unit is needed then.
  if (stateIn(event.view, context.unit) === mine && event.view.units.some((u) => u.id === context.unit)) return event.view;
  return withOwnState(event.view, context.unit, mine);
}

function stateIn(view: PeerView, unit: number): UnitState | null {
  return view.units.find((u) => u.id === unit)?.state ?? null;
}

/** The context as it will be once the event's view is adopted: what guards must judge. */
const judgedCache = new WeakMap<UpgradeEvent, { context: UpgradeContext; judged: UpgradeContext }>();

function judged(context: UpgradeContext, event: UpgradeEvent): UpgradeContext {
  // Guards and actions judge the same (context, event) pair many times per step; compute it once.
  const cached = judgedCache.get(event);
  if (cached && cached.context === context) return cached.judged;
  const related = "view" in event ? event.view !== null || context.related : context.related;
  const result = { ...context, related, view: viewOf(context, event) };
  judgedCache.set(event, { context, judged: result });
  return result;
}

const noop = () => {};

/** Queue an effect: an action named after the effect's type, with the rest of the effect as its params. */
// biome-ignore lint/suspicious/noExplicitAny: xstate cannot type actions enqueued from inside `setup` itself
function emit(enqueue: (action: any) => void, effect: Effect): void {
  const { type, ...params } = effect;
  enqueue(Object.keys(params).length ? { type, params } : { type });
}

/**
 * The upgrade protocol of one unit as an xstate v5 machine.
 *
 * The state value is the state this unit has written to its databag (`unset` until relation-created). Events are
 * what Juju and the charm produce ({@link UpgradeEvent}); actions named after {@link Effect} types are never executed
 * here — `reduce` returns them as data for an adapter to carry out. Guards and composite actions are named so that
 * the inspector, tests (`.provide()`) and explanations can refer to them.
 */
export const upgradeMachine = setup({
  types: {} as { context: UpgradeContext; events: UpgradeEvent; input: UpgradeInput },
  actions: {
    writeUnitData: (_: unknown, _params: unknown) => noop(),
    writeAppData: (_: unknown, _params: unknown) => noop(),
    setUnitStatus: (_: unknown, _params: unknown) => noop(),
    runPreUpgradeCheck: noop,
    grantUpgrade: noop,
    actionResult: (_: unknown, _params: unknown) => noop(),
    actionFail: (_: unknown, _params: unknown) => noop(),
    log: (_: unknown, _params: unknown) => noop(),
    explain: (_: unknown, _params: unknown) => noop(),
    setPartition: (_: unknown, _params: unknown) => noop(),
    defer: noop,
    logRollbackInstructions: noop,
    reportProblem: (_: unknown, _params: unknown) => noop(),

    /** Take the event's fresh view of the peer relation (keeping this unit's own state, which this hook owns). */
    adoptView: enqueueActions(({ context, event, enqueue }) => {
      const next = judged(context, event);
      let view = next.view;
      // This unit's hold lives in its own databag, so every unit sees it; write it when the charm changed it.
      const mine = view.units.find((unit) => unit.id === context.unit);
      const hold = context.settings.hold;
      if (next.related && mine && (mine.hold ?? null) !== hold) {
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.hold]: hold ?? "" } });
        view = { ...view, units: view.units.map((u) => (u.id === context.unit ? (hold ? { ...u, hold } : { id: u.id, state: u.state }) : u)) };
      }
      enqueue.assign({ view, related: next.related });
      for (const problem of next.view.problems) {
        const where = problem.unit ? `unit ${problem.unit}` : "the application databag";
        const error: ErrorData = {
          kind: "PeerDataError",
          message: `Invalid '${problem.key}' in ${where}: ${problem.message}`,
          cause: "peer relation data did not validate; it is ignored",
          resolution: problem.unit
            ? `check the charm revision of ${problem.unit}; it will be ignored until it writes valid data`
            : "run pre-upgrade-check on the leader to rebuild the upgrade data",
        };
        emit(enqueue, { type: "reportProblem", unit: problem.unit, key: problem.key, error });
      }
    }),

    /** Leader: keep the stack true to the cluster (see `maintainStack`) and write it when it changed. */
    maintainStack: enqueueActions(({ context, enqueue }) => {
      const { view } = context;
      if (!view.leader || !view.stack || !context.related) return;
      if (view.problems.some((p) => p.unit === null && p.key === KEYS.stack)) return;
      if (haltedByFailure(view)) return;
      if (context.substrate === "vm" && inRecovery(view)) return;
      const update = maintainStack(context);
      let nextView: PeerView = view;
      if (update.changed || update.pendingChanged) {
        for (const note of update.notes) emit(enqueue, { type: "log", level: "info", message: note });
        const data: Record<string, string> = {};
        if (update.changed) data[KEYS.stack] = encodeStack(update.stack);
        if (update.pendingChanged) data[KEYS.rollbackPending] = update.pending.length ? encodeStack(update.pending) : "";
        emit(enqueue, { type: "writeAppData", data });
        nextView = { ...view, stack: update.stack.length ? update.stack : null, rollbackPending: update.pending };
        enqueue.assign({ view: nextView });
      }
      // Kubernetes: let the unit on top through by lowering the partition to it, unless the roll waits (pause,
      // hold, invalid settings). The last partition set is in the app databag, so it is set once, not every hook.
      // A rollback needs no partition moves: `juju refresh` to the old revision changes the pod template, and every
      // pod at or above the partition (exactly the upgraded ones) rolls back, highest first.
      if (context.substrate !== "k8s" || rollingBack(view)) return;
      const top = topOfStack(nextView);
      if (top === null) return;
      const topState = nextView.units.find((unit) => unit.id === top)?.state ?? null;
      if (topState !== "idle" && topState !== null) return;
      const next = { ...context, view: nextView };
      const waiting = context.settings.problem ?? holdBlocker(next) ?? pauseBlocker(next);
      if (waiting) {
        if (update.changed) emit(enqueue, { type: "log", level: "info", message: `Partition not moved: ${waiting}` });
        return;
      }
      if (nextView.partition === top) return;
      emit(enqueue, { type: "setPartition", partition: top });
      emit(enqueue, { type: "writeAppData", data: { [KEYS.partition]: String(top) } });
      enqueue.assign({ view: { ...nextView, partition: top } });
    }),

    /** Say why this (ready) unit does not start upgrading, in its status and as an explanation. */
    explainWait: enqueueActions(({ context, enqueue }) => {
      if (ownState(context) !== "ready" || context.substrate !== "vm") return;
      const reason = grantBlocker(context);
      if (!reason) return;
      emit(enqueue, { type: "explain", reason });
      emit(enqueue, { type: "setUnitStatus", status: "waiting", message: clipStatus(reason) });
    }),

    /** This unit may upgrade now: record `upgrading` and hand over to the charm. */
    grant: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ view: withOwnState(context.view, context.unit, "upgrading") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "upgrading" } });
      emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrading..." });
      emit(enqueue, { type: "log", level: "info", message: `${unitName(context, context.unit)} granted the upgrade` });
      emit(enqueue, { type: "grantUpgrade" });
    }),

    /** Leader: persist this code's DEPENDENCIES when none are stored (the original overwrote, or crashed later). */
    storeDependenciesIfMissing: enqueueActions(({ context, enqueue }) => {
      const { view } = context;
      if (!view.leader || !context.related || view.dependencies) return;
      if (view.problems.some((p) => p.unit === null && p.key === KEYS.dependencies)) return;
      emit(enqueue, { type: "writeAppData", data: { [KEYS.dependencies]: encodeDependencies(context.dependencies) } });
      enqueue.assign({ view: { ...view, dependencies: context.dependencies } });
    }),

    /** upgrade-charm without a plan: on machines keep the event until there is one; on K8s (any pod restart) say so. */
    noStackOnUpgrade: enqueueActions(({ context, enqueue }) => {
      if (context.substrate === "vm") {
        const reason = "juju refresh ran before pre-upgrade-check: run the pre-upgrade-check action on the leader to start the upgrade";
        emit(enqueue, { type: "defer" });
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "error", message: `Cluster upgrade not planned: ${reason}` });
        emit(enqueue, { type: "setUnitStatus", status: "blocked", message: clipStatus("Run pre-upgrade-check on the leader to start the upgrade") });
      } else {
        const reason = "no upgrade is planned (no upgrade stack): if this was a juju refresh, ensure pre-upgrade-check runs first next time";
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "error", message: `Cluster upgrade failed, ensure pre-upgrade checks are ran first (${reason}).` });
      }
    }),

    /** The version check failed: this unit fails, says why, and the charm logs how to roll back. */
    failOnVersions: enqueueActions(({ context, enqueue }) => {
      const report = compatibility(context);
      const message = report?.message ?? "Versions incompatible";
      enqueue.assign({ view: withOwnState(context.view, context.unit, "failed") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "failed" } });
      emit(enqueue, { type: "log", level: "error", message: `${message} (cause: ${report?.cause ?? ""})` });
      emit(enqueue, { type: "explain", reason: `${message}; roll back with juju refresh to the previous revision` });
      emit(enqueue, { type: "setUnitStatus", status: "blocked", message: clipStatus(message) });
      emit(enqueue, { type: "logRollbackInstructions" });
    }),

    /** Machines: the new charm is here; wait for this unit's turn. */
    becomeReady: enqueueActions(({ context, enqueue }) => {
      const report = checksVersions(context) ? compatibility(context) : null;
      if (checksVersions(context) && report === null) {
        emit(enqueue, {
          type: "log", level: "warning", message: "No stored dependencies to check versions against (deployed without charm-upgrade?); proceeding",
        });
      }
      enqueue.assign({ view: withOwnState(context.view, context.unit, "ready") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "ready" } });
      emit(enqueue, { type: "setUnitStatus", status: "waiting", message: "other units upgrading first..." });
    }),

    /** Kubernetes: the pod restarted on the new charm; it is upgrading, and the charm finishes the job. */
    restartedOnK8s: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ view: withOwnState(context.view, context.unit, "upgrading") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "upgrading" } });
      emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrading unit" });
      emit(enqueue, { type: "grantUpgrade" });
    }),

    /** Leader: a unit failed (or recovery is re-confirmed); repair the stack for a rollback and say what is next. */
    enterRecovery: enqueueActions(({ context, enqueue }) => {
      const { view } = context;
      const repaired = repairStack(view, context.substrate);
      const before = view.stack ?? [];
      emit(enqueue, { type: "log", level: "info", message: "Entering recovery state for rollback of previous upgrade" });
      const data: Record<string, string> = {};
      if (repaired.length !== before.length || repaired.some((id, i) => before[i] !== id)) data[KEYS.stack] = encodeStack(repaired);
      if (!view.rollback) data[KEYS.rollback] = "true";
      // Machines: units that completed the attempt being rolled back must receive the charm again before the
      // leader may pop them (their `completed` is stale until then).
      const pending = context.substrate === "vm" ? staleOnStack(view, repaired) : [];
      if (!sameUnits(pending, view.rollbackPending ?? []) || appKeyInvalid(view, KEYS.rollbackPending)) data[KEYS.rollbackPending] = pending.length ? encodeStack(pending) : "";
      if (Object.keys(data).length) emit(enqueue, { type: "writeAppData", data });
      if (ownState(context) !== "recovery") emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "recovery" } });
      enqueue.assign({
        view: withOwnState({ ...view, stack: repaired.length ? repaired : null, rollback: true, rollbackPending: pending }, context.unit, "recovery"),
      });
      emit(enqueue, { type: "setUnitStatus", status: "blocked", message: "ready to rollback application" });
      const order = [...repaired].reverse().map((id) => unitName(context, id)).join(", ");
      emit(enqueue, {
        type: "actionResult",
          results: {
            message:
              context.substrate === "k8s"
                ? `Recovery ready: run ${rollbackCommand(context)}; pods ${order} roll back in that order. A pod stuck on the bad revision (e.g. CrashLoopBackOff) must be deleted (kubectl delete pod) to roll back.`
                : `Recovery ready: run ${rollbackCommand(context)} to roll back (order: ${order}).`,
            "upgrade-order": order,
          },
      });
    }),

    /** The charm's pre-upgrade check passed: persist the plan (VM: the charm's stack; K8s: sorted ordinals). */
    persistPlan: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "preUpgradeCheckPassed") return;
      const ids = context.view.units.map((unit) => unit.id);
      let stack: readonly number[];
      if (context.substrate === "k8s") {
        stack = [...ids].sort((a, b) => a - b);
      } else {
        if (!event.stack) {
          emit(enqueue, { type: "actionFail", message: "The charm's buildUpgradeStack() returned no stack; it must list every unit." });
          return;
        }
        const problem = planProblem(context, event.stack);
        if (problem) {
          emit(enqueue, { type: "actionFail", message: `Invalid upgrade stack from buildUpgradeStack(): ${problem}.` });
          return;
        }
        stack = event.stack;
      }
      // A new plan: forget the unit an earlier upgrade's resume-upgrade released.
      const data: Record<string, string> = { [KEYS.stack]: encodeStack(stack) };
      if (context.view.resumed != null) data[KEYS.resumed] = "";
      if (context.view.rollback) data[KEYS.rollback] = "";
      if (context.view.rollbackPending?.length || appKeyInvalid(context.view, KEYS.rollbackPending)) data[KEYS.rollbackPending] = "";
      // What the application runs before juju refresh: the target of the rollback command statuses give.
      if (context.charm !== null && CHARM_PATTERN.test(context.charm)) data[KEYS.fromCharm] = context.charm;
      else if (context.view.fromCharm || appKeyInvalid(context.view, KEYS.fromCharm)) data[KEYS.fromCharm] = "";
      if (context.substrate === "k8s" && stack.length) {
        const first = stack[stack.length - 1] ?? 0;
        emit(enqueue, { type: "setPartition", partition: first });
        data[KEYS.partition] = String(first);
      }
      emit(enqueue, { type: "writeAppData", data });
      const fromCharm = data[KEYS.fromCharm] || null;
      enqueue.assign({ view: { ...context.view, stack, resumed: null, rollback: false, rollbackPending: [], fromCharm, partition: data[KEYS.partition] ? Number(data[KEYS.partition]) : (context.view.partition ?? null) } });
      emit(enqueue, { type: "actionResult", results: { ...planResults(context, stack) } });
    }),

    /** resume-upgrade: let the next unit through, when (and only when) the upgrade waits for it. */
    resume: enqueueActions(({ context, enqueue }) => {
      const fail = (message: string) => emit(enqueue, { type: "actionFail", message });
      if (!context.related) return fail("Could not find upgrade relation.");
      if (!context.view.leader) return fail("Action must be run on the Juju leader unit (juju run <app>/leader resume-upgrade).");
      const top = topOfStack(context.view);
      if (top === null) return fail("Nothing to resume, upgrade stack unset.");
      if (context.settings.pauseAfter === "none" && !context.settings.problem) {
        return fail("pause-after-unit-upgrade is none: the upgrade does not pause, so there is nothing to resume.");
      }
      if (!pauseBlocker(context)) {
        return fail(`Nothing to resume: the upgrade is not paused (${describeStates(context)}).`);
      }
      // Release the unit on top: recorded in the app databag so every unit (and the next hook) sees it.
      emit(enqueue, { type: "writeAppData", data: { [KEYS.resumed]: String(top) } });
      enqueue.assign({ view: { ...context.view, resumed: top } });
      if (context.substrate === "k8s") {
        emit(enqueue, { type: "setPartition", partition: top });
        emit(enqueue, { type: "writeAppData", data: { [KEYS.partition]: String(top) } });
        enqueue.assign({ view: { ...context.view, resumed: top, partition: top } });
      }
      emit(enqueue, { type: "log", level: "info", message: `resume-upgrade: ${unitName(context, top)} may upgrade now` });
      emit(enqueue, { type: "actionResult", results: { message: `Upgrade will resume on unit ${top}` } });
    }),

    /** The charm upgraded this unit. */
    markCompleted: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ view: withOwnState(context.view, context.unit, "completed") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "completed" } });
      emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrade completed" });
      emit(enqueue, { type: "log", level: "info", message: `${unitName(context, context.unit)} upgrade completed` });
    }),

    /** The charm could not upgrade this unit: halt the cluster, and never with an empty message (upstream bug 16). */
    markFailed: enqueueActions(({ context, event, enqueue }) => {
      const cause = event.type === "upgradeFailed" && event.cause ? event.cause : "";
      const message = cause || `Upgrade of ${unitName(context, context.unit)} failed; see the unit log, then roll back`;
      enqueue.assign({ view: withOwnState(context.view, context.unit, "failed") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "failed" } });
      emit(enqueue, { type: "log", level: "error", message: `upgrade failed: ${message}` });
      emit(enqueue, { type: "setUnitStatus", status: "blocked", message: clipStatus(message) });
      emit(enqueue, { type: "logRollbackInstructions" });
    }),

    /** Every unit is done: back to idle; the leader records the new DEPENDENCIES for the next upgrade's check. */
    finishUpgrade: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ view: withOwnState(context.view, context.unit, "idle") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "idle" } });
      emit(enqueue, { type: "setUnitStatus", status: "active", message: "" });
      if (context.view.leader) {
        const encoded = encodeDependencies(context.dependencies);
        const stored = context.view.dependencies ? encodeDependencies(context.view.dependencies) : null;
        const data: Record<string, string> = {};
        if (stored !== encoded) data[KEYS.dependencies] = encoded;
        if (context.view.resumed != null) data[KEYS.resumed] = "";
        if (context.view.rollback) data[KEYS.rollback] = "";
        if (context.view.rollbackPending?.length || appKeyInvalid(context.view, KEYS.rollbackPending)) data[KEYS.rollbackPending] = "";
        if (context.view.fromCharm || appKeyInvalid(context.view, KEYS.fromCharm)) data[KEYS.fromCharm] = "";
        if (Object.keys(data).length) emit(enqueue, { type: "writeAppData", data });
        enqueue.assign({
          view: {
            ...withOwnState(context.view, context.unit, "idle"),
            dependencies: context.dependencies,
            resumed: null,
            rollback: false,
            rollbackPending: [],
            fromCharm: null,
          },
        });
      }
      emit(enqueue, { type: "log", level: "info", message: `${unitName(context, context.unit)} upgrade finished; unit idle` });
    }),

    /** relation-created: every unit starts idle. */
    becomeIdle: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ view: withOwnState(context.view, context.unit, "idle") });
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "idle" } });
      emit(enqueue, { type: "setUnitStatus", status: "active", message: "" });
    }),

    /** pre-upgrade-check while units are not all idle: refuse, listing every unit's state. */
    refuseCheckWhileUpgrading: enqueueActions(({ context, enqueue }) => {
            emit(enqueue, {
              type: "actionFail", message: `Cannot run pre-upgrade checks, cluster already upgrading (${describeStates(context)}).`,
            });
          }),

    /** The charm's pre-upgrade check refused: fail the action with its message (cause and resolution logged). */
    reportCheckFailure: enqueueActions(({ event, enqueue }) => {
        if (event.type !== "preUpgradeCheckFailed") return;
        const { error } = event;
        const message =
          error.kind === "ClusterNotReadyError"
            ? error.message
            : `Unknown error found: ${error.message}`;
        if (error.cause || error.resolution) {
          emit(enqueue, { type: "log", level: "error", message: `pre-upgrade check failed: ${error.message} (cause: ${error.cause}; resolution: ${error.resolution})` });
        }
        emit(enqueue, { type: "actionFail", message });
      }),

    /** The charm reported completion while this unit was not upgrading: log and ignore. */
    ignoreStrayCompletion: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, {
          type: "log", level: "warning", message: `upgrade reported completed, but ${unitName(context, context.unit)} is ${ownState(context) ?? "without a state"}; ignored`,
        });
      }),

    /** The workload is upgraded but the charm's health check does not pass yet: wait, and say what the operator may do. */
    reportUnhealthy: enqueueActions(({ context, event, enqueue }) => {
      const reason = event.type === "upgradePending" ? event.reason : "the post-upgrade health check has not passed";
      const me = unitName(context, context.unit);
      emit(enqueue, { type: "explain", reason: `${me} is upgraded but not healthy yet (${reason}); no other unit upgrades until it is` });
      emit(enqueue, {
        type: "setUnitStatus",
        status: "waiting",
        message: clipStatus(`Unhealthy: ${reason}. Fix, or force-upgrade check-health=false`),
      });
    }),

    /** force-upgrade: skip the named check(s) the unit waits on; log and record each one. */
    forceThrough: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "forceUpgrade") return;
      const skipped = forcedChecks(context, event);
      const me = unitName(context, context.unit);
      const mine = context.view.units.find((unit) => unit.id === context.unit);
      const before = mine?.skipped ?? [];
      const record = [...before, ...skipped.filter((check) => !before.includes(check))];
      emit(enqueue, { type: "writeUnitData", data: { [KEYS.skipped]: JSON.stringify(record) } });
      for (const check of skipped) {
        emit(enqueue, { type: "log", level: "warning", message: `force-upgrade on ${me}: skipped the ${check} check at the operator's request` });
      }
      emit(enqueue, { type: "actionResult", results: { message: `Forced: skipped ${skipped.join(" and ")} on ${me}.`, "skipped-checks": skipped.join(",") } });
    }),

    /** force-upgrade that skips nothing, or nothing to skip on this unit: refuse, saying what the unit waits on. */
    refuseForce: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "forceUpgrade") return;
      const me = unitName(context, context.unit);
      let message: string;
      if (event.checkCompatibility && event.checkHealth) {
        message = "force-upgrade must skip at least one check: set check-compatibility=false and/or check-health=false.";
      } else {
        const state = ownState(context) ?? "without a state";
        message = `Nothing to force on ${me} (it is ${state}): check-compatibility=false applies to a unit failed by the version check, check-health=false to an upgraded unit waiting on its health check.`;
      }
      emit(enqueue, { type: "actionFail", message });
    }),

    /** Still upgrading from an earlier hook: ask the charm again (its handler is idempotent). */
    regrant: enqueueActions(({ context, enqueue }) => {
      if (ownState(context) === "upgrading") emit(enqueue, { type: "grantUpgrade" });
    }),
  },
  guards: {
    /** The peer relation exists (judged on the event's view). */
    noRelation: ({ context, event }) => !judged(context, event).related,
    isLeader: ({ context, event }) => judged(context, event).view.leader,
    isK8s: ({ context }) => context.substrate === "k8s",
    /** No upgrade stack: pre-upgrade-check has not run (or the last upgrade finished). */
    stackUnset: ({ context, event }) => !judged(context, event).view.stack,
    /** A unit failed and the leader has not entered recovery: the cluster is halted. */
    clusterFailed: ({ context, event }) => haltedByFailure(judged(context, event).view),
    clusterInRecovery: ({ context, event }) => inRecovery(judged(context, event).view),
    everyUnitIdle: ({ context, event }) => everyUnitIdle(judged(context, event).view),
    /** This unit checks versions on upgrade-charm and the stored versions may not be upgraded to this code's. */
    versionsIncompatible: ({ context, event }) => {
      const next = judged(context, event);
      if (!checksVersions(next)) return false;
      const report = compatibility(next);
      return report !== null && !report.compatible;
    },
    /** Machines: this unit is on top of the stack, ready, every participant ready, and nobody else upgrading. */
    grantable: ({ context }) =>
      context.substrate === "vm" && context.related && grantBlocker(context) === null,
    /** The upgrade is over: no stack, and every unit idle or completed. */
    /** force-upgrade names a check this unit is actually waiting on. */
    forceSkipsCompatibility: ({ context, event }) =>
      event.type === "forceUpgrade" && forcedChecks(judged(context, event), event).includes("version-compatibility"),
    forceSkipsHealth: ({ context, event }) =>
      event.type === "forceUpgrade" && forcedChecks(judged(context, event), event).includes("health"),
    upgradeOver: ({ context }) =>
      context.related &&
      !context.view.stack &&
      !context.view.problems.some((p) => p.unit === null && p.key === KEYS.stack) &&
      context.view.units.every((unit) => unit.state === "idle" || unit.state === "completed" || unit.state === "recovery"),
  },
}).createMachine({
  id: "unit",
  context: ({ input }) => contextFromInput(input),
  initial: "unset",
  on: {
    relationCreated: [
      { guard: "noRelation", actions: "defer" },
      {
        target: ".idle",
        actions: [
          "adoptView",
          "becomeIdle",
          "storeDependenciesIfMissing",
        ],
      },
    ],
    relationChanged: { actions: ["adoptView", "maintainStack", "regrant", "explainWait"] },
    tick: { actions: ["adoptView", "maintainStack", "regrant", "explainWait"] },
    leaderElected: { actions: ["adoptView", "storeDependenciesIfMissing", "maintainStack", "regrant", "explainWait"] },
    upgradeCharm: [
      { guard: "noRelation", actions: "defer" },
      { guard: "stackUnset", actions: ["adoptView", "noStackOnUpgrade"] },
      { guard: "versionsIncompatible", target: ".failed", actions: ["adoptView", "failOnVersions"] },
      { guard: "isK8s", target: ".upgrading", actions: ["adoptView", "restartedOnK8s", "maintainStack"] },
      { target: ".ready", actions: ["adoptView", "becomeReady", "maintainStack", "explainWait"] },
    ],
    preUpgradeCheck: [
      { guard: "noRelation", actions: { type: "actionFail", params: { message: "Could not find upgrade relation." } } },
      {
        guard: not("isLeader"),
        actions: {
          type: "actionFail",
          params: { message: "Action must be run on the Juju leader unit (juju run <app>/leader pre-upgrade-check)." },
        },
      },
      { guard: "clusterFailed", target: ".recovery", actions: ["adoptView", "enterRecovery"] },
      { guard: "clusterInRecovery", target: ".recovery", actions: ["adoptView", "enterRecovery"] },
      {
        guard: not("everyUnitIdle"),
        actions: [
          "adoptView",
          "refuseCheckWhileUpgrading",
        ],
      },
      { actions: ["adoptView", "runPreUpgradeCheck"] },
    ],
    preUpgradeCheckPassed: { actions: "persistPlan" },
    preUpgradeCheckFailed: { actions: "reportCheckFailure" },
    resumeUpgrade: { actions: ["adoptView", "resume"] },
    upgradeCompleted: { actions: "ignoreStrayCompletion" },
    upgradeFailed: { target: ".failed", actions: "markFailed" },
    forceUpgrade: [
      { guard: "noRelation", actions: { type: "actionFail", params: { message: "Could not find upgrade relation." } } },
      {
        guard: "forceSkipsCompatibility",
        target: ".ready",
        actions: ["adoptView", "forceThrough", "becomeReady", "maintainStack", "explainWait"],
      },
      { guard: "forceSkipsHealth", target: ".completed", actions: ["adoptView", "forceThrough", "markCompleted", "maintainStack"] },
      { actions: ["adoptView", "refuseForce"] },
    ],
  },
  states: {
    unset: {},
    idle: {},
    ready: {
      always: [{ guard: "grantable", target: "upgrading", actions: "grant" }],
    },
    upgrading: {
      on: {
        upgradeCompleted: { target: "completed", actions: ["markCompleted", "maintainStack"] },
        upgradePending: { actions: "reportUnhealthy" },
      },
    },
    completed: {
      always: [{ guard: "upgradeOver", target: "idle", actions: "finishUpgrade" }],
    },
    failed: {},
    recovery: {
      // Kubernetes: a leader whose pod never left the old revision gets no upgrade-charm during the rollback;
      // it returns to idle with everyone else when the rollback is over (the original left it in recovery).
      always: [{ guard: "upgradeOver", target: "idle", actions: "finishUpgrade" }],
    },
  },
});

/** The state values of {@link upgradeMachine}: the six unit states plus `unset` (nothing written yet). */
export type MachineStateValue = UnitState | "unset";

