import { ClusterModel, NEW, OLD } from "@charm-upgrade/core/testing";
import { describe, expect, it } from "vitest";
import { decodeKey } from "./explore.js";
import { memoReduce } from "./memoReduce.js";

/**
 * The parts of core's in-memory model that verification relies on (snapshot/restore, canonical keys, crashed
 * hooks, asynchronous upgrades, an injected reducer). They live in core/testing; their tests live here, beside
 * their only user.
 */

/** A generic JSON encoder with sorted keys, as the reference for `canonicalKey`. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
}

function midUpgrade(substrate: "vm" | "k8s" = "vm"): ClusterModel {
  const model = new ClusterModel({ units: 3, substrate, revision: OLD, leader: 1, asyncUpgrades: true });
  model.settle();
  model.runAction(1, "preUpgradeCheck");
  model.refresh(NEW);
  for (let i = 0; i < 5; i++) model.runNext(model.runnable()[i % model.runnable().length] ?? 0);
  return model;
}

describe("ClusterModel snapshot, restore and canonicalKey", () => {
  it("restore brings back exactly the state a snapshot took", () => {
    const model = midUpgrade();
    const saved = model.snapshot();
    const key = model.canonicalKey();
    model.settle();
    expect(model.canonicalKey()).not.toBe(key);
    model.restore(saved);
    expect(model.canonicalKey()).toBe(key);
    expect(model.snapshot()).toEqual(saved);
  });

  it("the same steps from a restored state give the same states as from the original", () => {
    const model = midUpgrade("k8s");
    const copy = model.clone();
    for (let i = 0; i < 30 && model.runnable().length; i++) {
      const unit = model.runnable().at(-1) ?? 0;
      model.runNext(unit);
      copy.runNext(unit);
      expect(copy.canonicalKey()).toBe(model.canonicalKey());
    }
  });

  it("canonicalKey is the sorted-keys JSON of the snapshot, units by number, revisions by name", () => {
    const model = midUpgrade("k8s");
    model.holds.set(2, "backup");
    const s = model.snapshot();
    const reference = sortedJson({
      ...s,
      units: [...s.units].sort((a, b) => a.id - b.id).map((u) => ({ ...u, revision: u.revision.name })),
      template: s.template.name,
      failUnits: [...s.failUnits].sort((a, b) => a - b),
      holds: [...s.holds].sort((a, b) => a[0] - b[0]),
    });
    expect(model.canonicalKey()).toBe(reference);
    expect(JSON.parse(model.canonicalKey())).toBeTruthy();
  });

  it("a state decoded from its key restores to the same state, pods comparing equal to the template by name", () => {
    const model = midUpgrade("k8s");
    const key = model.canonicalKey();
    const other = new ClusterModel({ units: 0, substrate: "k8s", revision: OLD });
    other.restore(decodeKey(key));
    expect(other.canonicalKey()).toBe(key);
    for (let i = 0; i < 40 && model.runnable().length; i++) {
      const unit = model.runnable()[0] ?? 0;
      model.runNext(unit);
      other.runNext(unit);
    }
    expect(other.canonicalKey()).toBe(model.canonicalKey());
  });
});

describe("ClusterModel crashed hooks", () => {
  it("a crashed hook's relation writes are discarded, and Juju retries it before anything else", () => {
    const model = new ClusterModel({ units: 2, substrate: "vm", revision: OLD });
    const before = model.snapshot();
    model.runNext(1, { crash: true });
    expect(model.snapshot()).toEqual(before);
    expect(model.trace.at(-1)).toMatchObject({ kind: "hook", unit: 1, event: "relationCreated", crashed: true });
    model.runNext(1);
    expect(model.units.get(1)?.databag.state).toBe("idle");
  });

  it("a crashed hook keeps its effects outside Juju (the workload), and the charm's deferred events as before", () => {
    const model = new ClusterModel({ units: 1, substrate: "vm", revision: OLD });
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.refresh(NEW);
    model.runNext(0, { crash: true });
    const unit = model.units.get(0);
    expect(unit?.workload).toBe("1.1.0");
    expect(unit?.databag.state).toBe("idle");
    expect(unit?.queue[0]?.type).toBe("upgradeCharm");
    model.settle();
    expect(model.states().get(0)).toBe("idle");
    expect(model.stack()).toBeNull();
  });
});

describe("ClusterModel asynchronous upgrades", () => {
  it("a granted unit is seen upgrading by the others until a later hook completes it", () => {
    const model = new ClusterModel({ units: 2, substrate: "vm", revision: OLD, asyncUpgrades: true });
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.refresh(NEW);
    let sawUpgrading = false;
    while (model.runnable().length) {
      model.runNext(model.runnable()[0] ?? 0);
      if ([...model.states().values()].includes("upgrading")) sawUpgrading = true;
      if (!model.runnable().length && model.stack()) model.runAction(model.leader, "resumeUpgrade");
    }
    expect(sawUpgrading).toBe(true);
    expect([...model.states().values()]).toEqual(["idle", "idle"]);
  });

  it("by default the charm answers every grant at once (unchanged behaviour)", () => {
    const model = new ClusterModel({ units: 2, substrate: "vm", revision: OLD });
    model.settle();
    model.runAction(0, "preUpgradeCheck");
    model.refresh(NEW);
    const seen = new Set<string>();
    while (model.runnable().length) {
      model.runNext(model.runnable()[0] ?? 0);
      for (const state of model.states().values()) seen.add(state ?? "");
      if (!model.runnable().length && model.stack()) model.runAction(model.leader, "resumeUpgrade");
    }
    expect(seen.has("upgrading")).toBe(false);
  });
});

describe("ClusterModel injected reducer", () => {
  it("hooks run through the reducer the options give (a memoised core reduce answers the same)", () => {
    const memo = memoReduce();
    const plain = new ClusterModel({ units: 3, substrate: "vm", revision: OLD, asyncUpgrades: true });
    const memoised = new ClusterModel({ units: 3, substrate: "vm", revision: OLD, asyncUpgrades: true, reduce: memo });
    for (const model of [plain, memoised]) {
      model.settle();
      model.runAction(0, "preUpgradeCheck");
      model.refresh(NEW);
      for (let round = 0; round < 6; round++) {
        model.settle((r) => r.at(-1) ?? 0);
        model.runAction(model.leader, "resumeUpgrade");
      }
    }
    expect(memo.stats.misses).toBeGreaterThan(0);
    expect(memoised.canonicalKey()).toBe(plain.canonicalKey());
    expect(memoised.trace.map((e) => JSON.stringify(e))).toEqual(plain.trace.map((e) => JSON.stringify(e)));
  });
});
