import { execFile } from "node:child_process";
import { UpgradeError } from "@charm-upgrade/core";
import * as v from "valibot";

/** The result of one hook-tool invocation: what it printed. */
export interface HookToolOutput {
  readonly stdout: string;
}

/**
 * The port through which everything in this package talks to Juju: run hook tool `tool` with `args` (never through
 * a shell) and `stdin`, resolve with its stdout, or reject with a {@link HookToolError}.
 *
 * The production runner is {@link execFileRunner}; tests and the simulator pass
 * {@link InMemoryHookTools}' runner, so the same adapter code runs against a fake Juju.
 */
export type HookToolRunner = (tool: string, args: readonly string[], stdin?: string) => Promise<HookToolOutput>;

/**
 * A hook tool failed (non-zero exit, missing executable, unreadable output). It names the command line, the exit
 * code and what the tool printed on stderr, and is meant to propagate: the hook then fails, Juju discards its
 * relation writes and retries it.
 */
export class HookToolError extends UpgradeError {
  /** The hook tool, e.g. `relation-get`. */
  readonly tool: string;
  /** Its arguments, exactly as passed. */
  readonly args: readonly string[];
  /** What the tool printed on stderr (Juju prints `ERROR <reason>`), trimmed. */
  readonly stderr: string;
  /** The exit code; 127 when the executable does not exist; `null` when the tool was killed by a signal. */
  readonly exitCode: number | null;

  /**
   * @param tool - the hook tool that failed
   * @param args - its arguments
   * @param stderr - its stderr (or why it could not run)
   * @param exitCode - its exit code, 127 if not found, `null` if killed
   */
  constructor(tool: string, args: readonly string[], stderr: string, exitCode: number | null) {
    const line = [tool, ...args].join(" ");
    const detail = stderr.trim() || "(no output on stderr)";
    super(
      `Hook tool failed: ${line} (exit code ${exitCode ?? "none: killed"}): ${detail}`,
      exitCode === 127 ? `${tool} was not found on PATH; hook tools exist only inside a Juju hook or action` : detail,
      "the hook fails and Juju retries it; if it keeps failing, check `juju debug-log` for this unit",
    );
    this.tool = tool;
    this.args = [...args];
    this.stderr = stderr.trim();
    this.exitCode = exitCode;
  }
}

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
  return (tool, args, stdin) =>
    new Promise<HookToolOutput>((resolve, reject) => {
      const child = execFile(
        tool,
        [...args],
        { env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout, windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout });
          const code = (error as NodeJS.ErrnoException).code;
          if (code === "ENOENT") return reject(new HookToolError(tool, args, `${tool}: command not found`, 127));
          const exitCode = typeof code === "number" ? code : error.killed || (error as { signal?: unknown }).signal ? null : 1;
          reject(new HookToolError(tool, args, stderr || error.message, exitCode));
        },
      );
      // A tool that exits before reading stdin closes the pipe: ignore EPIPE, the exit status tells the story.
      child.stdin?.on("error", () => {});
      child.stdin?.end(stdin ?? "");
    });
}

/** The production {@link HookToolRunner}: the real hook tools on `PATH`, run with `process.env`. */
export const execFileRunner: HookToolRunner = createExecFileRunner();

/** Juju's workload status names that `status-set` accepts. */
export type WorkloadStatus = "maintenance" | "blocked" | "waiting" | "active";

/** Levels `juju-log --log-level` accepts (loggo's). */
export type JujuLogLevel = "TRACE" | "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

/** A unit's workload status, as `status-get --include-data --format=json` prints it. */
export interface StatusInfo {
  readonly status: string;
  readonly message: string;
}

const StringMap = v.pipe(
  v.nullable(v.record(v.string(), v.string())),
  v.transform((value) => value ?? {}),
);
const StringList = v.pipe(
  v.nullable(v.array(v.string())),
  v.transform((value) => value ?? []),
);
const RelationIdText = v.pipe(v.string(), v.regex(/^(?:[^:]+:)?(0|[1-9][0-9]*)$/));
const StatusOutput = v.object({ status: v.string(), message: v.optional(v.string(), "") });

/**
 * Typed access to the hook tools the upgrade library needs, over any {@link HookToolRunner}. Every method builds
 * the exact command line (`--format=json` wherever the tool supports it; values through `--file -` on stdin so
 * no command-line length limit applies) and validates the output; unexpected output is a {@link HookToolError}.
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

  private async json<T>(schema: v.GenericSchema<unknown, T>, tool: string, args: readonly string[]): Promise<T> {
    const { stdout } = await this.runner(tool, args);
    let parsed: unknown;
    try {
      parsed = stdout.trim() === "" ? null : JSON.parse(stdout);
    } catch {
      throw new HookToolError(tool, args, `output is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`, 0);
    }
    const result = v.safeParse(schema, parsed);
    if (!result.success) {
      const why = result.issues.map((issue) => issue.message).join("; ");
      throw new HookToolError(tool, args, `unexpected output ${JSON.stringify(stdout.slice(0, 200))}: ${why}`, 0);
    }
    return result.output;
  }

  /** `relation-ids --format=json <name>`: the ids of the relations on endpoint `name` (a peer endpoint has ≤ 1). */
  async relationIds(name: string): Promise<number[]> {
    const ids = await this.json(StringList, "relation-ids", ["--format=json", name]);
    return ids.map((text) => {
      const match = v.safeParse(RelationIdText, text);
      if (!match.success) throw new HookToolError("relation-ids", ["--format=json", name], `unexpected relation id ${JSON.stringify(text)}`, 0);
      return Number(text.slice(text.lastIndexOf(":") + 1));
    });
  }

  /** `relation-list --format=json -r <id>`: the other units in the relation (this unit is never listed). */
  relationList(relationId: number): Promise<string[]> {
    return this.json(StringList, "relation-list", ["--format=json", "-r", String(relationId)]);
  }

  /**
   * `relation-get --format=json -r <id> [--app] - <unitOrApp>`: a whole databag. A unit reading its own databag
   * (or the leader its own application's) sees this hook's pending writes.
   */
  relationGet(relationId: number, unitOrApp: string, options: { readonly app?: boolean | undefined } = {}): Promise<Record<string, string>> {
    const args = ["--format=json", "-r", String(relationId), ...(options.app ? ["--app"] : []), "-", unitOrApp];
    return this.json(StringMap, "relation-get", args);
  }

  /**
   * `relation-set -r <id> [--app] --file -` with the settings as JSON (valid YAML) on stdin, so values of any size
   * pass. An empty value deletes the key. Juju commits the writes only when the hook succeeds; only the leader may
   * write the application databag.
   */
  async relationSet(
    relationId: number,
    data: Readonly<Record<string, string>>,
    options: { readonly app?: boolean | undefined } = {},
  ): Promise<void> {
    const args = ["-r", String(relationId), ...(options.app ? ["--app"] : []), "--file", "-"];
    await this.runner("relation-set", args, JSON.stringify(data));
  }

  /** `is-leader --format=json`: whether this unit is the leader (valid for Juju's 30 s lease). */
  isLeader(): Promise<boolean> {
    return this.json(v.boolean(), "is-leader", ["--format=json"]);
  }

  /** `status-set [--application] -- <status> <message>` (`--`: a message may start with `-`). */
  async statusSet(status: WorkloadStatus, message: string, options: { readonly application?: boolean | undefined } = {}): Promise<void> {
    await this.runner("status-set", [...(options.application ? ["--application"] : []), "--", status, message]);
  }

  /** `status-get --include-data --format=json`: this unit's workload status and message. */
  async statusGet(options: { readonly application?: boolean | undefined } = {}): Promise<StatusInfo> {
    const args = options.application ? ["--application", "--include-data", "--format=json"] : ["--include-data", "--format=json"];
    const out = await this.json(StatusOutput, "status-get", args);
    return { status: out.status, message: out.message };
  }

  /** `config-get --format=json <key>`: one charm config value (`null` when unset). */
  configGet(key: string): Promise<unknown> {
    return this.json(v.unknown(), "config-get", ["--format=json", key]);
  }

  /** `action-get --format=json`: the running action's parameters. */
  actionGet(): Promise<Record<string, unknown>> {
    return this.json(
      v.pipe(v.nullable(v.record(v.string(), v.unknown())), v.transform((value) => value ?? {})),
      "action-get",
      ["--format=json"],
    );
  }

  /** `action-set key=value …`: results of the running action (keys: lowercase letters, digits, `-`, `.`). */
  async actionSet(results: Readonly<Record<string, string>>): Promise<void> {
    const args = Object.entries(results).map(([key, value]) => `${key}=${value}`);
    if (args.length) await this.runner("action-set", args);
  }

  /** `action-fail -- <message>`: mark the running action failed, with the message the operator sees. */
  async actionFail(message: string): Promise<void> {
    await this.runner("action-fail", ["--", message]);
  }

  /** `action-log -- <message>`: a progress line the operator sees while the action runs. */
  async actionLog(message: string): Promise<void> {
    await this.runner("action-log", ["--", message]);
  }

  /** `juju-log --log-level <LEVEL> -- <message>`: a line in the unit's log (`juju debug-log`). */
  async jujuLog(level: JujuLogLevel, message: string): Promise<void> {
    await this.runner("juju-log", ["--log-level", level, "--", message]);
  }

  /** `application-version-set -- <version>`: the workload version shown by `juju status`. */
  async applicationVersionSet(version: string): Promise<void> {
    await this.runner("application-version-set", ["--", version]);
  }

  /** `state-get --format=json <key>`: a value of this unit's server-side store, or `null` when unset. */
  async stateGet(key: string): Promise<string | null> {
    const value = await this.json(v.nullable(v.string()), "state-get", ["--format=json", key]);
    return value === null || value === "" ? null : value;
  }

  /** `state-set --file -` with `{key: value}` as JSON (valid YAML) on stdin: survives this process, not a failed hook. */
  async stateSet(key: string, value: string): Promise<void> {
    await this.runner("state-set", ["--file", "-"], JSON.stringify({ [key]: value }));
  }
}
