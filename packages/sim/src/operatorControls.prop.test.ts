import type { Substrate } from "@charm-upgrade/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findViolations } from "./findViolations.js";
import { settleResuming } from "./rehearseUpgrade.js";
import { Simulator } from "./simulator.js";

/**
 * The operator's controls of issue 6 — the pause policy (changed mid-roll too), holds, the health gate — under
 * random schedules, every hook running the real Juju adapter: no new grant while another unit upgrades, holds or is
 * unhealthy; no grant while paused; and once the controls are released the upgrade still finishes.
 */

/** One thing the operator (or the charm) does, after `at` hooks of the roll. */
type Move =
  | { readonly at: number; readonly kind: "hold" | "release" | "unhealthy" | "healthy"; readonly unit: number }
  | { readonly at: number; readonly kind: "policy"; readonly policy: string }
  | { readonly at: number; readonly kind: "resume" };

const POLICIES = ["none", "first", "all", "sometimes"] as const;

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  fc.record({
    at: fc.nat(120),
    kind: fc.constantFrom("hold" as const, "release" as const, "unhealthy" as const, "healthy" as const),
    unit: fc.nat(7),
  }),
  fc.record({ at: fc.nat(120), kind: fc.constant("policy" as const), policy: fc.constantFrom(...POLICIES) }),
  fc.record({ at: fc.nat(120), kind: fc.constant("resume" as const) }),
);

const scenarioArb = fc.integer({ min: 2, max: 6 }).chain((units) =>
  fc.record({
    units: fc.constant(units),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    leader: fc.integer({ min: 0, max: units - 1 }),
    policy: fc.constantFrom(...POLICIES),
    moves: fc.array(moveArb, { maxLength: 12 }),
  }),
);

async function planned(
  substrate: Substrate,
  units: number,
  seed: number,
  leader: number,
  policy: string,
): Promise<Simulator> {
  const sim = new Simulator({ units, substrate, seed, leader, pauseAfterUnitUpgrade: policy });
  expect((await sim.settle()).settled).toBe(true);
  const check = await sim.runAction(sim.leader, "pre-upgrade-check");
  expect(check.ok, check.message).toBe(true);
  await sim.settle();
  return sim;
}

async function apply(sim: Simulator, move: Move): Promise<void> {
  const ids = sim.units().map((unit) => unit.id);
  const unit = "unit" in move ? ids[move.unit % ids.length] : undefined;
  switch (move.kind) {
    case "hold":
      if (unit !== undefined) sim.setHold(unit, "backup in progress");
      return;
    case "release":
      if (unit !== undefined) sim.setHold(unit, null);
      return;
    case "unhealthy":
      if (unit !== undefined) sim.setUnhealthy(unit, "replica lag 30s");
      return;
    case "healthy":
      if (unit !== undefined) sim.setUnhealthy(unit, null);
      return;
    case "policy":
      sim.configure(move.policy);
      return;
    case "resume":
      await sim.runAction(sim.leader, "resume-upgrade");
      return;
  }
}

/** New grants (not a granted unit asked again) and successful resume-upgrade actions, in the order they happened. */
function timeline(sim: Simulator): ("grant" | "resume")[] {
  const out: { seq: number; what: "grant" | "resume" }[] = [];
  for (const grant of sim.grants) if (!grant.again && grant.refresh === 1) out.push({ seq: grant.seq, what: "grant" });
  for (const hook of sim.hooks)
    if (hook.kind === "action" && hook.hook === "resume-upgrade" && hook.outcome === "ok")
      out.push({ seq: hook.seq, what: "resume" });
  // A grant's seq is that of the hook it happens in; a grant inside the resume-upgrade action came after it.
  return out.sort((a, b) => a.seq - b.seq || (a.what === "resume" ? -1 : 1)).map((entry) => entry.what);
}

describe("the operator's controls in simulated machine upgrades (real adapter)", () => {
  it("no new grant while another unit upgrades, holds or is unhealthy, whatever the pause policy and its changes; released, the roll ends", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const sim = await planned("vm", s.units, s.seed, s.leader, s.policy);
        sim.refresh(2);
        const moves = [...s.moves].sort((a, b) => a.at - b.at);
        for (let step = 0, next = 0; step <= 120; step++) {
          for (; next < moves.length && (moves[next]?.at ?? Number.POSITIVE_INFINITY) <= step; next++) {
            const move = moves[next];
            if (move) await apply(sim, move);
          }
          await sim.step();
        }
        // Safety so far: findViolations checks one upgrading unit at a time, grants only to the stack's top, and
        // (machines) no new grant while a unit's hold is committed or the unit itself holds.
        expect(findViolations(sim.events, sim.app, sim.substrate)).toEqual([]);
        for (const grant of sim.grants.filter((g) => !g.again)) {
          expect(grant.upgradingOthers, `grant ${grant.seq}`).toEqual([]);
          expect(grant.openGrants, `grant ${grant.seq}: an unhealthy unit is still upgrading`).toEqual([]);
        }
        // Release everything: the roll must finish.
        for (const unit of sim.units()) {
          sim.setHold(unit.id, null);
          sim.setUnhealthy(unit.id, null);
        }
        sim.configure("none");
        await settleResuming(sim);
        expect(findViolations(sim.events, sim.app, sim.substrate)).toEqual([]);
        expect(sim.units().map((u) => [u.name, u.state, u.workloadVersion])).toEqual(
          sim.units().map((u) => [u.name, "idle", sim.versionOf(2)]),
        );
      }),
      { numRuns: 25 },
    );
  });

  it("pause-after-unit-upgrade=all: every grant after the first waits for its own resume-upgrade (machines and Kubernetes)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Substrate>("vm", "k8s"),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (substrate, units, seed) => {
          const sim = await planned(substrate, units, seed, 0, "all");
          sim.refresh(2);
          await settleResuming(sim);
          const events = timeline(sim);
          let grants = 0;
          let resumes = 0;
          for (const what of events) {
            if (what === "resume") resumes++;
            else expect(++grants, events.join(" ")).toBeLessThanOrEqual(1 + resumes);
          }
          expect(grants).toBe(units);
          expect(resumes).toBe(units - 1);
          expect(sim.units().every((u) => u.state === "idle" && u.workloadVersion === sim.versionOf(2))).toBe(true);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe("holds and the health gate, by example (real adapter)", () => {
  it("a hold stops every grant until released; the statuses name the holder", async () => {
    const sim = await planned("vm", 3, 7, 0, "none");
    sim.setHold(1, "backup in progress");
    await sim.settle();
    sim.refresh(2);
    await sim.settle();
    expect(sim.grants).toEqual([]);
    expect(
      sim
        .units()
        .map((u) => u.status.message)
        .join("\n"),
    ).toMatch(/held by db\/1: backup in progress/);
    sim.setHold(1, null);
    await sim.settle();
    expect(sim.units().every((u) => u.state === "idle" && u.workloadVersion === sim.versionOf(2))).toBe(true);
  });

  it("an unhealthy upgraded unit holds the next one; healthy again, the roll goes on", async () => {
    const sim = await planned("vm", 3, 3, 0, "none");
    sim.setUnhealthy(2, "replica lag 30s");
    sim.refresh(2);
    await sim.settle();
    // the stack is [leader, others highest first]: db/2 goes first, installs, and is not healthy
    expect(sim.grants.filter((g) => !g.again).map((g) => g.unit)).toEqual(["db/2"]);
    expect(sim.unit(2).state).toBe("upgrading");
    expect(sim.unit(2).status.message).toMatch(/^Unhealthy: replica lag 30s/);
    sim.setUnhealthy(2, null);
    await sim.settle();
    expect(sim.grants.filter((g) => !g.again).map((g) => g.unit)).toEqual(["db/2", "db/1", "db/0"]);
    expect(sim.units().every((u) => u.state === "idle")).toBe(true);
  });

  it("changing the pause policy mid-roll takes effect before the next unit", async () => {
    const sim = await planned("vm", 3, 5, 0, "none");
    sim.configure("all");
    sim.refresh(2);
    await sim.settle();
    expect(sim.grants.filter((g) => !g.again).map((g) => g.unit)).toEqual(["db/2"]);
    sim.configure("none");
    await sim.settle();
    expect(sim.grants.filter((g) => !g.again).map((g) => g.unit)).toEqual(["db/2", "db/1", "db/0"]);
  });
});
