import type { AnyActorScope, ExecutableActionObject } from "xstate";
import { createActor } from "xstate";
import { appStatusOf } from "./appStatus.js";
import type { Effect } from "./effects.js";
import { isEffectType } from "./effects.js";
import type { ErrorData, UpgradeEvent } from "./events.js";
import { CHARM_PATTERN, KEYS, WORKLOAD_VERSION_PATTERN } from "./peerView.js";
import type { PeerView } from "./peerView.js";
import { ownState, thirdCharmBlocker, withOwnState } from "./protocol.js";
import { unitStatusDuringUpgrade } from "./unitStatus.js";
import type { UpgradeContext, UpgradeInput } from "./upgradeContext.js";
import type { MachineStateValue, UpgradeMachine } from "./upgradeMachine.js";
import { contextFromInput, stateIn, upgradeMachine } from "./upgradeMachine.js";

/**
 * A unit's upgrade state between two events: the machine's state value and context, as plain JSON. It survives
 * `JSON.stringify`/`JSON.parse`, because each Juju hook is a new process.
 */
export interface UpgradeState {
  readonly value: MachineStateValue;
  readonly context: UpgradeContext;
}

/** What one step of the protocol produced: the next state and the effects an adapter must carry out, in order. */
export interface ReduceResult {
  readonly state: UpgradeState;
  readonly effects: readonly Effect[];
  /**
   * The state the machine judged the event in: the given state with the event's fresh view taken in (this unit's
   * hold and charm included). An inspector shows it before the event, so that a live actor restored from it and sent
   * the event reaches `state`. Absent when the step could not be taken.
   */
  readonly judged?: UpgradeState;
}

/**
 * xstate's pure `transition(machine, snapshot, event)`, without its cost on every call: xstate builds a throwaway
 * actor (and computes the machine's initial state, context factory included) for each call to collect the actions
 * a transition emits. The machine spawns no child and has no side effect, so one inert actor scope, made once with
 * a placeholder input, serves every step; each call collects its own actions.
 */
const transition = (() => {
  let scope: AnyActorScope | null = null;
  let collected: ExecutableActionObject[] = [];
  return (snapshot: ReturnType<UpgradeMachine["resolveState"]>, event: UpgradeEvent) => {
    if (!scope) {
      const self = createActor(upgradeMachine(), {
        input: { app: "app", unit: 0, substrate: "vm", dependencies: {}, view: null },
      });
      scope = {
        self,
        id: "",
        sessionId: "",
        logger: () => {},
        defer: () => {},
        emit: () => {},
        stopChild: () => {},
        system: self.system,
        actionExecutor: (action) => {
          collected.push(action);
        },
      } as AnyActorScope;
    }
    collected = [];
    const next = upgradeMachine().transition(snapshot, event, scope);
    return [next, collected] as const;
  };
})();

/** Juju shows 120 characters of a status message. */
function clipStatus(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** The machine emitted an action that is neither an effect nor an xstate built-in: a bug in the machine. */
class UnknownActionError extends Error {}

/**
 * The machine's actions as effects. xstate's own actions (`xstate.*`: assign, raise, …) are resolved by xstate and
 * are not effects. Anything else is a bug in the machine (a misspelt effect, an action that does work here): it
 * throws, so `reduce` rejects the whole step rather than return part of it (a state change without its write).
 */
function toEffects(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  const effects: Effect[] = [];
  for (const action of actions) {
    if (isEffectType(action.type)) {
      const params = action.params && typeof action.params === "object" ? action.params : {};
      effects.push({ type: action.type, ...params } as Effect);
    } else if (!action.type.startsWith("xstate.")) {
      throw new UnknownActionError(
        `the upgrade machine emitted action ${JSON.stringify(action.type)}, which is neither an effect nor an xstate built-in`,
      );
    }
  }
  return effects;
}

/**
 * The view the event brings, with this unit's own state kept from the context (this unit's transitions set it; a
 * view is what was read from the databags, which may lag behind them), or the context's view when the event
 * brings none. A unit that has recorded no state yet takes the one the view records.
 */
function viewOf(context: UpgradeContext, event: UpgradeEvent): PeerView {
  if (!("view" in event) || !event.view) return context.view;
  const mine = ownState(context) ?? stateIn(event.view, context.unit);
  // Usually the fresh view already records this unit's state: no copy of every unit is needed then.
  if (stateIn(event.view, context.unit) === mine && event.view.units.some((u) => u.id === context.unit))
    return event.view;
  return withOwnState(event.view, context.unit, mine);
}

/** The context the machine judges an event in, and the effects of taking the event's view. */
interface Adopted {
  readonly context: UpgradeContext;
  readonly effects: readonly Effect[];
}

/**
 * Take the fresh view of the peer relation an event brings (see {@link viewOf}) into the context, before the
 * transition, so that guards judge what the unit reads now. Taking it has effects, produced here once per event:
 * this unit's hold lives in its own databag, so every unit sees it; it is written when the charm changed it. Peer
 * data that did not validate is reported, key by key. Events without a view field (the charm's answers) keep the
 * context as it is, except `upgradeCompleted` with the workload version the charm reports after its upgrade: that
 * is taken in and recorded as at the start of a hook (see {@link recordWorkload}).
 */
function adoptView(context: UpgradeContext, event: UpgradeEvent): Adopted {
  if (!("view" in event)) {
    if (event.type !== "upgradeCompleted" || event.workloadVersion === undefined) return { context, effects: [] };
    const reported = { ...context, workloadVersion: event.workloadVersion };
    const recorded = recordWorkload(reported, context.view, context.related);
    return { context: { ...reported, view: recorded.view }, effects: recorded.effects };
  }
  const related = event.view !== null || context.related;
  let view = viewOf(context, event);
  const effects: Effect[] = [];
  const mine = view.units.find((unit) => unit.id === context.unit);
  const hold = context.settings.hold;
  if (related && mine && (mine.hold ?? null) !== hold) {
    effects.push({ type: "writeUnitData", data: { [KEYS.hold]: hold ?? "" } });
    view = {
      ...view,
      units: view.units.map((u) => {
        if (u.id !== context.unit) return u;
        const { hold: _, ...rest } = u;
        return hold ? { ...rest, hold } : rest;
      }),
    };
  }
  // What this unit runs is observed, for every unit to see: its charm, recorded when it changes (upgrade-charm).
  const charm = context.charm !== null && CHARM_PATTERN.test(context.charm) ? context.charm : null;
  if (related && mine && charm !== null && mine.charm !== charm) {
    effects.push({ type: "writeUnitData", data: { [KEYS.charm]: charm } });
    view = { ...view, units: view.units.map((u) => (u.id === context.unit ? { ...u, charm } : u)) };
  }
  const recorded = recordWorkload(context, view, related);
  view = recorded.view;
  effects.push(...recorded.effects);
  for (const problem of view.problems) {
    const where = problem.unit ? `unit ${problem.unit}` : "the application databag";
    const error: ErrorData = {
      kind: "PeerDataError",
      message: `Invalid '${problem.key}' in ${where}: ${problem.message}`,
      cause: "peer relation data did not validate; it is ignored",
      resolution: problem.unit
        ? `check the charm revision of ${problem.unit}; it will be ignored until it writes valid data`
        : appDataResolution(problem.key, context.app),
    };
    effects.push({ type: "reportProblem", unit: problem.unit, key: problem.key, error });
  }
  return { context: { ...context, related, view }, effects };
}

/**
 * Record what this unit's charm reports, for every unit to see: the workload version it runs and its word that its
 * workload cannot go back, each written when it differs from this unit's databag (observed, not inferred). Taken in
 * at the start of every hook, and again when a grant completed (the version the unit upgraded to, in the same commit
 * as `completed`). Returns the view with the values recorded, and the writes.
 */
function recordWorkload(
  context: UpgradeContext,
  view: PeerView,
  related: boolean,
): { view: PeerView; effects: Effect[] } {
  const effects: Effect[] = [];
  const workload =
    context.workloadVersion !== null && WORKLOAD_VERSION_PATTERN.test(context.workloadVersion)
      ? context.workloadVersion
      : null;
  const noDowngrade = context.noDowngrade;
  const own = view.units.find((u) => u.id === context.unit);
  if (
    related &&
    own &&
    ((workload !== null && own.workload !== workload) || (noDowngrade && own.noDowngrade !== noDowngrade))
  ) {
    const data: Record<string, string> = {};
    if (workload !== null && own.workload !== workload) data[KEYS.workload] = workload;
    if (noDowngrade && own.noDowngrade !== noDowngrade) data[KEYS.noDowngrade] = noDowngrade;
    effects.push({ type: "writeUnitData", data });
    view = {
      ...view,
      units: view.units.map((u) =>
        u.id === context.unit
          ? { ...u, ...(workload !== null ? { workload } : {}), ...(noDowngrade ? { noDowngrade } : {}) }
          : u,
      ),
    };
  }
  return { view, effects };
}

/**
 * What the operator does about an application-databag value that does not validate, key by key: it must be
 * something that works at that point (issue 12.7: "run pre-upgrade-check" was the answer mid-roll, where the action
 * then refused). The stack: pre-upgrade-check plans anew before an upgrade and rebuilds the stack during one (see
 * `rebuildStack`). DEPENDENCIES: the version check is skipped until the leader stores them again, when an upgrade
 * ends. Every other key the leader rewrites or clears by itself.
 */
function appDataResolution(key: string, app: string): string {
  if (key === KEYS.stack)
    return `run pre-upgrade-check on the leader (juju run ${app}/leader pre-upgrade-check): before an upgrade it plans anew, during one it rebuilds the stack from the units still to upgrade`;
  if (key === KEYS.dependencies)
    return "nothing to run: the version check is skipped until the leader stores valid DEPENDENCIES again, when an upgrade ends";
  return "nothing to run: the leader rewrites or clears it";
}

/**
 * The state of a unit at the start of a hook, built from what it reads: its state value is what its databag says
 * (`unset` when nothing is written yet).
 *
 * @example
 * ```ts
 * const state = createUpgradeState({ app: "db", unit: 0, substrate: "vm", dependencies: DEPENDENCIES, view: readPeerView(raw) });
 * ```
 */
export function createUpgradeState(input: UpgradeInput): UpgradeState {
  // Equivalent to xstate's `initialTransition(upgradeMachine, input)` (which a test checks) and then moving to the
  // state the databag records, without paying for an initial macrostep on every hook.
  const context = contextFromInput(input);
  return { value: ownState(context) ?? "unset", context };
}

/**
 * One pure step of the upgrade protocol: `reduce(state, event) -> { state, effects }`.
 *
 * Built on xstate's pure `transition`: no actor is started and no action runs; actions named after effect types
 * come back as {@link Effect} data. Before the transition the event's fresh view is taken into the context (its
 * effects come first), so the machine's guards judge what the unit reads now. Eventless transitions (the grant, the
 * return to idle) are taken within the same step, so one event moves the unit as far as the data allows.
 *
 * Never throws: a state that cannot be restored (e.g. corrupted persisted JSON), or a machine that emits an action
 * that is no effect, yields the same state and a `reportProblem` effect saying what was wrong.
 */
export function reduce(state: UpgradeState, event: UpgradeEvent): ReduceResult {
  try {
    const adopted = adoptView(state.context, event);
    // The state value is what this unit's databag records (as in `createUpgradeState`). A unit that had recorded
    // nothing (`unset`: a state built before the peer relation existed) is in the state the event's view records
    // for it, if any: the machine's handlers are chosen by the state value, so it must say what the view says.
    const start = state.value === "unset" ? (ownState(adopted.context) ?? "unset") : state.value;
    const snapshot = upgradeMachine().resolveState({ value: start, context: adopted.context });
    const [next, actions] = transition(snapshot, event);
    const value = next.value as MachineStateValue;
    const emitted = [...adopted.effects, ...toEffects(actions as readonly { type: string; params?: unknown }[])];
    // A completed unit waits for the others with nothing to do: its status is restated at each step (the adapter
    // sets it only when it changes), so what it says follows the cluster — a failure elsewhere, or what it is
    // observed to run disagreeing with its state (see `observedMismatch`), and that disagreement ending.
    // A refused refresh to a third charm mid-roll holds the roll: that (and how to end it) comes first.
    if (value === "completed" && !emitted.some((effect) => effect.type === "setUnitStatus")) {
      const third = thirdCharmBlocker(next.context);
      emitted.push(
        third
          ? { type: "setUnitStatus", status: "blocked", message: third }
          : { type: "setUnitStatus", status: "maintenance", message: "upgrade completed" },
      );
    }
    const effects = emitted.map((effect) =>
      effect.type === "setUnitStatus" ? unitStatusDuringUpgrade(next.context, value, effect, start) : effect,
    );
    const problem = effects.find((e): e is Extract<Effect, { type: "reportProblem" }> => e.type === "reportProblem");
    if (problem && value !== "upgrading" && value !== "completed") {
      // Bad peer data must be visible where operators look, and must win over a routine "waiting" status.
      effects.push({ type: "setUnitStatus", status: "blocked", message: clipStatus(problem.error.message) });
    }
    const app = appStatusOf(next.context);
    if (app) effects.push(app);
    return { state: { value, context: next.context }, effects, judged: { value: start, context: adopted.context } };
  } catch (error) {
    return { state, effects: [failedStep(event, error)] };
  }
}

/** The `reportProblem` effect of a step that could not be taken: nothing of it is carried out. */
function failedStep(event: UpgradeEvent, error: unknown): Effect {
  const text = error instanceof Error ? error.message : String(error);
  const machineBug = error instanceof UnknownActionError;
  return {
    type: "reportProblem",
    unit: null,
    key: "(state)",
    error: {
      kind: "UpgradeError",
      message: `Could not apply event ${JSON.stringify((event as { type?: unknown })?.type)}: ${text}`,
      cause: machineBug
        ? "a bug in charm-upgrade's upgrade machine; the event was not applied"
        : "the unit's upgrade state could not be restored",
      resolution: machineBug
        ? "report it to the charm-upgrade maintainers with this message; the unit keeps its state"
        : "re-read the peer relation and rebuild the state with createUpgradeState",
    },
  };
}
