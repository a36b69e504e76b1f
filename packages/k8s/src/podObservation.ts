import type { RuntimeObservation } from "@charm-upgrade/core";
import type { StatefulSetRollout } from "./statefulSetPartition.js";

/**
 * What unit `ordinal` runs, as its pod shows it, for the core (`createUpgrade`'s `observe`): whether the pod was
 * created from the StatefulSet's update revision — the template `juju refresh` last wrote, forward or back — its
 * controller revision, and its workload container's image. The core compares this with the state the unit recorded:
 * a unit that says it upgraded on a pod the controller never recreated is named in its status, and the upgrade is
 * not over for it. Neutral data: the core knows nothing of pods.
 *
 * `latest` is `null` (unknown) while the controller has not observed the latest spec (its `updateRevision` may
 * describe an older one), when the StatefulSet reports no update revision, or when the pod is not found or
 * unlabelled.
 *
 * @param container - the workload container's name (charmcraft.yaml `containers`); default: the only container
 *   other than Juju's `charm` container, if there is exactly one
 * @example
 * ```ts
 * const partitions = createPartitionSetter({ namespace: model, statefulSet: app });
 * createUpgrade({ substrate: "k8s", …, observe: async () => podObservation(await partitions.readRollout(), unitNumber, "db") });
 * ```
 */
export function podObservation(rollout: StatefulSetRollout, ordinal: number, container?: string): RuntimeObservation {
  const pod = rollout.pods.find((candidate) => candidate.ordinal === ordinal);
  const known = rollout.observed && rollout.updateRevision !== null && pod !== undefined && pod.revision !== null;
  // Juju runs a sidecar charm in a container named `charm` beside the workload containers (juju/juju package caas:
  // `CharmContainerName = "charm"`, "the name of the charm container in a charm application pod").
  const workloads = Object.keys(pod?.images ?? {}).filter((name) => name !== "charm");
  const name = container ?? (workloads.length === 1 ? workloads[0] : undefined);
  return {
    latest: known ? pod.revision === rollout.updateRevision : null,
    revision: pod?.revision ?? null,
    image: name === undefined ? null : (pod?.images[name] ?? null),
  };
}
