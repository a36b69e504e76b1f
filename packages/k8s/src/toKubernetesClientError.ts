/**
 * Turns whatever a Kubernetes request failed with into a {@link KubernetesRequestError} an operator can act on.
 *
 * The client throws three unrelated shapes — an `ApiException` with an HTTP status (`code`), the raw response text
 * (`body`) and the response headers (`headers`, names lower-cased) (`@kubernetes/client-node` 1.4,
 * `dist/gen/apis/exception.js`, thrown for every status outside 2xx by the generated `…WithHttpInfo` methods, with
 * `body` `undefined` for a 401); a node-fetch `FetchError` whose `code` is the system error (`ECONNREFUSED`,
 * `ECONNRESET`, …); an `AbortError` — and its messages dump response headers and bodies. None of that is shown as is:
 * each case gets its own message / cause / resolution and a {@link KubernetesFailure}, and any text that came from
 * the server or the client is passed through {@link redactSecrets} first, so a bearer token can never end up in a log
 * or an action result. Errors are recognised by shape, not `instanceof`, so this module does not load the client.
 *
 * Which answers are `transient` follows the Kubernetes API's own words (`k8s.io/apimachinery/pkg/api/errors`):
 * a 504 Timeout "Clients may retry, but the operation may still complete" (`NewTimeoutError`); a 500 ServerTimeout
 * "could not be completed at this time, please try again"; a 429 asks the client to "try again later"
 * (`NewTooManyRequests`); a 409 Conflict is "Operation cannot be fulfilled on statefulsets.apps "db": the object has
 * been modified; please apply your changes to the latest version and try again" (`NewConflict`, with the registry's
 * optimistic-lock message).
 *
 * @module
 */
import { KubernetesClientError } from "@charm-upgrade/core";
import { type KubernetesFailure, KubernetesRequestError } from "./kubernetesRequestError.js";
import { retryAfterMs } from "./retryAfter.js";

/** What a failed request was doing, for the words of the error. */
export interface FailedRequest {
  /** `read` (GET the StatefulSet), `patch` (set its partition), `listPods` (its pods) or `review` (SelfSubjectAccessReview). */
  readonly operation: "read" | "patch" | "listPods" | "review";
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
  /** The wait the server asked for that was not made, because it did not fit in the call's budget (ms). */
  readonly refusedWaitMs?: number;
}

/** Thrown (internally) when a request was aborted because it exceeded its timeout. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
}

/** Thrown (internally) when no usable Kubernetes configuration could be loaded. */
export class ClientConfigurationError extends Error {
  override readonly name = "ClientConfigurationError";
}

/** Thrown (internally) when a 2xx answer does not hold what the API promises; `what` names the expected object. */
export class UnexpectedResponseError extends Error {
  override readonly name = "UnexpectedResponseError";
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown (internally) when the patch was accepted but the StatefulSet holds another partition than the one sent. */
export class PartitionRewrittenError extends Error {
  override readonly name = "PartitionRewrittenError";
  constructor(
    readonly sent: number,
    readonly held: number,
  ) {
    super(`sent partition ${sent}, the API server holds ${held}`);
  }
}

const REDACTED = "[REDACTED]";

/**
 * System error codes of a connection that failed for a reason that may pass: refused (the API server restarting),
 * reset or aborted (a load balancer or the server dropping the connection), timed out, no route, a name not resolved.
 */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** TLS failures: the configuration's CA or server name does not match the API server; retrying does not help. */
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
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

/** The {@link KubernetesFailure} an HTTP status means. */
function failureOfStatus(status: number): KubernetesFailure {
  if (status === 401) return "misconfigured";
  if (status === 403) return "forbidden";
  if (status === 404) return "notFound";
  if (status === 408 || status === 409 || status === 429 || status >= 500) return "transient";
  return "invalid";
}

/**
 * True for answers worth another attempt within the same call: 408, 409 Conflict (the patch sets one value and does
 * not depend on the object's version, so applying it again is safe), 429 Too Many Requests and 5xx.
 *
 * Timeouts and connection failures are not retried within the call: they already cost up to the request timeout,
 * and a hook must stay short; they are `transient`, so the next hook tries again.
 */
export function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && failureOfStatus(status) === "transient";
}

/**
 * Build the {@link KubernetesRequestError} for a failed request.
 *
 * @param error - what the client (or the request wrapper) threw
 * @param request - what the request was doing
 * @param secrets - strings that must not appear in the result (the bearer token, passwords)
 */
export function toKubernetesClientError(
  error: unknown,
  request: FailedRequest,
  secrets: Iterable<string>,
): KubernetesRequestError {
  const secretList = [...secrets];
  const clean = (text: string): string => redactSecrets(text, secretList);
  const server = clean(displayServer(request.server));
  const app = request.statefulSet;
  const target = `StatefulSet "${app}" in namespace "${request.namespace}"`;
  const doing = describeOperation(request, target);
  const attempts = request.attempts;
  const make = (
    failure: KubernetesFailure,
    message: string,
    cause: string,
    resolution: string,
    facts: { httpStatus?: number; retryAfterSeconds?: number; heldPartition?: number } = {},
  ): KubernetesRequestError =>
    new KubernetesRequestError(clean(message), clean(cause), clean(resolution), { failure, attempts, ...facts });
  const retryNextHook = "nothing to do: the next hook tries again";
  const mayHaveApplied =
    request.operation === "patch" ? "; the API server may still apply the change, so read the partition back" : "";

  if (error instanceof KubernetesRequestError) return error;
  if (error instanceof KubernetesClientError) {
    return make("invalid", error.message, error.cause, error.resolution);
  }

  if (error instanceof ClientConfigurationError) {
    return make(
      "misconfigured",
      "Could not load a Kubernetes configuration",
      error.message,
      "set KUBECONFIG to a kubeconfig file, or run the charm in a pod with a service account",
    );
  }

  if (error instanceof RequestTimeoutError) {
    return make(
      "transient",
      `The Kubernetes API at ${server} did not answer within ${formatDuration(request.timeoutMs)}`,
      `the request to ${doing} timed out${mayHaveApplied}`,
      `${retryNextHook}. If it persists, the API server is overloaded or unreachable (raise requestTimeoutMs if the cluster is slow)`,
    );
  }

  if (error instanceof UnexpectedResponseError) {
    return make(
      "invalid",
      `The Kubernetes API at ${server} answered the request to ${doing} with something that is not ${error.what}`,
      error.message,
      "check that KUBECONFIG or the pod's service account points at a Kubernetes API server; if it does, report a bug in charm-upgrade with this message",
    );
  }

  if (error instanceof PartitionRewrittenError) {
    return make(
      "misconfigured",
      `The Kubernetes API at ${server} accepted the partition ${error.sent} for ${target} but holds ${error.held}`,
      "something in the cluster rewrites spec.updateStrategy.rollingUpdate.partition of this StatefulSet: a mutating admission webhook or a policy engine",
      `exempt ${target} from that mutation (kubectl get mutatingwebhookconfigurations lists the webhooks), then run the next hook`,
      { heldPartition: error.held },
    );
  }

  const status = httpStatusOf(error);
  if (status !== undefined) {
    const detail = clean(serverMessage(error));
    const said = detail ? `: ${detail}` : "";
    const waitMs = retryAfterMs(error);
    const facts = {
      httpStatus: status,
      ...(waitMs === undefined ? {} : { retryAfterSeconds: Math.ceil(waitMs / 1000) }),
    };
    const tries = attempts === 1 ? "the one attempt" : `every one of ${attempts} attempts`;
    const refused =
      request.refusedWaitMs === undefined
        ? ""
        : ` (it asked to wait ${formatDuration(request.refusedWaitMs)}, longer than a hook waits)`;
    switch (status) {
      case 401:
        return make(
          "misconfigured",
          `The Kubernetes API at ${server} did not accept the charm's credentials (401 Unauthorized)`,
          "the bearer token or client certificate is missing, expired or wrong",
          "check the kubeconfig (KUBECONFIG) or the pod's service-account token",
          facts,
        );
      case 403:
        return make(
          "forbidden",
          `Not allowed to ${doing} (403 Forbidden): run juju trust ${app} --scope=cluster`,
          `the charm is not trusted${detail ? ` (the API server said: ${detail})` : ""}`,
          `juju trust ${app} --scope=cluster`,
          facts,
        );
      case 404:
        return make(
          "notFound",
          `StatefulSet "${app}" not found in namespace "${request.namespace}" (404 Not Found)`,
          "on Kubernetes Juju names the StatefulSet after the application and the namespace after the model, and none of that name exists there",
          `check that the application "${app}" is deployed in the model "${request.namespace}" on Kubernetes`,
          facts,
        );
      case 409:
        return make(
          "transient",
          `Conflict while trying to ${doing} (409 Conflict, ${tries})`,
          detail || "another client changed the StatefulSet at the same time",
          `${retryNextHook}. If it keeps happening, another controller writes this StatefulSet: kubectl get statefulset ${app} -n ${request.namespace} -o yaml --show-managed-fields names it`,
          facts,
        );
      case 422:
        if (/only allowed for updateStrategy/.test(detail)) {
          // pkg/apis/apps/validation: an OnDelete StatefulSet may not have spec.updateStrategy.rollingUpdate.
          return make(
            "misconfigured",
            `${target} does not use the RollingUpdate strategy, so it has no partition to set (422 Unprocessable Entity)`,
            detail,
            `set spec.updateStrategy.type of ${target} to RollingUpdate (charm-upgrade moves pods one at a time with its partition)`,
            facts,
          );
        }
        return make(
          "invalid",
          request.operation === "patch"
            ? `The Kubernetes API rejected the patch of ${target} as invalid (422 Unprocessable Entity)`
            : `The Kubernetes API rejected the request to ${doing} as invalid (422 Unprocessable Entity)`,
          detail || "the patched StatefulSet does not validate",
          "this is a bug in the charm or in charm-upgrade, not something to fix in the cluster: report it with this message",
          facts,
        );
      case 429:
        return make(
          "transient",
          `The Kubernetes API at ${server} is throttling the charm (429 Too Many Requests): ${tries} to ${doing} ${attempts === 1 ? "was" : "were"} turned away${refused}`,
          detail || "the API server is overloaded and limits the requests it accepts",
          `${retryNextHook}. If it persists, the API server is overloaded: check its load and its API Priority and Fairness settings (kubectl get flowschemas,prioritylevelconfigurations)`,
          facts,
        );
      default:
        if (status >= 500 || status === 408) {
          return make(
            "transient",
            `The Kubernetes API at ${server} answered ${status} (${statusText(status)}) to ${tries} to ${doing}${refused}`,
            `${detail || "the API server failed to handle the request"}${mayHaveApplied}`,
            `${retryNextHook}. If it persists, check the health of the Kubernetes control plane (kube-apiserver, etcd)`,
            facts,
          );
        }
        return make(
          "invalid",
          `The Kubernetes API at ${server} refused the request to ${doing} (${status} ${statusText(status)})${said}`,
          detail || "the API server does not accept the request as charm-upgrade sends it",
          "this is a bug in charm-upgrade, not something to fix in the cluster: report it with this message",
          facts,
        );
    }
  }

  const code = systemCodeOf(error);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) {
    return make(
      "transient",
      `Cannot reach the Kubernetes API at ${server}`,
      code === "ECONNREFUSED"
        ? "connection refused: nothing listens at that address"
        : code === "ECONNRESET"
          ? "the connection was reset before an answer came (ECONNRESET)"
          : `the connection failed (${code})`,
      `${retryNextHook}. If it persists, check that the API server is up and that the kubeconfig (KUBECONFIG) or the pod's service account points at it`,
    );
  }
  if (code !== undefined && TLS_CODES.has(code)) {
    return make(
      "misconfigured",
      `Cannot trust the Kubernetes API at ${server}`,
      `its TLS certificate was refused (${code})`,
      "check the cluster's CA certificate and server address in the kubeconfig (KUBECONFIG) or the pod's service account",
    );
  }

  const text = error instanceof Error ? error.message : String(error);
  return make(
    "invalid",
    `Unexpected failure while trying to ${doing}`,
    text,
    "report a bug in charm-upgrade with this message",
  );
}

function describeOperation(request: FailedRequest, target: string): string {
  switch (request.operation) {
    case "read":
      return `read ${target}`;
    case "patch":
      return `set the rolling-update partition of ${target}${request.partition === undefined ? "" : ` to ${request.partition}`}`;
    case "listPods":
      return `list the pods of ${target}`;
    case "review":
      return `check whether the charm may patch ${target}`;
  }
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

/**
 * What the server said, from an `ApiException` body: the `message` of a Kubernetes `Status` object, or the text
 * itself when the body is not JSON (the API server's 429 from its flow control is plain text: `http.Error(w, "Too many
 * requests, please try again later.", 429)` in `filters/maxinflight.go`), first line only, at most 300 characters.
 */
function serverMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return firstLine(body);
    }
  }
  if (typeof parsed === "object" && parsed !== null) {
    const message = (parsed as { message?: unknown }).message;
    if (typeof message === "string") return firstLine(message);
  }
  return "";
}

function firstLine(text: string): string {
  return (text.trim().split("\n")[0] ?? "").slice(0, 300);
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
    408: "Request Timeout",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  };
  return texts[status] ?? "unexpected status";
}
