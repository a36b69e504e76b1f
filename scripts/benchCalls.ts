/**
 * Hook-tool calls of whole upgrades against the Python original (issue 14): every upgrade of `measureUpgrade`
 * (scripts/upgradeCost.ts) for N = 3, 5, 10 over seeds 1–20, the example charm and the simulator's, and the Markdown
 * of the two sections of docs/benchmarks.md they give ("Hook-tool calls against the Python original", "Summed hook
 * time"). `pnpm bench` runs it with the rest; alone, it re-measures the calls:
 * `pnpm exec tsx scripts/benchCalls.ts [--seeds 20] [--write]` (`--write`: replace that section in
 * docs/benchmarks.md, leaving the others as they are).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import type { MeasuredCharm, UpgradeCost } from "./upgradeCost.js";
import { measureUpgrade, median } from "./upgradeCost.js";

/** A duration for the tables: milliseconds below a second, else seconds. */
export const ms = (value: number) => (value < 1000 ? `${value.toFixed(0)} ms` : `${(value / 1000).toFixed(1)} s`);
/** A count for the tables, rounded, with thousands separators. */
export const int = (value: number) => Math.round(value).toLocaleString("en-US");

/** Hook-tool calls of upgrades of N units of one charm under one pause policy, over `seeds` seeds. */
export interface CallsRow {
  readonly charm: MeasuredCharm;
  readonly n: number;
  readonly policy: "none" | "first";
  readonly runs: readonly UpgradeCost[];
}

/** Measure every upgrade the two sections report: each charm and pause policy, N = 3, 5, 10, seeds 1…`seeds`. */
export async function measureCalls(seeds: number): Promise<CallsRow[]> {
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
  return callRows;
}

/** The Markdown of the hook-tool-call section, from what {@link measureCalls} measured. */
export function callsSection(callRows: readonly CallsRow[], seeds: number): string[] {
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

  /**
   * Where the calls go, N = 5, pause none, the example charm: each hook (or action) on the leader and on the other
   * units, mean runs and calls per upgrade over the seeds, and per run by tool.
   */
  function hooksTable(): string[] {
    const row = callRows.find((r) => r.charm === "demo" && r.n === 5 && r.policy === "none");
    if (!row) return [];
    const groups = new Map<string, { runs: number; calls: number; tools: Record<string, number> }>();
    for (const run of row.runs)
      for (const hook of run.perHook) {
        const key = `\`${hook.hook}\` | ${hook.leader ? "leader" : "other"}`;
        const group = groups.get(key) ?? { runs: 0, calls: 0, tools: {} };
        group.runs++;
        group.calls += hook.tools.length;
        for (const tool of hook.tools) group.tools[tool] = (group.tools[tool] ?? 0) + 1;
        groups.set(key, group);
      }
    const seeds = row.runs.length;
    const lines = [
      "| hook | unit | runs / upgrade | calls / upgrade | calls / run | by tool, per run |",
      "| --- | --- | ---: | ---: | ---: | --- |",
    ];
    for (const [key, group] of [...groups].sort((a, b) => b[1].calls - a[1].calls)) {
      const tools = Object.entries(group.tools)
        .sort((a, b) => b[1] - a[1])
        .map(([tool, count]) => `${tool} ${(count / group.runs).toFixed(1)}`)
        .join(", ");
      lines.push(
        `| ${key} | ${(group.runs / seeds).toFixed(1)} | ${(group.calls / seeds).toFixed(1)} | ${(group.calls / group.runs).toFixed(1)} | ${tools} |`,
      );
    }
    return lines;
  }

  /**
   * Seed 1, N = 5, pause none: the upgrade scripts/benchPythonOriginal.ts ran the Python original through on the same
   * model (671 hook-tool calls in 59 hook runs; see "Against the Python original, each hook a process").
   */
  function seedOne(): string[] {
    const run = callRows.find((row) => row.charm === "demo" && row.n === 5 && row.policy === "none")?.runs[0];
    if (run?.options.seed !== 1) return [];
    return [
      "",
      `On the very upgrade the Python original ran on this model (seed 1, N = 5: 671 calls in 59 hook runs, measured with`,
      `scripts/benchPythonOriginal.ts, below), the example charm makes ${int(run.calls)} calls in ${run.hooks} hook runs:`,
      `**${(run.calls / 671).toFixed(2)}×** the original's (against issue 14's 961: ${(run.calls / 961).toFixed(2)}×).`,
    ];
  }

  const trailing = callRows
    .filter((row) => row.policy === "none" && row.charm === "sim")
    .map(
      (row) =>
        `N = ${row.n}: ${median(row.runs.map((r) => r.trailing.hooks))} hooks, ${median(row.runs.map((r) => r.trailing.calls))} calls`,
    )
    .join("; ");
  const updateStatus = callRows.reduce((sum, row) => sum + row.runs.reduce((s, r) => s + r.updateStatus, 0), 0);

  return [
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
    "Since issue 15.2 each unit also records the workload version its charm reports (`upgrade-running-workload`).",
    "The example charm reports one: at first each upgraded unit recorded its new version at the start of its next hook,",
    "so it committed once more and every other unit heard of it (a median of 181 / 487 / 1,817 calls for N = 3 / 5 / 10,",
    "0.51× at N = 5). Now the library asks the charm's `workloadVersion()` again right after `onUpgradeGranted`",
    "answered `completed`, and the version is written with `completed`, in the grant's own commit: the example charm",
    "runs the same hooks as the simulator's, and its calls are the figures below (measured on 2026-12-05 just before",
    "and after that change, same seeds). The simulator's charm, which reports no workload version, did not change.",
    "",
    "Then (issue 14) the hooks' log lines went out in fewer `juju-log` calls (consecutive lines of one level in one call,",
    "and no `why:` line that the unit's status gives word for word: Juju keeps every status in the unit's status history),",
    "and `upgrade-charm` on a machine unit that is not next on the stack stopped reading the other units' databags (it",
    "becomes ready and waits whatever they say; `needsPeers`). Just before, same seeds, the example charm made a median",
    "of 176.5 / 455.5 / 1,725.5 calls for N = 3 / 5 / 10.",
    "",
    "Then (issue 14) each unit kept in its memory (the store it reads anyway with `state-get`) the library's keys of its",
    "own databag, whether it led in its last hook, and the peer relation's members, and asks again only where Juju may",
    "have changed them without a hook of this unit saying so: its own databag in `upgrade-charm` and actions (Juju",
    "commits a hook's relation settings and its store in one request, or neither: `worker/uniter/runner/context/context.go`",
    "`doFlush`), `is-leader` on a unit that led in its last hook and in `leader-elected`, `upgrade-charm` and actions (a",
    "unit that gains leadership runs `leader-elected` next; one that loses it runs no hook: `worker/uniter/operation/leader.go`),",
    "and `relation-list` in `upgrade-charm` and actions (the members change only by `-relation-joined` and",
    "`-relation-departed`, which count their remote unit from the start of the hook: `worker/uniter/runner/context/contextfactory.go`).",
    "A `why:` line is no longer logged when the unit's status gives it followed by what the unit runs and the rollback",
    "command. Just before, same seeds, the example charm made a median of 166.5 / 429.5 / 1,624.5 calls for",
    "N = 3 / 5 / 10 (440 on seed 1 at N = 5, 0.66× the original's 671).",
    "",
    "The Python original: 961 hook-tool calls for N = 5 in 89 hook runs (a median of 11 per hook; issue 14). For N = 3 and",
    "N = 10 it takes ≈ 31 and ≈ 331 hook runs; their calls are estimated at 11 per hook. The goal is at most 0.5× its",
    "calls.",
    ...seedOne(),
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
    `By hook, \`pause=none\`, N = 5, the example charm: the leader's runs and the other units' apart (mean over the ${seeds} seeds).`,
    "",
    ...hooksTable(),
  ];
}

/**
 * The Python original's summed hook time against the example charm's, each hook a process: measured by hand with
 * scripts/benchPythonOriginal.ts, which `pnpm bench` does not run (it needs a Python environment with `ops` that this
 * repository does not bring, and takes some 10 minutes); recorded here with its command and date.
 */
const PYTHON_ORIGINAL: readonly string[] = [
  "### Against the Python original, each hook a process",
  "",
  "`pnpm exec tsx scripts/benchPythonOriginal.ts --python <venv>/bin/python --lib <data-platform-libs>/lib --seeds 1,2,3`",
  "— not run by `pnpm bench`: it needs a Python environment with `ops` (below), which this repository does not bring",
  "and CI must not download, and it takes about 10 minutes. It runs one upgrade of each charm per seed on the example's",
  "process-test harness (`ProcessJuju`: the one model of Juju, a `dispatch` process per hook, each hook-tool call a Node",
  "process answered by the in-memory hook tools), driven by the seeded scheduler of the tables above, and sums the wall",
  "time of the hook processes from `pre-upgrade-check` until every unit is idle on the new version. The Python original",
  "is `scripts/pythonOriginal`: the example charm written on `charms.data_platform_libs.v0.upgrade` (LIBPATCH 19) under",
  "`ops`, with its overrides as the library's documentation gives them. Two adaptations, both in the harness, not the",
  "library's logic: the library pins `pydantic<2` and the local index has only pydantic 2.13, so its",
  "`from pydantic import …` is taken from `pydantic.v1` (pydantic 1's API as pydantic 2 ships it); and `ops` writes",
  "`relation-set --file -` as YAML, which the in-memory hook tools do not read, so `harness.py` lets `ops` dump the",
  "YAML (its cost stays in) and sends the same map as JSON (which Juju reads alike: JSON is YAML).",
  "",
  "Measured 2026-12-05 02:41–02:48 (AMD EPYC, 2 cores) on a quiet machine (load average 1.4 at the start, 1.9 at the",
  "end), on main after issue 14's last cuts; command:",
  "`pnpm exec tsx scripts/benchPythonOriginal.ts --python /tmp/pyops/venv/bin/python --lib /tmp/pyops/lib --seeds 1,2,3`",
  "(6 min 51 s).",
  "",
  "| charm | hook runs (seeds 1, 2, 3) | hook-tool calls | summed hook time | median hook | median calls / hook |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  "| Python original (`ops` 2.23.2, Python 3.11.7, LIBPATCH 19) | 59, 65, 58 | 671, 737, 659 | 48.2 s, 55.1 s, 42.1 s | 774 ms | 11 |",
  "| example charm (`upgrade-demo`, its bundled Node.js 24.22.3) | 59, 65, 49 | 451, 507, 392 | 18.1 s, 18.0 s, 13.8 s | 203 ms | 5 |",
  "",
  "Summed hook time, ours / the original's: **0.37×** (median of the three; 0.38×, 0.33×, 0.33× seed by seed); a median",
  "hook 0.26× the original's: the 0.4× goal of issue 14 is met on this harness. Hook-tool calls, ours / the original's",
  "on the same upgrades: 0.67×, 0.69×, 0.59× — the 0.5× goal is met against the issue's 961 (table above), not against",
  "the original measured here. Most of both charms' time is the hook tools': each call here is a Node start-up (≈ 40 ms,",
  "see below), where Juju's are Go binaries; with cheaper tools the ratio would move towards that of the charms' own",
  "starts (Node.js with a 162 KiB bundle against Python importing `ops`, pydantic and poetry-core). An earlier run of the",
  "same command, before the last cuts and at load average 8–11 (other test runs shared the machine), gave 102.4 s,",
  "104.9 s, 181.7 s against 45.7 s, 82.6 s, 38.4 s (0.44×; 466, 522, 407 calls): noisy, and superseded by the run above.",
  "",
  "The hook-tool calls of the original on the one model of Juju differ from the 961 calls in 89 hook runs that issue 14",
  "reports for seed 1: here the same seed gives the original 59 hook runs and 671 calls (11 a hook, as in the issue),",
  "and the example charm runs as many hooks (59) with 451 calls as processes (440 in memory, `benchCalls.ts`: its",
  "process harness answers a few of the example's own calls differently): 0.67× the original's, not the 0.45× of the",
  "table above, which compares with the issue's figure. Which of the two the goal means is for the issue to say.",
  "Since then the hooks keep in their memory what Juju changes only through their own hooks (issue 14, see above): the",
  "same upgrade makes 323 calls in memory (seed 1, `benchCalls.ts`), 0.48× the original's 671; the process runs above",
  "were not repeated (the Python environment they need is not on this machine).",
  "",
  "The environment (2026-12-05): `ops` 2.23.2 from `github:canonical/operator` (tag `2.23.2`, its `ops/` directory put",
  "on the path with a `.pth` file), `lib/charms/data_platform_libs/v0/upgrade.py` from",
  "`github:canonical/data-platform-libs`, and `python3 -m venv venv && venv/bin/pip install pyyaml websocket-client",
  "opentelemetry-api pydantic poetry-core` from the local package index (Python 3.11.7).",
];

/**
 * Issue 14 asks for a summed hook time at most 0.4× the Python original's. What can be measured here: the time
 * spent inside hooks, in this process, over the upgrades of {@link measureCalls} (N = 5, pause none).
 */
export function hookTimeSection(callRows: readonly CallsRow[]): string[] {
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
    "## Summed hook time (machines, N = 5)",
    "",
    "The sum of the time spent inside hooks, from `pre-upgrade-check` until every unit is idle on the new version, in",
    "this process (median over the upgrades above, hook tools answered in memory, so no tool's own cost is in it):",
    "",
    `- the example charm, through \`dispatch\` (async, its charm directory and workload read from disk): ${describe("demo")};`,
    `- the simulator's charm, through \`dispatchSync\`: ${describe("sim")}.`,
    "",
    ...PYTHON_ORIGINAL,
  ];
}

/**
 * Replace the hook-tool-call section in docs/benchmarks.md (up to the next section), keeping the rest: the calls do
 * not depend on the machine's load, the summed hook time beside them does (re-measure it on a quiet machine).
 */
function writeSection(section: readonly string[], seeds: number): void {
  const url = new URL("../docs/benchmarks.md", import.meta.url);
  const doc = readFileSync(url, "utf8").split("\n");
  const start = doc.indexOf(section[0] as string);
  const end = doc.findIndex((line, i) => i > start && line.startsWith("## "));
  if (start < 0 || end < 0) throw new Error(`docs/benchmarks.md: no section ${section[0]} to replace`);
  const command = `Command: \`pnpm exec tsx scripts/benchCalls.ts --seeds ${seeds} --write\` — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores) (this section only).`;
  const [title, ...body] = section;
  writeFileSync(url, [...doc.slice(0, start), title, "", command, ...body, "", ...doc.slice(end)].join("\n"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--seeds");
  const seeds = at >= 0 ? Number(process.argv[at + 1]) : 20;
  const section = callsSection(await measureCalls(seeds), seeds);
  if (process.argv.includes("--write")) writeSection(section, seeds);
  console.log(section.join("\n"));
}
