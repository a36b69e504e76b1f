import { describe, expect, it } from "vitest";
import type { StatefulSetRollout } from "./statefulSetPartition.js";
import { podRevision as pod, rolloutOf } from "./testing/index.js";
import { unitRollout } from "./unitRollout.js";

/** Two pods; by default `juju refresh` just ran: db-1 restarted on the new revision, db-0 not yet. */
const rollout = (overrides: Partial<StatefulSetRollout> = {}): StatefulSetRollout =>
  rolloutOf([pod(0, "db-old"), pod(1, "db-new")], overrides);

describe("unitRollout (issue 15: a pod restarted before its unit ran a hook)", () => {
  it("a rollout under way: the pods on the update revision restarted, the others the rollout still restarts", () => {
    expect(unitRollout(rollout())).toEqual({ restarted: [1], pending: [0] });
  });

  it("a partition holds the pods below it: they are not pending", () => {
    expect(unitRollout(rollout({ partition: 1 }))).toEqual({ restarted: [1], pending: [] });
  });

  it("at rest (current = update revision, every pod on it): nothing", () => {
    const settled = rollout({ currentRevision: "db-new", pods: [pod(0, "db-new"), pod(1, "db-new")] });
    expect(unitRollout(settled)).toEqual({ restarted: [], pending: [] });
  });

  it("a refresh back to the template the rollout started from: the pods on the left revision, restarted and pending", () => {
    const back = rollout({ currentRevision: "db-old", updateRevision: "db-old" });
    expect(unitRollout(back)).toEqual({ restarted: [1], pending: [1] });
  });

  it("sorted, whatever order the API server lists the pods in", () => {
    const all = rollout({ pods: [pod(2, "db-new"), pod(0, "db-new"), pod(1, "db-old")] });
    expect(unitRollout(all)).toEqual({ restarted: [0, 2], pending: [1] });
  });

  it("unknown while the controller lags, without revisions, or with an unlabelled pod", () => {
    expect(unitRollout(rollout({ observed: false }))).toBeNull();
    expect(unitRollout(rollout({ currentRevision: null }))).toBeNull();
    expect(unitRollout(rollout({ updateRevision: null }))).toBeNull();
    expect(unitRollout(rollout({ pods: [pod(0, null)] }))).toBeNull();
  });
});
