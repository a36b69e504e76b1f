import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Substrate, UpgradeStep } from "@charm-upgrade/core";
import {
  ClusterNotReadyError,
  DependencyError,
  EMPTY_MEMORY,
  encodeHookMemory,
  KubernetesClientError,
  MEMORY_KEY,
  readHookMemory,
  UpgradeError,
} from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import type { DispatchResult } from "./hookProgram.js";
import type { HookToolRunner, StatusInfo } from "./hookTools.js";
import { HookToolError } from "./hookTools.js";
import type { InMemoryAction, InMemoryCall, InMemoryLogLine } from "./inMemoryHookTools.js";
import { createInMemoryModel, InMemoryHookTools } from "./inMemoryHookTools.js";
import type { GrantOutcome, UpgradeOptions } from "./upgradeCharm.js";
import { createUpgrade } from "./upgradeCharm.js";

const deps = (version: string, supported = ">=1") => ({
  workload: { dependencies: {}, name: "workload", upgrade_supported: supported, version },
});
const OLD = deps("1.0.0");
/** The events a unit's hook memory (Juju's per-unit store) says it deferred. */
const deferredIn = (store: Record<string, string>) => readHookMemory(store[MEMORY_KEY] ?? null).memory.deferred;
const NEW = deps("1.1.0");

/** One unit of the test world: its charm code, its own Juju state, and what its charm was asked to do. */
interface Unit {
  readonly name: string;
  readonly id: number;
  dependencies: unknown;
  status: StatusInfo;
  readonly state: Record<string, string>;
  readonly logs: InMemoryLogLine[];
  readonly queue: string[];
  grantOutcome: () => Promise<GrantOutcome>;
  preUpgradeCheck: () => Promise<void>;
  setPartition?: (partition: number) => Promise<void>;
  checkTrust?: () => Promise<{ allowed: boolean; reason?: string }>;
  logRollbackInstructions?: () => Promise<void>;
  /** What this unit's charm reports as its running workload version (default: the world's, if any). */
  workloadVersion?: () => string;
  /** What the charm would show as its status (the library decides when it shows). */
  charmStatus?: () => { status: "active" | "maintenance" | "waiting" | "blocked"; message: string } | null;
}

/** One hook as it ran. */
interface HookRun {
  readonly unit: string;
  readonly hook: string;
  readonly result: DispatchResult | null;
  readonly error: unknown;
  readonly calls: readonly InMemoryCall[];
  readonly action: InMemoryAction | null;
  readonly appAfter: Record<string, string>;
}

/**
 * A Juju application of a few units over {@link InMemoryHookTools}: shared databags, one hook at a time, writes
 * committed only when the hook succeeds, and relation-changed to every other unit after a commit that changed
 * something. The charm code is `createUpgrade` and nothing else: no test ever re-runs a handler by hand.
 */
class World {
  readonly app = "db";
  readonly relation = { name: "upgrade", id: 7 };
  readonly databags: Record<string, Record<string, string>> = {};
  readonly appData: Record<string, string> = {};
  readonly units = new Map<string, Unit>();
  readonly runs: HookRun[] = [];
  readonly granted: string[] = [];
  readonly checks: string[] = [];
  readonly steps: UpgradeStep[] = [];
  leader = "db/0";
  /** The application status (only the leader sets it). */
  appStatus: StatusInfo = { status: "unknown", message: "" };
  /** The application's config `pause-after-unit-upgrade`. */
  pauseAfter: string | undefined = "none";
  /** False until the peer relation exists (early hooks such as install). */
  related = true;
  /** What the charm reports as its running workload version (default: the library derives it). */
  workloadVersion: (() => string) | null = null;
  /** `JUJU_CHARM_DIR` of every unit (where `.juju-charm` names the charm revision). */
  charmDir = "/charm";
  wrap: (runner: HookToolRunner) => HookToolRunner = (runner) => runner;
  /** What the charm would show as the application status (the leader's). */
  charmAppStatus: (() => { status: "active" | "maintenance" | "waiting" | "blocked"; message: string } | null) | null =
    null;

  constructor(
    readonly substrate: Substrate,
    count: number,
    readonly stack: (ids: number[], leader: number) => number[] = (ids, leader) => [
      leader,
      ...ids.filter((id) => id !== leader),
    ],
  ) {
    for (let id = 0; id < count; id++) this.add(id);
  }

  add(id: number): Unit {
    const name = `${this.app}/${id}`;
    const unit: Unit = {
      name,
      id,
      dependencies: OLD,
      status: { status: "unknown", message: "" },
      state: {},
      logs: [],
      queue: [],
      grantOutcome: async () => "completed",
      preUpgradeCheck: async () => {},
    };
    this.units.set(name, unit);
    this.databags[name] = {};
    unit.queue.push(`${this.relation.name}-relation-created`);
    return unit;
  }

  remove(name: string): void {
    this.units.delete(name);
    delete this.databags[name];
    // Juju runs -relation-departed with the departing unit as JUJU_REMOTE_UNIT (queued as "hook remote").
    for (const unit of this.units.values()) unit.queue.push(`${this.relation.name}-relation-departed ${name}`);
  }

  unit(name: string): Unit {
    const unit = this.units.get(name);
    if (!unit) throw new Error(`no unit ${name}`);
    return unit;
  }

  private options(unit: Unit): UpgradeOptions {
    const world = this;
    const workloadVersion = unit.workloadVersion ?? this.workloadVersion;
    const common = {
      dependencies: unit.dependencies,
      async preUpgradeCheck() {
        world.checks.push(unit.name);
        await unit.preUpgradeCheck();
      },
      async onUpgradeGranted() {
        world.granted.push(unit.name);
        return unit.grantOutcome();
      },
      inspect: (step: UpgradeStep) => world.steps.push(step),
      ...(workloadVersion ? { workloadVersion } : {}),
      ...(unit.setPartition ? { setPartition: unit.setPartition } : {}),
      ...(unit.checkTrust ? { checkTrust: unit.checkTrust } : {}),
      ...(unit.logRollbackInstructions ? { logRollbackInstructions: unit.logRollbackInstructions } : {}),
      ...(unit.charmStatus ? { status: unit.charmStatus } : {}),
      ...(this.charmAppStatus ? { applicationStatus: this.charmAppStatus } : {}),
    };
    if (this.substrate === "k8s") return { setPartition: async () => {}, ...common, substrate: "k8s" };
    return {
      substrate: "vm",
      ...common,
      async buildUpgradeStack() {
        const ids = [...world.units.values()].map((u) => u.id);
        return world.stack(ids, world.unit(world.leader).id);
      },
    };
  }

  /** Run one hook (or, with `actions/…`, an action) on `name`; returns what happened. */
  async run(name: string, hook: string, remoteUnit?: string, params: Record<string, unknown> = {}): Promise<HookRun> {
    const unit = this.unit(name);
    const isAction = hook.startsWith("actions/");
    const hookName = isAction ? hook.slice("actions/".length) : hook;
    const action = isAction ? { name: hookName, params, results: {}, failure: null, logs: [] } : null;
    const model = {
      unit: name,
      leader: name === this.leader,
      relation: this.related ? this.relation : null,
      databags: this.databags,
      appData: this.appData,
      status: unit.status,
      appStatus: this.appStatus,
      state: unit.state,
      logs: [] as InMemoryLogLine[],
      action,
      applicationVersion: "",
      // These scenarios predate the pause policy: they roll without waiting (pause tests set their own).
      config: this.pauseAfter === undefined ? {} : { "pause-after-unit-upgrade": this.pauseAfter },
    };
    const juju = new InMemoryHookTools(model);
    const env: Record<string, string> = {
      JUJU_DISPATCH_PATH: isAction ? hook : `hooks/${hook}`,
      JUJU_UNIT_NAME: name,
      JUJU_MODEL_NAME: "test",
      JUJU_CHARM_DIR: this.charmDir,
    };
    if (isAction) env.JUJU_ACTION_NAME = hookName;
    const relationHook = /^(.+)-relation-(created|joined|changed|departed|broken)$/.exec(hookName);
    if (!isAction && relationHook) {
      env.JUJU_RELATION = relationHook[1] ?? "";
      env.JUJU_RELATION_ID = `${env.JUJU_RELATION}:${this.relation.id}`;
      env.JUJU_REMOTE_APP = this.app;
      if (remoteUnit) env.JUJU_REMOTE_UNIT = remoteUnit;
    }
    let result: DispatchResult | null = null;
    let error: unknown = null;
    try {
      const upgrade = createUpgrade({ ...this.options(unit), tools: this.wrap(juju.run), env });
      result = await upgrade.dispatch();
    } catch (e) {
      error = e;
    }
    unit.status = model.status;
    this.appStatus = model.appStatus;
    unit.logs.push(...model.logs);
    if (error) {
      juju.discard();
    } else {
      const { unitChanged, appChanged } = juju.commit();
      if (unitChanged || appChanged) {
        for (const other of this.units.values())
          if (other.name !== name) other.queue.push(`${this.relation.name}-relation-changed`);
      }
    }
    const run = { unit: name, hook, result, error, calls: [...juju.calls], action, appAfter: { ...this.appData } };
    this.runs.push(run);
    return run;
  }

  /** Run queued hooks, one unit after another, until none is left; fails the test if it never settles. */
  async settle(limit = 500): Promise<void> {
    for (let ran = 0; ran < limit; ran++) {
      const next = [...this.units.values()].find((unit) => unit.queue.length > 0);
      if (!next) return;
      const [hook = "", remote] = (next.queue.shift() ?? "").split(" ");
      const run = await this.run(next.name, hook, remote);
      if (run.error) throw run.error;
    }
    throw new Error(`the world did not settle within ${limit} hooks`);
  }

  /** `juju config db pause-after-unit-upgrade=<value>`: every unit gets config-changed. */
  configure(pauseAfter: string | undefined): void {
    this.pauseAfter = pauseAfter;
    for (const unit of this.units.values()) unit.queue.push("config-changed");
  }

  /** `juju refresh`: new charm code; every unit gets upgrade-charm. */
  refresh(dependencies: unknown): void {
    for (const unit of this.units.values()) {
      unit.dependencies = dependencies;
      unit.queue.push("upgrade-charm");
    }
  }

  states(): Record<string, string | undefined> {
    return Object.fromEntries(Object.entries(this.databags).map(([name, bag]) => [name, bag.state]));
  }
}

async function deployed(count = 3, substrate: Substrate = "vm"): Promise<World> {
  const world = new World(substrate, count);
  await world.settle();
  return world;
}

/** What a hook wrote to its unit's databag, each `relation-set` (it takes the keys as JSON on its stdin). */
const unitWrites = (run: HookRun): Record<string, string>[] =>
  run.calls
    .filter((call) => call.tool === "relation-set" && !call.args.includes("--app"))
    .map((call) => JSON.parse(call.stdin ?? "{}"));

const logText = (unit: Unit) => unit.logs.map((line) => `${line.level} ${line.message}`).join("\n");

describe("createUpgrade on a 3-unit machine application (through the in-memory hook tools)", () => {
  it("relation-created: every unit writes state idle; the leader stores the dependencies", async () => {
    const world = await deployed();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    expect(JSON.parse(world.appData.dependencies ?? "null")).toEqual(OLD);
    expect(world.appData.dependencies).toBe(
      '{"workload": {"dependencies": {}, "name": "workload", "upgrade_supported": ">=1", "version": "1.0.0"}}',
    );
    for (const unit of world.units.values()) expect(unit.status).toEqual({ status: "active", message: "" });
  });

  it("pre-upgrade-check on a non-leader fails the action with the leader message and writes nothing", async () => {
    const world = await deployed();
    const run = await world.run("db/1", "actions/pre-upgrade-check");
    expect(run.action?.failure).toMatch(/^Action must be run on the Juju leader unit/);
    expect(run.calls.some((call) => call.tool === "relation-set")).toBe(false);
    expect(world.appData["upgrade-stack"]).toBeUndefined();
    expect(world.checks).toEqual([]);
  });

  it("the full upgrade: pre-upgrade-check, refresh, one unit at a time, back to idle, without re-running a handler", async () => {
    const world = await deployed();
    const check = await world.run("db/0", "actions/pre-upgrade-check");
    expect(check.action?.failure).toBeNull();
    expect(world.appData["upgrade-stack"]).toBe("[0, 1, 2]");
    expect(check.action?.results).toMatchObject({ "upgrade-order": "db/2, db/1, db/0" });
    expect(world.checks).toEqual(["db/0"]);
    await world.settle();

    world.refresh(NEW);
    await world.settle();

    // the top of the stack went first, the leader (bottom) last; each exactly once
    expect(world.granted).toEqual(["db/2", "db/1", "db/0"]);
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    expect(world.appData["upgrade-stack"]).toBe("[]");
    expect(JSON.parse(world.appData.dependencies ?? "null")).toEqual(NEW);
    for (const unit of world.units.values()) expect(unit.status).toEqual({ status: "active", message: "" });

    // the leader, completing last, popped itself and finished in the very hook it was granted in
    const leaderGrant = world.runs.find(
      (run) => run.unit === "db/0" && run.result?.effects.some((e) => e.type === "grantUpgrade"),
    );
    expect(leaderGrant?.appAfter["upgrade-stack"]).toBe("[]");
    expect(leaderGrant?.result?.state).toBe("idle");
    // every hook the world ran came from Juju's queue: no charm code called anything twice
    expect(world.runs.every((run) => run.error === null)).toBe(true);
  });

  it("each hook sets at most one status, never one it already has, and writes only what changed", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    for (const run of world.runs) {
      // at most one unit status and (on the leader) one application status
      expect(
        run.calls.filter((call) => call.tool === "status-set" && !call.args.includes("--application")).length,
      ).toBeLessThanOrEqual(1);
      expect(
        run.calls.filter((call) => call.tool === "status-set" && call.args.includes("--application")).length,
      ).toBeLessThanOrEqual(1);
      const sets = run.calls.filter((call) => call.tool === "relation-set");
      expect(sets.filter((call) => !call.args.includes("--app")).length).toBeLessThanOrEqual(1);
      expect(sets.filter((call) => call.args.includes("--app")).length).toBeLessThanOrEqual(1);
    }
    // an idle cluster's periodic hook writes nothing and sets no status
    const idle = await world.run("db/1", "update-status");
    expect(idle.calls.map((call) => call.tool)).not.toContain("relation-set");
    expect(idle.calls.map((call) => call.tool)).not.toContain("status-set");
    expect(idle.result?.event).toBe("tick");
    expect(idle.result?.idle).toBe(true);
  });

  it("logs cost few calls: one juju-log per run of lines of one level, and no reason the status already gives", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    let waited = 0;
    for (const run of world.runs) {
      const levels = run.calls
        .filter((call) => call.tool === "juju-log")
        .map((call) => call.args[call.args.indexOf("--log-level") + 1]);
      // consecutive lines of one level went in one call
      for (const [i, level] of levels.entries()) if (i > 0) expect(level).not.toBe(levels[i - 1]);
      const status = run.calls.find((call) => call.tool === "status-set" && !call.args.includes("--application"));
      const message = status?.args.at(-1);
      if (!message || !run.calls.some((call) => call.tool === "juju-log")) continue;
      // a reason the unit status gives word for word is not logged again
      const logged = run.calls
        .filter((call) => call.tool === "juju-log")
        .flatMap((call) => `${call.args.at(-1)}`.split("\n"));
      expect(logged).not.toContain(`why: ${message}`);
      // nor one it gives followed by what the unit runs and the rollback command
      expect(logged.filter((line) => line.startsWith("why: ") && message.startsWith(`${line.slice(5)} | `))).toEqual(
        [],
      );
    }
    // the waiting units said why in their statuses (db/1 waited for db/2)
    for (const run of world.runs)
      if (
        run.unit === "db/1" &&
        run.calls.some((call) => call.tool === "status-set" && /db\/2 upgrades before db\/1/.test(call.args.join(" ")))
      )
        waited++;
    expect(waited).toBeGreaterThan(0);
    // the leader's lines of one hook (the pop and the next reason) went in one call
    expect(logText(world.unit("db/0"))).toMatch(/completed; removed from the upgrade stack\n/);
  });

  it("maps hooks onto events; any other hook is a tick", async () => {
    const world = await deployed();
    expect((await world.run("db/0", "leader-elected")).result?.event).toBe("leaderElected");
    expect((await world.run("db/1", "upgrade-relation-joined", "db/2")).result?.event).toBe("relationChanged");
    expect((await world.run("db/1", "config-changed")).result?.event).toBe("tick");
    expect((await world.run("db/1", "actions/backup")).result?.event).toBe("tick");
    expect((await world.run("db/0", "actions/resume-upgrade")).result?.event).toBe("resumeUpgrade");
  });

  it("exposes state, idle and the stack to charm code once the peer relation was read", async () => {
    const world = await deployed();
    const upgrade = createUpgrade({
      substrate: "vm",
      dependencies: OLD,
      preUpgradeCheck: async () => {},
      buildUpgradeStack: async () => [0, 1, 2],
      onUpgradeGranted: async () => "completed",
      tools: new InMemoryHookTools(
        createInMemoryModel({
          unit: "db/1",
          relation: world.relation,
          databags: world.databags,
          appData: world.appData,
        }),
      ).run,
      env: {
        JUJU_DISPATCH_PATH: "hooks/update-status",
        JUJU_UNIT_NAME: "db/1",
        JUJU_MODEL_NAME: "m",
        JUJU_CHARM_DIR: "/c",
      },
    });
    expect(() => upgrade.state).toThrow(UpgradeError);
    await upgrade.dispatch();
    expect(upgrade.state).toBe("idle");
    expect(upgrade.idle).toBe(true);
    expect(upgrade.upgradeStack).toBeNull();
  });

  it("reports every reducer step to the inspect observer", async () => {
    const world = await deployed(1);
    expect(world.steps.map((step) => [step.event.type, step.before.value, step.after.value])).toEqual([
      ["relationCreated", "unset", "idle"],
    ]);
  });
});

describe("the upstream bugs the adapter must handle", () => {
  it("bug 1: a unit in the stack but not in the relation is dropped by the leader, no crash", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    expect(world.appData["upgrade-stack"]).toBe("[0, 1, 2]");
    world.remove("db/1");
    await world.settle();
    expect(world.appData["upgrade-stack"]).toBe("[0, 2]");
    expect(logText(world.unit("db/0"))).toContain("db/1 left the application; removed from the upgrade stack");
    world.refresh(NEW);
    await world.settle();
    expect(world.granted).toEqual(["db/2", "db/0"]);
    expect(world.states()).toEqual({ "db/0": "idle", "db/2": "idle" });
  });

  it.each([
    ["throws an Error without a message", async (): Promise<GrantOutcome> => Promise.reject(new Error(""))],
    ["throws a non-Error", async (): Promise<GrantOutcome> => Promise.reject(undefined)],
    ["reports { failed: '' }", async (): Promise<GrantOutcome> => ({ failed: "" })],
    [
      "throws a DependencyError",
      async (): Promise<GrantOutcome> =>
        Promise.reject(new DependencyError("zookeeper 3.5 is too old", "kafka needs ^3.6")),
    ],
  ])("bug 16: no empty Blocked message when onUpgradeGranted %s", async (_, outcome) => {
    const world = await deployed();
    world.unit("db/2").grantOutcome = outcome;
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    const failed = world.unit("db/2");
    expect(world.databags["db/2"]?.state).toBe("failed");
    expect(failed.status.status).toBe("blocked");
    expect(failed.status.message.trim()).not.toBe("");
    expect(failed.status.message).toMatch(/db\/2|zookeeper/);
    // the cluster halts: nobody else is granted
    expect(world.granted).toEqual(["db/2"]);
    // rollback instructions, naming the app and the command (no charm recorded: a placeholder revision), logged once
    const rollback = failed.logs.filter((line) =>
      line.message.includes("2. Run juju refresh db --revision <previous>"),
    );
    expect(rollback).toHaveLength(1);
    expect(rollback[0]?.message).toContain("1. Re-run pre-upgrade-check on the leader to enter recovery");
  });

  it("a workload failure's message reaches the blocked status; the charm's own rollback instructions replace the default", async () => {
    const world = await deployed();
    const failing = world.unit("db/2");
    failing.grantOutcome = async () => {
      throw new Error("disk full");
    };
    let custom = 0;
    failing.logRollbackInstructions = async () => {
      custom++;
    };
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    // the failure, then how to roll back (the cluster is halted: pre-upgrade-check first)
    expect(failing.status).toEqual({
      status: "blocked",
      message:
        "Upgrade of db/2 failed: disk full | roll back: pre-upgrade-check, then juju refresh db --revision <previous>",
    });
    expect(custom).toBe(1);
    expect(logText(failing)).not.toContain("--revision <previous revision>");
  });

  it("bug 8: missing stored dependencies are no crash: a warning is logged and the upgrade proceeds", async () => {
    const world = await deployed();
    delete world.appData.dependencies;
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    expect(logText(world.unit("db/0"))).toMatch(/WARNING No stored dependencies to check versions against/);
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    expect(JSON.parse(world.appData.dependencies ?? "null")).toEqual(NEW);
  });

  it("upgrade-charm without a stack on machines is deferred (blocked, says what to run) and replayed when the stack appears", async () => {
    const world = await deployed();
    world.refresh(NEW);
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    for (const unit of world.units.values()) {
      expect(unit.status).toEqual({
        status: "blocked",
        message: "Run pre-upgrade-check on the leader to start the upgrade",
      });
      expect(deferredIn(unit.state)).toEqual(["upgradeCharm"]);
    }
    expect(world.granted).toEqual([]);

    const check = await world.run("db/0", "actions/pre-upgrade-check");
    expect(check.action?.failure).toBeNull();
    // the leader's own deferred upgrade-charm replays right after the action that unblocks it
    expect(world.databags["db/0"]?.state).toBe("ready");
    await world.settle();
    expect(world.granted).toEqual(["db/2", "db/1", "db/0"]);
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    for (const unit of world.units.values()) expect(deferredIn(unit.state)).toEqual([]);
  });

  it("pre-upgrade-check refused by the charm's ClusterNotReadyError fails the action with its message", async () => {
    const world = await deployed();
    world.unit("db/0").preUpgradeCheck = async () => {
      throw new ClusterNotReadyError("Replica db/2 is lagging", "replication lag 40s", "wait for it to catch up");
    };
    const run = await world.run("db/0", "actions/pre-upgrade-check");
    expect(run.action?.failure).toBe("Replica db/2 is lagging");
    expect(world.appData["upgrade-stack"]).toBeUndefined();
    expect(logText(world.unit("db/0"))).toContain("cause: replication lag 40s; resolution: wait for it to catch up");
  });

  it("any other pre-upgrade-check error fails the action as an unknown error, with its message", async () => {
    const world = await deployed();
    world.unit("db/0").preUpgradeCheck = async () => {
      throw new TypeError("cannot read property 'primary'");
    };
    const run = await world.run("db/0", "actions/pre-upgrade-check");
    expect(run.action?.failure).toBe("Unknown error found: cannot read property 'primary'");
  });

  it("invalid JSON in the app databag's upgrade-stack: a blocked status naming the key, never a throw", async () => {
    const world = await deployed();
    world.appData["upgrade-stack"] = "[0, 1";
    for (const name of ["db/0", "db/1"]) {
      const run = await world.run(name, "update-status");
      expect(run.error).toBeNull();
      const unit = world.unit(name);
      expect(unit.status.status).toBe("blocked");
      expect(unit.status.message).toContain("'upgrade-stack'");
      expect(unit.status.message).toContain("application databag");
      expect(logText(unit)).toMatch(/ERROR Invalid 'upgrade-stack' in the application databag/);
    }
  });

  it("invalid state in another unit's databag: the leader, which reads every databag, is blocked naming that unit and key", async () => {
    const world = await deployed();
    (world.databags["db/2"] ?? {}).state = "bogus";
    const run = await world.run("db/0", "update-status");
    expect(run.error).toBeNull();
    expect(world.unit("db/0").status.status).toBe("blocked");
    expect(world.unit("db/0").status.message).toMatch(/'state' in unit db\/2/);
    // an idle unit with nothing to decide reads only the application's databag: its own is in its memory, and a unit
    // that was not the leader in its last hook does not ask is-leader (issue 14)
    const idle = await world.run("db/1", "update-status");
    expect(idle.calls.map((call) => call.tool)).toEqual(["state-get", "relation-get"]);
    expect(idle.calls.filter((call) => call.tool === "relation-get").map((call) => call.args.at(-1))).toEqual(["db"]);
    expect(world.unit("db/1").status).toEqual({ status: "active", message: "" });
  });
});

describe("what a hook need not ask again: its memory keeps it (issue 14)", () => {
  const tools = (run: HookRun) => run.calls.map((call) => call.tool);
  const readBags = (run: HookRun) =>
    run.calls.filter((call) => call.tool === "relation-get").map((call) => call.args.at(-1));

  it("a unit that did not lead in its last hook asks is-leader again only in leader-elected, upgrade-charm and actions", async () => {
    const world = await deployed();
    expect(tools(await world.run("db/1", "update-status"))).not.toContain("is-leader");
    expect(tools(await world.run("db/1", "upgrade-relation-changed", "db/2"))).not.toContain("is-leader");
    expect(tools(await world.run("db/1", "upgrade-charm"))).toContain("is-leader");
    // Juju moves leadership to db/1 and runs leader-elected there: db/1 asks, and acts as the leader from then on
    world.leader = "db/1";
    const elected = await world.run("db/1", "leader-elected");
    expect(tools(elected)).toContain("is-leader");
    expect(elected.calls.some((call) => call.tool === "status-set" && call.args.includes("--application"))).toBe(true);
    expect(tools(await world.run("db/1", "update-status"))).toContain("is-leader");
    // db/0 led in its last hook: it asks, learns it no longer leads, and stops asking
    expect(tools(await world.run("db/0", "update-status"))).toContain("is-leader");
    expect(tools(await world.run("db/0", "update-status"))).not.toContain("is-leader");
  });

  it("a unit reads its own databag only in upgrade-charm and actions, where another charm may have written it", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    expect(readBags(await world.run("db/1", "update-status"))).toEqual(["db"]);
    // a refresh to another charm and back (the Python library's) left db/1's databag otherwise than db/1 kept it
    (world.databags["db/1"] ?? {}).state = "ready";
    const upgraded = await world.run("db/1", "upgrade-charm");
    expect(readBags(upgraded)).toContain("db/1");
    expect(readBags(await world.run("db/1", "update-status"))).toEqual(["db"]);
  });

  it("a copy of an own databag holding invalid data is not kept: the next hook reads it anew and sees it fixed", async () => {
    const world = await deployed();
    await world.settle();
    // a hook of another charm on db/1 left an invalid state; the upgrade-charm of ours reads it and reports it
    (world.databags["db/1"] ?? {}).state = " idle";
    const upgraded = await world.run("db/1", "upgrade-charm");
    const invalid = (hook: typeof upgraded) =>
      hook.calls.some(
        (call) => call.tool === "status-set" && call.args.some((arg) => arg.startsWith("Invalid 'state'")),
      );
    expect(invalid(upgraded)).toBe(true);
    // then the databag is valid again (`juju exec --unit db/1 -- relation-set`): the next hook reads it, not a copy
    (world.databags["db/1"] ?? {}).state = "idle";
    const next = await world.run("db/1", "update-status");
    expect(readBags(next)).toContain("db/1");
    expect(invalid(next)).toBe(false);
    expect(readBags(await world.run("db/1", "update-status"))).not.toContain("db/1");
  });

  it("leader-elected, upgrade-charm or an action with no peer relation to read forgets what was kept: the next hook asks", async () => {
    for (const hook of ["leader-elected", "upgrade-charm", "actions/resume-upgrade"]) {
      const world = new World("vm", 1);
      world.related = false;
      const kept = { ...EMPTY_MEMORY, leader: false, own: { state: "idle" }, members: ["db/1"] };
      world.unit("db/0").state[MEMORY_KEY] = encodeHookMemory(kept);
      await world.run("db/0", hook);
      const { memory } = readHookMemory(world.unit("db/0").state[MEMORY_KEY] ?? null);
      expect([memory.leader, memory.own, memory.members], hook).toEqual([null, null, null]);
    }
  });

  it("relation-list is asked once; -relation-departed takes its unit out of the members the hook reads", async () => {
    const world = await deployed();
    const first = await world.run("db/0", "update-status");
    expect(readBags(first)).toEqual(["db", "db/1", "db/2"]);
    const again = await world.run("db/0", "update-status");
    expect(tools(again)).not.toContain("relation-list");
    expect(readBags(again)).toEqual(["db", "db/1", "db/2"]);
    world.remove("db/2");
    const departed = await world.run("db/0", "upgrade-relation-departed", "db/2");
    expect(tools(departed)).not.toContain("relation-list");
    expect(readBags(departed)).toEqual(["db", "db/1"]);
    expect(readBags(await world.run("db/0", "update-status"))).toEqual(["db", "db/1"]);
  });
});

describe("failures and edge cases", () => {
  it("a failing hook tool surfaces as a HookToolError naming the tool and its stderr; nothing is committed", async () => {
    const world = new World("vm", 3);
    world.wrap = (runner) => async (tool, args, stdin) => {
      if (tool === "relation-set" && args.includes("--app"))
        throw new HookToolError(tool, args, "ERROR connection to controller lost", 1);
      return runner(tool, args, stdin);
    };
    const run = await world.run("db/0", "upgrade-relation-created");
    expect(run.error).toBeInstanceOf(HookToolError);
    expect((run.error as HookToolError).message).toMatch(/relation-set .*--app.*ERROR connection to controller lost/);
    expect(world.databags["db/0"]).toEqual({});
    expect(world.appData).toEqual({});
    // Juju retries the hook; this time it works
    world.wrap = (runner) => runner;
    expect((await world.run("db/0", "upgrade-relation-created")).error).toBeNull();
    expect(world.databags["db/0"]).toEqual({ state: "idle" });
  });

  it("pre-upgrade-check says it passed only once every other call of the hook succeeded (issue 12.7)", async () => {
    const world = await deployed();
    // Juju keeps an action's results when its hook then fails (context.go finalizeAction): the result must come
    // after everything that can fail in the hook, here the application status (refused, e.g. leadership lost).
    world.wrap = (runner) => async (tool, args, stdin) => {
      if (tool === "status-set" && args.includes("--application"))
        throw new HookToolError(tool, args, "ERROR this unit is not the leader", 1);
      return runner(tool, args, stdin);
    };
    const failed = await world.run("db/0", "actions/pre-upgrade-check");
    expect(failed.error).toBeInstanceOf(HookToolError);
    expect(failed.calls.some((call) => call.tool === "action-set")).toBe(false);
    expect(failed.action?.results).toEqual({});
    expect(world.appData["upgrade-stack"]).toBeUndefined();
    world.wrap = (runner) => runner;
    const passed = await world.run("db/0", "actions/pre-upgrade-check");
    expect(passed.error).toBeNull();
    expect(passed.calls.at(-1)?.tool).toBe("action-set");
    expect(String(passed.action?.results.message)).toMatch(/^Pre-upgrade check passed/);
    expect(world.appData["upgrade-stack"]).toBeDefined();
  });

  it("invalid DEPENDENCIES fail at once with a DependencyError; a machine charm needs buildUpgradeStack, a Kubernetes charm setPartition", () => {
    const base = { preUpgradeCheck: async () => {}, onUpgradeGranted: async (): Promise<GrantOutcome> => "completed" };
    const setPartition = async () => {};
    expect(() =>
      createUpgrade({ substrate: "k8s", dependencies: { workload: { name: "w" } }, setPartition, ...base }),
    ).toThrow(DependencyError);
    expect(() => createUpgrade({ substrate: "vm", dependencies: OLD, ...base } as unknown as UpgradeOptions)).toThrow(
      /buildUpgradeStack/,
    );
    // Without the partition every pod would restart at once on juju refresh: refused before any hook runs.
    const k8s = () => createUpgrade({ substrate: "k8s", dependencies: OLD, ...base } as unknown as UpgradeOptions);
    expect(k8s).toThrow(UpgradeError);
    expect(k8s).toThrow("setPartition() is required on Kubernetes");
    expect(createUpgrade({ substrate: "k8s", dependencies: OLD, setPartition, ...base }).substrate).toBe("k8s");
  });

  it("onUpgradeGranted resolving to nonsense fails the hook (loud, retried) instead of guessing", async () => {
    const world = await deployed(1);
    world.unit("db/0").grantOutcome = async () => "done" as unknown as GrantOutcome;
    await world.run("db/0", "actions/pre-upgrade-check");
    world.refresh(NEW);
    const run = await world.run("db/0", "upgrade-charm");
    expect(run.error).toBeInstanceOf(UpgradeError);
    expect(String((run.error as Error).message)).toContain('"done"');
    expect(world.databags["db/0"]?.state).toBe("idle");
  });

  it("the charm is granted at most once per hook, even when a replayed event and the current one both re-grant", async () => {
    const world = await deployed(1);
    let calls = 0;
    world.unit("db/0").grantOutcome = async () => {
      calls++;
      return "pending";
    };
    await world.run("db/0", "actions/pre-upgrade-check");
    world.refresh(NEW);
    await world.settle();
    expect(calls).toBe(1);
    world.unit("db/0").state[MEMORY_KEY] = encodeHookMemory({
      ...EMPTY_MEMORY,
      deferred: ["relationChanged", "leaderElected"],
    });
    const run = await world.run("db/0", "update-status");
    expect(run.result?.effects.filter((effect) => effect.type === "grantUpgrade")).toHaveLength(3);
    expect(calls).toBe(2);
    expect(deferredIn(world.unit("db/0").state)).toEqual([]);
  });

  it("an unreadable deferred-events store is logged and reset, not a failing hook forever", async () => {
    const world = await deployed(1);
    world.unit("db/0").state[MEMORY_KEY] = "not json";
    const run = await world.run("db/0", "update-status");
    expect(run.error).toBeNull();
    expect(logText(world.unit("db/0"))).toMatch(/WARNING Ignoring unreadable hook memory/);
    expect(readHookMemory(world.unit("db/0").state[MEMORY_KEY] ?? null).dropped).toBeNull();
  });

  it("hooks before the peer relation exists: upgrade-charm is deferred, relation-created runs first, then it replays", async () => {
    const world = new World("vm", 1);
    world.related = false;
    const early = await world.run("db/0", "upgrade-charm");
    expect(early.result?.deferred).toEqual(["upgradeCharm"]);
    expect(early.calls.map((call) => call.tool)).toEqual(["state-get", "relation-ids", "state-set"]);
    world.related = true;
    const created = await world.run("db/0", "upgrade-relation-created");
    expect(created.result?.state).toBe("idle");
    // no plan yet: the replayed upgrade-charm waits again, and says what to run
    expect(created.result?.deferred).toEqual(["upgradeCharm"]);
    expect(world.unit("db/0").status.message).toBe("Run pre-upgrade-check on the leader to start the upgrade");
  });

  it("`pending` grants again at the next hook, and the unit completes then", async () => {
    const world = await deployed(1);
    let calls = 0;
    world.unit("db/0").grantOutcome = async () => (++calls < 3 ? "pending" : "completed");
    await world.run("db/0", "actions/pre-upgrade-check");
    world.refresh(NEW);
    await world.settle();
    expect(world.databags["db/0"]?.state).toBe("upgrading");
    await world.run("db/0", "update-status");
    expect(world.databags["db/0"]?.state).toBe("upgrading");
    await world.run("db/0", "update-status");
    expect(world.databags["db/0"]?.state).toBe("idle");
    expect(calls).toBe(3);
  });
});

describe("Kubernetes", () => {
  it("a refused partition patch fails pre-upgrade-check with juju trust, commits nothing and fails no unit", async () => {
    const world = await deployed(3, "k8s");
    const refused = Object.assign(
      new KubernetesClientError(
        "Not allowed to patch StatefulSet db (403 Forbidden): run juju trust db --scope=cluster",
        "the charm is not trusted",
        "juju trust db --scope=cluster",
      ),
      { failure: "forbidden" },
    );
    world.unit("db/0").setPartition = async () => {
      throw refused;
    };
    const before = { ...world.appData };
    const status = { ...world.unit("db/0").status };
    const run = await world.run("db/0", "actions/pre-upgrade-check");
    expect(run.action?.failure).toBe(
      "Could not set the StatefulSet partition to 2, so nothing was planned: Not allowed to patch StatefulSet db (403 Forbidden): run juju trust db --scope=cluster. Run juju trust db --scope=cluster, then run pre-upgrade-check again.",
    );
    expect(world.appData).toEqual(before);
    expect(world.databags["db/0"]?.state).toBe("idle");
    expect(world.unit("db/0").status).toEqual(status);
    // trusted now: the same action plans
    world.unit("db/0").setPartition = async () => {};
    expect((await world.run("db/0", "actions/pre-upgrade-check")).action?.failure).toBeNull();
    expect(world.appData["upgrade-stack"]).toBe("[0, 1, 2]");
    expect(world.appData["upgrade-partition"]).toBe("2");
  });

  it("pre-upgrade-check refuses an untrusted charm with the juju trust resolution, before anything moves", async () => {
    const world = await deployed(3, "k8s");
    const partitions: number[] = [];
    world.unit("db/0").setPartition = async (partition) => {
      partitions.push(partition);
    };
    world.unit("db/0").checkTrust = async () => ({ allowed: false, reason: "cannot patch statefulsets.apps db" });
    const run = await world.run("db/0", "actions/pre-upgrade-check");
    expect(run.action?.failure).toBe(
      "The charm may not patch its StatefulSet (cannot patch statefulsets.apps db). Run: juju trust db --scope=cluster",
    );
    expect(world.checks).toEqual([]);
    expect(world.appData["upgrade-stack"]).toBeUndefined();
    expect(partitions).toEqual([]);
    world.unit("db/0").checkTrust = async () => ({ allowed: true });
    const trusted = await world.run("db/0", "actions/pre-upgrade-check");
    expect(trusted.action?.failure).toBeNull();
    expect(partitions).toEqual([2]);
  });

  it("the partition goes where the core says", async () => {
    const world = await deployed(3, "k8s");
    const partitions: number[] = [];
    world.unit("db/0").setPartition = async (partition) => {
      partitions.push(partition);
    };
    await world.run("db/0", "actions/pre-upgrade-check");
    expect(partitions).toEqual([2]);
  });
});

describe("beyond the original (pause policy, health gate, force-upgrade, application status)", () => {
  it("pause-after-unit-upgrade=first: machines wait after the first unit until resume-upgrade on the leader", async () => {
    const world = await deployed();
    world.configure("first");
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    expect(world.granted).toEqual(["db/2"]);
    expect(world.appStatus.status).toBe("waiting");
    expect(world.appStatus.message).toMatch(
      /^Paused \(1\/3 upgraded\): check them, then run resume-upgrade on db\/0; or roll back: juju refresh db/,
    );
    const resumed = await world.run("db/0", "actions/resume-upgrade");
    expect(resumed.action?.results).toMatchObject({ message: "Upgrade will resume on unit 1" });
    await world.settle();
    expect(world.granted).toEqual(["db/2", "db/1", "db/0"]);
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });

  it("the pause policy is read with config-get only in config-changed, upgrade-charm and actions; other hooks use the remembered value", async () => {
    const configGets = (run: HookRun) => run.calls.filter((call) => call.tool === "config-get");
    const world = await deployed();
    // Each unit read it once, in its first hook with the peer relation (its memory had no value yet).
    for (const name of ["db/0", "db/1", "db/2"])
      expect(world.runs.filter((run) => run.unit === name && configGets(run).length)).toHaveLength(1);
    const changed = await world.run("db/1", "upgrade-relation-changed", "db/0");
    expect(configGets(changed)).toEqual([]);
    const tick = await world.run("db/2", "update-status");
    expect(configGets(tick)).toEqual([]);
    for (const hook of ["config-changed", "upgrade-charm", "actions/pre-upgrade-check"]) {
      const run = await world.run("db/0", hook);
      expect(configGets(run).map((call) => call.args)).toEqual([["--format=json", "pause-after-unit-upgrade"]]);
    }
  });

  it("juju config takes effect through config-changed, before the next unit, with no config-get in relation hooks", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    const before = world.runs.length;
    world.configure("first");
    world.refresh(NEW);
    await world.settle();
    // Paused after the first unit: every unit ran config-changed (queued before upgrade-charm) and kept "first".
    expect(world.granted).toEqual(["db/2"]);
    expect(world.appStatus.message).toMatch(/^Paused \(1\/3 upgraded\)/);
    const reading = world.runs.slice(before).filter((run) => run.calls.some((call) => call.tool === "config-get"));
    expect(new Set(reading.map((run) => run.hook))).toEqual(new Set(["config-changed", "upgrade-charm"]));
    // `juju config … none`: config-changed on every unit, and the roll goes on without resume-upgrade.
    world.configure("none");
    await world.settle();
    expect(world.granted).toEqual(["db/2", "db/1", "db/0"]);
  });

  it("a memory written before the pause policy was remembered (an older revision) makes the next hook read it once", async () => {
    const world = await deployed();
    const memory = JSON.parse(world.unit("db/1").state[MEMORY_KEY] ?? "{}") as Record<string, unknown>;
    expect(memory.pause).toBe("none");
    delete memory.pause;
    world.unit("db/1").state[MEMORY_KEY] = JSON.stringify(memory);
    const first = await world.run("db/1", "upgrade-relation-changed", "db/0");
    expect(first.calls.filter((call) => call.tool === "config-get")).toHaveLength(1);
    const second = await world.run("db/1", "upgrade-relation-changed", "db/0");
    expect(second.calls.filter((call) => call.tool === "config-get")).toHaveLength(0);
  });

  it("the health gate: an unhealthy upgraded unit holds the roll, says so, and is retried on later hooks", async () => {
    const world = await deployed();
    let healthy = false;
    world.unit("db/2").grantOutcome = async () => (healthy ? "completed" : { pending: "replica lag 30s" });
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    expect(world.states()["db/2"]).toBe("upgrading");
    expect(world.unit("db/2").status.message).toMatch(
      /^Unhealthy: replica lag 30s\. Fix, or force-upgrade check-health=false( \| workload \S+ → \S+)? \| roll back: juju refresh db/,
    );
    expect(world.granted.filter((u) => u !== "db/2")).toEqual([]);
    healthy = true;
    await world.run("db/2", "update-status");
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });

  it("statuses show each unit's workload version and the exact rollback command, from the charm recorded at pre-upgrade-check", async () => {
    const world = await deployed();
    world.charmDir = mkdtempSync(join(tmpdir(), "charm-"));
    writeFileSync(join(world.charmDir, ".juju-charm"), "ch:amd64/jammy/db-381\n");
    world.configure("first");
    await world.run("db/0", "actions/pre-upgrade-check");
    expect(world.appData["upgrade-from-charm"]).toBe("ch:amd64/jammy/db-381");
    // juju refresh: the units now run revision 382; the rollback still goes to 381
    writeFileSync(join(world.charmDir, ".juju-charm"), "ch:amd64/jammy/db-382\n");
    world.refresh(NEW);
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "ready", "db/1": "ready", "db/2": "completed" });
    const statuses = ["db/0", "db/1", "db/2"].map((name) => world.unit(name).status.message);
    for (const message of [...statuses, world.appStatus.message]) {
      expect(message).toContain("juju refresh db --revision 381");
      expect(message.length).toBeLessThanOrEqual(120);
    }
    // what each runs: the charm revision it observes in .juju-charm, and the workload version
    expect(statuses[1]).toBe(
      "paused: run resume-upgrade on the leader | charm 382, workload 1.0.0 | roll back: juju refresh db --revision 381",
    );
    expect(statuses[2]).toBe(
      "upgrade completed | charm 382, workload 1.1.0 | roll back: juju refresh db --revision 381",
    );
    await world.run("db/0", "actions/resume-upgrade");
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    // over: the record is cleared and the statuses no longer speak of an upgrade
    expect(world.appData["upgrade-from-charm"] ?? "").toBe("");
    expect(["db/0", "db/1", "db/2"].map((name) => world.unit(name).status)).toEqual(
      Array(3).fill({ status: "active", message: "" }),
    );
  });

  it("the charm may report the running workload version itself", async () => {
    const world = await deployed(2);
    world.workloadVersion = () => "14.9-custom";
    world.configure("first");
    await world.run("db/0", "actions/pre-upgrade-check");
    world.refresh(NEW);
    await world.settle();
    expect(world.unit("db/0").status.message).toContain("| workload 14.9-custom |");
  });

  it("the version a unit upgraded to is recorded in the hook of its grant, with completed: one commit, not two (#14)", async () => {
    const world = new World("vm", 3);
    const installed = new Map<string, string>();
    for (const unit of world.units.values()) {
      installed.set(unit.name, "1.0.0");
      unit.workloadVersion = () => installed.get(unit.name) ?? "";
      unit.grantOutcome = async () => {
        installed.set(unit.name, "1.1.0");
        return "completed";
      };
    }
    await world.settle();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    const before = world.runs.length;
    world.refresh(NEW);
    await world.settle();
    for (const name of ["db/0", "db/1", "db/2"]) {
      const runs = world.runs.slice(before).filter((run) => run.unit === name);
      // the hook of its grant: it leaves `ready` (for `completed`, or `idle` when it is the last unit)
      const granted = runs.findIndex((run) => unitWrites(run).some((data) => data.state && data.state !== "ready"));
      // …writes what the unit observed after its upgrade along with its new state, in one relation-set…
      expect(unitWrites(runs[granted] as HookRun)).toEqual([
        { state: name === "db/0" ? "idle" : "completed", "upgrade-running-workload": "1.1.0" },
      ]);
      // …so no later hook of that unit writes the version again
      for (const run of runs.slice(granted + 1))
        expect(unitWrites(run).some((data) => "upgrade-running-workload" in data)).toBe(false);
      expect(world.databags[name]?.["upgrade-running-workload"]).toBe("1.1.0");
    }
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });

  it("a workload version the charm cannot give after its grant is unknown: completed is written, the version later", async () => {
    const world = new World("vm", 3);
    const installed = new Map<string, string>();
    // the charm's version report fails once, right after a grant (a workload still starting, say)
    let failNext = false;
    for (const unit of world.units.values()) {
      installed.set(unit.name, "1.0.0");
      unit.workloadVersion = () => {
        if (failNext) {
          failNext = false;
          throw new Error("workload --version timed out");
        }
        return installed.get(unit.name) ?? "";
      };
      unit.grantOutcome = async () => {
        installed.set(unit.name, "1.1.0");
        failNext = true;
        return "completed";
      };
    }
    await world.settle();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    const before = world.runs.length;
    world.refresh(NEW);
    await world.settle();
    for (const name of ["db/0", "db/1", "db/2"]) {
      const runs = world.runs.slice(before).filter((run) => run.unit === name);
      expect(runs.every((run) => run.error === null)).toBe(true);
      // the hook of its grant: it leaves `ready` (for `completed`, or `idle` when it is the last unit)
      const granted = runs.findIndex((run) => unitWrites(run).some((data) => data.state && data.state !== "ready"));
      // …which, the version being unknown after the grant, is the new state alone (the start-of-hook report was the
      // version already recorded)…
      expect(unitWrites(runs[granted] as HookRun)).toEqual([{ state: name === "db/0" ? "idle" : "completed" }]);
      // …and a later hook of the unit records the version the charm then reports
      expect(
        runs.slice(granted + 1).some((run) => unitWrites(run).some((d) => d["upgrade-running-workload"] === "1.1.0")),
      ).toBe(true);
      expect(world.databags[name]?.["upgrade-running-workload"]).toBe("1.1.0");
    }
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });

  it("force-upgrade check-health=false completes the waiting unit, and the skip is recorded in its databag", async () => {
    const world = await deployed();
    world.unit("db/2").grantOutcome = async () => ({ pending: "replica lag 30s" });
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    const none = await world.run("db/2", "actions/force-upgrade");
    expect(none.action?.failure).toMatch(/must skip at least one check/);
    const forced = await world.run("db/2", "actions/force-upgrade", undefined, { "check-health": false });
    expect(forced.action?.failure).toBeNull();
    expect(forced.action?.results).toMatchObject({ "skipped-checks": "health" });
    expect(world.databags["db/2"]?.["upgrade-skipped-checks"]).toBe('["health"]');
    expect(logText(world.unit("db/2"))).toMatch(/skipped the health check at the operator's request/);
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });

  it("force-upgrade check-compatibility=false lets the leader failed by the version check go on", async () => {
    const world = await deployed();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    const incompatible = {
      workload: { dependencies: {}, name: "workload", upgrade_supported: "^9", version: "9.0.0" },
    };
    world.refresh(incompatible);
    await world.settle();
    expect(world.states()["db/0"]).toBe("failed");
    expect(world.appStatus.status).toBe("blocked");
    const forced = await world.run("db/0", "actions/force-upgrade", undefined, { "check-compatibility": false });
    expect(forced.action?.results).toMatchObject({ "skipped-checks": "version-compatibility" });
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
  });
});

describe("the charm's own status: shown whenever the upgrade does not need to say something (#13.4)", () => {
  function withCharmStatus(world: World): void {
    for (const unit of world.units.values())
      unit.charmStatus = () => ({ status: "active", message: `${unit.name}: primary in sync` });
    world.charmAppStatus = () => ({ status: "active", message: "3 replicas in sync" });
  }

  it("an idle unit shows the charm's status, not the library's empty active", async () => {
    const world = new World("vm", 3);
    withCharmStatus(world);
    await world.settle();
    for (const unit of world.units.values())
      expect(unit.status).toEqual({ status: "active", message: `${unit.name}: primary in sync` });
    expect(world.appStatus).toEqual({ status: "active", message: "3 replicas in sync" });
  });

  it("mid-upgrade the upgrade's status wins; when the upgrade ends the charm's comes back (the original left active \"\")", async () => {
    const world = new World("vm", 3);
    withCharmStatus(world);
    await world.settle();
    await world.run("db/0", "actions/pre-upgrade-check");
    await world.settle();
    world.refresh(NEW);
    // once it ran upgrade-charm a unit is mid-upgrade, and says so
    await world.run("db/1", "upgrade-charm");
    expect(world.unit("db/1").status.status).toBe("waiting");
    expect(world.unit("db/1").status.message).not.toContain("primary in sync");
    // while an upgrade is planned the application status is the upgrade's
    expect(world.appStatus.message).toMatch(/^Upgrade planned: run juju refresh db/);
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle", "db/2": "idle" });
    for (const unit of world.units.values())
      expect(unit.status).toEqual({ status: "active", message: `${unit.name}: primary in sync` });
    expect(world.appStatus).toEqual({ status: "active", message: "3 replicas in sync" });
  });

  it("an upgrade that needs the operator wins even on an idle unit (refresh before pre-upgrade-check)", async () => {
    const world = new World("vm", 2);
    withCharmStatus(world);
    await world.settle();
    world.refresh(NEW);
    await world.settle();
    expect(world.states()).toEqual({ "db/0": "idle", "db/1": "idle" });
    for (const unit of world.units.values())
      expect(unit.status).toEqual({
        status: "blocked",
        message: "Run pre-upgrade-check on the leader to start the upgrade",
      });
  });

  it("a new charm status is set in the next hook, once, and an invalid or throwing status() counts as nothing to say", async () => {
    const world = new World("vm", 1);
    withCharmStatus(world);
    await world.settle();
    const unit = world.unit("db/0");
    unit.charmStatus = () => ({ status: "maintenance", message: "compacting" });
    const first = await world.run("db/0", "update-status");
    expect(
      first.calls.filter((call) => call.tool === "status-set" && !call.args.includes("--application")),
    ).toHaveLength(1);
    expect(unit.status).toEqual({ status: "maintenance", message: "compacting" });
    const again = await world.run("db/0", "update-status");
    expect(again.calls.filter((call) => call.tool === "status-set")).toEqual([]);
    unit.charmStatus = () => ({ status: "error", message: "x" }) as never;
    const invalid = await world.run("db/0", "update-status");
    expect(invalid.error).toBeNull();
    expect(unit.status).toEqual({ status: "maintenance", message: "compacting" });
    unit.charmStatus = () => {
      throw new Error("workload down");
    };
    expect((await world.run("db/0", "update-status")).error).toBeNull();
  });
});
