import type { PeerView } from "./peerView.js";

/**
 * What kind of failure a call outside the core met, by what can be done about it: an adapter classifies its own
 * errors into these, so that the core decides without knowing the system behind them (the Kubernetes API, say).
 *
 * - `transient` — passing trouble (throttled, a conflict, overloaded, timed out, unreachable): the next hook tries
 *   again, and nothing needs the operator;
 * - `permission` — refused for lack of rights (HTTP 403 Forbidden): the operator grants them (`juju trust`);
 * - `notFound` — what the call acts on does not exist (HTTP 404);
 * - `misconfigured` — cannot work as configured (credentials, certificates, a setting): the operator fixes it;
 * - `invalid` — the request or the answer is malformed: a bug to report.
 */
export type FailureKind = "transient" | "permission" | "notFound" | "misconfigured" | "invalid";

/** A plain, serialisable error: the message / cause / resolution triple and which kind of error it was. */
export interface ErrorData {
  readonly kind: string;
  readonly message: string;
  readonly cause: string;
  readonly resolution: string;
  /** What kind of failure it was, when the thrower said (see {@link FailureKind}); absent: unknown. */
  readonly failure?: FailureKind;
}

/** Events that carry a fresh view of the peer relation (`null`: the relation does not exist yet). */
interface WithView {
  readonly view: PeerView | null;
}

/**
 * Everything that can happen to a unit during an upgrade, as the core sees it. Adapters map Juju hooks and actions
 * onto these; the others are the charm's own answers to effects (`runPreUpgradeCheck`, `grantUpgrade`, the
 * partition moves).
 *
 * - `relationCreated` — the peer relation was created (every unit starts `idle`).
 * - `relationChanged` — peer data changed, a unit joined or departed: re-evaluate with the fresh view.
 * - `tick` — any other hook ran (update-status, config-changed, …): re-evaluate, so nothing waits for a peer write.
 * - `leaderElected` — this unit became the leader.
 * - `upgradeCharm` — `juju refresh` replaced the charm code on this unit (on K8s: the pod restarted on it).
 * - `preUpgradeCheck` / `resumeUpgrade` — the operator ran the action of that name on this unit.
 * - `preUpgradeCheckPassed` / `preUpgradeCheckFailed` — the charm's pre-upgrade check ran (VM: with its stack).
 * - `upgradeCompleted` / `upgradeFailed` — the charm's verdict on upgrading its workload after a grant.
 * - `upgradePending` — the charm upgraded the workload, but its post-upgrade health check does not pass yet: the
 *   unit stays `upgrading` (nobody else is granted) and is asked again at the next hook.
 * - `forceUpgrade` — the operator's `force-upgrade` action on this unit: named checks to skip, never a blanket force.
 * - `stop` — Kubernetes: this unit's pod is being deleted (juju runs `stop` in its termination grace period).
 * - `partitionSet` / `partitionFailed` — the charm's answer to a partition move (`setPartition`, `raisePartition`,
 *   `lowerPartition`): the API server holds the partition now (record it), or it does not (say why; the partition is
 *   not recorded). `found`: the partition the API server held before, when someone outside charm-upgrade set it
 *   (above the one recorded, or below the one asked for).
 */
export type UpgradeEvent =
  | ({ readonly type: "relationCreated" } & WithView)
  | ({ readonly type: "relationChanged" } & WithView)
  | ({ readonly type: "tick" } & WithView)
  | ({ readonly type: "leaderElected" } & WithView)
  | ({ readonly type: "upgradeCharm" } & WithView)
  | ({ readonly type: "stop" } & WithView)
  | ({ readonly type: "preUpgradeCheck" } & WithView)
  | ({ readonly type: "resumeUpgrade" } & WithView)
  | {
      readonly type: "preUpgradeCheckPassed";
      readonly stack?: readonly number[];
      /**
       * Kubernetes: the units whose pods were not created from the StatefulSet's current revision, as the charm
       * observed them (`unitRollout`; absent when the charm cannot tell): the partition is set no higher than any.
       */
      readonly restarted?: readonly number[];
    }
  | { readonly type: "preUpgradeCheckFailed"; readonly error: ErrorData }
  | {
      readonly type: "upgradeCompleted";
      /**
       * The workload version the charm reports once it has upgraded (asked again after its answer, in the same
       * hook), recorded with `completed` in the same commit; absent when the charm reports none.
       */
      readonly workloadVersion?: string;
    }
  | { readonly type: "upgradeFailed"; readonly cause?: string }
  | { readonly type: "upgradePending"; readonly reason: string }
  | { readonly type: "partitionSet"; readonly partition: number; readonly found?: number }
  | { readonly type: "partitionFailed"; readonly partition: number; readonly error: ErrorData }
  | ({
      readonly type: "forceUpgrade";
      /** `false`: skip the version-compatibility check that failed this unit. */
      readonly checkCompatibility: boolean;
      /** `false`: skip the post-upgrade health check this unit is waiting on. */
      readonly checkHealth: boolean;
    } & WithView);

/** The `type` of every {@link UpgradeEvent}. */
export type UpgradeEventType = UpgradeEvent["type"];
