import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { FakeApiServer } from "@charm-upgrade/k8s/testing";
import type { JujuModel } from "@charm-upgrade/sim";
import { startFakeApiServer } from "@charm-upgrade/k8s/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuiltCharm, CharmTree } from "./buildCharm.js";
import {
  buildCharm,
  CHARM_BUNDLE,
  charmTree,
  COMPILE_CACHE_DIR,
  INITIAL_DEPENDENCIES,
  K8S_BUNDLE,
  runtimePath,
} from "./buildCharm.js";
import type { Architecture } from "./nodeRuntime.js";
import { hostArchitecture } from "./nodeRuntime.js";
import { DEPENDENCIES_FILE } from "./readDependencies.js";
import { ProcessJuju } from "./testing/processJuju.js";
import { stockMachineBin } from "./testing/stockMachine.js";

// The built charms, run as real child processes in the shared model of Juju (`JujuModel`, the simulator's and the
// verifier's: which hook each unit runs next, commit on success, relation-changed, leadership, `juju refresh`, the
// StatefulSet controller), with hook tools that are processes too and print Juju's formats. Every hook runs on the
// Node.js the charm ships, with a PATH that has the hook tools and a stock machine's commands and no Node.js. Every
// hook-tool call is a Node process too (about 10 a hook), so the machine model is deployed once and each test runs on
// its own copy of it. The file runs some 100 hooks and 1,000 processes; the timeouts leave room for a machine busy
// with other work.

const NEW = { workload: { dependencies: {}, name: "workload", upgrade_supported: ">=1", version: "1.1.0" } };
const LEADER = "upgrade-demo/0";
const UNITS = ["upgrade-demo/0", "upgrade-demo/1", "upgrade-demo/2"];

const ARCH: Architecture = hostArchitecture() ?? "amd64";

let work: string;
let charm: BuiltCharm;
let tree: CharmTree;
let k8sCharm: BuiltCharm;
/** A hook's PATH: the hook tools of the model in `root`, then the commands of a stock machine (no Node.js). */
let stockPath: (root: string) => string;
/** The machine charm's 3 units, deployed and idle: each test forks its own copy. */
let deployed: ProcessJuju;
/** The Kubernetes charm's 3 units, deployed and idle, against {@link api}. */
let k8sDeployed: ProcessJuju;
/** The Kubernetes API server the Kubernetes charm patches its StatefulSet on. */
let api: FakeApiServer;
const models: ProcessJuju[] = [];

/** Whether every unit's committed state is `idle`. */
function allIdle(juju: ProcessJuju): boolean {
  const { databags } = juju.world();
  return UNITS.every((unit) => databags[unit]?.["state"] === "idle");
}

/** Whether a status (a unit's on machines, the application's on Kubernetes) asks the operator for resume-upgrade. */
function pausedForOperator(juju: ProcessJuju): boolean {
  const world = juju.world();
  const messages = [world.appStatus.message, ...Object.values(world.units).map((unit) => unit.status.message)];
  return messages.some((message) => message.includes("resume-upgrade"));
}

/**
 * The operator's part of a roll: settle; whenever the roll pauses for a check of the units upgraded so far (the
 * statuses say so), resume it from the leader and settle again. How often it pauses is the protocol's policy, not
 * this charm's. Returns the resume-upgrade messages.
 */
async function settleResuming(juju: ProcessJuju): Promise<string[]> {
  await juju.settle();
  const resumes: string[] = [];
  for (let round = 0; round < UNITS.length && !allIdle(juju) && pausedForOperator(juju); round++) {
    const resume = await juju.runAction(LEADER, "resume-upgrade");
    expect(resume).toMatchObject({ exitCode: 0, failure: null });
    resumes.push(resume.results["message"] ?? "");
    await juju.settle();
  }
  return resumes;
}

/**
 * A copy of the deployed model for one test, its hooks run with `env` added to a stock machine's PATH (the deployed
 * model's hook tools serve every copy: each hook tells them its model's files).
 */
function fork(env: Record<string, string> = {}): ProcessJuju {
  const juju = deployed.fork({ env: { PATH: stockPath(deployed.root), ...env } });
  models.push(juju);
  return juju;
}

/**
 * Publish what the model's StatefulSet controller reports on the fake API server the charm reads, before each hook:
 * `status.currentRevision` and `status.updateRevision` with the generation observed, and each pod labelled with the
 * `controller-revision-hash` it was created from, its Ready condition and deletion (kubernetes
 * `pkg/controller/statefulset/stateful_set_control.go` `updateStatefulSetStatus`, `stateful_set_utils.go`
 * `newVersionedStatefulSetPod`). The model names a controller revision by its charm revision.
 */
function publishRollout(model: JujuModel): void {
  const revision = (n: number): string => `upgrade-demo-${n}`;
  api.editStatefulSet("demo", "upgrade-demo", {
    currentRevision: revision(model.currentRevision),
    updateRevision: revision(model.charm),
    observedGeneration: api.getStatefulSet("demo", "upgrade-demo")?.generation ?? 0,
  });
  for (const unit of model.units.values()) {
    if (!unit.pod) continue;
    const { ready, terminating } = unit.pod;
    api.putPod("demo", "upgrade-demo", unit.id, { revision: revision(unit.pod.revision), ready, terminating });
  }
}

/** Run a file as a process; resolve its exit code and output. */
function run(
  file: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, [], { cwd, env, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      done({ code: typeof code === "number" ? code : null, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "upgrade-demo-test-"));
  const bin = stockMachineBin(join(work, "stock-bin"));
  stockPath = (root) => [join(root, "bin"), bin].join(":");
  // Only this machine's architecture: it is the runtime the hooks run on; the zip test packs the others.
  [charm, k8sCharm] = await Promise.all([
    buildCharm({ charm: "machine", outDir: join(work, "machine"), architectures: [ARCH], pack: false }),
    buildCharm({ charm: "k8s", outDir: join(work, "k8s"), architectures: [ARCH], pack: false }),
  ]);
  tree = charmTree(charm, ARCH);
  api = await startFakeApiServer({ statefulSets: { "demo/upgrade-demo": { replicas: 3, partition: 0 } } });
  const root = join(work, "deployed");
  const k8sRoot = join(work, "k8s-deployed");
  deployed = await ProcessJuju.create({ charmDir: tree.dir, units: 3, root, env: { PATH: stockPath(root) } });
  k8sDeployed = await ProcessJuju.create({
    charmDir: charmTree(k8sCharm, ARCH).dir,
    units: 3,
    substrate: "k8s",
    root: k8sRoot,
    // The model's StatefulSet controller follows the partition the charm patches on the API server.
    partition: () => api.getStatefulSet("demo", "upgrade-demo")?.partition,
    // … and the API server reports the rollout the model's controller makes.
    publish: publishRollout,
    env: { PATH: stockPath(k8sRoot), KUBECONFIG: api.kubeconfigPath },
  });
  models.push(k8sDeployed);
  deployed.deploy();
  k8sDeployed.deploy();
  // The two models are independent, and a hook is mostly process start-up: both deploy at once.
  await Promise.all([deployed.settle(), k8sDeployed.settle()]);
}, 300_000);

afterAll(async () => {
  await api?.close();
  for (const juju of models) juju.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("upgrade-demo dispatch, as Juju runs it", () => {
  it("is a sh dispatch, one small bundle (no Kubernetes client) and its own Node.js, and deploys on a machine without Node.js: each unit installs 1.0.0, reports it, goes idle", () => {
    expect(charm.substrate).toBe("vm");
    expect(charm.bundleBytes).toBeLessThan(512 * 1024);
    expect(statSync(tree.dispatch).mode & 0o777).toBe(0o755);
    expect(readFileSync(tree.dispatch, "utf8").split("\n", 1)[0]).toBe("#!/bin/sh");
    expect(statSync(join(tree.dir, runtimePath(ARCH))).mode & 0o777).toBe(0o755);
    expect(existsSync(join(tree.dir, K8S_BUNDLE))).toBe(false);
    const metadata = readFileSync(join(tree.dir, "metadata.yaml"), "utf8");
    expect(metadata).toMatch(/^name: upgrade-demo$/m);
    expect(metadata).toMatch(/^peers:\n {2}upgrade:\n {4}interface: upgrade$/m);
    expect(metadata).not.toMatch(/^containers:/m);
    expect(readFileSync(join(tree.dir, "actions.yaml"), "utf8")).toMatch(
      /^pre-upgrade-check:\n  description: .+\n[^]*^resume-upgrade:\n  description: /m,
    );
    // The first hook on each unit wrote the compile cache the later hooks read.
    for (const unit of UNITS) expect(existsSync(join(deployed.charmDir(unit), COMPILE_CACHE_DIR))).toBe(true);
    const world = deployed.world();
    for (const unit of UNITS) {
      expect(deployed.workloadVersion(unit)).toBe(INITIAL_DEPENDENCIES.workload.version);
      expect(world.units[unit]?.applicationVersion).toBe("1.0.0");
      expect(world.databags[unit]?.["state"]).toBe("idle");
      expect(world.units[unit]?.status).toEqual({ status: "active", message: "" });
    }
    // The model's resolver chose the hooks: each unit's setup in Juju's order, then it met the others.
    for (const unit of UNITS) {
      const own = deployed.runs.filter((run) => run.unit === unit).map((run) => run.hook.name);
      expect(own.slice(0, 5)).toEqual([
        "install",
        "upgrade-relation-created",
        unit === LEADER ? "leader-elected" : "leader-settings-changed",
        "config-changed",
        "start",
      ]);
      const met = deployed.runs.filter((run) => run.unit === unit && run.hook.name === "upgrade-relation-joined");
      expect(met.map((run) => run.hook.remote).sort()).toEqual(UNITS.filter((other) => other !== unit));
      expect(deployed.due(unit)).toEqual([]);
      expect(readFileSync(join(deployed.charmDir(unit), ".juju-charm"), "utf8")).toBe(
        "ch:amd64/jammy/upgrade-demo-1\n",
      );
    }
    expect(deployed.runs.every((run) => run.exitCode === 0 && run.revision === 1)).toBe(true);
  });

  it("upgrades 3 units one at a time: pre-upgrade-check, refresh, relation-changed until quiet (resume-upgrade when paused)", async () => {
    const juju = fork();

    const check = await juju.runAction(LEADER, "pre-upgrade-check");
    expect(check).toMatchObject({ exitCode: 0, failure: null });
    expect(check.results).toMatchObject({
      message:
        "Pre-upgrade check passed. Upgrade order: upgrade-demo/2, upgrade-demo/1, upgrade-demo/0. Now run juju refresh upgrade-demo.",
      "upgrade-order": "upgrade-demo/2, upgrade-demo/1, upgrade-demo/0",
    });
    expect(juju.world().appData["upgrade-stack"]).toBe("[0, 1, 2]");
    await juju.settle();

    expect(juju.refresh(NEW)).toBe(2);
    const resumes = await settleResuming(juju);
    expect(resumes.every((message) => /^Upgrade will resume on unit [01]$/.test(message))).toBe(true);

    const world = juju.world();
    for (const unit of UNITS) {
      expect(juju.workloadVersion(unit)).toBe("1.1.0");
      expect(world.units[unit]?.applicationVersion).toBe("1.1.0");
      expect(world.databags[unit]?.["state"]).toBe("idle");
      expect(world.units[unit]?.status).toEqual({ status: "active", message: "" });
    }
    expect(world.appData["upgrade-stack"]).toBe("[]");
    expect(JSON.parse(world.appData["dependencies"] ?? "{}")).toEqual(NEW);
    // Each unit installed the new version in its own hook, top of the stack first.
    const installs = juju.runs
      .filter((run) => run.toolCalls.includes("application-version-set -- 1.1.0"))
      .map((run) => run.unit);
    expect(installs).toEqual(["upgrade-demo/2", "upgrade-demo/1", "upgrade-demo/0"]);
    expect(juju.runs.every((run) => run.exitCode === 0)).toBe(true);
    // Each unit's agent unpacked revision 2 before its upgrade-charm, and ran everything after it on revision 2.
    for (const unit of UNITS) {
      expect(world.units[unit]?.revision).toBe(2);
      expect(JSON.parse(readFileSync(join(juju.charmDir(unit), DEPENDENCIES_FILE), "utf8"))).toEqual(NEW);
      const own = juju.runs.filter((run) => run.unit === unit);
      const upgrade = own.findIndex((run) => run.hook.name === "upgrade-charm");
      expect(own.slice(upgrade).map((run) => run.revision)).toEqual(own.slice(upgrade).map(() => 2));
      expect(own.slice(0, upgrade).every((run) => run.revision === 1)).toBe(true);
      expect(own[upgrade + 1]?.hook.name).toBe("config-changed");
    }
  }, 240_000);

  it("fails pre-upgrade-check with the ClusterNotReadyError message while fail-precheck exists", async () => {
    const juju = fork();
    juju.flag(LEADER, "fail-precheck");
    const check = await juju.runAction(LEADER, "pre-upgrade-check");
    // action-fail is not a process failure: the action ran, and says why it refuses.
    expect(check.exitCode).toBe(0);
    expect(check.failure).toBe(
      `Workload is not ready for an upgrade: ${join(juju.workloadDir(LEADER), "fail-precheck")} exists`,
    );
    expect(check.results).toEqual({});
    expect(check.commit).toEqual({ unitChanged: false, appChanged: false, stateChanged: false });
    expect(juju.world().appData["upgrade-stack"]).toBeUndefined();
  });

  it("runs from any working directory, and says so when this machine's architecture has no runtime in the charm", async () => {
    const env = { PATH: stockPath(deployed.root) };
    // No Juju environment: the charm itself runs, and refuses with its own error.
    const ran = await run(join(tree.dir, "dispatch"), "/", env);
    expect(ran).toMatchObject({ code: 1, stdout: "" });
    expect(ran.stderr).toMatch(/^HookContextError: Juju environment variable JUJU_DISPATCH_PATH is not set/);
    const relativePath = relative(work, tree.dispatch);
    expect(await run(`./${relativePath}`, work, env)).toMatchObject({ code: 1, stderr: ran.stderr });

    const other = join(work, "no-runtime");
    cpSync(tree.dir, other, { recursive: true, filter: (path) => !path.startsWith(join(tree.dir, "runtime")) });
    const missing = await run(join(other, "dispatch"), "/", env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `upgrade-demo: no Node.js runtime for this machine's architecture, ${ARCH} (uname -m: ${ARCH === "amd64" ? "x86_64" : "aarch64"}): ${join(other, runtimePath(ARCH))} is missing. This charm has one for: nothing. Deploy the upgrade-demo charm built for ${ARCH}.\n`,
    );
  });

  it("on Kubernetes: the charm declares its workload container; pre-upgrade-check loads lib/k8s.cjs and moves the StatefulSet partition through the API server; the model's StatefulSet controller restarts only the pod at the partition, on the new revision, and follows the partition resume-upgrade moves", async () => {
    const k8sTree = charmTree(k8sCharm, ARCH);
    expect(k8sCharm.substrate).toBe("k8s");
    const metadata = readFileSync(join(k8sTree.dir, "metadata.yaml"), "utf8");
    expect(metadata).toMatch(/^name: upgrade-demo-k8s$/m);
    expect(metadata).toMatch(/^containers:\n {2}workload:\n {4}resource: workload-image$/m);
    expect(metadata).toMatch(/^resources:\n {2}workload-image:\n {4}type: oci-image$/m);
    expect(existsSync(join(k8sTree.dir, K8S_BUNDLE))).toBe(true);
    expect(readFileSync(join(k8sTree.dir, CHARM_BUNDLE))).not.toEqual(readFileSync(join(tree.dir, CHARM_BUNDLE)));
    const juju = k8sDeployed;
    expect(allIdle(juju)).toBe(true);
    api.clearRequests();

    const check = await juju.runAction(LEADER, "pre-upgrade-check");
    expect(check).toMatchObject({ exitCode: 0, failure: null });
    expect(check.results["upgrade-order"]).toBe("upgrade-demo/2, upgrade-demo/1, upgrade-demo/0");
    expect(api.getStatefulSet("demo", "upgrade-demo")?.partition).toBe(2);
    expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      // unitRollout: no pod restarted off the current revision, so the partition may go to the top pod.
      "GET /apis/apps/v1/namespaces/demo/statefulsets/upgrade-demo",
      "GET /api/v1/namespaces/demo/pods",
      "PATCH /apis/apps/v1/namespaces/demo/statefulsets/upgrade-demo",
    ]);
    expect(juju.model.partition).toBe(2);
    await juju.settle();

    expect(juju.refresh(NEW)).toBe(2);
    await juju.settle();
    // The controller restarted the pod at the partition only: the old pod ran `stop` on revision 1, the new one
    // `upgrade-charm` on revision 2 (unpacked into the unit's charm directory) and installed 1.1.0; the pods below
    // the partition still run revision 1, and the roll waits for the operator.
    const restarts = juju.runs
      .filter((run) => run.hook.name === "stop" || run.hook.name === "upgrade-charm")
      .map((run) => `${run.unit} ${run.hook.name} ${run.revision}`);
    expect(restarts).toEqual(["upgrade-demo/2 stop 1", "upgrade-demo/2 upgrade-charm 2"]);
    const world = juju.world();
    expect(UNITS.map((unit) => world.units[unit]?.revision)).toEqual([1, 1, 2]);
    expect(UNITS.map((unit) => world.units[unit]?.applicationVersion)).toEqual(["1.0.0", "1.0.0", "1.1.0"]);
    expect(JSON.parse(readFileSync(join(juju.charmDir("upgrade-demo/2"), DEPENDENCIES_FILE), "utf8"))).toEqual(NEW);
    expect(world.databags["upgrade-demo/2"]?.["state"]).toBe("completed");
    expect(world.appData["upgrade-stack"]).toBe("[0, 1]");
    expect(world.appStatus.message).toMatch(/resume-upgrade/);
    expect(juju.model.steps().filter((step) => step.kind.startsWith("pod-"))).toEqual([]);

    // resume-upgrade moves the partition on the API server; the model's StatefulSet controller follows it, and
    // the next pod it restarts is the one below.
    const resume = await juju.runAction(LEADER, "resume-upgrade");
    expect(resume).toMatchObject({ exitCode: 0, failure: null });
    expect(api.getStatefulSet("demo", "upgrade-demo")?.partition).toBe(1);
    expect(juju.model.partition).toBe(1);
    expect(juju.model.steps()).toContainEqual({ kind: "pod-delete", unit: 1 });
    expect(juju.runs.every((run) => run.exitCode === 0)).toBe(true);
  }, 240_000);
});
