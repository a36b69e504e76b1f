import { upgradeMachine } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import { rehearseUpgrade } from "./rehearseUpgrade.js";
import type { SimInspectionEvent } from "./simInspection.js";

/** The state values of each unit's snapshots, consecutive repeats dropped. */
function valuesByUnit(events: readonly SimInspectionEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const event of events) {
    if (event.type !== "@xstate.snapshot") continue;
    const values = out.get(event.actorRef.id) ?? [];
    const value = String(event.snapshot.value);
    if (values.at(-1) !== value) values.push(value);
    out.set(event.actorRef.id, values);
  }
  return out;
}

describe("inspect: the simulation as xstate inspection events", () => {
  it("one actor per unit, named after it, running the upgrade machine; every reduced event and snapshot follows", async () => {
    const events: SimInspectionEvent[] = [];
    const report = await rehearseUpgrade({
      units: 3,
      substrate: "vm",
      seed: 1,
      inspect: (event) => events.push(event),
    });
    expect(report.outcome).toBe("upgraded");

    const actors = events.filter((e) => e.type === "@xstate.actor");
    expect(actors.map((e) => e.actorRef.id).sort()).toEqual(["db/0", "db/1", "db/2"]);
    for (const actor of actors) {
      expect(actor.actorRef.logic).toBe(upgradeMachine());
      expect(actor.actorRef.sessionId).not.toBe(actor.actorRef.id);
      expect(actor.rootId).toBe(actor.actorRef.sessionId);
    }
    // the same actor ref for the whole simulation, across hooks (each hook is a new process in Juju)
    for (const event of events)
      expect(actors.find((a) => a.actorRef.id === event.actorRef.id)?.actorRef).toBe(event.actorRef);

    // every event is followed by the snapshot it led to, in xstate's order: event, then snapshot
    events.forEach((event, i) => {
      if (event.type !== "@xstate.event") return;
      const next = events[i + 1];
      expect(next?.type).toBe("@xstate.snapshot");
      if (next?.type === "@xstate.snapshot") expect(next.event).toBe(event.event);
    });
    const types = new Set(events.flatMap((e) => (e.type === "@xstate.event" ? [e.event.type] : [])));
    for (const type of ["xstate.init", "relationCreated", "upgradeCharm", "preUpgradeCheck", "upgradeCompleted"])
      expect(types).toContain(type);

    // One snapshot per macrostep, as xstate reports it: eventless transitions are taken within the step. So db/0,
    // the last to upgrade, returns to idle in the step that completed it (the upgrade is over), while the others
    // show `completed` until they see the upgrade end. (Whether db/2, first in line, shows `ready` depends on
    // whether it was the last to notice the new charm: Juju's agents notice a refresh in their own time.)
    const values = Object.fromEntries(valuesByUnit(events));
    expect(values["db/0"]).toEqual(["unset", "idle", "ready", "upgrading", "idle"]);
    for (const unit of ["db/1", "db/2"])
      expect(
        (values[unit] ?? []).filter((v) => v !== "ready"),
        unit,
      ).toEqual(["unset", "idle", "upgrading", "completed", "idle"]);
    // the last snapshot of each actor is what getSnapshot() answers
    for (const actor of actors) expect(actor.actorRef.getSnapshot().value).toBe("idle");
  });

  it("an observer object (xstate's Observer) works too, and a throwing observer changes nothing", async () => {
    const plain = await rehearseUpgrade({ units: 2, substrate: "k8s", seed: 4 });
    let seen = 0;
    const observed = await rehearseUpgrade({
      units: 2,
      substrate: "k8s",
      seed: 4,
      inspect: {
        next: () => {
          seen++;
          throw new Error("observer bug");
        },
      },
    });
    expect(seen).toBeGreaterThan(10);
    expect(observed).toEqual(plain);
  });

  it("a hook that crashed is rolled back by Juju: the next hook's restored state shows as an xstate.init snapshot", async () => {
    const events: SimInspectionEvent[] = [];
    const report = await rehearseUpgrade({
      units: 3,
      substrate: "vm",
      seed: 6,
      faults: { crash: 0.4 },
      inspect: (event) => events.push(event),
    });
    expect(report.faults.some((fault) => /crashed/.test(fault))).toBe(true);
    const restores = events.filter(
      (e, i) =>
        e.type === "@xstate.snapshot" && e.event.type === "xstate.init" && events[i - 1]?.type !== "@xstate.event",
    );
    expect(restores.length).toBeGreaterThan(0);
    // whatever crashed, each unit's actor ends where the unit ends
    for (const unit of report.units) {
      const last = events.filter((e) => e.type === "@xstate.snapshot" && e.actorRef.id === unit.name).at(-1);
      expect(last?.type === "@xstate.snapshot" ? last.snapshot.value : null).toBe(unit.state);
    }
  });
});
