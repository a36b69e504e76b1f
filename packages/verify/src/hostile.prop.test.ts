import type { Effect, Substrate } from "@charm-upgrade/core";
import { CHARM_PATTERN, KEYS, safeParseDependencies, UNIT_STATES } from "@charm-upgrade/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Breach } from "./invariants.js";
import { parseStack, stepBreaches } from "./invariants.js";
import type { Reducer } from "./memoReduce.js";
import { memoReduce } from "./memoReduce.js";
import type { Observation } from "./world.js";
import { NEW, World } from "./world.js";

/**
 * Hostile relation data in the middle of whole-model upgrades: overwrite a databag value (every key the library
 * reads, and unknown keys) with random text, 100 KB values, wrong JSON types, duplicated and out-of-range unit
 * ids, then keep running hooks and operator actions. Every hook and action that reads an invalid value must name
 * the key and the databag (a `reportProblem` effect; the unit is blocked with that message unless it is
 * mid-upgrade), nothing may throw, no effect may echo a huge value, and no committed write may drop a unit from
 * the stack or grant a unit that is not on top of it.
 */

const UNIT_KEYS = [KEYS.state, KEYS.hold, KEYS.skipped] as const;
const APP_KEYS = [
  KEYS.stack,
  KEYS.dependencies,
  KEYS.resumed,
  KEYS.partition,
  KEYS.rollback,
  KEYS.rollbackPending,
  KEYS.rollbackStopped,
  KEYS.fromCharm,
] as const;
/** The keys whose values the library validates (and so must report when bad). */
const VALIDATED = [
  KEYS.state,
  KEYS.skipped,
  KEYS.stack,
  KEYS.dependencies,
  KEYS.resumed,
  KEYS.partition,
  KEYS.rollbackPending,
  KEYS.rollbackStopped,
  KEYS.fromCharm,
] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set<string>([...UNIT_KEYS, ...APP_KEYS]);

const HUGE = 100_000;

/** Hostile values for any key. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom<string>(...UNIT_STATES, "", " idle", "IDLE", "null"),
  fc.json({ maxDepth: 2 }),
  // unit ids: duplicated, negative, out of range, not integers
  fc.array(fc.integer({ min: -3, max: 12 }), { maxLength: 6 }).map((ids) => JSON.stringify(ids)),
  fc.constantFrom(
    "[0, 0]",
    "[1.5]",
    '["0"]',
    "{}",
    "[-1]",
    "[1e400]",
    "[99, 98]",
    "[9007199254740993]",
    "true",
    '"idle"',
    "[]",
    "-1",
    "1.5",
    "1e400",
    '{"workload": 5}',
    '{"workload": {"name": "workload"}}',
    '{"workload": {"dependencies": {}, "name": "workload", "upgrade_supported": ">=1", "version": "1.0.0"}}',
    '{"workload": {"dependencies": {}, "name": "workload", "upgrade_supported": "^9", "version": "9.0.0"}}',
  ),
  // 100 KB: random text, a stack listing one unit 50,000 times, a JSON object with a huge string
  fc.string({ minLength: 1, maxLength: 3 }).map((c) => c.repeat(Math.ceil(HUGE / c.length)).slice(0, HUGE)),
  fc.constant(`[${Array.from({ length: HUGE / 2 }, () => "0").join(",")}]`),
  fc.constant(
    JSON.stringify({
      workload: { dependencies: {}, name: "x".repeat(HUGE), upgrade_supported: ">=1", version: "1.0.0" },
    }),
  ),
);

/** Where to write: a unit's databag or the app databag, a key the library reads or an unknown one. */
const target = fc.oneof(
  fc.record({
    bag: fc.constant("unit" as const),
    key: fc.constantFrom<string>(...UNIT_KEYS),
    unit: fc.nat({ max: 6 }),
  }),
  fc.record({ bag: fc.constant("app" as const), key: fc.constantFrom<string>(...APP_KEYS), unit: fc.constant(0) }),
  fc.record({
    bag: fc.constantFrom("unit" as const, "app" as const),
    key: fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !KNOWN_KEYS.has(k)),
    unit: fc.nat({ max: 6 }),
  }),
);

const injection = fc.record({ at: fc.nat({ max: 80 }), target, value: hostileValue });

const scenario = fc.record({
  units: fc.integer({ min: 2, max: 5 }),
  substrate: fc.constantFrom<Substrate>("vm", "k8s"),
  leader: fc.nat({ max: 4 }),
  asyncUpgrades: fc.boolean(),
  injections: fc.array(injection, { minLength: 1, maxLength: 3 }),
  picks: fc.array(fc.nat(), { minLength: 8, maxLength: 40 }),
  actions: fc.array(fc.constantFrom("none", "resume", "check"), { minLength: 4, maxLength: 12 }),
});

/** Whether the library must report `value` under `key` (it does not validate `upgrade-rollback`, holds, or unknown keys). */
function invalid(key: string, value: string): boolean {
  if (value === "") return false;
  switch (key) {
    case KEYS.state:
      return !(UNIT_STATES as readonly string[]).includes(value);
    case KEYS.stack:
    case KEYS.rollbackPending: {
      const { stack, error } = parseStack(value);
      return error !== null || new Set(stack).size !== stack.length;
    }
    case KEYS.fromCharm:
      return !CHARM_PATTERN.test(value);
    case KEYS.skipped: {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return true;
      }
      return !(
        Array.isArray(json) &&
        json.length <= 10 &&
        json.every((check) => typeof check === "string" && check.length <= 40)
      );
    }
    case KEYS.dependencies: {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return true;
      }
      return !safeParseDependencies(json).success;
    }
    case KEYS.resumed:
    case KEYS.partition:
    case KEYS.rollbackStopped: {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        return true;
      }
      return !(typeof json === "number" && Number.isSafeInteger(json) && json >= 0);
    }
    default:
      return false;
  }
}

/** Every string an effect carries, except what the library encodes from its own code (its DEPENDENCIES). */
function strings(effect: Effect): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key: string) => {
    if (typeof value === "string") {
      if (!(effect.type === "writeAppData" && key === KEYS.dependencies)) out.push(value);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(effect, "");
  return out;
}

interface Present {
  readonly unit: string | null;
  readonly key: string;
  readonly value: string;
}

/** Coverage of one campaign: per key, how many hooks read an invalid injected value (and so had to report it). */
interface Coverage {
  readonly reportedByKey: Map<string, number>;
  hugeReported: number;
  unknownKeysRead: number;
}

/** The property, over the reducer the model's hooks run through. */
function hostileData(reduce: Reducer, coverage: Coverage) {
  const { reportedByKey } = coverage;
  return fc.property(scenario, (s) => {
    const leader = s.leader % s.units;
    const world = new World({
      units: s.units,
      substrate: s.substrate,
      leader,
      reduce,
      twoStepUpgrades: s.asyncUpgrades,
    });
    const { model } = world;
    world.settle();
    expect(world.action(leader, "pre-upgrade-check").ok).toBe(true);
    model.refresh(NEW);
    world.takeTrace();
    const injected: Present[] = [];
    let pick = 0;
    let action = 0;

    const check = (before: Observation, unit: number, what: string): void => {
      const after = world.observe();
      const trace = world.takeTrace();
      const breaches: Breach[] = stepBreaches({
        substrate: s.substrate,
        before,
        after,
        ...trace,
        unit,
        planned: true,
        newRevision: NEW,
        versionOf: (revision) => world.charm.versionOf(revision),
        strictCompletion: false,
      }).filter(
        (b) =>
          b.invariant === "stack-lost" ||
          b.invariant === "grant-not-top" ||
          b.invariant === "grant-while-upgrading" ||
          b.invariant === "hook-error",
      );
      expect(breaches, what).toEqual([]);
      // Bad values present when the hook started (and not since overwritten by the library before it read them).
      const present = injected.filter((p) => {
        const bag = p.unit === null ? before.appData : before.units.find((u) => `app/${u.id}` === p.unit)?.databag;
        return bag?.[p.key] === p.value;
      });
      for (const hook of trace.hooks) {
        const reports = hook.effects.filter(
          (e): e is Extract<Effect, { type: "reportProblem" }> => e.type === "reportProblem",
        );
        for (const report of reports) {
          expect(report.key, `${what}: the reducer threw inside: ${report.error.message}`).not.toBe("(state)");
          // only the injected bad values are reported, each by key and databag
          const named = present.some((p) => p.key === report.key && p.unit === report.unit && invalid(p.key, p.value));
          expect(named, `${what}: unexpected report ${JSON.stringify(report)}`).toBe(true);
          expect(report.error.message).toContain(report.key);
        }
        // A databag the hook never read cannot mislead it (hooks read other units' data only when a decision
        // needs it); one it read must have every bad value reported.
        for (const p of present.filter((q) => invalid(q.key, q.value) && hook.read.has(q.unit))) {
          const reported = reports.some((r) => r.key === p.key && r.unit === p.unit);
          expect(
            reported,
            `${what}: ${p.unit ?? "app"} ${p.key}=${JSON.stringify(p.value.slice(0, 40))} not reported`,
          ).toBe(true);
          reportedByKey.set(p.key, (reportedByKey.get(p.key) ?? 0) + 1);
          if (p.value.length >= HUGE) coverage.hugeReported++;
        }
        coverage.unknownKeysRead += present.filter((p) => !KNOWN_KEYS.has(p.key)).length;
        for (const effect of hook.effects) {
          for (const text of strings(effect))
            expect(text.length, `${what}: ${effect.type} echoes a huge value`).toBeLessThan(2_000);
          if (effect.type === "setUnitStatus") expect(effect.message.length).toBeLessThanOrEqual(120);
          if (effect.type === "writeAppData" && effect.data[KEYS.stack] !== undefined) {
            const { stack, error } = parseStack(effect.data[KEYS.stack]);
            expect(error, `${what}: wrote a stack that is not JSON`).toBeNull();
            expect(new Set(stack).size, `${what}: wrote a stack listing a unit twice`).toBe(stack.length);
          }
        }
      }
    };

    for (let step = 0; step < 160; step++) {
      for (const inj of s.injections.filter((i) => i.at === step)) {
        const unit = inj.target.unit % s.units;
        const name = inj.target.bag === "app" ? null : `app/${unit}`;
        // As if that unit's (or the leader's) charm had committed it: every other unit hears of it.
        model.commitAs(name ? unit : null, { [inj.target.key]: inj.value });
        injected.push({ unit: name, key: inj.target.key, value: inj.value });
      }
      const leaderNow = model.leader ?? 0;
      if (step % 10 === 9) {
        const kind = s.actions[action++ % s.actions.length];
        if (kind !== "none") {
          const before = world.observe();
          const outcome = world.action(leaderNow, kind === "check" ? "pre-upgrade-check" : "resume-upgrade");
          if (!outcome.ok) expect(outcome.message.length).toBeGreaterThan(0);
          check(before, leaderNow, `action ${kind} on app/${leaderNow}`);
        }
      }
      const steps = model.steps();
      if (!steps.length) continue;
      const next = steps[(s.picks[pick++ % s.picks.length] ?? 0) % steps.length];
      if (!next) continue;
      const before = world.observe();
      if (next.kind === "hook") world.hook(next.unit);
      else if (next.kind === "update-status") world.hook(next.unit, { updateStatus: true });
      else world.take(next);
      check(before, next.unit, `step ${step}: ${next.kind} app/${next.unit}`);
    }
  });
}

const newCoverage = (): Coverage => ({ reportedByKey: new Map(), hugeReported: 0, unknownKeysRead: 0 });

describe("hostile relation data in the middle of an upgrade", () => {
  it("is always reported by key and databag, never throws, never drops a unit from the stack or grants out of turn", () => {
    const coverage = newCoverage();
    // A small reducer cache: 300 cases with 20,000 entries peaked at 600–680 MB, and some campaigns of 300–400 cases ran
    // out of Node's default heap; with 2,000, 300 cases peaked at 350–370 MB, no slower.
    fc.assert(hostileData(memoReduce(undefined, 2_000), coverage), {
      numRuns: 150,
      examples: [
        // Shrunk from CI (seed 1119652570): an action read an invalid state from this unit's own databag and the
        // hook memory kept it; once the databag was valid again, the next hook reported the stale copy.
        [
          {
            units: 2,
            substrate: "vm",
            leader: 0,
            asyncUpgrades: false,
            injections: [
              { at: 3, target: { bag: "unit", key: "state", unit: 0 }, value: " idle" },
              { at: 10, target: { bag: "unit", key: "state", unit: 0 }, value: "recovery" },
            ],
            picks: [0, 60816353, 0, 0, 0, 0, 0, 0],
            actions: ["resume", "none", "none", "none"],
          },
        ],
        // Found by a 3,200-run campaign (seed -1873679798): a unit's state overwritten with "ready" looks like a refresh
        // back (a unit ready on the roll's origin), and the rollback's stack rightly leaves out another unit whose state
        // does not validate but which runs the old workload (the invariant took only idle or ready as untouched).
        [
          {
            units: 5,
            substrate: "k8s",
            leader: 3,
            asyncUpgrades: false,
            injections: [
              { at: 13, target: { bag: "unit", key: "state", unit: 1 }, value: "null" },
              { at: 13, target: { bag: "unit", key: "state", unit: 2 }, value: "ready" },
            ],
            picks: [
              655098341, 1814231874, 878577446, 900583200, 141949069, 906312448, 505378976, 1956149757, 1890635446,
              2029686378, 987095006, 2008445364, 2058787325, 68221974, 1482452377, 254023870, 2068479660, 1316224551,
              1352177402, 2087231026, 557185129, 142247262, 2056682063, 141757828, 1773124065,
            ],
            actions: ["resume", "none", "check", "resume", "resume", "check"],
          },
        ],
        // The same on machines, as the campaign shrank it.
        [
          {
            units: 2,
            substrate: "vm",
            leader: 0,
            asyncUpgrades: false,
            injections: [
              { at: 0, target: { bag: "unit", key: "state", unit: 0 }, value: "null" },
              { at: 0, target: { bag: "unit", key: "state", unit: 1 }, value: "ready" },
            ],
            picks: [0, 0, 0, 0, 0, 0, 0, 0],
            actions: ["none", "none", "none", "none"],
          },
        ],
      ],
    });
    // The property is not vacuous: every validated key was fuzzed into hooks that reported it.
    for (const key of VALIDATED) {
      expect(coverage.reportedByKey.get(key) ?? 0, `${key} reported`).toBeGreaterThan(5);
    }
    expect(coverage.hugeReported).toBeGreaterThan(10);
    expect(coverage.unknownKeysRead).toBeGreaterThan(10);
  });

  it("the property can fail: a reducer that hides bad data is caught", () => {
    const hides: Reducer = (state, event) => {
      const result = memoized(state, event);
      return { state: result.state, effects: result.effects.filter((e) => e.type !== "reportProblem") };
    };
    const memoized = memoReduce(undefined, 20_000);
    const run = fc.check(hostileData(hides, newCoverage()), { numRuns: 60, seed: 1 });
    expect(run.failed).toBe(true);
    expect(String(run.errorInstance)).toMatch(/not reported/);
  });
});
