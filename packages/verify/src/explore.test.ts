import type { Substrate } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import type { ExploreOptions, ScenarioName } from "./explore.js";
import { explore, formatViolations } from "./explore.js";
import { PLANTED_BUGS } from "./plantedBugs.js";

/**
 * Exhaustive exploration of the protocol at CI size: every delivery order of the queued hooks, one duplicated
 * relation-changed and one leadership change at any point, resume-upgrade whenever it is accepted. Bigger bounds
 * run in `pnpm verify` (docs/verification.md).
 */

const SCENARIOS: readonly ScenarioName[] = ["upgrade", "failure", "rollback", "unplanned"];
const SUBSTRATES: readonly Substrate[] = ["vm", "k8s"];

/** What runs in CI: every scenario on both substrates for N = 2 and N = 3 (≈ 2 minutes on 2 cores). */
const CI: readonly ExploreOptions[] = [2, 3].flatMap((units) =>
  SUBSTRATES.flatMap((substrate) => SCENARIOS.map((scenario) => ({ units, substrate, scenario }))),
);

describe("exhaustive exploration", () => {
  it.each(CI.map((options) => [`${options.scenario} on ${options.substrate} with ${options.units} units`, options] as const))(
    "%s: every state is safe and can reach an end state",
    (_name, options) => {
      const result = explore(options);
      expect(result.complete).toBe(true);
      // On failure this prints each broken invariant with the shortest trace that reaches it.
      expect(formatViolations(result)).toBe(`${options.scenario} on ${options.substrate} with ${options.units} units: no violation`);
      expect(result.ends).toBeGreaterThan(0);
      expect(result.states).toBeGreaterThan(result.roots);
    },
    150_000,
  );
});

describe("the checker can fail", () => {
  it.each(Object.entries(PLANTED_BUGS))("planted bug %s is caught, with a short trace", (_name, bug) => {
    const result = explore({ units: 2, substrate: bug.substrate, scenario: bug.scenario, reduce: bug.reduce });
    const found = result.violations.map((v) => v.invariant);
    for (const invariant of bug.caughtBy) expect(found).toContain(invariant);
    for (const violation of result.violations.filter((v) => bug.caughtBy.includes(v.invariant))) {
      // deploy, plan, refresh, the start state, then at most 7 steps (each followed by its state)
      expect(violation.trace.length).toBeLessThanOrEqual(4 + 2 * 7 + 1);
      expect(violation.trace.join("\n")).toMatch(/<--/);
    }
  });

  it("a livelock (steps that never reach an end) is told apart from a deadlock", () => {
    const result = explore({ units: 2, substrate: "k8s", scenario: "upgrade", reduce: PLANTED_BUGS.neverCompletesUnit1!.reduce });
    expect(result.violations.map((v) => v.invariant)).toEqual(expect.arrayContaining(["deadlock", "livelock"]));
  });

  it("an exploration cut short by maxStates proves nothing and says so", () => {
    const result = explore({ units: 2, substrate: "vm", scenario: "upgrade", maxStates: 50 });
    expect(result.complete).toBe(false);
  });
});
