import { describe, expect, it } from "vitest";
import type { Dependencies } from "./dependencyModel.js";
import { parseDependencies } from "./dependencyModel.js";
import type { Effect } from "./effects.js";
import type { PeerDatabags } from "./peerView.js";
import { encodeDependencies, readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { Substrate } from "./substrate.js";

/**
 * A rollback by `juju refresh` back (issue 15), on the units the leader's first rollback stack cannot know about:
 * a unit that joined mid-roll on the new revision, one the leader had not met, a pod restarting onto the new
 * revision when the refresh back came. Each found by `pnpm soak`; the whole runs are in verify's regressions.test.ts.
 */

const FROM = "ch:amd64/jammy/db-381";
const TO = "ch:amd64/jammy/db-382";
const workload = (version: string) => ({ dependencies: {}, name: "workload", upgrade_supported: ">=1", version });
const OLD: Dependencies = parseDependencies({ workload: workload("1.0.0") });
const stored = encodeDependencies(OLD);

function bags(
  units: Record<number, Record<string, string>>,
  app: Record<string, string>,
  leader = false,
): PeerDatabags {
  return { leader, units: Object.fromEntries(Object.entries(units).map(([id, bag]) => [`db/${id}`, bag])), app };
}

function at(unit: number, raw: PeerDatabags, charm: string, substrate: Substrate = "vm") {
  return createUpgradeState({ app: "db", unit, substrate, dependencies: OLD, view: readPeerView(raw), charm });
}

const stackWrites = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === "writeAppData" && "upgrade-stack" in e.data ? [e.data["upgrade-stack"]] : []));

describe("refresh back", () => {
  const forward = { dependencies: stored, "upgrade-stack": "[0, 1]", "upgrade-from-charm": FROM };

  it("machines: a unit that joined on the new charm and receives the old one becomes ready (its workload is new)", () => {
    const raw = bags(
      {
        0: { state: "ready", "upgrade-running-charm": TO },
        1: { state: "completed", "upgrade-running-charm": TO },
        2: { state: "idle", "upgrade-running-charm": TO },
      },
      forward,
    );
    const joined = reduce(at(2, raw, FROM), { type: "upgradeCharm", view: readPeerView(raw) });
    expect(joined.state.value).toBe("ready");
    // one that ran the old charm all along never upgraded: idle, nothing to roll back
    const stayed = bags({ ...raw.units, 2: { state: "idle", "upgrade-running-charm": FROM } } as never, forward);
    const untouched = reduce(at(2, stayed, FROM), { type: "upgradeCharm", view: readPeerView(stayed) });
    expect(untouched.state.value).toBe("idle");
  });

  it("machines: the leader puts a unit ready on the old charm back on the rollback's stack, even an empty one", () => {
    const rollback = { dependencies: stored, "upgrade-from-charm": FROM, "upgrade-rollback": "true" };
    const units = {
      0: { state: "ready", "upgrade-running-charm": FROM },
      1: { state: "idle", "upgrade-running-charm": FROM },
      2: { state: "ready", "upgrade-running-charm": FROM },
    };
    for (const stack of ["[]", "[0]"]) {
      const raw = bags(units, { ...rollback, "upgrade-stack": stack }, true);
      const leader = reduce(at(1, raw, FROM), { type: "tick", view: readPeerView(raw) });
      // before: the rollback never granted it, and never ended (soak seeds 1629, 2830)
      expect(stackWrites(leader.effects)).toEqual(["[2, 0]"]);
    }
  });

  it("Kubernetes: the leader puts a unit that reports the new charm back on the rollback's stack", () => {
    const raw = bags(
      {
        0: { state: "completed", "upgrade-running-charm": TO },
        1: { state: "upgrading", "upgrade-running-charm": FROM },
        2: { state: "completed", "upgrade-running-charm": FROM },
      },
      { dependencies: stored, "upgrade-from-charm": FROM, "upgrade-rollback": "true", "upgrade-stack": "[1]" },
      true,
    );
    const leader = reduce(at(2, raw, FROM, "k8s"), { type: "tick", view: readPeerView(raw) });
    // before: app/0 stayed off it, restarted by the controller unseen by the stack (soak seed 651)
    expect(stackWrites(leader.effects)).toEqual(["[0, 1]"]);
  });
});
