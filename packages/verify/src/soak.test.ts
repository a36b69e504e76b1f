import { beforeAll, describe, expect, it } from "vitest";
import { grantsEveryReadyUnit } from "./plantedBugs.js";
import type { SoakSummary } from "./soak.js";
import { formatSummary, setupOf, soak, soakRun } from "./soak.js";

/** A small fault campaign in CI; `pnpm soak` runs 100,000 (docs/verification.md). */
const RUNS = 500;

describe("fault campaign", () => {
  let summary: SoakSummary;
  beforeAll(() => {
    summary = soak({ runs: RUNS });
  }, 300_000);

  it(`${RUNS} seeded runs: every run ends upgraded, rolled back or restored, no unit lost or listed twice in a stack`, () => {
    expect(summary.failures, formatSummary(summary)).toEqual([]);
    expect(summary.upgraded + summary.rolledBack + summary.restored).toBe(RUNS);
    expect(summary.lost).toBe(0);
    expect(summary.duplicated).toBe(0);
    // the faults did happen
    expect(summary.crashes).toBeGreaterThan(RUNS / 20);
    expect(summary.rolledBack).toBeGreaterThan(RUNS / 20);
    // `juju refresh` back mid-roll, with no failure needed (issue 15)
    expect(summary.restored).toBeGreaterThan(RUNS / 20);
  });

  it("covers 1 to 7 units on both substrates, with every kind of fault", () => {
    const setups = Array.from({ length: RUNS }, (_, i) => setupOf(i + 1));
    expect(new Set(setups.map((s) => s.units))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    expect(new Set(setups.map((s) => s.substrate))).toEqual(new Set(["vm", "k8s"]));
    for (const fault of [
      "crash",
      "duplicate",
      "reorder",
      "leaderChanges",
      "scaleOuts",
      "scaleIns",
      "apiFaults",
    ] as const) {
      expect(setups.filter((s) => s[fault] > 0).length, fault).toBeGreaterThan(RUNS / 10);
    }
    // juju refresh before pre-upgrade-check, on both substrates; API faults on Kubernetes only
    for (const substrate of ["vm", "k8s"] as const)
      expect(setups.filter((s) => s.unchecked && s.substrate === substrate).length, substrate).toBeGreaterThan(
        RUNS / 20,
      );
    expect(setups.filter((s) => s.apiFaults > 0 && s.substrate === "vm")).toEqual([]);
    // evicted pods (issue 12.1) and a partition patched by hand (12.4), on Kubernetes only
    for (const fault of ["evictions", "partitionEdits"] as const) {
      expect(setups.filter((s) => s[fault] > 0).length, fault).toBeGreaterThan(RUNS / 20);
      expect(setups.filter((s) => s[fault] > 0 && s.substrate === "vm")).toEqual([]);
    }
    // a charm replaced without upgrade-charm on a unit whose hook failed (LP#2068500), on machines only
    expect(setups.filter((s) => s.skippedUpgradeCharms > 0).length).toBeGreaterThan(RUNS / 20);
    expect(setups.filter((s) => s.skippedUpgradeCharms > 0 && s.substrate === "k8s")).toEqual([]);
    expect(setups.filter((s) => s.failing !== null).length).toBeGreaterThan(RUNS / 4);
    // the operator's refresh back, or to a third revision, mid-roll (issues 15 and 12.4)
    expect(setups.filter((s) => s.refreshBack).length).toBeGreaterThan(RUNS / 10);
    // (a third revision on both substrates: issue 12.4 on Kubernetes)
    for (const substrate of ["vm", "k8s"] as const)
      expect(setups.filter((s) => s.thirdRefresh && s.substrate === substrate).length, substrate).toBeGreaterThan(
        RUNS / 40,
      );
  });

  it("a run is a pure function of its seed", () => {
    const a = soakRun(38, { verbose: true });
    const b = soakRun(38, { verbose: true });
    expect(b.log).toEqual(a.log);
    expect(b.failures).toEqual(a.failures);
  });

  it("the campaign catches a planted bug in the code that ships", () => {
    const failed = Array.from({ length: 30 }, (_, i) => soakRun(i + 1, { reduce: grantsEveryReadyUnit })).filter(
      (report) => report.setup.substrate === "vm" && report.setup.units > 1 && report.failures.length,
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.flatMap((r) => r.failures.map((f) => f.invariant))).toEqual(
      expect.arrayContaining(["grant-not-top"]),
    );
  });
});
