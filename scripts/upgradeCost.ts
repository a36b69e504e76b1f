/**
 * What one rolling upgrade costs on the one model of Juju (`JujuModel`, the simulator's and the verifier's), every
 * hook running the adapter that ships (`runHookSync`: `CharmUpgrade.dispatchSync`, the same hook program as
 * `dispatch`): hook runs, committed writes, hook-tool calls by tool, wall time. Used by `pnpm bench` (scripts/bench.ts).
 */
import type { Random } from "@charm-upgrade/sim";
import {
  CharmUpgrades,
  createRandom,
  JujuModel,
  runHookSync,
  SimCharm,
  workloadDependencies,
} from "@charm-upgrade/sim";
import type { HookChoice, ModelStep } from "@charm-upgrade/sim";

/** The revision deployed and the one the upgrade goes to (workload 1.0.0, then 1.1.0). */
const OLD = 1;
const NEW = 2;

/** Options of {@link measureUpgrade}. */
export interface UpgradeCostOptions {
  readonly units: number;
  /** Seed of the scheduler: which unit runs its next hook, when each agent notices the refresh. */
  readonly seed: number;
  /** `pause-after-unit-upgrade` (`none`: as the Python original, which never paused on machines). */
  readonly pauseAfter: "none" | "first";
  /** Also run (and count apart) the hooks still due when the upgrade is done (default true). */
  readonly trailing?: boolean;
}

/** What one upgrade cost, from `pre-upgrade-check` until every unit is idle on the new version. */
export interface UpgradeCost {
  readonly options: UpgradeCostOptions;
  /** Hook and action runs, `pre-upgrade-check` (and `resume-upgrade`) included. */
  readonly hooks: number;
  /** Of those, `update-status` runs needed on the way (nothing else was due, and the upgrade was not done). */
  readonly updateStatus: number;
  /** Runs whose commit changed a databag. */
  readonly commits: number;
  /** Hook-tool calls, in all and by tool. */
  readonly calls: number;
  readonly byTool: Readonly<Record<string, number>>;
  /** Hook-tool calls of each run, in order. */
  readonly callsPerHook: readonly number[];
  /** What ran after the last unit was idle until no hook was due (the others hearing of its last writes). */
  readonly trailing: { readonly hooks: number; readonly calls: number };
  /** Wall time of the counted part, and of it the time spent in hooks (the model's own scheduling left out). */
  readonly ms: number;
  readonly hookMs: number;
}

/** The median of a list of numbers (0 for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return 0;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One upgrade of `units` machine units: deploy and settle (not counted), then `pre-upgrade-check` on the leader,
 * `juju refresh`, and what Juju does next in the order a seeded scheduler picks: any unit's next hook, or a unit's
 * agent noticing the new charm (so agents notice it at different times). When nothing else is due,
 * the leader gets `resume-upgrade` if the roll waits for the operator, else time passes (`update-status` on every
 * unit). Counting stops when every unit is idle on the new charm and workload; the hooks that are still due then
 * are counted apart, as trailing.
 */
export function measureUpgrade(options: UpgradeCostOptions): UpgradeCost {
  const { units, seed, pauseAfter } = options;
  const revisions = new Map([
    [OLD, workloadDependencies("1.0.0")],
    [NEW, workloadDependencies("1.1.0")],
  ]);
  const charm = new SimCharm({ revisions });
  const model = new JujuModel({
    app: "db",
    substrate: "vm",
    units,
    leader: 0,
    revision: OLD,
    config: { "pause-after-unit-upgrade": pauseAfter },
  });
  for (const id of model.units.keys()) charm.workloads.set(id, charm.versionOf(OLD));
  const upgrades = new CharmUpgrades();
  const random: Random = createRandom(seed);

  let counting = false;
  const cost = { hooks: 0, updateStatus: 0, commits: 0, calls: 0, hookMs: 0 };
  const byTool: Record<string, number> = {};
  const callsPerHook: number[] = [];
  const run = (id: number, choice: HookChoice = {}) => {
    const started = performance.now();
    const result = runHookSync(model, charm, upgrades, id, choice);
    if (!counting) return result;
    cost.hookMs += performance.now() - started;
    const calls = result.run.tools.calls;
    cost.hooks++;
    if (choice.updateStatus) cost.updateStatus++;
    if (result.committed?.unitChanged || result.committed?.appChanged) cost.commits++;
    cost.calls += calls.length;
    callsPerHook.push(calls.length);
    for (const call of calls) byTool[call.tool] = (byTool[call.tool] ?? 0) + 1;
    return result;
  };
  /**
   * One step Juju may take now (true), or false when nothing but `update-status` is due: a unit drawn at random
   * among those with something to do, then one of its steps (its next hook, or its agent noticing the new charm).
   * Units are drawn until one has a step (listing every unit's next hook costs O(N²) at N = 100); a full scan
   * confirms that none has.
   */
  const stepsOf = (id: number): ModelStep[] => {
    const steps: ModelStep[] = [];
    if (model.nextHook(id)) steps.push({ kind: "hook", unit: id });
    if (model.units.get(id)?.agent.seen !== model.charm) steps.push({ kind: "notice", unit: id });
    return steps;
  };
  const step = (): boolean => {
    const ids = [...model.units.keys()];
    let steps: ModelStep[] = [];
    for (let tries = 0; !steps.length && tries < 2 * ids.length; tries++) steps = stepsOf(random.pick(ids));
    if (!steps.length) {
      const busy = ids.filter((id) => stepsOf(id).length);
      if (!busy.length) return false;
      steps = stepsOf(random.pick(busy));
    }
    const next = random.pick(steps);
    if (next.kind === "hook") run(next.unit);
    else model.notice(next.unit);
    return true;
  };
  const done = () =>
    [...model.units.values()].every(
      (unit) =>
        model.databags[unit.name]?.["state"] === "idle" &&
        unit.agent.charm === NEW &&
        charm.workloadOf(model, unit.id) === charm.versionOf(NEW),
    );
  const limit = 200 * units * units + 10_000;

  // Deploy and settle, not counted: each unit in turn runs every hook it has due, until none has any.
  for (let busy = true, rounds = 0; busy; rounds++) {
    if (rounds > limit) throw new Error(`N=${units}: the deployment did not settle`);
    busy = false;
    for (const id of model.units.keys())
      for (let hook = model.nextHook(id); hook; hook = model.nextHook(id)) {
        run(id);
        busy = true;
      }
  }
  counting = true;
  const start = performance.now();
  const check = run(model.leader ?? 0, { action: { name: "pre-upgrade-check" } });
  if (check.run.tools.model.action?.failure != null)
    throw new Error(`pre-upgrade-check failed: ${check.run.tools.model.action.failure}`);
  model.refresh(NEW);
  for (let i = 0; !done(); i++) {
    if (i > limit) throw new Error(`N=${units} seed ${seed}: the upgrade did not finish in ${limit} steps`);
    if (step()) continue;
    const stack = model.appData["upgrade-stack"];
    if (stack && stack !== "[]") {
      const resumed = run(model.leader ?? 0, { action: { name: "resume-upgrade" } });
      if (resumed.run.tools.model.action?.failure == null) continue;
    }
    for (const s of model.steps()) if (s.kind === "update-status") run(s.unit, { updateStatus: true });
  }
  const ms = performance.now() - start;
  const counted = { ...cost, byTool: Object.fromEntries(Object.entries(byTool).sort((a, b) => b[1] - a[1])) };
  if (options.trailing !== false)
    for (let i = 0; step(); i++) if (i > limit) throw new Error(`N=${units}: trailing hooks did not end`);
  return {
    options,
    ...counted,
    callsPerHook: callsPerHook.slice(0, counted.hooks),
    trailing: { hooks: cost.hooks - counted.hooks, calls: cost.calls - counted.calls },
    ms,
  };
}
