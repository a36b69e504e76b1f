import type { Substrate, UnitState } from "@charm-upgrade/core";
import { findViolations } from "./findViolations.js";
import { DEFAULT_REVISIONS } from "./revisions.js";
import type { SimInspector } from "./simInspection.js";
import type { ActionOutcome, Faults, HookOutcome, SimEvent, SimUnitInfo } from "./simulator.js";
import { Simulator } from "./simulator.js";

/** Options of {@link rehearseUpgrade}. */
export interface RehearsalOptions {
  /** Units of the application (at least 1). */
  readonly units: number;
  readonly substrate: Substrate;
  /** Seed of the scheduler and faults: the same options give the same rehearsal. */
  readonly seed: number;
  /** A unit whose workload upgrade fails: the rehearsal then expects the upgrade to halt. */
  readonly failUnit?: number | undefined;
  /** After a failure, roll back (pre-upgrade-check on the leader, refresh to the old revision) and expect it to succeed. */
  readonly rollback?: boolean | undefined;
  readonly faults?: Faults | undefined;
  /** The charm's DEPENDENCIES per revision (default: `DEFAULT_REVISIONS`), the deployed one and the target. */
  readonly revisions?: Readonly<Record<number, unknown>> | undefined;
  /** Deployed revision (default 1). */
  readonly from?: number | undefined;
  /** Target revision (default 2). */
  readonly to?: number | undefined;
  /** Called for everything that happens (a returned promise is awaited: a live view may pace itself). */
  readonly onProgress?: ((event: SimEvent) => void | Promise<void>) | undefined;
  /** Hook limit of each settle (default 20 000). */
  readonly limit?: number | undefined;
  /** An xstate inspection observer: each unit shows up as an actor of the upgrade machine (see `createSimInspection`). */
  readonly inspect?: SimInspector | undefined;
}

/**
 * How a rehearsal ended: every unit idle on the target version (`upgraded`); a unit failed and the upgrade stopped
 * there (`halted`); after a rollback, every unit idle on the old version (`rolled-back`); the operator's
 * pre-upgrade-check refused (`refused`); anything else (`stuck`).
 */
export type RehearsalOutcome = "upgraded" | "halted" | "rolled-back" | "refused" | "stuck";

/** One unit at the end of a rehearsal. */
export interface RehearsalUnit {
  readonly name: string;
  readonly leader: boolean;
  readonly state: UnitState | null;
  readonly workloadVersion: string;
  readonly revision: number;
  readonly status: string;
  readonly message: string;
}

/** One hook or action run during a rehearsal. */
export interface RehearsalHook {
  readonly seq: number;
  readonly unit: string;
  readonly hook: string;
  readonly outcome: HookOutcome;
}

/** One operator action during a rehearsal and its outcome. */
export interface RehearsalAction {
  readonly unit: string;
  readonly action: string;
  readonly ok: boolean;
  readonly message: string;
}

/** What {@link rehearseUpgrade} reports; plain JSON. */
export interface RehearsalReport {
  readonly substrate: Substrate;
  readonly seed: number;
  readonly from: { readonly revision: number; readonly version: string };
  readonly to: { readonly revision: number; readonly version: string };
  readonly outcome: RehearsalOutcome;
  /**
   * Whether the rehearsal ended as expected — upgraded; or, with `failUnit`, halted by the failure (rolled back
   * with `rollback`) — with no invariant violated.
   */
  readonly ok: boolean;
  /** One sentence saying how it ended. */
  readonly summary: string;
  readonly units: readonly RehearsalUnit[];
  /** Every hook and action run, in order. */
  readonly hooks: readonly RehearsalHook[];
  /** Units in the order they were granted the upgrade (first grant of each, during the upgrade to `to`). */
  readonly order: readonly string[];
  /** During the rollback, if any. */
  readonly rollbackOrder: readonly string[];
  readonly actions: readonly RehearsalAction[];
  /** The failed unit and its blocked status message, when a unit failed. */
  readonly failure: { readonly unit: string; readonly message: string } | null;
  /** Kubernetes: the StatefulSet's partition at the end; `null` on machines. */
  readonly partition: number | null;
  readonly hookRuns: number;
  readonly databagWrites: number;
  /** Faults injected, in order. */
  readonly faults: readonly string[];
  /** Breaches of the protocol's safety invariants seen during the run (see `findViolations`); empty when safe. */
  readonly violations: readonly string[];
}

/**
 * Rehearse a rolling upgrade on the simulator: deploy, settle, run `pre-upgrade-check` on the leader, `juju
 * refresh`, settle, run `resume-upgrade` whenever the upgrade pauses for the operator (see {@link settleResuming});
 * optionally roll back after a failure. Deterministic for given options.
 *
 * @example
 * ```ts
 * const report = await rehearseUpgrade({ units: 5, substrate: "vm", seed: 1 });
 * report.outcome; // "upgraded"
 * report.order;   // ["db/4", "db/3", "db/2", "db/1", "db/0"]
 * ```
 */
export async function rehearseUpgrade(options: RehearsalOptions): Promise<RehearsalReport> {
  const revisions = options.revisions ?? DEFAULT_REVISIONS;
  const from = options.from ?? 1;
  const to = options.to ?? 2;
  if (
    options.failUnit !== undefined &&
    (!Number.isSafeInteger(options.failUnit) || options.failUnit < 0 || options.failUnit >= options.units)
  ) {
    throw new RangeError(`failUnit must be a unit number below ${options.units}, got ${options.failUnit}`);
  }
  const sim = new Simulator({
    units: options.units,
    substrate: options.substrate,
    seed: options.seed,
    revisions,
    revision: from,
    failUnits: options.failUnit === undefined ? [] : [options.failUnit],
    faults: options.faults,
    onEvent: options.onProgress,
    inspect: options.inspect,
  });
  const limit = options.limit;
  const actions: RehearsalAction[] = [];
  const act = async (action: "pre-upgrade-check" | "resume-upgrade"): Promise<ActionOutcome> => {
    const unit = sim.leader;
    const outcome = await sim.runAction(unit, action);
    actions.push({ unit: `${sim.app}/${unit}`, action, ok: outcome.ok, message: outcome.message });
    return outcome;
  };
  const failed = () => sim.units().find((unit) => unit.state === "failed");
  const drive = async () => {
    for (const resumed of await settleResuming(sim, { limit })) {
      actions.push({
        unit: `${sim.app}/${resumed.unit}`,
        action: "resume-upgrade",
        ok: resumed.ok,
        message: resumed.message,
      });
    }
  };

  await sim.settle({ limit });
  const check = await act("pre-upgrade-check");
  let outcome: RehearsalOutcome;
  let rollbackStart = Number.POSITIVE_INFINITY;
  let failure: RehearsalReport["failure"] = null;
  if (!check.ok) {
    outcome = "refused";
  } else {
    await sim.settle({ limit });
    sim.refresh(to);
    await drive();
    outcome = classify(sim.units(), sim.versionOf(to)) ?? (failed() ? "halted" : "stuck");
    const broken = failed();
    if (broken) failure = { unit: broken.name, message: broken.status.message || "(no status message)" };
    if (outcome === "halted" && options.rollback) {
      rollbackStart = sim.grants.length;
      const recovery = await act("pre-upgrade-check");
      if (recovery.ok) {
        sim.setFailingUnits([]);
        sim.refresh(from);
        await drive();
      }
      outcome = classify(sim.units(), sim.versionOf(from)) === "upgraded" ? "rolled-back" : "stuck";
    }
  }

  const grantsToTarget = sim.grants.filter((grant, index) => grant.revision === to && index < rollbackStart);
  const order = [...new Set(grantsToTarget.map((grant) => grant.unit))];
  const rollbackOrder = [...new Set(sim.grants.slice(rollbackStart).map((grant) => grant.unit))];
  const violations = findViolations(sim.events, sim.app, sim.substrate);
  const ok = violations.length === 0 && expected(options, outcome, sim, order);
  const report: RehearsalReport = {
    substrate: sim.substrate,
    seed: sim.seed,
    from: { revision: from, version: sim.versionOf(from) },
    to: { revision: to, version: sim.versionOf(to) },
    outcome,
    ok,
    summary: summarize(outcome, sim, order, options, failure),
    units: sim.units().map((unit) => ({
      name: unit.name,
      leader: unit.leader,
      state: unit.state,
      workloadVersion: unit.workloadVersion,
      revision: unit.revision,
      status: unit.status.status,
      message: unit.status.message,
    })),
    hooks: sim.hooks.map((hook) => ({ seq: hook.seq, unit: hook.unit, hook: hook.hook, outcome: hook.outcome })),
    order,
    rollbackOrder,
    actions,
    failure,
    partition: sim.partition,
    hookRuns: sim.hooks.length,
    databagWrites: sim.changes.length,
    faults: sim.events.flatMap((event) => (event.type === "fault" ? [event.fault] : [])),
    violations,
  };
  return report;
}

/** One `resume-upgrade` run by {@link settleResuming}. */
export interface ResumeOutcome extends ActionOutcome {
  /** The unit it ran on (the leader). */
  readonly unit: number;
}

/**
 * Settle, then — as an operator watching the upgrade would — run `resume-upgrade` on the leader while the upgrade
 * waits for it (a plan on the stack, no unit failed), settling again after each. Stops at the first refusal
 * (nothing to resume), so it works whatever the pause policy and substrate. Returns the resume outcomes.
 */
export async function settleResuming(
  sim: Simulator,
  options: { readonly limit?: number | undefined } = {},
): Promise<ResumeOutcome[]> {
  const outcomes: ResumeOutcome[] = [];
  await sim.settle(options);
  for (let round = 0; round <= sim.units().length + 1; round++) {
    if (!sim.stack() || sim.units().some((unit) => unit.state === "failed" || unit.state === "recovery")) break;
    const unit = sim.leader;
    const outcome = await sim.runAction(unit, "resume-upgrade");
    outcomes.push({ ...outcome, unit });
    if (!outcome.ok) break;
    await sim.settle(options);
  }
  return outcomes;
}

/** `upgraded` when every unit is idle on `version`, else `null`. */
function classify(units: readonly SimUnitInfo[], version: string): "upgraded" | null {
  return units.length > 0 && units.every((unit) => unit.state === "idle" && unit.workloadVersion === version)
    ? "upgraded"
    : null;
}

function expected(
  options: RehearsalOptions,
  outcome: RehearsalOutcome,
  sim: Simulator,
  order: readonly string[],
): boolean {
  if (options.failUnit === undefined) return outcome === "upgraded";
  if (options.rollback) return outcome === "rolled-back";
  // Halted by the failure: the failing unit is failed, and it was the last unit granted.
  const name = `${sim.app}/${options.failUnit}`;
  return outcome === "halted" && sim.unit(options.failUnit).state === "failed" && order.at(-1) === name;
}

function summarize(
  outcome: RehearsalOutcome,
  sim: Simulator,
  order: readonly string[],
  options: RehearsalOptions,
  failure: RehearsalReport["failure"],
): string {
  const n = sim.units().length;
  switch (outcome) {
    case "upgraded":
      return `All ${n} units upgraded to ${sim.versionOf(options.to ?? 2)} and idle (order: ${order.join(", ")}).`;
    case "halted":
      return `${failure?.unit ?? "A unit"} failed its upgrade (${failure?.message ?? ""}); the upgrade halted after ${order.length} of ${n} units were granted.`;
    case "rolled-back":
      return `${failure?.unit ?? "A unit"} failed; the rollback brought all ${n} units back to ${sim.versionOf(options.from ?? 1)}, idle.`;
    case "refused":
      return "pre-upgrade-check refused the upgrade; nothing was refreshed.";
    default:
      return `The rehearsal did not finish: ${sim
        .units()
        .map((unit) => `${unit.name} ${unit.state ?? "no state"} on ${unit.workloadVersion}`)
        .join(", ")}.`;
  }
}
