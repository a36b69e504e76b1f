/**
 * `pnpm exec tsx scripts/benchDispatch.ts [--runs N]`: how long one hook of the example machine charm takes, against
 * a bare `node -e 0` of the Node.js the charm ships, in the same run. Prints Markdown (never written to a file, never
 * asserted).
 *
 * The hook is an `upgrade-relation-changed` on the leader of a 3-unit machine deployment in the middle of an upgrade:
 * `upgrade-demo/2` (top of the stack) has just completed and the leader pops it. It runs as a real child process
 * with the hook tools of the example's process test (each hook-tool call is a Node process too), and the model is
 * restored before every run. Runs of the different commands are interleaved, so load on the machine hits all alike.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  buildCharm,
  CHARM_BUNDLE,
  charmTree,
  INITIAL_DEPENDENCIES,
  runtimePath,
} from "../examples/upgrade-demo/src/buildCharm.js";
import { hostArchitecture } from "../examples/upgrade-demo/src/nodeRuntime.js";
import { createInMemoryModel } from "@charm-upgrade/juju";
import { HOOK_FILES_ENV, HookFiles } from "../examples/upgrade-demo/src/testing/hookFiles.js";
import { hookToolNode, ProcessJuju } from "../examples/upgrade-demo/src/testing/processJuju.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg === -1 ? 20 : Number(process.argv[runsArg + 1]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a positive whole number");
const WARMUP = 2;
const NEW = { workload: { ...INITIAL_DEPENDENCIES.workload, version: "1.1.0" } };
const LEADER = "upgrade-demo/0";
const TOP = "upgrade-demo/2";

/** Run a process to its end; resolve its wall time in ms, reject on a non-zero exit unless `mayFail`. */
function timed(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; mayFail?: boolean },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = execFile(file, [...args], { cwd: options.cwd, env: options.env }, (error, _stdout, stderr) => {
      const ms = performance.now() - started;
      if (error && !options.mayFail) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(ms);
    });
    child.stdin?.end();
  });
}

function quantile(sorted: readonly number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

const arch = hostArchitecture();
if (!arch) throw new Error(`no Node.js runtime package for ${process.arch}: nothing to measure`);

const work = mkdtempSync(join(tmpdir(), "bench-dispatch-"));
try {
  const charm = await buildCharm({ charm: "machine", outDir: join(work, "charm"), architectures: [arch], pack: false });
  const tree = charmTree(charm, arch);
  const runtime = join(tree.dir, runtimePath(arch));
  const juju = await ProcessJuju.create({ charmDir: tree.dir, units: 3, root: join(work, "model") });
  juju.deploy();
  await juju.settle();
  const check = await juju.runAction(LEADER, "pre-upgrade-check");
  if (check.failure !== null) throw new Error(`pre-upgrade-check failed: ${check.failure}`);
  await juju.settle();
  juju.refresh(NEW);
  await juju.settle({ until: (world) => world.databags[TOP]?.["state"] === "completed" });
  const before = juju.world();
  const states = Object.entries(before.databags)
    .map(([unit, bag]) => `${unit} ${bag["state"] ?? "?"}`)
    .join(", ");
  const snapshot = juju.snapshot();

  const env = { PATH: [dirname(process.execPath), "/usr/bin", "/bin"].join(":"), LANG: "C.UTF-8" };
  const relationHook = { name: "upgrade-relation-changed", remote: TOP } as const;
  // The files of a hook for the lone tool call: the leader's view of a model with nothing in it.
  const toolHook = new HookFiles(join(work, "tool-hook"));
  toolHook.writeModel(createInMemoryModel({ unit: LEADER, leader: true }));
  let toolCalls = 0;
  let commit = "";
  const samples = { node: [] as number[], load: [] as number[], tool: [] as number[], hook: [] as number[] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const keep = i >= WARMUP;
    const node = await timed(runtime, ["-e", "0"], { cwd: work, env });
    // dispatch without Juju's environment: it loads the bundle, finds no JUJU_DISPATCH_PATH and exits 1.
    const load = await timed(tree.dispatch, [], { cwd: tree.dir, env, mayFail: true });
    const tool = await timed(join(juju.root, "bin", "is-leader"), ["--format=json"], {
      cwd: work,
      env: { ...env, [HOOK_FILES_ENV]: toolHook.dir, JUJU_UNIT_NAME: LEADER },
    });
    juju.restore(snapshot);
    const run = await juju.runHook(LEADER, { relationHook });
    if (run.exitCode !== 0) throw new Error(`the hook failed: ${run.stderr}`);
    toolCalls = run.toolCalls.length;
    commit = `unit databag ${run.commit?.unitChanged ? "changed" : "unchanged"}, app databag ${run.commit?.appChanged ? "changed" : "unchanged"}`;
    if (keep) {
      samples.node.push(node);
      samples.load.push(load);
      samples.tool.push(tool);
      samples.hook.push(run.ms);
    }
  }
  juju.restore(snapshot);

  const stats = (values: readonly number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
  };
  const base = stats(samples.node);
  const row = (label: string, values: readonly number[]) => {
    const { median, p90 } = stats(values);
    return `| ${label} | ${median.toFixed(0)} ms | ${p90.toFixed(0)} ms | ${(median / base.median).toFixed(1)}× |`;
  };
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const lines = [
    `Command: \`pnpm exec tsx scripts/benchDispatch.ts --runs ${RUNS}\` — ${new Date().toISOString().slice(0, 10)}, the charm's Node.js ${charm.nodeVersion} (hook tools: ${hookToolNode() === process.execPath ? `Node ${process.version}` : "the charm's Node.js"}), ${cpu} (${cpus().length} cores), load average ${loadavg()[0]?.toFixed(2)} at the end.`,
    "",
    `Hook: \`upgrade-relation-changed\` on the leader \`${LEADER}\` (remote unit \`${TOP}\`), 3 units on machines, before the hook: ${states}; the leader pops \`${TOP}\` (${commit}). ${toolCalls} hook-tool calls, each a Node process as in the example's process test. ${RUNS} runs of each, interleaved, after ${WARMUP} warm-up runs.`,
    "",
    "| what | median | p90 | median / `node -e 0` |",
    "| --- | ---: | ---: | ---: |",
    row(`\`node -e 0\` (the charm's Node.js ${charm.nodeVersion})`, samples.node),
    row("`dispatch` load only (no Juju environment: loads the bundle, exits 1)", samples.load),
    row("one hook-tool call (`is-leader --format=json`, in-memory tools in a Node process)", samples.tool),
    row(`\`dispatch\` \`upgrade-relation-changed\`, its ${toolCalls} hook-tool processes included`, samples.hook),
    "",
    `Bundle: \`${CHARM_BUNDLE}\` ${kib(charm.bundleBytes)} (${charm.bundleBytes} bytes), minified CommonJS, run by the \`sh\` script \`dispatch\` on the charm's own Node.js; the machine charm has no Kubernetes client.`,
    "",
    `Hook time less ${toolCalls} × the hook-tool median: ≈ ${(stats(samples.hook).median - toolCalls * stats(samples.tool).median).toFixed(0)} ms — not a measure of \`dispatch\`'s own time: the adapter reads the databags concurrently, so tool processes overlap (and can make this negative); \`dispatch\` load only, above, is the charm's own cost. Real hook tools are Go binaries talking to the unit agent, far cheaper than a Node process.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  juju.dispose();
} finally {
  rmSync(work, { recursive: true, force: true });
}
