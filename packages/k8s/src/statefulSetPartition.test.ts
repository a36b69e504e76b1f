import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isUpgradeError, KubernetesClientError, partitionFailure, toErrorData } from "@charm-upgrade/core";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KubernetesRequestError, kubernetesFailureOf } from "./kubernetesRequestError.js";
import { createPartitionSetter, type PartitionSetterOptions } from "./statefulSetPartition.js";
import { type FakeApiServer, fakeKubeconfig, startFakeApiServer, statusObject } from "./testing/index.js";

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

async function failure(promise: Promise<unknown>): Promise<KubernetesRequestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KubernetesClientError);
    expect(error).toBeInstanceOf(KubernetesRequestError);
    return error as KubernetesRequestError;
  }
  throw new Error("expected the call to fail");
}

/** Every way an error can be shown: its JSON, its one-line description, `String()`, its stack, every own property. */
function everyRendering(error: KubernetesClientError): string {
  const own = Object.getOwnPropertyNames(error).map((key) =>
    String((error as unknown as Record<string, unknown>)[key]),
  );
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
    expect(api.requests.filter((request) => request.method === "GET").map((request) => request.path)).toEqual([
      PATH,
      PATH,
    ]);
  });

  it("is 0 when the StatefulSet has no partition (the API's default)", async () => {
    api.putStatefulSet(MODEL, APP, { replicas: 3, partition: null });
    expect(await setter().getPartition()).toBe(0);
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
          spec: {
            resourceAttributes: { verb: "patch", group: "apps", resource: "statefulsets", name: APP, namespace: MODEL },
          },
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
    expect(error.cause).toMatch(
      /^the charm is not trusted \(the API server said: statefulsets\.apps "postgresql-k8s" is forbidden: User ".*" cannot patch resource "statefulsets" in API group "apps" in the namespace "my-model"\)$/,
    );
    expect(error.resolution).toBe(`juju trust ${APP} --scope=cluster`);
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
    expect(error.message).toMatch(
      /^Conflict while trying to set the rolling-update partition of StatefulSet "postgresql-k8s" in namespace "my-model" to 1/,
    );
    expect(error.cause).toBe("the object has been modified");
  });

  it("422 is an invalid patch, with the API server's explanation", async () => {
    api.injectFault({
      type: "status",
      status: 422,
      message: "spec.updateStrategy.rollingUpdate.partition: Invalid value",
      on: "patchStatefulSet",
    });
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

  it.skipIf(process.platform === "win32")(
    "no configuration at all is an error, not a silent localhost:8080",
    async () => {
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
    },
  );
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

/** The StatefulSet as the fake API server serves it, to script an answer that differs from it. */
async function rawStatefulSet(): Promise<Record<string, unknown>> {
  const response = await fetch(`${api.url}${PATH}`, { headers: { Authorization: `Bearer ${api.token}` } });
  const body = (await response.json()) as Record<string, unknown>;
  api.clearRequests();
  return body;
}

const TRANSIENT_STATUSES = [409, 429, 500, 502, 503, 504] as const;

describe("failure classes: transient answers are retried within the call, then fail as transient", () => {
  for (const status of TRANSIENT_STATUSES) {
    it(`${status} on the patch: retried, then transient, and never called a bug`, async () => {
      api.failNext(10, { status, on: "patchStatefulSet" });
      const error = await failure(setter().setPartition(1));
      expect(error).toBeInstanceOf(KubernetesRequestError);
      expect(kubernetesFailureOf(error)).toBe("transient");
      expect(error).toMatchObject({ failure: "transient", retryable: true, httpStatus: status, attempts: 3 });
      expect(patches()).toHaveLength(3);
      expect(error.resolution).toMatch(/^nothing to do: the next hook tries again/);
      expect(error.describe()).not.toMatch(/bug/i);
      expect(api.getStatefulSet(MODEL, APP)?.partition).toBe(3);
    });

    it(`${status} once, then success: the call succeeds and the server holds the partition`, async () => {
      api.failNext(1, { status, on: "patchStatefulSet" });
      await setter().setPartition(1);
      expect(patches()).toHaveLength(2);
      expect(api.getStatefulSet(MODEL, APP)?.partition).toBe(1);
    });
  }

  it("409 says what conflicted and how to find the other writer", async () => {
    api.failNext(3, { status: 409, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error.message).toBe(
      `Conflict while trying to set the rolling-update partition of StatefulSet "${APP}" in namespace "${MODEL}" to 1 (409 Conflict, every one of 3 attempts)`,
    );
    // The API server's own words (errors.NewConflict + the registry's optimistic-lock message).
    expect(error.cause).toBe(
      `Operation cannot be fulfilled on statefulsets.apps "${APP}": the object has been modified; please apply your changes to the latest version and try again`,
    );
    expect(error.resolution).toContain(`kubectl get statefulset ${APP} -n ${MODEL} -o yaml --show-managed-fields`);
  });

  it("409 because another writer moved the partition: the retry wins, and the server holds our partition", async () => {
    api.failNext(1, {
      status: 409,
      on: "patchStatefulSet",
      run: () => api.editStatefulSet(MODEL, APP, { partition: 0 }),
    });
    await setter().setPartition(2);
    expect(api.getStatefulSet(MODEL, APP)?.partition).toBe(2);
  });

  it("500 and 504 on a patch say that the change may still be applied", async () => {
    for (const status of [500, 504]) {
      api.failNext(3, { status, on: "patchStatefulSet" });
      const error = await failure(setter().setPartition(1));
      expect(error.message).toContain(`answered ${status} (`);
      expect(error.cause).toContain("the API server may still apply the change, so read the partition back");
    }
    api.failNext(3, { status: 504, on: "getStatefulSet" });
    const timeout = await failure(setter().getPartition());
    expect(timeout.cause).not.toContain("may still apply");
    expect(timeout.cause).toBe("Timeout: request did not complete within the allotted timeout");
  });

  it("a patch that fails as transient but was applied (a 504 after the write): getPartition reads what the server holds", async () => {
    api.failNext(3, {
      status: 504,
      on: "patchStatefulSet",
      run: () => api.editStatefulSet(MODEL, APP, { partition: 1 }),
    });
    const partitions = setter();
    expect(kubernetesFailureOf(await failure(partitions.setPartition(1)))).toBe("transient");
    expect(await partitions.getPartition()).toBe(1);
  });
});

describe("429 Too Many Requests", () => {
  it("waits what Retry-After asks (the API server's default is 1 s, with a plain-text body), then succeeds", async () => {
    api.failNext(2, { status: 429, on: "patchStatefulSet" });
    await setter().setPartition(1);
    expect(delays).toEqual([1000, 1000]);
    expect(patches()).toHaveLength(3);
    expect(logLines[0]).toMatch(/^warning: .*429.*retrying in 1000 ms \(attempt 2 of 3\)/);
  });

  it("honours a longer Retry-After that fits in the budget", async () => {
    api.failNext(1, { status: 429, retryAfter: 3, on: "patchStatefulSet" });
    await setter().setPartition(1);
    expect(delays).toEqual([3000]);
  });

  it("honours details.retryAfterSeconds of a Status body when there is no header", async () => {
    api.failNext(1, {
      status: 429,
      on: "getStatefulSet",
      body: statusObject(429, "Too many requests: the priority level is overloaded", { retryAfterSeconds: 2 }),
    });
    expect(await setter().getPartition()).toBe(3);
    expect(delays).toEqual([2000]);
  });

  it("does not wait longer than a hook should: a Retry-After beyond the budget fails at once, as transient", async () => {
    api.failNext(1, { status: 429, retryAfter: 32, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(delays).toEqual([]);
    expect(patches()).toHaveLength(1);
    expect(error).toMatchObject({ failure: "transient", httpStatus: 429, retryAfterSeconds: 32 });
    expect(error.message).toBe(
      `The Kubernetes API at ${api.url} is throttling the charm (429 Too Many Requests): the one attempt to set the rolling-update partition of StatefulSet "${APP}" in namespace "${MODEL}" to 1 was turned away (it asked to wait 32 s, longer than a hook waits)`,
    );
    expect(error.cause).toBe("Too many requests, please try again later.");
    expect(error.resolution).toContain("API Priority and Fairness");
    expect(error.describe()).not.toMatch(/bug/i);
    expect(logLines.at(-1)).toMatch(/asked to wait 32000 ms, more than a hook waits; the next hook tries again$/);
  });

  it("never sleeps more than maxRetryWaitMs in total", async () => {
    api.failNext(10, { status: 429, retryAfter: 2, on: "patchStatefulSet" });
    const error = await failure(setter({ attempts: 10, maxRetryWaitMs: 5_000 }).setPartition(1));
    expect(delays).toEqual([2000, 2000]);
    expect(patches()).toHaveLength(3);
    expect(error.message).toContain("every one of 3 attempts");

    delays = [];
    api.clearFaults();
    api.clearRequests();
    api.failNext(10, { status: 503, on: "patchStatefulSet" });
    await failure(setter({ attempts: 10, retryDelayMs: 1_000 }).setPartition(1));
    expect(delays).toEqual([1000, 2000]); // 4000 more would pass the default budget of 5000
  });
});

describe("failure classes: requests that get no answer", () => {
  it("a request that hangs past the timeout is transient, not retried within the call, and the next call works", async () => {
    api.hangNext(1, "patchStatefulSet");
    const partitions = setter({ requestTimeoutMs: 200 });
    const error = await failure(partitions.setPartition(1));
    expect(error.message).toBe(`The Kubernetes API at ${api.url} did not answer within 200 ms`);
    expect(error.cause).toContain("timed out; the API server may still apply the change");
    expect(error).toMatchObject({ failure: "transient", httpStatus: undefined });
    expect(patches()).toHaveLength(1);
    expect(await partitions.getPartition()).toBe(3);
  });

  it("a connection dropped without an answer (ECONNRESET) is transient", async () => {
    api.resetNext(1, "getStatefulSet");
    const partitions = setter();
    const error = await failure(partitions.getPartition());
    expect(error.message).toBe(`Cannot reach the Kubernetes API at ${api.url}`);
    expect(error.cause).toBe("the connection was reset before an answer came (ECONNRESET)");
    expect(error.failure).toBe("transient");
    expect(delays).toEqual([]);
    expect(await partitions.getPartition()).toBe(3);
  });

  it("connection refused is transient", async () => {
    const gone = await startFakeApiServer();
    await gone.close();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(gone.kubeconfig);
    expect((await failure(setter({ kubeConfig }).setPartition(1))).failure).toBe("transient");
  });
});

describe("failure classes: the operator must act", () => {
  it("403 is forbidden: message and resolution name `juju trust <app> --scope=cluster`, for every request", async () => {
    const partitions = setter();
    for (const [on, call] of [
      ["patchStatefulSet", () => partitions.setPartition(1)],
      ["getStatefulSet", () => partitions.getPartition()],
      ["listPods", () => partitions.readRollout()],
    ] as const) {
      api.failNext(1, { status: 403, on });
      const error = await failure(call());
      expect(error.failure).toBe("forbidden");
      expect(error.message).toMatch(/\(403 Forbidden\): run juju trust postgresql-k8s --scope=cluster$/);
      expect(error.resolution).toBe("juju trust postgresql-k8s --scope=cluster");
    }
  });

  it("404 is notFound", async () => {
    api.deleteStatefulSet(MODEL, APP);
    const error = await failure(setter().setPartition(1));
    expect(error).toMatchObject({ failure: "notFound", httpStatus: 404 });
  });

  it("401 and a missing configuration are misconfigured", async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(fakeKubeconfig({ server: api.url, token: "wrong" }));
    expect((await failure(setter({ kubeConfig }).getPartition())).failure).toBe("misconfigured");
    vi.stubEnv("KUBECONFIG", join(tmpdir(), "charm-upgrade-no-such-kubeconfig"));
    expect((await failure(setter().getPartition())).failure).toBe("misconfigured");
  });

  it("an OnDelete StatefulSet has no partition to set: misconfigured, with the API server's reason", async () => {
    api.putStatefulSet(MODEL, APP, { replicas: 3, updateStrategy: "OnDelete" });
    const error = await failure(setter().setPartition(1));
    expect(error.failure).toBe("misconfigured");
    expect(error.message).toBe(
      `StatefulSet "${APP}" in namespace "${MODEL}" does not use the RollingUpdate strategy, so it has no partition to set (422 Unprocessable Entity)`,
    );
    expect(error.cause).toContain("only allowed for updateStrategy 'RollingUpdate'");
    expect(patches()).toHaveLength(1);
  });

  it("a partition rewritten by the cluster (a mutating webhook) is misconfigured, with the partition the server holds", async () => {
    const answer = await rawStatefulSet();
    const spec = answer["spec"] as Record<string, unknown>;
    spec["updateStrategy"] = { type: "RollingUpdate", rollingUpdate: { partition: 3 } };
    api.failNext(1, { status: 200, body: answer, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(error).toMatchObject({ failure: "misconfigured", heldPartition: 3 });
    expect(error.message).toBe(
      `The Kubernetes API at ${api.url} accepted the partition 1 for StatefulSet "${APP}" in namespace "${MODEL}" but holds 3`,
    );
    expect(error.cause).toContain("mutating admission webhook");
  });
});

describe("failure classes: bugs", () => {
  for (const status of [400, 415, 422]) {
    it(`${status} is invalid and says it is a bug to report`, async () => {
      api.failNext(1, { status, on: "patchStatefulSet" });
      const error = await failure(setter().setPartition(1));
      expect(error).toMatchObject({ failure: "invalid", retryable: false, httpStatus: status });
      expect(error.resolution).toMatch(/bug in (the charm or in )?charm-upgrade.*report it with this message/);
      expect(patches()).toHaveLength(1);
    });
  }

  it("an answer that is not a StatefulSet is invalid: the API server is untrusted input", async () => {
    const answer = await rawStatefulSet();
    (answer["spec"] as Record<string, unknown>)["updateStrategy"] = { rollingUpdate: { partition: -2 } };
    api.failNext(1, { status: 200, body: answer, on: "getStatefulSet" });
    const error = await failure(setter().getPartition());
    expect(error.failure).toBe("invalid");
    expect(error.message).toBe(
      `The Kubernetes API at ${api.url} answered the request to read StatefulSet "${APP}" in namespace "${MODEL}" with something that is not a StatefulSet`,
    );
    expect(error.cause).toMatch(/^spec\.updateStrategy\.rollingUpdate\.partition: Invalid value: /);

    api.failNext(1, { status: 200, body: { kind: "Status", status: "Success" }, on: "getStatefulSet" });
    expect((await failure(setter().getPartition())).cause).toMatch(/^metadata: /);
  });

  it("an invalid partition is refused before anything is sent, as invalid", async () => {
    const error = await failure(setter().setPartition(-1));
    expect(error.failure).toBe("invalid");
    expect(api.requests).toEqual([]);
  });
});

describe("the error is a core KubernetesClientError with its class as data", () => {
  it("keeps the core's kind and brand, and adds failure and httpStatus to its JSON", async () => {
    api.failNext(3, { status: 503, on: "patchStatefulSet" });
    const error = await failure(setter().setPartition(1));
    expect(isUpgradeError(error)).toBe(true);
    expect(error.kind).toBe("KubernetesClientError");
    const json = error.toJSON();
    expect(json).toMatchObject({ kind: "KubernetesClientError", failure: "transient", httpStatus: 503 });
    expect(kubernetesFailureOf(JSON.parse(JSON.stringify(error)))).toBe("transient");
    expect(kubernetesFailureOf(new KubernetesClientError("m"))).toBeUndefined();
    expect(kubernetesFailureOf({ kind: "KubernetesClientError", failure: "whatever" })).toBeUndefined();
  });

  it("the core reads its failure: a 503 after the retries waits for the next hook, a 403 asks for juju trust", async () => {
    api.failNext(3, { status: 503, on: "patchStatefulSet" });
    const unavailable = toErrorData(await failure(setter().setPartition(1)));
    expect(unavailable.failure).toBe("transient");
    expect(partitionFailure(APP, 1, unavailable).status).toBe("waiting");
    api.injectFault({ type: "status", status: 403, on: "patchStatefulSet" });
    const refused = toErrorData(await failure(setter().setPartition(1)));
    expect(refused.failure).toBe("permission");
    expect(partitionFailure(APP, 1, refused)).toMatchObject({
      status: "blocked",
      message: `Not allowed to move the StatefulSet partition: run juju trust ${APP} --scope=cluster`,
    });
  });
});

describe("getPartition reads what the API server holds", () => {
  it("sees a partition changed outside the library between requests", async () => {
    const partitions = setter();
    await partitions.setPartition(2);
    api.editStatefulSet(MODEL, APP, { partition: 1 }); // kubectl patch, another controller…
    expect(await partitions.getPartition()).toBe(1);
  });

  it("is 0 for a rollingUpdate without a partition (the API server defaults it)", async () => {
    const partitions = setter();
    await partitions.setPartition(2);
    const response = await fetch(`${api.url}${PATH}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${api.token}`, "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { partition: null } } } }),
    });
    expect(response.status).toBe(200);
    expect(await partitions.getPartition()).toBe(0);
  });
});

describe("readRollout", () => {
  beforeEach(() => {
    api.putStatefulSet(MODEL, APP, { replicas: 3, partition: 2, currentRevision: "db-old", updateRevision: "db-new" });
    api.putPod(MODEL, APP, 0, { revision: "db-old" });
    api.putPod(MODEL, APP, 1, { revision: "db-old", ready: false });
    api.putPod(MODEL, APP, 2, {
      revision: "db-new",
      images: { charm: "jujusolutions/charm-base:ubuntu-22.04", db: "registry.example/db@sha256:2222" },
    });
  });

  it("reads the partition, the revisions and each pod's controller-revision-hash, by the StatefulSet's selector", async () => {
    api.putPod(MODEL, APP, 7, { revision: "db-new", owned: false }); // matched by the selector, not controlled by it
    api.putPod("other-model", APP, 0, { revision: "db-new" });

    const rollout = await setter().readRollout();

    expect(rollout).toEqual({
      partition: 2,
      replicas: 3,
      updateStrategy: "RollingUpdate",
      generation: 2, // created, then replaced by beforeEach
      observedGeneration: 2,
      observed: true,
      currentRevision: "db-old",
      updateRevision: "db-new",
      pods: [
        {
          name: `${APP}-0`,
          ordinal: 0,
          revision: "db-old",
          updated: false,
          ready: true,
          terminating: false,
          images: {},
        },
        {
          name: `${APP}-1`,
          ordinal: 1,
          revision: "db-old",
          updated: false,
          ready: false,
          terminating: false,
          images: {},
        },
        {
          name: `${APP}-2`,
          ordinal: 2,
          revision: "db-new",
          updated: true,
          ready: true,
          terminating: false,
          images: { charm: "jujusolutions/charm-base:ubuntu-22.04", db: "registry.example/db@sha256:2222" },
        },
      ],
    });
    expect(api.requests.map(({ method, path, query }) => ({ method, path, query }))).toEqual([
      { method: "GET", path: PATH, query: {} },
      {
        method: "GET",
        path: `/api/v1/namespaces/${MODEL}/pods`,
        query: { labelSelector: `app.kubernetes.io/name=${APP}` },
      },
    ]);
  });

  it("does not call a pod updated while the controller has not seen the latest spec (its updateRevision is stale)", async () => {
    // The spec changed (as `juju refresh` changes the template): the generation moved on, the controller lags.
    api.editStatefulSet(MODEL, APP, { partition: 1, observedGeneration: 2 });
    const rollout = await setter().readRollout();
    expect(rollout).toMatchObject({ generation: 3, observedGeneration: 2, observed: false });
    expect(rollout.pods.map((pod) => pod.updated)).toEqual([false, false, false]);
  });

  it("reports terminating and unlabelled pods", async () => {
    api.putPod(MODEL, APP, 2, { revision: null, terminating: true });
    const { pods } = await setter().readRollout();
    expect(pods[2]).toEqual({
      name: `${APP}-2`,
      ordinal: 2,
      revision: null,
      updated: false,
      ready: true,
      terminating: true,
      images: {},
    });
  });

  it("is 0 partition, OnDelete, no revisions when the StatefulSet says nothing of them", async () => {
    api.putStatefulSet(MODEL, APP, { replicas: 1, updateStrategy: "OnDelete" });
    expect(await setter().readRollout()).toMatchObject({
      partition: 0,
      updateStrategy: "OnDelete",
      currentRevision: null,
      updateRevision: null,
    });
  });

  it("classifies the pod listing's failures like any other request", async () => {
    api.failNext(3, { status: 503, on: "listPods" });
    const error = await failure(setter().readRollout());
    expect(error.failure).toBe("transient");
    expect(error.message).toContain(`to list the pods of StatefulSet "${APP}" in namespace "${MODEL}"`);
  });

  it("validates the pod list", async () => {
    api.failNext(1, { status: 200, on: "listPods", body: { kind: "PodList", items: [{ metadata: { name: 7 } }] } });
    const error = await failure(setter().readRollout());
    expect(error.failure).toBe("invalid");
    expect(error.message).toContain("with something that is not a list of pods");
  });
});
