/**
 * A small, real Kubernetes API server for tests and the simulator.
 *
 * It speaks just enough of the API for the adapter — read and patch an apps/v1 StatefulSet, list its pods by label
 * selector, and answer a SelfSubjectAccessReview — over real HTTP on 127.0.0.1, so the official client is exercised
 * end to end (content types, bearer token, status codes, headers, slow or dropped answers) instead of being mocked.
 *
 * Its error answers have the shapes the real API server gives (see {@link statusObject} and {@link FakeFailure}):
 * a `Status` object (`kind: "Status"`, `apiVersion: "v1"`, `status: "Failure"`, `message`, `reason`, `details`,
 * `code` — Kubernetes API reference, Status) built as `k8s.io/apimachinery/pkg/api/errors` builds it, or plain text
 * where the API server's filters answer with `http.Error` (its 429 from flow control).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What the fake server knows of one StatefulSet: the fields a rolling upgrade reads and moves. */
export interface FakeStatefulSetState {
  /** `spec.replicas`. */
  readonly replicas: number;
  /** `spec.updateStrategy.rollingUpdate.partition`; `null` when the StatefulSet has no `rollingUpdate`. */
  readonly partition: number | null;
  /** `spec.updateStrategy.type`. */
  readonly updateStrategy: "RollingUpdate" | "OnDelete";
  /** `metadata.generation`, bumped by every change of the spec (as the real API server does). */
  readonly generation: number;
  /** `status.observedGeneration`: the generation the (imaginary) controller has acted on. */
  readonly observedGeneration: number;
  /** `status.currentRevision`, or `null` when not reported. */
  readonly currentRevision: string | null;
  /** `status.updateRevision`, or `null` when not reported. */
  readonly updateRevision: string | null;
}

/** A StatefulSet to create: only `replicas` is required. */
export interface FakeStatefulSetInput {
  readonly replicas: number;
  readonly partition?: number | null;
  readonly updateStrategy?: "RollingUpdate" | "OnDelete";
  readonly currentRevision?: string | null;
  readonly updateRevision?: string | null;
  /** Default: the generation, i.e. the controller has seen the spec. */
  readonly observedGeneration?: number;
}

/** A change made "outside the library" (by `kubectl`, another controller, the StatefulSet controller). */
export interface FakeStatefulSetChange {
  readonly replicas?: number;
  readonly partition?: number | null;
  readonly updateStrategy?: "RollingUpdate" | "OnDelete";
  readonly currentRevision?: string | null;
  readonly updateRevision?: string | null;
  readonly observedGeneration?: number;
}

/** A pod of a StatefulSet, as the fake server stores it. */
export interface FakePodInput {
  /** Its `controller-revision-hash` label; `null` for none. */
  readonly revision: string | null;
  /** Its `Ready` condition (default `true`). */
  readonly ready?: boolean;
  /** Whether it has a `deletionTimestamp` (default `false`). */
  readonly terminating?: boolean;
  /** Whether the StatefulSet controls it (an owner reference with `controller: true`; default `true`). */
  readonly owned?: boolean;
  /** Its containers' images (`spec.containers[].image`), by container name (default: no containers). */
  readonly images?: Readonly<Record<string, string>>;
}

/** One request as the server received it, for assertions. The `Authorization` header is never recorded. */
export interface RecordedRequest {
  readonly method: string;
  /** The URL path, without the query string. */
  readonly path: string;
  /** The query string's parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** The `Content-Type` header, or `null` when there was none. */
  readonly contentType: string | null;
  /** The body parsed as JSON when it is JSON, else the raw text; `null` when empty. */
  readonly body: unknown;
  /** Whether the request carried the right bearer token. */
  readonly authorized: boolean;
}

/** Which requests a fault applies to (all of them when omitted). */
export type FakeRequestKind = "getStatefulSet" | "patchStatefulSet" | "listPods" | "accessReview";

/**
 * How an injected failure answers (see {@link FakeApiServer.failNext}).
 *
 * - `status` — the HTTP status. Without `body`, the body is what the real API server sends for it: for 429, the text
 *   `Too many requests, please try again later.` with `Retry-After: 1` (the API server's flow-control filters,
 *   `staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go`); for 502, plain text, as a proxy or load
 *   balancer in front of the API server would answer (no API server source was checked for it); for every other status a
 *   `Status` object as `k8s.io/apimachinery/pkg/api/errors` builds it (403 `NewForbidden` with the authorizer's
 *   `User … cannot patch resource "statefulsets" in API group "apps" in the namespace …`, 404 `NewNotFound`,
 *   409 `NewConflict` with the optimistic-lock message, 422 `NewInvalid`, 500 `NewInternalError`, 503
 *   `NewServiceUnavailable`, 504 `NewTimeoutError` as the timeout filter sends it, `filters/timeout.go`).
 * - `message` — replaces the `Status` object's `message`.
 * - `retryAfter` — a `Retry-After` header (seconds, or an HTTP-date); in a `Status` body, also
 *   `details.retryAfterSeconds` when it is a number.
 * - `body` — the whole body instead: a string is sent as `text/plain`, anything else as JSON.
 * - `run` — called when the failure is served, before it is answered: e.g. another writer changing the StatefulSet,
 *   which is what a 409 Conflict means.
 */
export interface FakeFailure {
  readonly status: number;
  readonly message?: string;
  readonly retryAfter?: number | string;
  readonly body?: unknown;
  readonly run?: () => void;
  /** Only requests of this kind (default: any). */
  readonly on?: FakeRequestKind;
}

/**
 * A fault injected into the next matching requests.
 *
 * - `status` — answer with an HTTP status (see {@link FakeFailure}).
 * - `delay` — hold the answer this many milliseconds, then answer normally (a slow API server).
 * - `hang` — never answer: the request stays open until the client gives up (its timeout) or the server closes.
 * - `reset` — drop the connection without an answer (the client sees `ECONNRESET`, "socket hang up").
 *
 * `times` is how many matching requests it affects (default: every one until {@link FakeApiServer.clearFaults}).
 */
export type FakeFault =
  | ({
      readonly type: "status";
      readonly times?: number;
    } & FakeFailure)
  | { readonly type: "delay"; readonly ms: number; readonly times?: number; readonly on?: FakeRequestKind }
  | { readonly type: "hang"; readonly times?: number; readonly on?: FakeRequestKind }
  | { readonly type: "reset"; readonly times?: number; readonly on?: FakeRequestKind };

/** The verdict of a SelfSubjectAccessReview. */
export interface FakeAccessVerdict {
  readonly allowed: boolean;
  readonly reason?: string;
}

/** The attributes a SelfSubjectAccessReview asked about (`spec.resourceAttributes`). */
export interface FakeResourceAttributes {
  readonly verb?: string;
  readonly group?: string;
  readonly resource?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** Options of {@link startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** The bearer token clients must send; a random one by default. */
  readonly token?: string;
  /** StatefulSets that exist from the start, keyed `"<namespace>/<name>"`. */
  readonly statefulSets?: Readonly<Record<string, FakeStatefulSetInput>>;
}

/** A running fake API server. Always {@link FakeApiServer.close} it (e.g. in `afterEach`). */
export interface FakeApiServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The bearer token the server accepts. */
  readonly token: string;
  /** Path of a kubeconfig file pointing at this server with {@link FakeApiServer.token}; set `KUBECONFIG` to it. */
  readonly kubeconfigPath: string;
  /** The same kubeconfig as text (JSON, which is YAML), e.g. for `KubeConfig.loadFromString`. */
  readonly kubeconfig: string;
  /** Every request received so far, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Create or replace a StatefulSet. */
  putStatefulSet(namespace: string, name: string, state: FakeStatefulSetInput): void;
  /**
   * Change a StatefulSet "outside the library", as `kubectl`, another controller or the StatefulSet controller
   * would: the generation is bumped when the spec changes; throws if it does not exist.
   */
  editStatefulSet(namespace: string, name: string, change: FakeStatefulSetChange): void;
  /** Remove a StatefulSet (later requests for it answer 404). */
  deleteStatefulSet(namespace: string, name: string): void;
  /** The current state of a StatefulSet, or `undefined` when it does not exist. */
  getStatefulSet(namespace: string, name: string): FakeStatefulSetState | undefined;
  /** Create or replace the pod `<statefulSet>-<ordinal>`, labelled with the StatefulSet's selector. */
  putPod(namespace: string, statefulSet: string, ordinal: number, pod: FakePodInput): void;
  /** Remove a pod by name. */
  deletePod(namespace: string, name: string): void;
  /** Call `listener` after every creation, replacement or change of a StatefulSet (a simulator rolls pods from here); returns an unsubscribe. */
  onChange(listener: (namespace: string, name: string, state: FakeStatefulSetState) => void): () => void;
  /** Decide SelfSubjectAccessReviews (default: every one is allowed). */
  setAccessReview(decide: FakeAccessVerdict | ((attributes: FakeResourceAttributes) => FakeAccessVerdict)): void;
  /** Queue a fault; faults are tried in the order they were added. */
  injectFault(fault: FakeFault): void;
  /** Answer the next `count` matching requests with `failure` (then answer normally again). */
  failNext(count: number, failure: FakeFailure): void;
  /** Leave the next `count` matching requests unanswered: the client's timeout is what ends them. */
  hangNext(count: number, on?: FakeRequestKind): void;
  /** Drop the connection of the next `count` matching requests without an answer. */
  resetNext(count: number, on?: FakeRequestKind): void;
  /** Remove every queued fault. */
  clearFaults(): void;
  /** Forget the recorded requests. */
  clearRequests(): void;
  /** Stop listening, drop open connections (and pending delayed or hanging answers) and delete the kubeconfig file. */
  close(): Promise<void>;
}

interface StoredStatefulSet {
  replicas: number;
  partition: number | null;
  updateStrategy: "RollingUpdate" | "OnDelete";
  generation: number;
  observedGeneration: number;
  currentRevision: string | null;
  updateRevision: string | null;
  resourceVersion: number;
  uid: string;
}

interface StoredPod {
  readonly statefulSet: string;
  readonly ordinal: number;
  readonly pod: FakePodInput;
}

interface QueuedFault {
  readonly fault: FakeFault;
  remaining: number;
}

const STATEFULSET_PATH = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/]+)$/;
const PODS_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/;
const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const PATCH_TYPES = new Set(["application/merge-patch+json", "application/strategic-merge-patch+json"]);
/** `metav1.StatusReason` of each status, as `k8s.io/apimachinery/pkg/api/errors` sets it. */
const REASONS: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};
/** The label the StatefulSet controller puts on each pod: `StatefulSetRevisionLabel` of `k8s.io/api/apps`. */
const REVISION_LABEL = "controller-revision-hash";

/** The details of a `Status` object (`metav1.StatusDetails`); every field optional, as in the API. */
export interface FakeStatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: ReadonlyArray<{ readonly reason?: string; readonly message?: string; readonly field?: string }>;
  readonly retryAfterSeconds?: number;
}

/**
 * A Kubernetes `Status` object for a failure, as the API server sends it (Kubernetes API reference, Status:
 * `apiVersion`, `kind`, `metadata`, `status`, `message`, `reason`, `details`, `code`).
 *
 * @example
 * ```ts
 * api.failNext(1, { status: 429, body: statusObject(429, "Too many requests: try later", { retryAfterSeconds: 2 }) });
 * ```
 */
export function statusObject(code: number, message: string, details?: FakeStatusDetails): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  };
}

/**
 * Start a fake Kubernetes API server on 127.0.0.1 with a random port, and write a kubeconfig for it.
 *
 * The kubeconfig sets `insecure-skip-tls-verify: true`, because @kubernetes/client-node 1.x refuses a plain
 * `http://` server otherwise.
 *
 * @example
 * ```ts
 * const api = await startFakeApiServer({ statefulSets: { "my-model/db": { replicas: 3, partition: 2 } } });
 * process.env.KUBECONFIG = api.kubeconfigPath;
 * // … drive the adapter …
 * api.failNext(2, { status: 503, on: "patchStatefulSet" });
 * api.failNext(1, { status: 429, retryAfter: 1 });
 * api.hangNext(1, "getStatefulSet");
 * await api.close();
 * ```
 */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const token = options.token ?? `fake-token-${randomBytes(12).toString("hex")}`;
  const statefulSets = new Map<string, StoredStatefulSet>();
  const pods = new Map<string, StoredPod>();
  const listeners = new Set<(namespace: string, name: string, state: FakeStatefulSetState) => void>();
  const requests: RecordedRequest[] = [];
  const faults: QueuedFault[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  let decide: (attributes: FakeResourceAttributes) => FakeAccessVerdict = () => ({ allowed: true });
  let resourceVersion = 1;

  const snapshot = (stored: StoredStatefulSet): FakeStatefulSetState => ({
    replicas: stored.replicas,
    partition: stored.partition,
    updateStrategy: stored.updateStrategy,
    generation: stored.generation,
    observedGeneration: stored.observedGeneration,
    currentRevision: stored.currentRevision,
    updateRevision: stored.updateRevision,
  });
  const changed = (namespace: string, name: string, stored: StoredStatefulSet): void => {
    for (const listener of listeners) listener(namespace, name, snapshot(stored));
  };
  const put = (namespace: string, name: string, state: FakeStatefulSetInput): void => {
    const previous = statefulSets.get(`${namespace}/${name}`);
    const generation = (previous?.generation ?? 0) + 1;
    const stored: StoredStatefulSet = {
      replicas: state.replicas,
      partition: state.partition ?? null,
      updateStrategy: state.updateStrategy ?? "RollingUpdate",
      generation,
      observedGeneration: state.observedGeneration ?? generation,
      currentRevision: state.currentRevision ?? null,
      updateRevision: state.updateRevision ?? null,
      resourceVersion: ++resourceVersion,
      uid: previous?.uid ?? `00000000-0000-4000-8000-${String(resourceVersion).padStart(12, "0")}`,
    };
    statefulSets.set(`${namespace}/${name}`, stored);
    changed(namespace, name, stored);
  };
  /** Apply a change of the spec and/or status, bumping the generation only when the spec changed. */
  const apply = (namespace: string, name: string, stored: StoredStatefulSet, change: FakeStatefulSetChange): void => {
    const specChanged =
      (change.replicas !== undefined && change.replicas !== stored.replicas) ||
      (change.partition !== undefined && change.partition !== stored.partition) ||
      (change.updateStrategy !== undefined && change.updateStrategy !== stored.updateStrategy);
    const statusChanged =
      (change.currentRevision !== undefined && change.currentRevision !== stored.currentRevision) ||
      (change.updateRevision !== undefined && change.updateRevision !== stored.updateRevision) ||
      (change.observedGeneration !== undefined && change.observedGeneration !== stored.observedGeneration);
    if (!specChanged && !statusChanged) return;
    if (change.replicas !== undefined) stored.replicas = change.replicas;
    if (change.partition !== undefined) stored.partition = change.partition;
    if (change.updateStrategy !== undefined) stored.updateStrategy = change.updateStrategy;
    if (change.currentRevision !== undefined) stored.currentRevision = change.currentRevision;
    if (change.updateRevision !== undefined) stored.updateRevision = change.updateRevision;
    if (specChanged) {
      // pkg/registry/apps/statefulset/strategy.go PrepareForUpdate: the generation moves when the spec changes.
      stored.generation += 1;
      // The imaginary controller keeps up unless told otherwise.
      stored.observedGeneration = change.observedGeneration ?? stored.generation;
    } else if (change.observedGeneration !== undefined) {
      stored.observedGeneration = change.observedGeneration;
    }
    stored.resourceVersion = ++resourceVersion;
    changed(namespace, name, stored);
  };
  for (const [key, state] of Object.entries(options.statefulSets ?? {})) {
    const [namespace, name] = splitKey(key);
    put(namespace, name, state);
  }

  const takeFault = (kind: FakeRequestKind | null): FakeFault | undefined => {
    for (const [index, queued] of faults.entries()) {
      if (queued.fault.on !== undefined && queued.fault.on !== kind) continue;
      queued.remaining -= 1;
      if (queued.remaining <= 0) faults.splice(index, 1);
      return queued.fault;
    }
    return undefined;
  };

  const handle = (request: IncomingMessage, text: string, response: ServerResponse): void => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const contentType = request.headers["content-type"]?.split(";")[0]?.trim() ?? null;
    const authorized = request.headers.authorization === `Bearer ${token}`;
    const body = parseBody(text);
    const method = request.method ?? "GET";
    requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      body: body.ok ? body.value : text === "" ? null : text,
      authorized,
    });

    const match = STATEFULSET_PATH.exec(url.pathname);
    const podsMatch = PODS_PATH.exec(url.pathname);
    const kind: FakeRequestKind | null =
      match && method === "GET"
        ? "getStatefulSet"
        : match && method === "PATCH"
          ? "patchStatefulSet"
          : podsMatch && method === "GET"
            ? "listPods"
            : url.pathname === ACCESS_REVIEW_PATH && method === "POST"
              ? "accessReview"
              : null;
    const namespace = decodeURIComponent(match?.[1] ?? podsMatch?.[1] ?? "");
    const name = decodeURIComponent(match?.[2] ?? "");

    const answer = (): void => {
      // endpoints/filters/authentication.go: a request that fails authentication gets NewUnauthorized("Unauthorized").
      if (!authorized) return sendStatus(response, 401, "Unauthorized");
      // apimachinery errors.go NewGenericServerResponse(404): what an unknown path answers. The fake knows only the
      // paths the adapter uses, so any other path, real or not, answers so.
      if (kind === null) return sendStatus(response, 404, `the server could not find the requested resource`);
      if (kind === "accessReview") {
        if (!body.ok || !isRecord(body.value)) return sendStatus(response, 400, "the request body is not JSON");
        const spec = isRecord(body.value["spec"]) ? body.value["spec"] : {};
        const attributes = (
          isRecord(spec["resourceAttributes"]) ? spec["resourceAttributes"] : {}
        ) as FakeResourceAttributes;
        const verdict = decide(attributes);
        // A create answers 201 Created with the object; a review's answer is its `status` (Kubernetes API reference,
        // SelfSubjectAccessReview v1 authorization.k8s.io, "create": 200/201/202).
        return sendJson(response, 201, {
          kind: "SelfSubjectAccessReview",
          apiVersion: "authorization.k8s.io/v1",
          metadata: {},
          spec,
          status:
            verdict.reason === undefined
              ? { allowed: verdict.allowed }
              : { allowed: verdict.allowed, reason: verdict.reason },
        });
      }
      if (kind === "listPods") {
        const selector = parseSelector(url.searchParams.get("labelSelector") ?? "");
        if (selector === null) return sendStatus(response, 400, "unable to parse requirement: invalid label selector");
        const items = [...pods.entries()]
          .filter(([key]) => key.startsWith(`${namespace}/`))
          .map(([key, stored]) => podObject(namespace, key.slice(namespace.length + 1), stored, statefulSets))
          .filter((pod) => selector(podLabels(pod)))
          // A list comes back in storage-key order (etcd range reads: bytes of `<namespace>/<name>`).
          .sort((a, b) => (podName(a) < podName(b) ? -1 : podName(a) > podName(b) ? 1 : 0));
        return sendJson(response, 200, {
          kind: "PodList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(resourceVersion) },
          items,
        });
      }
      const stored = statefulSets.get(`${namespace}/${name}`);
      if (!stored) {
        return sendStatus(response, 404, `statefulsets.apps "${name}" not found`, {
          name,
          group: "apps",
          kind: "statefulsets",
        });
      }
      if (kind === "patchStatefulSet") {
        // endpoints/handlers/patch.go: a PATCH whose Content-Type is not one of the resource's patch types gets
        // negotiation.NewUnsupportedMediaTypeError(patchTypes) (415, "the body of the request was in an unknown
        // format - accepted media types include: …"); a built-in type like StatefulSet lists all four
        // (endpoints/installer.go). The fake applies only the two the adapter may send (merge and strategic merge:
        // the same effect on this object), and answers a JSON patch or an apply with the same 415 — a limitation,
        // not a claim about the API server, which would apply them.
        if (contentType === null || !PATCH_TYPES.has(contentType)) {
          return sendStatus(
            response,
            415,
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
          );
        }
        // Not the API server's words (it decodes the patch and reports the decoder's error, 400 BadRequest).
        if (!body.ok || !isRecord(body.value)) return sendStatus(response, 400, "the patch is not a JSON object");
        const next = mergePatch(statefulSetObject(namespace, name, stored), body.value);
        const replicas = readPath(next, ["spec", "replicas"]);
        const strategy = readPath(next, ["spec", "updateStrategy", "type"]);
        const rollingUpdate = readPath(next, ["spec", "updateStrategy", "rollingUpdate"]);
        const partition = readPath(next, ["spec", "updateStrategy", "rollingUpdate", "partition"]);
        const invalid = (field: string, value: unknown, detail: string): void =>
          sendStatus(
            response,
            422,
            `StatefulSet.apps "${name}" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`,
            {
              name,
              group: "apps",
              kind: "StatefulSet",
              causes: [
                { reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field },
              ],
            },
          );
        if (!isCount(replicas)) return invalid("spec.replicas", replicas, "must be greater than or equal to 0");
        if (strategy !== "RollingUpdate" && strategy !== "OnDelete") {
          return invalid("spec.updateStrategy", strategy, `must be 'RollingUpdate' or 'OnDelete'`);
        }
        // pkg/apis/apps/validation/validation.go: an OnDelete StatefulSet may not have a rollingUpdate.
        if (strategy === "OnDelete" && rollingUpdate !== undefined) {
          return invalid(
            "spec.updateStrategy.rollingUpdate",
            rollingUpdate,
            "only allowed for updateStrategy 'RollingUpdate'",
          );
        }
        if (partition !== undefined && partition !== null && !isCount(partition)) {
          return invalid(
            "spec.updateStrategy.rollingUpdate.partition",
            partition,
            "must be greater than or equal to 0",
          );
        }
        // pkg/apis/apps/v1/defaults.go (SetDefaults_StatefulSet): a rollingUpdate without a partition gets 0.
        const newPartition = isRecord(rollingUpdate) ? (isCount(partition) ? partition : 0) : null;
        apply(namespace, name, stored, { replicas, partition: newPartition, updateStrategy: strategy });
      }
      return sendJson(response, 200, statefulSetObject(namespace, name, stored));
    };

    const fault = takeFault(kind);
    if (fault?.type === "status") {
      fault.run?.();
      return sendFailure(response, fault, { method, kind, namespace, name });
    }
    if (fault?.type === "delay") {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        if (!response.destroyed) answer();
      }, fault.ms);
      pendingTimers.add(timer);
      return;
    }
    if (fault?.type === "hang") return; // the client's timeout (or close()) ends it
    if (fault?.type === "reset") {
      request.socket.destroy();
      return;
    }
    answer();
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handle(request, Buffer.concat(chunks).toString("utf8"), response));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const directory = mkdtempSync(join(tmpdir(), "charm-upgrade-fake-k8s-"));
  const kubeconfig = fakeKubeconfig({ server: url, token });
  const kubeconfigPath = join(directory, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

  const queue = (fault: FakeFault): void => {
    faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  };
  const positive = (count: number): number => {
    if (!Number.isInteger(count) || count < 1) throw new Error(`count must be a whole number ≥ 1, got ${count}`);
    return count;
  };

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    token,
    kubeconfigPath,
    kubeconfig,
    requests,
    putStatefulSet: put,
    editStatefulSet(namespace, name, change) {
      const stored = statefulSets.get(`${namespace}/${name}`);
      if (!stored) throw new Error(`no StatefulSet ${namespace}/${name}`);
      apply(namespace, name, stored, change);
    },
    deleteStatefulSet(namespace, name) {
      statefulSets.delete(`${namespace}/${name}`);
    },
    getStatefulSet(namespace, name) {
      const stored = statefulSets.get(`${namespace}/${name}`);
      return stored ? snapshot(stored) : undefined;
    },
    putPod(namespace, statefulSet, ordinal, pod) {
      pods.set(`${namespace}/${statefulSet}-${ordinal}`, { statefulSet, ordinal, pod });
    },
    deletePod(namespace, name) {
      pods.delete(`${namespace}/${name}`);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setAccessReview(next) {
      decide = typeof next === "function" ? next : () => next;
    },
    injectFault: queue,
    failNext(count, failure) {
      queue({ type: "status", ...failure, times: positive(count) });
    },
    hangNext(count, on) {
      queue({ type: "hang", times: positive(count), ...(on === undefined ? {} : { on }) });
    },
    resetNext(count, on) {
      queue({ type: "reset", times: positive(count), ...(on === undefined ? {} : { on }) });
    },
    clearFaults() {
      faults.length = 0;
    },
    clearRequests() {
      requests.length = 0;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(directory, { recursive: true, force: true });
      });
      return closed;
    },
  };
}

/**
 * A kubeconfig (as JSON text, which is valid YAML) for a plain-HTTP API server and a bearer-token user.
 *
 * Useful on its own to point a client at an address where nothing listens (connection refused).
 */
export function fakeKubeconfig(options: {
  readonly server: string;
  readonly token: string;
  readonly namespace?: string;
}): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: options.server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake-user", user: { token: options.token } }],
      contexts: [
        { name: "fake", context: { cluster: "fake", user: "fake-user", namespace: options.namespace ?? "default" } },
      ],
      "current-context": "fake",
    },
    null,
    2,
  );
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  if (slash <= 0 || slash === key.length - 1)
    throw new Error(`StatefulSet keys are "<namespace>/<name>", got ${JSON.stringify(key)}`);
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** The selector Juju gives an application's StatefulSet (juju/juju caas/kubernetes/provider: `app.kubernetes.io/name`). */
function selectorLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name };
}

function statefulSetObject(namespace: string, name: string, stored: StoredStatefulSet): Record<string, unknown> {
  return {
    kind: "StatefulSet",
    apiVersion: "apps/v1",
    metadata: {
      name,
      namespace,
      uid: stored.uid,
      resourceVersion: String(stored.resourceVersion),
      generation: stored.generation,
    },
    spec: {
      replicas: stored.replicas,
      // Juju names the headless service so (juju/juju caas/kubernetes/provider: ServiceName "<app>-endpoints").
      serviceName: `${name}-endpoints`,
      selector: { matchLabels: selectorLabels(name) },
      template: { metadata: { labels: selectorLabels(name) }, spec: { containers: [] } },
      updateStrategy:
        stored.partition === null
          ? { type: stored.updateStrategy }
          : { type: stored.updateStrategy, rollingUpdate: { partition: stored.partition } },
    },
    status: {
      replicas: stored.replicas,
      observedGeneration: stored.observedGeneration,
      ...(stored.currentRevision === null ? {} : { currentRevision: stored.currentRevision }),
      ...(stored.updateRevision === null ? {} : { updateRevision: stored.updateRevision }),
    },
  };
}

function podObject(
  namespace: string,
  name: string,
  stored: StoredPod,
  statefulSets: ReadonlyMap<string, StoredStatefulSet>,
): Record<string, unknown> {
  const { pod } = stored;
  const owner = statefulSets.get(`${namespace}/${stored.statefulSet}`);
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name,
      namespace,
      uid: `11111111-0000-4000-8000-${String(stored.ordinal).padStart(12, "0")}`,
      labels: {
        ...selectorLabels(stored.statefulSet),
        ...(pod.revision === null ? {} : { [REVISION_LABEL]: pod.revision }),
        "statefulset.kubernetes.io/pod-name": name,
      },
      ...(pod.terminating ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
      ...(pod.owned === false
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "StatefulSet",
                name: stored.statefulSet,
                uid: owner?.uid ?? "00000000-0000-4000-8000-000000000000",
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }),
    },
    spec: { containers: Object.entries(pod.images ?? {}).map(([container, image]) => ({ name: container, image })) },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: pod.ready === false ? "False" : "True" }],
    },
  };
}

function podLabels(pod: Record<string, unknown>): Record<string, string> {
  return (readPath(pod, ["metadata", "labels"]) ?? {}) as Record<string, string>;
}

function podName(pod: Record<string, unknown>): string {
  return String(readPath(pod, ["metadata", "name"]));
}

/**
 * A `labelSelector` query as a predicate on labels, or `null` when it does not parse. The syntax of
 * `k8s.io/apimachinery/pkg/labels`: comma-separated `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
 */
function parseSelector(query: string): ((labels: Record<string, string>) => boolean) | null {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const character of query) {
    if (character === "(") depth += 1;
    if (character === ")") depth -= 1;
    if (character === "," && depth === 0) {
      terms.push(current);
      current = "";
    } else {
      current += character;
    }
  }
  if (current.trim() !== "" || terms.length > 0) terms.push(current);
  const key = "([^\\s=!(),]+)";
  const forms: ReadonlyArray<
    readonly [RegExp, (match: RegExpExecArray) => (labels: Record<string, string>) => boolean]
  > = [
    [
      new RegExp(`^${key}\\s+(in|notin)\\s+\\(([^()]*)\\)$`),
      ([, name = "", operator, list = ""]) => {
        const values = new Set(list.split(",").map((value) => value.trim()));
        // `notin` also matches a pod without the label, as in k8s.io/apimachinery/pkg/labels.
        return (labels) =>
          name in labels ? values.has(labels[name] ?? "") === (operator === "in") : operator === "notin";
      },
    ],
    [
      new RegExp(`^${key}\\s*(==|=|!=)\\s*([^\\s=!(),]*)$`),
      ([, name = "", operator, value = ""]) =>
        (labels) =>
          operator === "!=" ? labels[name] !== value : labels[name] === value,
    ],
    [
      new RegExp(`^!${key}$`),
      ([, name = ""]) =>
        (labels) =>
          !(name in labels),
    ],
    [
      new RegExp(`^${key}$`),
      ([, name = ""]) =>
        (labels) =>
          name in labels,
    ],
  ];
  const tests: Array<(labels: Record<string, string>) => boolean> = [];
  for (const raw of terms) {
    const term = raw.trim();
    const form = forms.find(([pattern]) => pattern.test(term));
    const match = form?.[0].exec(term);
    if (!form || !match) return null;
    tests.push(form[1](match));
  }
  return (labels) => tests.every((test) => test(labels));
}

/** RFC 7386 JSON merge patch (for this object, a strategic merge patch has the same effect: it has no lists). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function readPath(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

function parseBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text === "") return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** Plain text, as Go's `http.Error` sends it (which the API server's filters use). */
function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    ...headers,
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

function sendStatus(response: ServerResponse, code: number, message: string, details?: FakeStatusDetails): void {
  sendJson(response, code, statusObject(code, message, details));
}

/** Answer an injected {@link FakeFailure} with the body the real API server would send for its status. */
function sendFailure(
  response: ServerResponse,
  failure: FakeFailure,
  request: { method: string; kind: FakeRequestKind | null; namespace: string; name: string },
): void {
  const { status } = failure;
  const headers: Record<string, string> =
    failure.retryAfter === undefined ? {} : { "Retry-After": String(failure.retryAfter) };
  if (failure.body !== undefined) {
    if (typeof failure.body === "string") return sendText(response, status, failure.body, headers);
    return sendJson(response, status, failure.body, headers);
  }
  if (status === 429 && failure.message === undefined) {
    // filters/maxinflight.go and priority-and-fairness.go: tooManyRequests() sets Retry-After (1 by default) and
    // calls http.Error with this text; no Status object.
    return sendText(response, 429, "Too many requests, please try again later.\n", {
      "Retry-After": "1",
      ...headers,
    });
  }
  if (status === 502 && failure.message === undefined) return sendText(response, 502, "502 Bad Gateway\n", headers);

  const podsRequest = request.kind === "listPods";
  const resource = podsRequest ? "pods" : "statefulsets";
  const group = podsRequest ? "" : "apps";
  const qualified = podsRequest ? "pods" : "statefulsets.apps";
  const named = request.name === "" ? qualified : `${qualified} "${request.name}"`;
  const verb =
    request.kind === "patchStatefulSet"
      ? "patch"
      : request.kind === "listPods"
        ? "list"
        : request.kind === "accessReview"
          ? "create"
          : "get";
  const target = { ...(request.name === "" ? {} : { name: request.name }), group, kind: resource };
  const retryAfterSeconds = typeof failure.retryAfter === "number" ? { retryAfterSeconds: failure.retryAfter } : {};
  const defaults: Readonly<Record<number, { message: string; details?: FakeStatusDetails }>> = {
    // errors.NewForbidden + the authorizer's message (endpoints/handlers/responsewriters/errors.go).
    403: {
      message: `${named} is forbidden: User "system:serviceaccount:${request.namespace}:fake" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${request.namespace}"`,
      details: target,
    },
    // errors.NewNotFound.
    404: { message: `${named} not found`, details: target },
    // errors.NewConflict with the registry's optimistic-lock message.
    409: {
      message: `Operation cannot be fulfilled on ${named}: the object has been modified; please apply your changes to the latest version and try again`,
      details: target,
    },
    // errors.NewTooManyRequests (a Status body, when a message is asked for).
    429: { message: "Too many requests", details: retryAfterSeconds },
    // errors.NewInternalError.
    500: {
      message: "Internal error occurred: injected failure",
      details: { causes: [{ message: "injected failure" }] },
    },
    // errors.NewServiceUnavailable.
    503: { message: "service unavailable" },
    // errors.NewTimeoutError as filters/timeout.go sends it.
    504: { message: "Timeout: request did not complete within the allotted timeout", details: retryAfterSeconds },
  };
  const chosen = defaults[status] ?? { message: `injected ${status}` };
  const details = chosen.details ?? (failure.retryAfter === undefined ? undefined : retryAfterSeconds);
  sendJson(
    response,
    status,
    statusObject(status, failure.message ?? chosen.message, details && { ...details, ...retryAfterSeconds }),
    headers,
  );
}
