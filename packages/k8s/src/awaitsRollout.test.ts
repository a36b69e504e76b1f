import { describe, expect, it } from "vitest";
import { awaitsRollout } from "./awaitsRollout.js";
import type { StatefulSetRollout } from "./statefulSetPartition.js";
import { podRevision as pod, rolloutOf } from "./testing/index.js";

/** Two pods; by default `juju refresh` just ran: db-1 restarted on the new revision, db-0 not yet. */
const rollout = (overrides: Partial<StatefulSetRollout> = {}): StatefulSetRollout =>
  rolloutOf([pod(0, "db-old"), pod(1, "db-new")], overrides);

describe("awaitsRollout (issue 12.1: an eviction is not a rollout)", () => {
  it("a pod not on the update revision while the rollout is under way awaits it: its restart is the rollout's", () => {
    expect(awaitsRollout(rollout(), 0)).toBe(true);
  });

  it("a pod already on the update revision, before the controller completed the rollout, awaits nothing", () => {
    expect(awaitsRollout(rollout(), 1)).toBe(false);
  });

  it("with no rollout under way (current = update revision) no pod awaits one", () => {
    const settled = rollout({ currentRevision: "db-new", pods: [pod(0, "db-new"), pod(1, "db-new")] });
    expect(awaitsRollout(settled, 0)).toBe(false);
    expect(awaitsRollout(settled, 1)).toBe(false);
  });

  it("after a refresh back to the template the rollout started from, the pods that restarted away from it await it", () => {
    const back = rollout({ currentRevision: "db-old", updateRevision: "db-old" });
    expect(awaitsRollout(back, 1)).toBe(true);
    expect(awaitsRollout(back, 0)).toBe(false);
  });

  it("unknown while the controller lags, without revisions, or for an unlabelled or missing pod", () => {
    expect(awaitsRollout(rollout({ observed: false }), 0)).toBeNull();
    expect(awaitsRollout(rollout({ updateRevision: null }), 0)).toBeNull();
    expect(awaitsRollout(rollout({ pods: [pod(0, null)] }), 0)).toBeNull();
    expect(awaitsRollout(rollout(), 7)).toBeNull();
  });
});
