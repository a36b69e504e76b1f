import type { ErrorData } from "./events.js";

/** Juju's workload status names that the library sets. */
export type StatusName = "active" | "maintenance" | "waiting" | "blocked";

/**
 * What the core asks an adapter to do: plain data, carried out in order. The core itself does no I/O.
 * What each one means is in {@link EFFECT_MEANINGS}, the one list of effect types.
 */
export type Effect =
  | { readonly type: "writeUnitData"; readonly data: Readonly<Record<string, string>> }
  | { readonly type: "writeAppData"; readonly data: Readonly<Record<string, string>> }
  | { readonly type: "setUnitStatus"; readonly status: StatusName; readonly message: string }
  | { readonly type: "setAppStatus"; readonly status: StatusName; readonly message: string }
  | { readonly type: "runPreUpgradeCheck" }
  | { readonly type: "grantUpgrade" }
  | { readonly type: "actionResult"; readonly results: Readonly<Record<string, string>> }
  | { readonly type: "actionFail"; readonly message: string }
  | { readonly type: "log"; readonly level: "debug" | "info" | "warning" | "error"; readonly message: string }
  | { readonly type: "explain"; readonly reason: string }
  | { readonly type: "setPartition"; readonly partition: number }
  | { readonly type: "raisePartition"; readonly partition: number }
  | { readonly type: "lowerPartition"; readonly partition: number }
  | { readonly type: "defer" }
  | { readonly type: "logRollbackInstructions" }
  | { readonly type: "reportProblem"; readonly unit: string | null; readonly key: string; readonly error: ErrorData };

/** The `type` of every {@link Effect}. */
export type EffectType = Effect["type"];

/**
 * The fields of the effect of type `T` besides its `type`: the params of the machine's action of that name, typed
 * so that an effect written as a static action in the machine is checked like one built in code.
 */
export type EffectParams<T extends EffectType> = Omit<Extract<Effect, { readonly type: T }>, "type">;

/**
 * What each effect asks of an adapter, by type: the one list of effect types. It must name every member of
 * {@link Effect} and nothing else (`satisfies Record<EffectType, string>`), so an effect added to the union and
 * forgotten here fails type-checking instead of being dropped: the machine's effect actions and
 * {@link EFFECT_TYPES} are derived from it, and `reduce` reports any other action the machine emits.
 */
export const EFFECT_MEANINGS = {
  writeUnitData: "set keys in this unit's own databag (values are strings)",
  writeAppData: "set keys in the application databag (only ever emitted on the leader)",
  setUnitStatus: "this unit's workload status",
  setAppStatus:
    "the application's status (only ever emitted on the leader): the upgrade's progress, the next step for the operator and the rollback command",
  runPreUpgradeCheck:
    "run the charm's pre-upgrade check (and, on machines, its stack builder), then send `preUpgradeCheckPassed` or `preUpgradeCheckFailed`",
  grantUpgrade:
    "this unit may upgrade its workload now: run the charm's upgrade handler (idempotently), then send `upgradeCompleted` or `upgradeFailed` (or nothing, if it is not done yet: it is granted again next hook)",
  actionResult: "the successful outcome of the action this hook runs",
  actionFail: "the failure of the action this hook runs",
  log: "a line for the unit's log",
  explain: "why this unit does not proceed, in a sentence an operator can act on",
  setPartition:
    "Kubernetes: set the StatefulSet's rolling-update partition, then send `partitionSet` (the API server holds it: it is recorded only then) or `partitionFailed`; in an action, a failure fails the action and the action changes nothing",
  raisePartition:
    "Kubernetes, in a pod's `stop` while no upgrade is planned: read the partition the API server holds and raise it to this unit's number if it is lower (never lower it), so that a `juju refresh` made without pre-upgrade-check restarts no other pod — unless the charm says no rollout awaits this pod (an eviction: `awaitsRollout`); then send `partitionSet` (when it moved) or `partitionFailed`",
  lowerPartition:
    "Kubernetes, the leader during a roll: the partition must be at most this one, and the API server is read first, so that a partition set outside charm-upgrade (`kubectl patch`) is noticed: held above it, set it (then `partitionSet`, naming the partition found when it was above the one recorded, or `partitionFailed`); held at or below it, record what the API server holds, never raising it back (`partitionSet`, naming the one found when it is below); a failed read sends `partitionFailed`; in an action, a failure fails the action and the action changes nothing",
  defer: "keep the current event and run it again at the start of the next hook",
  logRollbackInstructions: "ask the charm to log how to roll back (the original's override)",
  reportProblem: "peer data that does not validate, or a step the core could not take (names the databag and key)",
} as const satisfies Record<EffectType, string>;

/** Every effect type, for adapters that must handle them all (derived from {@link EFFECT_MEANINGS}). */
export const EFFECT_TYPES: readonly EffectType[] = Object.keys(EFFECT_MEANINGS) as EffectType[];

/**
 * True when `type` names an {@link Effect}: how `reduce` tells the machine's effects from xstate's own actions and
 * from actions that should not exist.
 */
export function isEffectType(type: string): type is EffectType {
  return Object.hasOwn(EFFECT_MEANINGS, type);
}
