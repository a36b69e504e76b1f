import { HookToolError } from "./hookToolError.js";
import type { GoalStateStatus, HookToolOutput, HookToolRunner, StatusInfo, SyncHookToolRunner } from "./toolCall.js";

/** The action a hook runs in the in-memory model: its parameters, and what the charm reported. */
export interface InMemoryAction {
  readonly name: string;
  readonly params: Record<string, unknown>;
  /** What `action-set` recorded. */
  readonly results: Record<string, string>;
  /** The `action-fail` message, or `null` while the action has not failed. */
  failure: string | null;
  /** What `action-log` recorded. */
  readonly logs: string[];
}

/** One `juju-log` line. */
export interface InMemoryLogLine {
  readonly level: string;
  readonly message: string;
}

/**
 * The slice of a Juju model one unit sees during one hook. Databags are plain objects that the caller may share
 * between the models of several units (the simulator does): {@link InMemoryHookTools.commit} writes into them
 * in place.
 */
export interface InMemoryModel {
  /** This unit's name, e.g. `db/0`. */
  readonly unit: string;
  /** Whether this unit is the leader. */
  leader: boolean;
  /** The peer relation (its endpoint name and id), or `null` before it is created. */
  relation: { readonly name: string; readonly id: number } | null;
  /** Committed databags of every unit in the relation, this unit's included, by unit name. */
  readonly databags: Record<string, Record<string, string>>;
  /** The committed application databag. */
  readonly appData: Record<string, string>;
  /** This unit's workload status (`status-set` changes it at once, as in Juju). */
  status: StatusInfo;
  /** The application status (leader only). */
  appStatus: StatusInfo;
  /** This unit's committed server-side store (`state-get`/`state-set`). */
  readonly state: Record<string, string>;
  /** `juju-log` lines, in order. */
  readonly logs: InMemoryLogLine[];
  /** The action this hook runs, or `null` for a hook. */
  action: InMemoryAction | null;
  /** What `application-version-set` last set. */
  applicationVersion: string;
  /** The charm's config, as `config-get` reports it (absent: empty). */
  config?: Record<string, unknown>;
  /**
   * The application's units as `goal-state` lists them (alive or dying, met in the relation or not), with their
   * workload status. Absent: every unit with a databag and this unit, this unit with its own status and the others
   * `unknown` (the model knows no other unit's status).
   */
  goalUnits?: Record<string, GoalStateStatus>;
}

/** The parts of an {@link InMemoryModel} a caller must or may give; everything else starts empty. */
export interface InMemoryModelInit {
  readonly unit: string;
  readonly leader?: boolean | undefined;
  readonly relation?: { readonly name: string; readonly id: number } | null | undefined;
  readonly databags?: Record<string, Record<string, string>> | undefined;
  readonly appData?: Record<string, string> | undefined;
  readonly status?: StatusInfo | undefined;
  readonly state?: Record<string, string> | undefined;
  /** Start an action with this name and these parameters. */
  readonly action?: { readonly name: string; readonly params?: Record<string, unknown> | undefined } | undefined;
}

/** Build an {@link InMemoryModel} with defaults: not leader, no relation, empty databags, status `unknown`. */
export function createInMemoryModel(init: InMemoryModelInit): InMemoryModel {
  return {
    unit: init.unit,
    leader: init.leader ?? false,
    relation: init.relation ?? null,
    databags: init.databags ?? {},
    appData: init.appData ?? {},
    status: init.status ?? { status: "unknown", message: "" },
    appStatus: { status: "unknown", message: "" },
    state: init.state ?? {},
    logs: [],
    action: init.action
      ? { name: init.action.name, params: init.action.params ?? {}, results: {}, failure: null, logs: [] }
      : null,
    applicationVersion: "",
  };
}

/** One recorded invocation, for assertions. */
export interface InMemoryCall {
  readonly tool: string;
  readonly args: readonly string[];
  readonly stdin: string | undefined;
}

/** What {@link InMemoryHookTools.commit} changed (writes of an unchanged value change nothing). */
export interface CommitResult {
  readonly unitChanged: boolean;
  readonly appChanged: boolean;
  readonly stateChanged: boolean;
}

/** A tool's error as Juju reports it: `ERROR <reason>` on stderr, exit code 1 (2 for bad usage). */
class ToolFailure extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode = 1,
  ) {
    super(reason);
  }
}

const usage = (reason: string) => new ToolFailure(reason, 2);

interface ParsedArgs {
  readonly flags: Map<string, string | true>;
  readonly positional: string[];
}

/** gnuflag-style parsing: `--flag`, `--flag=value`, `--flag value`, `-r 3`, `--` ends the flags; interspersed. */
function parseArgs(args: readonly string[], bools: readonly string[], values: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    if (bools.includes(name)) {
      const value = eq === -1 ? "true" : body.slice(eq + 1).toLowerCase();
      if (value !== "true" && value !== "false")
        throw usage(`invalid boolean value ${JSON.stringify(value)} for -${name}`);
      if (value === "true") flags.set(name, true);
      else flags.delete(name);
    } else if (values.includes(name)) {
      const value = eq === -1 ? args[++i] : body.slice(eq + 1);
      if (value === undefined) throw usage(`flag needs an argument: ${arg}`);
      flags.set(name, value);
    } else {
      throw usage(`flag provided but not defined: ${arg}`);
    }
  }
  return { flags, positional };
}

/**
 * A Go struct for {@link goJson}: its fields print in declaration order (the object's insertion order), where a
 * Go map's keys print sorted.
 */
class GoStruct {
  constructor(readonly fields: Readonly<Record<string, unknown>>) {}
}

/** Mark `fields` as a Go struct: printed in this order, not sorted. */
const struct = (fields: Readonly<Record<string, unknown>>) => new GoStruct(fields);

/**
 * Go's `json.Marshal` as `juju/cmd` `FormatJson` uses it (output.go: `json.Marshal(value)` then `"\n"`): compact,
 * map keys sorted, struct fields in declaration order, and Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and
 * U+2029 (encoding/json `Marshal` escapes them; JSON readers see the same text).
 */
function goJson(value: unknown): string {
  const encode = (item: unknown): string => {
    if (item instanceof GoStruct) {
      return `{${Object.entries(item.fields)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => `${encode(k)}:${encode(x)}`)
        .join(",")}}`;
    }
    if (Array.isArray(item)) return `[${item.map(encode).join(",")}]`;
    if (item && typeof item === "object") {
      return `{${Object.entries(item)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, x]) => `${encode(k)}:${encode(x)}`)
        .join(",")}}`;
    }
    if (typeof item === "string") {
      return JSON.stringify(item).replace(
        /[<>&\u2028\u2029]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      );
    }
    return JSON.stringify(item ?? null);
  };
  return `${encode(value)}\n`;
}

function requireJson(flags: Map<string, string | true>): void {
  const format = flags.get("format");
  if (format !== "json")
    throw usage(
      `the in-memory hook tools print only --format=json (got ${format === undefined ? "smart" : String(format)})`,
    );
}

/** `key=value` arguments (relation-set, state-set, action-set), split at the first `=`. */
function keyValues(positional: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of positional) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw usage(`expected "key=value", got ${JSON.stringify(arg)}`);
    const key = arg.slice(0, eq);
    if (key in out) throw usage(`key ${JSON.stringify(key)} specified more than once`);
    out[key] = arg.slice(eq + 1);
  }
  return out;
}

/**
 * Settings from `--file -`: a YAML map of strings. The JSON subset of YAML is what this package writes; scalar
 * numbers and booleans become their text, as Juju's YAML decoder does.
 */
function settingsFile(stdin: string | undefined): Record<string, string> {
  const text = (stdin ?? "").trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ToolFailure(`cannot parse settings from stdin: the in-memory hook tools read the JSON subset of YAML`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new ToolFailure("cannot parse settings: expected a map of strings");
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== null && typeof value === "object")
      throw new ToolFailure(`cannot parse settings: value of ${JSON.stringify(key)} is not a string`);
    out[key] = value === null ? "" : String(value);
  }
  return out;
}

const ACTION_KEY = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const RESERVED_ACTION_KEYS = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);
const STATUSES = new Set(["maintenance", "blocked", "waiting", "active"]);
const LOG_LEVELS = new Set(["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
const unitNumber = (name: string) => Number(name.slice(name.lastIndexOf("/") + 1));

/** Apply `writes` (where `""` deletes) to `base`, returning a new object. */
function overlay(base: Readonly<Record<string, string>>, writes: ReadonlyMap<string, string>): Record<string, string> {
  const out = { ...base };
  for (const [key, value] of writes) {
    if (value === "") delete out[key];
    else out[key] = value;
  }
  return out;
}

/** Write `writes` into `target` in place; true when any value actually changed. */
function apply(target: Record<string, string>, writes: ReadonlyMap<string, string>): boolean {
  let changed = false;
  for (const [key, value] of writes) {
    if (value === "") {
      if (key in target) {
        delete target[key];
        changed = true;
      }
    } else if (target[key] !== value) {
      target[key] = value;
      changed = true;
    }
  }
  return changed;
}

/**
 * A tiny fake Juju for one hook run of one unit: a {@link HookToolRunner} that answers the same command lines as the
 * real hook tools, with the same JSON output, over an {@link InMemoryModel}. It enforces the rules the upgrade
 * protocol depends on:
 *
 * - only the leader may write the application databag (`ERROR permission denied`, as the real tool);
 * - `relation-set` has no way to name another unit: a unit writes only its own databag;
 * - relation and server-side-state writes are buffered and committed only when the hook succeeds
 *   ({@link commit}), or dropped when it fails ({@link discard}); within the hook, `relation-get` of this unit's
 *   own databag (and, on the leader, of the application's) sees the pending writes, as in Juju.
 *
 * Status, logs and action results take effect at once, as in Juju.
 *
 * @example
 * ```ts
 * const juju = new InMemoryHookTools(createInMemoryModel({ unit: "db/0", leader: true, relation: { name: "upgrade", id: 3 } }));
 * const tools = new HookTools(juju.run);
 * await tools.relationSet(3, { state: "idle" });
 * juju.commit(); // the hook succeeded
 * ```
 */
export class InMemoryHookTools {
  /** The model this hook reads and, on commit, writes. */
  readonly model: InMemoryModel;
  /** Every invocation, in order. */
  readonly calls: InMemoryCall[] = [];
  private readonly unitWrites = new Map<string, string>();
  private readonly appWrites = new Map<string, string>();
  private readonly stateWrites = new Map<string, string>();
  private ended = false;

  /** @param model - what this unit sees; see {@link createInMemoryModel}. */
  constructor(model: InMemoryModel) {
    this.model = model;
  }

  /**
   * The {@link SyncHookToolRunner} port over this fake (bound: pass it around freely): for drivers that step the
   * adapter synchronously (simulators, the verifier).
   */
  readonly runSync: SyncHookToolRunner = (tool, args, stdin) => {
    this.calls.push({ tool, args: [...args], stdin });
    if (this.ended) throw new HookToolError(tool, args, "ERROR the hook has ended; its hook tools are gone", 1);
    try {
      return { stdout: this.dispatch(tool, args, stdin) } satisfies HookToolOutput;
    } catch (error) {
      if (error instanceof ToolFailure) throw new HookToolError(tool, args, `ERROR ${error.reason}\n`, error.exitCode);
      throw error;
    }
  };

  /** The {@link HookToolRunner} port over this fake (bound): {@link runSync}, answered as a promise. */
  readonly run: HookToolRunner = async (tool, args, stdin) => this.runSync(tool, args, stdin);

  /** This unit's pending (uncommitted) relation writes, `""` meaning delete. */
  get pendingUnitWrites(): ReadonlyMap<string, string> {
    return this.unitWrites;
  }

  /** The leader's pending (uncommitted) application-databag writes, `""` meaning delete. */
  get pendingAppWrites(): ReadonlyMap<string, string> {
    return this.appWrites;
  }

  /** The hook succeeded: write the buffered relation and state changes into the model. Ends the hook. */
  commit(): CommitResult {
    this.end();
    const { model } = this;
    let unitChanged = false;
    if (this.unitWrites.size) {
      const bag = (model.databags[model.unit] ??= {});
      unitChanged = apply(bag, this.unitWrites);
    }
    const appChanged = apply(model.appData, this.appWrites);
    const stateChanged = apply(model.state, this.stateWrites);
    this.clear();
    return { unitChanged, appChanged, stateChanged };
  }

  /** The hook failed: drop the buffered relation and state changes, as Juju does. Ends the hook. */
  discard(): void {
    this.end();
    this.clear();
  }

  private end(): void {
    if (this.ended) throw new Error("InMemoryHookTools: the hook was already committed or discarded");
    this.ended = true;
  }

  private clear(): void {
    this.unitWrites.clear();
    this.appWrites.clear();
    this.stateWrites.clear();
  }

  private relation(flags: Map<string, string | true>): { name: string; id: number } {
    const raw = flags.get("r") ?? flags.get("relation");
    if (raw === undefined || raw === true) throw usage("no relation id specified");
    const id = Number(raw.slice(raw.lastIndexOf(":") + 1));
    const relation = this.model.relation;
    if (
      !relation ||
      relation.id !== id ||
      (raw.includes(":") && raw.slice(0, raw.lastIndexOf(":")) !== relation.name)
    ) {
      throw usage(`invalid value ${JSON.stringify(raw)} for option -r: relation not found`);
    }
    return relation;
  }

  private appName(): string {
    return this.model.unit.slice(0, this.model.unit.indexOf("/"));
  }

  private goalUnits(): Record<string, GoalStateStatus> {
    const { model } = this;
    if (model.goalUnits) return model.goalUnits;
    const units: Record<string, GoalStateStatus> = {};
    for (const name of new Set([model.unit, ...Object.keys(model.databags)])) {
      units[name] = { status: name === model.unit ? model.status.status : "unknown" };
    }
    return units;
  }

  private action(): InMemoryAction {
    if (!this.model.action) throw new ToolFailure("not running an action");
    return this.model.action;
  }

  private dispatch(tool: string, args: readonly string[], stdin: string | undefined): string {
    const { model } = this;
    switch (tool) {
      case "relation-ids": {
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        const [name, ...rest] = positional;
        if (name === undefined) throw usage("no relation name specified");
        if (rest.length) throw usage(`unrecognized args: ${JSON.stringify(rest)}`);
        return goJson(model.relation && model.relation.name === name ? [`${name}:${model.relation.id}`] : []);
      }
      case "relation-list": {
        const { flags, positional } = parseArgs(args, ["app"], ["format", "r", "relation"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${JSON.stringify(positional)}`);
        this.relation(flags);
        if (flags.has("app")) return goJson(this.appName());
        const others = Object.keys(model.databags)
          .filter((name) => name !== model.unit)
          .sort((a, b) => unitNumber(a) - unitNumber(b));
        return goJson(others);
      }
      case "relation-get": {
        const { flags, positional } = parseArgs(args, ["app"], ["format", "r", "relation"]);
        requireJson(flags);
        const relation = this.relation(flags);
        const [rawKey, target, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${JSON.stringify(rest)}`);
        if (target === undefined) throw usage("no unit or application specified");
        const key = rawKey === undefined || rawKey === "-" ? null : rawKey;
        let bag: Record<string, string>;
        if (flags.has("app")) {
          const app = target.includes("/") ? target.slice(0, target.indexOf("/")) : target;
          if (app !== this.appName())
            throw new ToolFailure(
              `application ${JSON.stringify(app)} is not in relation ${relation.name}:${relation.id}`,
            );
          // The leader reads its own (pending) writes; other units read what was committed.
          bag = model.leader ? overlay(model.appData, this.appWrites) : { ...model.appData };
        } else if (target === model.unit) {
          bag = overlay(model.databags[model.unit] ?? {}, this.unitWrites);
        } else {
          const other = model.databags[target];
          if (!other) {
            throw new ToolFailure(
              `cannot read settings for unit ${JSON.stringify(target)} in relation ${JSON.stringify(`${relation.name}:${relation.id}`)}: settings not found`,
            );
          }
          bag = { ...other };
        }
        return goJson(key === null ? bag : (bag[key] ?? null));
      }
      case "relation-set": {
        const { flags, positional } = parseArgs(args, ["app"], ["r", "relation", "file", "format"]);
        this.relation(flags);
        const file = flags.get("file");
        if (file !== undefined && file !== "-") throw usage("the in-memory hook tools read --file only from stdin (-)");
        const settings = { ...(file === "-" ? settingsFile(stdin) : {}), ...keyValues(positional) };
        if (flags.has("app")) {
          if (!model.leader) throw new ToolFailure("permission denied");
          for (const [key, value] of Object.entries(settings)) this.appWrites.set(key, value);
        } else {
          for (const [key, value] of Object.entries(settings)) this.unitWrites.set(key, value);
        }
        return "";
      }
      case "is-leader": {
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${JSON.stringify(positional)}`);
        return goJson(model.leader);
      }
      case "status-set": {
        const { flags, positional } = parseArgs(args, ["application"], []);
        const [status, message = "", ...rest] = positional;
        if (status === undefined) throw usage("invalid args, require <status> [message] [data]");
        if (rest.length) throw usage(`unrecognized args: ${JSON.stringify(rest)}`);
        if (!STATUSES.has(status))
          throw usage(`invalid status ${JSON.stringify(status)}, expected one of [maintenance blocked waiting active]`);
        if (flags.has("application")) {
          if (!model.leader) throw new ToolFailure("setting application status: this unit is not the leader");
          model.appStatus = { status, message };
        } else {
          model.status = { status, message };
        }
        return "";
      }
      case "status-get": {
        const { flags, positional } = parseArgs(args, ["include-data", "application"], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${JSON.stringify(positional)}`);
        const info = flags.has("application") ? model.appStatus : model.status;
        if (!flags.has("include-data")) return goJson({ status: info.status });
        return goJson({ message: info.message, status: info.status, "status-data": {} });
      }
      case "config-get": {
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        const config = model.config ?? {};
        const [key] = positional;
        return goJson(key === undefined ? config : (config[key] ?? null));
      }
      case "action-get": {
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        const action = this.action();
        const [key] = positional;
        if (key === undefined) return goJson(action.params);
        let value: unknown = action.params;
        for (const part of key.split("."))
          value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
        return goJson(value ?? null);
      }
      case "action-set": {
        const action = this.action();
        const { positional } = parseArgs(args, [], []);
        const results = keyValues(positional);
        for (const key of Object.keys(results)) {
          if (!ACTION_KEY.test(key)) {
            throw usage(
              `key ${JSON.stringify(key)} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`,
            );
          }
          if (RESERVED_ACTION_KEYS.has(key)) throw usage(`cannot set reserved action key ${JSON.stringify(key)}`);
        }
        Object.assign(action.results, results);
        return "";
      }
      case "action-fail": {
        const action = this.action();
        const { positional } = parseArgs(args, [], []);
        action.failure = positional.join(" ") || "action failed without reason given, check action for errors";
        return "";
      }
      case "action-log": {
        const action = this.action();
        const { positional } = parseArgs(args, [], []);
        if (!positional.length) throw usage("no message specified");
        action.logs.push(positional.join(" "));
        return "";
      }
      case "juju-log": {
        const { flags, positional } = parseArgs(args, ["debug"], ["l", "log-level", "format"]);
        if (!positional.length) throw usage("no message specified");
        const raw = flags.get("log-level") ?? flags.get("l");
        let level = flags.has("debug") ? "DEBUG" : typeof raw === "string" ? raw.toUpperCase() : "INFO";
        if (!LOG_LEVELS.has(level)) level = "INFO";
        model.logs.push({ level, message: positional.join(" ") });
        return "";
      }
      case "application-version-set": {
        const { positional } = parseArgs(args, [], []);
        if (positional.length !== 1) throw usage("no version specified");
        model.applicationVersion = positional[0] ?? "";
        return "";
      }
      case "state-get": {
        const { flags, positional } = parseArgs(args, ["strict"], ["format"]);
        requireJson(flags);
        const state = overlay(model.state, this.stateWrites);
        const [key] = positional;
        // Juju prints `null`, not `{}`, for an empty store (juju/juju#22523).
        if (key === undefined || key === "-") return goJson(Object.keys(state).length ? state : null);
        if (!(key in state) && flags.has("strict")) throw new ToolFailure(`"${key}" not found`);
        return goJson(state[key] ?? "");
      }
      case "state-set": {
        const { flags, positional } = parseArgs(args, [], ["file"]);
        const file = flags.get("file");
        if (file !== undefined && file !== "-") throw usage("the in-memory hook tools read --file only from stdin (-)");
        const values = { ...(file === "-" ? settingsFile(stdin) : {}), ...keyValues(positional) };
        for (const [key, value] of Object.entries(values)) this.stateWrites.set(key, value);
        return "";
      }
      case "goal-state": {
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${JSON.stringify(positional)}`);
        // goal-state.go formattedGoalState{Units, Relations}: a struct, units first; peer relations are left out of
        // `relations` (apiserver uniter.go goalStateRelations: "Ignore peer relations here").
        const units = Object.fromEntries(
          Object.entries(this.goalUnits()).map(([name, gs]) => [name, struct({ status: gs.status, since: gs.since })]),
        );
        return goJson(struct({ units, relations: {} }));
      }
      case "state-delete": {
        const { positional } = parseArgs(args, [], []);
        const [key] = positional;
        if (key === undefined) throw usage("no key specified");
        this.stateWrites.set(key, "");
        return "";
      }
      default:
        throw new HookToolError(tool, args, `${tool}: command not found`, 127);
    }
  }
}
