import { upgradeMachine } from "@charm-upgrade/core";
import type { SimInspectionEvent, UnitSnapshot } from "@charm-upgrade/sim";
import { rehearseUpgrade } from "@charm-upgrade/sim";
import { describe, expect, it } from "vitest";
import type { AnyEventObject, InspectionEvent } from "xstate";
import { createActor } from "xstate";

/**
 * The simulator builds its inspection events from the reducer's steps (the sim cannot run xstate actors: each hook
 * is a new process, and the sim package does not depend on xstate). These tests check them against the real thing:
 * a live xstate actor of the machine, restored where the unit was and sent the same event.
 */
describe("the simulator's inspection events are those of a live xstate actor", () => {
  it.each([
    ["vm", 1, undefined],
    ["k8s", 2, undefined],
    ["vm", 3, 1],
  ] as const)(
    "%s, seed %i, failing unit %s: each event leads to the snapshot a live actor reaches",
    async (substrate, seed, failUnit) => {
      const events: SimInspectionEvent[] = [];
      await rehearseUpgrade({ units: 3, substrate, seed, failUnit, inspect: (event) => events.push(event) });
      const last = new Map<string, UnitSnapshot>();
      let checked = 0;
      events.forEach((event, i) => {
        const unit = event.actorRef.id;
        if (event.type === "@xstate.snapshot") last.set(unit, event.snapshot);
        if (event.type !== "@xstate.event" || event.event.type === "xstate.init") return;
        const before = last.get(unit);
        const after = events[i + 1];
        if (!before || after?.type !== "@xstate.snapshot")
          throw new Error(`event ${i} of ${unit} has no snapshot before or after it`);

        const seen: InspectionEvent[] = [];
        const { app, unit: id, substrate: where, dependencies, view } = before.context;
        const actor = createActor(upgradeMachine(), {
          id: unit,
          // the input is not used when a snapshot is given: the actor resumes from it
          input: { app, unit: id, substrate: where, dependencies, view },
          snapshot: upgradeMachine().resolveState({ value: before.value, context: before.context }),
          inspect: (inspection) => {
            seen.push(inspection);
          },
        });
        actor.start();
        actor.send(event.event as Parameters<typeof actor.send>[0]);
        const live = actor.getSnapshot();
        const reported = [...seen];
        actor.stop();
        expect(after.snapshot.value).toBe(live.value);
        expect(after.snapshot.context).toEqual(live.context);
        // and the live actor reported that event, then that snapshot, as the simulator did
        const sent = reported.filter(
          (s): s is InspectionEvent & { event: AnyEventObject } =>
            s.type === "@xstate.event" && s.event.type !== "xstate.init",
        );
        expect(sent.map((s) => s.event)).toEqual([event.event]);
        const snapshot = reported.at(-1);
        expect(snapshot?.type).toBe("@xstate.snapshot");
        expect(snapshot?.type === "@xstate.snapshot" ? [snapshot.event, snapshot.snapshot] : null).toEqual([
          event.event,
          live,
        ]);
        checked++;
      });
      expect(checked).toBeGreaterThan(30);
    },
  );
});
