import type { Substrate } from "@charm-upgrade/core";
import { ClusterNotReadyError } from "@charm-upgrade/core";
import type { DispatchResult, GrantOutcome, HookToolRunner, JujuEnv } from "@charm-upgrade/juju";
import type { PartitionSetter } from "@charm-upgrade/k8s";
import { createUpgrade, HookTools, readHookContext } from "@charm-upgrade/juju";
import { readDependencies, workloadVersion } from "./readDependencies.js";
import { Workload } from "./workload.js";

/** The peer relation's endpoint name, as in `metadata.yaml`. */
export const RELATION_NAME = "upgrade";

/** Options of {@link runCharm}: everything a hook reads from outside, so a test can pass its own. */
export interface RunCharmOptions {
  /**
   * What the charm runs on: `k8s` for the Kubernetes charm (it declares a workload container), `vm` for the machine
   * charm. The build compiles it in from each charm's `charmcraft.yaml`.
   */
  readonly substrate: Substrate;
  /** The hook's environment (Juju's variables, plus `CHARM_WORKLOAD_DIR`). */
  readonly env: JujuEnv;
  /** The hook tools or a runner for them; default: the real ones on `PATH`. */
  readonly tools?: HookTools | HookToolRunner | undefined;
}

/**
 * The Kubernetes adapter, imported on first use only: a machine charm never loads it (nor, through it, the
 * Kubernetes client), and on Kubernetes only the hooks that move the partition or run the check pay for it.
 */
async function partitionSetter(namespace: string, statefulSet: string): Promise<PartitionSetter> {
  const { createPartitionSetter } = await import("@charm-upgrade/k8s");
  return createPartitionSetter({
    namespace,
    statefulSet,
    // Retries are worth a line in the unit log; stderr of a hook ends up there, and needs no hook tool.
    log: (level, message) => process.stderr.write(`${level.toUpperCase()}: ${message}\n`),
  });
}

/**
 * Handle one hook or action of the upgrade-demo charm: the charm's own `install` handling, then the library's
 * `dispatch()` for every hook (it maps the hooks it does not know onto a `tick`, so any hook moves the upgrade on).
 *
 * - `install`: installs the workload version of this revision (`workload-version` in the workload directory) and
 *   reports it with `application-version-set`;
 * - `pre-upgrade-check` refuses with a `ClusterNotReadyError` while `fail-precheck` exists in the workload
 *   directory; on machines the upgrade stack is this unit (the leader, which runs the action) at the bottom and the
 *   other units highest number first;
 * - a granted upgrade installs the new version and reports it, or fails while `fail-upgrade` exists.
 *
 * @throws `HookToolError`, `HookContextError`, `DependencyError`: the hook fails and Juju retries it.
 * @example
 * ```ts
 * await runCharm({ substrate: "vm", env: process.env });
 * ```
 */
export async function runCharm(options: RunCharmOptions): Promise<DispatchResult> {
  const { env, substrate } = options;
  const hook = readHookContext(env);
  const dependencies = readDependencies(hook.charmDir);
  const version = workloadVersion(dependencies);
  const workload = Workload.locate(env, hook.charmDir);
  const tools = options.tools instanceof HookTools ? options.tools : new HookTools(options.tools);
  let partitions: Promise<PartitionSetter> | undefined;
  const kubernetes = () => (partitions ??= partitionSetter(hook.modelName, hook.appName));

  if (hook.kind === "hook" && hook.name === "install") {
    workload.install(version);
    await tools.applicationVersionSet(version);
  }

  const common = {
    relationName: RELATION_NAME,
    dependencies,
    tools,
    env,
    // The pause policy is the config option `pause-after-unit-upgrade`: the library reads it where it may have
    // changed (config-changed, upgrade-charm, actions) and remembers it in between.
    // What this unit's workload really runs, for the statuses during an upgrade.
    workloadVersion: () => workload.installedVersion(),
    async preUpgradeCheck(): Promise<void> {
      if (workload.has("fail-precheck")) {
        throw new ClusterNotReadyError(
          `Workload is not ready for an upgrade: ${workload.path("fail-precheck")} exists`,
          "the demo refuses the pre-upgrade check while its fail-precheck marker exists",
          `remove ${workload.path("fail-precheck")} on ${hook.unitName}, then run pre-upgrade-check again`,
        );
      }
    },
    async onUpgradeGranted(): Promise<GrantOutcome> {
      if (workload.has("fail-upgrade")) {
        return { failed: `Upgrade of ${hook.unitName} to ${version} failed: ${workload.path("fail-upgrade")} exists` };
      }
      workload.install(version);
      await tools.applicationVersionSet(version);
      return "completed";
    },
  };

  const upgrade =
    substrate === "k8s"
      ? createUpgrade({
          ...common,
          substrate,
          async setPartition(partition: number): Promise<void> {
            await (await kubernetes()).setPartition(partition);
          },
          // A pod stopping with no upgrade planned raises the partition to itself (juju refresh without the check).
          async getPartition(): Promise<number> {
            return (await kubernetes()).getPartition();
          },
          // … but only when its restart is a rollout's, not an eviction (its pod already on the new revision, or none).
          async awaitsRollout(): Promise<boolean | null> {
            const { awaitsRollout } = await import("@charm-upgrade/k8s");
            return awaitsRollout(await (await kubernetes()).readRollout(), hook.unitNumber);
          },
          // Pods that restarted before their units ran a hook: the leader neither ends a roll over them nor lets
          // pre-upgrade-check set the partition above them (asked at the check and while a roll may end).
          async unitRollout() {
            const { unitRollout } = await import("@charm-upgrade/k8s");
            return unitRollout(await (await kubernetes()).readRollout());
          },
          // Asked first by pre-upgrade-check: an untrusted charm is told to run `juju trust` before anything moves.
          async checkTrust() {
            return (await kubernetes()).canPatch();
          },
        })
      : createUpgrade({
          ...common,
          substrate,
          async buildUpgradeStack(): Promise<readonly number[]> {
            const [relationId] = await tools.relationIds(RELATION_NAME);
            const others = relationId === undefined ? [] : await tools.relationList(relationId);
            const ids = others.map((name) => Number(name.slice(name.lastIndexOf("/") + 1))).sort((a, b) => a - b);
            // The last element upgrades first: the other units highest number first, this unit (the leader) last.
            return [hook.unitNumber, ...ids];
          },
        });
  return upgrade.dispatch();
}
