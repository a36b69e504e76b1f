import { reduce } from "@charm-upgrade/core";
import type { Effect, UpgradeState } from "@charm-upgrade/core";
import type { ExploreOptions } from "./explore.js";
import type { Reducer } from "./memoReduce.js";

/**
 * Deliberately broken reducers, for proving that the checkers can fail: each wraps the core's `reduce` and breaks
 * one rule. Never used outside tests and the demonstration in `pnpm verify`.
 *
 * @module
 */

/** A unit in `state`, with its own view updated to match (so later events of the same hook see it). */
function moved(state: UpgradeState, to: "upgrading"): UpgradeState {
  const { context } = state;
  const units = context.view.units.map((u) => (u.id === context.unit ? { ...u, state: to } : u));
  return { value: to, context: { ...context, view: { ...context.view, units } } };
}

/**
 * Grants without the barrier: a machine unit that becomes `ready` (or stays ready) is granted at once, whoever is
 * on top of the stack and whoever else is upgrading.
 */
export const grantsEveryReadyUnit: Reducer = (state, event) => {
  const result = reduce(state, event);
  if (result.state.value !== "ready" || result.state.context.substrate !== "vm") return result;
  const effects: Effect[] = [
    ...result.effects,
    { type: "writeUnitData", data: { state: "upgrading" } },
    { type: "grantUpgrade" },
  ];
  return { state: moved(result.state, "upgrading"), effects };
};

/** Pops too early: the leader removes the unit on top of the stack while that unit is still upgrading. */
export const popsUpgradingUnit: Reducer = (state, event) => {
  const result = reduce(state, event);
  const { view } = result.state.context;
  const stack = view.stack ?? [];
  const top = stack.at(-1);
  if (!view.leader || top === undefined || view.units.find((u) => u.id === top)?.state !== "upgrading") return result;
  const rest = stack.slice(0, -1);
  const effects: Effect[] = [
    ...result.effects,
    { type: "writeAppData", data: { "upgrade-stack": `[${rest.join(", ")}]` } },
  ];
  const context = { ...result.state.context, view: { ...view, stack: rest.length ? rest : null } };
  return { state: { ...result.state, context }, effects };
};

/** Never finishes upgrading unit 1: the charm's `upgradeCompleted` for it is ignored (a liveness bug). */
export const neverCompletesUnit1: Reducer = (state, event) => {
  if (event.type === "upgradeCompleted" && state.context.unit === 1) return { state, effects: [] };
  return reduce(state, event);
};

/** Kubernetes: once a pod below the highest has restarted, the leader sets the partition back to the highest ordinal. */
export const raisesPartition: Reducer = (state, event) => {
  const result = reduce(state, event);
  const { context } = result.state;
  if (context.substrate !== "k8s" || !context.view.leader) return result;
  const highest = Math.max(...context.view.units.map((u) => u.id));
  const restartedBelow = context.view.units.some(
    (u) => u.id < highest && (u.state === "upgrading" || u.state === "completed"),
  );
  if (!restartedBelow) return result;
  return { state: result.state, effects: [...result.effects, { type: "setPartition", partition: highest }] };
};

/** Machines: upgrade-charm without a plan grants the unit anyway (instead of waiting for pre-upgrade-check). */
export const grantsWithoutPlan: Reducer = (state, event) => {
  const result = reduce(state, event);
  if (event.type !== "upgradeCharm" || result.state.context.view.stack || result.state.context.substrate !== "vm")
    return result;
  const effects: Effect[] = [
    ...result.effects.filter((e) => e.type !== "defer"),
    { type: "writeUnitData", data: { state: "upgrading" } },
    { type: "grantUpgrade" },
  ];
  return { state: moved(result.state, "upgrading"), effects };
};

/** The leader writes every stack with its top listed twice. */
export const duplicatesTop: Reducer = (state, event) => {
  const result = reduce(state, event);
  const effects = result.effects.map((effect): Effect => {
    const raw = effect.type === "writeAppData" ? effect.data["upgrade-stack"] : undefined;
    if (effect.type !== "writeAppData" || raw === undefined || raw === "[]") return effect;
    const stack = JSON.parse(raw) as number[];
    return { ...effect, data: { ...effect.data, "upgrade-stack": `[${[...stack, ...stack.slice(-1)].join(", ")}]` } };
  });
  return { state: result.state, effects };
};

/**
 * Kubernetes: the leader records a partition as soon as it asks for it, before the API server holds it (issue 12.2's
 * bug: a failed patch left a recorded partition the server never held, so the roll believed a pod was let through).
 */
export const recordsUnheldPartition: Reducer = (state, event) => {
  const result = reduce(state, event);
  const { context } = result.state;
  if (context.substrate !== "k8s" || !context.view.leader) return result;
  const moves = result.effects.flatMap((e) =>
    e.type === "setPartition" || e.type === "lowerPartition" ? [e.partition] : [],
  );
  const last = moves.at(-1);
  if (last === undefined) return result;
  const effects: Effect[] = [...result.effects, { type: "writeAppData", data: { "upgrade-partition": String(last) } }];
  const view = { ...context.view, partition: last };
  return { state: { ...result.state, context: { ...context, view } }, effects };
};

/** Kubernetes: a pod's `stop` does not hold the pods below it (issue 12.5's bug: a refresh restarts every pod). */
export const stopHoldsNobody: Reducer = (state, event) => {
  const result = reduce(state, event);
  return { state: result.state, effects: result.effects.filter((e) => e.type !== "raisePartition") };
};

/** A planted bug: the scenario it shows in and the invariants that must catch it. */
export interface PlantedBug {
  readonly reduce: Reducer;
  readonly substrate: "vm" | "k8s";
  readonly scenario: "upgrade" | "failure" | "unplanned";
  readonly caughtBy: readonly string[];
  /**
   * What it needs to show, beyond the default (no fault, pause `first`): the API server failing one partition
   * request, say, and a roll that never pauses (so the leader moves the partition in a hook, not in resume-upgrade).
   */
  readonly explore?: Pick<ExploreOptions, "faults" | "pauseAfter">;
}

/** The planted bugs by name, with where they show and the checkers that must catch them. */
export const PLANTED_BUGS: Readonly<Record<string, PlantedBug>> = {
  grantsEveryReadyUnit: {
    reduce: grantsEveryReadyUnit,
    substrate: "vm",
    scenario: "upgrade",
    caughtBy: ["one-upgrading", "grant-while-upgrading", "grant-not-top"],
  },
  grantsEveryReadyUnitAfterFailure: {
    reduce: grantsEveryReadyUnit,
    substrate: "vm",
    scenario: "failure",
    caughtBy: ["grant-while-failed"],
  },
  popsUpgradingUnit: { reduce: popsUpgradingUnit, substrate: "k8s", scenario: "upgrade", caughtBy: ["stack-lost"] },
  duplicatesTop: { reduce: duplicatesTop, substrate: "vm", scenario: "upgrade", caughtBy: ["stack-duplicate"] },
  raisesPartition: { reduce: raisesPartition, substrate: "k8s", scenario: "upgrade", caughtBy: ["partition"] },
  grantsWithoutPlan: {
    reduce: grantsWithoutPlan,
    substrate: "vm",
    scenario: "unplanned",
    caughtBy: ["grant-before-plan"],
  },
  neverCompletesUnit1: { reduce: neverCompletesUnit1, substrate: "vm", scenario: "upgrade", caughtBy: ["livelock"] },
  recordsUnheldPartition: {
    reduce: recordsUnheldPartition,
    substrate: "k8s",
    scenario: "upgrade",
    caughtBy: ["recorded-partition"],
    explore: { faults: { duplicate: false, leaderChange: false, apiError: ["unavailable"] }, pauseAfter: "none" },
  },
  stopHoldsNobody: {
    reduce: stopHoldsNobody,
    substrate: "k8s",
    scenario: "unplanned",
    caughtBy: ["unchecked-refresh"],
  },
};
