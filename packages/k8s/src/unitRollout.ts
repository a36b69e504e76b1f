import type { UnitRollout } from "@charm-upgrade/core";
import type { StatefulSetRollout } from "./statefulSetPartition.js";

/**
 * Where the StatefulSet's rollout stands for each unit's pod, for `createUpgrade`'s `unitRollout`, from the pods'
 * `controller-revision-hash` labels:
 *
 * - `restarted` — the pods not created from the current revision: restarted onto the update revision (a rollout
 *   under way, e.g. a `juju refresh` made before pre-upgrade-check) or onto a revision the StatefulSet has left since
 *   (a refresh back to the template a rollout started from makes that one the update revision again: kubernetes
 *   `pkg/controller/statefulset/stateful_set_control.go` `getStatefulSetRevisions` reuses an equal history revision).
 *   Pods below the partition are created from the current revision (`newVersionedStatefulSetPod` in
 *   `stateful_set_utils.go`) and only those at or above it are updated (`updateStatefulSet`), so a partition raised
 *   above one of these strands it on its revision: pre-upgrade-check sets it no higher.
 * - `pending` — the pods the rollout still restarts: at or above the partition and not created from the update
 *   revision (`updateStatefulSet` deletes them, highest first, and recreates them from it). A roll is not over while
 *   one is: its unit may not have run any hook since its pod restarted.
 *
 * `null` (unknown) while the controller has not observed the latest spec (its revisions may describe an older one),
 * when the StatefulSet reports no current or update revision, or when a pod is unlabelled or not named after an
 * ordinal.
 *
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * createUpgrade({ substrate: "k8s", …, unitRollout: async () => unitRollout(await partitions.readRollout()) });
 * ```
 */
export function unitRollout(rollout: StatefulSetRollout): UnitRollout | null {
  const { observed, currentRevision, updateRevision, partition, pods } = rollout;
  if (!observed || currentRevision === null || updateRevision === null) return null;
  const restarted: number[] = [];
  const pending: number[] = [];
  for (const pod of pods) {
    if (pod.ordinal === null || pod.revision === null) return null;
    if (pod.revision !== currentRevision) restarted.push(pod.ordinal);
    if (pod.ordinal >= partition && pod.revision !== updateRevision) pending.push(pod.ordinal);
  }
  return { restarted: restarted.sort((a, b) => a - b), pending: pending.sort((a, b) => a - b) };
}
