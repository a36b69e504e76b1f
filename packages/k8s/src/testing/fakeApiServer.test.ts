import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeApiServer, startFakeApiServer } from "./fakeApiServer.js";

// The fake server is itself exercised with plain fetch, so the adapter's tests can trust what it checks.

const PATH = "/apis/apps/v1/namespaces/m/statefulsets/db";
let api: FakeApiServer;

beforeEach(async () => {
  api = await startFakeApiServer({ statefulSets: { "m/db": { replicas: 3, partition: 2 } } });
});
afterEach(async () => {
  await api.close();
});

const call = (method: string, path: string, options: { token?: string | null; contentType?: string; body?: unknown } = {}) => {
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
    expect((await call("PATCH", PATH, { contentType: "application/merge-patch+json", body: patch(1) })).status).toBe(200);
    expect(api.getStatefulSet("m", "db")?.partition).toBe(1);
    expect((await call("PATCH", PATH, { contentType: "application/strategic-merge-patch+json", body: patch(0) })).status).toBe(200);
    expect(api.getStatefulSet("m", "db")?.partition).toBe(0);
    const jsonPatch = [{ op: "replace", path: "/spec/updateStrategy/rollingUpdate/partition", value: 2 }];
    expect((await call("PATCH", PATH, { contentType: "application/json-patch+json", body: jsonPatch })).status).toBe(415);
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
    expect((await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", { contentType: "application/json", body: review })).status).toBe(201);
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
    await call("PATCH", PATH, { contentType: "application/merge-patch+json", body: { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } } });
    api.putStatefulSet("m", "db", { replicas: 3, partition: 0 });
    unsubscribe();
    api.putStatefulSet("m", "db", { replicas: 3, partition: 3 });
    expect(seen).toEqual([1, 0]);

    api.setAccessReview({ allowed: false, reason: "nope" });
    const answer = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      contentType: "application/json",
      body: { spec: { resourceAttributes: { verb: "patch", resource: "statefulsets" } } },
    });
    expect(await answer.json()).toMatchObject({ kind: "SelfSubjectAccessReview", status: { allowed: false, reason: "nope" } });
  });

  it("writes a kubeconfig for itself, and removes it on close", async () => {
    const config = JSON.parse(readFileSync(api.kubeconfigPath, "utf8")) as { clusters: Array<{ cluster: { server: string } }> };
    expect(config.clusters[0]?.cluster.server).toBe(api.url);
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await api.close();
    expect(existsSync(api.kubeconfigPath)).toBe(false);
  });
});
