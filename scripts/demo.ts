/**
 * The main job until the simulator exists: replay a scripted 3-unit machine upgrade through the pure reducer and
 * print each unit's transitions as they are committed.
 */
import { ClusterModel, NEW, OLD } from "@charm-upgrade/core/testing";

const units = Number(process.argv[2] ?? 3);
const cluster = new ClusterModel({ units, substrate: "vm", revision: OLD, leader: 0 });
const last = new Map<number, string>();
let printed = 0;
function report(): void {
  for (const entry of cluster.trace.slice(printed)) {
    if (entry.kind === "commit" && entry.unitData.state && last.get(entry.unit) !== entry.unitData.state) {
      console.log(`  app/${entry.unit}: ${last.get(entry.unit) ?? "(none)"} -> ${entry.unitData.state}`);
      last.set(entry.unit, entry.unitData.state);
    }
    if (entry.kind === "commit" && entry.appData["upgrade-stack"]) console.log(`  upgrade-stack = ${entry.appData["upgrade-stack"]}`);
    if (entry.kind === "grant") console.log(`  app/${entry.unit} granted the upgrade`);
    if (entry.kind === "action") console.log(`  action ${entry.action} on app/${entry.unit}: ${entry.ok ? "ok" : "failed"} ${entry.message}`);
  }
  printed = cluster.trace.length;
}
console.log(`Deploying ${units} units of revision ${OLD.name}`);
cluster.settle();
report();
console.log("Operator: juju run app/leader pre-upgrade-check");
cluster.runAction(cluster.leader, "preUpgradeCheck");
cluster.settle();
report();
console.log(`Operator: juju refresh app (revision ${NEW.name})`);
cluster.refresh(NEW);
const hooks = cluster.settle();
report();
const states = [...cluster.states()].map(([id, state]) => `app/${id}=${state}`).join(" ");
console.log(`Done after ${hooks} hooks: ${states}`);
const ok = [...cluster.states().values()].every((s) => s === "idle");
process.exitCode = ok ? 0 : 1;
