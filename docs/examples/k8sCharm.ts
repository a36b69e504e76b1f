/**
 * The guide's Kubernetes charm: the same workload in a StatefulSet, upgraded pod by pod.
 *
 * @module
 */
import { ClusterNotReadyError } from "@charm-upgrade/core";
import type { CharmUpgrade, GrantOutcome } from "@charm-upgrade/juju";
import { createUpgrade, HookTools, readHookContext } from "@charm-upgrade/juju";
import { awaitsRollout, createPartitionSetter, podObservation, unitRollout } from "@charm-upgrade/k8s";
import { DEPENDENCIES } from "./dependencies.js";
import type { JujuPorts } from "./vmCharm.js";
import type { Workload } from "./workload.js";

// #region create
/** The upgrade coordinator of the Kubernetes charm, created in every hook. */
export async function createK8sUpgrade(workload: Workload, juju: JujuPorts = {}): Promise<CharmUpgrade> {
  const tools = juju.tools ?? new HookTools();
  const hook = readHookContext(juju.env ?? process.env);
  // The StatefulSet is named after the application, in the namespace named after the model. Nothing is loaded or
  // sent until a method is called: `@kubernetes/client-node` is imported on first use.
  const statefulSet = createPartitionSetter({ namespace: hook.modelName, statefulSet: hook.appName });

  return createUpgrade({
    substrate: "k8s", // no buildUpgradeStack: pods upgrade from the highest ordinal down
    dependencies: DEPENDENCIES,
    tools,
    env: juju.env,

    // Asked first in pre-upgrade-check: an untrusted charm is told to run `juju trust` before anything moves.
    checkTrust: () => statefulSet.canPatch(),

    async preUpgradeCheck() {
      if (!(await workload.healthy())) {
        throw new ClusterNotReadyError(
          "Cluster is not ready for an upgrade",
          await workload.problem(),
          "wait, then retry",
        );
      }
      await workload.switchover(0); // unit 0 upgrades last: make it the primary
    },

    // How charm-upgrade moves the rolling-update partition: first to the highest ordinal (pre-upgrade-check),
    // then down one unit at a time, on the leader. Errors are `KubernetesClientError`s; a 403 means `juju trust`.
    // Required on Kubernetes (createUpgrade refuses a charm without it).
    setPartition: (partition) => statefulSet.setPartition(partition),
    // What the API server holds: a pod stopping while no upgrade is planned (`juju refresh` without
    // pre-upgrade-check) raises the partition to its own number, so no other pod restarts before the checks run.
    getPartition: () => statefulSet.getPartition(),
    // …but only when its restart is a rollout's, not an eviction: whether this pod is not on the StatefulSet's update
    // revision (the controller replaces it once the partition lets it).
    awaitsRollout: async () => awaitsRollout(await statefulSet.readRollout(), hook.unitNumber),
    // Where the rollout stands for every pod, asked on the leader by pre-upgrade-check and when a roll may end: a pod
    // can restart before its unit runs any hook, and neither the partition nor the roll's end may leave it behind.
    unitRollout: async () => unitRollout(await statefulSet.readRollout()),

    // Called on the restarted pod, which runs the new charm and the new workload image: check its health.
    async onUpgradeGranted(): Promise<GrantOutcome> {
      if ((await workload.installed()) !== workload.version) return { failed: "the pod is not running the new image" };
      return (await workload.healthy()) ? "completed" : { pending: "waiting for the replica to catch up" };
    },

    // What this unit's pod runs (its controller revision and workload image), read while an upgrade runs: a unit
    // that says it upgraded on a pod the StatefulSet never recreated is named in its status.
    observe: async () => podObservation(await statefulSet.readRollout(), hook.unitNumber, "workload"),

    // The workload's OCI image resource (charmcraft.yaml `resources`): recorded at pre-upgrade-check so that the
    // rollback command brings the old image back (`juju refresh <app> --revision N --resource workload-image=…`).
    workloadResource: "workload-image",
  });
}
// #endregion create
