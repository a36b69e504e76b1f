import { CHECK_DEPS_USAGE, checkDepsCommand } from "./checkDepsCommand.js";
import type { CliIO } from "./io.js";
import { EXIT, UsageError } from "./io.js";
import { PLAN_USAGE, planCommand } from "./planCommand.js";
import { parseSimulateArgs, SIMULATE_USAGE, simulateCommand } from "./simulateCommand.js";

/** Usage of the whole command. */
export const USAGE = `Usage: charm-upgrade <command> [options]

Commands:
  simulate     rehearse a rolling upgrade on the built-in in-memory Juju
  check-deps   may an application with CURRENT DEPENDENCIES be refreshed to NEW ones?
  plan         the plan of an upgrade (order, pauses, versions) from a snapshot of the peer databags

Run charm-upgrade <command> --help for the options of a command.`;

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h" || arg === "help";

/**
 * The `charm-upgrade` command, in-process: dispatch `argv` (without `node` and the script) to a command and
 * resolve to the exit code. Bad arguments print a message and the usage on stderr (exit 2), never a stack trace.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [command, ...args] = argv;
  const usageFor =
    command === "simulate"
      ? SIMULATE_USAGE
      : command === "check-deps"
        ? CHECK_DEPS_USAGE
        : command === "plan"
          ? PLAN_USAGE
          : USAGE;
  try {
    if (command === undefined) throw new UsageError("no command given");
    if (isHelp(command)) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (args.some((arg) => arg === "--help" || arg === "-h")) {
      io.stdout.write(`${usageFor}\n`);
      return EXIT.ok;
    }
    switch (command) {
      case "simulate":
        return await simulateCommand(parseSimulateArgs(args), io);
      case "check-deps":
        return await checkDepsCommand(args, io);
      case "plan":
        return await planCommand(args, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`charm-upgrade: ${error.message}\n\n${usageFor}\n`);
      return EXIT.usage;
    }
    // A bug, not the user's fault: say what happened in one line rather than dumping a stack.
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr.write(`charm-upgrade: internal error: ${text}\n`);
    return EXIT.failed;
  }
}
