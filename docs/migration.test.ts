import { describe, expect, it } from "vitest";
import type { KafkaWorkload } from "./examples/kafkaPort.ts";
import { createKafkaUpgrade, DEPENDENCIES } from "./examples/kafkaPort.ts";
import { TestApp } from "./examples/testHarness.ts";

/** A Kafka unit's workload: which snap revision it runs. */
class Broker implements KafkaWorkload {
  version = "3.3.1";
  zookeeper: string | null = "3.8.1";
  readonly brokersInSync = async () => true;
  readonly zookeeperVersion = async () => this.zookeeper;
  readonly installSnap = async (version: string) => {
    this.version = version;
  };
  readonly restart = async () => {};
  readonly healthy = async () => true;
}

/**
 * What the Python library (LIBPATCH 19) leaves in the relation after the old revision's `pre-upgrade-check`:
 * `json.dumps` of the old DEPENDENCIES (written at relation-created), the stack its `build_upgrade_stack`
 * returned, and every unit `idle`.
 */
function plannedByPython(stored: string): TestApp<Broker> {
  const app = new TestApp(
    "kafka",
    3,
    (broker, juju) => createKafkaUpgrade(broker, juju).then((upgrade) => upgrade.dispatch()),
    () => new Broker(),
  );
  for (const unit of app.units.values()) unit.queue.length = 0; // the relation exists already
  for (const name of app.units.keys()) app.databags[name] = { state: "idle" };
  app.appData["dependencies"] = stored;
  app.appData["upgrade-stack"] = "[0, 1, 2]";
  app.config["pause-after-unit-upgrade"] = "none";
  return app;
}

const PYTHON_DEPENDENCIES =
  '{"kafka_charm": {"dependencies": {"zookeeper": ">50"}, "name": "kafka", "upgrade_supported": ">0", "version": "99"}, ' +
  '"kafka_service": {"dependencies": {"zookeeper": "^3"}, "name": "kafka", "upgrade_supported": ">=0.8", "version": "3.3.1"}}';

describe("a charm moving from the Python library to charm-upgrade (machines)", () => {
  it("takes over an upgrade the Python library planned, in the planned order, and stores the new DEPENDENCIES", async () => {
    const app = plannedByPython(PYTHON_DEPENDENCIES);
    app.everyUnit("upgrade-charm"); // juju refresh to the first charm-upgrade revision
    await app.settle();

    expect(app.states()).toEqual({ "kafka/0": "idle", "kafka/1": "idle", "kafka/2": "idle" });
    for (const unit of app.units.values()) expect(unit.workload.version).toBe("3.3.2");
    const granted = app.journal.filter((line) => line.endsWith("granted the upgrade"));
    expect(granted).toEqual([
      "kafka/2: INFO kafka/2 granted the upgrade",
      "kafka/1: INFO kafka/1 granted the upgrade",
      "kafka/0: INFO kafka/0 granted the upgrade",
    ]);
    expect(JSON.parse(app.appData["dependencies"] ?? "{}")).toEqual(DEPENDENCIES);
    expect(app.appData["upgrade-stack"]).toBe("[]");
  });

  it("fails the version check with the Python library's message", async () => {
    const app = plannedByPython(
      PYTHON_DEPENDENCIES.replace('">=0.8", "version": "3.3.1"', '">=0.5", "version": "0.7"'),
    );
    app.everyUnit("upgrade-charm");
    await app.settle();

    expect(app.states()["kafka/0"]).toBe("failed");
    expect(app.units.get("kafka/0")?.status).toEqual({
      status: "blocked",
      message: "Versions incompatible, kafka_service 0.7 can not be upgraded to 3.3.2",
    });
    expect(Object.values(app.states()).includes("upgrading")).toBe(false);
  });

  it("fails a unit whose related ZooKeeper is too old, as a DependencyError in the granted handler did", async () => {
    const app = plannedByPython(PYTHON_DEPENDENCIES);
    const top = app.units.get("kafka/2");
    if (top) top.workload.zookeeper = "2.9";
    app.everyUnit("upgrade-charm");
    await app.settle();

    expect(app.states()).toEqual({ "kafka/0": "ready", "kafka/1": "ready", "kafka/2": "failed" });
    expect(top?.status.message).toBe("Upgrade of kafka/2 failed: ZooKeeper 2.9 is too old for Kafka 3.3.2");
  });
});
