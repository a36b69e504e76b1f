import * as v from "valibot";
import { DependencyError } from "./errors.js";
import { parseConstraint, parseVersion, satisfies } from "./poetry/index.js";

/**
 * One entry of a charm's DEPENDENCIES object, exactly as the Python original's pydantic `DependencyModel`:
 * the version this charm revision installs, the Poetry constraint that running versions must satisfy to be
 * upgraded to it, and constraints on related applications.
 */
export interface DependencyModel {
  /** Constraints on other applications (e.g. `{"zookeeper": "^3.6"}`); validated for syntax, as in the original. */
  readonly dependencies: Readonly<Record<string, string>>;
  /** Name of the component, used in messages. */
  readonly name: string;
  /** Poetry constraint that the *running* version must satisfy for an upgrade to this revision. */
  readonly upgrade_supported: string;
  /** PEP 440 version this revision installs; must satisfy its own `upgrade_supported`. */
  readonly version: string;
  /**
   * Optional (charm-upgrade only): Poetry constraint on the versions this revision's workload can go back to once it
   * ran — `>=15` when version 15 moved its data format on and 14 cannot read it. A rollback stops before a unit whose
   * workload cannot go back to the version the rollback returns to. Absent: any version (the original has no such
   * rule). The Python library ignores the key (pydantic's default `Extra.ignore`), so the stored JSON stays readable.
   */
  readonly downgrade_supported?: string;
}

/**
 * A charm's DEPENDENCIES object: keys (e.g. `"kafka_charm"`, `"kafka_service"`) to models. Stored JSON-encoded in
 * the application databag under `dependencies`.
 */
export type Dependencies = Readonly<Record<string, DependencyModel>>;

const constraintMessage = (text: string) => `Could not parse version constraint: ${text}`;

/**
 * The part of a constraint that poetry-core names when it cannot parse it (`"^ 1.2"` → `"^"`), so our messages
 * match the original's byte for byte.
 */
function constraintFailure(text: string): string {
  try {
    parseConstraint(text);
    return text;
  } catch (error) {
    const part = (error as { part?: unknown }).part;
    return typeof part === "string" ? part : text;
  }
}

function constraintParses(text: string): boolean {
  try {
    parseConstraint(text);
    return true;
  } catch {
    return false;
  }
}

function versionParses(text: string): boolean {
  try {
    parseVersion(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A string field with pydantic v1's lax coercion: numbers become their text and booleans `"True"`/`"False"`, so
 * that DEPENDENCIES objects the Python library accepted are accepted here too (`"version": 2` is `"2"`).
 */
const laxString = v.union(
  [
    v.string(),
    v.pipe(v.number(), v.finite(), v.transform(String)),
    v.pipe(
      v.boolean(),
      v.transform((b) => (b ? "True" : "False")),
    ),
  ],
  "str type expected",
);

const constraintField = v.pipe(
  laxString,
  v.check(
    (text) => constraintParses(text),
    (issue) => constraintMessage(constraintFailure(String(issue.input))),
  ),
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** pydantic's `Dict[str, str]`: a mapping, or a list of key/value pairs (what `dict()` accepts). */
const mappingField = v.union(
  [
    v.pipe(
      v.array(v.tuple([v.string(), v.unknown()])),
      v.transform((pairs) => Object.fromEntries(pairs) as Record<string, unknown>),
    ),
    v.pipe(v.custom<Record<string, unknown>>(isPlainObject), v.record(v.string(), v.unknown())),
  ],
  "value is not a valid dict",
);

const FIELDS = ["dependencies", "name", "upgrade_supported", "version"] as const;

/**
 * valibot schema of one {@link DependencyModel}, with the original pydantic model's semantics and messages: every
 * field of the original is required and not `null` (`downgrade_supported` is optional, and must parse when given);
 * strings are coerced from numbers and booleans; `dependencies` is a mapping (or a list of pairs) of constraints that
 * parse; `upgrade_supported` parses; and — only when every field is valid,
 * as pydantic skips its root validator otherwise — `version` is PEP 440 and satisfies `upgrade_supported`.
 */
export const DependencyModelSchema: v.GenericSchema<unknown, DependencyModel> = v.pipe(
  v.custom<Record<string, unknown>>(isPlainObject, "value is not a valid dict"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const input = dataset.value;
    const out: Record<string, unknown> = {};
    let failed = false;
    const fail = (key: string, message: string, path: readonly PropertyKey[] = []) => {
      failed = true;
      const [head, ...rest] = [key, ...path].map((k) => pathItem(input, k));
      addIssue(head ? { message, path: [head, ...rest] } : { message });
    };
    for (const key of FIELDS) {
      const value = input[key];
      if (value === undefined) {
        fail(key, "field required");
        continue;
      }
      if (value === null) {
        fail(key, "none is not an allowed value");
        continue;
      }
      if (key === "dependencies") {
        const mapping = v.safeParse(mappingField, value);
        if (!mapping.success) {
          fail(key, "value is not a valid dict");
          continue;
        }
        const constraints: Record<string, string> = {};
        for (const [name, item] of Object.entries(mapping.output)) {
          if (item === null) {
            fail(key, "none is not an allowed value", [name]);
            continue;
          }
          const parsed = v.safeParse(constraintField, item);
          if (parsed.success) constraints[name] = parsed.output;
          else fail(key, parsed.issues[0]?.message ?? "invalid constraint", [name]);
        }
        out[key] = constraints;
      } else {
        const parsed = v.safeParse(key === "upgrade_supported" ? constraintField : laxString, value);
        if (parsed.success) out[key] = parsed.output;
        else fail(key, parsed.issues[0]?.message ?? "invalid value");
      }
    }
    // Optional, after the original's fields (so an object without it encodes exactly as the Python library's).
    const downgrade = input.downgrade_supported;
    if (downgrade !== undefined && downgrade !== null) {
      const parsed = v.safeParse(constraintField, downgrade);
      if (parsed.success) out.downgrade_supported = parsed.output;
      else fail("downgrade_supported", parsed.issues[0]?.message ?? "invalid constraint");
    }
    if (failed) return NEVER;
    const model = out as unknown as DependencyModel;
    if (!versionParses(model.version)) {
      addIssue({ message: `Invalid PEP 440 version: '${model.version}'` });
      return NEVER;
    }
    if (!satisfies(model.version, model.upgrade_supported)) {
      addIssue({
        message: `upgrade_supported value ${model.upgrade_supported} greater than version value ${model.version} for ${model.name}.`,
      });
      return NEVER;
    }
    return model;
  }),
);

/** A valibot path item for `key` of `input`, so issues carry the path of the bad value. */
function pathItem(input: unknown, key: PropertyKey): v.IssuePathItem {
  return {
    type: "object",
    origin: "value",
    input: input as Record<string, unknown>,
    key: String(key),
    value: undefined,
  };
}

/** valibot schema of a whole DEPENDENCIES object: a map of keys to {@link DependencyModelSchema}. */
export const DependenciesSchema: v.GenericSchema<unknown, Dependencies> = v.record(
  v.string(),
  DependencyModelSchema,
  "DEPENDENCIES must be an object of models",
);

/** One problem found in a DEPENDENCIES object: where (`path`, e.g. `kafka_charm.version`) and what. */
export interface DependencyIssue {
  readonly path: string;
  readonly message: string;
}

/** The result of {@link safeParseDependencies}: the typed object, or every issue found. */
export type DependenciesResult =
  | { readonly success: true; readonly output: Dependencies }
  | { readonly success: false; readonly issues: readonly DependencyIssue[] };

function issuePath(issue: v.BaseIssue<unknown>): string {
  return (issue.path ?? []).map((item) => String(item.key)).join(".") || "(root)";
}

/** Validate an untrusted value as a DEPENDENCIES object, collecting every problem instead of throwing. */
export function safeParseDependencies(input: unknown): DependenciesResult {
  const result = v.safeParse(DependenciesSchema, input);
  if (result.success) return { success: true, output: result.output };
  return { success: false, issues: result.issues.map((issue) => ({ path: issuePath(issue), message: issue.message })) };
}

/** Validate one model (one value of a DEPENDENCIES object), collecting every problem instead of throwing. */
export function safeParseDependencyModel(
  input: unknown,
):
  | { readonly success: true; readonly output: DependencyModel }
  | { readonly success: false; readonly issues: readonly DependencyIssue[] } {
  const result = v.safeParse(DependencyModelSchema, input);
  if (result.success) return { success: true, output: result.output };
  return { success: false, issues: result.issues.map((issue) => ({ path: issuePath(issue), message: issue.message })) };
}

/**
 * Validate a DEPENDENCIES object and return it typed.
 *
 * @throws {@link DependencyError} listing every problem with its path, so a charm author sees all mistakes at once.
 * @example
 * ```ts
 * const deps = parseDependencies({ kafka_service: { dependencies: {}, name: "kafka", upgrade_supported: "^3", version: "3.6.1" } });
 * ```
 */
export function parseDependencies(input: unknown): Dependencies {
  const result = safeParseDependencies(input);
  if (result.success) return result.output;
  const list = result.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
  throw new DependencyError(
    `Invalid DEPENDENCIES object: ${list}`,
    "each entry needs string fields dependencies (an object of constraints), name, upgrade_supported and version, and version must satisfy upgrade_supported",
    "fix the DEPENDENCIES object in the charm code",
  );
}

/**
 * The original's `current.can_upgrade(incoming)`: may the running `current` be upgraded to `incoming`?
 * True when the running version satisfies the incoming revision's `upgrade_supported`.
 */
export function canUpgrade(current: DependencyModel, incoming: DependencyModel): boolean {
  return satisfies(current.version, incoming.upgrade_supported);
}
