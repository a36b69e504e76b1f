/**
 * The migration guide's example: the Python library's documented Kafka charm, ported to charm-upgrade.
 *
 * @module
 */
import { ClusterNotReadyError, DependencyError, satisfies } from "@charm-upgrade/core";
import type { CharmUpgrade, GrantOutcome } from "@charm-upgrade/juju";
import { createUpgrade, HookTools, readHookContext } from "@charm-upgrade/juju";
import { peerUnitNumbers } from "./vmCharm.js";
import type { JujuPorts } from "./vmCharm.js";

/** What the Kafka example needs from its workload and from the related ZooKeeper. */
export interface KafkaWorkload {
  readonly brokersInSync: () => Promise<boolean>;
  readonly zookeeperVersion: () => Promise<string | null>;
  readonly installSnap: (revision: string) => Promise<void>;
  readonly restart: () => Promise<void>;
  readonly healthy: () => Promise<boolean>;
}

// #region dependencies
/** `KafkaDependencyModel`'s fields become the keys: keep them, or the version check has nothing to compare. */
export const DEPENDENCIES = {
  kafka_charm: {
    dependencies: { zookeeper: ">50" },
    name: "kafka",
    upgrade_supported: ">0",
    version: "100",
  },
  kafka_service: {
    dependencies: { zookeeper: "^3" },
    name: "kafka",
    upgrade_supported: ">=0.8",
    version: "3.3.2",
  },
};
// #endregion dependencies

// #region upgrade
export async function createKafkaUpgrade(kafka: KafkaWorkload, juju: JujuPorts = {}): Promise<CharmUpgrade> {
  const tools = juju.tools ?? new HookTools();
  const hook = readHookContext(juju.env ?? process.env);

  return createUpgrade({
    substrate: "vm", // DataUpgrade(..., substrate="vm")
    relationName: "upgrade", // DataUpgrade(..., relation_name="upgrade")
    dependencies: DEPENDENCIES, // DataUpgrade(..., dependency_model=KafkaDependencyModel(**DEPENDENCIES))
    tools,
    env: juju.env,

    // def pre_upgrade_check(self): raise ClusterNotReadyError(message, cause, resolution)
    async preUpgradeCheck() {
      if (!(await kafka.brokersInSync())) {
        throw new ClusterNotReadyError(
          "Not all brokers are in sync",
          "under-replicated partitions",
          "wait, then retry",
        );
      }
    },

    // def build_upgrade_stack(self) -> list[int]: the last element upgrades first
    async buildUpgradeStack() {
      return [hook.unitNumber, ...(await peerUnitNumbers(tools))];
    },

    // def _on_upgrade_granted(self, event): ... self.set_unit_completed() / self.set_unit_failed()
    // (and no more `if self.charm.unit.is_leader(): self.on_upgrade_changed(event)`)
    async onUpgradeGranted(): Promise<GrantOutcome> {
      const zookeeper = await kafka.zookeeperVersion();
      if (zookeeper && !satisfies(zookeeper, DEPENDENCIES.kafka_service.dependencies.zookeeper)) {
        // a thrown error fails this unit with its message, as a DependencyError did
        throw new DependencyError(`ZooKeeper ${zookeeper} is too old for Kafka ${DEPENDENCIES.kafka_service.version}`);
      }
      await kafka.installSnap(DEPENDENCIES.kafka_service.version);
      await kafka.restart();
      return (await kafka.healthy()) ? "completed" : { failed: "Kafka did not come back healthy" };
    },

    // def log_rollback_instructions(self): optional now, the default names the same two steps
    async logRollbackInstructions() {
      await tools.jujuLog(
        "WARNING",
        "1. Re-run pre-upgrade-check on the leader 2. juju refresh to the previous revision",
      );
    },

    // new: where the roll waits for resume-upgrade is the config option pause-after-unit-upgrade, which the
    // library reads itself (the Python library never paused on machines)
  });
}
// #endregion upgrade
