import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubernetesClientError } from "@charm-upgrade/core";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createPartitionSetter, type PartitionSetterOptions } from "./statefulSetPartition.js";
import { type FakeApiServer, fakeKubeconfig, startFakeApiServer } from "./testing/index.js";

// Every test goes through the real @kubernetes/client-node, over real HTTP, to the fake API server.

const MODEL = "my-model";
const APP = "postgresql-k8s";
const PATH = `/apis/apps/v1/namespaces/${MODEL}/statefulsets/${APP}`;

let api: FakeApiServer;
let delays: number[];
let logLines: string[];

beforeEach(async () => {
  api = await startFakeApiServer({ statefulSets: { [`${MODEL}/${APP}`]: { replicas: 3, partition: 3 } } });
  vi.stubEnv("KUBECONFIG", api.kubeconfigPath);
  delays = [];
  logLines = [];
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await api.close();
});

function setter(overrides: Partial<PartitionSetterOptions> = {}) {
  return createPartitionSetter({
    namespace: MODEL,
    statefulSet: APP,
    sleep: async (ms) => {
      delays.push(ms);
    },
    log: (level, message) => logLines.push(`${level}: ${message}`),
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<KubernetesClientError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KubernetesClientError);
    return error as KubernetesClientError;
  }
  throw new Error("expected the call to fail");
}

/** Every way an error can be shown: its JSON, its one-line description, `String()`, its stack, every own property. */
function everyRendering(error: KubernetesClientError): string {
  const own = Object.getOwnPropertyNames(error).map((key) => String((error as unknown as Record<string, unknown>)[key]));
  return [JSON.stringify(error), error.describe(), String(error), error.stack ?? "", ...own].join("\n");
}

const patches = () => api.requests.filter((request) => request.method === "PATCH");

describe("setPartition", () => {
  it("sends a JSON merge patch with exactly the partition, authenticated with the kubeconfig's token", async () => {
    await setter().setPartition(1);

    expect(patches()).toEqual([
      {
        method: "PATCH",
        path: PATH,
        query: {},
        contentType: "application/merge-patch+json",
        body: { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } },
        authorized: true,
      },
    ]);
    expect(api.getStatefulSet(MODEL, APP)).toMatchObject({ replicas: 3, partition: 1 });
  });

  it("uses an injected KubeConfig instead of KUBECONFIG", async () => {
    vi.stubEnv("KUBECONFIG", join(tmpdir(), "charm-upgrade-no-such-kubeconfig"));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig);

    await setter({ kubeConfig }).setPartition(0);

    expect(api.getStatefulSet(MODEL, APP)?.partition).toBe(0);
  });

  it("refuses a partition that is not a whole number ≥ 0 without sending anything", async () => {
    for (const partition of [-1, 1.5, Number.NaN]) {
      const error = await failure(setter().setPartition(partition));
      expect(error.message).toContain("Invalid partition");
    }
    expect(api.requests).toEqual([]);
  });
});

describe("getPartition", () => {
  it("reads back the partition that was set", async () => {
    const partitions = setter();
    expect(await partitions.getPartition()).toBe(3);
    await partitions.setPartition(2);
    expect(await partitions.getPartition()).toBe(2);
    expect(api.requests.filter((request) => request.method === "GET").map((request) => request.path)).toEqual([PATH, PATH]);
  });

  it("is null when the StatefulSet has no partition", async () => {
    api.putStatefulSet(MODEL, APP, { replicas: 3, partition: null });
    expect(await setter().getPartition()).toBeNull();
  });
});

describe("canPatch", () => {
  it("asks a SelfSubjectAccessReview about patching this StatefulSet", async () => {
    expect(await setter().canPatch()).toEqual({ allowed: true });
    expect(api.requests).toMatchObject([
      {
        method: "POST",
        path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { verb: "patch", group: "apps", resource: "statefulsets", name: APP, namespace: MODEL } },
        },
      },
    ]);
  });

  it("reports a denial with the authorizer's reason", async () => {
    api.setAccessReview({ allowed: false, reason: "no RBAC policy matched" });
    expect(await setter().canPatch()).toEqual({ allowed: false, reason: "no RBAC policy matched" });
  });

  it("reports a denial without a reason with the juju trust hint", async () => {
    api.setAccessReview((attributes) => ({ allowed: attributes.verb !== "patch" }));
    const permission = await setter().canPatch();
    expect(permission.allowed).toBe(false);
    expect(permission.reason).toContain(`juju trust ${APP} --scope=cluster`);
  });
});

describe("errors", () => {
  it("403: the charm is not trusted, resolved by juju trust; not retried", async () => {
    api.injectFault({ type: "status", status: 403, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error.kind).toBe("KubernetesClientError");
    expect(error.message).toContain("403");
    expect(error.cause).toBe("the charm is not trusted");
    expect(error.resolution).toContain(`juju trust ${APP} --scope=cluster`);
    expect(patches()).toHaveLength(1);
  });

  it("404 names the StatefulSet and the namespace", async () => {
    api.deleteStatefulSet(MODEL, APP);
    const error = await failure(setter().getPartition());
    expect(error.message).toBe(`StatefulSet "${APP}" not found in namespace "${MODEL}" (404 Not Found)`);
    expect(error.resolution).toContain(MODEL);
  });

  it("409 is a conflict", async () => {
    api.injectFault({ type: "status", status: 409, message: "the object has been modified", on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error.message).toMatch(/^Conflict while trying to set the rolling-update partition of StatefulSet "postgresql-k8s" in namespace "my-model" to 1/);
    expect(error.cause).toBe("the object has been modified");
  });

  it("422 is an invalid patch, with the API server's explanation", async () => {
    api.injectFault({ type: "status", status: 422, message: "spec.updateStrategy.rollingUpdate.partition: Invalid value", on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error.message).toContain("rejected the patch");
    expect(error.message).toContain("invalid (422");
    expect(error.cause).toContain("partition: Invalid value");
  });

  it("500 is retried with exponential back-off, then succeeds", async () => {
    api.injectFault({ type: "status", status: 500, times: 2, on: "patchStatefulSet" });
    await setter().setPartition(1);
    expect(patches()).toHaveLength(3);
    expect(delays).toEqual([500, 1000]);
    expect(logLines).toHaveLength(2);
    expect(logLines[0]).toMatch(/^warning: .*500.*retrying in 500 ms \(attempt 2 of 3\)/);
    expect(api.getStatefulSet(MODEL, APP)?.partition).toBe(1);
  });

  it("500 forever fails after the configured number of attempts, naming the status", async () => {
    api.injectFault({ type: "status", status: 503, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error.message).toContain("answered 503 (Service Unavailable) to every one of 3 attempts");
    expect(patches()).toHaveLength(3);
    expect(delays).toEqual([500, 1000]);

    api.clearRequests();
    delays = [];
    api.injectFault({ type: "status", status: 500, on: "getStatefulSet" });
    await failure(setter({ attempts: 5, retryDelayMs: 10 }).getPartition());
    expect(api.requests).toHaveLength(5);
    expect(delays).toEqual([10, 20, 40, 80]);
  });

  it("connection refused: cannot reach the API server at its address", async () => {
    const gone = await startFakeApiServer();
    const { kubeconfig, url } = gone;
    await gone.close();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfig);

    const error = await failure(setter({ kubeConfig }).setPartition(1));
    expect(error.message).toBe(`Cannot reach the Kubernetes API at ${url}`);
    expect(error.cause).toContain("connection refused");
    expect(delays).toEqual([]);
  });

  it("a slow answer times out after requestTimeoutMs, and is not retried", async () => {
    api.injectFault({ type: "delay", ms: 5_000, on: "getStatefulSet" });
    const started = performance.now();
    const error = await failure(setter({ requestTimeoutMs: 150 }).getPartition());
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.message).toBe(`The Kubernetes API at ${api.url} did not answer within 150 ms`);
    expect(error.cause).toContain("timed out");
    expect(api.requests).toHaveLength(1);
  });

  it("401: wrong credentials", async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(fakeKubeconfig({ server: api.url, token: "not-the-right-token" }));
    const error = await failure(setter({ kubeConfig }).getPartition());
    expect(error.message).toContain("401 Unauthorized");
    expect(everyRendering(error)).not.toContain("not-the-right-token");
  });

  it("a missing KUBECONFIG file is a configuration error, raised on the first call only", async () => {
    vi.stubEnv("KUBECONFIG", join(tmpdir(), "charm-upgrade-no-such-kubeconfig"));
    const partitions = setter(); // creating a setter reads nothing
    const error = await failure(partitions.getPartition());
    expect(error.message).toBe("Could not load a Kubernetes configuration");
    expect(error.resolution).toContain("KUBECONFIG");
  });

  it.skipIf(process.platform === "win32")("no configuration at all is an error, not a silent localhost:8080", async () => {
    const home = mkdtempSync(join(tmpdir(), "charm-upgrade-home-"));
    try {
      vi.stubEnv("KUBECONFIG", "");
      vi.stubEnv("HOME", home);
      const { existsSync } = await import("node:fs");
      if (existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")) return; // in a pod, in-cluster config wins
      const error = await failure(setter().getPartition());
      expect(error.message).toBe("Could not load a Kubernetes configuration");
      expect(error.cause).toContain("no Kubernetes configuration was found");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("the bearer token never leaks", () => {
  // A hostile (or buggy) API server echoes the credential back in its error bodies.
  for (const status of [401, 403, 404, 409, 422, 500]) {
    it(`not in a ${status} error, even when the server echoes it`, async () => {
      api.injectFault({
        type: "status",
        status,
        message: `denied for token ${api.token} (Authorization: Bearer ${api.token})`,
      });
      const error = await failure(setter().setPartition(1));
      expect(everyRendering(error)).not.toContain(api.token);
      for (const line of logLines) expect(line).not.toContain(api.token);
    });
  }

  it("not in a denied access review's reason", async () => {
    api.setAccessReview({ allowed: false, reason: `token ${api.token} may not patch` });
    const permission = await setter().canPatch();
    expect(permission.reason).not.toContain(api.token);
    expect(permission.reason).toContain("[REDACTED]");
  });

  it("not in timeout or connection errors", async () => {
    api.injectFault({ type: "delay", ms: 5_000 });
    const timeout = await failure(setter({ requestTimeoutMs: 50 }).canPatch());
    expect(everyRendering(timeout)).not.toContain(api.token);

    const gone = await startFakeApiServer({ token: api.token });
    await gone.close();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(gone.kubeconfig);
    const refused = await failure(setter({ kubeConfig }).canPatch());
    expect(everyRendering(refused)).not.toContain(api.token);
  });
});
