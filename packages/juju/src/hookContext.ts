import { UpgradeError } from "@charm-upgrade/core";

/**
 * The process environment a Juju hook or action runs in, as a plain object. `process.env` fits; tests and the
 * simulator pass their own, so nothing here reads global state.
 */
export type JujuEnv = Readonly<Record<string, string | undefined>>;

/** The peer (or other) relation a relation hook is about, from `JUJU_RELATION*` and `JUJU_REMOTE_*`. */
export interface HookRelation {
  /** The relation's endpoint name (`JUJU_RELATION`), e.g. `upgrade`. */
  readonly name: string;
  /** The relation id (the number in `JUJU_RELATION_ID`, `upgrade:3` → `3`), as `relation-get -r` takes it. */
  readonly id: number;
  /** The unit that joined, changed or departed (`JUJU_REMOTE_UNIT`); `null` in relation-created and -broken. */
  readonly remoteUnit: string | null;
  /** The application on the other side (`JUJU_REMOTE_APP`); this application for a peer relation. */
  readonly remoteApp: string | null;
}

/**
 * What Juju tells a hook process about itself, validated and typed: which hook or action runs, on which unit.
 * Each hook is a new process, so this is read once per process, at the start.
 */
export interface HookContext {
  /** `hook` for `hooks/<name>`, `action` for `actions/<name>` (`JUJU_DISPATCH_PATH`). */
  readonly kind: "hook" | "action";
  /** The hook name (`upgrade-relation-changed`, `upgrade-charm`, …) or the action name (`pre-upgrade-check`). */
  readonly name: string;
  /** `JUJU_DISPATCH_PATH` as given, e.g. `hooks/upgrade-charm`. */
  readonly dispatchPath: string;
  /** This unit's name (`JUJU_UNIT_NAME`), e.g. `db/3`. */
  readonly unitName: string;
  /** This unit's application, the part of the unit name before `/`. */
  readonly appName: string;
  /** This unit's number, the part of the unit name after `/`. */
  readonly unitNumber: number;
  /** The model's name (`JUJU_MODEL_NAME`). */
  readonly modelName: string;
  /** Where the charm code is unpacked (`JUJU_CHARM_DIR`). */
  readonly charmDir: string;
  /** The relation of a relation hook; `null` for every other hook and for actions. */
  readonly relation: HookRelation | null;
  /** The action's name (`JUJU_ACTION_NAME`, or the dispatch path's) for actions; `null` for hooks. */
  readonly actionName: string | null;
}

/**
 * The Juju environment is missing a variable or holds an invalid one: the process was not started by Juju (or by
 * a test that forgot a variable). `variable` names it, so the fix is obvious.
 */
export class HookContextError extends UpgradeError {
  /** The environment variable that is missing or invalid, e.g. `JUJU_UNIT_NAME`. */
  readonly variable: string;

  /**
   * @param variable - the offending environment variable
   * @param problem - what is wrong with it (`is not set`, `is not a unit name: …`)
   */
  constructor(variable: string, problem: string) {
    super(
      `Juju environment variable ${variable} ${problem}`,
      "the charm reads its hook context from the environment Juju sets for every hook and action",
      "run the charm through Juju (juju exec / a hook), or set the variable when testing",
    );
    this.variable = variable;
  }
}

const UNIT_NAME = /^([a-z][a-z0-9-]*)\/(0|[1-9][0-9]*)$/;
const RELATION_ID = /^(?:([a-z][a-z0-9-]*):)?(0|[1-9][0-9]*)$/;
const DISPATCH = /^(hooks|actions)\/([a-z0-9][a-z0-9_-]*)$/;
const RELATION_HOOK = /^(.+)-relation-(created|joined|changed|departed|broken)$/;

function required(env: JujuEnv, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === "") throw new HookContextError(variable, "is not set");
  return value;
}

function optional(env: JujuEnv, variable: string): string | null {
  const value = env[variable];
  return value === undefined || value === "" ? null : value;
}

/**
 * Read and validate the hook context from a Juju process environment.
 *
 * Relation hooks (`hooks/<endpoint>-relation-<event>`) must also carry `JUJU_RELATION` (matching the hook name)
 * and `JUJU_RELATION_ID`; actions take their name from `JUJU_ACTION_NAME` when set, which must then agree with
 * the dispatch path.
 *
 * @throws {@link HookContextError} naming the first missing or invalid variable.
 * @example
 * ```ts
 * const context = readHookContext(process.env);
 * if (context.kind === "action" && context.name === "pre-upgrade-check") { … }
 * ```
 */
export function readHookContext(env: JujuEnv): HookContext {
  const dispatchPath = required(env, "JUJU_DISPATCH_PATH");
  const dispatch = DISPATCH.exec(dispatchPath);
  if (!dispatch) {
    throw new HookContextError(
      "JUJU_DISPATCH_PATH",
      `is not hooks/<name> or actions/<name>: ${JSON.stringify(dispatchPath)}`,
    );
  }
  const kind = dispatch[1] === "actions" ? "action" : "hook";
  const name = dispatch[2] ?? "";

  const unitName = required(env, "JUJU_UNIT_NAME");
  const unit = UNIT_NAME.exec(unitName);
  if (!unit)
    throw new HookContextError(
      "JUJU_UNIT_NAME",
      `is not a unit name (<application>/<number>): ${JSON.stringify(unitName)}`,
    );
  const modelName = required(env, "JUJU_MODEL_NAME");
  const charmDir = required(env, "JUJU_CHARM_DIR");

  let relation: HookRelation | null = null;
  const relationHook = kind === "hook" ? RELATION_HOOK.exec(name) : null;
  if (relationHook) {
    const endpoint = required(env, "JUJU_RELATION");
    if (endpoint !== relationHook[1]) {
      throw new HookContextError(
        "JUJU_RELATION",
        `is ${JSON.stringify(endpoint)}, but the hook is ${JSON.stringify(name)}`,
      );
    }
    const rawId = required(env, "JUJU_RELATION_ID");
    const id = RELATION_ID.exec(rawId);
    if (!id || (id[1] !== undefined && id[1] !== endpoint)) {
      throw new HookContextError(
        "JUJU_RELATION_ID",
        `is not a relation id (${endpoint}:<number>): ${JSON.stringify(rawId)}`,
      );
    }
    const remoteUnit = optional(env, "JUJU_REMOTE_UNIT");
    if (remoteUnit !== null && !UNIT_NAME.test(remoteUnit)) {
      throw new HookContextError(
        "JUJU_REMOTE_UNIT",
        `is not a unit name (<application>/<number>): ${JSON.stringify(remoteUnit)}`,
      );
    }
    relation = { name: endpoint, id: Number(id[2]), remoteUnit, remoteApp: optional(env, "JUJU_REMOTE_APP") };
  }

  let actionName: string | null = null;
  if (kind === "action") {
    actionName = optional(env, "JUJU_ACTION_NAME") ?? name;
    if (actionName !== name) {
      throw new HookContextError(
        "JUJU_ACTION_NAME",
        `is ${JSON.stringify(actionName)}, but JUJU_DISPATCH_PATH is ${JSON.stringify(dispatchPath)}`,
      );
    }
  }

  return {
    kind,
    name,
    dispatchPath,
    unitName,
    appName: unit[1] ?? "",
    unitNumber: Number(unit[2]),
    modelName,
    charmDir,
    relation,
    actionName,
  };
}
