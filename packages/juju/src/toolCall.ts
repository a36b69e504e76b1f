import * as v from "valibot";
import { HookToolError } from "./hookToolError.js";

/** The result of one hook-tool invocation: what it printed. */
export interface HookToolOutput {
  readonly stdout: string;
}

/**
 * The synchronous twin of {@link HookToolRunner}: run `tool` with `args` and `stdin`, return its stdout or throw a
 * {@link HookToolError}. Simulators and the verifier answer hook tools in memory, without a process, and drive the
 * adapter step by step; they need the same command lines and output parsing as production, without a promise.
 */
export type SyncHookToolRunner = (tool: string, args: readonly string[], stdin?: string) => HookToolOutput;

/**
 * The port through which everything in this package talks to Juju: run hook tool `tool` with `args` (never through
 * a shell) and `stdin`, resolve with its stdout, or reject with a {@link HookToolError}.
 *
 * The production runner is `execFileRunner`; tests and the simulator pass `InMemoryHookTools`' runner, so the same
 * adapter code runs against a fake Juju.
 */
export type HookToolRunner = (tool: string, args: readonly string[], stdin?: string) => Promise<HookToolOutput>;

/**
 * One hook-tool invocation as data: what to run, and how to read what it prints. Building the command line and
 * parsing the output are pure, so an async driver ({@link HookTools.call}) and a synchronous one ({@link callSync})
 * share them, and the conformance suite can check both halves against recordings of Juju.
 */
export interface ToolCall<T> {
  /** The hook tool, e.g. `relation-get`. */
  readonly tool: string;
  /** Its arguments, exactly as they are passed (no shell). */
  readonly args: readonly string[];
  /** What to write on its stdin (`--file -` tools); absent: stdin is closed at once. */
  readonly stdin?: string | undefined;
  /** Validate and convert stdout; throws {@link HookToolError} on output Juju would never print. */
  parse(stdout: string): T;
}

/** Juju's workload status names that `status-set` accepts. */
export type WorkloadStatus = "maintenance" | "blocked" | "waiting" | "active";

/** Levels `juju-log --log-level` accepts (loggo's). */
export type JujuLogLevel = "TRACE" | "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL";

/** A unit's or the application's workload status: the part of `status-get --include-data` the library uses. */
export interface StatusInfo {
  readonly status: string;
  readonly message: string;
}

/** One unit's entry in `goal-state`: its workload status (or `dying`) and since when, as Juju prints them. */
export interface GoalStateStatus {
  readonly status: string;
  /** `YYYY-MM-DD hh:mm:ssZ`; absent when Juju has no time for the status. */
  readonly since?: string | undefined;
}

/**
 * What `goal-state` says: the units the application is meant to have (alive or dying, whether or not this unit has
 * met them in a relation yet), and the units and applications of each non-peer relation endpoint.
 */
export interface GoalState {
  readonly units: Readonly<Record<string, GoalStateStatus>>;
  readonly relations: Readonly<Record<string, Readonly<Record<string, GoalStateStatus>>>>;
}

/** Run `call` through a {@link SyncHookToolRunner} and parse what it printed: the synchronous driver's one step. */
export function callSync<T>(runner: SyncHookToolRunner, call: ToolCall<T>): T {
  return call.parse(runner(call.tool, call.args, call.stdin).stdout);
}

// What Juju prints, as schemas. Each one admits exactly the shapes the jujuc command can print (the fixtures in
// packages/juju/fixtures/hook-tools record them, with the Juju source of each); anything else is a HookToolError.

/** relation-ids, relation-list: never `null` (both commands print `[]`, not nil, for none). */
const StringList = v.array(v.string());
/** A relation databag: a map of strings (rpc/params `Settings map[string]string`), never `null`. */
const StringMap = v.record(v.string(), v.string());
const RelationIdText = v.pipe(v.string(), v.regex(/^(?:[^:]+:)?(0|[1-9][0-9]*)$/));
/** status-get's `toDetails` with --include-data: `status`, `message` and `status-data`, always all three. */
const StatusDetails = v.object({
  status: v.string(),
  message: v.string(),
  "status-data": v.record(v.string(), v.unknown()),
});
/** status-get --application --include-data: `{"application-status": {…details, "units": {name: details}}}`. */
const ApplicationStatusOutput = v.object({
  "application-status": v.object({ ...StatusDetails.entries, units: v.record(v.string(), StatusDetails) }),
});
const GoalStateStatusOutput = v.object({ status: v.string(), since: v.optional(v.string()) });
const GoalStateOutput = v.object({
  units: v.record(v.string(), GoalStateStatusOutput),
  relations: v.record(v.string(), v.record(v.string(), GoalStateStatusOutput)),
});

/**
 * A call whose stdout is JSON that `schema` validates and converts. Every JSON-printing hook tool prints at least
 * `null` and a newline (juju/cmd output.go `FormatJson`), so empty output is never read as "nothing": it is an
 * error (an empty relation-list must not wipe the upgrade stack).
 */
function jsonCall<T>(tool: string, args: readonly string[], schema: v.GenericSchema<unknown, T>): ToolCall<T> {
  return {
    tool,
    args,
    parse(stdout) {
      if (stdout.trim() === "")
        throw new HookToolError(tool, args, "printed nothing, where Juju always prints JSON", 0);
      let parsed: unknown;
      try {
        parsed = JSON.parse(stdout);
      } catch {
        throw new HookToolError(tool, args, `output is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`, 0);
      }
      const result = v.safeParse(schema, parsed);
      if (!result.success) {
        const why = result.issues
          .map(
            (issue) => `${issue.message}${issue.path ? ` at ${issue.path.map((p) => String(p.key)).join(".")}` : ""}`,
          )
          .join("; ");
        throw new HookToolError(tool, args, `unexpected output ${JSON.stringify(stdout.slice(0, 200))}: ${why}`, 0);
      }
      return result.output;
    },
  };
}

/** A call to a setter: Juju prints nothing on stdout for it, so anything printed there is an error too. */
function voidCall(tool: string, args: readonly string[], stdin?: string): ToolCall<void> {
  return {
    tool,
    args,
    ...(stdin === undefined ? {} : { stdin }),
    parse(stdout) {
      if (stdout !== "")
        throw new HookToolError(
          tool,
          args,
          `printed ${JSON.stringify(stdout.slice(0, 200))}, where Juju prints nothing`,
          0,
        );
    },
  };
}

/**
 * The builders of every hook-tool call the library makes, one per tool and mode: the exact command line
 * (`--format=json` wherever the tool supports it; values through `--file -` on stdin so no command-line length
 * limit applies) and the parser of what Juju prints. `HookTools` runs them asynchronously, {@link callSync}
 * synchronously.
 *
 * @example
 * ```ts
 * const call = toolCalls.relationGet(7, "db/1");   // relation-get --format=json -r 7 - db/1
 * const bag = callSync(inMemory.runSync, call);     // { state: "idle" }
 * ```
 */
export const toolCalls = {
  /** `relation-ids --format=json <name>`: the ids of the relations on endpoint `name` (a peer endpoint has ≤ 1). */
  relationIds(name: string): ToolCall<number[]> {
    const args = ["--format=json", name];
    const list = jsonCall("relation-ids", args, StringList);
    return {
      ...list,
      parse(stdout) {
        return list.parse(stdout).map((text) => {
          if (!v.is(RelationIdText, text))
            throw new HookToolError("relation-ids", args, `unexpected relation id ${JSON.stringify(text)}`, 0);
          return Number(text.slice(text.lastIndexOf(":") + 1));
        });
      },
    };
  },

  /** `relation-list --format=json -r <id>`: the other units in the relation (this unit is never listed). */
  relationList(relationId: number): ToolCall<string[]> {
    return jsonCall("relation-list", ["--format=json", "-r", String(relationId)], StringList);
  },

  /**
   * `relation-get --format=json -r <id> [--app] - <unitOrApp>`: a whole databag. A unit reading its own databag
   * (or the leader its own application's) sees this hook's pending writes.
   */
  relationGet(
    relationId: number,
    unitOrApp: string,
    options: { readonly app?: boolean | undefined } = {},
  ): ToolCall<Record<string, string>> {
    const args = ["--format=json", "-r", String(relationId), ...(options.app ? ["--app"] : []), "-", unitOrApp];
    return jsonCall("relation-get", args, StringMap);
  },

  /**
   * `relation-set -r <id> [--app] --file -` with the settings as JSON (valid YAML) on stdin, so values of any size
   * pass. An empty value deletes the key. Juju commits the writes only when the hook succeeds; only the leader may
   * write the application databag.
   */
  relationSet(
    relationId: number,
    data: Readonly<Record<string, string>>,
    options: { readonly app?: boolean | undefined } = {},
  ): ToolCall<void> {
    return voidCall(
      "relation-set",
      ["-r", String(relationId), ...(options.app ? ["--app"] : []), "--file", "-"],
      JSON.stringify(data),
    );
  },

  /** `is-leader --format=json`: whether this unit is the leader (valid for Juju's 30 s lease). */
  isLeader(): ToolCall<boolean> {
    return jsonCall("is-leader", ["--format=json"], v.boolean());
  },

  /** `status-set [--application] -- <status> <message>` (`--`: a message may start with `-`). */
  statusSet(
    status: WorkloadStatus,
    message: string,
    options: { readonly application?: boolean | undefined } = {},
  ): ToolCall<void> {
    return voidCall("status-set", [...(options.application ? ["--application"] : []), "--", status, message]);
  },

  /**
   * `status-get [--application] --include-data --format=json`: this unit's (or, on the leader, the application's)
   * workload status and message. The two print different shapes (jujuc status-get.go): a unit's is
   * `{"message","status","status-data"}`, the application's is nested under `"application-status"` beside a
   * `"units"` map. Only the leader may ask for the application's (anyone else: `ERROR finding application status:
   * this unit is not the leader`).
   */
  statusGet(options: { readonly application?: boolean | undefined } = {}): ToolCall<StatusInfo> {
    if (options.application) {
      return jsonCall(
        "status-get",
        ["--application", "--include-data", "--format=json"],
        v.pipe(
          ApplicationStatusOutput,
          v.transform((out) => ({
            status: out["application-status"].status,
            message: out["application-status"].message,
          })),
        ),
      );
    }
    return jsonCall(
      "status-get",
      ["--include-data", "--format=json"],
      v.pipe(
        StatusDetails,
        v.transform(({ status, message }) => ({ status, message })),
      ),
    );
  },

  /** `config-get --format=json <key>`: one charm config value, its default when unset, `null` when it has neither. */
  configGet(key: string): ToolCall<unknown> {
    return jsonCall("config-get", ["--format=json", key], v.unknown());
  },

  /** `action-get --format=json`: the running action's parameters (`{}` when it has none, never `null`). */
  actionGet(): ToolCall<Record<string, unknown>> {
    return jsonCall("action-get", ["--format=json"], v.record(v.string(), v.unknown()));
  },

  /** `action-set key=value …`: results of the running action (keys: lowercase letters, digits, `-`, `.`). */
  actionSet(results: Readonly<Record<string, string>>): ToolCall<void> {
    return voidCall(
      "action-set",
      Object.entries(results).map(([key, value]) => `${key}=${value}`),
    );
  },

  /** `action-fail -- <message>`: mark the running action failed, with the message the operator sees. */
  actionFail(message: string): ToolCall<void> {
    return voidCall("action-fail", ["--", message]);
  },

  /** `action-log -- <message>`: a progress line the operator sees while the action runs. */
  actionLog(message: string): ToolCall<void> {
    return voidCall("action-log", ["--", message]);
  },

  /** `juju-log --log-level <LEVEL> -- <message>`: a line in the unit's log (`juju debug-log`). */
  jujuLog(level: JujuLogLevel, message: string): ToolCall<void> {
    return voidCall("juju-log", ["--log-level", level, "--", message]);
  },

  /** `application-version-set -- <version>`: the workload version shown by `juju status`. */
  applicationVersionSet(version: string): ToolCall<void> {
    return voidCall("application-version-set", ["--", version]);
  },

  /**
   * `state-get --format=json <key>`: a value of this unit's server-side store, or `null` when unset. Juju prints
   * `""` for a missing key (without `--strict`), so an empty value and a missing one read the same: `null`.
   */
  stateGet(key: string): ToolCall<string | null> {
    return jsonCall(
      "state-get",
      ["--format=json", key],
      v.pipe(
        v.string(),
        v.transform((value) => (value === "" ? null : value)),
      ),
    );
  },

  /** `state-set --file -` with `{key: value}` as JSON (valid YAML) on stdin: survives this process, not a failed hook. */
  stateSet(key: string, value: string): ToolCall<void> {
    return voidCall("state-set", ["--file", "-"], JSON.stringify({ [key]: value }));
  },

  /**
   * `resource-get <name>`: the local path of the unit's copy of resource `name`, as the tool prints it (no newline:
   * jujuc resource-get.go `fmt.Fprintf(ctx.Stdout, filePath)`). For an OCI image resource the file holds the image's
   * registry path (and any credentials: read it with `readImageResource`, which keeps only the path).
   */
  resourceGet(name: string): ToolCall<string> {
    const args = [name];
    return {
      tool: "resource-get",
      args,
      parse(stdout) {
        const path = stdout.replace(/\n$/, "");
        if (path === "" || path.includes("\n"))
          throw new HookToolError("resource-get", args, `unexpected output ${JSON.stringify(stdout.slice(0, 200))}`, 0);
        return path;
      },
    };
  },

  /**
   * `goal-state --format=json`: the units the application is meant to have, including those this unit has not met
   * in a relation yet (`relation-list` lists only the units whose `-relation-joined` ran here). A new leader uses it
   * so it never drops units it has not met.
   */
  goalState(): ToolCall<GoalState> {
    return jsonCall("goal-state", ["--format=json"], GoalStateOutput);
  },
};
