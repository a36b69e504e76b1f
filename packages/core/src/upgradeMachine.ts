import { and, enqueueActions, not, setup } from "xstate";
import type { Dependencies } from "./dependencyModel.js";
import type { Effect, EffectParams, EffectType } from "./effects.js";
import { EFFECT_TYPES } from "./effects.js";
import type { UpgradeEvent } from "./events.js";
import { completedOnOtherWorkload, readObservation, runsOlderDefinition, workloadAhead } from "./observed.js";
import { CHARM_PATTERN, encodeDependencies, encodeStack, KEYS, RESOURCE_PATTERN } from "./peerView.js";
import type { PeerView } from "./peerView.js";
import {
  appKeyInvalid,
  checksVersions,
  compatibility,
  describeStates,
  downgradeRecord,
  downgradeRefusal,
  everyUnitIdle,
  grantBlocker,
  haltedByFailure,
  inRecovery,
  maintainStack,
  forwardTarget,
  onRollTarget,
  onThirdCharm,
  ownState,
  partitionFailure,
  partitionOutside,
  holdBlocker,
  pauseBlocker,
  rollingBack,
  planProblem,
  pythonCascade,
  readyOffStack,
  rebuildStack,
  refreshedBack,
  refreshedForward,
  forwardAgain,
  rollbackStoppedAt,
  repairStack,
  rollbackStack,
  ranAnotherCharm,
  runsOrigin,
  sameUnits,
  staleOnStack,
  thirdCharmBlocker,
  topOfStack,
  unitName,
  unplannedCharms,
  withOwnState,
  rolloutUnfinished,
  awaitsRollClose,
} from "./protocol.js";
import { planResults } from "./plan.js";
import { rollbackCommand } from "./rollbackCommand.js";
import { readSettings } from "./settings.js";
import type { UnitState } from "./unitState.js";
import type { UpgradeContext, UpgradeInput } from "./upgradeContext.js";

/** An empty view, for units whose peer relation does not exist yet. */
export const EMPTY_VIEW: PeerView = {
  leader: false,
  units: [],
  stack: null,
  dependencies: null,
  resumed: null,
  partition: null,
  problems: [],
};

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
    observed: input.observed ? readObservation(input.observed) : null,
    observedAs: stateIn(view, input.unit),
    charmBefore: view.units.find((unit) => unit.id === input.unit)?.charm ?? null,
    resource: typeof input.resource === "string" && RESOURCE_PATTERN.test(input.resource) ? input.resource : null,
    noDowngrade:
      typeof input.noDowngrade === "string" && input.noDowngrade.trim() ? clipReason(input.noDowngrade.trim()) : null,
    ...(input.rolloutPending === undefined ? {} : { rolloutPending: input.rolloutPending }),
  };
}

/** A charm's reason, bounded as the peer data bounds it (see `KEYS.noDowngrade`). */
const clipReason = (text: string) => (text.length > 100 ? `${text.slice(0, 100)}…` : text);

/** The DEPENDENCIES key that names the workload: the charm's choice, `workload`, the first non-charm key, the first. */
function workloadKeyOf(dependencies: Dependencies, chosen: string | undefined): string | null {
  const keys = Object.keys(dependencies);
  if (chosen !== undefined) return keys.includes(chosen) ? chosen : null;
  if (keys.includes("workload")) return "workload";
  return keys.find((key) => !/charm/i.test(key)) ?? keys[0] ?? null;
}

/**
 * The state `view` records for `unit` (`null`: none, or the unit is not in the view): how a unit's own state is read
 * from a view, here and where `reduce` takes an event's view.
 */
export function stateIn(view: PeerView, unit: number): UnitState | null {
  return view.units.find((u) => u.id === unit)?.state ?? null;
}

/**
 * The unit-databag write of this unit's downgrade record (see `downgradeRecord`), when it changes: made as its
 * workload is about to change, so the record describes the workload it will run.
 */
function downgradeData(context: UpgradeContext): Record<string, string> {
  const record = downgradeRecord(context);
  const before = context.view.units.find((unit) => unit.id === context.unit)?.noDowngrade ?? "";
  return record === before ? {} : { [KEYS.noDowngrade]: record };
}

/** An effect's params as an xstate action's: `undefined` for an effect that has no field besides its type. */
type ActionParams<T extends EffectType> = [keyof EffectParams<T>] extends [never] ? undefined : EffectParams<T>;

/**
 * One action per effect type, derived from the one list of them ({@link EFFECT_TYPES}): each is only a name that
 * `reduce` returns as data (it never runs here), typed with its effect's fields so that static params in the
 * machine are checked.
 */
const effectActions = Object.fromEntries(EFFECT_TYPES.map((type) => [type, () => {}])) as unknown as {
  [T in EffectType]: (args: unknown, params: ActionParams<T>) => void;
};

/** Queue an effect: an action named after the effect's type, with the rest of the effect as its params. */
// biome-ignore lint/suspicious/noExplicitAny: xstate cannot type actions enqueued from inside `setup` itself
function emit(enqueue: (action: any) => void, effect: Effect): void {
  const { type, ...params } = effect;
  enqueue(Object.keys(params).length ? { type, params } : { type });
}

/** An action (pre-upgrade-check, force-upgrade) run before the peer relation exists fails. */
const actionNeedsRelation = {
  guard: "noRelation",
  actions: { type: "actionFail", params: { message: "Could not find upgrade relation." } },
} as const;

/** pre-upgrade-check fails on any unit but the leader. */
const checkNeedsLeader = { guard: not("isLeader"), actions: "refuseOffLeader" } as const;

/**
 * The refusal of an action that only the leader runs. A unit cannot tell which unit leads (no hook tool says so),
 * but Juju resolves `<application>/leader` itself: `juju run db/leader pre-upgrade-check` is Juju 3's syntax
 * (https://documentation.ubuntu.com/juju/latest/reference/juju-cli/list-of-juju-cli-commands/run: "juju run
 * mysql/leader backup"), so the message gives that command with the application's real name.
 */
function leaderOnly(context: UpgradeContext, action: "pre-upgrade-check" | "resume-upgrade"): string {
  return `Action must be run on the Juju leader unit (juju run ${context.app}/leader ${action}).`;
}

/** The checks `force-upgrade` can skip, by the names the operator's action and the unit's databag use. */
type ForcedCheck = "version-compatibility" | "health";

/** force-upgrade skips `check` on this unit: record it in the unit's databag, log it and answer the action. */
// biome-ignore lint/suspicious/noExplicitAny: as for `emit`
function forceThrough(context: UpgradeContext, enqueue: (action: any) => void, check: ForcedCheck): void {
  const me = unitName(context, context.unit);
  const before = context.view.units.find((unit) => unit.id === context.unit)?.skipped ?? [];
  const record = before.includes(check) ? before : [...before, check];
  emit(enqueue, { type: "writeUnitData", data: { [KEYS.skipped]: JSON.stringify(record) } });
  emit(enqueue, {
    type: "log",
    level: "warning",
    message: `force-upgrade on ${me}: skipped the ${check} check at the operator's request`,
  });
  emit(enqueue, {
    type: "actionResult",
    results: { message: `Forced: skipped ${check} on ${me}.`, "skipped-checks": check },
  });
}

/** Build {@link upgradeMachine}'s machine (see there). */
function createUpgradeMachine() {
  return setup({
    types: {} as { context: UpgradeContext; events: UpgradeEvent; input: UpgradeInput },
    actions: {
      ...effectActions,

      /** Leader: keep the stack true to the cluster (see `maintainStack`) and write it when it changed. */
      maintainStack: enqueueActions(({ context: start, enqueue }) => {
        let context = start;
        let { view } = context;
        if (!view.leader || !context.related) return;
        // The stack is empty while the roll's last units finish (its records stay until they are idle): a refresh back
        // then still turns the roll around.
        // …and a roll whose stack emptied while a unit it never took in (or popped as done, and it was not) waits,
        // ready, for its grant.
        if (
          !view.stack &&
          !(view.fromCharm && refreshedBack(view)) &&
          !(context.substrate === "vm" && readyOffStack(view).length)
        )
          return;
        if (view.problems.some((p) => p.unit === null && p.key === KEYS.stack)) return;
        // `juju refresh` back to the charm the roll came from: turn the roll around, no pre-upgrade-check needed.
        if (refreshedBack(view)) {
          const stack = rollbackStack(view, context.substrate, context.unit);
          const pending = context.substrate === "vm" ? staleOnStack(view, stack) : [];
          const order = [...stack].reverse().map((id) => unitName(context, id));
          emit(enqueue, {
            type: "log",
            level: "warning",
            message: `juju refresh back to ${view.fromCharm}: rolling back ${order.length ? order.join(", ") : "no unit"} (units that never upgraded are left alone)`,
          });
          const data: Record<string, string> = { [KEYS.stack]: encodeStack(stack), [KEYS.rollback]: "true" };
          if (!sameUnits(pending, view.rollbackPending ?? []))
            data[KEYS.rollbackPending] = pending.length ? encodeStack(pending) : "";
          emit(enqueue, { type: "writeAppData", data });
          view = { ...view, stack: stack.length ? stack : null, rollback: true, rollbackPending: pending };
          enqueue.assign({ view });
          if (!view.stack) return;
          context = { ...context, view };
        }
        // A rollback stopped before a unit whose workload cannot go back: remember the unit, seen on the origin now, so
        // that the roll's target seen on it later is told apart as a refresh forward (see `refreshedForward`).
        const stopped = rollbackStoppedAt(context);
        if (stopped !== null && view.rollbackStopped !== stopped) {
          emit(enqueue, { type: "writeAppData", data: { [KEYS.rollbackStopped]: String(stopped) } });
          view = { ...view, rollbackStopped: stopped };
          enqueue.assign({ view });
          context = { ...context, view };
        }
        // `juju refresh` forward again after the rollback stopped: turn the roll forward again (the mirror of the above).
        if (refreshedForward(view)) {
          const forward = forwardAgain(view, context.substrate, context.unit);
          const order = [...(forward.stack ?? [])].reverse().map((id) => unitName(context, id));
          emit(enqueue, {
            type: "log",
            level: "warning",
            message: `juju refresh forward to ${view.toCharm} after the rollback stopped: upgrading ${order.length ? order.join(", ") : "no unit"} again (units that completed on it are done)`,
          });
          const data: Record<string, string> = {
            [KEYS.stack]: encodeStack(forward.stack ?? []),
            [KEYS.rollback]: "",
            [KEYS.rollbackStopped]: "",
          };
          if (view.rollbackPending?.length || appKeyInvalid(view, KEYS.rollbackPending))
            data[KEYS.rollbackPending] = "";
          emit(enqueue, { type: "writeAppData", data });
          view = forward;
          enqueue.assign({ view });
          context = { ...context, view };
        }
        // The charm the roll goes to, recorded once its first unit moved (a later refresh to another is then refused).
        const target = view.rollback === true ? null : forwardTarget(view);
        if (target !== null && view.toCharm !== target && !view.toCharm) {
          emit(enqueue, { type: "writeAppData", data: { [KEYS.toCharm]: target } });
          view = { ...view, toCharm: target };
          enqueue.assign({ view });
          context = { ...context, view };
        }
        if (haltedByFailure(view)) return;
        if (context.substrate === "vm" && inRecovery(view)) return;
        const update = maintainStack(context);
        let nextView: PeerView = view;
        if (update.changed || update.pendingChanged) {
          for (const note of update.notes) emit(enqueue, { type: "log", level: "info", message: note });
          const data: Record<string, string> = {};
          if (update.changed) data[KEYS.stack] = encodeStack(update.stack);
          if (update.pendingChanged)
            data[KEYS.rollbackPending] = update.pending.length ? encodeStack(update.pending) : "";
          nextView = { ...view, stack: update.stack.length ? update.stack : null, rollbackPending: update.pending };
          // The units popped here may leave on top the unit the rollback stops before: recorded now, as above (the
          // next leader hook may come after the operator's refresh forward).
          const stoppedNow = rollbackStoppedAt({ ...context, view: nextView });
          if (stoppedNow !== null && nextView.rollbackStopped !== stoppedNow) {
            data[KEYS.rollbackStopped] = String(stoppedNow);
            nextView = { ...nextView, rollbackStopped: stoppedNow };
          }
          emit(enqueue, { type: "writeAppData", data });
          enqueue.assign({ view: nextView });
        }
        // Kubernetes: let the unit on top through by lowering the partition to it, unless the roll waits (pause,
        // hold, invalid settings). The last partition set is in the app databag, so it is set once, not every hook.
        // A rollback needs no partition moves: `juju refresh` to the old revision changes the pod template, and every
        // pod at or above the partition (exactly the upgraded ones) rolls back, highest first.
        if (context.substrate !== "k8s") return;
        if (rollingBack(view)) {
          // …but a partition raised by hand above the recorded one (`kubectl patch`, issue 12.4) would hold upgraded
          // pods on the new revision for ever: once the rollback is under way the leader reads it back, and sets it
          // back when it is above (a lower one is recorded, never raised).
          const recorded = nextView.partition ?? null;
          if (view.rollback === true && nextView.stack && recorded !== null)
            emit(enqueue, { type: "lowerPartition", partition: recorded });
          return;
        }
        const top = topOfStack(nextView);
        if (top === null) return;
        const topState = nextView.units.find((unit) => unit.id === top)?.state ?? null;
        if (topState !== "idle" && topState !== null) return;
        const next = { ...context, view: nextView };
        const waiting = context.settings.problem ?? thirdCharmBlocker(next) ?? holdBlocker(next) ?? pauseBlocker(next);
        if (waiting) {
          if (update.changed) emit(enqueue, { type: "log", level: "info", message: `Partition not moved: ${waiting}` });
          return;
        }
        // The partition only goes down during a roll: every pod at or above it may already run the new revision, so
        // raising it would strand them (and hangs Juju's agent: LP#2073473). A partition recorded at or below the top
        // lets it through already — if the API server still holds it: `lowerPartition` reads it back, so that one set
        // outside charm-upgrade (`kubectl patch`, issue 12.4) is noticed, set back when it holds the top, and never
        // raised back when it is lower. Recorded once the API server holds it (`partitionSet`): the recorded partition
        // is always one it held.
        const recorded = nextView.partition ?? null;
        emit(enqueue, { type: "lowerPartition", partition: recorded !== null && recorded <= top ? recorded : top });
      }),

      /**
       * Kubernetes, a roll the Python library planned: this completed unit releases the next one as the Python
       * library's units did (see `pythonCascade`), or says what it waits for.
       */
      cascadeAsPython: enqueueActions(({ context, enqueue }) => {
        const step = pythonCascade(context);
        if (!step) return;
        const me = unitName(context, context.unit);
        if (step.kind === "wait") {
          emit(enqueue, { type: "explain", reason: `${me} upgraded; ${step.reason}` });
          const status = `${step.reason.charAt(0).toUpperCase()}${step.reason.slice(1)}`;
          emit(enqueue, { type: "setUnitStatus", status: "waiting", message: clipStatus(status) });
          return;
        }
        if (step.kind === "released") {
          emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrade completed" });
          return;
        }
        emit(enqueue, {
          type: "log",
          level: "info",
          message: `${me} upgraded: partition to ${step.partition}, releasing ${unitName(context, step.partition)} (the Python library's rule in a roll it planned)`,
        });
        emit(enqueue, { type: "setPartition", partition: step.partition });
        emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrade completed" });
      }),

      /** pre-upgrade-check on a unit that is not the leader: refuse, with the command that reaches the leader. */
      refuseOffLeader: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, { type: "actionFail", message: leaderOnly(context, "pre-upgrade-check") });
      }),

      /**
       * Say why this ready unit does not start upgrading, in its status and as an explanation (machines), or that it
       * may not roll back (both substrates: it needs the operator).
       */
      explainWait: enqueueActions(({ context, enqueue }) => {
        const refusal = downgradeRefusal(context);
        if (refusal) {
          emit(enqueue, { type: "explain", reason: refusal });
          emit(enqueue, { type: "setUnitStatus", status: "blocked", message: clipStatus(refusal) });
          return;
        }
        if (context.substrate !== "vm") return;
        const reason = grantBlocker(context);
        if (!reason) return;
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "setUnitStatus", status: "waiting", message: clipStatus(reason) });
      }),

      /** This unit may upgrade now: record `upgrading` and hand over to the charm. */
      grant: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ view: withOwnState(context.view, context.unit, "upgrading") });
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "upgrading", ...downgradeData(context) } });
        emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrading..." });
        emit(enqueue, {
          type: "log",
          level: "info",
          message: `${unitName(context, context.unit)} granted the upgrade`,
        });
        emit(enqueue, { type: "grantUpgrade" });
      }),

      /** Leader: persist this code's DEPENDENCIES when none are stored (the original overwrote, or crashed later). */
      storeDependenciesIfMissing: enqueueActions(({ context, enqueue }) => {
        const { view } = context;
        if (!view.leader || !context.related) return;
        const data: Record<string, string> = {};
        let next: PeerView = view;
        if (!view.dependencies && !appKeyInvalid(view, KEYS.dependencies)) {
          data[KEYS.dependencies] = encodeDependencies(context.dependencies);
          next = { ...next, dependencies: context.dependencies };
        }
        // What the application runs at rest, recorded once, while nothing is rolling (see KEYS.settledCharm).
        const charm = context.charm !== null && CHARM_PATTERN.test(context.charm) ? context.charm : null;
        if (
          charm &&
          !view.settledCharm &&
          !view.stack &&
          !view.rollback &&
          view.units.every((u) => u.state === "idle" || u.state === null)
        ) {
          data[KEYS.settledCharm] = charm;
          next = { ...next, settledCharm: charm };
        }
        if (!Object.keys(data).length) return;
        emit(enqueue, { type: "writeAppData", data });
        enqueue.assign({ view: next });
      }),

      /**
       * Kubernetes: this unit's pod restarted while a unit failed and no recovery started — on the charm it completed
       * on (evicted, OOM-killed, rescheduled: Juju runs `upgrade-charm` anyway, LP#2021891), or, not yet upgraded, on
       * the new one (the partition lowered outside charm-upgrade, issue 12.4). A halt grants nobody: it keeps its
       * state (`completed`: its workload runs what it ran; `idle`: a rollback brings its pod back, a pre-upgrade-check
       * plans anew) instead of being handed to the charm.
       */
      holdRestartWhileHalted: enqueueActions(({ context, enqueue }) => {
        const me = unitName(context, context.unit);
        const reason =
          ownState(context) === "completed"
            ? `${me} restarted (its pod was deleted: evicted, rescheduled) while the upgrade is halted by a failure: it stays completed, and is not upgraded again`
            : `${me} restarted on a new charm while the upgrade is halted by a failure (was the partition lowered outside charm-upgrade?): it is not upgraded until the operator recovers`;
        emit(enqueue, { type: "log", level: ownState(context) === "completed" ? "info" : "warning", message: reason });
        emit(enqueue, { type: "explain", reason });
      }),

      /**
       * upgrade-charm without a plan: `juju refresh` ran before pre-upgrade-check. Keep the event until there is a plan,
       * and say so (on Kubernetes, where a pod restarts on any charm: when this unit runs another charm than the one the
       * application settled on; the other pods are held by the partition its `stop` raised). A pod that restarted on
       * the charm the application runs (evicted, rescheduled: LP#2021891) has nothing to upgrade.
       */
      noStackOnUpgrade: enqueueActions(({ context, enqueue }) => {
        const me = unitName(context, context.unit);
        const settled = context.view.settledCharm ?? null;
        if (context.substrate === "k8s" && settled !== null && context.charm === settled) {
          const reason = `${me} restarted on the charm the application runs (${settled}): nothing to upgrade`;
          emit(enqueue, { type: "explain", reason });
          emit(enqueue, { type: "log", level: "info", message: reason });
          emit(enqueue, { type: "setUnitStatus", status: "active", message: "" });
          return;
        }
        if (context.substrate === "vm" || unplannedCharms(context.view).some((unit) => unit.id === context.unit)) {
          const reason =
            "juju refresh ran before pre-upgrade-check: run the pre-upgrade-check action on the leader to start the upgrade";
          emit(enqueue, { type: "defer" });
          emit(enqueue, { type: "explain", reason });
          emit(enqueue, { type: "log", level: "error", message: `Cluster upgrade not planned: ${reason}` });
          emit(enqueue, {
            type: "setUnitStatus",
            status: "blocked",
            message: clipStatus("Run pre-upgrade-check on the leader to start the upgrade"),
          });
        } else {
          const reason =
            "no upgrade is planned (no upgrade stack): if this was a juju refresh, ensure pre-upgrade-check runs first next time";
          emit(enqueue, { type: "explain", reason });
          emit(enqueue, {
            type: "log",
            level: "error",
            message: `Cluster upgrade failed, ensure pre-upgrade checks are ran first (${reason}).`,
          });
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
            type: "log",
            level: "warning",
            message: "No stored dependencies to check versions against (deployed without charm-upgrade?); proceeding",
          });
        }
        enqueue.assign({ view: withOwnState(context.view, context.unit, "ready") });
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "ready" } });
        emit(enqueue, { type: "setUnitStatus", status: "waiting", message: "other units upgrading first..." });
      }),

      /**
       * upgrade-charm brought the charm the roll came from to a unit that never upgraded its workload: a pod
       * restarted on the old revision (evicted, rescheduled: Juju runs upgrade-charm anyway, LP#2021891), or a refresh
       * back reaching a machine that had not upgraded yet. Nothing to do: it is idle on the old code, and says so.
       */
      backOnOldCharm: enqueueActions(({ context, enqueue }) => {
        const me = unitName(context, context.unit);
        const reason =
          context.substrate === "k8s"
            ? `${me} restarted on the revision it ran before (${context.charm}): it is not upgraded; it waits for its turn`
            : `${me} received ${context.charm} again before it upgraded: nothing to roll back here`;
        if (ownState(context) !== "idle") {
          enqueue.assign({ view: withOwnState(context.view, context.unit, "idle") });
          emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "idle" } });
          emit(enqueue, { type: "setUnitStatus", status: "active", message: "" });
        }
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "info", message: reason });
      }),

      /**
       * upgrade-charm brought the old charm to a unit whose workload moved on though its record says it never upgraded
       * (see `workloadAhead`): say so, in the log, before it becomes `ready` to be rolled back.
       */
      upgradeRecordLost: enqueueActions(({ context, enqueue }) => {
        const key = context.workloadKey;
        const installs = key === null ? "?" : (context.dependencies[key]?.version ?? "?");
        const reason = `${unitName(context, context.unit)} runs workload ${context.workloadVersion}, not the ${installs} ${context.charm} installs, though it recorded ${context.observedAs}: its upgrade's hook failed after the upgrade (Juju discarded its record); rolled back as an upgraded unit`;
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "warning", message: reason });
      }),

      /**
       * upgrade-charm brought the roll's target to a unit that recorded `completed` while its workload runs another
       * version than that charm installs (see `completedOnOtherWorkload`): say so, in the log, before it becomes
       * `ready` to be granted again.
       */
      completedNotDone: enqueueActions(({ context, enqueue }) => {
        const key = context.workloadKey;
        const installs = key === null ? "?" : (context.dependencies[key]?.version ?? "?");
        const reason = `${unitName(context, context.unit)} recorded completed but runs workload ${context.workloadVersion}, not the ${installs} ${context.charm} installs: not done; it upgrades again`;
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "warning", message: reason });
      }),

      /** A rollback returns to a known-good revision: its health gate does not hold the roll (it is logged). */
      completeRollbackUnchecked: enqueueActions(({ context, event, enqueue }) => {
        const reason = event.type === "upgradePending" ? event.reason : "the post-upgrade health check has not passed";
        emit(enqueue, {
          type: "log",
          level: "warning",
          message: `${unitName(context, context.unit)} rolled back; its health check does not pass yet (${reason}), which a rollback to the known-good revision does not wait for`,
        });
      }),

      /**
       * `juju refresh` to a third charm reached this unit mid-roll (neither the roll's origin nor its target): refused.
       * The unit keeps its state and is not granted; its status says the two commands that end it.
       */
      refuseThirdCharm: enqueueActions(({ context, enqueue }) => {
        const reason = thirdCharmBlocker(context);
        if (!reason) return;
        emit(enqueue, { type: "explain", reason });
        emit(enqueue, { type: "log", level: "warning", message: `Refresh refused mid-upgrade: ${reason}` });
        // Unclipped: the status adds the rollback command and gives way from the end of the detail (unitStatus.ts).
        emit(enqueue, { type: "setUnitStatus", status: "blocked", message: reason });
      }),

      /** Kubernetes: the pod restarted on the new charm; it is upgrading, and the charm finishes the job. */
      restartedOnK8s: enqueueActions(({ context, enqueue }) => {
        enqueue.assign({ view: withOwnState(context.view, context.unit, "upgrading") });
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "upgrading", ...downgradeData(context) } });
        emit(enqueue, { type: "setUnitStatus", status: "maintenance", message: "upgrading unit" });
        emit(enqueue, { type: "grantUpgrade" });
      }),

      /**
       * Kubernetes, in a rollback: the pod restarted on the old revision, but its workload recorded that it cannot go
       * back (see `downgradeRefusal`). It is not handed to the charm: it waits, `ready` (never popped), blocked with why.
       */
      refuseDowngrade: enqueueActions(({ context, enqueue }) => {
        const refusal = downgradeRefusal(context) ?? "this unit cannot roll back";
        enqueue.assign({ view: withOwnState(context.view, context.unit, "ready") });
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "ready" } });
        emit(enqueue, { type: "log", level: "error", message: refusal });
        emit(enqueue, { type: "explain", reason: refusal });
        emit(enqueue, { type: "setUnitStatus", status: "blocked", message: clipStatus(refusal) });
      }),

      /** Leader, pre-upgrade-check after a failure (or again in recovery): repair the stack for a rollback. */
      repairStackForRollback: enqueueActions(({ context, enqueue }) => {
        const { view } = context;
        const repaired = repairStack(view, context.substrate);
        const before = view.stack ?? [];
        emit(enqueue, {
          type: "log",
          level: "info",
          message: "Entering recovery state for rollback of previous upgrade",
        });
        const data: Record<string, string> = {};
        if (repaired.length !== before.length || repaired.some((id, i) => before[i] !== id))
          data[KEYS.stack] = encodeStack(repaired);
        if (!view.rollback) data[KEYS.rollback] = "true";
        // Machines: units that completed the attempt being rolled back must receive the charm again before the
        // leader may pop them (their `completed` is stale until then).
        const pending = context.substrate === "vm" ? staleOnStack(view, repaired) : [];
        if (!sameUnits(pending, view.rollbackPending ?? []) || appKeyInvalid(view, KEYS.rollbackPending))
          data[KEYS.rollbackPending] = pending.length ? encodeStack(pending) : "";
        if (Object.keys(data).length) emit(enqueue, { type: "writeAppData", data });
        enqueue.assign({
          view: { ...view, stack: repaired.length ? repaired : null, rollback: true, rollbackPending: pending },
        });
      }),

      /**
       * pre-upgrade-check while a roll runs and the stack in the application databag does not validate: rebuild it
       * from the units still to go (see `rebuildStack`), so that the roll can go on, and say so.
       */
      rebuildInvalidStack: enqueueActions(({ context, enqueue }) => {
        const { view } = context;
        const bad = view.problems.find((p) => p.unit === null && p.key === KEYS.stack)?.message ?? "invalid";
        const stack = rebuildStack(view, context.substrate, context.unit);
        const order = [...stack].reverse().map((id) => unitName(context, id));
        const text = order.length ? order.join(", ") : "none (every unit is done)";
        emit(enqueue, {
          type: "log",
          level: "warning",
          message: `The upgrade stack in the application databag was invalid (${bad}); rebuilt from the units still to go: ${text}`,
        });
        emit(enqueue, { type: "writeAppData", data: { [KEYS.stack]: encodeStack(stack) } });
        enqueue.assign({
          view: {
            ...view,
            stack: stack.length ? stack : null,
            problems: view.problems.filter((p) => !(p.unit === null && p.key === KEYS.stack)),
          },
        });
        emit(enqueue, {
          type: "actionResult",
          results: {
            message: `The upgrade stack was invalid; rebuilt from the units still to go (upgrade order: ${text}). The upgrade goes on.`,
            "upgrade-order": order.join(", "),
          },
        });
      }),

      /** The leader enters recovery: it records `recovery` (a leader already in recovery has it recorded). */
      recordRecovery: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, { type: "writeUnitData", data: { [KEYS.state]: "recovery" } });
        enqueue.assign({ view: withOwnState(context.view, context.unit, "recovery") });
      }),

      /** The rollback is ready: say so in the status, and give the operator the command and the order. */
      reportRollbackPlan: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, { type: "setUnitStatus", status: "blocked", message: "ready to rollback application" });
        const order = [...(context.view.stack ?? [])]
          .reverse()
          .map((id) => unitName(context, id))
          .join(", ");
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
            emit(enqueue, {
              type: "actionFail",
              message: "The charm's buildUpgradeStack() returned no stack; it must list every unit.",
            });
            return;
          }
          const problem = planProblem(context, event.stack);
          if (problem) {
            emit(enqueue, {
              type: "actionFail",
              message: `Invalid upgrade stack from buildUpgradeStack(): ${problem}.`,
            });
            return;
          }
          stack = event.stack;
        }
        // A new plan: forget the unit an earlier upgrade's resume-upgrade released.
        // The plan is kept as made, so that a refresh back can roll the upgraded units back newest first.
        const data: Record<string, string> = { [KEYS.stack]: encodeStack(stack), [KEYS.plan]: encodeStack(stack) };
        if (context.view.resumed != null) data[KEYS.resumed] = "";
        if (context.view.toCharm || appKeyInvalid(context.view, KEYS.toCharm)) data[KEYS.toCharm] = "";
        if (context.view.rollback) data[KEYS.rollback] = "";
        if (context.view.rollbackPending?.length || appKeyInvalid(context.view, KEYS.rollbackPending))
          data[KEYS.rollbackPending] = "";
        if (context.view.rollbackStopped != null || appKeyInvalid(context.view, KEYS.rollbackStopped))
          data[KEYS.rollbackStopped] = "";
        // What the application runs before juju refresh: the target of the rollback command statuses give. The charm
        // it runs at rest, when recorded: the leader's own is the new one if `juju refresh` came first.
        const from =
          context.view.settledCharm ??
          (context.charm !== null && CHARM_PATTERN.test(context.charm) ? context.charm : null);
        if (from !== null) data[KEYS.fromCharm] = from;
        else if (context.view.fromCharm || appKeyInvalid(context.view, KEYS.fromCharm)) data[KEYS.fromCharm] = "";
        // Kubernetes: the workload image too, which `juju refresh --revision` alone may not bring back. Read now, it
        // is the running one only if `juju refresh` has not come first (the leader then runs the settled charm).
        const resource = from === null || from === context.charm ? context.resource : null;
        if (resource !== null) data[KEYS.fromResource] = resource;
        else if (context.view.fromResource || appKeyInvalid(context.view, KEYS.fromResource))
          data[KEYS.fromResource] = "";
        // Kubernetes: only the first unit may restart — and no unit a `juju refresh` made before this check already
        // restarted onto the new charm may be put back below the partition: those that recorded it, and those whose
        // pods the charm sees off the StatefulSet's current revision before their units ran upgrade-charm
        // (`unitRollout`). Recorded once the API server holds it (`partitionSet`); if it does not, the action
        // fails and nothing of this plan is committed.
        if (context.substrate === "k8s" && stack.length) {
          const early = [...unplannedCharms(context.view).map((unit) => unit.id), ...(event.restarted ?? [])];
          emit(enqueue, { type: "setPartition", partition: Math.min(stack[stack.length - 1] ?? 0, ...early) });
        }
        emit(enqueue, { type: "writeAppData", data });
        const fromCharm = data[KEYS.fromCharm] || null;
        const fromResource = data[KEYS.fromResource] || null;
        enqueue.assign({
          view: {
            ...context.view,
            stack,
            plan: stack,
            resumed: null,
            rollback: false,
            rollbackPending: [],
            rollbackStopped: null,
            fromCharm,
            fromResource,
            toCharm: null,
          },
        });
        const plan = planResults(context, stack);
        // The whole rollback command, for the log: a status may have to shorten it (an image reference is long).
        emit(enqueue, {
          type: "log",
          level: "info",
          message: `Upgrade planned (${plan["upgrade-order"]}). To roll back at any time: ${plan.rollback}`,
        });
        emit(enqueue, { type: "actionResult", results: { ...plan } });
      }),

      /** resume-upgrade: let the next unit through, when (and only when) the upgrade waits for it. */
      resume: enqueueActions(({ context, enqueue }) => {
        const fail = (message: string) => emit(enqueue, { type: "actionFail", message });
        if (!context.related) return fail("Could not find upgrade relation.");
        if (!context.view.leader) return fail(leaderOnly(context, "resume-upgrade"));
        const top = topOfStack(context.view);
        if (top === null) return fail("Nothing to resume, upgrade stack unset.");
        if (context.settings.pauseAfter === "none" && !context.settings.problem) {
          return fail("pause-after-unit-upgrade is none: the upgrade does not pause, so there is nothing to resume.");
        }
        const third = thirdCharmBlocker(context);
        if (third) return fail(`Cannot resume: ${third}.`);
        if (!pauseBlocker(context)) {
          return fail(`Nothing to resume: the upgrade is not paused (${describeStates(context)}).`);
        }
        // Kubernetes: only a unit whose pod has not restarted yet waits to be released. One on top that upgraded
        // already is the leader's to pop at its next hook; releasing it would set the partition to it, above where the
        // roll is (a roll the Python library planned records no partition to compare with).
        const topState = context.view.units.find((unit) => unit.id === top)?.state ?? null;
        if (context.substrate === "k8s" && topState !== "idle" && topState !== null) {
          return fail(
            `Nothing to resume: ${unitName(context, top)} is ${topState} already; the leader moves the upgrade on at its next hook.`,
          );
        }
        // Release the unit on top: recorded in the app databag so every unit (and the next hook) sees it.
        emit(enqueue, { type: "writeAppData", data: { [KEYS.resumed]: String(top) } });
        enqueue.assign({ view: { ...context.view, resumed: top } });
        // Kubernetes: the partition only goes down during a roll, and is read back first (see maintainStack): one raised
        // by hand while the roll paused is set back here. If the API server does not take it, the action fails and
        // changes nothing.
        const partition = context.view.partition ?? null;
        if (context.substrate === "k8s")
          emit(enqueue, { type: "lowerPartition", partition: partition === null ? top : Math.min(top, partition) });
        emit(enqueue, {
          type: "log",
          level: "info",
          message: `resume-upgrade: ${unitName(context, top)} may upgrade now`,
        });
        emit(enqueue, { type: "actionResult", results: { message: `Upgrade will resume on unit ${top}` } });
      }),

      /** Kubernetes: the API server holds the partition the charm set: record it (the leader), and forget any failure. */
      recordPartition: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== "partitionSet") return;
        const { view } = context;
        if (view.leader && context.related && view.partition !== event.partition)
          emit(enqueue, { type: "writeAppData", data: { [KEYS.partition]: String(event.partition) } });
        const notice = event.found === undefined ? null : partitionOutside(context.app, event.found, event.partition);
        if (notice) {
          emit(enqueue, { type: "log", level: "warning", message: notice.detail });
          emit(enqueue, { type: "explain", reason: notice.detail });
        }
        enqueue.assign({
          view: { ...view, partition: event.partition },
          partitionFailure: null,
          ...(notice ? { partitionNotice: notice.status } : {}),
        });
      }),

      /**
       * Kubernetes: the partition did not move. Nothing is recorded and no unit fails: the leader moves it again at its
       * next hook. The application status says why, and whether the operator must act (see `partitionFailure`).
       */
      reportPartitionFailure: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== "partitionFailed") return;
        const report = partitionFailure(context.app, event.partition, event.error);
        emit(enqueue, {
          type: "log",
          level: report.status === "waiting" ? "warning" : "error",
          message: `Partition not moved to ${event.partition}: ${report.detail}`,
        });
        emit(enqueue, { type: "explain", reason: report.message });
        enqueue.assign({ partitionFailure: { status: report.status, message: report.message } });
      }),

      /**
       * Kubernetes: this pod is being deleted while no upgrade is planned — the first pod a `juju refresh` made without
       * pre-upgrade-check restarts (or an eviction). Raise the partition to this unit, so that no pod below it follows
       * before the checks have run (charm-refresh does the same in its stop hook). Never above the highest unit: it is
       * this one or below. The session asks the charm first whether a rollout awaits this pod: an eviction raises
       * nothing (issue 12.1).
       */
      holdOthersOnStop: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, { type: "raisePartition", partition: context.unit });
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
        const message =
          cause || `Upgrade of ${unitName(context, context.unit)} failed; see the unit log, then roll back`;
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
          if (context.view.resumed != null || appKeyInvalid(context.view, KEYS.resumed)) data[KEYS.resumed] = "";
          if (context.view.rollback) data[KEYS.rollback] = "";
          if (context.view.rollbackPending?.length || appKeyInvalid(context.view, KEYS.rollbackPending))
            data[KEYS.rollbackPending] = "";
          if (context.view.rollbackStopped != null || appKeyInvalid(context.view, KEYS.rollbackStopped))
            data[KEYS.rollbackStopped] = "";
          if (context.view.fromCharm || appKeyInvalid(context.view, KEYS.fromCharm)) data[KEYS.fromCharm] = "";
          if (context.view.fromResource || appKeyInvalid(context.view, KEYS.fromResource)) data[KEYS.fromResource] = "";
          if (context.view.plan || appKeyInvalid(context.view, KEYS.plan)) data[KEYS.plan] = "";
          if (context.view.toCharm || appKeyInvalid(context.view, KEYS.toCharm)) data[KEYS.toCharm] = "";
          // The application now runs this charm at rest (the rollback command of the next roll returns to it).
          const charm = context.charm !== null && CHARM_PATTERN.test(context.charm) ? context.charm : null;
          if (charm && context.view.settledCharm !== charm) data[KEYS.settledCharm] = charm;
          if (Object.keys(data).length) emit(enqueue, { type: "writeAppData", data });
          enqueue.assign({
            view: {
              ...withOwnState(context.view, context.unit, "idle"),
              dependencies: context.dependencies,
              resumed: null,
              rollback: false,
              rollbackPending: [],
              rollbackStopped: null,
              fromCharm: null,
              fromResource: null,
              toCharm: null,
              plan: null,
              settledCharm:
                context.charm !== null && CHARM_PATTERN.test(context.charm)
                  ? context.charm
                  : (context.view.settledCharm ?? null),
            },
          });
        }
        emit(enqueue, {
          type: "log",
          level: "info",
          message: `${unitName(context, context.unit)} upgrade finished; unit idle`,
        });
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
          type: "actionFail",
          message: `Cannot run pre-upgrade checks, cluster already upgrading (${describeStates(context)}).`,
        });
      }),

      /** The charm's pre-upgrade check refused: fail the action with its message (cause and resolution logged). */
      reportCheckFailure: enqueueActions(({ event, enqueue }) => {
        if (event.type !== "preUpgradeCheckFailed") return;
        const { error } = event;
        const message = error.kind === "ClusterNotReadyError" ? error.message : `Unknown error found: ${error.message}`;
        if (error.cause || error.resolution) {
          emit(enqueue, {
            type: "log",
            level: "error",
            message: `pre-upgrade check failed: ${error.message} (cause: ${error.cause}; resolution: ${error.resolution})`,
          });
        }
        emit(enqueue, { type: "actionFail", message });
      }),

      /** The charm reported completion while this unit was not upgrading: log and ignore. */
      ignoreStrayCompletion: enqueueActions(({ context, enqueue }) => {
        emit(enqueue, {
          type: "log",
          level: "warning",
          message: `upgrade reported completed, but ${unitName(context, context.unit)} is ${ownState(context) ?? "without a state"}; ignored`,
        });
      }),

      /** The workload is upgraded but the charm's health check does not pass yet: wait, and say what the operator may do. */
      reportUnhealthy: enqueueActions(({ context, event, enqueue }) => {
        const reason = event.type === "upgradePending" ? event.reason : "the post-upgrade health check has not passed";
        const me = unitName(context, context.unit);
        emit(enqueue, {
          type: "explain",
          reason: `${me} is upgraded but not healthy yet (${reason}); no other unit upgrades until it is`,
        });
        emit(enqueue, {
          type: "setUnitStatus",
          status: "waiting",
          message: clipStatus(`Unhealthy: ${reason}. Fix, or force-upgrade check-health=false`),
        });
      }),

      /** force-upgrade check-compatibility=false on a unit failed by the version check: skip that check. */
      forceThroughCompatibility: enqueueActions(({ context, enqueue }) =>
        forceThrough(context, enqueue, "version-compatibility"),
      ),

      /** force-upgrade check-health=false on an upgraded unit waiting on its health check: skip that check. */
      forceThroughHealth: enqueueActions(({ context, enqueue }) => forceThrough(context, enqueue, "health")),

      /** force-upgrade that skips nothing, or nothing to skip on this unit: refuse, saying what the unit waits on. */
      refuseForce: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== "forceUpgrade") return;
        const me = unitName(context, context.unit);
        let message: string;
        if (event.checkCompatibility && event.checkHealth) {
          message =
            "force-upgrade must skip at least one check: set check-compatibility=false and/or check-health=false.";
        } else {
          const state = ownState(context) ?? "without a state";
          message = `Nothing to force on ${me} (it is ${state}): check-compatibility=false applies to a unit failed by the version check, check-health=false to an upgraded unit waiting on its health check.`;
        }
        emit(enqueue, { type: "actionFail", message });
      }),
    },
    guards: {
      /** The peer relation does not exist yet (early install hooks). */
      noRelation: ({ context }) => !context.related,
      isLeader: ({ context }) => context.view.leader,
      isK8s: ({ context }) => context.substrate === "k8s",
      /** No upgrade stack: pre-upgrade-check has not run (or the last upgrade finished). */
      /**
       * No stack: nothing planned — unless the roll's records remain (its last units finishing, the stack already
       * empty) and upgrade-charm brought the roll's origin to a unit that moved: a refresh back (see `refreshedBack`).
       */
      stackUnset: ({ context }) => {
        const { view, unit } = context;
        if (view.stack) return false;
        const state = ownState(context);
        return !(runsOrigin(view, unit) && (state === "completed" || state === "upgrading" || state === "failed"));
      },
      /** A unit failed and the leader has not entered recovery: the cluster is halted. */
      clusterFailed: ({ context }) => haltedByFailure(context.view),
      clusterInRecovery: ({ context }) => inRecovery(context.view),
      /**
       * Kubernetes, the cluster halted by a failure: this unit completed and runs the charm the roll goes to (as far as
       * it recorded), or has not upgraded (idle; on the origin charm it is `receivedOldCharm`'s): its upgrade-charm is a
       * pod restart nobody granted (an eviction, a partition lowered by hand), not a turn to upgrade.
       */
      restartWhileHalted: ({ context }) => {
        if (context.substrate !== "k8s" || !haltedByFailure(context.view)) return false;
        const state = ownState(context);
        return state === "idle" || (state === "completed" && onRollTarget(context.view, context.unit) !== false);
      },
      /** The upgrade stack in the application databag does not validate. */
      stackInvalid: ({ context }) => appKeyInvalid(context.view, KEYS.stack),
      everyUnitIdle: ({ context }) => everyUnitIdle(context.view),
      /** This unit checks versions on upgrade-charm and the stored versions may not be upgraded to this code's. */
      versionsIncompatible: ({ context }) => {
        const report = compatibility(context);
        if (report === null || report.compatible) return false;
        if (checksVersions(context)) return true;
        // Kubernetes: every pod restarted on older code checks that its workload may go back (issue 15.4) — a refresh
        // back that came after the roll ended restarts them all at once (the partition is 0), and handing one to the
        // charm before the highest unit checks would start an older workload on newer data.
        return context.substrate === "k8s" && report.keys.some((key) => key.downgrade !== undefined);
      },
      /**
       * upgrade-charm brought the charm the roll came from (see {@link backOnOldCharm}) to a unit that has not
       * upgraded (idle, or ready on machines) while the roll goes forward.
       */
      receivedOldCharm: ({ context }) => {
        const { view, unit } = context;
        const state = ownState(context);
        if ((state !== "idle" && state !== "ready" && state !== null) || !runsOrigin(view, unit)) return false;
        // In a rollback, a unit the rollback leaves alone (not on its stack: it never upgraded) — by refresh back.
        return view.rollback !== true || !(view.stack ?? []).includes(unit);
      },
      /**
       * Machines, a roll going forward: upgrade-charm brought the charm the roll came from to an idle unit that ran
       * another charm until now — it joined mid-roll, installed from the new revision, so it runs that revision's
       * workload, which nothing but its charm undoes. A refresh back must roll it back too: it becomes `ready` on the
       * old charm as an upgraded unit does, and the leader turns the roll around with it (see `rollbackStack`).
       */
      joinedOnNewCharm: ({ context }) =>
        context.substrate === "vm" &&
        context.view.rollback !== true &&
        ownState(context) === "idle" &&
        runsOrigin(context.view, context.unit) &&
        ranAnotherCharm(context),
      /**
       * Machines: upgrade-charm brought the charm the roll came from to a unit that says it never upgraded (idle or
       * ready) but whose workload runs another version than that charm installs — its grant's hook failed after the
       * upgrade and Juju discarded its record (see `workloadAhead`). A refresh back must roll it back: it becomes
       * `ready` on the old charm as an upgraded unit does (forward: the leader turns the roll around with it; in a
       * rollback: the leader puts it on the rollback's stack, `readyOffStack`).
       */
      workloadAhead: ({ context }) => workloadAhead(context),
      /**
       * Machines, a roll going forward: upgrade-charm brought the roll's target to a unit that recorded `completed`
       * but whose workload runs another version than that charm installs (see `completedOnOtherWorkload`): it is not
       * done — `ready`, granted again, even once the stack is empty (the leader puts it back on it).
       */
      completedOnOtherWorkload: ({ context }) => completedOnOtherWorkload(context),
      /** Kubernetes, in a rollback: this unit's workload cannot go back (see `downgradeRefusal`). */
      downgradeRefused: ({ context }) => context.substrate === "k8s" && downgradeRefusal(context) !== null,
      /**
       * Kubernetes, no upgrade planned or rolling back: a pod stopping now may be the first a `juju refresh` made
       * without pre-upgrade-check restarts (unit 0 holds nobody).
       */
      noPlanOnK8s: ({ context }) =>
        context.substrate === "k8s" &&
        context.related &&
        context.unit > 0 &&
        !context.view.stack &&
        !appKeyInvalid(context.view, KEYS.stack) &&
        !rollingBack(context.view) &&
        // At rest, the last roll closed: while its records are kept (its stack just emptied) a pod stopping may be a
        // refresh back to its origin, and units still completing may run the new revision below this pod (raising the
        // partition over them would recreate them on the old one if deleted).
        !context.view.fromCharm &&
        context.view.units.every((unit) => unit.state === "idle" || unit.state === null),
      /** `juju refresh` reached this unit without a plan: it runs another charm than the one the application settled on. */
      refreshedWithoutPlan: ({ context }) => unplannedCharms(context.view).some((unit) => unit.id === context.unit),
      /** This unit runs a third charm: neither the roll's origin nor its target (see `onThirdCharm`). */
      runsThirdCharm: ({ context }) => onThirdCharm(context.view).some((unit) => unit.id === context.unit),
      /**
       * The leader, idle, and the roll over (see `upgradeOver`) but its records left in the application databag: the
       * leader took no part in the roll's end (a rollback that left it alone), so it closes the roll here.
       */
      rollLeftOver: ({ context }) => {
        const { view } = context;
        if (
          !view.leader ||
          !(
            view.rollback ||
            view.fromCharm ||
            view.plan ||
            view.rollbackPending?.length ||
            view.rollbackStopped != null
          )
        )
          return false;
        return (
          context.related &&
          !view.stack &&
          !appKeyInvalid(view, KEYS.stack) &&
          // (on Kubernetes the others may still say completed, or recovery: they wait for the leader to close the roll,
          // see `awaitsRollClose`)
          view.units.every(
            (unit) =>
              (unit.state === "idle" ||
                (context.substrate === "k8s" && (unit.state === "completed" || unit.state === "recovery"))) &&
              onRollTarget(view, unit.id) !== false,
          ) &&
          !rolloutUnfinished(context)
        );
      },
      /** A rollback is under way (recorded by recovery or by a refresh back). */
      rollbackUnderway: ({ context }) => context.view.rollback === true,
      /** Machines: this unit is on top of the stack, ready, every participant ready, and nobody else upgrading. */
      grantable: ({ context }) => context.substrate === "vm" && context.related && grantBlocker(context) === null,
      /** force-upgrade with check-compatibility=false. */
      skipsCompatibilityCheck: ({ event }) => event.type === "forceUpgrade" && !event.checkCompatibility,
      /** force-upgrade with check-health=false. */
      skipsHealthCheck: ({ event }) => event.type === "forceUpgrade" && !event.checkHealth,
      /** The upgrade is over: no stack, and every unit idle or completed. */
      upgradeOver: ({ context }) =>
        context.related &&
        !context.view.stack &&
        !context.view.problems.some((p) => p.unit === null && p.key === KEYS.stack) &&
        context.view.units.every(
          (unit) =>
            (unit.state === "idle" || unit.state === "completed" || unit.state === "recovery") &&
            // …and each runs the charm the roll goes to (as far as it recorded): the roll is over for all, not for some.
            onRollTarget(context.view, unit.id) !== false,
        ) &&
        // …and this unit is observed to run the application's latest definition, when that is known.
        !runsOlderDefinition(context) &&
        // …and, the leader on Kubernetes, no pod is still to restart (as far as the charm can tell); another unit
        // there waits for the leader to close the roll (see `awaitsRollClose`).
        !rolloutUnfinished(context) &&
        !awaitsRollClose(context),
    },
  }).createMachine({
    id: "unit",
    context: ({ input }) => contextFromInput(input),
    initial: "unset",
    // The root handles an event in every state that does not handle it itself: the events whose handling does not
    // depend on this unit's own state (what they decide is about the cluster: the stack, the leader, the versions,
    // the other units), and the default of three that do (a re-evaluation: the leader's upkeep of the stack; a stray
    // completion; a force-upgrade with nothing to skip). A state's own handler for an event replaces the root's
    // entirely (xstate takes the deepest state that handles it), so it is written out completely, root actions
    // included.
    on: {
      relationCreated: [
        { guard: "noRelation", actions: "defer" },
        { target: ".idle", actions: ["becomeIdle", "storeDependenciesIfMissing"] },
      ],
      // Re-evaluation with the fresh view: the leader keeps the stack true. `ready` and `upgrading` add to it.
      relationChanged: { actions: ["storeDependenciesIfMissing", "maintainStack"] },
      tick: { actions: ["storeDependenciesIfMissing", "maintainStack"] },
      leaderElected: { actions: ["storeDependenciesIfMissing", "maintainStack"] },
      // Kubernetes: a pod being deleted while nothing is planned holds the pods below it (see holdOthersOnStop).
      stop: [
        { guard: "noPlanOnK8s", actions: ["storeDependenciesIfMissing", "holdOthersOnStop"] },
        { actions: ["storeDependenciesIfMissing", "maintainStack"] },
      ],
      upgradeCharm: [
        { guard: "noRelation", actions: "defer" },
        // Kubernetes, refreshed without a plan: the first pod checks versions on the new code before anything else.
        {
          guard: and(["stackUnset", "isK8s", "refreshedWithoutPlan", "versionsIncompatible"]),
          target: ".failed",
          actions: "failOnVersions",
        },
        { guard: "joinedOnNewCharm", target: ".ready", actions: ["becomeReady", "maintainStack", "explainWait"] },
        {
          guard: "workloadAhead",
          target: ".ready",
          actions: ["upgradeRecordLost", "becomeReady", "maintainStack", "explainWait"],
        },
        { guard: "receivedOldCharm", target: ".idle", actions: ["backOnOldCharm", "maintainStack"] },
        { guard: "runsThirdCharm", actions: ["refuseThirdCharm", "maintainStack"] },
        { guard: and(["stackUnset", not("completedOnOtherWorkload")]), actions: "noStackOnUpgrade" },
        { guard: "restartWhileHalted", actions: ["holdRestartWhileHalted", "maintainStack"] },
        { guard: "versionsIncompatible", target: ".failed", actions: "failOnVersions" },
        { guard: "downgradeRefused", target: ".ready", actions: ["refuseDowngrade", "maintainStack"] },
        { guard: "isK8s", target: ".upgrading", actions: ["restartedOnK8s", "maintainStack"] },
        {
          guard: "completedOnOtherWorkload",
          target: ".ready",
          actions: ["completedNotDone", "becomeReady", "maintainStack", "explainWait"],
        },
        { target: ".ready", actions: ["becomeReady", "maintainStack", "explainWait"] },
      ],
      preUpgradeCheck: [
        actionNeedsRelation,
        checkNeedsLeader,
        {
          guard: "clusterFailed",
          target: ".recovery",
          actions: ["repairStackForRollback", "recordRecovery", "reportRollbackPlan"],
        },
        {
          guard: "clusterInRecovery",
          target: ".recovery",
          actions: ["repairStackForRollback", "recordRecovery", "reportRollbackPlan"],
        },
        // An invalid stack mid-roll would stop it for ever (no grant, no pop): the check rebuilds it.
        { guard: and(["stackInvalid", not("everyUnitIdle")]), actions: "rebuildInvalidStack" },
        { guard: not("everyUnitIdle"), actions: "refuseCheckWhileUpgrading" },
        { actions: "runPreUpgradeCheck" },
      ],
      preUpgradeCheckPassed: { actions: "persistPlan" },
      preUpgradeCheckFailed: { actions: "reportCheckFailure" },
      resumeUpgrade: { actions: "resume" },
      // A completion is the charm's answer to a grant: only `upgrading` takes it; anywhere else it is stray.
      upgradeCompleted: { actions: "ignoreStrayCompletion" },
      upgradeFailed: { target: ".failed", actions: "markFailed" },
      // The API server's answer to a partition move: recorded only once it holds it; a failure fails nobody.
      partitionSet: { actions: "recordPartition" },
      partitionFailed: { actions: "reportPartitionFailure" },
      // Each check force-upgrade may skip is one a state waits on: `failed` and `upgrading` handle it; elsewhere
      // there is nothing to force.
      forceUpgrade: [actionNeedsRelation, { actions: "refuseForce" }],
    },
    states: {
      unset: {},
      idle: {
        // A rollback that left the leader alone ends without it completing: it closes the roll (clears its records).
        always: [{ guard: "rollLeftOver", actions: "finishUpgrade" }],
      },
      ready: {
        on: {
          // Machines: a ready unit that may not go yet says why.
          relationChanged: { actions: ["storeDependenciesIfMissing", "maintainStack", "explainWait"] },
          tick: { actions: ["storeDependenciesIfMissing", "maintainStack", "explainWait"] },
          leaderElected: { actions: ["storeDependenciesIfMissing", "maintainStack", "explainWait"] },
        },
        always: [{ guard: "grantable", target: "upgrading", actions: "grant" }],
      },
      upgrading: {
        on: {
          // Still upgrading from an earlier hook: ask the charm again (its handler is idempotent) — unless a refresh
          // to a third charm reached it since.
          relationChanged: [
            { guard: "runsThirdCharm", actions: ["storeDependenciesIfMissing", "maintainStack", "refuseThirdCharm"] },
            { actions: ["storeDependenciesIfMissing", "maintainStack", "grantUpgrade"] },
          ],
          tick: [
            { guard: "runsThirdCharm", actions: ["storeDependenciesIfMissing", "maintainStack", "refuseThirdCharm"] },
            { actions: ["storeDependenciesIfMissing", "maintainStack", "grantUpgrade"] },
          ],
          leaderElected: [
            { guard: "runsThirdCharm", actions: ["storeDependenciesIfMissing", "maintainStack", "refuseThirdCharm"] },
            { actions: ["storeDependenciesIfMissing", "maintainStack", "grantUpgrade"] },
          ],
          upgradeCompleted: { target: "completed", actions: ["markCompleted", "maintainStack", "cascadeAsPython"] },
          upgradePending: [
            {
              guard: "rollbackUnderway",
              target: "completed",
              actions: ["completeRollbackUnchecked", "markCompleted", "maintainStack"],
            },
            { actions: "reportUnhealthy" },
          ],
          // The unit is upgraded and waits on its health check: check-health=false lets it complete.
          forceUpgrade: [
            actionNeedsRelation,
            {
              guard: "skipsHealthCheck",
              target: "completed",
              actions: ["forceThroughHealth", "markCompleted", "maintainStack", "cascadeAsPython"],
            },
            { actions: "refuseForce" },
          ],
        },
      },
      completed: {
        on: {
          // Kubernetes, a roll the Python library planned: release the next unit as its units did.
          relationChanged: { actions: ["storeDependenciesIfMissing", "maintainStack", "cascadeAsPython"] },
          tick: { actions: ["storeDependenciesIfMissing", "maintainStack", "cascadeAsPython"] },
          leaderElected: { actions: ["storeDependenciesIfMissing", "maintainStack", "cascadeAsPython"] },
        },
        always: [{ guard: "upgradeOver", target: "idle", actions: "finishUpgrade" }],
      },
      failed: {
        on: {
          // The unit failed the version check: check-compatibility=false lets it go on as if it had passed.
          forceUpgrade: [
            actionNeedsRelation,
            // Kubernetes: the unit failed by the version check is the highest pod, already restarted on the new
            // revision; nothing grants a `ready` pod there, so it goes on as a pod that passed the check does.
            {
              guard: and(["skipsCompatibilityCheck", "versionsIncompatible", "isK8s"]),
              target: "upgrading",
              actions: ["forceThroughCompatibility", "restartedOnK8s", "maintainStack"],
            },
            {
              guard: and(["skipsCompatibilityCheck", "versionsIncompatible"]),
              target: "ready",
              actions: ["forceThroughCompatibility", "becomeReady", "maintainStack", "explainWait"],
            },
            { actions: "refuseForce" },
          ],
        },
      },
      recovery: {
        on: {
          // pre-upgrade-check again on a leader in recovery re-confirms the rollback (its state is recorded already).
          preUpgradeCheck: [
            actionNeedsRelation,
            checkNeedsLeader,
            { actions: ["repairStackForRollback", "reportRollbackPlan"] },
          ],
        },
        // Kubernetes: a leader whose pod never left the old revision gets no upgrade-charm during the rollback;
        // it returns to idle with everyone else when the rollback is over (the original left it in recovery).
        always: [{ guard: "upgradeOver", target: "idle", actions: "finishUpgrade" }],
      },
    },
  });
}

export type UpgradeMachine = ReturnType<typeof createUpgradeMachine>;

let machine: UpgradeMachine | undefined;

/**
 * The upgrade protocol of one unit as an xstate v5 machine.
 *
 * The state value is the state this unit has written to its databag (`unset` until relation-created), and what a
 * unit does with an event depends on it only through the machine's structure: a state handles itself (`on` under
 * the state) the events whose handling depends on it, and the root handles the others alike in every state; no
 * guard or action branches on it (a message may name it). Guards judge the context only: `reduce` puts the event's fresh
 * view of the peer relation into it before the transition, so a guard sees what the unit reads now. Actions named after {@link Effect} types are never executed here —
 * `reduce` returns them as data for an adapter to carry out. Guards and composite actions are named so that the
 * inspector, tests (`.provide()`) and explanations can refer to them.
 *
 * Built on first call, then the same machine every time: building xstate's state nodes costs every hook process a
 * few milliseconds of start-up (docs/benchmarks.md, cold start), which a hook that never reaches `reduce` — one
 * that finds nothing to do, or fails on its environment — need not pay.
 */
export function upgradeMachine(): UpgradeMachine {
  machine ??= createUpgradeMachine();
  return machine;
}

/** The state values of {@link upgradeMachine}: the six unit states plus `unset` (nothing written yet). */
export type MachineStateValue = UnitState | "unset";
