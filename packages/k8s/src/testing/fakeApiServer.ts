/**
 * A small, real Kubernetes API server for tests and the simulator.
 *
 * It speaks just enough of the API for the adapter — read and patch an apps/v1 StatefulSet, and answer a
 * SelfSubjectAccessReview — over real HTTP on 127.0.0.1, so the official client is exercised end to end (content
 * types, bearer token, status codes, slow answers) instead of being mocked.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** What the fake server knows of one StatefulSet: the two fields a rolling upgrade reads and moves. */
export interface FakeStatefulSetState {
  /** `spec.replicas`. */
  readonly replicas: number;
  /** `spec.updateStrategy.rollingUpdate.partition`; `null` when the StatefulSet has none. */
  readonly partition: number | null;
  /** `metadata.generation`, bumped by every change of the spec (as the real API server does). */
  readonly generation: number;
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
export type FakeRequestKind = "getStatefulSet" | "patchStatefulSet" | "accessReview";

/**
 * A fault injected into the next matching requests.
 *
 * - `status` — answer with this HTTP status and a Kubernetes `Status` body (`message` overrides its text).
 * - `delay` — hold the answer this many milliseconds, then answer normally (a slow API server).
 *
 * `times` is how many matching requests it affects (default: every one until {@link FakeApiServer.clearFaults}).
 */
export type FakeFault =
  | {
      readonly type: "status";
      readonly status: number;
      readonly message?: string;
      readonly times?: number;
      readonly on?: FakeRequestKind;
    }
  | { readonly type: "delay"; readonly ms: number; readonly times?: number; readonly on?: FakeRequestKind };

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
  readonly statefulSets?: Readonly<Record<string, { readonly replicas: number; readonly partition?: number | null }>>;
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
  putStatefulSet(namespace: string, name: string, state: { replicas: number; partition?: number | null }): void;
  /** Remove a StatefulSet (later requests for it answer 404). */
  deleteStatefulSet(namespace: string, name: string): void;
  /** The current state of a StatefulSet, or `undefined` when it does not exist. */
  getStatefulSet(namespace: string, name: string): FakeStatefulSetState | undefined;
  /** Call `listener` after every creation, replacement or patch of a StatefulSet (a simulator rolls pods from here); returns an unsubscribe. */
  onChange(listener: (namespace: string, name: string, state: FakeStatefulSetState) => void): () => void;
  /** Decide SelfSubjectAccessReviews (default: every one is allowed). */
  setAccessReview(decide: FakeAccessVerdict | ((attributes: FakeResourceAttributes) => FakeAccessVerdict)): void;
  /** Queue a fault; faults are tried in the order they were added. */
  injectFault(fault: FakeFault): void;
  /** Remove every queued fault. */
  clearFaults(): void;
  /** Forget the recorded requests. */
  clearRequests(): void;
  /** Stop listening, drop open connections (and pending delayed answers) and delete the kubeconfig file. */
  close(): Promise<void>;
}

interface StoredStatefulSet {
  replicas: number;
  partition: number | null;
  generation: number;
  resourceVersion: number;
}

interface QueuedFault {
  readonly fault: FakeFault;
  remaining: number;
}

const STATEFULSET_PATH = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/statefulsets\/([^/]+)$/;
const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const PATCH_TYPES = new Set(["application/merge-patch+json", "application/strategic-merge-patch+json"]);
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
 * api.injectFault({ type: "status", status: 500, times: 2, on: "patchStatefulSet" });
 * await api.close();
 * ```
 */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const token = options.token ?? `fake-token-${randomBytes(12).toString("hex")}`;
  const statefulSets = new Map<string, StoredStatefulSet>();
  const listeners = new Set<(namespace: string, name: string, state: FakeStatefulSetState) => void>();
  const requests: RecordedRequest[] = [];
  const faults: QueuedFault[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  let decide: (attributes: FakeResourceAttributes) => FakeAccessVerdict = () => ({ allowed: true });
  let resourceVersion = 1;

  const snapshot = (stored: StoredStatefulSet): FakeStatefulSetState => ({
    replicas: stored.replicas,
    partition: stored.partition,
    generation: stored.generation,
  });
  const changed = (namespace: string, name: string, stored: StoredStatefulSet): void => {
    for (const listener of listeners) listener(namespace, name, snapshot(stored));
  };
  const put = (namespace: string, name: string, state: { replicas: number; partition?: number | null }): void => {
    const previous = statefulSets.get(`${namespace}/${name}`);
    const stored: StoredStatefulSet = {
      replicas: state.replicas,
      partition: state.partition ?? null,
      generation: (previous?.generation ?? 0) + 1,
      resourceVersion: ++resourceVersion,
    };
    statefulSets.set(`${namespace}/${name}`, stored);
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
    const kind: FakeRequestKind | null =
      match && method === "GET"
        ? "getStatefulSet"
        : match && method === "PATCH"
          ? "patchStatefulSet"
          : url.pathname === ACCESS_REVIEW_PATH && method === "POST"
            ? "accessReview"
            : null;

    const answer = (): void => {
      if (!authorized) return sendStatus(response, 401, "Unauthorized");
      if (kind === null) return sendStatus(response, 404, `the server could not find the requested resource`);
      if (kind === "accessReview") {
        if (!body.ok || !isRecord(body.value)) return sendStatus(response, 400, "the request body is not JSON");
        const spec = isRecord(body.value["spec"]) ? body.value["spec"] : {};
        const attributes = (isRecord(spec["resourceAttributes"]) ? spec["resourceAttributes"] : {}) as FakeResourceAttributes;
        const verdict = decide(attributes);
        return sendJson(response, 201, {
          kind: "SelfSubjectAccessReview",
          apiVersion: "authorization.k8s.io/v1",
          metadata: {},
          spec,
          status: verdict.reason === undefined ? { allowed: verdict.allowed } : { allowed: verdict.allowed, reason: verdict.reason },
        });
      }
      const namespace = decodeURIComponent(match?.[1] ?? "");
      const name = decodeURIComponent(match?.[2] ?? "");
      const stored = statefulSets.get(`${namespace}/${name}`);
      if (!stored) {
        return sendStatus(response, 404, `statefulsets.apps "${name}" not found`, { name, group: "apps", kind: "statefulsets" });
      }
      if (kind === "patchStatefulSet") {
        if (contentType === null || !PATCH_TYPES.has(contentType)) {
          return sendStatus(response, 415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
        }
        if (!body.ok || !isRecord(body.value)) return sendStatus(response, 400, "the patch is not a JSON object");
        const next = mergePatch(statefulSetObject(namespace, name, stored), body.value);
        const replicas = readPath(next, ["spec", "replicas"]);
        const partition = readPath(next, ["spec", "updateStrategy", "rollingUpdate", "partition"]);
        if (!isCount(replicas)) {
          return sendStatus(response, 422, `StatefulSet.apps "${name}" is invalid: spec.replicas: Invalid value`, { name, group: "apps", kind: "StatefulSet" });
        }
        if (partition !== undefined && partition !== null && !isCount(partition)) {
          return sendStatus(
            response,
            422,
            `StatefulSet.apps "${name}" is invalid: spec.updateStrategy.rollingUpdate.partition: Invalid value: ${JSON.stringify(partition)}: must be greater than or equal to 0`,
            { name, group: "apps", kind: "StatefulSet" },
          );
        }
        const newPartition = partition === undefined || partition === null ? null : partition;
        if (replicas !== stored.replicas || newPartition !== stored.partition) {
          stored.replicas = replicas;
          stored.partition = newPartition;
          stored.generation += 1;
          stored.resourceVersion = ++resourceVersion;
          changed(namespace, name, stored);
        }
      }
      return sendJson(response, 200, statefulSetObject(namespace, name, stored));
    };

    const fault = takeFault(kind);
    if (fault?.type === "status") {
      const target = match ? { name: decodeURIComponent(match[2] ?? ""), group: "apps", kind: "statefulsets" } : undefined;
      return sendStatus(response, fault.status, fault.message ?? `injected ${fault.status}`, target);
    }
    if (fault?.type === "delay") {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        if (!response.destroyed) answer();
      }, fault.ms);
      pendingTimers.add(timer);
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

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    token,
    kubeconfigPath,
    kubeconfig,
    requests,
    putStatefulSet: put,
    deleteStatefulSet(namespace, name) {
      statefulSets.delete(`${namespace}/${name}`);
    },
    getStatefulSet(namespace, name) {
      const stored = statefulSets.get(`${namespace}/${name}`);
      return stored ? snapshot(stored) : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setAccessReview(next) {
      decide = typeof next === "function" ? next : () => next;
    },
    injectFault(fault) {
      faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
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
export function fakeKubeconfig(options: { readonly server: string; readonly token: string; readonly namespace?: string }): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: options.server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake-user", user: { token: options.token } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user", namespace: options.namespace ?? "default" } }],
      "current-context": "fake",
    },
    null,
    2,
  );
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  if (slash <= 0 || slash === key.length - 1) throw new Error(`StatefulSet keys are "<namespace>/<name>", got ${JSON.stringify(key)}`);
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function statefulSetObject(namespace: string, name: string, stored: StoredStatefulSet): Record<string, unknown> {
  return {
    kind: "StatefulSet",
    apiVersion: "apps/v1",
    metadata: {
      name,
      namespace,
      uid: `00000000-0000-4000-8000-${String(stored.generation).padStart(12, "0")}`,
      resourceVersion: String(stored.resourceVersion),
      generation: stored.generation,
    },
    spec: {
      replicas: stored.replicas,
      serviceName: `${name}-endpoints`,
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: { metadata: { labels: { "app.kubernetes.io/name": name } }, spec: { containers: [] } },
      updateStrategy:
        stored.partition === null
          ? { type: "RollingUpdate" }
          : { type: "RollingUpdate", rollingUpdate: { partition: stored.partition } },
    },
    status: { replicas: stored.replicas, observedGeneration: stored.generation },
  };
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

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  response.end(text);
}

function sendStatus(
  response: ServerResponse,
  code: number,
  message: string,
  details?: { name: string; group: string; kind: string },
): void {
  sendJson(response, code, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: REASONS[code] ?? "Unknown",
    ...(details ? { details } : {}),
    code,
  });
}
