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
  /**
   * The charm's config as the unit sees it, defaults applied (`config-get` prints a key's value, its default when
   * unset, `null` for an option with neither or no such option). Absent: no options.
   */
  config?: Record<string, unknown>;
  /**
   * The remote units this unit has met: those whose `-relation-joined` has run here, which `relation-list` prints
   * (context/cache.go `MemberNames`). Absent: every other unit with a databag, as if every join had run.
   */
  metUnits?: readonly string[];
  /**
   * The other units' workload statuses, by unit name (`status-get --application` lists every unit of the
   * application with its status). Absent: every other unit with a databag, status `unknown`.
   */
  unitStatuses?: Record<string, StatusInfo>;
  /**
   * `true` while no leader has ever set the application status: Juju then reports the most severe unit status
   * instead (state/application.go `Status`, `neverset`). Absent or `false`: {@link appStatus} is what was set.
   */
  appStatusNeverSet?: boolean;
  /**
   * The application's units as `goal-state` lists them (alive or dying, met in the relation or not), with their
   * workload status. Absent: this unit and every unit with a databag, each with its status as in
   * {@link unitStatuses} (`unknown` when not known).
   */
  goalUnits?: Record<string, GoalStateStatus>;
  /**
   * The unit's resources, by name: the path of the local copy `resource-get` prints (the caller writes the file).
   * Absent: none.
   */
  resources?: Record<string, string>;
}

/**
 * The parts of an {@link InMemoryModel} a caller must or may give; everything else starts empty. Plain data (JSON),
 * so the hook-tool fixtures describe their model with it.
 */
export interface InMemoryModelInit {
  readonly unit: string;
  readonly leader?: boolean | undefined;
  readonly relation?: { readonly name: string; readonly id: number } | null | undefined;
  readonly databags?: Record<string, Record<string, string>> | undefined;
  readonly appData?: Record<string, string> | undefined;
  readonly status?: StatusInfo | undefined;
  readonly appStatus?: StatusInfo | undefined;
  readonly appStatusNeverSet?: boolean | undefined;
  readonly unitStatuses?: Record<string, StatusInfo> | undefined;
  readonly state?: Record<string, string> | undefined;
  readonly config?: Record<string, unknown> | undefined;
  readonly metUnits?: readonly string[] | undefined;
  readonly goalUnits?: Record<string, GoalStateStatus> | undefined;
  readonly resources?: Record<string, string> | undefined;
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
    appStatus: init.appStatus ?? { status: "unknown", message: "" },
    state: init.state ?? {},
    logs: [],
    action: init.action
      ? { name: init.action.name, params: init.action.params ?? {}, results: {}, failure: null, logs: [] }
      : null,
    applicationVersion: "",
    ...(init.config ? { config: init.config } : {}),
    ...(init.metUnits ? { metUnits: init.metUnits } : {}),
    ...(init.unitStatuses ? { unitStatuses: init.unitStatuses } : {}),
    ...(init.appStatusNeverSet !== undefined ? { appStatusNeverSet: init.appStatusNeverSet } : {}),
    ...(init.goalUnits ? { goalUnits: init.goalUnits } : {}),
    ...(init.resources ? { resources: init.resources } : {}),
  };
}

/** One recorded invocation, for assertions. */
export interface InMemoryCall {
  readonly tool: string;
  readonly args: readonly string[];
  readonly stdin: string | undefined;
}

/** What one tool process would leave behind: its stdout, its stderr and its exit code. */
export interface InMemoryToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** What {@link InMemoryHookTools.commit} changed (writes of an unchanged value change nothing). */
export interface CommitResult {
  readonly unitChanged: boolean;
  readonly appChanged: boolean;
  readonly stateChanged: boolean;
}

/**
 * A tool's error as Juju reports it: juju/cmd cmd.go `Main` writes `ERROR <reason>` and a newline on stderr, exit
 * code 1 for an error of `Run`, 2 for one of flag parsing or `Init` (`handleCommandError`).
 */
class ToolFailure extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode = 1,
  ) {
    super(reason);
  }
}

/** A tool that does not exist: the shell's answer, exit code 127. */
class NoSuchTool extends Error {}

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

/** Go's `%q` of a string, close enough for the messages here (JSON's escaping of printable text is the same). */
const goQuote = (text: string) => JSON.stringify(text);

/** Go's `%q` of a `[]string`: `["a" "b"]`. */
const goQuoteList = (items: readonly string[]) => `[${items.map(goQuote).join(" ")}]`;

/**
 * `key=value` arguments of relation-set and state-set, split at the first `=`: juju/utils `keyvalues.Parse`, which
 * both commands' Init call (its messages: `expected "key=value", got …`, `key … specified more than once`).
 */
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

/** One segment of an action-set key: the action-name rule (jujuc/action-set.go `keyRule`). */
const ACTION_KEY = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** jujuc/action-set.go `reservedKeys`: what Juju itself puts in an action's results. */
const RESERVED_ACTION_KEYS = new Set(["stdout", "stdout-encoding", "stderr", "stderr-encoding"]);
const UNKNOWN: StatusInfo = { status: "unknown", message: "" };
/** jujuc/status-set.go Init: the statuses a charm may set. */
const STATUSES = new Set(["maintenance", "blocked", "waiting", "active"]);
const LOG_LEVELS = new Set(["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
/** Status severities of state/application.go `statusServerities`, for a never-set application status. */
const SEVERITY: Readonly<Record<string, number>> = {
  error: 100,
  blocked: 90,
  waiting: 80,
  maintenance: 70,
  active: 60,
  terminated: 50,
  unknown: 40,
};

/** Go's `sort.Strings`: by UTF-8 bytes, which for unit names is plain code-unit order (`db/10` before `db/2`). */
const byGoString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Apply `writes` to `base`, returning a new object. `null` deletes; so does `""` in a relation databag (relation-set:
 * "Setting an empty string causes the setting to be removed"), but not in the server-side store, where state-set
 * stores `""` as a value (context.go `SetCharmStateValue`) and only state-delete deletes.
 */
function overlay(
  base: Readonly<Record<string, string>>,
  writes: ReadonlyMap<string, string | null>,
): Record<string, string> {
  const out = { ...base };
  for (const [key, value] of writes) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** Write `writes` into `target` in place (`null` deletes); true when any value actually changed. */
function apply(target: Record<string, string>, writes: ReadonlyMap<string, string | null>): boolean {
  let changed = false;
  for (const [key, value] of writes) {
    if (value === null) {
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
 * real hook tools (`jujuc`, Juju 3), with the same JSON output, over an {@link InMemoryModel}. Every output format
 * and rule here is checked against recordings taken from Juju's sources (packages/juju/fixtures/hook-tools, run by
 * the conformance suite of `@charm-upgrade/juju/testing`); the comment beside each cites the source. It enforces the
 * rules the upgrade protocol depends on:
 *
 * - only the leader may write the application databag (`ERROR cannot write relation settings`) or set or read the
 *   application status (`this unit is not the leader`);
 * - `relation-set` has no way to name another unit: a unit writes only its own databag;
 * - relation and server-side-state writes are buffered and committed only when the hook succeeds
 *   ({@link commit}), or dropped when it fails ({@link discard}); within the hook, `relation-get` of this unit's
 *   own databag (and, on the leader, of the application's) and `state-get` see the pending writes, as in Juju;
 * - `relation-list` lists only the units this unit has met ({@link InMemoryModel.metUnits}); `relation-get` reads any
 *   unit in the relation, met or not.
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
  private readonly unitWrites = new Map<string, string | null>();
  private readonly appWrites = new Map<string, string | null>();
  private readonly stateWrites = new Map<string, string | null>();
  private ended = false;

  /** @param model - what this unit sees; see {@link createInMemoryModel}. */
  constructor(model: InMemoryModel) {
    this.model = model;
  }

  /**
   * Run one tool as its process would: what it prints on stdout and stderr, and its exit code, never throwing for a
   * failure of the tool itself. The conformance suite compares this with Juju's recorded output byte for byte; a
   * process-level harness can print it as is.
   */
  invoke(tool: string, args: readonly string[], stdin?: string): InMemoryToolResult {
    this.calls.push({ tool, args: [...args], stdin });
    // Not Juju's words: a harness that calls a tool after the hook ended is broken (Juju's tools would reach no
    // context at all), and this says so.
    if (this.ended) return { stdout: "", stderr: "ERROR the hook has ended; its hook tools are gone\n", exitCode: 1 };
    try {
      return { stdout: this.dispatch(tool, args, stdin), stderr: "", exitCode: 0 };
    } catch (error) {
      if (error instanceof ToolFailure)
        return { stdout: "", stderr: `ERROR ${error.reason}\n`, exitCode: error.exitCode };
      if (error instanceof NoSuchTool) return { stdout: "", stderr: `${tool}: command not found\n`, exitCode: 127 };
      throw error;
    }
  }

  /**
   * The {@link SyncHookToolRunner} port over this fake (bound: pass it around freely), for drivers that step the
   * adapter synchronously (simulators, the verifier): {@link invoke}, with a failure thrown as the
   * {@link HookToolError} the production runner rejects with.
   */
  readonly runSync: SyncHookToolRunner = (tool, args, stdin) => {
    const result = this.invoke(tool, args, stdin);
    if (result.exitCode !== 0) throw new HookToolError(tool, args, result.stderr, result.exitCode);
    return { stdout: result.stdout } satisfies HookToolOutput;
  };

  /** The {@link HookToolRunner} port over this fake (bound): {@link runSync}, answered as a promise. */
  readonly run: HookToolRunner = async (tool, args, stdin) => this.runSync(tool, args, stdin);

  /** This unit's pending (uncommitted) relation writes, `null` meaning delete. */
  get pendingUnitWrites(): ReadonlyMap<string, string | null> {
    return this.unitWrites;
  }

  /** The leader's pending (uncommitted) application-databag writes, `null` meaning delete. */
  get pendingAppWrites(): ReadonlyMap<string, string | null> {
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

  /**
   * The relation named by `-r`/`--relation`. As jujuc's `relationIdValue.Set` (jujuc/context.go): the text after the
   * last `:` is the id (the endpoint name before it is not checked), a non-number is `invalid relation id`, an
   * unknown id `relation not found`; both are flag errors (exit code 2, `invalid value "…" for option -r: …`).
   */
  private relation(flags: Map<string, string | true>): { name: string; id: number } {
    const raw = flags.get("r") ?? flags.get("relation");
    if (raw === undefined || raw === true) throw usage("no relation id specified");
    const text = raw.slice(raw.lastIndexOf(":") + 1);
    if (!/^[+-]?[0-9]+$/.test(text))
      throw usage(`invalid value ${JSON.stringify(raw)} for option -r: invalid relation id`);
    const relation = this.model.relation;
    if (!relation || relation.id !== Number(text)) {
      throw usage(`invalid value ${JSON.stringify(raw)} for option -r: relation not found`);
    }
    return relation;
  }

  private appName(): string {
    return this.model.unit.slice(0, this.model.unit.indexOf("/"));
  }

  private action(): InMemoryAction {
    // context.go `ActionParams` and the other action accessors: `errors.New("not running an action")`.
    if (!this.model.action) throw new ToolFailure("not running an action");
    return this.model.action;
  }

  /** Every unit of the application with its workload status: this unit's own, the others' as the model says. */
  private applicationUnits(): Record<string, StatusInfo> {
    const { model } = this;
    const others = model.unitStatuses ?? Object.fromEntries(Object.keys(model.databags).map((name) => [name, UNKNOWN]));
    return { ...others, [model.unit]: model.status };
  }

  /** status-get --application: what was set, or (never set) the most severe unit status (state/application.go `Status`). */
  private applicationStatus(): StatusInfo {
    const { model } = this;
    if (!model.appStatusNeverSet) return model.appStatus;
    let result: StatusInfo = { status: "", message: "" };
    for (const name of Object.keys(this.applicationUnits()).sort(byGoString)) {
      const unit = this.applicationUnits()[name] ?? UNKNOWN;
      if ((SEVERITY[unit.status] ?? 0) > (SEVERITY[result.status] ?? 0)) result = unit;
    }
    return result.status === "" ? model.appStatus : result;
  }

  private dispatch(tool: string, args: readonly string[], stdin: string | undefined): string {
    const { model } = this;
    switch (tool) {
      case "relation-ids": {
        // jujuc/relation-ids.go Run: the `name:id` of every relation on the endpoint, sorted; `[]` (never null)
        // when there is none.
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        const [name, ...rest] = positional;
        if (name === undefined) throw usage("no relation name specified");
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        return goJson(model.relation && model.relation.name === name ? [`${name}:${model.relation.id}`] : []);
      }
      case "relation-list": {
        // jujuc/relation-list.go Run: the relation's members, i.e. the remote units whose -relation-joined ran
        // here (context/cache.go `MemberNames`, sorted with sort.Strings), `[]` (never null) for none; --app
        // prints the remote application's name.
        const { flags, positional } = parseArgs(args, ["app"], ["format", "r", "relation"]);
        requireJson(flags);
        this.relation(flags);
        if (positional.length) throw usage(`unrecognized args: ${goQuoteList(positional)}`);
        if (flags.has("app")) return goJson(this.appName());
        const met = model.metUnits ?? Object.keys(model.databags);
        return goJson([...new Set(met)].filter((name) => name !== model.unit).sort(byGoString));
      }
      case "relation-get": {
        const { flags, positional } = parseArgs(args, ["app"], ["format", "r", "relation"]);
        requireJson(flags);
        const relation = this.relation(flags);
        const [rawKey, target, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        if (target === undefined) throw usage("no unit or application specified");
        // Init: no key or "-" reads the whole databag.
        const key = rawKey === undefined || rawKey === "-" ? null : rawKey;
        let bag: Record<string, string>;
        if (flags.has("app")) {
          // determineUnitOrAppName: with --app, a unit name stands for its application.
          const app = target.includes("/") ? target.slice(0, target.indexOf("/")) : target;
          // The peer relation relates this application only to itself: any other application's databag is
          // refused (apiserver uniter.go getRemoteRelationAppSettings: ErrPerm, "permission denied").
          if (app !== this.appName()) throw new ToolFailure("permission denied");
          // mustReadSettingsFromController: the leader reads its own application's databag locally, with this
          // hook's pending writes; everyone else reads what was committed, through the controller (allowed in a
          // peer relation: uniter.go readLocalApplicationSettings / getRemoteRelationAppSettings).
          bag = model.leader ? overlay(model.appData, this.appWrites) : { ...model.appData };
        } else if (target === model.unit) {
          // A unit reads its own databag locally, pending writes included (api/agent/uniter/settings.go `Map`:
          // never nil, deleted keys left out).
          bag = overlay(model.databags[model.unit] ?? {}, this.unitWrites);
        } else {
          // Any other unit is read through the controller, met or not: context/cache.go `Settings` ("It's valid to
          // get the settings of any unit that has ever been in the relation") → apiserver `ReadRemoteSettings`,
          // which checks only that the unit's application is related, not that this unit has met it. A unit that
          // never entered the relation has no settings document (state/relationunit.go `ReadSettings`).
          const other = model.databags[target];
          if (!other) {
            throw new ToolFailure(
              `cannot read settings for unit ${goQuote(target)} in relation ${goQuote(`${this.appName()}:${relation.name}`)}: unit ${goQuote(target)}: settings not found`,
            );
          }
          bag = { ...other };
        }
        // Run: the whole map, or the key's value, or nil (`null`) for a missing key.
        return goJson(key === null ? bag : (bag[key] ?? null));
      }
      case "relation-set": {
        const { flags, positional } = parseArgs(args, ["app"], ["r", "relation", "file", "format"]);
        this.relation(flags);
        const file = flags.get("file");
        if (file !== undefined && file !== "-") throw usage("the in-memory hook tools read --file only from stdin (-)");
        // handleSettingsFile: the file's map, overridden by key=value arguments.
        const settings = { ...(file === "-" ? settingsFile(stdin) : {}), ...keyValues(positional) };
        // Run: with --app, a non-leader gets `errors.Errorf("cannot write relation settings")`; an empty value
        // deletes the key (`settings.Delete`); writes are buffered until the hook commits (context/relation.go
        // `WriteSettings` at flush).
        const writes = flags.has("app") ? this.appWrites : this.unitWrites;
        if (flags.has("app") && !model.leader) throw new ToolFailure("cannot write relation settings");
        for (const [key, value] of Object.entries(settings)) writes.set(key, value === "" ? null : value);
        return "";
      }
      case "is-leader": {
        // jujuc/is-leader.go Run: `c.out.Write(ctx, success)`, a JSON boolean.
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${goQuoteList(positional)}`);
        return goJson(model.leader);
      }
      case "status-set": {
        const { flags, positional } = parseArgs(args, ["application"], []);
        const [status, message = "", ...rest] = positional;
        if (status === undefined) throw usage("invalid args, require <status> [message] [data]");
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        if (!STATUSES.has(status)) {
          throw usage(`invalid status ${goQuote(status)}, expected one of [maintenance blocked waiting active]`);
        }
        if (flags.has("application")) {
          // context.go SetApplicationStatus: a non-leader gets ErrIsNotLeader, "this unit is not the leader".
          if (!model.leader) throw new ToolFailure("this unit is not the leader");
          model.appStatus = { status, message };
          model.appStatusNeverSet = false;
        } else {
          model.status = { status, message };
        }
        return "";
      }
      case "status-get": {
        const { flags, positional } = parseArgs(args, ["include-data", "application"], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${goQuoteList(positional)}`);
        // jujuc/status-get.go toDetails: `status`, and with --include-data `message` and `status-data` (a map,
        // never nil). The data a charm passed to status-set is not modelled: always `{}`.
        const details = (info: StatusInfo) =>
          flags.has("include-data")
            ? { message: info.message, status: info.status, "status-data": {} }
            : { status: info.status };
        if (!flags.has("application")) return goJson(details(model.status));
        // ApplicationStatus: only the leader (context.go ApplicationStatus: ErrIsNotLeader, annotated "finding
        // application status"); the application's details nested under "application-status", with a "units" map
        // of every unit of the application beside them.
        if (!model.leader) throw new ToolFailure("finding application status: this unit is not the leader");
        const units = Object.fromEntries(
          Object.entries(this.applicationUnits()).map(([name, info]) => [name, details(info)]),
        );
        return goJson({ "application-status": { ...details(this.applicationStatus()), units } });
      }
      case "config-get": {
        // jujuc/config-get.go Run: `settings[key]`, which is the value, its default when unset, or nil (`null`)
        // for an option with neither or an unknown key (context.go ConfigSettings: charm defaults applied).
        const { flags, positional } = parseArgs(args, ["a", "all"], ["format"]);
        requireJson(flags);
        const config = model.config ?? {};
        const [key, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        if (key === undefined) {
          const all = flags.has("a") || flags.has("all");
          return goJson(Object.fromEntries(Object.entries(config).filter(([, value]) => all || value !== null)));
        }
        return goJson(config[key] ?? null);
      }
      case "action-get": {
        // jujuc/action-get.go Run: the whole params map (`{}`, never null, when there are none), or the value at a
        // dotted key path, or null.
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        const [key, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        const action = this.action();
        if (key === undefined) return goJson(action.params);
        let value: unknown = action.params;
        for (const part of key.split(".")) {
          value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
        }
        return goJson(value ?? null);
      }
      case "action-set": {
        // jujuc/action-set.go Init: each argument split at its first "=" (`argument "x" must be of the form
        // key...=value`), the key split at "." and every segment checked against the action-name rule and the
        // reserved keys (Init errors: exit code 2; jujuc/action-set_test.go). Later arguments overwrite earlier
        // ones. Run nests dotted keys (`UpdateActionResults`); the in-memory results keep the dotted key flat.
        const { positional } = parseArgs(args, [], []);
        const results: Record<string, string> = {};
        for (const arg of positional) {
          const eq = arg.indexOf("=");
          if (eq === -1) throw usage(`argument ${goQuote(arg)} must be of the form key...=value`);
          const key = arg.slice(0, eq);
          for (const segment of key.split(".")) {
            if (!ACTION_KEY.test(segment)) {
              throw usage(
                `key ${goQuote(segment)} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`,
              );
            }
            if (RESERVED_ACTION_KEYS.has(segment)) throw usage(`cannot set reserved action key ${goQuote(segment)}`);
          }
          results[key] = arg.slice(eq + 1);
        }
        Object.assign(this.action().results, results);
        return "";
      }
      case "action-fail": {
        // jujuc/action-fail.go Init: the message, or a default one (Init's errors come before Run's).
        const { positional } = parseArgs(args, [], []);
        const [message, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        this.action().failure = message ?? "action failed without reason given, check action for errors";
        return "";
      }
      case "action-log": {
        // jujuc/action-log.go: Init needs a message ("no message specified"), the words joined by spaces.
        const { positional } = parseArgs(args, [], []);
        if (!positional.length) throw usage("no message specified");
        this.action().logs.push(positional.join(" "));
        return "";
      }
      case "juju-log": {
        // jujuc/juju-log.go: --debug, -l/--log-level (an unknown level logs at INFO), the words joined by spaces.
        const { flags, positional } = parseArgs(args, ["debug"], ["l", "log-level", "format"]);
        if (!positional.length) throw usage("no message specified");
        const raw = flags.get("log-level") ?? flags.get("l");
        let level = flags.has("debug") ? "DEBUG" : typeof raw === "string" ? raw.toUpperCase() : "INFO";
        if (!LOG_LEVELS.has(level)) level = "INFO";
        model.logs.push({ level, message: positional.join(" ") });
        return "";
      }
      case "application-version-set": {
        // jujuc/application-version-set.go Init: "no version specified", then cmd.CheckEmpty.
        const { positional } = parseArgs(args, [], []);
        const [version, ...rest] = positional;
        if (version === undefined) throw usage("no version specified");
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        model.applicationVersion = version;
        return "";
      }
      case "state-get": {
        const { flags, positional } = parseArgs(args, ["strict"], ["format"]);
        requireJson(flags);
        const state = overlay(model.state, this.stateWrites);
        const [key, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        // jujuc/state-get.go Run: no key (or "-") prints the whole store, which context.go GetCharmState returns
        // as nil when empty (`null`); a missing key prints "" (GetCharmStateValue's NotFound is ignored without
        // --strict, with it: `"<key>" not found`).
        if (key === undefined || key === "-") return goJson(Object.keys(state).length ? state : null);
        if (!(key in state) && flags.has("strict")) throw new ToolFailure(`${goQuote(key)} not found`);
        return goJson(state[key] ?? "");
      }
      case "state-set": {
        // jujuc/state-set.go: the file's map overridden by key=value arguments; each SetCharmStateValue stores the
        // value as is, "" included; buffered until the hook commits.
        const { flags, positional } = parseArgs(args, [], ["file"]);
        const file = flags.get("file");
        if (file !== undefined && file !== "-") throw usage("the in-memory hook tools read --file only from stdin (-)");
        const values = { ...(file === "-" ? settingsFile(stdin) : {}), ...keyValues(positional) };
        for (const [key, value] of Object.entries(values)) this.stateWrites.set(key, value);
        return "";
      }
      case "state-delete": {
        // jujuc/state-delete.go: Init takes the key (`cmd.CheckEmpty` after it); Run with no key does nothing.
        const { positional } = parseArgs(args, [], []);
        const [key, ...rest] = positional;
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        if (key !== undefined && key !== "") this.stateWrites.set(key, null);
        return "";
      }
      case "goal-state": {
        // jujuc/goal-state.go formattedGoalState{Units, Relations}: a struct (units first), each unit a struct
        // {status, since (omitempty)}; apiserver uniter.go goalStateUnits lists every alive or dying unit of the
        // application with its workload status, and goalStateRelations leaves peer relations out ("Ignore peer
        // relations here"), so this model's `relations` is always `{}`.
        const { flags, positional } = parseArgs(args, [], ["format"]);
        requireJson(flags);
        if (positional.length) throw usage(`unrecognized args: ${goQuoteList(positional)}`);
        const goal: Record<string, GoalStateStatus> =
          model.goalUnits ??
          Object.fromEntries(
            Object.entries(this.applicationUnits()).map(([name, info]) => [name, { status: info.status }]),
          );
        const units = Object.fromEntries(
          Object.entries(goal).map(([name, gs]) => [name, struct({ status: gs.status, since: gs.since })]),
        );
        return goJson(struct({ units, relations: {} }));
      }
      case "resource-get": {
        // jujuc/resource-get.go: Init takes exactly one resource name ("missing required resource name"; more:
        // cmd.CheckEmpty's "unrecognized args"); Run prints the path DownloadResource returns, with no newline
        // (`fmt.Fprintf(ctx.Stdout, filePath)`), and annotates its failure "could not download resource". Why the
        // controller refuses an unknown name is its own message: the wording after the annotation is this fake's.
        const { positional } = parseArgs(args, [], []);
        const [name, ...rest] = positional;
        if (name === undefined) throw usage("missing required resource name");
        if (rest.length) throw usage(`unrecognized args: ${goQuoteList(rest)}`);
        const path = model.resources?.[name];
        if (path === undefined)
          throw new ToolFailure(`could not download resource: resource ${goQuote(name)} not found`);
        return path;
      }
      default:
        throw new NoSuchTool(tool);
    }
  }
}
