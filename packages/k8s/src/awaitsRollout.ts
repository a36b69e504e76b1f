import type { StatefulSetRollout } from "./statefulSetPartition.js";

/**
 * Whether a rollout awaits the pod of `ordinal`, for `createUpgrade`'s `awaitsRollout`: this pod was not created from
 * the StatefulSet's update revision. Then its deletion is the rollout's restart (after `juju refresh`, the controller
 * deletes the highest pod not on the update revision: kubernetes `pkg/controller/statefulset/stateful_set_control.go`,
 * `updateStatefulSet`), and a pod that stops while no upgrade is planned holds the pods below it. `false` is an
 * eviction of a pod already on the update revision: its replacement comes back on the revision its ordinal gets
 * (`newVersionedStatefulSetPod`: below the partition, the current revision), so raising the partition over a lower
 * pod that already restarted, while the controller has not completed the rollout (`completeRollingUpdate`: the
 * current revision becomes the update revision once every pod runs it and is Ready), would bring that pod back on the
 * old revision the next time it is deleted. The current revision is not compared: after a refresh back to the
 * template a rollout started from, the update revision is the current one again while the pods that restarted away
 * from it await it.
 *
 * `null` (unknown) while the controller has not observed the latest spec (its update revision may describe an older
 * one), when the StatefulSet reports no update revision, or when the pod is not found or unlabelled.
 *
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * createUpgrade({ substrate: "k8s", …, awaitsRollout: async () => awaitsRollout(await partitions.readRollout(), unitNumber) });
 * ```
 */
export function awaitsRollout(rollout: StatefulSetRollout, ordinal: number): boolean | null {
  const { observed, updateRevision } = rollout;
  const pod = rollout.pods.find((candidate) => candidate.ordinal === ordinal);
  if (!observed || updateRevision === null || pod?.revision == null) return null;
  return pod.revision !== updateRevision;
}
