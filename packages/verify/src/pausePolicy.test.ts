import type { Substrate } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import { Recorder } from "./drive.js";
import { NEW, World } from "./world.js";

/**
 * The pause policy (`pause-after-unit-upgrade`) and holds, on the one model of Juju with every hook running the
 * adapter that ships. The order of hooks is Juju's (agents notice a refresh, `config-changed` after
 * `upgrade-charm`, `update-status` when idle, the StatefulSet controller's steps), so these tests check which units
 * were granted and what the operator sees, not which hook did it.
 */

const CONFIG = "pause-after-unit-upgrade";

/** Deployed and settled with `pauseAfter` set, planned on the leader (unit 0), refreshed, and at rest. */
function started(units: number, substrate: Substrate, pauseAfter?: unknown): Recorder {
  const run = new Recorder(new World({ units, substrate }));
  if (pauseAfter !== undefined) run.world.model.configure(CONFIG, pauseAfter);
  run.world.settle();
  expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
  run.world.model.refresh(NEW);
  expect(run.toRest()).toBe(true);
  return run;
}

/** Each unit's committed state. */
const states = (run: Recorder) => run.observe().units.map((u) => u.state);

/** The safety invariants held at every step. */
function safe(run: Recorder): void {
  expect(run.breaches).toEqual([]);
}

describe("pause policy (pause-after-unit-upgrade)", () => {
  for (const substrate of ["vm", "k8s"] as const) {
    it(`${substrate}: first (the default) waits after the first unit until resume-upgrade, then goes on to the end`, () => {
      const run = started(4, substrate);
      expect(run.order()).toEqual([3]);
      const resumed = run.action(0, "resume-upgrade");
      expect(resumed.ok, resumed.message).toBe(true);
      expect(resumed.message).toBe("Upgrade will resume on unit 2");
      expect(run.toRest()).toBe(true);
      expect(run.order()).toEqual([3, 2, 1, 0]);
      expect(run.units()).toEqual([0, 1, 2, 3].map((id) => [id, "idle", "1.1.0"]));
      expect(run.observe().appData["upgrade-resumed"] ?? "").toBe("");
      safe(run);
    });

    it(`${substrate}: all waits after every unit`, () => {
      const run = started(3, substrate, "all");
      for (const expected of [[2], [2, 1], [2, 1, 0]]) {
        expect(run.order()).toEqual(expected);
        if (expected.length < 3) {
          expect(run.action(0, "resume-upgrade").ok).toBe(true);
          expect(run.toRest()).toBe(true);
        }
      }
      expect(states(run)).toEqual(["idle", "idle", "idle"]);
      safe(run);
    });

    it(`${substrate}: none never waits, and resume-upgrade says why it does not apply`, () => {
      const run = started(3, substrate, "none");
      expect(run.order()).toEqual([2, 1, 0]);
      expect(states(run)).toEqual(["idle", "idle", "idle"]);
      const again = started(3, substrate, "first");
      expect(again.order()).toEqual([2]);
      again.world.model.configure(CONFIG, "none");
      const refused = again.action(0, "resume-upgrade");
      expect(refused.ok).toBe(false);
      expect(refused.message).toMatch(/pause-after-unit-upgrade is none/);
      safe(run);
    });
  }

  it("a change of policy mid-roll takes effect before the next unit (Juju runs config-changed on every unit)", () => {
    const run = started(4, "vm", "first");
    expect(run.order()).toEqual([3]);
    run.world.model.configure(CONFIG, "none");
    expect(run.toRest()).toBe(true);
    expect(run.order()).toEqual([3, 2, 1, 0]);
    expect(states(run)).toEqual(["idle", "idle", "idle", "idle"]);
    safe(run);
  });

  it("resume-upgrade is refused with a reason while the roll is not paused, and on a non-leader", () => {
    const run = new Recorder(new World({ units: 3, substrate: "vm" }));
    run.world.settle();
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    const early = run.action(0, "resume-upgrade");
    expect(early.ok).toBe(false);
    expect(early.message).toMatch(/^Nothing to resume: the upgrade is not paused/);
    run.world.model.refresh(NEW);
    expect(run.toRest()).toBe(true);
    expect(run.action(1, "resume-upgrade").message).toMatch(/leader/);
  });

  it("an invalid value blocks with a message saying how to fix it, and never grants", () => {
    const run = started(2, "vm", "sometimes");
    expect(run.order()).toEqual([]);
    const statuses = run.hooks.flatMap((hook) => hook.effects).filter((e) => e.type === "setUnitStatus");
    expect(statuses.at(-1)).toMatchObject({
      status: "waiting",
      message: expect.stringMatching(
        /^Invalid config pause-after-unit-upgrade="sometimes": use none, fir.* \| roll back: juju refresh app/,
      ),
    });
    // what the operator sees in `juju status`
    expect(run.world.model.units.get(0)?.status.message).toMatch(/^Invalid config pause-after-unit-upgrade=/);
    run.world.model.configure(CONFIG, "none");
    expect(run.toRest()).toBe(true);
    expect(run.order()).toEqual([1, 0]);
    expect(run.units()).toEqual([
      [0, "idle", "1.1.0"],
      [1, "idle", "1.1.0"],
    ]);
    safe(run);
  });
});

describe("holds (another operation in progress)", () => {
  it("no unit is granted while any unit holds; the reason is in the statuses; the roll goes on when released", () => {
    const run = new Recorder(new World({ units: 3, substrate: "vm", pauseAfter: "none" }));
    run.world.charm.holds.set(0, "backup in progress");
    run.world.settle();
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    run.world.model.refresh(NEW);
    expect(run.toRest()).toBe(true);
    expect(run.observe().units[0]?.databag["upgrade-hold"]).toBe("backup in progress");
    expect(run.order()).toEqual([]);
    const explained = run.hooks.flatMap((hook) => hook.effects).filter((e) => e.type === "explain");
    expect(explained.at(-1)).toEqual({ type: "explain", reason: "held by app/0: backup in progress" });
    run.world.charm.holds.delete(0);
    // app/0's next update-status records the release for the others
    expect(run.toRest()).toBe(true);
    expect(run.observe().units[0]?.databag["upgrade-hold"] ?? "").toBe("");
    expect(run.order()).toEqual([2, 1, 0]);
    expect(states(run)).toEqual(["idle", "idle", "idle"]);
    safe(run);
  });

  it("Kubernetes: the partition does not move while a unit holds", () => {
    const run = new Recorder(new World({ units: 3, substrate: "k8s", pauseAfter: "none" }));
    run.world.settle();
    expect(run.action(0, "pre-upgrade-check").ok).toBe(true);
    run.world.charm.holds.set(1, "scale-out");
    expect(run.toRest()).toBe(true);
    run.world.model.refresh(NEW);
    expect(run.toRest()).toBe(true);
    expect(run.observe().partition).toBe(2);
    expect(run.order()).toEqual([2]);
    expect(run.observe().units.map((u) => u.pod)).toEqual([1, 1, 2]);
    run.world.charm.holds.delete(1);
    expect(run.toRest()).toBe(true);
    expect(run.order()).toEqual([2, 1, 0]);
    expect(run.units()).toEqual([0, 1, 2].map((id) => [id, "idle", "1.1.0"]));
    expect(run.observe().partition).toBe(0);
    safe(run);
  });
});
