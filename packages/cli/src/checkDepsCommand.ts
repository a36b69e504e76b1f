import type { Dependencies } from "@charm-upgrade/core";
import { checkCompatibility, safeParseDependencies } from "@charm-upgrade/core";
import type { CliIO } from "./io.js";
import { EXIT, UsageError } from "./io.js";

/** Usage of the `check-deps` command. */
export const CHECK_DEPS_USAGE = `Usage: charm-upgrade check-deps CURRENT.json NEW.json

May an application whose stored DEPENDENCIES is CURRENT.json be refreshed to a charm whose DEPENDENCIES is
NEW.json? Both files hold a DEPENDENCIES object, e.g.
  {"workload": {"dependencies": {}, "name": "db", "upgrade_supported": "^14", "version": "14.9"}}
Only the keys in both files are compared: it says so when they share none.

Exit code: 0 when compatible, 1 when not, 2 on bad arguments or invalid files.`;

/** Input that cannot be checked: a file that is missing, not JSON, or not a valid DEPENDENCIES object. */
class InputError extends Error {}

const EXAMPLE = `{"workload": {"dependencies": {}, "name": "db", "upgrade_supported": "^14", "version": "14.9"}}`;

/** What a JSON value is, in words: `an array`, `null`, `a number (5)`. */
function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array (${value.length} item${value.length === 1 ? "" : "s"})`;
  const shown = JSON.stringify(value);
  const article = typeof value === "object" ? "an" : "a";
  return `${article} ${typeof value} (${shown.length > 40 ? `${shown.slice(0, 39)}…` : shown})`;
}

async function load(path: string, label: string, io: CliIO): Promise<Dependencies> {
  const read = io.readFile ?? (async (file: string) => (await import("node:fs/promises")).readFile(file, "utf8"));
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : error instanceof Error
            ? error.message
            : String(error);
    throw new InputError(`${label} ${path}: cannot read it (${why})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${label} ${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  // Checked here, not left to the schema: a JSON array passes for an object of models (its keys are its indexes),
  // and `null` or a number deserves a message that says what the file should hold.
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(
      `${label} ${path}: DEPENDENCIES must be a JSON object of models keyed by name, e.g. ${EXAMPLE}; got ${jsonKind(json)}`,
    );
  }
  const parsed = safeParseDependencies(json);
  if (!parsed.success) {
    const issues = parsed.issues.map((issue) => `  ${path}: ${issue.path}: ${issue.message}`).join("\n");
    throw new InputError(`${label} ${path}: not a valid DEPENDENCIES object:\n${issues}`);
  }
  return parsed.output;
}

/**
 * Run `charm-upgrade check-deps CURRENT NEW`: validate both DEPENDENCIES files (core's `safeParseDependencies`),
 * compare them (core's `checkCompatibility`) and print the verdict with the reason for every key, and a warning when
 * the files share no key (nothing compared: most likely the wrong file). Resolves to the exit code: 0 compatible,
 * 1 incompatible, 2 when a file cannot be read or is not a DEPENDENCIES object (an array, `null`, a number, …).
 *
 * @throws {@link UsageError} when not given exactly two files.
 */
export async function checkDepsCommand(args: readonly string[], io: CliIO): Promise<number> {
  const files = args.filter((arg) => arg !== "--");
  const option = files.find((arg) => arg.startsWith("-"));
  if (option) throw new UsageError(`unknown option ${option}`);
  if (files.length !== 2)
    throw new UsageError(`check-deps takes two files, CURRENT.json and NEW.json (got ${files.length})`);
  const [currentPath = "", nextPath = ""] = files;
  let current: Dependencies;
  let next: Dependencies;
  try {
    current = await load(currentPath, "CURRENT", io);
    next = await load(nextPath, "NEW", io);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    io.stderr.write(`charm-upgrade check-deps: ${error.message}\n`);
    return EXIT.usage;
  }
  const report = checkCompatibility(current, next);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  out(
    report.compatible
      ? `Compatible: an application running ${currentPath} may be refreshed to ${nextPath}.`
      : `Incompatible: an application running ${currentPath} may NOT be refreshed to ${nextPath}.`,
  );
  for (const key of report.keys) out(`  ${key.key}: ${key.verdict} - ${key.reason}`);
  const shared = Object.keys(current).filter((key) => Object.hasOwn(next, key));
  if (!shared.length) {
    const keys = (deps: Dependencies) => (Object.keys(deps).length ? Object.keys(deps).join(", ") : "none");
    out(
      `Nothing was compared: ${currentPath} and ${nextPath} share no DEPENDENCIES key (CURRENT has ${keys(current)}; NEW has ${keys(next)}). Check that both files are the same charm's DEPENDENCIES.`,
    );
  }
  if (!report.compatible) {
    out(report.message);
    out(report.cause);
  }
  return report.compatible ? EXIT.ok : EXIT.failed;
}
