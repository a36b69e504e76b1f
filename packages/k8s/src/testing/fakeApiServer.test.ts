import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeApiServer, startFakeApiServer, statusObject } from "./fakeApiServer.js";

// The fake server is itself exercised with plain fetch, so the adapter's tests can trust what it checks.

const PATH = "/apis/apps/v1/namespaces/m/statefulsets/db";
let api: FakeApiServer;

beforeEach(async () => {
  api = await startFakeApiServer({ statefulSets: { "m/db": { replicas: 3, partition: 2 } } });
});
afterEach(async () => {
  await api.close();
});

const call = (
  method: string,
  path: string,
  options: { token?: string | null; contentType?: string; body?: unknown } = {},
) => {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? api.token : options.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  if (options.contentType) headers["Content-Type"] = options.contentType;
  return fetch(`${api.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
};

describe("startFakeApiServer", () => {
  it("answers 401 without the bearer token or with a wrong one", async () => {
    expect((await call("GET", PATH, { token: null })).status).toBe(401);
    expect((await call("GET", PATH, { token: "wrong" })).status).toBe(401);
    expect((await call("GET", PATH)).status).toBe(200);
    expect(api.requests.map((request) => request.authorized)).toEqual([false, false, true]);
  });

  it("serves the StatefulSet as apps/v1 JSON", async () => {
    const body = (await (await call("GET", PATH)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      kind: "StatefulSet",
      apiVersion: "apps/v1",
      metadata: { name: "db", namespace: "m" },
      spec: { replicas: 3, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } },
    });
  });

  it("applies merge and strategic-merge patches, and rejects other patch types with 415", async () => {
    const patch = (partition: number) => ({ spec: { updateStrategy: { rollingUpdate: { partition } } } });
    expect((await call("PATCH", PATH, { contentType: "application/merge-patch+json", body: patch(1) })).status).toBe(
      200,
    );
    expect(api.getStatefulSet("m", "db")?.partition).toBe(1);
    expect(
      (await call("PATCH", PATH, { contentType: "application/strategic-merge-patch+json", body: patch(0) })).status,
    ).toBe(200);
    expect(api.getStatefulSet("m", "db")?.partition).toBe(0);
    const jsonPatch = [{ op: "replace", path: "/spec/updateStrategy/rollingUpdate/partition", value: 2 }];
    expect((await call("PATCH", PATH, { contentType: "application/json-patch+json", body: jsonPatch })).status).toBe(
      415,
    );
    expect((await call("PATCH", PATH, { contentType: "application/json", body: patch(2) })).status).toBe(415);
    expect(api.getStatefulSet("m", "db")?.partition).toBe(0);
  });

  it("answers 422 for a negative partition, and 404 for an unknown StatefulSet", async () => {
    const bad = { spec: { updateStrategy: { rollingUpdate: { partition: -1 } } } };
    const invalid = await call("PATCH", PATH, { contentType: "application/merge-patch+json", body: bad });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ kind: "Status", code: 422, reason: "Invalid" });
    expect((await call("GET", "/apis/apps/v1/namespaces/m/statefulsets/other")).status).toBe(404);
  });

  it("injects a status fault the given number of times, only on matching requests", async () => {
    api.injectFault({ type: "status", status: 500, times: 2, on: "getStatefulSet" });
    const review = { spec: { resourceAttributes: { verb: "patch" } } };
    expect(
      (
        await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          contentType: "application/json",
          body: review,
        })
      ).status,
    ).toBe(201);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call("GET", PATH)).status);
    expect(statuses).toEqual([500, 500, 200]);
  });

  it("delays answers, and close() does not wait for them", async () => {
    api.injectFault({ type: "delay", ms: 10_000 });
    const slow = call("GET", PATH).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await api.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await slow).toBeInstanceOf(Error);
  });

  it("tells listeners about changes, and answers access reviews as configured", async () => {
    const seen: Array<number | null> = [];
    const unsubscribe = api.onChange((_namespace, _name, state) => seen.push(state.partition));
    await call("PATCH", PATH, {
      contentType: "application/merge-patch+json",
      body: { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } },
    });
    api.putStatefulSet("m", "db", { replicas: 3, partition: 0 });
    unsubscribe();
    api.putStatefulSet("m", "db", { replicas: 3, partition: 3 });
    expect(seen).toEqual([1, 0]);

    api.setAccessReview({ allowed: false, reason: "nope" });
    const answer = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      contentType: "application/json",
      body: { spec: { resourceAttributes: { verb: "patch", resource: "statefulsets" } } },
    });
    expect(await answer.json()).toMatchObject({
      kind: "SelfSubjectAccessReview",
      status: { allowed: false, reason: "nope" },
    });
  });

  it("writes a kubeconfig for itself, and removes it on close", async () => {
    const config = JSON.parse(readFileSync(api.kubeconfigPath, "utf8")) as {
      clusters: Array<{ cluster: { server: string } }>;
    };
    expect(config.clusters[0]?.cluster.server).toBe(api.url);
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await api.close();
    expect(existsSync(api.kubeconfigPath)).toBe(false);
  });

  it("serves the StatefulSet's revisions and observed generation in its status", async () => {
    api.putStatefulSet("m", "db", { replicas: 2, partition: 1, currentRevision: "db-a", updateRevision: "db-b" });
    const body = (await (await call("GET", PATH)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      metadata: { generation: 2 },
      status: { observedGeneration: 2, currentRevision: "db-a", updateRevision: "db-b" },
    });
  });

  it("defaults a rollingUpdate without a partition to 0, and refuses a rollingUpdate on an OnDelete StatefulSet (422)", async () => {
    const merge = (body: unknown) => call("PATCH", PATH, { contentType: "application/merge-patch+json", body });
    expect((await merge({ spec: { updateStrategy: { rollingUpdate: { partition: null } } } })).status).toBe(200);
    expect(api.getStatefulSet("m", "db")?.partition).toBe(0);

    api.putStatefulSet("m", "db", { replicas: 3, updateStrategy: "OnDelete" });
    const refused = await merge({ spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({
      kind: "Status",
      code: 422,
      reason: "Invalid",
      message: expect.stringMatching(
        /^StatefulSet\.apps "db" is invalid: spec\.updateStrategy\.rollingUpdate: Invalid value: .*: only allowed for updateStrategy 'RollingUpdate'$/,
      ),
      details: { name: "db", group: "apps", kind: "StatefulSet" },
    });
  });

  it("editStatefulSet changes it outside any request: a spec change bumps the generation, a status change does not", async () => {
    const seen: number[] = [];
    api.onChange((_namespace, _name, state) => seen.push(state.generation));
    api.editStatefulSet("m", "db", { partition: 0 });
    api.editStatefulSet("m", "db", { updateRevision: "db-b" });
    api.editStatefulSet("m", "db", { partition: 0 }); // no change: no event
    expect(seen).toEqual([2, 2]);
    expect(api.getStatefulSet("m", "db")).toMatchObject({
      partition: 0,
      generation: 2,
      observedGeneration: 2,
      updateRevision: "db-b",
    });
    expect(() => api.editStatefulSet("m", "nope", { partition: 1 })).toThrow(/no StatefulSet m\/nope/);
  });

  it("lists pods by label selector (equality and set-based), with their revision label and owner", async () => {
    api.putPod("m", "db", 0, { revision: "db-a" });
    api.putPod("m", "db", 1, { revision: "db-b", ready: false, terminating: true });
    api.putPod("m", "other", 0, { revision: "other-a" });
    const names = async (selector: string) => {
      const response = await call("GET", `/api/v1/namespaces/m/pods?labelSelector=${encodeURIComponent(selector)}`);
      const list = (await response.json()) as { items: Array<{ metadata: { name: string } }> };
      return list.items.map((pod) => pod.metadata.name);
    };
    expect(await names("app.kubernetes.io/name=db")).toEqual(["db-0", "db-1"]);
    expect(await names("app.kubernetes.io/name in (db,other),controller-revision-hash!=db-a")).toEqual([
      "db-1",
      "other-0",
    ]);
    expect(await names("controller-revision-hash notin (db-a)")).toEqual(["db-1", "other-0"]);
    expect(await names("!controller-revision-hash")).toEqual([]);
    expect(await names("")).toEqual(["db-0", "db-1", "other-0"]);
    expect((await call("GET", "/api/v1/namespaces/m/pods?labelSelector=a%20in%20b")).status).toBe(400);

    const list = (await (
      await call("GET", "/api/v1/namespaces/m/pods?labelSelector=app.kubernetes.io%2Fname%3Ddb")
    ).json()) as {
      kind: string;
      items: unknown[];
    };
    expect(list.kind).toBe("PodList");
    expect(list.items[1]).toMatchObject({
      metadata: {
        name: "db-1",
        labels: { "controller-revision-hash": "db-b", "statefulset.kubernetes.io/pod-name": "db-1" },
        deletionTimestamp: expect.any(String),
        ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", controller: true }],
      },
      status: { conditions: [{ type: "Ready", status: "False" }] },
    });
  });
});

describe("scripted failures", () => {
  const get = () => call("GET", PATH);

  it("failNext answers the next n matching requests, then answers normally", async () => {
    api.failNext(2, { status: 503, on: "getStatefulSet" });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await get()).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(() => api.failNext(0, { status: 500 })).toThrow(/count must be/);
  });

  it("429: plain text and Retry-After: 1 as the API server's flow control sends it, or the Retry-After asked for", async () => {
    api.failNext(1, { status: 429 });
    const throttled = await get();
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("1");
    expect(throttled.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await throttled.text()).toBe("Too many requests, please try again later.\n");

    api.failNext(1, { status: 429, retryAfter: 7 });
    expect((await get()).headers.get("retry-after")).toBe("7");

    api.failNext(1, { status: 429, message: "Too many requests: slow down", retryAfter: 2 });
    const asStatus = await get();
    expect(asStatus.headers.get("retry-after")).toBe("2");
    expect(await asStatus.json()).toEqual(statusObject(429, "Too many requests: slow down", { retryAfterSeconds: 2 }));
  });

  it("other statuses: Status objects shaped as the API server builds them", async () => {
    const bodies: Record<number, unknown> = {};
    for (const status of [403, 409, 500, 503, 504]) {
      api.failNext(1, { status, on: "patchStatefulSet" });
      const response = await call("PATCH", PATH, { contentType: "application/merge-patch+json", body: {} });
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/json");
      bodies[status] = await response.json();
    }
    expect(bodies).toEqual({
      403: statusObject(
        403,
        'statefulsets.apps "db" is forbidden: User "system:serviceaccount:m:fake" cannot patch resource "statefulsets" in API group "apps" in the namespace "m"',
        { name: "db", group: "apps", kind: "statefulsets" },
      ),
      409: statusObject(
        409,
        'Operation cannot be fulfilled on statefulsets.apps "db": the object has been modified; please apply your changes to the latest version and try again',
        { name: "db", group: "apps", kind: "statefulsets" },
      ),
      500: statusObject(500, "Internal error occurred: injected failure", {
        causes: [{ message: "injected failure" }],
      }),
      503: statusObject(503, "service unavailable"),
      504: statusObject(504, "Timeout: request did not complete within the allotted timeout", {}),
    });
    expect(bodies[409]).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "Conflict",
      code: 409,
    });

    api.failNext(1, { status: 502 });
    const proxy = await get();
    expect([proxy.status, await proxy.text()]).toEqual([502, "502 Bad Gateway\n"]);
  });

  it("a custom body, a Retry-After date, and a side effect run when the failure is served", async () => {
    let ran = 0;
    api.failNext(1, { status: 500, body: "oops", retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", run: () => (ran += 1) });
    const response = await get();
    expect([response.status, await response.text(), response.headers.get("retry-after"), ran]).toEqual([
      500,
      "oops",
      "Wed, 21 Oct 2015 07:28:00 GMT",
      1,
    ]);
  });

  it("hangNext leaves a request unanswered; resetNext drops its connection", async () => {
    api.hangNext(1, "getStatefulSet");
    await expect(
      fetch(`${api.url}${PATH}`, {
        headers: { Authorization: `Bearer ${api.token}` },
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect((await get()).status).toBe(200);

    api.resetNext(1);
    await expect(get()).rejects.toThrow();
    expect((await get()).status).toBe(200);
  });
});
