import type { PodRevision, StatefulSetRollout } from "../statefulSetPartition.js";

/**
 * A pod as `readRollout` reports it, Ready and not terminating: for tests of what a charm derives from a rollout
 * (`awaitsRollout`, `podObservation`, `unitRollout`) without an API server. `revision` is its `controller-revision-hash` label.
 */
export function podRevision(
  ordinal: number,
  revision: string | null,
  images: Record<string, string> = {},
): PodRevision {
  return { name: `db-${ordinal}`, ordinal, revision, updated: false, ready: true, terminating: false, images };
}

/**
 * A StatefulSet `db` mid-rollout as `readRollout` reports it: the controller has observed the latest spec, its
 * current revision `db-old`, its update revision `db-new` (a `juju refresh` just ran), with `pods` and `overrides`.
 */
export function rolloutOf(
  pods: readonly PodRevision[],
  overrides: Partial<StatefulSetRollout> = {},
): StatefulSetRollout {
  return {
    partition: 0,
    replicas: pods.length,
    updateStrategy: "RollingUpdate",
    generation: 3,
    observedGeneration: 3,
    observed: true,
    currentRevision: "db-old",
    updateRevision: "db-new",
    pods,
    ...overrides,
  };
}
