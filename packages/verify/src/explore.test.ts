import type { Substrate } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import type { ExploreOptions, ScenarioName } from "./explore.js";
import { explore, formatViolations } from "./explore.js";
import { PLANTED_BUGS } from "./plantedBugs.js";

/**
 * Exhaustive exploration at CI size, on the one model of Juju with every hook running the adapter that ships:
 * every choice Juju may make (which unit runs next, when each agent notices a refresh, the StatefulSet controller),
 * one `relation-changed` run twice and one leadership change at any point, resume-upgrade whenever it is accepted.
 * Bigger bounds run in `pnpm verify` (docs/verification.md).
 */

const SCENARIOS: readonly ScenarioName[] = [
  "upgrade",
  "failure",
  "rollback",
  "unplanned",
  "refreshBackPaused",
  "refreshBackAfterFailure",
];
const SUBSTRATES: readonly Substrate[] = ["vm", "k8s"];

/**
 * What runs in CI: every scenario on both substrates for N = 2 with both faults, and the upgrade for N = 3 without
 * faults (about 2 minutes on 2 cores). N = 3 with faults, and the rest, are `pnpm verify`'s.
 */
const CI: readonly ExploreOptions[] = [
  ...SUBSTRATES.flatMap((substrate) => SCENARIOS.map((scenario) => ({ units: 2, substrate, scenario }))),
  // `juju refresh` back at any point mid-roll, and to a third revision mid-roll then what the statuses say (issues 15,
  // 12.4): without the faults (about 20 s and 30-80 s each with them off; with them, `pnpm verify`).
  ...SUBSTRATES.flatMap((substrate) =>
    (["refreshBack", "secondRefresh"] as const).map(
      (scenario): ExploreOptions => ({
        units: 2,
        substrate,
        scenario,
        faults: { duplicate: false, leaderChange: false },
      }),
    ),
  ),
  ...SUBSTRATES.map(
    (substrate): ExploreOptions => ({
      units: 3,
      substrate,
      scenario: "upgrade",
      faults: { duplicate: false, leaderChange: false },
    }),
  ),
];

describe("exhaustive exploration", () => {
  it.each(
    CI.map(
      (options) =>
        [
          `${options.scenario} on ${options.substrate} with ${options.units} units${options.faults ? " (no fault)" : ""}`,
          options,
        ] as const,
    ),
  )(
    "%s: every state is safe and can reach an end state",
    (_name, options) => {
      const result = explore(options);
      expect(result.complete).toBe(true);
      // On failure this prints each broken invariant with the shortest trace that reaches it.
      expect(formatViolations(result)).toBe(
        `${options.scenario} on ${options.substrate} with ${options.units} units: no violation`,
      );
      expect(result.ends).toBeGreaterThan(0);
      expect(result.states).toBeGreaterThan(result.roots);
    },
    300_000,
  );
});

describe("the checker can fail", () => {
  it.each(Object.entries(PLANTED_BUGS))(
    "planted bug %s is caught in the code that ships, with a short trace",
    (_name, bug) => {
      const result = explore({
        units: 2,
        substrate: bug.substrate,
        scenario: bug.scenario,
        reduce: bug.reduce,
        faults: { duplicate: false, leaderChange: false },
      });
      const found = result.violations.map((v) => v.invariant);
      for (const invariant of bug.caughtBy) expect(found).toContain(invariant);
      for (const violation of result.violations.filter((v) => bug.caughtBy.includes(v.invariant))) {
        // deploy, plan, refresh, the start state, then at most 16 steps (each followed by its state)
        expect(violation.trace.length).toBeLessThanOrEqual(4 + 2 * 16 + 1);
        expect(violation.trace.join("\n")).toMatch(/<--/);
      }
    },
  );

  it("a roll that never ends is a livelock: time passes (update-status), nothing ever reaches an end", () => {
    const result = explore({
      units: 2,
      substrate: "k8s",
      scenario: "upgrade",
      reduce: PLANTED_BUGS.neverCompletesUnit1!.reduce,
    });
    const livelock = result.violations.find((v) => v.invariant === "livelock");
    expect(livelock?.trace.join("\n")).toMatch(/no end state is reachable from here/);
    // no deadlock: in Juju a unit with nothing else to do still runs update-status
    expect(result.violations.map((v) => v.invariant)).not.toContain("deadlock");
  });

  it("an exploration cut short by maxStates proves nothing and says so", () => {
    const result = explore({ units: 2, substrate: "vm", scenario: "upgrade", maxStates: 50 });
    expect(result.complete).toBe(false);
  });
});

/**
 * Kubernetes faults of issue 12. An evicted pod (12.1) is survived: every state safe, every roll ends. A partition
 * patched by hand (12.4) is not yet: the exploration finds a roll that can never end; it passes (as `it.fails`) while
 * the bug is there, and a fix turns it into `it`.
 */
describe("Kubernetes faults of issue 12", () => {
  it("12.1: a pod evicted at any point mid-roll (it comes back, and Juju runs upgrade-charm anyway) is never reported done on the old revision, and the roll ends", () => {
    const result = explore({
      units: 2,
      substrate: "k8s",
      scenario: "upgrade",
      faults: { duplicate: false, leaderChange: false, evict: true },
    });
    expect(result.complete).toBe(true);
    expect(formatViolations(result)).toBe("upgrade on k8s with 2 units: no violation");
  });

  it.fails("12.4: a partition changed by hand (kubectl patch) is noticed, and the roll goes on or says why not", () => {
    const result = explore({
      units: 2,
      substrate: "k8s",
      scenario: "upgrade",
      faults: { duplicate: false, leaderChange: false, partitionEdit: true },
    });
    // today: a livelock — the partition raised above the library's is never read back
    expect(formatViolations(result)).toBe("upgrade on k8s with 2 units: no violation");
  });
});
