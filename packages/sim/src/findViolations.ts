import type { SimEvent } from "./simulator.js";

/**
 * Replay a simulation's events and list every breach of the protocol's safety invariants, in words:
 *
 * - at most one unit is `upgrading` at any time, and no unit is granted while another one's upgrade is open;
 * - the committed upgrade stack never lists a unit twice, and a unit leaves it only when it completed (or finished
 *   the whole upgrade in the same hook) or left the application — or, on Kubernetes, when the leader plans a
 *   rollback (enters recovery) and the unit's pod never moved to the new revision, so it has nothing to roll back;
 * - Kubernetes: no pod below the StatefulSet's partition was restarted (or created) on the revision being rolled
 *   out since the last refresh.
 *
 * An empty list means every invariant held.
 *
 * @example
 * ```ts
 * const sim = new Simulator({ units: 3 });
 * // ... drive it ...
 * expect(findViolations(sim.events, sim.app, sim.substrate)).toEqual([]);
 * ```
 */
export function findViolations(events: readonly SimEvent[], app: string, substrate: "vm" | "k8s" = "vm"): string[] {
  const violations: string[] = [];
  const states = new Map<string, string | null>();
  const present = new Set<string>();
  /** Pods restarted or created on the target revision since the last refresh. */
  const rolled = new Set<string>();
  let target: number | null = null;
  let partition: number | null = null;
  let stack: number[] = [];

  const checkPartition = () => {
    if (partition === null || target === null) return;
    for (const unit of rolled) {
      const ordinal = Number(unit.slice(unit.lastIndexOf("/") + 1));
      if (ordinal < partition) violations.push(`${unit} runs revision ${target} below the partition ${partition}`);
    }
  };

  for (const event of events) {
    switch (event.type) {
      case "unitAdded":
        present.add(event.unit);
        if (event.revision === target) rolled.add(event.unit);
        break;
      case "unitRemoved":
        present.delete(event.unit);
        states.delete(event.unit);
        rolled.delete(event.unit);
        break;
      case "operator": {
        const refresh = /^juju refresh \S+ --revision (\d+)$/.exec(event.message);
        if (refresh) {
          target = Number(refresh[1]);
          rolled.clear();
        }
        break;
      }
      case "restart":
        if (event.revision === target) rolled.add(event.unit);
        checkPartition();
        break;
      case "partition":
        partition = event.partition;
        checkPartition();
        break;
      case "state": {
        states.set(event.unit, event.to);
        const upgrading = [...states].filter(([, state]) => state === "upgrading").map(([unit]) => unit);
        if (upgrading.length > 1)
          violations.push(`${upgrading.join(", ")} are upgrading at the same time (hook ${event.seq})`);
        break;
      }
      case "grant": {
        const { grant } = event;
        if (grant.upgradingOthers.length)
          violations.push(
            `${grant.unit} was granted while ${grant.upgradingOthers.join(", ")} upgraded (hook ${grant.seq})`,
          );
        if (grant.openGrants.length)
          violations.push(
            `${grant.unit} was granted before ${grant.openGrants.join(", ")} finished (hook ${grant.seq})`,
          );
        // A hold stops new grants on machines (on Kubernetes it stops the partition moving; not checked here).
        if (substrate === "vm" && !grant.again && grant.held.length)
          violations.push(
            `${grant.unit} was granted while ${grant.held.join(", ")} held the upgrade (hook ${grant.seq})`,
          );
        break;
      }
      case "databag": {
        const { change } = event;
        const raw = change.databag === app ? change.data["upgrade-stack"] : undefined;
        if (raw === undefined) break;
        let next: number[];
        try {
          next = JSON.parse(raw) as number[];
        } catch {
          violations.push(`hook ${change.seq} wrote an upgrade-stack that is not JSON: ${raw}`);
          break;
        }
        if (new Set(next).size !== next.length)
          violations.push(`hook ${change.seq} wrote a stack listing a unit twice: ${raw}`);
        for (const id of stack) {
          if (next.includes(id)) continue;
          const name = `${app}/${id}`;
          const state = states.get(name);
          const replanned = substrate === "k8s" && states.get(change.writer) === "recovery" && !rolled.has(name);
          const done =
            state === "completed" || (change.writer === name && state === "idle") || !present.has(name) || replanned;
          if (!done)
            violations.push(
              `${name} (${state ?? "no state"}) left the stack ${JSON.stringify(stack)} -> ${raw} without completing (hook ${change.seq})`,
            );
        }
        stack = next;
        break;
      }
      default:
        break;
    }
  }
  return violations;
}
