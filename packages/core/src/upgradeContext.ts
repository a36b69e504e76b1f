import type { Dependencies } from "./dependencyModel.js";
import type { RuntimeObservation } from "./observed.js";
import type { PeerView } from "./peerView.js";
import type { RawUpgradeSettings, UpgradeSettings } from "./settings.js";
import type { Substrate } from "./substrate.js";
import type { UnitState } from "./unitState.js";

/**
 * What the core knows when it decides: who this unit is, what the running charm code ships, and the latest
 * validated view of the peer relation. Plain JSON, so a hook can hand it to the next (each hook is a new process).
 */
export interface UpgradeContext {
  /** Application name, for unit names (`app/3`) and messages. */
  readonly app: string;
  /** This unit's number. */
  readonly unit: number;
  readonly substrate: Substrate;
  /** The DEPENDENCIES object of the charm code that is running this hook (the *new* code after `juju refresh`). */
  readonly dependencies: Dependencies;
  /** `false` while the peer relation does not exist yet (early install hooks): most events are then deferred. */
  readonly related: boolean;
  /** The latest view of the peer relation, with this hook's own writes applied. */
  readonly view: PeerView;
  /** The charm's validated settings (pause policy, this unit's hold). */
  readonly settings: UpgradeSettings;
  /** This unit's charm as Juju names it (its `.juju-charm` file: `ch:amd64/jammy/db-381`), or `null` if unknown. */
  readonly charm: string | null;
  /**
   * The workload version this unit runs, as the charm reports it at the start of the hook — or, once a grant
   * completed in this hook, as it reports it after its upgrade (`upgradeCompleted`) — or `null` (then derived: see
   * `unitStatus.ts`).
   */
  readonly workloadVersion: string | null;
  /** The DEPENDENCIES key that names the workload (for the version statuses show). */
  readonly workloadKey: string | null;
  /** What this unit was observed to run at the start of the hook (see {@link RuntimeObservation}), or `null`. */
  readonly observed: RuntimeObservation | null;
  /**
   * The state this unit's databag recorded when the hook began: the state its observations (`observed`,
   * `workloadVersion`) were taken in, so a hook that moves the unit on does not judge them against its new state.
   */
  readonly observedAs: UnitState | null;
  /**
   * The charm this unit's databag recorded when the hook began (`KEYS.charm`): the charm it ran before this hook's
   * `upgrade-charm`, if that is one; absent or `null` when none was recorded.
   */
  readonly charmBefore?: string | null;
  /**
   * Kubernetes: the workload's OCI image resource as `NAME=IMAGE` (from `resource-get` at pre-upgrade-check), for
   * the rollback command; `null` when the charm has none or did not say.
   */
  readonly resource: string | null;
  /** Why this unit's workload cannot go back to the version before the upgrade, as the charm says; `null`: it can. */
  readonly noDowngrade: string | null;
  /**
   * Kubernetes, on the leader while a roll may end: the units whose pods the StatefulSet's rollout still restarts
   * (`UnitRollout.pending`), `null` when the charm could not tell (the roll then does not end in this hook), absent
   * when not asked (the charm cannot tell at all: the roll ends by what the units recorded).
   */
  readonly rolloutPending?: readonly number[] | null;
  /**
   * Kubernetes: why the partition did not move in this hook, for the application status (absent or `null`: it did,
   * or it was not asked to). Not kept from one hook to the next: the next hook tries again.
   */
  readonly partitionFailure?: { readonly status: "waiting" | "blocked"; readonly message: string } | null;
  /**
   * Kubernetes: the partition was found set outside charm-upgrade in this hook (`kubectl patch`), and what was done
   * about it, for the application status (absent or `null`: not found). Not kept from one hook to the next: the log
   * keeps it.
   */
  readonly partitionNotice?: string | null;
}

/** What a charm hands the core to create a unit's state at the start of a hook. */
export interface UpgradeInput {
  readonly app: string;
  readonly unit: number;
  readonly substrate: Substrate;
  readonly dependencies: Dependencies;
  /** The peer view read at the start of the hook; `null` when the peer relation does not exist yet. */
  readonly view: PeerView | null;
  /** The charm's settings (config `pause-after-unit-upgrade`, a hold); defaults: pause after the first unit. */
  readonly settings?: RawUpgradeSettings;
  /**
   * This unit's charm as Juju names it: the content of `$JUJU_CHARM_DIR/.juju-charm` (`ch:amd64/jammy/db-381`).
   * The leader records it when it plans an upgrade, so statuses can give the exact rollback command.
   */
  readonly charm?: string | null;
  /** The workload version this unit runs now, if the charm knows it (shown in statuses during an upgrade). */
  readonly workloadVersion?: string | null;
  /**
   * Which DEPENDENCIES key is the workload, for the version statuses show when the charm does not report one.
   * Default: `workload` if present, else the first key that does not name the charm, else the first key.
   */
  readonly workloadKey?: string;
  /** What this unit runs, as observed outside the peer relation (Kubernetes: its pod). */
  readonly observed?: RuntimeObservation | null;
  /**
   * Kubernetes, on the leader at pre-upgrade-check: the workload's OCI image resource as `NAME=IMAGE`, recorded so
   * the rollback command brings the old image back (`--resource NAME=IMAGE`).
   */
  readonly resource?: string | null;
  /**
   * Why this unit's workload cannot go back to the version before the upgrade (its data format moved on), as the
   * charm says; recorded in its databag, and a rollback then stops before it.
   */
  readonly noDowngrade?: string | null;
  /** Kubernetes, on the leader while a roll may end: see {@link UpgradeContext.rolloutPending}. */
  readonly rolloutPending?: readonly number[] | null;
}
