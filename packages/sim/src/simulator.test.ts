import { describe, expect, it } from "vitest";
import { createRandom } from "@charm-upgrade/core/testing";
import { settleResuming } from "./rehearseUpgrade.js";
import type { SimEvent } from "./simulator.js";
import { Simulator } from "./simulator.js";

const CHANGED = "upgrade-relation-changed";

/** Run `unit`'s queued hooks until `hook` has run (inclusive); fails if it never comes. */
async function runUntil(sim: Simulator, unit: number, hook: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const record = await sim.step(unit);
    if (!record) break;
    if (record.hook === hook && record.outcome === "ok") return;
  }
  throw new Error(`db/${unit} never ran ${hook}`);
}

/** A settled application with a plan: deployed, pre-upgrade-check passed on the leader. */
async function planned(units = 3, substrate: "vm" | "k8s" = "vm", seed = 1): Promise<Simulator> {
  const sim = new Simulator({ units, substrate, seed });
  await sim.settle();
  const check = await sim.runAction(sim.leader, "pre-upgrade-check");
  expect(check.ok, check.message).toBe(true);
  await sim.settle();
  return sim;
}

const queued = (sim: Simulator, unit: number) => sim.unit(unit).queued;

describe("the simulator's Juju rules", () => {
  it("deploys each unit with install, relation-created, leader-elected or leader-settings-changed, config-changed and start, then idles", async () => {
    const sim = new Simulator({ units: 3, seed: 4 });
    // juju/juju docs/reference/hook.md: `install -> (peer)-relation-created -> leader-elected` on the leader,
    // `install -> leader-settings-changed -> config-changed -> start` on the others.
    expect(queued(sim, 0)).toEqual([
      "install",
      "upgrade-relation-created",
      "leader-elected",
      "config-changed",
      "start",
    ]);
    expect(queued(sim, 1)).toEqual([
      "install",
      "upgrade-relation-created",
      "leader-settings-changed",
      "config-changed",
      "start",
    ]);
    const settled = await sim.settle();
    expect(settled.settled).toBe(true);
    expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion, u.leader])).toEqual([
      ["db/0", "idle", "1.0.0", true],
      ["db/1", "idle", "1.0.0", false],
      ["db/2", "idle", "1.0.0", false],
    ]);
    // time passes: update-status ran on every unit once nothing else was queued, and changed nothing
    expect(
      sim.hooks
        .filter((h) => h.hook === "update-status")
        .map((h) => h.unit)
        .sort(),
    ).toEqual(["db/0", "db/1", "db/2"]);
    expect(JSON.parse(sim.applicationData.dependencies ?? "{}").workload.version).toBe("1.0.0");
  });

  it("a hook's relation writes commit only if it succeeds; Juju retries a crashed hook before anything else", async () => {
    const sim = new Simulator({ units: 2, seed: 1 });
    await runUntil(sim, 1, "install");
    sim.injectCrash(1);
    const crashed = await sim.step(1);
    expect(crashed).toMatchObject({ unit: "db/1", hook: "upgrade-relation-created", outcome: "crashed" });
    // it did its work (the adapter wrote `idle`), but Juju discarded the write and told nobody
    expect(crashed?.effects).toContainEqual({ type: "writeUnitData", data: { state: "idle" } });
    expect(sim.unit(1).state).toBeNull();
    // The discarded write moved no settings version. db/1 entered the relation's scope before its relation-created
    // ran (juju/juju worker/uniter/relation/statetracker.go: EnterScope first), so db/0 will meet it: the joined and
    // changed pair of a new member, and nothing for the write.
    expect(sim.model.units.get(1)?.version).toBe(0);
    expect(queued(sim, 0).filter((hook) => /-relation-(joined|changed)$/.test(hook))).toEqual([
      "upgrade-relation-joined",
      CHANGED,
    ]);
    expect(queued(sim, 1)[0]).toBe("upgrade-relation-created");
    const retried = await sim.step(1);
    expect(retried).toMatchObject({ hook: "upgrade-relation-created", outcome: "ok" });
    expect(sim.unit(1).state).toBe("idle");
    expect(sim.changes.at(-1)).toMatchObject({ writer: "db/1", databag: "db/1", data: { state: "idle" } });
  });

  it("after a commit every other unit gets relation-changed from the writer, and the writer none", async () => {
    const sim = new Simulator({ units: 3, seed: 1 });
    await runUntil(sim, 1, "upgrade-relation-created");
    expect(queued(sim, 0)).toContain(CHANGED);
    expect(queued(sim, 2)).toContain(CHANGED);
    expect(queued(sim, 1)).not.toContain(CHANGED);
  });

  it("no relation-changed when a hook changed nothing", async () => {
    const sim = await planned(3);
    const before = sim.changes.length;
    await sim.step(1); // nothing queued: nothing runs
    const settled = await sim.settle();
    expect(settled.hooks).toBe(3); // one update-status round, which wrote nothing
    expect(sim.changes.length).toBe(before);
    expect(sim.units().every((u) => u.queued.length === 0)).toBe(true);
  });

  it("only the leader writes the application databag, and it hears nothing of its own write", async () => {
    const sim = new Simulator({ units: 3, seed: 2 });
    await sim.settle();
    const refused = await sim.runAction(1, "pre-upgrade-check");
    expect(refused.ok).toBe(false);
    expect(refused.message).toMatch(/leader/);
    expect(sim.applicationData["upgrade-stack"]).toBeUndefined();
    const check = await sim.runAction(0, "pre-upgrade-check");
    expect(check.ok).toBe(true);
    expect(sim.changes.at(-1)).toMatchObject({ writer: "db/0", databag: "db", data: { "upgrade-stack": "[0, 1, 2]" } });
    expect(queued(sim, 0)).toEqual([]);
    expect(queued(sim, 1)).toEqual([CHANGED]);
    expect(queued(sim, 2)).toEqual([CHANGED]);
    // every write so far: the app databag by the leader, unit databags by their own unit
    for (const change of sim.changes) {
      if (change.databag === "db") expect(change.writer).toBe("db/0");
      else expect(change.writer).toBe(change.databag);
    }
  });

  it("several writes by one unit before another looks give it one relation-changed (Juju's resolver compares versions)", async () => {
    const sim = await planned(2);
    sim.refresh(2);
    await sim.step(1); // upgrade-charm: ready
    expect(sim.unit(1).state).toBe("ready");
    sim.model.commitAs(1, { note: "a second write" });
    const fromOne = () =>
      sim.events.filter(
        (e): e is Extract<SimEvent, { type: "databag" }> => e.type === "databag" && e.change.writer === "db/1",
      );
    expect(fromOne().length).toBeGreaterThan(0);
    sim.model.notice(0);
    // upgrade-charm first (the charm changed), then its config-changed, then one relation-changed from db/1
    expect(queued(sim, 0)).toEqual(["upgrade-charm", "config-changed", CHANGED]);
    sim.injectCrash(0);
    await sim.step(0); // upgrade-charm on db/0 crashes: Juju retries it before anything else
    expect(queued(sim, 0)).toEqual(["upgrade-charm", "config-changed", CHANGED]);
  });

  it("a duplicated relation-changed (fault) is queued twice and is harmless", async () => {
    const sim = new Simulator({ units: 3, seed: 9, faults: { duplicate: 1 } });
    await sim.settle();
    expect(sim.events.some((e) => e.type === "fault" && e.fault.startsWith("duplicate"))).toBe(true);
    expect(sim.units().every((u) => u.state === "idle")).toBe(true);
  });

  it("juju refresh on machines: once its agent notices the new charm, a unit runs upgrade-charm after leadership hooks and before the rest", async () => {
    const sim = await planned(3);
    sim.setLeader(1);
    sim.refresh(2);
    // nothing happens before an agent notices (the charm reaches each machine in its own time)
    expect(queued(sim, 0)).toEqual(["leader-settings-changed"]);
    sim.model.noticeAll();
    // worker/uniter/resolver.go: leadership first; then the upgrade; runhook.go queues config-changed after it
    expect(queued(sim, 1)).toEqual(["leader-elected", "upgrade-charm", "config-changed"]);
    expect(queued(sim, 0)).toEqual(["leader-settings-changed", "upgrade-charm", "config-changed"]);
    // the charm runs its new revision from its upgrade-charm on; the workload is upgraded only when granted
    expect(sim.units().every((u) => u.revision === 1 && u.workloadVersion === "1.0.0")).toBe(true);
  });

  it("update-status is a tick: a pending upgrade-charm deferred before pre-upgrade-check resumes after it", async () => {
    const sim = new Simulator({ units: 2, seed: 3 });
    await sim.settle();
    sim.refresh(2); // the operator forgot pre-upgrade-check
    await sim.settle();
    expect(sim.units().map((u) => u.state)).toEqual(["idle", "idle"]);
    expect(sim.unit(1).status).toEqual({
      status: "blocked",
      message: "Run pre-upgrade-check on the leader to start the upgrade",
    });
    expect(await sim.runAction(0, "pre-upgrade-check")).toMatchObject({ ok: true });
    await settleResuming(sim);
    expect(sim.units().map((u) => [u.state, u.workloadVersion])).toEqual([
      ["idle", "1.1.0"],
      ["idle", "1.1.0"],
    ]);
  });

  it("a leadership change mid-upgrade: the new leader gets leader-elected and the upgrade finishes", async () => {
    const sim = await planned(4, "vm", 5);
    sim.refresh(2);
    await sim.step();
    await sim.step();
    sim.setLeader(2);
    expect(queued(sim, 2)).toContain("leader-elected");
    await settleResuming(sim);
    expect(sim.units().every((u) => u.state === "idle" && u.workloadVersion === "1.1.0")).toBe(true);
  });

  it("a unit added mid-upgrade installs the new charm and stays out of the upgrade; a removed unit leaves the stack", async () => {
    const sim = await planned(4, "vm", 6);
    sim.refresh(2);
    for (let i = 0; i < 6; i++) await sim.step();
    const added = sim.addUnit();
    expect(sim.unit(added)).toMatchObject({ revision: 2, workloadVersion: "1.1.0" });
    sim.removeUnit(1);
    expect(() => sim.unit(1)).toThrow(/no unit/);
    await settleResuming(sim);
    expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion])).toEqual([
      ["db/0", "idle", "1.1.0"],
      ["db/2", "idle", "1.1.0"],
      ["db/3", "idle", "1.1.0"],
      ["db/4", "idle", "1.1.0"],
    ]);
    expect(sim.grants.map((g) => g.unit)).not.toContain(added);
  });

  it("removing the leader elects the lowest remaining unit", async () => {
    const sim = new Simulator({ units: 3, seed: 1 });
    await sim.settle();
    sim.removeUnit(0);
    expect(sim.leader).toBe(1);
    expect(queued(sim, 1)).toContain("leader-elected");
    expect(queued(sim, 2)).toEqual(["leader-settings-changed", "upgrade-relation-departed"]);
  });

  it("a failing unit halts the upgrade with a blocked status naming the failure", async () => {
    const sim = new Simulator({ units: 3, seed: 2, failUnits: [1] });
    await sim.settle();
    await sim.runAction(0, "pre-upgrade-check");
    sim.refresh(2);
    await settleResuming(sim);
    expect(sim.units().map((u) => u.state)).toEqual(["ready", "failed", "completed"]);
    expect(sim.unit(1).status).toEqual({
      status: "blocked",
      message:
        "simulated failure: db/1 could not start workload 1.1.0 | roll back: pre-upgrade-check, then juju refresh db --revision 1",
    });
    expect(sim.grants.map((g) => g.unit)).toEqual(["db/2", "db/1"]);
  });

  it("pre-upgrade-check that the charm refuses fails the action with its message", async () => {
    const sim = new Simulator({ units: 2, failPreUpgradeCheck: "replica lag too high" });
    await sim.settle();
    expect(await sim.runAction(0, "pre-upgrade-check")).toMatchObject({ ok: false, message: "replica lag too high" });
    expect(sim.hooks.at(-1)).toMatchObject({
      kind: "action",
      hook: "pre-upgrade-check",
      outcome: "failed",
      error: "replica lag too high",
    });
  });

  it("refreshing to an incompatible revision fails the leader's version check", async () => {
    const sim = await planned(2);
    sim.refresh(3);
    await sim.settle();
    expect(sim.unit(0).state).toBe("failed");
    expect(sim.unit(0).status.message).toMatch(
      /^Versions incompatible, workload 1\.0\.0 can not be upgr.* \| roll back: pre-upgrade-check, then juju refresh db --revision 1$/,
    );
    expect(sim.grants).toEqual([]);
  });

  it("is deterministic: the same seed replays the same hooks", async () => {
    const run = async (seed: number) => {
      const sim = await planned(4, "vm", seed);
      sim.refresh(2);
      await sim.settle();
      return sim.hooks.map((h) => `${h.unit} ${h.hook} ${h.outcome}`);
    };
    expect(await run(11)).toEqual(await run(11));
    expect(await run(11)).not.toEqual(await run(12));
  });

  it("takes one call at a time", async () => {
    const sim = new Simulator({ units: 2 });
    const first = sim.settle();
    await expect(sim.step()).rejects.toThrow(/one call at a time/);
    await first;
  });

  it("rejects bad options", () => {
    expect(() => new Simulator({ units: 0 })).toThrow(/units/);
    expect(() => new Simulator({ units: 2, leader: 2 })).toThrow(/leader/);
    expect(() => new Simulator({ units: 2, revision: 9 })).toThrow(/no charm revision 9/);
    expect(() => new Simulator({ units: 1, revisions: { 1: { workload: { version: "1" } } } })).toThrow(/DEPENDENCIES/);
  });
});

describe("the StatefulSet on Kubernetes", () => {
  it("starts at partition 0, pre-upgrade-check sets it to the highest ordinal, refresh restarts only that pod", async () => {
    const sim = new Simulator({ units: 3, substrate: "k8s", seed: 1 });
    expect(sim.partition).toBe(0);
    await sim.settle();
    await sim.runAction(0, "pre-upgrade-check");
    expect(sim.partition).toBe(2);
    sim.refresh(2);
    // the controller deletes the highest pod at or above the partition; its charm runs `stop` first
    expect(sim.model.steps().filter((step) => step.kind === "pod-delete")).toEqual([{ kind: "pod-delete", unit: 2 }]);
    sim.model.take({ kind: "pod-delete", unit: 2 });
    expect(sim.unit(2)).toMatchObject({ restarting: true, revision: 1 });
    expect(sim.unit(2).queued.slice(0, 4)).toEqual(["stop", "upgrade-charm", "config-changed", "start"]);
    await sim.step(2); // stop: the pod is recreated from the new revision
    expect(sim.unit(2)).toMatchObject({ restarting: true, revision: 2 });
    expect(sim.unit(2).queued.slice(0, 3)).toEqual(["upgrade-charm", "config-changed", "start"]);
    expect(
      sim
        .units()
        .filter((u) => u.revision === 2)
        .map((u) => u.name),
    ).toEqual(["db/2"]);
  });

  it("restarts pods at or above the partition highest first, the next only once the last is Running and Ready", async () => {
    const sim = new Simulator({ units: 3, substrate: "k8s", seed: 1 });
    await sim.settle();
    sim.refresh(2); // partition 0, no plan: the StatefulSet would roll every pod, one at a time
    const deletable = () => sim.model.steps().flatMap((step) => (step.kind === "pod-delete" ? [step.unit] : []));
    /** A pod's `stop` run by a charm that does nothing in it (no charm-upgrade): the controller alone decides. */
    const bareStop = (unit: number) => sim.model.end(sim.model.begin(unit), "ok");
    expect(deletable()).toEqual([2]);
    sim.model.take({ kind: "pod-delete", unit: 2 });
    bareStop(2); // recreated, not ready yet
    expect(deletable()).toEqual([]);
    sim.model.take({ kind: "pod-ready", unit: 2 });
    expect(deletable()).toEqual([1]);
    sim.model.take({ kind: "pod-delete", unit: 1 });
    bareStop(1);
    sim.model.take({ kind: "pod-ready", unit: 1 });
    expect(deletable()).toEqual([0]);
    expect(sim.model.partition).toBe(0);
  });

  it("juju refresh without pre-upgrade-check restarts only the highest pod: its stop hook raises the partition to it", async () => {
    const sim = new Simulator({ units: 3, substrate: "k8s", seed: 1 });
    await sim.settle();
    sim.refresh(2);
    await sim.settle();
    const restarts = sim.events.flatMap((e) => (e.type === "restart" ? [e.unit] : []));
    expect(restarts).toEqual(["db/2"]);
    expect(sim.model.partition).toBe(2);
    expect(sim.units().map((u) => [u.name, u.revision])).toEqual([
      ["db/0", 1],
      ["db/1", 1],
      ["db/2", 2],
    ]);
    // the restarted unit waits for the plan, and the application status names the next step
    expect(sim.unit(2).status).toEqual({
      status: "blocked",
      message: "Run pre-upgrade-check on the leader to start the upgrade",
    });
    expect(sim.model.appStatus.message).toBe(
      "juju refresh ran before pre-upgrade-check (db/2 on ch:amd64/jammy/db-2): run pre-upgrade-check on db/0",
    );
  });
});

describe("createRandom", () => {
  it("is a deterministic function of the seed, within range", () => {
    const a = createRandom(5);
    const b = createRandom(5);
    const rolls = Array.from({ length: 100 }, () => a.int(7));
    expect(rolls).toEqual(Array.from({ length: 100 }, () => b.int(7)));
    expect(rolls.every((n) => n >= 0 && n < 7)).toBe(true);
    expect(new Set(rolls).size).toBe(7);
    expect(() => a.pick([])).toThrow(RangeError);
  });
});
