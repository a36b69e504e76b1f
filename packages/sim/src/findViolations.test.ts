import { describe, expect, it } from "vitest";
import { findViolations } from "./findViolations.js";
import type { SimEvent } from "./simulator.js";

const added = (unit: string, revision = 1): SimEvent => ({
  type: "unitAdded",
  unit,
  revision,
  workloadVersion: "1.0.0",
});
const state = (unit: string, to: string, seq = 1): SimEvent => ({
  type: "state",
  seq,
  unit,
  from: null,
  to: to as "idle",
});
const stack = (raw: string, writer = "db/0", seq = 1): SimEvent => ({
  type: "databag",
  change: { seq, writer, databag: "db", data: { "upgrade-stack": raw } },
});

describe("findViolations", () => {
  it("accepts a clean history", () => {
    const events = [
      added("db/0"),
      added("db/1"),
      stack("[0, 1]"),
      state("db/1", "upgrading"),
      state("db/1", "completed"),
      stack("[0]"),
      state("db/0", "upgrading"),
      state("db/0", "completed"),
      state("db/0", "idle"),
      stack("[]"),
    ];
    expect(findViolations(events, "db")).toEqual([]);
  });

  it("reports two units upgrading together, a unit lost from the stack, and a duplicate", () => {
    const events = [
      added("db/0"),
      added("db/1"),
      stack("[0, 1]"),
      state("db/1", "upgrading"),
      state("db/0", "upgrading", 2),
      stack("[1]", "db/0", 3),
      stack("[1, 1]", "db/0", 4),
    ];
    expect(findViolations(events, "db")).toEqual([
      "db/1, db/0 are upgrading at the same time (hook 2)",
      "db/0 (upgrading) left the stack [0,1] -> [1] without completing (hook 3)",
      "hook 4 wrote a stack listing a unit twice: [1, 1]",
    ]);
  });

  it("accepts a unit that left the application; reports a grant while another upgrades", () => {
    const grant = {
      seq: 5,
      unit: "db/0",
      revision: 2,
      upgradingOthers: ["db/1"],
      openGrants: [],
      refresh: 1,
      version: "1.1.0",
      outcome: "completed" as const,
      again: false,
      held: [],
    };
    const events: SimEvent[] = [
      added("db/0"),
      added("db/1"),
      stack("[0, 1]"),
      { type: "unitRemoved", unit: "db/1" },
      stack("[0]"),
      { type: "grant", grant },
    ];
    expect(findViolations(events, "db")).toEqual(["db/0 was granted while db/1 upgraded (hook 5)"]);
  });

  it("reports a new grant while a unit holds the upgrade (machines); asking a granted unit again is no new grant", () => {
    const grant = {
      seq: 5,
      unit: "db/0",
      revision: 2,
      upgradingOthers: [],
      openGrants: [],
      refresh: 1,
      version: "1.1.0",
      outcome: "completed" as const,
      again: false,
      held: ["db/1"],
    };
    const events: SimEvent[] = [added("db/0"), added("db/1"), stack("[1, 0]"), { type: "grant", grant }];
    expect(findViolations(events, "db")).toEqual(["db/0 was granted while db/1 held the upgrade (hook 5)"]);
    expect(findViolations([...events.slice(0, 3), { type: "grant", grant: { ...grant, again: true } }], "db")).toEqual(
      [],
    );
  });

  it("Kubernetes: reports a pod restarted on the new revision below the partition", () => {
    const events: SimEvent[] = [
      added("db/0"),
      added("db/1"),
      { type: "partition", partition: 1 },
      { type: "operator", message: "juju refresh db --revision 2" },
      { type: "restart", unit: "db/1", revision: 2, workloadVersion: "1.1.0" },
      { type: "partition", partition: 2 },
    ];
    expect(findViolations(events, "db")).toEqual(["db/1 runs revision 2 below the partition 2"]);
  });

  it("Kubernetes: a rollback plan may leave out pods that never moved to the new revision, not those that did", () => {
    const events: SimEvent[] = [
      added("db/0"),
      added("db/1"),
      added("db/2"),
      stack("[0, 1, 2]"),
      { type: "operator", message: "juju refresh db --revision 2" },
      { type: "restart", unit: "db/2", revision: 2, workloadVersion: "1.1.0" },
      state("db/2", "failed"),
      state("db/0", "recovery"),
      stack("[0, 2]", "db/0", 7),
      stack("[2]", "db/0", 8),
    ];
    expect(findViolations(events, "db", "k8s")).toEqual([]);
    expect(findViolations(events, "db", "vm")).toEqual([
      "db/1 (no state) left the stack [0,1,2] -> [0, 2] without completing (hook 7)",
      "db/0 (recovery) left the stack [0,2] -> [2] without completing (hook 8)",
    ]);
    const bad = [...events.slice(0, 8), stack("[0]", "db/0", 9)];
    expect(findViolations(bad, "db", "k8s")).toEqual([
      "db/2 (failed) left the stack [0,1,2] -> [0] without completing (hook 9)",
    ]);
  });
});
