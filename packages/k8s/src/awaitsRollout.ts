import type { StatefulSetRollout } from "./statefulSetPartition.js";

/**
 * Whether a rollout is under way that the pod of `ordinal` has not taken, for `createUpgrade`'s `awaitsRollout`: the
 * StatefulSet's update revision is not its current one, and this pod was not created from the update revision. Then
 * the pod's deletion is the rollout's restart (after `juju refresh`, the controller deletes the highest pod not on
 * the update revision: kubernetes `pkg/controller/statefulset/stateful_set_control.go`, `updateStatefulSet`), and a
 * pod that stops while no upgrade is planned holds the pods below it. `false` is an eviction: no rollout is under way
 * (`completeRollingUpdate` made the update revision the current one once every pod ran it and was Ready), or this
 * pod already runs the update revision — its replacement comes back on the revision its ordinal gets
 * (`newVersionedStatefulSetPod`: below the partition, the current revision), so raising the partition over a lower
 * pod that already restarted, while the controller has not yet completed the rollout, would bring that pod back on
 * the old revision the next time it is deleted.
 *
 * `null` (unknown) while the controller has not observed the latest spec (its revisions may describe an older one),
 * when the StatefulSet reports no current or update revision, or when the pod is not found or unlabelled.
 *
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * createUpgrade({ substrate: "k8s", …, awaitsRollout: async () => awaitsRollout(await partitions.readRollout(), unitNumber) });
 * ```
 */
export function awaitsRollout(rollout: StatefulSetRollout, ordinal: number): boolean | null {
  const { observed, currentRevision, updateRevision } = rollout;
  const pod = rollout.pods.find((candidate) => candidate.ordinal === ordinal);
  if (!observed || currentRevision === null || updateRevision === null || pod?.revision == null) return null;
  return updateRevision !== currentRevision && pod.revision !== updateRevision;
}
