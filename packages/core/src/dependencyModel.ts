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
}

/**
 * A charm's DEPENDENCIES object: keys (e.g. `"kafka_charm"`, `"kafka_service"`) to models. Stored JSON-encoded in
 * the application databag under `dependencies`.
 */
export type Dependencies = Readonly<Record<string, DependencyModel>>;

const constraintMessage = (text: string) => `Could not parse version constraint: ${text}`;

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

const field = <T extends v.GenericSchema>(schema: T) =>
  v.pipe(
    v.unknown(),
    v.check((input) => input !== undefined, "field required"),
    v.check((input) => input !== null, "none is not an allowed value"),
    schema,
  );

const constraintField = v.pipe(
  laxString,
  v.check((text) => constraintParses(text), (issue) => constraintMessage(String(issue.input))),
);

/**
 * valibot schema of one {@link DependencyModel}, with the original's validations and messages: every constraint
 * parses, `version` is PEP 440 and satisfies `upgrade_supported`. The "whole model" check runs only when every
 * field is valid, as pydantic skips its root validator.
 */
export const DependencyModelSchema = v.pipe(
  v.object({
    dependencies: field(
      v.record(
        v.string(),
        v.pipe(
          v.unknown(),
          v.check((input) => input !== null, "none is not an allowed value"),
          constraintField,
        ),
        "value is not a valid dict",
      ),
    ),
    name: field(laxString),
    upgrade_supported: field(constraintField),
    version: field(laxString),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.issues) return;
    const { version, upgrade_supported, name } = dataset.value;
    if (!versionParses(version)) {
      addIssue({ message: `Invalid PEP 440 version: '${version}'` });
    } else if (!satisfies(version, upgrade_supported)) {
      addIssue({ message: `upgrade_supported value ${upgrade_supported} greater than version value ${version} for ${name}.` });
    }
  }),
) as unknown as v.GenericSchema<unknown, DependencyModel>;

/** valibot schema of a whole DEPENDENCIES object: a map of keys to {@link DependencyModelSchema}. */
export const DependenciesSchema = v.record(v.string(), DependencyModelSchema, "DEPENDENCIES must be an object of models") as v.GenericSchema<
  unknown,
  Dependencies
>;

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
): { readonly success: true; readonly output: DependencyModel } | { readonly success: false; readonly issues: readonly DependencyIssue[] } {
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
