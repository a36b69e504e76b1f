/**
 * `@charm-upgrade/k8s` — carries out the core's Kubernetes effects: moves a StatefulSet's rolling-update partition,
 * reads back what the API server holds, and says which revision each pod runs.
 *
 * Importing this package loads nothing heavy: `@kubernetes/client-node` is imported on the first request only, so
 * machine charms (and every hook that does not touch Kubernetes) never pay for it. Every failure is a
 * {@link KubernetesRequestError} (a core `KubernetesClientError`) whose `failure` says whether the next hook may
 * simply try again (`transient`) or the operator must act. Test helpers (a real, in-process fake API server with
 * scripted failures) are in `@charm-upgrade/k8s/testing`.
 *
 * @packageDocumentation
 */
export type { KubernetesFailure, KubernetesRequestFacts } from "./kubernetesRequestError.js";
export { KubernetesRequestError, kubernetesFailureOf } from "./kubernetesRequestError.js";
export { awaitsRollout } from "./awaitsRollout.js";
export type {
  LogLevel,
  PartitionSetter,
  PartitionSetterOptions,
  PatchPermission,
  PodRevision,
  StatefulSetRollout,
} from "./statefulSetPartition.js";
export { createPartitionSetter } from "./statefulSetPartition.js";
export { podObservation } from "./podObservation.js";
export { unitRollout } from "./unitRollout.js";
export type { Sleep } from "./withRetries.js";
