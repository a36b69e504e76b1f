import { describe, expect, it } from "vitest";
import { podObservation } from "./podObservation.js";
import type { StatefulSetRollout } from "./statefulSetPartition.js";
import { podRevision as pod, rolloutOf } from "./testing/index.js";

const rollout = (overrides: Partial<StatefulSetRollout> = {}): StatefulSetRollout =>
  rolloutOf(
    [
      pod(0, "db-old", { charm: "jujusolutions/charm-base:ubuntu-22.04", db: "registry.example/db@sha256:1111" }),
      pod(1, "db-new", { charm: "jujusolutions/charm-base:ubuntu-22.04", db: "registry.example/db@sha256:2222" }),
      pod(2, null),
    ],
    { partition: 1, ...overrides },
  );

describe("podObservation", () => {
  it("a pod on the update revision runs the latest definition, with its revision and workload image", () => {
    expect(podObservation(rollout(), 1)).toEqual({
      latest: true,
      revision: "db-new",
      image: "registry.example/db@sha256:2222",
    });
    expect(podObservation(rollout(), 0)).toEqual({
      latest: false,
      revision: "db-old",
      image: "registry.example/db@sha256:1111",
    });
  });

  it("after a refresh back the old template is the latest again: its pods are up to date", () => {
    expect(podObservation(rollout({ updateRevision: "db-old", currentRevision: "db-new" }), 0).latest).toBe(true);
  });

  it("says nothing of latest while the controller lags, without an update revision, or for an unlabelled or missing pod", () => {
    expect(podObservation(rollout({ observed: false }), 1).latest).toBeNull();
    expect(podObservation(rollout({ updateRevision: null }), 1).latest).toBeNull();
    expect(podObservation(rollout(), 2)).toEqual({ latest: null, revision: null, image: null });
    expect(podObservation(rollout(), 7)).toEqual({ latest: null, revision: null, image: null });
  });

  it("the workload container is the named one, else the only one beside Juju's charm container", () => {
    const two = rollout({ pods: [pod(0, "db-new", { charm: "c", db: "i-db", exporter: "i-exp" })] });
    expect(podObservation(two, 0).image).toBeNull();
    expect(podObservation(two, 0, "exporter").image).toBe("i-exp");
  });
});
