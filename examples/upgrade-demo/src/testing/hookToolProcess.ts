/**
 * The body of every fake hook-tool executable the process harness writes (`bin/relation-get`, …): bundled into
 * `bin/hook-tool.cjs`, each executable is `require("./hook-tool.cjs").main("<tool>")`.
 *
 * One call opens the unit's view of the model that `JujuModel.begin` made for the running hook (`$SIM_HOOK`, see
 * {@link HookFiles}) with the hook's earlier calls replayed, runs the command through `@charm-upgrade/juju`'s
 * `InMemoryHookTools` (the simulator's tools, whose output the conformance suite checks against Juju's), journals
 * it when it changed something, and exits as the real tool would: its stdout, its stderr (`ERROR …`) and its exit
 * code.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { HOOK_FILES_ENV, HookFiles } from "./hookFiles.js";

/** Run hook tool `tool` with this process's arguments, stdin and environment; sets the exit code. */
export function main(tool: string): void {
  const files = HookFiles.fromEnv();
  if (!files) {
    process.stderr.write(`ERROR ${HOOK_FILES_ENV} is not set: this fake hook tool runs only inside the test harness\n`);
    process.exitCode = 1;
    return;
  }
  const args = process.argv.slice(2);
  // Only `--file -` reads stdin, so a tool run by hand in a terminal never waits for it.
  const readsStdin = args.some((arg, i) => (arg === "--file" && args[i + 1] === "-") || arg === "--file=-");
  const stdin = readsStdin ? readFileSync(0, "utf8") : undefined;
  const result = files.invoke(tool, args, stdin);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
