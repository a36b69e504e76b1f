/**
 * The guide's machine charm: a PostgreSQL-like workload whose rolling upgrades charm-upgrade coordinates.
 *
 * @module
 */
import { ClusterNotReadyError } from "@charm-upgrade/core";
import type { CharmUpgrade, DispatchResult, GrantOutcome, JujuEnv } from "@charm-upgrade/juju";
import { createUpgrade, HookTools, readHookContext } from "@charm-upgrade/juju";
import { DEPENDENCIES } from "./dependencies.js";
import type { Workload } from "./workload.js";

/** Where the hook tools and the hook's environment come from: the real ones in a charm, fakes in a test. */
export interface JujuPorts {
  readonly tools?: HookTools;
  readonly env?: JujuEnv;
}

// #region helpers
/** The numbers of the other units in the peer relation. */
export async function peerUnitNumbers(tools: HookTools, relationName = "upgrade"): Promise<number[]> {
  const [relationId] = await tools.relationIds(relationName);
  const names = relationId === undefined ? [] : await tools.relationList(relationId);
  return names.map((name) => Number(name.slice(name.lastIndexOf("/") + 1)));
}
// #endregion helpers

// #region create
/** The upgrade coordinator of this charm, created in every hook. */
export async function createVmUpgrade(workload: Workload, juju: JujuPorts = {}): Promise<CharmUpgrade> {
  const tools = juju.tools ?? new HookTools();
  const hook = readHookContext(juju.env ?? process.env);

  return createUpgrade({
    substrate: "vm",
    relationName: "upgrade", // the peer endpoint in metadata.yaml (this is the default)
    dependencies: DEPENDENCIES,
    tools,
    env: juju.env,

    // pre-upgrade-check, on the leader, on the *old* charm code: refuse with a message for the operator.
    async preUpgradeCheck() {
      if (!(await workload.healthy())) {
        throw new ClusterNotReadyError(
          "Cluster is not ready for an upgrade", // the action's failure message
          await workload.problem(), // why (logged)
          "wait for the replicas to catch up, then run pre-upgrade-check again", // what to do (logged)
        );
      }
      await workload.switchover(hook.unitNumber); // the leader becomes the primary: it will upgrade last
    },

    // The order: every unit number, the LAST element upgrading FIRST (the Python library's convention).
    async buildUpgradeStack() {
      const primary = await workload.primary();
      const all = [hook.unitNumber, ...(await peerUnitNumbers(tools))];
      const replicas = all.filter((id) => id !== primary).sort((a, b) => a - b);
      return [primary, ...replicas]; // the highest replica first, the primary last
    },

    // This unit's turn: upgrade the workload (idempotently: it may be asked again), then say how it went.
    async onUpgradeGranted(): Promise<GrantOutcome> {
      try {
        await workload.install(workload.version);
      } catch (error) {
        return { failed: `installing ${workload.version} failed: ${String(error)}` };
      }
      if (!(await workload.healthy())) return { pending: "waiting for the replica to catch up" };
      return "completed";
    },

    // Logged when a unit fails. The default already names the two steps; override it to say more.
    async logRollbackInstructions() {
      await tools.jujuLog(
        "WARNING",
        `Upgrade failed. To roll back: 1. juju run ${hook.appName}/leader pre-upgrade-check ` +
          `2. juju refresh ${hook.appName} --revision <previous revision>. Check the replicas with \`patronictl list\` first.`,
      );
    },

    // While this unit runs a backup, no unit starts upgrading.
    hold: () => (workload.backupRunning() ? "backup in progress" : null),
  });
}
// #endregion create

// #region dispatch
/** One hook or action of the charm: its `dispatch` entry point calls this, then exits. */
export async function handleHook(workload: Workload, juju: JujuPorts = {}): Promise<DispatchResult> {
  const tools = juju.tools ?? new HookTools();
  const upgrade = await createVmUpgrade(workload, { ...juju, tools });
  const result = await upgrade.dispatch(); // in every hook and action: it ignores what is not its business

  // The charm's own work comes after, in every hook (a reconcile). Disruptive steps wait while an upgrade runs:
  // the hook in which the last unit returns to idle runs this code too, so a skipped step is done then.
  if (upgrade.inProgress) {
    await tools.jujuLog("DEBUG", `Not applying config during an upgrade (this unit is ${upgrade.state ?? "new"})`);
  } else {
    await workload.reconfigure();
  }
  if (result.hook.kind === "action" && result.hook.name === "create-backup") {
    if (upgrade.inProgress)
      await tools.actionFail("An upgrade is in progress: run create-backup once it has finished.");
    else await workload.startBackup();
  }
  return result;
}
// #endregion dispatch
