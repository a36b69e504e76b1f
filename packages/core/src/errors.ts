/**
 * The closed error hierarchy of charm-upgrade.
 *
 * Every error keeps the original library's triple — `message` (what happened), `cause` (why) and `resolution`
 * (what the operator or charm author can do) — so that an action failure or a blocked status can always tell the
 * operator the next step. Inside the core, errors travel as data (effects); these classes are the one throwing
 * boundary, used by the parsers and by adapters.
 *
 * @module
 */

const BRAND: unique symbol = Symbol.for("@charm-upgrade/core/UpgradeError");

/** Which member of the closed hierarchy an error is; lets callers `switch` without `instanceof` chains. */
export type UpgradeErrorKind =
  | "UpgradeError"
  | "ClusterNotReadyError"
  | "VersionError"
  | "DependencyError"
  | "KubernetesClientError"
  | "ConstraintParseError"
  | "InvalidVersionError"
  | "PeerDataError"
  | "HookToolError"
  | "HookContextError";

/**
 * Base class of every error charm-upgrade raises or reports.
 *
 * As in the Python original, `cause` is a sentence for an operator, not a chained error object (it overrides the
 * standard `Error.cause` with a string, so ported code reads `error.cause` as before).
 *
 * @example
 * ```ts
 * throw new ClusterNotReadyError("Cluster is not ready for an upgrade", "replica 2 is lagging", "wait for it to catch up");
 * ```
 */
export class UpgradeError extends Error {
  /** What went wrong, in one sentence. */
  override readonly message: string;
  /** Why it went wrong; `""` when unknown (as in the original library). */
  override readonly cause: string;
  /** What to do about it; `""` when there is nothing to suggest. */
  readonly resolution: string;
  /** Which member of the hierarchy this is. */
  readonly kind: UpgradeErrorKind = "UpgradeError";
  readonly [BRAND] = true;

  /**
   * @param message - what went wrong
   * @param cause - why (a sentence; `undefined` becomes `""`)
   * @param resolution - what to do (`undefined` becomes `""`)
   */
  constructor(message: string, cause?: string, resolution?: string) {
    super(message);
    this.message = message;
    this.cause = cause ?? "";
    this.resolution = resolution ?? "";
    this.name = new.target.name;
  }

  /** A plain, serialisable copy: what effects and action results carry. */
  toJSON(): { kind: UpgradeErrorKind; message: string; cause: string; resolution: string } {
    return { kind: this.kind, message: this.message, cause: this.cause, resolution: this.resolution };
  }

  /** `message (cause: …) (resolution: …)` — one line for a log or an action failure. */
  describe(): string {
    let text = this.message;
    if (this.cause) text += ` (cause: ${this.cause})`;
    if (this.resolution) text += ` (resolution: ${this.resolution})`;
    return text;
  }
}

/** The charm's `preUpgradeCheck` found the cluster unfit for an upgrade; its message becomes the action failure. */
export class ClusterNotReadyError extends UpgradeError {
  override readonly kind = "ClusterNotReadyError" as const;
}

/** The stored (running) versions may not be upgraded to the new charm's versions. */
export class VersionError extends UpgradeError {
  override readonly kind = "VersionError" as const;
}

/** A DEPENDENCIES object, or an inter-application dependency, is invalid or unmet. */
export class DependencyError extends UpgradeError {
  override readonly kind = "DependencyError" as const;
}

/** The Kubernetes API refused or failed a request (e.g. the StatefulSet partition patch). */
export class KubernetesClientError extends UpgradeError {
  override readonly kind = "KubernetesClientError" as const;
}

/** A Poetry version constraint could not be parsed; `text` is the offending constraint. */
export class ConstraintParseError extends UpgradeError {
  override readonly kind = "ConstraintParseError" as const;
  /** The constraint text that failed to parse, exactly as given. */
  readonly text: string;
  /** The single constraint within `text` that failed (poetry-core names it in its message), or `text` itself. */
  readonly part: string;
  constructor(text: string, detail?: string, part?: string) {
    super(
      `Could not parse version constraint: ${JSON.stringify(text)}${detail ? ` (${detail})` : ""}`,
      "the text is not in Poetry's constraint language",
      'write a constraint such as "^1.2", ">=1.0,<2.0", "~=3.6" or "1.2.*"',
    );
    this.text = text;
    this.part = part ?? text;
  }
}

/** A version string is not a PEP 440 version; `text` is the offending version. */
export class InvalidVersionError extends UpgradeError {
  override readonly kind = "InvalidVersionError" as const;
  /** The version text that failed to parse, exactly as given. */
  readonly text: string;
  constructor(text: string) {
    super(
      `Invalid PEP 440 version: ${JSON.stringify(text)}`,
      "versions are compared as PEP 440 versions, as poetry-core does",
      'use a version such as "1.2.3", "14.7", "2.0.0rc1" or "1.0.post1"',
    );
    this.text = text;
  }
}

/** Another unit's (or the application's) databag holds data that does not validate. */
export class PeerDataError extends UpgradeError {
  override readonly kind = "PeerDataError" as const;
}

/**
 * Brand guard: true for any charm-upgrade error, even one created by another copy of this package (the brand is a
 * registered symbol, so it survives duplicated installs where `instanceof` would not).
 */
export function isUpgradeError(value: unknown): value is UpgradeError {
  return typeof value === "object" && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}
