import { parseArgs } from "node:util";
import type { Substrate } from "@charm-upgrade/core";
import type { RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { rehearseUpgrade } from "@charm-upgrade/sim";
import type { InspectorConnection } from "./connectInspector.js";
import { connectInspector, DEFAULT_INSPECT_URL, InspectorConnectionError } from "./connectInspector.js";
import { htmlReport } from "./htmlReport.js";
import type { CliIO } from "./io.js";
import { EXIT, OptionError, UsageError } from "./io.js";
import { createProgressView } from "./progressView.js";

/** What `charm-upgrade simulate` was asked to do. */
export interface SimulateOptions {
  readonly units: number;
  readonly substrate: Substrate;
  readonly seed: number;
  readonly failUnit?: number | undefined;
  /** After the failure, roll back (pre-upgrade-check, refresh to the old revision). */
  readonly rollback: boolean;
  /** Print the report as JSON, and nothing else. */
  readonly json: boolean;
  /** Pause after each redraw of the live view (ms); `undefined`: 40 on a terminal, none elsewhere. */
  readonly delayMs?: number | undefined;
  /** Send xstate inspection events to the Stately inspector at this WebSocket URL (`undefined`: no inspection). */
  readonly inspectUrl?: string | undefined;
  /** Write the HTML report (state chart and timeline) to this file. */
  readonly html?: string | undefined;
}

/** Usage of the `simulate` command. */
export const SIMULATE_USAGE = `Usage: charm-upgrade simulate [--units N] [--substrate vm|k8s] [--seed S] [--fail-unit UNIT] [--rollback] [--json] [--delay MS]
                               [--html FILE] [--inspect] [--inspect-url URL]

Rehearse a rolling upgrade (juju refresh) of an application of N units on the built-in in-memory Juju, every hook
running the real charm-upgrade Juju adapter: deploy, pre-upgrade-check on the leader, refresh, resume-upgrade on
Kubernetes when the upgrade pauses.

Options:
  --units N          units of the application, 1-100 (default 5)
  --substrate S      vm or k8s (default vm)
  --seed S           seed of the scheduler, a non-negative integer (default 1)
  --fail-unit UNIT   make this unit's upgrade fail (db/2, or 2): the upgrade must halt there
  --rollback         with --fail-unit: then roll back, which must bring every unit back to the old version
  --json             print the report as JSON (units, hooks, order, ...) and nothing else
  --delay MS         pause after each redraw of the live view (default 40 on a terminal)
  --html FILE        write a self-contained HTML report: the machine's state chart and a timeline per unit
  --inspect          show every unit as an actor in the Stately inspector, live (its WebSocket server,
                     e.g. createInspectorServer() of @statelyai/inspect/server, must be running)
  --inspect-url URL  the inspector's WebSocket URL (implies --inspect; default ${DEFAULT_INSPECT_URL})

Exit code: 0 when the rehearsal ends as expected, 1 when not (or when the inspector or the report file cannot be
reached), 2 on bad arguments.`;

/**
 * The application the simulator deploys: `rehearseUpgrade` always names it `db` (the `Simulator`'s default), so
 * `--fail-unit` accepts `db/N` as well as `N`.
 */
const APP = "db";

const MAX_SEED = 2 ** 32 - 1;

/** The options of `simulate`, for `node:util`'s `parseArgs`, and what each string option takes (for messages). */
const OPTIONS = {
  units: { type: "string", takes: "a whole number from 1 to 100 (e.g. --units 5)" },
  substrate: { type: "string", takes: "vm or k8s (e.g. --substrate k8s)" },
  seed: { type: "string", takes: `a whole number from 0 to ${MAX_SEED} (e.g. --seed 1)` },
  "fail-unit": { type: "string", takes: `a unit, ${APP}/N or N (e.g. --fail-unit ${APP}/2)` },
  rollback: { type: "boolean" },
  json: { type: "boolean" },
  delay: { type: "string", takes: "a whole number of milliseconds from 0 to 10000 (e.g. --delay 40)" },
  html: { type: "string", takes: "a file name (e.g. --html report.html)" },
  inspect: { type: "boolean" },
  "inspect-url": { type: "string", takes: "a ws:// or wss:// URL (e.g. --inspect-url ws://localhost:8080)" },
} as const satisfies Record<string, { type: "string"; takes: string } | { type: "boolean" }>;

type OptionName = keyof typeof OPTIONS;

const isOption = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);

/**
 * Make every string option's value explicit (`--units -3` becomes `--units=-3`) before `parseArgs` sees it.
 * `parseArgs` refuses a value that starts with a dash ("argument is ambiguous"), which would give a negative
 * number Node's message instead of ours; a missing value or an unknown option is reported here too, in our words.
 */
function explicitValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const positional =
      arg === "--" ? args[i + 1] : !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg) ? arg : undefined;
    if (arg === "--" && positional === undefined) break;
    if (positional !== undefined)
      throw new UsageError(`simulate takes no positional arguments, got ${JSON.stringify(positional)}`);
    if (!arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!isOption(name)) throw new UsageError(`unknown option --${name}`);
    const option = OPTIONS[name];
    if (option.type === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value, got ${JSON.stringify(arg.slice(eq + 1))}`);
      out.push(arg);
    } else if (eq >= 0) {
      out.push(arg);
    } else {
      const next = args[i + 1];
      // A dash starts the next option, unless it is a negative number: that is a (bad) value, checked below.
      if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next)))
        throw new OptionError(`--${name}`, undefined, option.takes);
      out.push(`--${name}=${next}`);
      i++;
    }
  }
  return out;
}

function integer(
  name: "units" | "seed" | "delay",
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) throw new OptionError(`--${name}`, raw, OPTIONS[name].takes);
  return value;
}

/** `--fail-unit`: `db/2` or `2`, a unit of the `units` deployed. */
function unitNumber(raw: string, units: number): number {
  const match = new RegExp(`^\\s*(?:${APP}/)?(\\d+)\\s*$`).exec(raw);
  const value = match ? Number(match[1]) : Number.NaN;
  if (!(value < units)) {
    const which = units === 1 ? `${APP}/0, the only unit` : `a unit from ${APP}/0 to ${APP}/${units - 1}`;
    throw new OptionError("--fail-unit", raw, `${which}, by name or number (e.g. --fail-unit ${APP}/${units - 1})`);
  }
  return value;
}

/**
 * Parse the arguments of `simulate` (after the command name). Every bad value is an {@link OptionError} naming the
 * option, the value and what to give instead (`--units -3`, `--seed -1`, `--fail-unit db/9`).
 *
 * @throws {@link UsageError} on unknown options or arguments; its subclass {@link OptionError} on a missing or bad value.
 */
export function parseSimulateArgs(args: readonly string[]): SimulateOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: explicitValues(args),
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(Object.entries(OPTIONS).map(([name, option]) => [name, { type: option.type }])),
    }));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Not expected after explicitValues (which reports unknown options, missing values and positionals), but
    // whatever parseArgs still refuses is the user's input: a usage error, never a crash.
    throw new UsageError(
      error instanceof Error ? (error.message.split("\n")[0] ?? "invalid arguments") : String(error),
    );
  }
  const str = (key: OptionName) => (typeof values[key] === "string" ? (values[key] as string) : undefined);
  const units = integer("units", str("units"), 5, 1, 100);
  const substrate = str("substrate") ?? "vm";
  if (substrate !== "vm" && substrate !== "k8s")
    throw new OptionError("--substrate", substrate, OPTIONS.substrate.takes);
  const seed = integer("seed", str("seed"), 1, 0, MAX_SEED);
  const failRaw = str("fail-unit");
  const failUnit = failRaw === undefined ? undefined : unitNumber(failRaw, units);
  const rollback = values.rollback === true;
  if (rollback && failUnit === undefined)
    throw new UsageError("--rollback needs --fail-unit (there is nothing to roll back otherwise)");
  const delayRaw = str("delay");
  const html = str("html");
  if (html !== undefined && !html.trim()) throw new OptionError("--html", html, OPTIONS.html.takes);
  const inspectUrl = str("inspect-url") ?? (values.inspect === true ? DEFAULT_INSPECT_URL : undefined);
  if (inspectUrl !== undefined) checkInspectUrl(inspectUrl);
  return {
    units,
    substrate,
    seed,
    failUnit,
    rollback,
    json: values.json === true,
    delayMs: delayRaw === undefined ? undefined : integer("delay", delayRaw, 0, 0, 10_000),
    inspectUrl,
    html,
  };
}

function checkInspectUrl(raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptionError("--inspect-url", raw, OPTIONS["inspect-url"].takes);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:")
    throw new OptionError("--inspect-url", raw, OPTIONS["inspect-url"].takes);
}

/**
 * Run `charm-upgrade simulate`: rehearse the upgrade, show progress (live on a terminal, plain lines otherwise, none
 * with `--json`), print the summary or the JSON report. Resolves to the exit code: 0 when the rehearsal ended as
 * expected, 1 otherwise.
 *
 * @example
 * ```ts
 * const code = await simulateCommand(parseSimulateArgs(["--units", "3", "--json"]), { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function simulateCommand(options: SimulateOptions, io: CliIO): Promise<number> {
  // With --json, stdout is the report alone: notes go to stderr.
  const note = (line: string) => (options.json ? io.stderr : io.stdout).write(`${line}\n`);
  let inspector: InspectorConnection | null = null;
  if (options.inspectUrl !== undefined) {
    try {
      inspector = await connectInspector(options.inspectUrl);
    } catch (error) {
      if (!(error instanceof InspectorConnectionError)) throw error;
      io.stderr.write(
        `charm-upgrade: ${error.message}\nStart the Stately inspector server first (createInspectorServer() of @statelyai/inspect/server), or pass --inspect-url.\n`,
      );
      return EXIT.failed;
    }
  }
  const live = !options.json && io.stdout.isTTY === true;
  const view = options.json
    ? null
    : createProgressView(io.stdout, {
        live,
        app: "db",
        delayMs: options.delayMs ?? (live ? 40 : 0),
        sleep: io.sleep,
      });
  const events: SimEvent[] | null = options.html !== undefined ? [] : null;
  let report: RehearsalReport;
  let inspected: string | undefined;
  try {
    report = await rehearseUpgrade({
      units: options.units,
      substrate: options.substrate,
      seed: options.seed,
      failUnit: options.failUnit,
      rollback: options.rollback,
      onProgress:
        view || events
          ? (event) => {
              events?.push(event);
              return view?.onEvent(event);
            }
          : undefined,
      inspect: inspector?.inspect,
    });
  } finally {
    if (inspector) {
      const { sent, lost } = await inspector.close();
      inspected = `Inspector: ${sent} inspection events sent to ${inspector.url}${lost ? ` (${lost} lost: the connection closed)` : ""}`;
    }
  }
  if (view) view.finish(report);
  else io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (inspected !== undefined) note(inspected);
  if (options.html !== undefined && events) {
    const write =
      io.writeFile ??
      (async (file: string, text: string) => (await import("node:fs/promises")).writeFile(file, text, "utf8"));
    try {
      await write(options.html, htmlReport(report, events));
    } catch (error) {
      io.stderr.write(
        `charm-upgrade: could not write the HTML report to ${options.html}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return EXIT.failed;
    }
    note(`HTML report: ${options.html}`);
  }
  return report.ok ? EXIT.ok : EXIT.failed;
}
