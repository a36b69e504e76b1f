import type { ErrorData } from "./events.js";

/** Juju's workload status names that the library sets. */
export type StatusName = "active" | "maintenance" | "waiting" | "blocked";

/**
 * What the core asks an adapter to do: plain data, carried out in order. The core itself does no I/O.
 *
 * - `writeUnitData` — set keys in this unit's own databag (values are strings).
 * - `writeAppData` — set keys in the application databag (only ever emitted on the leader).
 * - `setUnitStatus` — this unit's workload status.
 * - `setAppStatus` — the application's status (only ever emitted on the leader): the upgrade's progress, the next
 *   step for the operator and the rollback command.
 * - `runPreUpgradeCheck` — run the charm's pre-upgrade check (and, on machines, its stack builder), then send
 *   `preUpgradeCheckPassed` or `preUpgradeCheckFailed`.
 * - `grantUpgrade` — this unit may upgrade its workload now: run the charm's upgrade handler (idempotently), then
 *   send `upgradeCompleted` or `upgradeFailed` (or nothing, if it is not done yet: it is granted again next hook).
 * - `actionResult` / `actionFail` — the outcome of the action this hook runs.
 * - `log` — a line for the unit's log.
 * - `explain` — why this unit does not proceed, in a sentence an operator can act on.
 * - `setPartition` — Kubernetes: set the StatefulSet's rolling-update partition.
 * - `defer` — keep the current event and run it again at the start of the next hook.
 * - `logRollbackInstructions` — ask the charm to log how to roll back (the original's override).
 * - `reportProblem` — peer data that does not validate (names the databag and key).
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
  | { readonly type: "defer" }
  | { readonly type: "logRollbackInstructions" }
  | { readonly type: "reportProblem"; readonly unit: string | null; readonly key: string; readonly error: ErrorData };

/** The `type` of every {@link Effect}. */
export type EffectType = Effect["type"];

/** Every effect type, for adapters that must handle them all and for the reducer to recognise them. */
export const EFFECT_TYPES = [
  "writeUnitData",
  "writeAppData",
  "setUnitStatus",
  "setAppStatus",
  "runPreUpgradeCheck",
  "grantUpgrade",
  "actionResult",
  "actionFail",
  "log",
  "explain",
  "setPartition",
  "defer",
  "logRollbackInstructions",
  "reportProblem",
] as const satisfies readonly EffectType[];
