import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeApiServer } from "@charm-upgrade/k8s/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuiltCharm } from "./buildCharm.js";
import { buildCharm, INITIAL_DEPENDENCIES, K8S_BUNDLE } from "./buildCharm.js";
import { ProcessJuju } from "./testing/processJuju.js";

// The bundled `dispatch`, run by Juju's rules as real child processes, with hook tools that are processes too.
// Every hook is a Node process and so is every hook-tool call (about 10 a hook), so the model is deployed once and
// each test runs on its own copy of it. The file costs about 50 s of CPU (some 400 processes); the timeouts leave
// room for a machine busy with other work.

const NEW = { workload: { dependencies: {}, name: "workload", upgrade_supported: ">=1", version: "1.1.0" } };
const LEADER = "upgrade-demo/0";
const UNITS = ["upgrade-demo/0", "upgrade-demo/1", "upgrade-demo/2"];

let work: string;
let charm: BuiltCharm;
let deployed: ProcessJuju;
const models: ProcessJuju[] = [];

/** Whether every unit's committed state is `idle`. */
function allIdle(juju: ProcessJuju): boolean {
  const { databags } = juju.world();
  return UNITS.every((unit) => databags[unit]?.["state"] === "idle");
}

/** A copy of the deployed model for one test. */
function fork(env?: Record<string, string>): ProcessJuju {
  const juju = deployed.fork({ env });
  models.push(juju);
  return juju;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "upgrade-demo-test-"));
  charm = await buildCharm({ outDir: join(work, "charm") });
  deployed = await ProcessJuju.create({ charmDir: charm.dir, units: 3, root: join(work, "deployed") });
  deployed.deploy();
  await deployed.settle();
}, 180_000);

afterAll(() => {
  for (const juju of models) juju.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("upgrade-demo dispatch, as Juju runs it", () => {
  it("is one small executable file (no Kubernetes client), and deploys: each unit installs 1.0.0, reports it, goes idle", () => {
    expect(charm.bundleBytes).toBeLessThan(512 * 1024);
    expect(statSync(charm.dispatch).mode & 0o777).toBe(0o755);
    expect(readFileSync(charm.dispatch, "utf8").split("\n", 1)[0]).toBe("#!/usr/bin/env node");
    const metadata = readFileSync(join(charm.dir, "metadata.yaml"), "utf8");
    expect(metadata).toMatch(/^name: upgrade-demo$/m);
    expect(metadata).toMatch(/^peers:\n {2}upgrade:\n {4}interface: upgrade$/m);
    expect(readFileSync(join(charm.dir, "actions.yaml"), "utf8")).toMatch(/^pre-upgrade-check:\n  description: .+\n[^]*^resume-upgrade:\n  description: /m);
    const world = deployed.world();
    for (const unit of UNITS) {
      expect(deployed.workloadVersion(unit)).toBe(INITIAL_DEPENDENCIES.workload.version);
      expect(world.units[unit]?.applicationVersion).toBe("1.0.0");
      expect(world.databags[unit]).toEqual({ state: "idle" });
      expect(world.units[unit]?.status).toEqual({ status: "active", message: "" });
    }
    expect(deployed.runs.map((run) => `${run.unit} ${run.dispatchPath}`)).toEqual(
      expect.arrayContaining([...UNITS.map((unit) => `${unit} hooks/install`), `${LEADER} hooks/leader-elected`]),
    );
  });

  it("upgrades 3 units one at a time: pre-upgrade-check, refresh, relation-changed until quiet (resume-upgrade when paused)", async () => {
    const juju = fork();
    // Machines never load the Kubernetes adapter: without it every hook still succeeds.
    for (const unit of UNITS) rmSync(join(juju.charmDir(unit), K8S_BUNDLE), { force: true });

    const check = await juju.runAction(LEADER, "pre-upgrade-check");
    expect(check).toMatchObject({ exitCode: 0, failure: null });
    expect(check.results).toMatchObject({
      message: "Pre-upgrade check passed. Upgrade order: upgrade-demo/2, upgrade-demo/1, upgrade-demo/0. Now run juju refresh upgrade-demo.",
      "upgrade-order": "upgrade-demo/2, upgrade-demo/1, upgrade-demo/0",
    });
    expect(juju.world().appData["upgrade-stack"]).toBe("[0, 1, 2]");
    await juju.settle();

    juju.refresh(NEW);
    await juju.settle();
    // The operator's part: when the roll pauses for a check of the units upgraded so far (the statuses say so),
    // resume it from the leader. How often it pauses is the protocol's policy, not this charm's.
    const resumes: string[] = [];
    for (let round = 0; round < UNITS.length && !allIdle(juju); round++) {
      const statuses = Object.values(juju.world().units).map((unit) => unit.status.message);
      if (!statuses.some((message) => message.includes("resume-upgrade"))) break;
      const resume = await juju.runAction(LEADER, "resume-upgrade");
      expect(resume).toMatchObject({ exitCode: 0, failure: null });
      resumes.push(resume.results["message"] ?? "");
      await juju.settle();
    }
    expect(resumes.every((message) => /^Upgrade will resume on unit [01]$/.test(message))).toBe(true);

    const world = juju.world();
    for (const unit of UNITS) {
      expect(juju.workloadVersion(unit)).toBe("1.1.0");
      expect(world.units[unit]?.applicationVersion).toBe("1.1.0");
      expect(world.databags[unit]).toEqual({ state: "idle" });
      expect(world.units[unit]?.status).toEqual({ status: "active", message: "" });
    }
    expect(world.appData["upgrade-stack"]).toBe("[]");
    expect(JSON.parse(world.appData["dependencies"] ?? "{}")).toEqual(NEW);
    // Each unit installed the new version in its own hook, top of the stack first.
    const installs = juju.runs.filter((run) => run.toolCalls.includes("application-version-set -- 1.1.0")).map((run) => run.unit);
    expect(installs).toEqual(["upgrade-demo/2", "upgrade-demo/1", "upgrade-demo/0"]);
    expect(juju.runs.every((run) => run.exitCode === 0)).toBe(true);
  }, 180_000);

  it("fails pre-upgrade-check with the ClusterNotReadyError message while fail-precheck exists", async () => {
    const juju = fork();
    juju.flag(LEADER, "fail-precheck");
    const check = await juju.runAction(LEADER, "pre-upgrade-check");
    // action-fail is not a process failure: the action ran, and says why it refuses.
    expect(check.exitCode).toBe(0);
    expect(check.failure).toBe(`Workload is not ready for an upgrade: ${join(juju.workloadDir(LEADER), "fail-precheck")} exists`);
    expect(check.results).toEqual({});
    expect(check.commit).toEqual({ unitChanged: false, appChanged: false, stateChanged: false });
    expect(juju.world().appData["upgrade-stack"]).toBeUndefined();
  });

  it("on Kubernetes, pre-upgrade-check loads lib/k8s.cjs, asks the API server, and moves the StatefulSet partition", async () => {
    const api = await startFakeApiServer({ statefulSets: { "demo/upgrade-demo": { replicas: 3, partition: 0 } } });
    try {
      // The peer data of an idle deployment is the same on both substrates.
      const juju = fork({ CHARM_SUBSTRATE: "k8s", KUBECONFIG: api.kubeconfigPath });
      const check = await juju.runAction(LEADER, "pre-upgrade-check");
      expect(check).toMatchObject({ exitCode: 0, failure: null });
      expect(check.results["upgrade-order"]).toBe("upgrade-demo/2, upgrade-demo/1, upgrade-demo/0");
      expect(api.getStatefulSet("demo", "upgrade-demo")?.partition).toBe(2);
      expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "PATCH /apis/apps/v1/namespaces/demo/statefulsets/upgrade-demo",
      ]);
    } finally {
      await api.close();
    }
  });
});
