/**
 * Where the application runs. On machines (`vm`) the charm upgrades its own workload when granted; on Kubernetes
 * (`k8s`) the StatefulSet controller restarts pods on the new image and the library moves the rolling-update
 * partition to let one unit through at a time.
 */
export type Substrate = "vm" | "k8s";
