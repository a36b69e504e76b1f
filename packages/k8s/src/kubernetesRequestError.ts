/**
 * The error every request of this package fails with: a core `KubernetesClientError` that also says what kind of
 * failure it was, so that the caller can tell "try again at the next hook" from "the operator must act" from "a bug".
 *
 * It stays a `KubernetesClientError` (same `kind`, `instanceof` holds, `isUpgradeError` is true): the core, which
 * cannot import this package, reads {@link KubernetesRequestError.failure} by shape (see {@link kubernetesFailureOf}).
 *
 * @module
 */
import { isUpgradeError, KubernetesClientError } from "@charm-upgrade/core";

/**
 * What kind of failure a Kubernetes request met, by what can be done about it.
 *
 * - `transient` — the API server or the network was briefly unable to serve the request: 409 Conflict, 408, 429 Too
 *   Many Requests, any 5xx, a request that timed out, a connection refused, reset or not resolved. Nothing is wrong
 *   with the charm or the cluster's configuration; the same request at the next hook is expected to succeed. The
 *   request may or may not have been applied (a 504 or a timed-out patch may still complete), so read the partition
 *   back before trusting it.
 * - `forbidden` — 403: the charm's service account may not do this. The operator runs `juju trust <app> --scope=cluster`.
 * - `notFound` — 404: there is no StatefulSet of that name in that namespace (wrong application or model name, or it
 *   is being removed).
 * - `misconfigured` — the charm cannot talk to the API server as configured: no kubeconfig, 401 Unauthorized, a TLS
 *   certificate refused, an update strategy that has no partition (`OnDelete`), or a partition that something in the
 *   cluster rewrites. The operator must fix the cluster or the kubeconfig; retrying alone does not help.
 * - `invalid` — the API server refused the request as malformed (422 and other 4xx) or answered something that is not
 *   what the API promises: a bug in charm-upgrade or the charm, to report.
 */
export type KubernetesFailure = "transient" | "forbidden" | "notFound" | "misconfigured" | "invalid";

/** The facts a {@link KubernetesRequestError} carries besides its message / cause / resolution. */
export interface KubernetesRequestFacts {
  /** What kind of failure it was. */
  readonly failure: KubernetesFailure;
  /** The HTTP status of the last answer, when there was one. */
  readonly httpStatus?: number | undefined;
  /** How many attempts were made within the call (the first included). */
  readonly attempts?: number | undefined;
  /** The wait the API server asked for before a retry (`Retry-After`, or `details.retryAfterSeconds`), in seconds. */
  readonly retryAfterSeconds?: number | undefined;
  /** The partition the API server holds, when the failure revealed it (a patch answered with another partition). */
  readonly heldPartition?: number | undefined;
}

/**
 * A failed Kubernetes request: a `KubernetesClientError` with a {@link KubernetesFailure} and the facts behind it.
 *
 * @example
 * ```ts
 * try {
 *   await statefulSet.setPartition(2);
 * } catch (error) {
 *   if (kubernetesFailureOf(error) === "transient") return "retry at the next hook";
 *   throw error;
 * }
 * ```
 */
export class KubernetesRequestError extends KubernetesClientError {
  /** What kind of failure it was; `transient` is the only one worth retrying without the operator. */
  readonly failure: KubernetesFailure;
  /** `failure === "transient"`: the next hook may simply try again. */
  readonly retryable: boolean;
  /** The HTTP status of the last answer, or `undefined` when there was none (timeout, network, configuration). */
  readonly httpStatus: number | undefined;
  /** How many attempts were made within the call, or `undefined` when none was sent. */
  readonly attempts: number | undefined;
  /** The wait the API server asked for, in seconds, or `undefined`. */
  readonly retryAfterSeconds: number | undefined;
  /** The partition the API server holds, when the failure revealed it, else `undefined`. */
  readonly heldPartition: number | undefined;

  /**
   * @param message - what happened, in one sentence
   * @param cause - why
   * @param resolution - what the operator can do
   * @param facts - the classification and the facts behind it
   */
  constructor(message: string, cause: string, resolution: string, facts: KubernetesRequestFacts) {
    super(message, cause, resolution);
    this.failure = facts.failure;
    this.retryable = facts.failure === "transient";
    this.httpStatus = facts.httpStatus;
    this.attempts = facts.attempts;
    this.retryAfterSeconds = facts.retryAfterSeconds;
    this.heldPartition = facts.heldPartition;
  }

  /** The core's plain copy, plus the failure kind and the HTTP status (when there was one). */
  override toJSON(): ReturnType<KubernetesClientError["toJSON"]> & {
    failure: KubernetesFailure;
    httpStatus?: number;
  } {
    return {
      ...super.toJSON(),
      failure: this.failure,
      ...(this.httpStatus === undefined ? {} : { httpStatus: this.httpStatus }),
    };
  }
}

const FAILURES: ReadonlySet<string> = new Set<KubernetesFailure>([
  "transient",
  "forbidden",
  "notFound",
  "misconfigured",
  "invalid",
]);

/**
 * The {@link KubernetesFailure} of a thrown value, read by shape (so it works across duplicated installs and for
 * plain copies such as `toJSON()`), or `undefined` when it is not a classified Kubernetes error.
 */
export function kubernetesFailureOf(error: unknown): KubernetesFailure | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { kind, failure } = error as { kind?: unknown; failure?: unknown };
  if (kind !== "KubernetesClientError" || typeof failure !== "string" || !FAILURES.has(failure)) return undefined;
  if (error instanceof Error && !isUpgradeError(error)) return undefined;
  return failure as KubernetesFailure;
}
