/**
 * `@charm-upgrade/k8s` — carries out the core's Kubernetes effects: moves a StatefulSet's rolling-update partition.
 *
 * Importing this package loads nothing heavy: `@kubernetes/client-node` is imported on the first request only, so
 * machine charms (and every hook that does not touch Kubernetes) never pay for it. Test helpers (a real, in-process
 * fake API server) are in `@charm-upgrade/k8s/testing`.
 *
 * @packageDocumentation
 */
export type { LogLevel, PartitionSetter, PartitionSetterOptions, PatchPermission } from "./statefulSetPartition.js";
export { createPartitionSetter } from "./statefulSetPartition.js";
export type { Sleep } from "./withRetries.js";
