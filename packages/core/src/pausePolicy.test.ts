import { describe, expect, it } from "vitest";
import type { Substrate } from "./substrate.js";
import { ClusterModel, NEW, OLD } from "./testing/index.js";
import type { TraceEntry } from "./testing/index.js";

const grants = (c: ClusterModel) => c.trace.filter((e): e is Extract<TraceEntry, { kind: "grant" }> => e.kind === "grant").map((g) => g.unit);

function started(units: number, substrate: Substrate, pauseAfter?: unknown): ClusterModel {
  const cluster = new ClusterModel({ units, substrate, revision: OLD });
  cluster.pauseAfter = pauseAfter;
  cluster.settle();
  expect(cluster.runAction(0, "preUpgradeCheck").ok).toBe(true);
  cluster.refresh(NEW);
  cluster.settle();
  return cluster;
}

describe("pause policy (pause-after-unit-upgrade)", () => {
  for (const substrate of ["vm", "k8s"] as const) {
    it(`${substrate}: first (the default) waits after the first unit until resume-upgrade, then goes on to the end`, () => {
      const cluster = started(4, substrate);
      expect(grants(cluster)).toEqual([3]);
      const resumed = cluster.runAction(0, "resumeUpgrade");
      expect(resumed.ok, resumed.message).toBe(true);
      expect(resumed.message).toBe("Upgrade will resume on unit 2");
      cluster.settle();
      expect(grants(cluster)).toEqual([3, 2, 1, 0]);
      expect([...cluster.states().values()]).toEqual(["idle", "idle", "idle", "idle"]);
      expect(cluster.appData["upgrade-resumed"] ?? "").toBe("");
    });

    it(`${substrate}: all waits after every unit`, () => {
      const cluster = started(3, substrate, "all");
      for (const expected of [[2], [2, 1], [2, 1, 0]]) {
        expect(grants(cluster)).toEqual(expected);
        if (expected.length < 3) {
          expect(cluster.runAction(0, "resumeUpgrade").ok).toBe(true);
          cluster.settle();
        }
      }
      expect([...cluster.states().values()]).toEqual(["idle", "idle", "idle"]);
    });

    it(`${substrate}: none never waits, and resume-upgrade says why it does not apply`, () => {
      const cluster = started(3, substrate, "none");
      expect(grants(cluster)).toEqual([2, 1, 0]);
      const again = started(3, substrate, "first");
      again.pauseAfter = "none";
      const refused = again.runAction(0, "resumeUpgrade");
      expect(refused.ok).toBe(false);
      expect(refused.message).toMatch(/pause-after-unit-upgrade is none/);
    });
  }

  it("a change of policy mid-roll takes effect before the next unit", () => {
    const cluster = started(4, "vm", "first");
    expect(grants(cluster)).toEqual([3]);
    cluster.pauseAfter = "none";
    for (const unit of cluster.units.values()) cluster.enqueue(unit, "tick");
    cluster.settle();
    expect(grants(cluster)).toEqual([3, 2, 1, 0]);
  });

  it("resume-upgrade is refused with a reason while the roll is not paused, and on a non-leader", () => {
    const cluster = new ClusterModel({ units: 3, substrate: "vm", revision: OLD });
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    const early = cluster.runAction(0, "resumeUpgrade");
    expect(early.ok).toBe(false);
    expect(early.message).toMatch(/^Nothing to resume: the upgrade is not paused/);
    cluster.refresh(NEW);
    cluster.settle();
    expect(cluster.runAction(1, "resumeUpgrade").message).toMatch(/leader/);
  });

  it("an invalid value blocks with a message saying how to fix it, and never grants", () => {
    const cluster = new ClusterModel({ units: 2, substrate: "vm", revision: OLD });
    cluster.pauseAfter = "sometimes";
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    cluster.refresh(NEW);
    cluster.settle();
    expect(grants(cluster)).toEqual([]);
    const statuses = cluster.trace.flatMap((e) => (e.kind === "hook" ? e.effects : [])).filter((e) => e.type === "setUnitStatus");
    expect(statuses.at(-1)).toMatchObject({
      status: "waiting",
      message: expect.stringMatching(/^Invalid config pause-after-unit-upgrade="sometimes": use none, fir.* \| roll back: juju refresh app/),
    });
    cluster.pauseAfter = "none";
    for (const unit of cluster.units.values()) cluster.enqueue(unit, "tick");
    cluster.settle();
    expect(grants(cluster)).toEqual([1, 0]);
  });
});

describe("holds (another operation in progress)", () => {
  it("no unit is granted while any unit holds; the reason is in the statuses; the roll goes on when released", () => {
    const cluster = new ClusterModel({ units: 3, substrate: "vm", revision: OLD });
    cluster.pauseAfter = "none";
    cluster.holds.set(0, "backup in progress");
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    cluster.refresh(NEW);
    cluster.settle();
    expect(cluster.units.get(0)?.databag["upgrade-hold"]).toBe("backup in progress");
    expect(grants(cluster)).toEqual([]);
    const explained = cluster.trace.flatMap((e) => (e.kind === "hook" ? e.effects : [])).filter((e) => e.type === "explain");
    expect(explained.at(-1)).toEqual({ type: "explain", reason: "held by app/0: backup in progress" });
    cluster.holds.delete(0);
    cluster.enqueue(cluster.units.get(0)!, "tick");
    cluster.settle();
    expect(cluster.units.get(0)?.databag["upgrade-hold"] ?? "").toBe("");
    expect(grants(cluster)).toEqual([2, 1, 0]);
  });

  it("Kubernetes: the partition does not move while a unit holds", () => {
    const cluster = new ClusterModel({ units: 3, substrate: "k8s", revision: OLD });
    cluster.pauseAfter = "none";
    cluster.settle();
    cluster.runAction(0, "preUpgradeCheck");
    cluster.holds.set(1, "scale-out");
    for (const unit of cluster.units.values()) cluster.enqueue(unit, "tick");
    cluster.settle();
    cluster.refresh(NEW);
    cluster.settle();
    expect(cluster.partition).toBe(2);
    expect(grants(cluster)).toEqual([2]);
    cluster.holds.delete(1);
    cluster.enqueue(cluster.units.get(1)!, "tick");
    cluster.settle();
    expect(grants(cluster)).toEqual([2, 1, 0]);
    expect([...cluster.states().values()]).toEqual(["idle", "idle", "idle"]);
  });
});
