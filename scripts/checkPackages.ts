/**
 * `pnpm check:packages`: check what we publish, as a user would receive it.
 *
 * 1. Builds every package under `packages/` (`pnpm -r --filter './packages/*' run build`); `--skip-build` reuses
 *    the existing `dist/` folders.
 * 2. Packs each published (non-private) package with `pnpm pack`, which rewrites `workspace:*` the way `pnpm
 *    publish` does, so both checks below see the exact tarball a user would install.
 * 3. Runs publint on the tarball (every message, suggestions included) and `@arethetypeswrong/cli` with the
 *    `esm-only` profile: the packages are ES modules only, so `require()` from CommonJS (`node16-cjs`) and the
 *    pre-exports `node10` resolution are out of scope, and every other resolution must be clean.
 * 4. Prints one row per package, then the details of every finding.
 *
 * Directories given as arguments are checked instead of every published package (e.g. `pnpm check:packages
 * --skip-build packages/core`).
 *
 * Exit code: 0 when every package builds with no publint error and no attw problem; 1 otherwise; 2 on bad usage.
 * publint warnings and suggestions are printed but do not fail the check (`--strict` makes warnings fail too).
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../", import.meta.url));
const attwBin = join(root, "node_modules", ".bin", process.platform === "win32" ? "attw.cmd" : "attw");

/** attw resolutions the `esm-only` profile ignores: CommonJS `require()` and pre-exports resolution. */
const IGNORED_RESOLUTIONS = new Set(["node10", "node16-cjs"]);

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly private?: boolean;
  readonly scripts?: Readonly<Record<string, string>>;
}

interface Finding {
  readonly tool: "build" | "pack" | "publint" | "attw";
  readonly level: "error" | "warning" | "suggestion";
  readonly text: string;
}

interface Row {
  readonly name: string;
  readonly dir: string;
  readonly version: string;
  readonly findings: Finding[];
  tarball: { readonly files: number; readonly kB: number } | null;
}

interface AttwProblem {
  readonly kind: string;
  readonly entrypoint?: string;
  readonly resolutionKind?: string;
  readonly typesFileName?: string;
}

function usage(message: string): never {
  process.stderr.write(
    `check:packages: ${message}\nUsage: pnpm check:packages [--skip-build] [--strict] [PACKAGE_DIR...]\n`,
  );
  process.exit(2);
}

async function published(only: readonly string[]): Promise<{ dir: string; pkg: PackageJson }[]> {
  const dirs = only.length
    ? only.map((dir) => resolve(dir))
    : (await readdir(join(root, "packages"), { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(root, "packages", entry.name))
        .sort();
  const found: { dir: string; pkg: PackageJson }[] = [];
  for (const dir of dirs) {
    let pkg: PackageJson;
    try {
      pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as PackageJson;
    } catch {
      if (only.length) usage(`${dir} has no readable package.json`);
      continue;
    }
    if (pkg.private !== true || only.length) found.push({ dir, pkg });
  }
  return found;
}

/** The output of a failed child process, for the report (its last lines: where the error is). */
function failureText(error: unknown): string {
  const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message?: string };
  const text = `${stdout ?? ""}\n${stderr ?? ""}`.trim() || message || String(error);
  return text.split("\n").slice(-25).join("\n");
}

async function build(): Promise<string | null> {
  process.stdout.write("Building every package: pnpm -r --filter './packages/*' run build\n");
  try {
    await run("pnpm", ["-r", "--filter", "./packages/*", "run", "build"], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    return null;
  } catch (error) {
    return failureText(error);
  }
}

async function pack(dir: string, into: string): Promise<string> {
  await run("pnpm", ["pack", "--pack-destination", into], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const tarball = (await readdir(into)).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`pnpm pack wrote no .tgz into ${into}`);
  return join(into, tarball);
}

async function runPublint(tarball: string, strict: boolean): Promise<Finding[]> {
  const bytes = await readFile(tarball);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball: buffer }, level: "suggestion", strict });
  return messages.map((message) => ({
    tool: "publint",
    level: message.type,
    text: `${message.code}: ${formatMessage(message, pkg, { color: false }) ?? JSON.stringify(message)}`,
  }));
}

async function runAttw(tarball: string): Promise<Finding[]> {
  let stdout: string;
  let exitCode = 0;
  try {
    ({ stdout } = await run(attwBin, [tarball, "--profile", "esm-only", "--format", "json"], {
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    const failed = error as { stdout?: string; code?: number };
    stdout = failed.stdout ?? "";
    exitCode = typeof failed.code === "number" ? failed.code : 1;
    if (!stdout.trim()) return [{ tool: "attw", level: "error", text: `attw did not run: ${failureText(error)}` }];
  }
  let problems: AttwProblem[];
  try {
    const parsed = JSON.parse(stdout) as {
      analysis?: { types?: unknown };
      problems?: Record<string, AttwProblem[]> | AttwProblem[];
    };
    if (parsed.analysis?.types === false) {
      return [
        { tool: "attw", level: "error", text: "the package ships no type declarations (no types condition or .d.ts)" },
      ];
    }
    const all = parsed.problems ?? [];
    problems = Array.isArray(all) ? all : Object.values(all).flat();
  } catch {
    return [{ tool: "attw", level: "error", text: `attw printed no JSON: ${stdout.slice(0, 500)}` }];
  }
  const visible = problems.filter((problem) => !IGNORED_RESOLUTIONS.has(problem.resolutionKind ?? ""));
  const findings: Finding[] = visible.map((problem) => ({
    tool: "attw",
    level: "error",
    text: [
      problem.kind,
      problem.entrypoint ? `at "${problem.entrypoint}"` : "",
      problem.resolutionKind ? `(${problem.resolutionKind})` : "",
      problem.typesFileName ? `in ${problem.typesFileName.replace(/^\/node_modules\//, "")}` : "",
      `https://github.com/arethetypeswrong/arethetypeswrong.github.io/blob/main/docs/problems/${problem.kind}.md`,
    ]
      .filter(Boolean)
      .join(" "),
  }));
  if (exitCode !== 0 && findings.length === 0) {
    findings.push({
      tool: "attw",
      level: "error",
      text: `attw exited with ${exitCode} but reported no problem for the esm-only profile`,
    });
  }
  return findings;
}

async function tarballSize(tarball: string): Promise<{ files: number; kB: number }> {
  const { stdout } = await run("tar", ["-tzf", tarball], { maxBuffer: 64 * 1024 * 1024 });
  const bytes = (await readFile(tarball)).byteLength;
  return {
    files: stdout.split("\n").filter((line) => line && !line.endsWith("/")).length,
    kB: Math.round(bytes / 102.4) / 10,
  };
}

function summary(findings: readonly Finding[], tool: Finding["tool"]): string {
  const mine = findings.filter((finding) => finding.tool === tool);
  if (!mine.length) return "ok";
  const count = (level: Finding["level"]) => mine.filter((finding) => finding.level === level).length;
  const parts = [
    count("error") ? `${count("error")} error${count("error") === 1 ? "" : "s"}` : "",
    count("warning") ? `${count("warning")} warning${count("warning") === 1 ? "" : "s"}` : "",
    count("suggestion") ? `${count("suggestion")} suggestion${count("suggestion") === 1 ? "" : "s"}` : "",
  ];
  return parts.filter(Boolean).join(", ");
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const [head, ...body] = rows;
  return [line(head ?? []), `| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`, ...body.map(line)].join(
    "\n",
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const options = args.filter((arg) => arg.startsWith("-"));
  for (const option of options)
    if (option !== "--skip-build" && option !== "--strict") usage(`unknown option ${option}`);
  const strict = args.includes("--strict");

  const packages = await published(args.filter((arg) => !arg.startsWith("-")));
  if (!packages.length) usage("no published package under packages/");
  const buildFailure = args.includes("--skip-build") ? null : await build();

  const rows: Row[] = [];
  const scratch = await mkdtemp(join(tmpdir(), "check-packages-"));
  try {
    for (const { dir, pkg } of packages) {
      const row: Row = {
        name: pkg.name ?? relative(root, dir),
        dir,
        version: pkg.version ?? "?",
        findings: [],
        tarball: null,
      };
      rows.push(row);
      process.stdout.write(`Checking ${row.name}\n`);
      if (!pkg.scripts?.["build"]) row.findings.push({ tool: "build", level: "error", text: "no build script" });
      if (buildFailure)
        row.findings.push({ tool: "build", level: "error", text: "the workspace build failed (see below)" });
      let tarball: string;
      try {
        tarball = await pack(dir, await mkdtemp(join(scratch, "pack-")));
        row.tarball = await tarballSize(tarball);
      } catch (error) {
        row.findings.push({ tool: "pack", level: "error", text: failureText(error) });
        continue;
      }
      try {
        row.findings.push(...(await runPublint(tarball, strict)));
      } catch (error) {
        row.findings.push({ tool: "publint", level: "error", text: `publint failed: ${failureText(error)}` });
      }
      row.findings.push(...(await runAttw(tarball)));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const failing = (row: Row) =>
    row.findings.some((finding) => finding.level === "error" || (strict && finding.level === "warning"));
  process.stdout.write("\n");
  process.stdout.write(
    `${table([
      ["package", "version", "build", "tarball", "publint", "attw (esm-only)", "result"],
      ...rows.map((row) => [
        row.name,
        row.version,
        row.findings.some((finding) => finding.tool === "build") ? "FAILED" : "ok",
        row.tarball ? `${row.tarball.files} files, ${row.tarball.kB} kB` : "-",
        row.tarball ? summary(row.findings, "publint") : "-",
        row.tarball ? summary(row.findings, "attw") : "-",
        failing(row) ? "FAIL" : "pass",
      ]),
    ])}\n`,
  );

  const detailed = rows.filter((row) => row.findings.some((finding) => finding.tool !== "build"));
  for (const row of detailed) {
    process.stdout.write(`\n${row.name} (${relative(root, row.dir)}/package.json)\n`);
    for (const finding of row.findings) {
      if (finding.tool === "build") continue;
      process.stdout.write(`  [${finding.tool} ${finding.level}] ${finding.text.replace(/\n/g, "\n    ")}\n`);
    }
  }
  if (buildFailure) process.stdout.write(`\nThe build failed:\n${buildFailure}\n`);

  const failed = rows.filter(failing);
  process.stdout.write(
    failed.length || buildFailure
      ? `\n${failed.length} of ${rows.length} packages FAIL.\n`
      : `\nAll ${rows.length} packages pass (publint, attw --profile esm-only).\n`,
  );
  return failed.length || buildFailure ? 1 : 0;
}

process.exitCode = await main();
