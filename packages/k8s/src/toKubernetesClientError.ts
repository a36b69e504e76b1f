/**
 * Turns whatever a Kubernetes request failed with into a {@link KubernetesClientError} an operator can act on.
 *
 * The client throws three unrelated shapes — an `ApiException` with an HTTP status, a `node-fetch` `FetchError`
 * with a system error code, an `AbortError` — and its messages dump response headers and bodies. None of that is
 * shown as is: each case gets its own message / cause / resolution, and any text that came from the server or the
 * client is passed through {@link redactSecrets} first, so a bearer token can never end up in a log or an action
 * result. Errors are recognised by shape, not `instanceof`, so this module does not load the client.
 *
 * @module
 */
import { KubernetesClientError } from "@charm-upgrade/core";

/** What a failed request was doing, for the words of the error. */
export interface FailedRequest {
  /** `read` (GET the StatefulSet), `patch` (set its partition) or `review` (SelfSubjectAccessReview). */
  readonly operation: "read" | "patch" | "review";
  readonly namespace: string;
  readonly statefulSet: string;
  /** The partition a `patch` tried to set. */
  readonly partition?: number;
  /** The API server's address, as configured (credentials in it are stripped before it is shown). */
  readonly server: string;
  /** The per-request timeout in force. */
  readonly timeoutMs: number;
  /** How many attempts were made. */
  readonly attempts: number;
}

/** Thrown (internally) when a request was aborted because it exceeded its timeout. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
}

/** Thrown (internally) when no usable Kubernetes configuration could be loaded. */
export class ClientConfigurationError extends Error {
  override readonly name = "ClientConfigurationError";
}

const REDACTED = "[REDACTED]";
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * Remove every known secret, and anything that looks like an `Authorization` credential, from `text`.
 *
 * @param secrets - exact strings to hide (tokens, passwords); strings shorter than 4 characters are ignored
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join(REDACTED);
  }
  return result.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`);
}

/** The HTTP status of an `ApiException`-shaped error, or `undefined`. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" && code >= 100 && code <= 599 ? code : undefined;
}

/** True for answers worth another attempt: 5xx from the API server (an overloaded or restarting control plane). */
export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 500;
}

/**
 * Build the {@link KubernetesClientError} for a failed request.
 *
 * @param error - what the client (or the request wrapper) threw
 * @param request - what the request was doing
 * @param secrets - strings that must not appear in the result (the bearer token, passwords)
 */
export function toKubernetesClientError(error: unknown, request: FailedRequest, secrets: Iterable<string>): KubernetesClientError {
  const secretList = [...secrets];
  const clean = (text: string): string => redactSecrets(text, secretList);
  const server = clean(displayServer(request.server));
  const target = `StatefulSet "${request.statefulSet}" in namespace "${request.namespace}"`;
  const doing =
    request.operation === "read"
      ? `read ${target}`
      : request.operation === "patch"
        ? `set the rolling-update partition of ${target}${request.partition === undefined ? "" : ` to ${request.partition}`}`
        : `check whether the charm may patch ${target}`;
  const make = (message: string, cause: string, resolution: string): KubernetesClientError =>
    new KubernetesClientError(clean(message), clean(cause), clean(resolution));

  if (error instanceof KubernetesClientError) return make(error.message, error.cause, error.resolution);

  if (error instanceof ClientConfigurationError) {
    return make(
      "Could not load a Kubernetes configuration",
      error.message,
      "set KUBECONFIG to a kubeconfig file, or run the charm in a pod with a service account",
    );
  }

  if (error instanceof RequestTimeoutError) {
    return make(
      `The Kubernetes API at ${server} did not answer within ${formatDuration(request.timeoutMs)}`,
      `the request to ${doing} timed out`,
      "the API server may be overloaded or unreachable; the next hook tries again (raise requestTimeoutMs if the cluster is slow)",
    );
  }

  const status = httpStatusOf(error);
  if (status !== undefined) {
    const detail = serverMessage(error);
    const said = detail ? `: ${detail}` : "";
    switch (status) {
      case 401:
        return make(
          `The Kubernetes API at ${server} did not accept the charm's credentials (401 Unauthorized)`,
          "the bearer token or client certificate is missing, expired or wrong",
          "check the kubeconfig (KUBECONFIG) or the pod's service-account token",
        );
      case 403:
        return make(
          `Not allowed to ${doing} (403 Forbidden)${said}`,
          "the charm is not trusted",
          `run \`juju trust ${request.statefulSet} --scope=cluster\``,
        );
      case 404:
        return make(
          `StatefulSet "${request.statefulSet}" not found in namespace "${request.namespace}" (404 Not Found)`,
          "on Kubernetes Juju names the StatefulSet after the application and the namespace after the model, and none of that name exists there",
          `check that the application "${request.statefulSet}" is deployed in the model "${request.namespace}" on Kubernetes`,
        );
      case 409:
        return make(
          `Conflict while trying to ${doing} (409 Conflict)`,
          detail || "another client changed the StatefulSet at the same time",
          "nothing to do: the partition is set again in the next hook",
        );
      case 422:
        return make(
          `The Kubernetes API rejected the patch of ${target} as invalid (422 Unprocessable Entity)`,
          detail || "the patched StatefulSet does not validate",
          "the partition must be a whole number from 0 to the number of units; if it is, report a bug in charm-upgrade",
        );
      default:
        if (status >= 500) {
          return make(
            `The Kubernetes API at ${server} answered ${status} (${statusText(status)}) to every one of ${request.attempts} attempt${request.attempts === 1 ? "" : "s"} to ${doing}`,
            detail || "the API server failed to handle the request",
            "check the health of the Kubernetes control plane; the next hook tries again",
          );
        }
        return make(
          `The Kubernetes API at ${server} answered ${status} (${statusText(status)}) to the request to ${doing}`,
          detail || "the API server refused the request",
          "report a bug in charm-upgrade if this persists",
        );
    }
  }

  const code = systemCodeOf(error);
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return make(
      `Cannot reach the Kubernetes API at ${server}`,
      code === "ECONNREFUSED"
        ? "connection refused: nothing listens at that address"
        : `the connection failed (${code})`,
      "check that the API server is up and that the kubeconfig (KUBECONFIG) or the in-cluster service account points at it",
    );
  }

  const text = error instanceof Error ? error.message : String(error);
  return make(`Unexpected failure while trying to ${doing}`, text, "report a bug in charm-upgrade if this persists");
}

function systemCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The `message` of the Kubernetes `Status` object in an `ApiException` body, if any. */
function serverMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (typeof parsed === "object" && parsed !== null) {
    const message = (parsed as { message?: unknown }).message;
    if (typeof message === "string") return message.slice(0, 300);
  }
  return "";
}

function displayServer(server: string): string {
  try {
    const url = new URL(server);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return "(an unparseable server address)";
  }
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function statusText(status: number): string {
  const texts: Readonly<Record<number, string>> = {
    400: "Bad Request",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    410: "Gone",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return texts[status] ?? "unexpected status";
}
