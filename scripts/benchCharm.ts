/**
 * `pnpm exec tsx scripts/benchCharm.ts [--runs N]`: the example's charms as shipped — their size per platform, and
 * how long `dispatch` takes to start on the Node.js it ships, against that Node's own `node -e 0`, with what was
 * tried to make start-up cheaper. Prints Markdown (never written to a file, never asserted); `pnpm bench` runs it.
 *
 * Cold start is `dispatch` run without Juju's environment: `sh` finds the runtime, Node.js starts and loads the
 * charm, which finds no `JUJU_DISPATCH_PATH` and exits 1 — everything a hook pays before its own work. Each
 * variant is a `dispatch` written beside the real one in the same tree, so all of them start the same way. Runs of
 * the variants are interleaved, so load on the machine hits all alike; CPU time (user + system, the process and its
 * threads, from `sh`'s `times` over a loop of runs) is given too, as a busy machine stretches wall time more.
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BuiltCharm } from "../examples/upgrade-demo/src/buildCharm.js";
import {
  buildCharm,
  bundleScript,
  CHARM_BUNDLE,
  CHARM_LOADER,
  charmTree,
  COMPILE_CACHE_DIR,
  runtimePath,
} from "../examples/upgrade-demo/src/buildCharm.js";
import { hostArchitecture } from "../examples/upgrade-demo/src/nodeRuntime.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg === -1 ? 30 : Number(process.argv[runsArg + 1]);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a positive whole number");
const WARMUP = 3;
const arch = hostArchitecture();
if (!arch) throw new Error(`no Node.js runtime package for ${process.arch}: nothing to measure`);

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** A variant of the cold start: a command, and what to do before each run (outside the timing). */
interface Variant {
  readonly label: string;
  readonly argv: readonly string[];
  readonly before?: () => void;
  /** Whether the CPU loop is meaningful (it is not when `before` must run between runs). */
  readonly cpu: boolean;
}

/** Wall time of one run, in ms (the exit code is not checked: most variants exit 1 by design). */
function wall(argv: readonly string[], env: Record<string, string>): number {
  const started = performance.now();
  const result = spawnSync(argv[0] ?? "", argv.slice(1), { env, stdio: "ignore" });
  if (result.error) throw result.error;
  return performance.now() - started;
}

/** CPU time per run (user + system of the process and its threads), in ms, from `times` after a loop in `sh`. */
function cpuPerRun(argv: readonly string[], env: Record<string, string>, runs: number): number {
  const script = `i=0; while [ "$i" -lt ${runs} ]; do "$@" >/dev/null 2>&1; i=$((i+1)); done; times`;
  const out = execFileSync("/bin/sh", ["-c", script, "sh", ...argv], { env, encoding: "utf8" })
    .trim()
    .split("\n");
  const children = out[out.length - 1] ?? "";
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (total, m) => total + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return (seconds * 1000) / runs;
}

/**
 * The built-in modules (`process.moduleLoadList`, Node's own JavaScript modules) that loading `loader` adds to what
 * Node.js loads for a script that does nothing: what a hook pays for beyond `node -e 0` other than the bundle itself.
 */
function builtinsLoaded(node: string, loader: string, env: Record<string, string>): string[] {
  const probe = [
    "const before = new Set(process.moduleLoadList);",
    'process.on("exit", () => require("node:fs").writeSync(3, JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m)))));',
    `require(${JSON.stringify(loader)});`,
  ].join("\n");
  const result = spawnSync(node, ["-e", probe], {
    env,
    stdio: ["ignore", "ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const output = result.output[3];
  const names = JSON.parse(typeof output === "string" && output ? output : "[]") as string[];
  return names
    .map((name) => name.replace(/^NativeModule /, ""))
    .filter((name) => !name.startsWith("Internal Binding "));
}

function sizeRows(charm: BuiltCharm): string[] {
  return charm.charms.map((packed) => {
    const tree = charmTree(charm, packed.platform.architecture);
    return `| \`${packed.path.slice(packed.path.lastIndexOf("/") + 1)}\` | ${mib(packed.bytes)} (${packed.bytes.toLocaleString("en-US")} bytes) | ${mib(tree.bytes)} |`;
  });
}

const work = mkdtempSync(join(tmpdir(), "bench-charm-"));
try {
  const machine = await buildCharm({ charm: "machine", outDir: join(work, "machine") });
  const k8s = await buildCharm({ charm: "k8s", outDir: join(work, "k8s") });
  const tree = charmTree(machine, arch);
  const node = join(tree.dir, runtimePath(arch));
  const dispatch = readFileSync(tree.dispatch, "utf8");
  const loaderLine = `exec "$node" "$charm/${CHARM_LOADER}" "$@"`;
  if (!dispatch.includes(loaderLine))
    throw new Error(`dispatch no longer ends with ${loaderLine}: update this benchmark`);
  /** A `dispatch` beside the real one whose last line runs `exec` with other arguments. */
  const variant = (name: string, exec: string) => {
    const path = join(tree.dir, name);
    writeFileSync(path, dispatch.replace(loaderLine, exec), { mode: 0o755 });
    return path;
  };

  // A V8 start-up snapshot of the charm's code, built with the runtime the charm ships (so for this machine only).
  const snapshotEntry = join(work, "snapshot-entry.cjs");
  const blob = join(tree.dir, "lib", "snapshot.blob");
  await bundleScript(join(import.meta.dirname, "benchSnapshotEntry.ts"), snapshotEntry, {
    target: `node${machine.nodeVersion.split(".")[0]}`,
    define: { CHARM_SUBSTRATE: JSON.stringify(machine.substrate) },
  });
  const snapshotBuild = spawnSync(node, ["--snapshot-blob", blob, "--build-snapshot", snapshotEntry], {
    encoding: "utf8",
  });
  const snapshotWarning = /not yet fully verified whether built-in module "([^"]+)"/.exec(snapshotBuild.stderr)?.[1];
  if (snapshotBuild.status !== 0) throw new Error(`building the snapshot failed: ${snapshotBuild.stderr}`);

  const cache = join(tree.dir, COMPILE_CACHE_DIR);
  const env = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
  const variants: Variant[] = [
    { label: "`runtime/<arch>/node -e 0` (the Node.js the charm ships)", argv: [node, "-e", "0"], cpu: true },
    {
      label: "`dispatch` without the charm: `sh`, `uname -m`, then `exec node -e 0`",
      argv: [variant("dispatch.bare", `exec "$node" -e 0`)],
      cpu: true,
    },
    { label: "**`dispatch` as shipped** (compile cache written by an earlier hook)", argv: [tree.dispatch], cpu: true },
    {
      label: "`dispatch` as shipped, first hook on the unit (no compile cache yet: it compiles and writes it)",
      argv: [tree.dispatch],
      before: () => rmSync(cache, { recursive: true, force: true }),
      cpu: false,
    },
    {
      label: "`dispatch` without the compile cache (`exec node lib/charm.cjs`)",
      argv: [variant("dispatch.no-cache", `exec "$node" "$charm/${CHARM_BUNDLE}" "$@"`)],
      cpu: true,
    },
    {
      label: "`dispatch` with a V8 start-up snapshot of the charm (`node --snapshot-blob`)",
      argv: [variant("dispatch.snapshot", `exec "$node" --snapshot-blob "$charm/lib/snapshot.blob" "$@"`)],
      cpu: true,
    },
  ];
  const samples = variants.map(() => [] as number[]);
  for (let i = 0; i < WARMUP + RUNS; i++) {
    variants.forEach((v, index) => {
      v.before?.();
      const ms = wall(v.argv, env);
      if (i >= WARMUP) samples[index]?.push(ms);
    });
  }
  const cpu = variants.map((v) => (v.cpu ? cpuPerRun(v.argv, env, RUNS) : null));
  const medians = samples.map((values) =>
    quantile(
      [...values].sort((a, b) => a - b),
      0.5,
    ),
  );
  const base = medians[0] ?? Number.NaN;
  const baseCpu = cpu[0] ?? Number.NaN;
  const rows = variants.map((v, index) => {
    const sorted = [...(samples[index] ?? [])].sort((a, b) => a - b);
    const median = medians[index] ?? Number.NaN;
    const cpuMs = cpu[index];
    return `| ${v.label} | ${median.toFixed(0)} ms | ${quantile(sorted, 0.9).toFixed(0)} ms | ${(median / base).toFixed(2)}× | ${cpuMs === null || cpuMs === undefined ? "—" : `${cpuMs.toFixed(0)} ms (${(cpuMs / baseCpu).toFixed(2)}×)`} |`;
  });

  const loaded = builtinsLoaded(node, join(tree.dir, CHARM_LOADER), env);

  const cpuModel = cpus()[0]?.model.trim() ?? "unknown CPU";
  const lines = [
    `Command: \`pnpm exec tsx scripts/benchCharm.ts --runs ${RUNS}\` — ${new Date().toISOString().slice(0, 10)}, ${cpuModel} (${cpus().length} cores), load average ${loadavg()[0]?.toFixed(2)} at the end; the charm's Node.js ${machine.nodeVersion}, ${arch}.`,
    "",
    "### Size",
    "",
    `One \`.charm\` per platform, each with only its own architecture's Node.js (the official binary, ${mib(readFileSync(node).byteLength)} unpacked). \`lib/charm.cjs\` is ${kib(machine.bundleBytes)} in both charms; the Kubernetes charm adds \`lib/k8s.cjs\`, ${kib(k8s.k8sBundleBytes ?? 0)}.`,
    "",
    "| file | size | unpacked |",
    "| --- | ---: | ---: |",
    ...sizeRows(machine),
    ...sizeRows(k8s),
    "",
    "### Cold start of `dispatch`",
    "",
    `The machine charm, ${arch}, run without Juju's environment (it loads the charm, which exits 1: no \`JUJU_DISPATCH_PATH\`). ${RUNS} runs of each, interleaved, after ${WARMUP} warm-up runs; CPU time over another ${RUNS} runs of each.`,
    "",
    "| what | median | p90 | median / `node -e 0` | CPU time a run |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `Node.js's own modules the shipped charm loads beyond those \`node -e 0\` loads, on its way to the error (\`process.moduleLoadList\`): ${loaded.length ? loaded.map((m) => `\`${m}\``).join(", ") : "none"}.`,
    "",
    ...(snapshotWarning
      ? [
          `Building the snapshot, Node.js warns: it is "not yet fully verified whether built-in module \\"${snapshotWarning}\\" works in user snapshot builder scripts".`,
          "",
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
