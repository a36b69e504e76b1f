import type { ErrorData, FailureKind, UpgradeEvent } from "./events.js";

/**
 * What a hook session asks of the charm: the only points where the protocol needs code that is not its own. An
 * adapter answers each with the charm's callback of the same name ({@link CharmAnswer}); a simulator or a verifier
 * answers from its model of the charm.
 *
 * - `checkTrust` — Kubernetes: may the charm patch its StatefulSet? (`{ allowed, reason? }`)
 * - `preUpgradeCheck` — the charm's own checks before an upgrade (a throw refuses, with its message)
 * - `buildUpgradeStack` — machines: every unit number, the last one upgrading first
 * - `grant` — upgrade this unit's workload now, idempotently (`completed`, `pending`, `{ pending }`, `{ failed }`)
 * - `setPartition` — Kubernetes: set the StatefulSet's rolling-update partition (resolved: the API server holds it)
 * - `getPartition` — Kubernetes: the partition the API server holds (a whole number)
 * - `awaitsRollout` — Kubernetes: whether a rollout awaits this unit (`true`: it does not run the revision being
 *   rolled out), none does (`false`), or unknown (`null`): tells the restart of a `juju refresh` from an eviction
 * - `unitRollout` — Kubernetes: where the StatefulSet's rollout stands for each unit's pod ({@link UnitRollout}), or
 *   unknown (`null`): asked by the leader at pre-upgrade-check and when a roll may end
 * - `logRollbackInstructions` — the charm's own account of how to roll back
 * - `workloadVersion` — the workload version the charm reports now, asked again once a grant completed (see
 *   `upgradeCompleted`); adapters answer it as they do the report at the start of the hook
 */
export type CharmCall =
  | { readonly type: "checkTrust" }
  | { readonly type: "preUpgradeCheck" }
  | { readonly type: "buildUpgradeStack" }
  | { readonly type: "grant" }
  | { readonly type: "setPartition"; readonly partition: number }
  | { readonly type: "getPartition" }
  | { readonly type: "awaitsRollout" }
  | { readonly type: "unitRollout" }
  | { readonly type: "logRollbackInstructions" }
  | { readonly type: "workloadVersion" };

/** The `type` of every {@link CharmCall}. */
export type CharmCallType = CharmCall["type"];

/**
 * The charm's answer to a {@link CharmCall}: what its callback returned (untrusted: validated here), or the error
 * it threw, as data. A failure of Juju itself (a hook tool) is not an answer: the adapter lets it fail the hook.
 */
export type CharmAnswer =
  | { readonly ok: true; readonly value?: unknown }
  | { readonly ok: false; readonly error: ErrorData };

/** The failure kinds an error may name, and HTTP's word for a refusal (`forbidden`) as the one it means. */
const FAILURE_KINDS: Readonly<Record<string, FailureKind>> = {
  transient: "transient",
  permission: "permission",
  forbidden: "permission",
  notFound: "notFound",
  misconfigured: "misconfigured",
  invalid: "invalid",
};

/**
 * A thrown value as {@link ErrorData}: an `UpgradeError`'s triple (with the {@link FailureKind} its `failure` field
 * names, as an adapter's classified errors do: `KubernetesRequestError` of `@charm-upgrade/k8s`), or a plain error's
 * name and message.
 */
export function toErrorData(error: unknown): ErrorData {
  if (
    error &&
    typeof error === "object" &&
    "kind" in error &&
    "message" in error &&
    "cause" in error &&
    "resolution" in error
  ) {
    const e = error as { kind: unknown; message: unknown; cause: unknown; resolution: unknown; failure?: unknown };
    if (typeof e.kind === "string" && typeof e.message === "string") {
      const failure = typeof e.failure === "string" && Object.hasOwn(FAILURE_KINDS, e.failure) ? e.failure : null;
      return {
        kind: e.kind,
        message: e.message,
        cause: typeof e.cause === "string" ? e.cause : "",
        resolution: typeof e.resolution === "string" ? e.resolution : "",
        ...(failure ? { failure: FAILURE_KINDS[failure] as FailureKind } : {}),
      };
    }
  }
  if (error instanceof Error) return { kind: error.name || "Error", message: error.message, cause: "", resolution: "" };
  return { kind: "Error", message: String(error), cause: "", resolution: "" };
}

/** An error's message for a status or action failure; never empty (upstream bug 16: `Blocked("")`). */
export function messageOf(error: ErrorData, fallback: string): string {
  return error.message.trim() || `${fallback} (${error.kind})`;
}

/** Why the charm's answer to `grant` is not one of the four it may give (a charm bug: the hook fails loudly). */
export class InvalidGrantAnswer {
  constructor(readonly value: unknown) {}
}

/**
 * The charm's answer to `grant`, as the core event it means: `completed` → `upgradeCompleted`; `pending` or
 * `{ pending: reason }` → `upgradePending` (the health gate: asked again next hook); `{ failed: reason }` or a throw
 * → `upgradeFailed`. Anything else is an {@link InvalidGrantAnswer}: guessing would be worse than failing the hook.
 */
export function grantEvent(answer: CharmAnswer, unit: string): UpgradeEvent | InvalidGrantAnswer {
  if (!answer.ok)
    return {
      type: "upgradeFailed",
      cause: `Upgrade of ${unit} failed: ${messageOf(answer.error, "onUpgradeGranted threw without a message")}`,
    };
  const outcome = answer.value;
  if (outcome === "completed") return { type: "upgradeCompleted" };
  if (outcome === "pending") return { type: "upgradePending", reason: "the charm reports its upgrade is not finished" };
  if (outcome && typeof outcome === "object" && "pending" in outcome) {
    const reason = String((outcome as { pending: unknown }).pending ?? "")
      .trim()
      .slice(0, 200);
    return { type: "upgradePending", reason: reason || "the charm reports its upgrade is not finished" };
  }
  if (outcome && typeof outcome === "object" && "failed" in outcome) {
    const reason = String((outcome as { failed: unknown }).failed ?? "")
      .trim()
      .slice(0, 500);
    return { type: "upgradeFailed", cause: reason || `Upgrade of ${unit} failed (onUpgradeGranted gave no reason)` };
  }
  return new InvalidGrantAnswer(outcome);
}

/** The answer to `checkTrust`: allowed, or why not. Anything but `{ allowed: true }` is a refusal. */
export function trustOf(answer: CharmAnswer): { readonly allowed: boolean; readonly reason: string } {
  if (!answer.ok) return { allowed: false, reason: messageOf(answer.error, "the trust check failed") };
  const value = answer.value as { allowed?: unknown; reason?: unknown } | null | undefined;
  const reason = typeof value?.reason === "string" ? value.reason.slice(0, 200) : "";
  return { allowed: value?.allowed === true, reason };
}

/**
 * The answer to `getPartition`: the partition the API server holds, or what went wrong as {@link ErrorData} (the
 * charm's callback threw, or returned something that is not a whole number: untrusted, so validated here).
 */
export function heldPartitionOf(answer: CharmAnswer): number | ErrorData {
  if (!answer.ok) return answer.error;
  const value = answer.value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  return {
    kind: "UpgradeError",
    message: `getPartition() returned ${JSON.stringify(value)?.slice(0, 60) ?? String(value)}, not a partition`,
    cause: "the charm's getPartition must resolve to the whole number the API server holds",
    resolution: "fix the charm's getPartition (the Kubernetes adapter's getPartition gives it)",
    failure: "invalid",
  };
}

/**
 * The answer to `awaitsRollout`: `true` (a rollout is under way that this unit has not taken: its restart is the
 * rollout's), `false` (none is, or this unit already runs it: an eviction), `null` (the charm cannot tell), or what
 * went wrong as {@link ErrorData} (the callback threw, or returned something else: untrusted, so validated here).
 */
export function awaitedRolloutOf(answer: CharmAnswer): boolean | null | ErrorData {
  if (!answer.ok) return answer.error;
  const value = answer.value;
  if (typeof value === "boolean" || value === null || value === undefined) return value ?? null;
  return {
    kind: "UpgradeError",
    message: `awaitsRollout() returned ${JSON.stringify(value)?.slice(0, 60) ?? String(value)}, not true, false or null`,
    cause: "the charm's awaitsRollout must resolve to whether a rollout is under way that this unit has not taken",
    resolution: "fix the charm's awaitsRollout (awaitsRollout of @charm-upgrade/k8s gives it from readRollout())",
    failure: "invalid",
  };
}

/**
 * Kubernetes: where the StatefulSet's rollout stands, by unit number (pod ordinal), as the charm reads it from the API
 * server (`unitRollout` of `@charm-upgrade/k8s`). A pod can restart before its unit runs any hook, so no databag says
 * this: a `juju refresh` that came after the last roll ended, a refresh back that met a pod mid-restart.
 */
export interface UnitRollout {
  /**
   * The units whose pods were not created from the StatefulSet's current revision: restarted onto the revision being
   * rolled out, or onto one a refresh back left. A partition set above one strands it there (pods below the
   * partition are neither updated nor recreated from another revision than the current one).
   */
  readonly restarted: readonly number[];
  /**
   * The units whose pods the rollout still restarts: at or above the partition, not created from the update
   * revision. A roll is not over while one is.
   */
  readonly pending: readonly number[];
}

const unitNumbers = (value: unknown): value is readonly number[] =>
  Array.isArray(value) && value.every((id) => typeof id === "number" && Number.isSafeInteger(id) && id >= 0);

/**
 * The answer to `unitRollout`: a {@link UnitRollout} (each list sorted, each unit once), `null` (the charm cannot
 * tell), or what went wrong as {@link ErrorData} (the callback threw, or returned something else: untrusted, so
 * validated here).
 */
export function unitRolloutOf(answer: CharmAnswer): UnitRollout | null | ErrorData {
  if (!answer.ok) return answer.error;
  const value = answer.value as { restarted?: unknown; pending?: unknown } | null | undefined;
  if (value === null || value === undefined) return null;
  if (typeof value === "object" && unitNumbers(value.restarted) && unitNumbers(value.pending)) {
    const sorted = (ids: readonly number[]) => [...new Set(ids)].sort((a, b) => a - b);
    return { restarted: sorted(value.restarted), pending: sorted(value.pending) };
  }
  return {
    kind: "UpgradeError",
    message: `unitRollout() returned ${JSON.stringify(value)?.slice(0, 60) ?? String(value)}, not { restarted, pending } or null`,
    cause:
      "the charm's unitRollout must resolve to the units whose pods restarted and those the rollout still restarts",
    resolution: "fix the charm's unitRollout (unitRollout of @charm-upgrade/k8s gives it from readRollout())",
    failure: "invalid",
  };
}
