import { enqueueActions, log } from "xstate";
import { describe, expect, it, vi } from "vitest";
import { readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import { OLD } from "./testing/index.js";

/**
 * `reduce` against a machine whose `becomeIdle` also queues an action that is no effect (`notAnEffect`), or one of
 * xstate's own (`log`), chosen by the unit's number. A module mock, because `reduce` always runs the core's machine.
 */
vi.mock("./upgradeMachine.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("./upgradeMachine.js")>();
  const becomeIdle = original.upgradeMachine().implementations.actions.becomeIdle;
  const provided = original.upgradeMachine().provide({
    actions: {
      becomeIdle: enqueueActions(({ context, enqueue }) => {
        enqueue(becomeIdle as never);
        if (context.unit === 1) enqueue("notAnEffect" as never);
        if (context.unit === 2) enqueue(log("an xstate built-in") as never);
      }),
    },
  });
  return { ...original, upgradeMachine: () => provided };
});

const raw = { leader: false, units: { "db/0": {}, "db/1": {}, "db/2": {} }, app: {} };
const at = (unit: number) =>
  createUpgradeState({ app: "db", unit, substrate: "vm", dependencies: OLD.dependencies, view: readPeerView(raw) });

describe("an action the machine emits that is neither an effect nor xstate's own", () => {
  it("is reported, and the whole step is rejected: the unit keeps its state, nothing else is carried out", () => {
    const state = at(1);
    const result = reduce(state, { type: "relationCreated", view: readPeerView(raw) });
    expect(result.state).toBe(state);
    expect(result.effects).toHaveLength(1);
    expect(result.effects[0]).toMatchObject({
      type: "reportProblem",
      unit: null,
      error: {
        kind: "UpgradeError",
        message:
          'Could not apply event "relationCreated": the upgrade machine emitted action "notAnEffect", which is neither an effect nor an xstate built-in',
        cause: expect.stringMatching(/bug in charm-upgrade/),
      },
    });
  });

  it("xstate's own actions are not effects and not reported", () => {
    const result = reduce(at(2), { type: "relationCreated", view: readPeerView(raw) });
    expect(result.state.value).toBe("idle");
    expect(result.effects.map((e) => e.type)).toEqual(["writeUnitData", "setUnitStatus"]);
  });

  it("the unchanged machine emits only effects", () => {
    const result = reduce(at(0), { type: "relationCreated", view: readPeerView(raw) });
    expect(result.effects.map((e) => e.type)).toEqual(["writeUnitData", "setUnitStatus"]);
  });
});
