import type { DispatchResult } from "@charm-upgrade/juju";
import { describe, expect, it } from "vitest";
import { HookMemo } from "./hookMemo.js";
import { JujuModel } from "./jujuModel.js";
import { SimCharm } from "./simCharm.js";

/**
 * HookMemo replays a known hook's effects outside the hook tools too: a partition patch is replayed even when the
 * recorded run left the partition as it found it, since a replay may meet another partition (found by the soak:
 * a completed unit's patch was lost on replay and the roll stalled).
 */
describe("HookMemo", () => {
  it("replays a partition patch that changed nothing when recorded", () => {
    const model = new JujuModel({ app: "app", substrate: "k8s", units: 3, revision: 1, leader: 0 });
    const charm = new SimCharm({ revisions: new Map() });
    const memo = new HookMemo();
    const dispatch = () => {
      model.setPartition(1);
      return null as unknown as DispatchResult;
    };
    model.setPartition(1);
    const first = model.begin(2, { updateStatus: true });
    memo.run(model, charm, first, dispatch);
    model.end(first, "ok");
    expect(memo.stats).toEqual({ hits: 0, misses: 1 });
    // The same hook with the same inputs (the partition is not one: hooks cannot read it), another partition.
    model.setPartition(2);
    const again = model.begin(2, { updateStatus: true });
    memo.run(model, charm, again, () => {
      throw new Error("not replayed");
    });
    model.end(again, "ok");
    expect(memo.stats).toEqual({ hits: 1, misses: 1 });
    expect(model.partition).toBe(1);
  });
});
