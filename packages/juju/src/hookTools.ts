import type * as ChildProcess from "node:child_process";
import { HookToolError } from "./hookToolError.js";
import type {
  GoalState,
  HookToolOutput,
  HookToolRunner,
  JujuLogLevel,
  StatusInfo,
  ToolCall,
  WorkloadStatus,
} from "./toolCall.js";
import { toolCalls } from "./toolCall.js";

// Re-exported for the modules that import them from here (the adapter's other files and their tests).
export { HookToolError } from "./hookToolError.js";
export type { HookToolRunner, JujuLogLevel, StatusInfo, WorkloadStatus } from "./toolCall.js";

/** Options of {@link createExecFileRunner}. */
export interface ExecFileRunnerOptions {
  /** Environment of the tool processes (and the PATH the tools are looked up in); default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Kill a tool that runs longer than this; default 5 minutes (hook tools talk to the controller). */
  readonly timeoutMs?: number | undefined;
}

/**
 * A {@link HookToolRunner} over `node:child_process` `execFile`: no shell (arguments are passed as an array, so no
 * quoting issue and no injection), stdin piped when given and closed otherwise (a tool waiting on stdin never
 * hangs the hook).
 */
export function createExecFileRunner(options: ExecFileRunnerOptions = {}): HookToolRunner {
  const timeout = options.timeoutMs ?? 5 * 60_000;
  return async (tool, args, stdin) => {
    const { execFile } = await loadChildProcess();
    return new Promise<HookToolOutput>((resolve, reject) => {
      const child = execFile(
        tool,
        [...args],
        { env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout, windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout });
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "ENOENT") return reject(new HookToolError(tool, args, `${tool}: command not found`, 127));
          const exitCode =
            typeof code === "number" ? code : error.killed || (error as { signal?: unknown }).signal ? null : 1;
          reject(new HookToolError(tool, args, stderr || error.message, exitCode));
        },
      );
      // A tool that exits before reading stdin closes the pipe: ignore EPIPE, the exit status tells the story.
      child.stdin?.on("error", () => {});
      child.stdin?.end(stdin ?? "");
    });
  };
}

let childProcess: Promise<typeof ChildProcess> | undefined;

/**
 * `node:child_process`, imported on the first tool call rather than when the charm loads: it pulls in `net` and
 * `stream` (about 6 ms of every hook process's start-up, docs/benchmarks.md), which a hook that runs no tool — or a
 * charm that passes its own runner — never needs.
 */
function loadChildProcess(): Promise<typeof ChildProcess> {
  childProcess ??= import("node:child_process");
  return childProcess;
}

/** The production {@link HookToolRunner}: the real hook tools on `PATH`, run with `process.env`. */
export const execFileRunner: HookToolRunner = createExecFileRunner();

/**
 * Typed access to the hook tools the upgrade library needs, over any {@link HookToolRunner}. Every method runs one
 * {@link toolCalls} builder through {@link HookTools.call}: the exact command line, and output validated as Juju
 * prints it; unexpected output is a {@link HookToolError}.
 *
 * @example
 * ```ts
 * const tools = new HookTools();                       // real hook tools
 * const [id] = await tools.relationIds("upgrade");
 * if (id !== undefined) await tools.relationSet(id, { state: "idle" });
 * ```
 */
export class HookTools {
  /** The runner every command goes through. */
  readonly runner: HookToolRunner;

  /** @param runner - the port to run tools through; default {@link execFileRunner}. */
  constructor(runner: HookToolRunner = execFileRunner) {
    this.runner = runner;
  }

  /** Run one {@link ToolCall} and parse what it printed (the async twin of {@link callSync}). */
  async call<T>(toolCall: ToolCall<T>): Promise<T> {
    const { stdout } = await this.runner(toolCall.tool, toolCall.args, toolCall.stdin);
    return toolCall.parse(stdout);
  }

  /** `relation-ids --format=json <name>`: the ids of the relations on endpoint `name` (a peer endpoint has ≤ 1). */
  relationIds(name: string): Promise<number[]> {
    return this.call(toolCalls.relationIds(name));
  }

  /** `relation-list --format=json -r <id>`: the other units in the relation (this unit is never listed). */
  relationList(relationId: number): Promise<string[]> {
    return this.call(toolCalls.relationList(relationId));
  }

  /**
   * `relation-get --format=json -r <id> [--app] - <unitOrApp>`: a whole databag. A unit reading its own databag
   * (or the leader its own application's) sees this hook's pending writes.
   */
  relationGet(
    relationId: number,
    unitOrApp: string,
    options: { readonly app?: boolean | undefined } = {},
  ): Promise<Record<string, string>> {
    return this.call(toolCalls.relationGet(relationId, unitOrApp, options));
  }

  /**
   * `relation-set -r <id> [--app] --file -` with the settings as JSON (valid YAML) on stdin, so values of any size
   * pass. An empty value deletes the key. Juju commits the writes only when the hook succeeds; only the leader may
   * write the application databag.
   */
  relationSet(
    relationId: number,
    data: Readonly<Record<string, string>>,
    options: { readonly app?: boolean | undefined } = {},
  ): Promise<void> {
    return this.call(toolCalls.relationSet(relationId, data, options));
  }

  /** `is-leader --format=json`: whether this unit is the leader (valid for Juju's 30 s lease). */
  isLeader(): Promise<boolean> {
    return this.call(toolCalls.isLeader());
  }

  /** `status-set [--application] -- <status> <message>` (`--`: a message may start with `-`). */
  statusSet(
    status: WorkloadStatus,
    message: string,
    options: { readonly application?: boolean | undefined } = {},
  ): Promise<void> {
    return this.call(toolCalls.statusSet(status, message, options));
  }

  /** `status-get [--application] --include-data --format=json`: this unit's (or the application's) status and message. */
  statusGet(options: { readonly application?: boolean | undefined } = {}): Promise<StatusInfo> {
    return this.call(toolCalls.statusGet(options));
  }

  /** `config-get --format=json <key>`: one charm config value (`null` when unset). */
  configGet(key: string): Promise<unknown> {
    return this.call(toolCalls.configGet(key));
  }

  /** `action-get --format=json`: the running action's parameters. */
  actionGet(): Promise<Record<string, unknown>> {
    return this.call(toolCalls.actionGet());
  }

  /** `action-set key=value …`: results of the running action; nothing is run when there are none. */
  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    if (Object.keys(results).length) await this.call(toolCalls.actionSet(results));
  }

  /** `action-fail -- <message>`: mark the running action failed, with the message the operator sees. */
  actionFail(message: string): Promise<void> {
    return this.call(toolCalls.actionFail(message));
  }

  /** `action-log -- <message>`: a progress line the operator sees while the action runs. */
  actionLog(message: string): Promise<void> {
    return this.call(toolCalls.actionLog(message));
  }

  /** `juju-log --log-level <LEVEL> -- <message>`: a line in the unit's log (`juju debug-log`). */
  jujuLog(level: JujuLogLevel, message: string): Promise<void> {
    return this.call(toolCalls.jujuLog(level, message));
  }

  /** `application-version-set -- <version>`: the workload version shown by `juju status`. */
  applicationVersionSet(version: string): Promise<void> {
    return this.call(toolCalls.applicationVersionSet(version));
  }

  /** `state-get --format=json <key>`: a value of this unit's server-side store, or `null` when unset. */
  stateGet(key: string): Promise<string | null> {
    return this.call(toolCalls.stateGet(key));
  }

  /** `state-set --file -` with `{key: value}` as JSON (valid YAML) on stdin: survives this process, not a failed hook. */
  stateSet(key: string, value: string): Promise<void> {
    return this.call(toolCalls.stateSet(key, value));
  }

  /** `resource-get <name>`: the local path of the unit's copy of resource `name`. */
  resourceGet(name: string): Promise<string> {
    return this.call(toolCalls.resourceGet(name));
  }

  /** `goal-state --format=json`: the units the application is meant to have, met in the relation or not yet. */
  goalState(): Promise<GoalState> {
    return this.call(toolCalls.goalState());
  }
}
