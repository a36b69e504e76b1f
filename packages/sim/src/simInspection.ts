import type { UpgradeEvent, UpgradeState } from "@charm-upgrade/core";
import type { UpgradeMachine } from "@charm-upgrade/core";
import { upgradeMachine } from "@charm-upgrade/core";
import type { UpgradeStep } from "@charm-upgrade/core";

/** A snapshot of the upgrade machine, as xstate builds it (`upgradeMachine().resolveState`). */
export type UnitSnapshot = ReturnType<UpgradeMachine["resolveState"]>;

/**
 * The actor that stands for one simulated unit in the inspector: xstate's `ActorRefLike` (plus the `id` and
 * `logic` that inspectors read for the actor's name and its machine definition). Its snapshot is the unit's
 * latest one; it takes no events — the simulator drives the unit.
 */
export interface UnitActorRef {
  /** The unit name, e.g. `db/0`. */
  readonly id: string;
  /** Unique per simulation (inspectors key actors by it); differs from `id`, so inspectors show `id` as the name. */
  readonly sessionId: string;
  /** The machine every unit runs: inspectors serialise its definition. */
  readonly logic: UpgradeMachine;
  getSnapshot(): UnitSnapshot;
  /** Ignored: the simulated unit is driven by its hooks, not by the inspector. */
  send(event: unknown): void;
}

/** An event object as the machine or xstate (`xstate.init`) sees it. */
export type InspectedEvent = UpgradeEvent | { readonly type: "xstate.init"; readonly input?: unknown };

/**
 * The inspection events of the simulator, in the shape of xstate v5's `InspectionEvent` (`@xstate.actor`,
 * `@xstate.event`, `@xstate.snapshot`), so that any xstate inspection observer — `@statelyai/inspect`'s
 * `inspector.inspect`, or a function — can be passed as `inspect`.
 */
export type SimInspectionEvent =
  | { readonly type: "@xstate.actor"; readonly actorRef: UnitActorRef; readonly rootId: string }
  | {
      readonly type: "@xstate.event";
      readonly actorRef: UnitActorRef;
      readonly rootId: string;
      readonly sourceRef: undefined;
      readonly event: InspectedEvent;
    }
  | {
      readonly type: "@xstate.snapshot";
      readonly actorRef: UnitActorRef;
      readonly rootId: string;
      readonly event: InspectedEvent;
      readonly snapshot: UnitSnapshot;
    };

/** An xstate inspection observer: a function, or an observer object (xstate's `Observer<InspectionEvent>`). */
export type SimInspector =
  | ((event: SimInspectionEvent) => void)
  | { readonly next?: ((event: SimInspectionEvent) => void) | undefined };

/** Turns the reducer steps of every unit's hooks into inspection events, one actor per unit. */
export interface SimInspection {
  /** The step observer for a hook of `unit` (pass it as `createUpgrade`'s `inspect`). */
  forUnit(unit: string): (step: UpgradeStep) => void;
}

let simulations = 0;

/**
 * Inspection of a simulation for an xstate inspector.
 *
 * The core's `reduce` is pure (xstate's `transition()`): no actor runs, and each Juju hook is a new process that
 * restores its unit's state from the databags. So the events are built here from each reducer step, in the shape
 * a live xstate actor of `upgradeMachine` would emit them, with real machine snapshots (`resolveState`):
 *
 * - a unit's first step: `@xstate.actor`, then `@xstate.event` and `@xstate.snapshot` of `xstate.init` at the
 *   restored state — what `createActor(upgradeMachine(), { snapshot }).start()` emits;
 * - every step: `@xstate.event` (the event) and `@xstate.snapshot` (the state after it, eventless transitions
 *   included: one macrostep, as xstate reports it);
 * - a hook that starts from another state than the unit's last step left (each hook restores the unit from the
 *   databags it reads, with the charm code and config it runs — new after a refresh — and a crashed or failed
 *   hook's writes were discarded): first an `xstate.init` snapshot of the state it restored, as a restored actor
 *   would report. So every event is shown with the state it was applied to.
 *
 * Each unit is one actor (its `id` is the unit name) for the whole simulation, across hooks. xstate's
 * `@xstate.microstep` and `@xstate.action` events are not produced (`@statelyai/inspect` does not use them).
 * A throwing observer never changes the simulation.
 */
export function createSimInspection(inspector: SimInspector): SimInspection {
  const run = ++simulations;
  const actors = new Map<string, Actor>();
  const emit = (event: SimInspectionEvent) => {
    try {
      if (typeof inspector === "function") inspector(event);
      else inspector.next?.(event);
    } catch {
      // an observer must never change what the simulation does
    }
  };
  const resolve = (state: UpgradeState): UnitSnapshot =>
    upgradeMachine().resolveState({ value: state.value, context: state.context });
  const init: InspectedEvent = { type: "xstate.init" };

  return {
    forUnit(unit) {
      return (step) => {
        let actor = actors.get(unit);
        if (!actor) {
          const entry = { state: step.before, snapshot: resolve(step.before) } as Actor;
          entry.ref = {
            id: unit,
            sessionId: `${unit}#${run}`,
            logic: upgradeMachine(),
            getSnapshot: () => entry.snapshot,
            send: () => {},
          };
          actors.set(unit, entry);
          actor = entry;
          const base = { actorRef: entry.ref, rootId: entry.ref.sessionId };
          emit({ type: "@xstate.actor", ...base });
          emit({ type: "@xstate.event", ...base, sourceRef: undefined, event: init });
          emit({ type: "@xstate.snapshot", ...base, event: init, snapshot: entry.snapshot });
        } else if (step.before !== actor.state && !sameState(step.before, actor.state)) {
          actor.snapshot = resolve(step.before);
          emit({
            type: "@xstate.snapshot",
            actorRef: actor.ref,
            rootId: actor.ref.sessionId,
            event: init,
            snapshot: actor.snapshot,
          });
        }
        const base = { actorRef: actor.ref, rootId: actor.ref.sessionId };
        emit({ type: "@xstate.event", ...base, sourceRef: undefined, event: step.event });
        actor.state = step.after;
        actor.snapshot = resolve(step.after);
        emit({ type: "@xstate.snapshot", ...base, event: step.event, snapshot: actor.snapshot });
      };
    },
  };
}

interface Actor {
  ref: UnitActorRef;
  /** The state after the unit's last step (the next step of the same hook starts from this very object). */
  state: UpgradeState;
  snapshot: UnitSnapshot;
}

/** Plain JSON, so equal when their JSON is (keys are written in the same order by the same code). */
const sameState = (a: UpgradeState, b: UpgradeState) =>
  a.value === b.value && JSON.stringify(a.context) === JSON.stringify(b.context);
