import { parseArgs } from "node:util";
import type { Substrate } from "@charm-upgrade/core";
import type { RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { rehearseUpgrade } from "@charm-upgrade/sim";
import type { InspectorConnection } from "./connectInspector.js";
import { connectInspector, DEFAULT_INSPECT_URL, InspectorConnectionError } from "./connectInspector.js";
import { htmlReport } from "./htmlReport.js";
import type { CliIO } from "./io.js";
import { EXIT, UsageError } from "./io.js";
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
export const SIMULATE_USAGE = `Usage: charm-upgrade simulate [--units N] [--substrate vm|k8s] [--seed S] [--fail-unit ID] [--rollback] [--json] [--delay MS]
                               [--html FILE] [--inspect] [--inspect-url URL]

Rehearse a rolling upgrade (juju refresh) of an application of N units on the built-in in-memory Juju, every hook
running the real charm-upgrade Juju adapter: deploy, pre-upgrade-check on the leader, refresh, resume-upgrade on
Kubernetes when the upgrade pauses.

Options:
  --units N          units of the application, 1-100 (default 5)
  --substrate S      vm or k8s (default vm)
  --seed S           seed of the scheduler, a non-negative integer (default 1)
  --fail-unit ID     make this unit's upgrade fail: the upgrade must halt there
  --rollback         with --fail-unit: then roll back, which must bring every unit back to the old version
  --json             print the report as JSON (units, hooks, order, ...) and nothing else
  --delay MS         pause after each redraw of the live view (default 40 on a terminal)
  --html FILE        write a self-contained HTML report: the machine's state chart and a timeline per unit
  --inspect          show every unit as an actor in the Stately inspector, live (its WebSocket server,
                     e.g. createInspectorServer() of @statelyai/inspect/server, must be running)
  --inspect-url URL  the inspector's WebSocket URL (implies --inspect; default ${DEFAULT_INSPECT_URL})

Exit code: 0 when the rehearsal ends as expected, 1 when not (or when the inspector or the report file cannot be
reached), 2 on bad arguments.`;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/**
 * Parse the arguments of `simulate` (after the command name).
 *
 * @throws {@link UsageError} on unknown options, missing values, or values out of range.
 */
export function parseSimulateArgs(args: readonly string[]): SimulateOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        units: { type: "string" },
        substrate: { type: "string" },
        seed: { type: "string" },
        "fail-unit": { type: "string" },
        rollback: { type: "boolean" },
        json: { type: "boolean" },
        delay: { type: "string" },
        html: { type: "string" },
        inspect: { type: "boolean" },
        "inspect-url": { type: "string" },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split("\n")[0] ?? "invalid arguments" : String(error));
  }
  const str = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : undefined);
  const units = integer("units", str("units"), 5, 1, 100);
  const substrate = str("substrate") ?? "vm";
  if (substrate !== "vm" && substrate !== "k8s") throw new UsageError(`--substrate must be vm or k8s, got ${JSON.stringify(substrate)}`);
  const seed = integer("seed", str("seed"), 1, 0, 2 ** 32 - 1);
  const failRaw = str("fail-unit");
  const failUnit = failRaw === undefined ? undefined : integer("fail-unit", failRaw, 0, 0, units - 1);
  const rollback = values.rollback === true;
  if (rollback && failUnit === undefined) throw new UsageError("--rollback needs --fail-unit (there is nothing to roll back otherwise)");
  const delayRaw = str("delay");
  const html = str("html");
  if (html !== undefined && !html.trim()) throw new UsageError("--html needs a file name");
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
    throw new UsageError(`--inspect-url must be a ws:// or wss:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new UsageError(`--inspect-url must be a ws:// or wss:// URL, got ${JSON.stringify(raw)}`);
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
      io.stderr.write(`charm-upgrade: ${error.message}\nStart the Stately inspector server first (createInspectorServer() of @statelyai/inspect/server), or pass --inspect-url.\n`);
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
    const write = io.writeFile ?? (async (file: string, text: string) => (await import("node:fs/promises")).writeFile(file, text, "utf8"));
    try {
      await write(options.html, htmlReport(report, events));
    } catch (error) {
      io.stderr.write(`charm-upgrade: could not write the HTML report to ${options.html}: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failed;
    }
    note(`HTML report: ${options.html}`);
  }
  return report.ok ? EXIT.ok : EXIT.failed;
}
