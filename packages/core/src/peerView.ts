import * as v from "valibot";
import type { Dependencies } from "./dependencyModel.js";
import { safeParseDependencies } from "./dependencyModel.js";
import type { UnitState } from "./unitState.js";
import { UNIT_STATES } from "./unitState.js";
import { sanitizeText } from "./untrustedText.js";

/** Databag keys, the same as the Python library's, so data written by either can be read by the other. */
export const KEYS = {
  /** Unit databag: the unit's {@link UnitState}, a plain string. */
  state: "state",
  /** App databag: JSON array of unit numbers; the last element upgrades next. */
  stack: "upgrade-stack",
  /** App databag: JSON of the DEPENDENCIES object the running application was deployed with. */
  dependencies: "dependencies",
  /** App databag (charm-upgrade only): the unit the operator released with `resume-upgrade` (a JSON number). */
  resumed: "upgrade-resumed",
  /** App databag (charm-upgrade only): `"true"` while a rollback runs (set by recovery, cleared at the end). */
  rollback: "upgrade-rollback",
  /**
   * App databag (charm-upgrade only, machines): JSON list of the units on a rollback's stack whose `completed` (or
   * `upgrading`) dates from the attempt being rolled back. The leader pops none of them before it has seen it
   * receive the charm again (`ready`): otherwise a unit could leave the stack without being rolled back.
   */
  rollbackPending: "upgrade-rollback-pending",
  /**
   * App databag (charm-upgrade only): the unit a rollback stopped before (a JSON number): on top of the rollback's
   * stack, it runs the charm the rollback returns to but its workload cannot go back (`upgrade-no-downgrade`). Recorded
   * by the leader once it sees that unit on the origin, so that the roll's target seen on it afterwards can only be
   * `juju refresh` forward again, which turns the roll forward; cleared then, and when the roll ends or is planned.
   */
  rollbackStopped: "upgrade-rollback-stopped",
  /**
   * App databag (charm-upgrade only): the charm the application ran when the leader planned the upgrade (its
   * `.juju-charm`, e.g. `ch:amd64/jammy/db-381`), so statuses can give the exact rollback command.
   */
  fromCharm: "upgrade-from-charm",
  /** App databag (charm-upgrade only, K8s): the StatefulSet partition the leader last set (a JSON number). */
  partition: "upgrade-partition",
  /** Unit databag (charm-upgrade only): JSON list of the checks the operator skipped on this unit with force-upgrade. */
  skipped: "upgrade-skipped-checks",
  /** Unit databag (charm-upgrade only): why this unit holds the roll (a backup, a scale-out); absent otherwise. */
  hold: "upgrade-hold",
  /**
   * Unit databag (charm-upgrade only): the charm this unit runs, as Juju names it in its `.juju-charm`
   * (`ch:amd64/jammy/db-381`), written when it changes. What a unit runs is observed, not inferred from its state:
   * a pod restarted on the old revision, a refresh back to the old charm, a unit not yet reached by `juju refresh`.
   */
  charm: "upgrade-running-charm",
  /**
   * App databag (charm-upgrade only): the stack as pre-upgrade-check planned it (JSON list of unit numbers), so a
   * refresh back mid-roll can roll the upgraded units back newest first.
   */
  plan: "upgrade-plan",
  /**
   * App databag (charm-upgrade only): the charm the application runs at rest, recorded by the leader when the
   * application settles (deployed, or a roll ended). pre-upgrade-check records it as the roll's origin
   * (`upgrade-from-charm`): the leader's own charm is not that if `juju refresh` came first.
   */
  settledCharm: "upgrade-settled-charm",
  /**
   * Unit databag (charm-upgrade only): the workload version this unit's charm reports it runs (its `workloadVersion()`,
   * e.g. `14.10`), written when it changes — in the hook of its grant, with `completed`, when it upgraded: observed,
   * not inferred from DEPENDENCIES and the unit's state.
   */
  workload: "upgrade-running-workload",
  /**
   * Unit databag (charm-upgrade only): why this unit's workload cannot go back to the version a rollback returns to
   * (its data format moved on), written when it upgrades (from the new revision's `downgrade_supported`) or when the
   * charm says so (`downgradeBlocker()`); absent when it can. A rollback stops before this unit.
   */
  noDowngrade: "upgrade-no-downgrade",
  /**
   * App databag (charm-upgrade only, Kubernetes): the workload's OCI image resource the application ran when the
   * leader planned the upgrade, as `NAME=IMAGE` (`db-image=registry.example/db@sha256:…`, from `resource-get`): a
   * refresh back must bring the old image back too (`juju refresh db --revision 381 --resource NAME=IMAGE`), since
   * `juju refresh --revision` alone keeps an image the operator uploaded (juju/juju `cmd/juju/application/utils`
   * `shouldUpgradeResource`: uploaded resources stay pinned).
   */
  fromResource: "upgrade-from-resource",
  /**
   * App databag (charm-upgrade only): the charm the roll goes to — the one its first unit upgraded to — recorded by
   * the leader when it first sees it, so that a `juju refresh` to yet another charm mid-roll is recognised (and
   * refused) even once no unit runs the first one any more.
   */
  toCharm: "upgrade-to-charm",
} as const;

/**
 * The raw peer-relation data a hook can read, all values strings as Juju stores them. Unit databags are keyed by
 * Juju unit name (`app/3`); include this unit's own databag.
 */
export interface PeerDatabags {
  /** Whether this unit is the Juju leader (only the leader may write the app databag). */
  readonly leader: boolean;
  /** Every unit's databag, this unit's included, by unit name. */
  readonly units: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The application databag. */
  readonly app: Readonly<Record<string, string>>;
}

/** What this unit knows of another unit: its number and the state it last wrote (`null`: none, or invalid). */
export interface UnitView {
  readonly id: number;
  readonly state: UnitState | null;
  /** Why this unit holds the roll, when it does. */
  readonly hold?: string;
  /** Checks the operator skipped on this unit with force-upgrade (its record of the upgrade). */
  readonly skipped?: readonly string[];
  /** The charm it runs (`KEYS.charm`), when it recorded one. */
  readonly charm?: string;
  /** The workload version its charm reports (`KEYS.workload`), when it recorded one. */
  readonly workload?: string;
  /** Why its workload cannot go back to the version a rollback returns to (`KEYS.noDowngrade`), when it cannot. */
  readonly noDowngrade?: string;
}

/** A databag value that failed validation: which databag (`unit` name, or `null` for the app), which key, what. */
export interface PeerProblem {
  /** Unit name (`app/3`) whose databag holds the bad value, or `null` for the application databag. */
  readonly unit: string | null;
  readonly key: string;
  readonly message: string;
}

/**
 * A validated snapshot of the peer relation, taken at the start of a hook: the input the core decides on.
 * Bad values never throw: they become `null` plus a {@link PeerProblem} naming the databag and key.
 */
export interface PeerView {
  readonly leader: boolean;
  /** Units in the relation, this unit included, sorted by number. */
  readonly units: readonly UnitView[];
  /** The upgrade stack (last element upgrades next), or `null` when unset or empty. */
  readonly stack: readonly number[] | null;
  /** The DEPENDENCIES stored by the running application, or `null` when none (or invalid: see `problems`). */
  readonly dependencies: Dependencies | null;
  /** The unit the operator released with `resume-upgrade`, or `null`. */
  readonly resumed?: number | null;
  /** Kubernetes: the partition the leader last set, or `null`. */
  readonly partition?: number | null;
  /** True while a rollback runs (the leader entered recovery and the roll has not finished). */
  readonly rollback?: boolean;
  /**
   * Machines, during a rollback: units whose `completed`/`upgrading` dates from the attempt being rolled back
   * (see `KEYS.rollbackPending`). Empty when unset or invalid (a problem is reported); ignored outside a rollback.
   */
  readonly rollbackPending?: readonly number[];
  /** The unit a rollback stopped before (`KEYS.rollbackStopped`), or `null` when none (or invalid). */
  readonly rollbackStopped?: number | null;
  /** The stack as pre-upgrade-check planned it, or `null` when not recorded (or invalid). */
  readonly plan?: readonly number[] | null;
  /** The charm the application runs at rest (`KEYS.settledCharm`), or `null` when not recorded (or invalid). */
  readonly settledCharm?: string | null;
  /** The charm the application ran before this upgrade (`ch:amd64/jammy/db-381`), or `null` when not recorded. */
  readonly fromCharm?: string | null;
  /** Kubernetes: the workload image resource the application ran before this upgrade (`NAME=IMAGE`), or `null`. */
  readonly fromResource?: string | null;
  /** The charm this upgrade goes to (`KEYS.toCharm`), or `null` when not recorded yet (or invalid). */
  readonly toCharm?: string | null;
  readonly problems: readonly PeerProblem[];
}

const UnitNameSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9-]*\/(0|[1-9][0-9]*)$/, "a unit name is <application>/<number>"),
  v.transform((name) => Number(name.slice(name.lastIndexOf("/") + 1))),
  v.safeInteger(),
);

const StateSchema = v.picklist(UNIT_STATES, `state must be one of ${UNIT_STATES.join(", ")}`);

/**
 * `upgrade-stack`: a JSON array of distinct non-negative unit numbers. Duplicates are rejected rather than
 * collapsed: a duplicated unit would be upgraded twice, so the data is corrupt and must not be acted on.
 */
export const StackSchema = v.pipe(
  v.string(),
  v.parseJson(undefined, "upgrade-stack is not valid JSON"),
  v.array(
    v.pipe(
      v.number("stack entries must be unit numbers"),
      v.safeInteger("stack entries must be integers"),
      v.minValue(0, "stack entries must be >= 0"),
    ),
    "upgrade-stack must be a JSON array",
  ),
  v.check((stack) => new Set(stack).size === stack.length, "upgrade-stack lists a unit twice"),
);

/**
 * A charm as Juju names it in `.juju-charm`: a schema (`ch`, `cs`, `local`), then a path of safe characters. It ends
 * up in a status and a shell command an operator may paste, so nothing else passes.
 */
export const CHARM_PATTERN = /^(ch|cs|local):[A-Za-z0-9][A-Za-z0-9._/+-]{0,79}$/;

/**
 * A workload version as a charm reports it (`14.10`, `8.0.36-0ubuntu0.22.04.1`): printable ASCII, at most 40
 * characters. It ends up in statuses and the plan, so nothing else passes.
 */
export const WORKLOAD_VERSION_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,39}$/;

/**
 * An OCI image resource as `juju refresh --resource` takes it, `NAME=IMAGE`: a resource name from `metadata.yaml`
 * and an image reference (registry path, tag or digest). It ends up in a shell command an operator may paste, so
 * nothing else passes.
 */
export const RESOURCE_PATTERN = /^[a-z][a-z0-9-]{0,62}=[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/;

/** `upgrade-skipped-checks`: a JSON list of short check names. */
const SkippedSchema = v.pipe(v.string(), v.parseJson(), v.array(v.pipe(v.string(), v.maxLength(40))), v.maxLength(10));

/** `upgrade-resumed`, `upgrade-partition`: one unit number, as JSON. */
const UnitNumberSchema = v.pipe(v.string(), v.parseJson(), v.number(), v.safeInteger(), v.minValue(0));

const message = (issues: readonly v.BaseIssue<unknown>[]) => issues.map((issue) => issue.message).join("; ");

/** Untrusted text before it reaches a status or a log line: sanitised (no control characters) and trimmed. */
function clip(text: string, max = 60): string {
  return sanitizeText(text, max);
}

/**
 * Validate raw peer data into a {@link PeerView}. Never throws: whatever another unit wrote, the result is a view
 * plus a list of problems, each naming the databag and key, for the core to turn into a blocked status.
 */
export function readPeerView(raw: PeerDatabags): PeerView {
  const problems: PeerProblem[] = [];
  const units: UnitView[] = [];
  for (const [name, bag] of Object.entries(raw.units ?? {})) {
    const id = v.safeParse(UnitNameSchema, name);
    if (!id.success) {
      problems.push({ unit: clip(name), key: "(unit name)", message: message(id.issues) });
      continue;
    }
    const rawState = bag?.[KEYS.state];
    let state: UnitState | null = null;
    if (rawState !== undefined && rawState !== "") {
      const parsed = v.safeParse(StateSchema, rawState);
      if (parsed.success) state = parsed.output;
      else
        problems.push({
          unit: name,
          key: KEYS.state,
          message: `${message(parsed.issues)}, got ${JSON.stringify(clip(String(rawState)))}`,
        });
    }
    if (units.some((unit) => unit.id === id.output)) {
      problems.push({ unit: name, key: "(unit name)", message: `unit number ${id.output} appears twice` });
      continue;
    }
    const hold = bag?.[KEYS.hold];
    const unit: {
      id: number;
      state: UnitState | null;
      hold?: string;
      skipped?: string[];
      charm?: string;
      workload?: string;
      noDowngrade?: string;
    } = { id: id.output, state };
    const charm = bag?.[KEYS.charm];
    if (charm !== undefined && charm !== "") {
      if (typeof charm === "string" && CHARM_PATTERN.test(charm)) unit.charm = charm;
      else
        problems.push({
          unit: name,
          key: KEYS.charm,
          message: `must be a charm URL like ch:amd64/jammy/db-381, got ${JSON.stringify(clip(String(charm)))}`,
        });
    }
    const workload = bag?.[KEYS.workload];
    if (workload !== undefined && workload !== "") {
      if (typeof workload === "string" && WORKLOAD_VERSION_PATTERN.test(workload)) unit.workload = workload;
      else
        problems.push({
          unit: name,
          key: KEYS.workload,
          message: `must be a workload version of at most 40 printable characters, got ${JSON.stringify(clip(String(workload)))}`,
        });
    }
    const noDowngrade = bag?.[KEYS.noDowngrade];
    if (typeof noDowngrade === "string" && noDowngrade !== "") {
      const text = clip(noDowngrade, 100);
      if (text) unit.noDowngrade = text;
    }
    if (typeof hold === "string" && hold !== "") {
      // Another unit's words reach every unit's status: one safe line (no escape, bell or newline), or nothing.
      const text = clip(hold, 100);
      if (text) unit.hold = text;
    }
    const skipped = bag?.[KEYS.skipped];
    if (skipped) {
      const parsed = v.safeParse(SkippedSchema, skipped);
      if (parsed.success) unit.skipped = parsed.output;
      else
        problems.push({
          unit: name,
          key: KEYS.skipped,
          message: `must be a JSON list of check names, got ${JSON.stringify(clip(String(skipped)))}`,
        });
    }
    units.push(unit);
  }
  units.sort((a, b) => a.id - b.id);

  let stack: number[] | null = null;
  const rawStack = raw.app?.[KEYS.stack];
  if (rawStack !== undefined && rawStack !== "") {
    const parsed = v.safeParse(StackSchema, rawStack);
    if (parsed.success) stack = parsed.output.length ? parsed.output : null;
    else
      problems.push({
        unit: null,
        key: KEYS.stack,
        message: `${message(parsed.issues)}, got ${JSON.stringify(clip(String(rawStack)))}`,
      });
  }

  let dependencies: Dependencies | null = null;
  const rawDeps = raw.app?.[KEYS.dependencies];
  if (rawDeps !== undefined && rawDeps !== "") {
    let json: unknown;
    let parsedJson = true;
    try {
      json = JSON.parse(String(rawDeps));
    } catch {
      parsedJson = false;
      problems.push({ unit: null, key: KEYS.dependencies, message: "dependencies is not valid JSON" });
    }
    if (parsedJson) {
      const parsed = safeParseDependencies(json);
      if (parsed.success) dependencies = parsed.output;
      else
        problems.push({
          unit: null,
          key: KEYS.dependencies,
          message: clip(parsed.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "), 200),
        });
    }
  }
  const unitNumber = (key: string): number | null => {
    const rawValue = raw.app?.[key];
    if (rawValue === undefined || rawValue === "") return null;
    const parsed = v.safeParse(UnitNumberSchema, rawValue);
    if (parsed.success) return parsed.output;
    problems.push({
      unit: null,
      key,
      message: `${key} must be a unit number, got ${JSON.stringify(clip(String(rawValue)))}`,
    });
    return null;
  };
  const resumed = unitNumber(KEYS.resumed);
  const partition = unitNumber(KEYS.partition);
  const rollback = raw.app?.[KEYS.rollback] === "true";
  const rollbackStopped = unitNumber(KEYS.rollbackStopped);
  let rollbackPending: readonly number[] = [];
  const rawPending = raw.app?.[KEYS.rollbackPending];
  if (rawPending !== undefined && rawPending !== "") {
    const parsed = v.safeParse(StackSchema, rawPending);
    if (parsed.success) rollbackPending = parsed.output;
    else {
      // Reported, and read as empty: the leader clears it. Failing safe (every unit pending) would freeze a legitimately
      // completed unit on the stack for ever; a unit's own `completed` is trusted, as everywhere else.
      problems.push({
        unit: null,
        key: KEYS.rollbackPending,
        message: `must be a JSON list of distinct unit numbers, got ${JSON.stringify(clip(String(rawPending)))}`,
      });
    }
  }
  let plan: readonly number[] | null = null;
  const rawPlan = raw.app?.[KEYS.plan];
  if (rawPlan !== undefined && rawPlan !== "") {
    const parsed = v.safeParse(StackSchema, rawPlan);
    if (parsed.success) plan = parsed.output;
    else
      problems.push({
        unit: null,
        key: KEYS.plan,
        message: `must be a JSON list of distinct unit numbers, got ${JSON.stringify(clip(String(rawPlan)))}`,
      });
  }
  const charmIn = (key: string): string | null => {
    const rawCharm = raw.app?.[key];
    if (rawCharm === undefined || rawCharm === "") return null;
    if (typeof rawCharm === "string" && CHARM_PATTERN.test(rawCharm)) return rawCharm;
    problems.push({
      unit: null,
      key,
      message: `must be a charm URL like ch:amd64/jammy/db-381, got ${JSON.stringify(clip(String(rawCharm)))}`,
    });
    return null;
  };
  const fromCharm = charmIn(KEYS.fromCharm);
  const settledCharm = charmIn(KEYS.settledCharm);
  let fromResource: string | null = null;
  const rawResource = raw.app?.[KEYS.fromResource];
  if (rawResource !== undefined && rawResource !== "") {
    if (typeof rawResource === "string" && RESOURCE_PATTERN.test(rawResource)) fromResource = rawResource;
    else
      problems.push({
        unit: null,
        key: KEYS.fromResource,
        message: `must be NAME=IMAGE like db-image=registry.example/db@sha256:…, got ${JSON.stringify(clip(String(rawResource)))}`,
      });
  }
  const toCharm = charmIn(KEYS.toCharm);
  return {
    leader: raw.leader === true,
    units,
    stack,
    dependencies,
    resumed,
    partition,
    rollback,
    rollbackPending,
    rollbackStopped,
    plan,
    fromCharm,
    settledCharm,
    fromResource,
    toCharm,
    problems,
  };
}

/** Encode a stack the way the Python library does (`json.dumps([0, 2, 1])` → `"[0, 2, 1]"`). */
export function encodeStack(stack: readonly number[]): string {
  return `[${stack.join(", ")}]`;
}

/**
 * Encode a DEPENDENCIES object the way the Python library does (`json.dumps(model.dict())`: `", "` and `": "`
 * separators, keys in declaration order), so an old revision reading it back sees byte-identical data.
 */
export function encodeDependencies(dependencies: Dependencies): string {
  return pythonJson(dependencies);
}

/** `JSON.stringify` for a string, with Python's `ensure_ascii` escaping of non-ASCII characters. */
function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function pythonJson(value: unknown): string {
  if (typeof value === "string") return pythonString(value);
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${pythonString(key)}: ${pythonJson(item)}`)
    .join(", ")}}`;
}
