/**
 * The body of every fake hook-tool executable the process harness writes (`bin/relation-get`, …): bundled into
 * `bin/hook-tool.cjs`, each executable is `require("./hook-tool.cjs").main("<tool>")`.
 *
 * One call loads the model from `$SIM_STATE`, replays the running hook's buffered writes from `$SIM_JOURNAL`, runs
 * the command through `@charm-upgrade/juju`'s `InMemoryHookTools` (same command lines, output and rules as the
 * simulator's), appends a buffered write to the journal, saves what takes effect at once, and exits as the real
 * tool would: stdout, `ERROR …` on stderr, exit code 1 (2 for bad usage).
 *
 * @module
 */
import { appendFileSync, readFileSync } from "node:fs";
import { HookToolError } from "@charm-upgrade/juju";
import { absorb, BUFFERED_TOOLS, openHook, readJournal, readWorld, writeJournal, writeWorld } from "./simWorld.js";

/** Tools that change nothing: no need to save the model after them. */
const READ_ONLY_TOOLS: ReadonlySet<string> = new Set(["relation-ids", "relation-list", "relation-get", "is-leader", "status-get", "action-get", "state-get"]);

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`ERROR ${name} is not set: this fake hook tool runs only inside the test harness\n`);
    process.exit(1);
  }
  return value;
}

/** Run hook tool `tool` with this process's arguments, stdin and environment; sets the exit code. */
export async function main(tool: string): Promise<void> {
  const statePath = required("SIM_STATE");
  const journalPath = required("SIM_JOURNAL");
  const unit = required("JUJU_UNIT_NAME");
  const args = process.argv.slice(2);
  const callLog = process.env["SIM_CALLS"];
  if (callLog) appendFileSync(callLog, `${[tool, ...args].join(" ")}\n`);
  // Only `--file -` reads stdin, so a tool run by hand in a terminal never waits for it.
  const readsStdin = args.some((arg, i) => (arg === "--file" && args[i + 1] === "-") || arg === "--file=-");
  const stdin = readsStdin ? readFileSync(0, "utf8") : undefined;

  const world = readWorld(statePath);
  const journal = readJournal(journalPath);
  const tools = await openHook(world, unit, journal);
  let stdout: string;
  try {
    ({ stdout } = await tools.run(tool, args, stdin));
  } catch (error) {
    if (!(error instanceof HookToolError)) throw error;
    process.stderr.write(`${error.stderr}\n`);
    process.exitCode = error.exitCode ?? 1;
    return;
  }
  if (BUFFERED_TOOLS.has(tool)) {
    writeJournal(journalPath, [...journal, { tool, args, stdin }]);
  } else if (!READ_ONLY_TOOLS.has(tool)) {
    absorb(world, unit, tools.model);
    writeWorld(statePath, world);
  }
  process.stdout.write(stdout);
}
