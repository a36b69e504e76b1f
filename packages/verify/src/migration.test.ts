import type { Substrate } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import { Recorder } from "./drive.js";
import { explore, formatViolations } from "./explore.js";
import { NEW, OLD, World } from "./world.js";

/**
 * The migration refresh (issue 12.6): a charm moving from the Python library (`charms.data_platform_libs.v0.upgrade`)
 * to charm-upgrade refreshes from a revision that runs the Python library. The old revision's charm is
 * `PythonLibCharm` (packages/sim/src/pythonLibCharm.ts, the Python library's side of the wire protocol), the new one
 * the adapter that ships, both on the one model of Juju: until the roll ends the application is mixed, old units
 * on the Python library, new units on charm-upgrade. On Kubernetes the Python leader never lowers the partition from
 * relation-changed (its units did, in `_on_upgrade_finished`): before the fix the roll stalled after the second unit
 * (partition 1, the leader app/0 still on the old revision, the stack `[0]`).
 */

/** Deployed on the Python library, settled, pre-upgrade-check on the Python leader, `juju refresh` to charm-upgrade. */
function planned(substrate: Substrate, leader: number, pauseAfter?: "none" | "first" | "all") {
  const world = new World({ units: 3, substrate, leader, oldLibrary: "python", pauseAfter });
  const recorder = new Recorder(world);
  expect(recorder.toRest()).toBe(true);
  // The Python library wrote its keys only, and charm-upgrade's none.
  expect(Object.keys(world.model.appData)).toEqual(["dependencies"]);
  const check = recorder.action(leader, "pre-upgrade-check");
  // The Python library's pre-upgrade-check succeeds without a result (L776–823)
  expect(check).toEqual({ ok: true, message: "" });
  world.model.refresh(NEW);
  if (substrate === "vm") world.model.noticeAll();
  return { world, recorder };
}

/** Every unit idle on the new revision, charm and workload, the stack empty, the new DEPENDENCIES stored, no breach. */
function expectDone(world: World, recorder: Recorder): void {
  expect(recorder.units()).toEqual([
    [0, "idle", "1.1.0"],
    [1, "idle", "1.1.0"],
    [2, "idle", "1.1.0"],
  ]);
  expect(world.observe().units.map((u) => u.revision)).toEqual([NEW, NEW, NEW]);
  expect(world.model.appData["upgrade-stack"]).toBe("[]");
  expect(JSON.parse(world.model.appData.dependencies ?? "{}").workload.version).toBe("1.1.0");
  expect(recorder.breaches).toEqual([]);
  for (const unit of world.model.units.values()) expect(unit.status).toEqual({ status: "active", message: "" });
}

describe("the migration refresh from the Python library, N = 3", () => {
  it.each([0, 1, 2])(
    "Kubernetes, Python leader app/%i: pauses after the first unit, resume-upgrade on the Python leader, then completes",
    (leader) => {
      const { world, recorder } = planned("k8s", leader);
      expect(recorder.toRest()).toBe(true);
      // The first unit (the highest) upgraded; the roll waits for the operator, as both libraries do.
      expect(recorder.units()).toEqual([
        [0, "idle", "1.0.0"],
        [1, "idle", "1.0.0"],
        [2, "completed", "1.1.0"],
      ]);
      expect(world.model.partition).toBe(2);
      if (leader !== 2) {
        expect(world.model.units.get(2)?.status.message).toMatch(
          /^Paused after the first unit: run resume-upgrade on the leader( \(juju run app\/leader resume-upgrade\))? \| roll back: /,
        );
      }
      // resume-upgrade on the leader: the Python library's (accepted once) or, when the leader is app/2, ours.
      const resumed = recorder.action(leader, "resume-upgrade");
      expect(resumed).toEqual({ ok: true, message: "Upgrade will resume on unit 1" });
      expect(recorder.toRest()).toBe(true);
      expect(recorder.order()).toEqual([2, 1, 0]);
      expect(world.model.partition).toBe(0);
      expectDone(world, recorder);
    },
  );

  it("Kubernetes: with the Python leader on app/0, charm-upgrade's app/1 lowers the partition once it completed", () => {
    const { world, recorder } = planned("k8s", 0);
    recorder.toRest();
    recorder.action(0, "resume-upgrade");
    expect(recorder.toRest()).toBe(true);
    const partitions = recorder.hooks
      .filter((hook) => hook.unit === 1)
      .flatMap((hook) => hook.effects)
      .filter((effect) => effect.type === "setPartition");
    expect(partitions).toContainEqual({ type: "setPartition", partition: 0 });
    // the Python leader on app/0 set none after resume-upgrade; app/0, once on charm-upgrade, had nothing to set
    const leaderSets = recorder.hooks
      .filter((hook) => hook.unit === 0)
      .flatMap((hook) => hook.effects)
      .filter((effect) => effect.type === "setPartition");
    expect(leaderSets).toEqual([{ type: "setPartition", partition: 1 }]);
    expectDone(world, recorder);
  });

  it("Kubernetes: pause-after-unit-upgrade=none does not pause (the first unit releases the next itself)", () => {
    const { world, recorder } = planned("k8s", 0, "none");
    expect(recorder.toRest()).toBe(true);
    expectDone(world, recorder);
  });

  it("Kubernetes: pause-after-unit-upgrade=all pauses once, as the Python library does (its leader resumes once)", () => {
    const { world, recorder } = planned("k8s", 0, "all");
    expect(recorder.toRest()).toBe(true);
    expect(recorder.units().map(([, state]) => state)).toEqual(["idle", "idle", "completed"]);
    expect(recorder.action(0, "resume-upgrade").ok).toBe(true);
    expect(recorder.toRest()).toBe(true);
    expectDone(world, recorder);
    // …and a second resume-upgrade is the Python library's refusal, not a need
    expect(recorder.action(0, "resume-upgrade").ok).toBe(false);
  });

  it.each([0, 1, 2])(
    "machines, leader app/%i: every unit on charm-upgrade at once; the roll pauses, resume-upgrade, then completes",
    (leader) => {
      const { world, recorder } = planned("vm", leader);
      expect(recorder.toEnd()).toBe(true);
      expectDone(world, recorder);
      // The Python library's order (the charm's build_upgrade_stack): the leader last.
      expect(recorder.order().at(-1)).toBe(leader);
    },
  );

  it("the old revision really runs the Python library: its own refusals, and resume-upgrade accepted in its race window", () => {
    const { recorder } = planned("k8s", 0);
    recorder.toRest();
    expect(recorder.world.charm.runsPythonLibrary(OLD)).toBe(true);
    // app/1 still runs the Python library: its wording (upstream bug 18)
    expect(recorder.action(1, "resume-upgrade")).toEqual({
      ok: false,
      message: "Action must be ran on the Juju leader.",
    });
    expect(recorder.action(0, "resume-upgrade").ok).toBe(true);
    // Until app/1 completes and the leader pops it, the Python library accepts it again (upstream bug 11): harmless
    expect(recorder.action(0, "resume-upgrade")).toEqual({ ok: true, message: "Upgrade will resume on unit 1" });
    expect(recorder.toRest()).toBe(true);
    expect(recorder.breaches).toEqual([]);
  });
});

describe("the migration refresh, explored (N = 2, one duplicated relation-changed, one leadership change)", () => {
  it.each(["k8s", "vm"] as const)(
    "%s: every state is safe and can reach every unit idle on the new revision",
    (substrate) => {
      const result = explore({ units: 2, substrate, scenario: "migration" });
      expect(result.complete).toBe(true);
      expect(formatViolations(result)).toBe(`migration on ${substrate} with 2 units: no violation`);
      expect(result.ends).toBeGreaterThan(0);
    },
    300_000,
  );
});
