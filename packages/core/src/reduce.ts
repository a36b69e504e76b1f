import { transition } from "xstate";
import { appStatusOf } from "./appStatus.js";
import type { Effect } from "./effects.js";
import { EFFECT_TYPES } from "./effects.js";
import type { UpgradeEvent } from "./events.js";
import { ownState } from "./protocol.js";
import { unitStatusDuringUpgrade } from "./unitStatus.js";
import type { UpgradeContext, UpgradeInput } from "./upgradeContext.js";
import type { MachineStateValue } from "./upgradeMachine.js";
import { contextFromInput, upgradeMachine } from "./upgradeMachine.js";

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
}

const effectTypes: ReadonlySet<string> = new Set(EFFECT_TYPES);

/** Juju shows 120 characters of a status message. */
function clipStatus(text: string): string {
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function toEffects(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  const effects: Effect[] = [];
  for (const action of actions) {
    if (!effectTypes.has(action.type)) continue;
    const params = action.params && typeof action.params === "object" ? action.params : {};
    effects.push({ type: action.type, ...params } as Effect);
  }
  return effects;
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
 * come back as {@link Effect} data. Eventless transitions (the grant, the return to idle) are taken within the
 * same step, so one event moves the unit as far as the data allows.
 *
 * Never throws: a state that cannot be restored (e.g. corrupted persisted JSON) yields the same state and a
 * `reportProblem` effect saying what was wrong.
 */
export function reduce(state: UpgradeState, event: UpgradeEvent): ReduceResult {
  try {
    const snapshot = upgradeMachine.resolveState({ value: state.value, context: state.context });
    const [next, actions] = transition(upgradeMachine, snapshot, event);
    const value = next.value as MachineStateValue;
    const effects = toEffects(actions as readonly { type: string; params?: unknown }[]).map((effect) =>
      effect.type === "setUnitStatus" ? unitStatusDuringUpgrade(next.context, value, effect, state.value) : effect,
    );
    const problem = effects.find((e): e is Extract<Effect, { type: "reportProblem" }> => e.type === "reportProblem");
    if (problem && value !== "upgrading" && value !== "completed") {
      // Bad peer data must be visible where operators look, and must win over a routine "waiting" status.
      effects.push({ type: "setUnitStatus", status: "blocked", message: clipStatus(problem.error.message) });
    }
    const app = appStatusOf(next.context);
    if (app) effects.push(app);
    return { state: { value, context: next.context }, effects };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return {
      state,
      effects: [
        {
          type: "reportProblem",
          unit: null,
          key: "(state)",
          error: {
            kind: "UpgradeError",
            message: `Could not apply event ${JSON.stringify((event as { type?: unknown })?.type)}: ${text}`,
            cause: "the unit's upgrade state could not be restored",
            resolution: "re-read the peer relation and rebuild the state with createUpgradeState",
          },
        },
      ],
    };
  }
}
