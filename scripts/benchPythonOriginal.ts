/**
 * `pnpm exec tsx scripts/benchPythonOriginal.ts --python <python> --lib <dir> [--units 5] [--seeds 1,2]`: the summed hook time of
 * one rolling upgrade on machines, the Python original against the example charm, both run as processes by the
 * example's process-test harness (`ProcessJuju`: the one model of Juju, a `dispatch` process per hook, each hook-tool
 * call a Node process answered by the in-memory hook tools). Prints Markdown (never asserted).
 *
 * - The example charm: `examples/upgrade-demo` built as shipped (its bundled Node.js, `dispatch`, compile cache).
 * - The Python original: `scripts/pythonOriginal`, the same charm on `charms.data_platform_libs.v0.upgrade` under
 *   `ops`. `--python` is an interpreter that imports `ops`, `yaml`, `pydantic` (2.x: the library's pydantic 1 API
 *   is taken from `pydantic.v1`) and `poetry.core`; `--lib` holds `charms/data_platform_libs/v0/upgrade.py`. Neither
 *   is in this repository (see docs/benchmarks.md for how they were installed); without them the script says so and
 *   measures nothing.
 *
 * Both run the same upgrade: `pause-after-unit-upgrade=none` (the original's only policy on machines), leader unit 0,
 * `pre-upgrade-check` on the leader, `juju refresh` (every agent notices it at once), then the harness runs each
 * unit's next hook, units in turn, as the model's resolver picks it. Counted from `pre-upgrade-check` until every
 * unit is idle on the new workload version. The hooks are each charm's own: which hook runs next follows from what
 * each charm wrote, so the two sequences differ (their counts are given).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCharm, charmTree, INITIAL_DEPENDENCIES } from "../examples/upgrade-demo/src/buildCharm.js";
import { hostArchitecture } from "../examples/upgrade-demo/src/nodeRuntime.js";
import { DEPENDENCIES_FILE } from "../examples/upgrade-demo/src/readDependencies.js";
import type { DispatchRun } from "../examples/upgrade-demo/src/testing/processJuju.js";
import { ProcessJuju } from "../examples/upgrade-demo/src/testing/processJuju.js";
import { createRandom } from "@charm-upgrade/sim";
import { seededStep } from "./upgradeCost.js";

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const UNITS = Number(arg("--units") ?? 5);
/** Seeds of the scheduler, one upgrade of each charm per seed (default: seed 1, the scenario issue 14 measured). */
const SEEDS = (arg("--seeds") ?? "1").split(",").map(Number);
const NEW = { workload: { ...INITIAL_DEPENDENCIES.workload, version: "1.1.0" } };
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), "pythonOriginal");
/** The library's file inside `--lib`. */
const LIBRARY = join("charms", "data_platform_libs", "v0", "upgrade.py");

/** Why the Python original cannot run here, or `null` when it can (its `ops` version then in `version`). */
function pythonProblem(python: string | undefined, lib: string | undefined): { problem: string | null; ops: string } {
  if (!python || !lib) return { problem: "no --python and --lib given", ops: "" };
  try {
    readFileSync(join(lib, LIBRARY));
  } catch {
    return { problem: `no ${LIBRARY} in ${lib}`, ops: "" };
  }
  try {
    const ops = execFileSync(
      python,
      ["-c", "import ops, yaml, pydantic.v1, poetry.core.constraints.version; print(ops.__version__)"],
      { encoding: "utf8" },
    ).trim();
    return { problem: null, ops };
  } catch (error) {
    return {
      problem: `${python} cannot import ops, yaml, pydantic.v1 and poetry-core: ${(error as Error).message}`,
      ops: "",
    };
  }
}

/**
 * The Python original's charm directory: `scripts/pythonOriginal` with revision 1's `dependencies.json`, the library
 * under `lib/` (its `from pydantic import` taken from `pydantic.v1`: the library pins pydantic < 2), and a `dispatch`
 * that runs `harness.py` (see there) on `python`, as charmcraft's `dispatch` runs `src/charm.py`.
 */
function pythonCharm(dir: string, python: string, lib: string): string {
  mkdirSync(join(dir, "src"), { recursive: true });
  for (const file of ["metadata.yaml", "actions.yaml", "harness.py", join("src", "charm.py")])
    copyFileSync(join(SOURCE, file), join(dir, file));
  writeFileSync(join(dir, DEPENDENCIES_FILE), `${JSON.stringify(INITIAL_DEPENDENCIES, null, 2)}\n`);
  const library = readFileSync(join(lib, LIBRARY), "utf8");
  const v1 = library.replace(
    /^from pydantic import BaseModel, root_validator, validator$/m,
    "from pydantic.v1 import BaseModel, root_validator, validator",
  );
  if (v1 === library) throw new Error(`${LIBRARY}: its pydantic import is not the one LIBPATCH 19 has`);
  mkdirSync(join(dir, "lib", dirname(LIBRARY)), { recursive: true });
  writeFileSync(join(dir, "lib", LIBRARY), v1);
  writeFileSync(
    join(dir, "dispatch"),
    `#!/bin/sh\nJUJU_DISPATCH_PATH="\${JUJU_DISPATCH_PATH:-$0}" PYTHONPATH=lib exec ${resolve(python)} ./harness.py\n`,
  );
  chmodSync(join(dir, "dispatch"), 0o755);
  return dir;
}

/** One upgrade of one charm: its counted hooks (from `pre-upgrade-check`), and the hooks still due after. */
interface Upgrade {
  readonly runs: readonly DispatchRun[];
  readonly trailing: readonly DispatchRun[];
}

/**
 * One upgrade of the charm in `charmDir`, driven as `measureUpgrade` (scripts/upgradeCost.ts) drives the in-memory
 * ones: deploy and settle (not counted), `pre-upgrade-check` on the leader, `juju refresh`, then the step a seeded
 * scheduler picks — a unit's next hook, or its agent noticing the new charm — until every unit is idle on the new
 * workload version; when nothing is due, time passes (`update-status` on every unit).
 */
async function upgrade(charmDir: string, root: string, seed: number): Promise<Upgrade> {
  const juju = await ProcessJuju.create({ charmDir, units: UNITS, root });
  try {
    const { model } = juju;
    model.configure("pause-after-unit-upgrade", "none");
    juju.deploy();
    const limit = 40 * UNITS * UNITS;
    await juju.settle({ limit });
    const leader = juju.unitName(0);
    const from = juju.runs.length;
    const check = await juju.runAction(leader, "pre-upgrade-check");
    if (check.failure !== null || check.exitCode !== 0)
      throw new Error(`pre-upgrade-check failed: ${check.failure ?? check.stderr}`);
    juju.refresh(NEW, { noticeAll: false });
    const random = createRandom(seed);
    const step = seededStep(model, random, async (id) => {
      const run = await juju.runHook(juju.unitName(id));
      if (run.exitCode !== 0) throw new Error(`${run.unit} ${run.dispatchPath} failed: ${run.stderr}`);
    });
    const done = () =>
      juju.unitNames.every(
        (unit) => model.databags[unit]?.["state"] === "idle" && juju.workloadVersion(unit) === NEW.workload.version,
      );
    for (let i = 0; !done(); i++) {
      if (i > limit) throw new Error(`${charmDir}: the upgrade did not end in ${limit} steps`);
      if (await step()) continue;
      for (const unit of juju.unitNames) await juju.runHook(unit, { updateStatus: true });
    }
    const counted = juju.runs.length;
    for (let i = 0; await step(); i++) if (i > limit) throw new Error(`${charmDir}: trailing hooks did not end`);
    return { runs: juju.runs.slice(from, counted), trailing: juju.runs.slice(counted) };
  } finally {
    juju.dispose();
  }
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const python = arg("--python");
const lib = arg("--lib");
const { problem, ops } = pythonProblem(python, lib);
if (problem !== null) {
  process.stdout.write(`Not measured: ${problem}.\n`);
  process.exit(0);
}
const arch = hostArchitecture();
if (!arch) throw new Error(`no Node.js runtime package for ${process.arch}: nothing to measure`);

const work = mkdtempSync(join(tmpdir(), "bench-python-"));
try {
  const built = await buildCharm({ charm: "machine", outDir: join(work, "charm"), architectures: [arch], pack: false });
  const ours = charmTree(built, arch).dir;
  const theirs = pythonCharm(join(work, "python-charm"), python as string, lib as string);
  const pythonVersion = execFileSync(python as string, ["--version"], { encoding: "utf8" }).trim();
  // Alternate the two, seed by seed, so that the machine's load hits both alike.
  const results: { charm: "ours" | "theirs"; upgrade: Upgrade }[] = [];
  for (const seed of SEEDS) {
    for (const charm of ["theirs", "ours"] as const) {
      const result = await upgrade(charm === "ours" ? ours : theirs, join(work, `model-${charm}-${seed}`), seed);
      results.push({ charm, upgrade: result });
      console.error(
        `${charm} seed ${seed}: ${result.runs.length} hooks, ${sum(result.runs.map((r) => r.toolCalls.length))} calls, ${seconds(sum(result.runs.map((r) => r.ms)))} summed`,
      );
    }
  }
  const row = (charm: "ours" | "theirs", label: string) => {
    const mine = results.filter((r) => r.charm === charm).map((r) => r.upgrade);
    const hooks = mine.map((u) => u.runs.length);
    const calls = mine.map((u) => sum(u.runs.map((r) => r.toolCalls.length)));
    const total = mine.map((u) => sum(u.runs.map((r) => r.ms)));
    const perHook = mine.flatMap((u) => u.runs.map((r) => r.ms));
    return {
      total: median(total),
      perHook: median(perHook),
      line: `| ${label} | ${hooks.join(", ")} | ${calls.join(", ")} | ${total.map(seconds).join(", ")} | ${median(perHook).toFixed(0)} ms | ${median(mine.flatMap((u) => u.runs.map((r) => r.toolCalls.length)))} |`,
    };
  };
  const theirsRow = row("theirs", `Python original (\`ops\` ${ops}, ${pythonVersion}, LIBPATCH 19)`);
  const oursRow = row("ours", `example charm (\`upgrade-demo\`, its bundled Node.js ${built.nodeVersion})`);
  const lines = [
    `Command: \`pnpm exec tsx scripts/benchPythonOriginal.ts --python ${python} --lib ${lib} --units ${UNITS}\` — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model.trim() ?? "unknown CPU"} (${cpus().length} cores), load average ${loadavg()[0]?.toFixed(1)} at the end.`,
    "",
    `${UNITS} units on machines, \`pause-after-unit-upgrade=none\`, one upgrade of each charm per seed of the scheduler (${SEEDS.join(", ")}), alternated; each figure is per upgrade, seed by seed. Counted from \`pre-upgrade-check\` until every unit is idle on the new workload version; *median hook* is the median wall time of one hook process, its hook-tool processes included.`,
    "",
    "| charm | hook runs | hook-tool calls | summed hook time | median hook | median calls / hook |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    theirsRow.line,
    oursRow.line,
    "",
    `Summed hook time, ours / the original's: **${(oursRow.total / theirsRow.total).toFixed(2)}×** (medians over the seeds); a median hook ${(oursRow.perHook / theirsRow.perHook).toFixed(2)}× the original's.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
