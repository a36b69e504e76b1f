/**
 * What one rolling upgrade costs on the one model of Juju (`JujuModel`, the simulator's and the verifier's), every
 * hook running the adapter that ships: hook runs, committed writes, hook-tool calls by tool, wall time. Two charms:
 * the simulator's (`SimCharm` through `runHookSync`: `CharmUpgrade.dispatchSync`, the same hook program as
 * `dispatch`), and the example charm `examples/upgrade-demo` (its own hook code, `runCharm`, through `dispatch`, over
 * the same in-memory hook tools, with its charm directory and workload on disk). Used by `pnpm bench`
 * (scripts/bench.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommitResult } from "@charm-upgrade/juju";
import type { HookChoice, HookRun, ModelStep, Random } from "@charm-upgrade/sim";
import {
  CharmUpgrades,
  createRandom,
  JujuModel,
  runHookSync,
  SimCharm,
  workloadDependencies,
} from "@charm-upgrade/sim";
import { INITIAL_DEPENDENCIES } from "../examples/upgrade-demo/src/buildCharm.js";
import { DEPENDENCIES_FILE } from "../examples/upgrade-demo/src/readDependencies.js";
import { runCharm } from "../examples/upgrade-demo/src/runCharm.js";
import { VERSION_FILE } from "../examples/upgrade-demo/src/workload.js";

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
  /** Whose hooks run: the simulator's charm (`sim`, default) or the example charm (`demo`). */
  readonly charm?: MeasuredCharm;
}

/** The charms {@link measureUpgrade} can run: the simulator's `SimCharm`, or the example charm's `runCharm`. */
export type MeasuredCharm = "sim" | "demo";

/** What one hook run did, as the measurement needs it. */
interface Ran {
  readonly run: HookRun;
  readonly error: unknown;
  readonly committed: CommitResult | null;
}

/** A charm deployed in a model: run one of its hooks, tell which workload version a unit runs, clean up. */
interface DeployedCharm {
  run(id: number, choice?: HookChoice): Promise<Ran>;
  workloadOf(id: number): string | null;
  close(): void;
}

const VERSIONS: Readonly<Record<number, string>> = { [OLD]: "1.0.0", [NEW]: "1.1.0" };

/** The simulator's charm: every hook through `runHookSync`. */
function simCharm(model: JujuModel): DeployedCharm {
  const revisions = new Map(
    Object.entries(VERSIONS).map(([rev, version]) => [Number(rev), workloadDependencies(version)]),
  );
  const charm = new SimCharm({ revisions });
  for (const id of model.units.keys()) charm.workloads.set(id, charm.versionOf(OLD));
  const upgrades = new CharmUpgrades();
  return {
    run: async (id, choice) => runHookSync(model, charm, upgrades, id, choice),
    workloadOf: (id) => charm.workloadOf(model, id),
    close() {},
  };
}

/**
 * The example charm (`examples/upgrade-demo`), its hook code as `dispatch` runs it (`runCharm`), in this process:
 * each revision's charm directory (`dependencies.json`, `.juju-charm`) and each unit's workload directory on disk,
 * the model's in-memory hook tools as its hook tools (the same calls as in its process test, without a process).
 */
function demoCharm(model: JujuModel): DeployedCharm {
  const root = mkdtempSync(join(tmpdir(), "upgrade-cost-"));
  const charmDir = (revision: number) => join(root, `revision-${revision}`);
  const workloadDir = (id: number) => join(root, "units", String(id), "workload");
  for (const [revision, version] of Object.entries(VERSIONS)) {
    const dir = charmDir(Number(revision));
    mkdirSync(dir, { recursive: true });
    const dependencies = { workload: { ...INITIAL_DEPENDENCIES.workload, version } };
    writeFileSync(join(dir, DEPENDENCIES_FILE), `${JSON.stringify(dependencies)}\n`);
    writeFileSync(join(dir, ".juju-charm"), `ch:amd64/jammy/${model.app}-${revision}\n`);
  }
  return {
    async run(id, choice = {}) {
      const run = model.begin(id, choice);
      const env = { ...run.env, JUJU_CHARM_DIR: charmDir(run.revision), CHARM_WORKLOAD_DIR: workloadDir(id) };
      let error: unknown = null;
      try {
        await runCharm({ substrate: "vm", env, tools: run.tools.run });
      } catch (thrown) {
        error = thrown;
      }
      return { run, error, committed: model.end(run, error ? "failed" : "ok") };
    },
    workloadOf(id) {
      try {
        return readFileSync(join(workloadDir(id), VERSION_FILE), "utf8").trim();
      } catch {
        return null;
      }
    },
    close: () => rmSync(root, { recursive: true, force: true }),
  };
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
  /** Each counted run: which hook, whether its unit led, and the tools it called (for the table by hook). */
  readonly perHook: readonly HookCalls[];
  /** What ran after the last unit was idle until no hook was due (the others hearing of its last writes). */
  readonly trailing: { readonly hooks: number; readonly calls: number };
  /** Wall time of the counted part, and of it the time spent in hooks (the model's own scheduling left out). */
  readonly ms: number;
  readonly hookMs: number;
}

/** One counted hook run: which hook or action, whether its unit was the leader, the tools it called in order. */
export interface HookCalls {
  readonly hook: string;
  readonly leader: boolean;
  readonly tools: readonly string[];
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
export async function measureUpgrade(options: UpgradeCostOptions): Promise<UpgradeCost> {
  const { units, pauseAfter } = options;
  const model = new JujuModel({
    app: "db",
    substrate: "vm",
    units,
    leader: 0,
    revision: OLD,
    config: { "pause-after-unit-upgrade": pauseAfter },
  });
  const charm = options.charm === "demo" ? demoCharm(model) : simCharm(model);
  try {
    return await measure(options, model, charm);
  } finally {
    charm.close();
  }
}

async function measure(options: UpgradeCostOptions, model: JujuModel, charm: DeployedCharm): Promise<UpgradeCost> {
  const { units, seed } = options;
  const random: Random = createRandom(seed);

  let counting = false;
  const cost = { hooks: 0, updateStatus: 0, commits: 0, calls: 0, hookMs: 0 };
  const byTool: Record<string, number> = {};
  const callsPerHook: number[] = [];
  const perHook: HookCalls[] = [];
  const run = async (id: number, choice: HookChoice = {}) => {
    const started = performance.now();
    const result = await charm.run(id, choice);
    // Neither charm fails in these upgrades: a failed hook (retried by Juju) would be a bug, not a cost.
    if (result.error)
      throw new Error(`N=${units} seed ${seed}: ${result.run.unitName} ${result.run.hook.name} failed`, {
        cause: result.error,
      });
    if (!counting) return result;
    cost.hookMs += performance.now() - started;
    const calls = result.run.tools.calls;
    cost.hooks++;
    if (choice.updateStatus) cost.updateStatus++;
    if (result.committed?.unitChanged || result.committed?.appChanged) cost.commits++;
    cost.calls += calls.length;
    callsPerHook.push(calls.length);
    perHook.push({
      hook: result.run.kind === "action" ? `action ${result.run.hook.name}` : result.run.hook.name,
      leader: result.run.tools.model.leader,
      tools: calls.map((call) => call.tool),
    });
    for (const call of calls) byTool[call.tool] = (byTool[call.tool] ?? 0) + 1;
    return result;
  };
  const step = seededStep(model, random, async (id) => {
    await run(id);
  });
  const done = () =>
    [...model.units.values()].every(
      (unit) =>
        model.databags[unit.name]?.["state"] === "idle" &&
        unit.agent.charm === NEW &&
        charm.workloadOf(unit.id) === VERSIONS[NEW],
    );
  const limit = 200 * units * units + 10_000;

  // Deploy and settle, not counted: each unit in turn runs every hook it has due, until none has any.
  for (let busy = true, rounds = 0; busy; rounds++) {
    if (rounds > limit) throw new Error(`N=${units}: the deployment did not settle`);
    busy = false;
    for (const id of model.units.keys())
      for (let hook = model.nextHook(id); hook; hook = model.nextHook(id)) {
        await run(id);
        busy = true;
      }
  }
  counting = true;
  const start = performance.now();
  const check = await run(model.leader ?? 0, { action: { name: "pre-upgrade-check" } });
  if (check.run.tools.model.action?.failure != null)
    throw new Error(`pre-upgrade-check failed: ${check.run.tools.model.action.failure}`);
  model.refresh(NEW);
  for (let i = 0; !done(); i++) {
    if (i > limit) throw new Error(`N=${units} seed ${seed}: the upgrade did not finish in ${limit} steps`);
    if (await step()) continue;
    const stack = model.appData["upgrade-stack"];
    if (stack && stack !== "[]") {
      const resumed = await run(model.leader ?? 0, { action: { name: "resume-upgrade" } });
      if (resumed.run.tools.model.action?.failure == null) continue;
    }
    for (const s of model.steps()) if (s.kind === "update-status") await run(s.unit, { updateStatus: true });
  }
  const ms = performance.now() - start;
  const counted = { ...cost, byTool: Object.fromEntries(Object.entries(byTool).sort((a, b) => b[1] - a[1])) };
  if (options.trailing !== false)
    for (let i = 0; await step(); i++) if (i > limit) throw new Error(`N=${units}: trailing hooks did not end`);
  return {
    options,
    ...counted,
    callsPerHook: callsPerHook.slice(0, counted.hooks),
    perHook: perHook.slice(0, counted.hooks),
    trailing: { hooks: cost.hooks - counted.hooks, calls: cost.calls - counted.calls },
    ms,
  };
}

/**
 * The seeded scheduler both benchmarks of an upgrade use (the in-memory one here, the process one in
 * `benchPythonOriginal.ts`), so that the two charms compared meet the same order of hooks. The returned step takes
 * one step Juju may take now (true), or returns false when nothing but `update-status` is due: a unit drawn at random
 * among those with something to do, then one of its steps (its next hook, run by `runHook`, or its agent noticing the
 * new charm). Units are drawn until one has a step (listing every unit's next hook costs O(N²) at N = 100); a full
 * scan confirms that none has.
 */
export function seededStep(
  model: Pick<JujuModel, "units" | "charm" | "nextHook" | "notice">,
  random: Random,
  runHook: (id: number) => Promise<void>,
): () => Promise<boolean> {
  const stepsOf = (id: number): ModelStep[] => {
    const steps: ModelStep[] = [];
    if (model.nextHook(id)) steps.push({ kind: "hook", unit: id });
    if (model.units.get(id)?.agent.seen !== model.charm) steps.push({ kind: "notice", unit: id });
    return steps;
  };
  return async () => {
    const ids = [...model.units.keys()];
    let steps: ModelStep[] = [];
    for (let tries = 0; !steps.length && tries < 2 * ids.length; tries++) steps = stepsOf(random.pick(ids));
    if (!steps.length) {
      const busy = ids.filter((id) => stepsOf(id).length);
      if (!busy.length) return false;
      steps = stepsOf(random.pick(busy));
    }
    const next = random.pick(steps);
    if (next.kind === "hook") await runHook(next.unit);
    else model.notice(next.unit);
    return true;
  };
}
