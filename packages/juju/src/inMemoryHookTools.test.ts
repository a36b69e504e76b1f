import { describe, expect, it } from "vitest";
import { HookToolError, HookTools } from "./hookTools.js";
import type { InMemoryModel } from "./inMemoryHookTools.js";
import { createInMemoryModel, InMemoryHookTools } from "./inMemoryHookTools.js";

const relation = { name: "upgrade", id: 7 };

/** Three units sharing their databags, as the simulator shares them between the models of its units. */
function cluster(unit: string, leader: boolean) {
  const databags = { "db/0": { state: "idle" }, "db/1": { state: "idle" }, "db/10": { state: "idle" } };
  const appData: Record<string, string> = { "upgrade-stack": "[0, 1, 10]" };
  const model = createInMemoryModel({ unit, leader, relation, databags, appData });
  const juju = new InMemoryHookTools(model);
  return { model, juju, tools: new HookTools(juju.run) };
}

async function failure(promise: Promise<unknown>): Promise<HookToolError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HookToolError);
  return error as HookToolError;
}

describe("InMemoryHookTools: the Juju rules", () => {
  it("only the leader may write the application databag: `ERROR cannot write relation settings`, like jujuc relation-set", async () => {
    const follower = cluster("db/1", false);
    const error = await failure(follower.tools.relationSet(7, { "upgrade-stack": "[]" }, { app: true }));
    expect(error.stderr).toBe("ERROR cannot write relation settings");
    expect(error.exitCode).toBe(1);
    follower.juju.commit();
    expect(follower.model.appData["upgrade-stack"]).toBe("[0, 1, 10]");

    const leader = cluster("db/0", true);
    await leader.tools.relationSet(7, { "upgrade-stack": "[0, 1]" }, { app: true });
    expect(leader.juju.commit()).toEqual({ unitChanged: false, appChanged: true, stateChanged: false });
    expect(leader.model.appData["upgrade-stack"]).toBe("[0, 1]");
  });

  it("a unit writes only its own databag: relation-set has no way to name another unit", async () => {
    const { model, juju, tools } = cluster("db/1", false);
    await tools.relationSet(7, { state: "ready" });
    // the closest a caller can get to "another unit": arguments relation-set does not take
    await failure(juju.run("relation-set", ["-r", "7", "--unit", "db/0", "--file", "-"], '{"state":"failed"}'));
    juju.commit();
    expect(model.databags).toEqual({
      "db/0": { state: "idle" },
      "db/1": { state: "ready" },
      "db/10": { state: "idle" },
    });
  });

  it("relation writes are buffered: the unit sees its own pending writes, nobody else does until commit", async () => {
    const { model, juju, tools } = cluster("db/1", false);
    await tools.relationSet(7, { state: "upgrading" });
    expect(await tools.relationGet(7, "db/1")).toEqual({ state: "upgrading" });
    expect(model.databags["db/1"]).toEqual({ state: "idle" });
    // another unit reading the shared model during this hook sees the committed value
    const other = new HookTools(new InMemoryHookTools({ ...model, unit: "db/0" } as InMemoryModel).run);
    expect(await other.relationGet(7, "db/1")).toEqual({ state: "idle" });
    expect(juju.commit().unitChanged).toBe(true);
    expect(model.databags["db/1"]).toEqual({ state: "upgrading" });
  });

  it("a failed hook commits nothing: discard drops relation and state writes", async () => {
    const leader = cluster("db/0", true);
    await leader.tools.relationSet(7, { state: "failed" });
    await leader.tools.relationSet(7, { "upgrade-stack": "[]" }, { app: true });
    await leader.tools.stateSet("charm-upgrade.deferred", '["upgradeCharm"]');
    leader.juju.discard();
    expect(leader.model.databags["db/0"]).toEqual({ state: "idle" });
    expect(leader.model.appData).toEqual({ "upgrade-stack": "[0, 1, 10]" });
    expect(leader.model.state).toEqual({});
    await failure(leader.tools.isLeader()); // the hook has ended: its tools are gone
  });

  it("the leader reads its pending app writes; other units read the committed app databag", async () => {
    const leader = cluster("db/0", true);
    await leader.tools.relationSet(7, { "upgrade-stack": "[0, 1]" }, { app: true });
    expect(await leader.tools.relationGet(7, "db", { app: true })).toEqual({ "upgrade-stack": "[0, 1]" });
    const follower = new HookTools(new InMemoryHookTools({ ...leader.model, unit: "db/1", leader: false }).run);
    expect(await follower.relationGet(7, "db", { app: true })).toEqual({ "upgrade-stack": "[0, 1, 10]" });
    // --app with a unit name reads that unit's application, as Juju does
    expect(await follower.relationGet(7, "db/1", { app: true })).toEqual({ "upgrade-stack": "[0, 1, 10]" });
  });

  it("an empty value deletes a key, and a write of an unchanged value changes nothing", async () => {
    const { model, juju, tools } = cluster("db/1", false);
    await tools.relationSet(7, { state: "idle" });
    expect(juju.commit()).toEqual({ unitChanged: false, appChanged: false, stateChanged: false });
    const next = new InMemoryHookTools(model);
    await new HookTools(next.run).relationSet(7, { state: "" });
    expect(next.commit().unitChanged).toBe(true);
    expect(model.databags["db/1"]).toEqual({});
  });

  it("answers with the real tools' JSON: relation-ids `name:id`, relation-list without self (sort.Strings order), sorted keys", async () => {
    const { juju } = cluster("db/1", false);
    expect((await juju.run("relation-ids", ["--format=json", "upgrade"])).stdout).toBe('["upgrade:7"]\n');
    expect((await juju.run("relation-ids", ["--format=json", "other"])).stdout).toBe("[]\n");
    expect((await juju.run("relation-list", ["--format=json", "-r", "7"])).stdout).toBe('["db/0","db/10"]\n');
    await juju.run("relation-set", ["-r", "7", "--file", "-"], '{"z":"1","a":"2"}');
    expect((await juju.run("relation-get", ["--format=json", "-r", "7", "-", "db/1"])).stdout).toBe(
      '{"a":"2","state":"idle","z":"1"}\n',
    );
    expect((await juju.run("relation-get", ["--format=json", "-r", "7", "state", "db/0"])).stdout).toBe('"idle"\n');
    expect((await juju.run("is-leader", ["--format=json"])).stdout).toBe("false\n");
    expect((await juju.run("state-get", ["--format=json"])).stdout).toBe("null\n");
    expect((await juju.run("state-get", ["--format=json", "missing"])).stdout).toBe('""\n');
  });

  it("rejects what Juju rejects: unknown relation, unknown unit, unknown tool, bad status, non-leader app status", async () => {
    const { tools, juju } = cluster("db/1", false);
    expect((await failure(tools.relationGet(9, "db/0"))).stderr).toMatch(/relation not found/);
    expect((await failure(tools.relationGet(7, "db/5"))).stderr).toMatch(/settings not found/);
    expect((await failure(juju.run("leader-set", ["a=b"]))).exitCode).toBe(127);
    expect((await failure(juju.run("status-set", ["--", "happy", "x"]))).stderr).toMatch(/invalid status/);
    expect((await failure(tools.statusSet("active", "", { application: true }))).stderr).toMatch(/not the leader/);
    expect((await failure(tools.actionFail("x"))).stderr).toBe("ERROR not running an action");
    expect((await failure(juju.run("relation-get", ["-r", "7", "-", "db/0"]))).stderr).toMatch(/--format=json/);
  });

  it("server-side state is buffered like relation data and visible to the hook itself", async () => {
    const { model, juju, tools } = cluster("db/1", false);
    await tools.stateSet("k", "v");
    expect(await tools.stateGet("k")).toBe("v");
    expect(model.state).toEqual({});
    expect(juju.commit().stateChanged).toBe(true);
    expect(model.state).toEqual({ k: "v" });
  });

  it("status, logs and action results take effect at once", async () => {
    const model = createInMemoryModel({ unit: "db/0", leader: true, relation, action: { name: "pre-upgrade-check" } });
    const juju = new InMemoryHookTools(model);
    const tools = new HookTools(juju.run);
    await tools.statusSet("blocked", "ready to rollback application");
    expect(await tools.statusGet()).toEqual({ status: "blocked", message: "ready to rollback application" });
    await tools.jujuLog("ERROR", "-dash");
    await tools.actionSet({ message: "ok", "upgrade-order": "db/1, db/0" });
    await tools.actionFail("Cannot run pre-upgrade checks");
    await failure(tools.actionSet({ stdout: "reserved" }));
    juju.discard();
    expect(model.status).toEqual({ status: "blocked", message: "ready to rollback application" });
    expect(model.logs).toEqual([{ level: "ERROR", message: "-dash" }]);
    expect(model.action).toMatchObject({
      results: { message: "ok", "upgrade-order": "db/1, db/0" },
      failure: "Cannot run pre-upgrade checks",
    });
    expect(juju.calls.map((call) => call.tool)).toEqual([
      "status-set",
      "status-get",
      "juju-log",
      "action-set",
      "action-fail",
      "action-set",
    ]);
  });

  it("relation-list prints only the units met; relation-get still reads a unit not met yet", async () => {
    const databags = { "db/0": {}, "db/1": { state: "idle" }, "db/2": { state: "ready" } };
    const model = createInMemoryModel({ unit: "db/0", relation, databags, metUnits: ["db/1"] });
    const tools = new HookTools(new InMemoryHookTools(model).run);
    expect(await tools.relationList(7)).toEqual(["db/1"]);
    expect(await tools.relationGet(7, "db/2")).toEqual({ state: "ready" });
    // by default every other unit with a databag has been met, as before
    const everyone = createInMemoryModel({ unit: "db/0", relation, databags });
    expect(await new HookTools(new InMemoryHookTools(everyone).run).relationList(7)).toEqual(["db/1", "db/2"]);
  });

  it("-r takes the number after the last colon, whatever the name before it (jujuc relationIdValue)", async () => {
    const { juju } = cluster("db/1", false);
    expect((await juju.run("relation-list", ["--format=json", "-r", "anything:7"])).stdout).toBe('["db/0","db/10"]\n');
    expect(juju.invoke("relation-list", ["--format=json", "-r", "upgrade:x"])).toEqual({
      stdout: "",
      stderr: 'ERROR invalid value "upgrade:x" for option -r: invalid relation id\n',
      exitCode: 2,
    });
  });

  it("state-set keeps an empty value (only state-delete deletes), as Juju's SetCharmStateValue", async () => {
    const { model, juju } = cluster("db/1", false);
    await juju.run("state-set", ["--file", "-"], '{"a":"","b":"x"}');
    expect((await juju.run("state-get", ["--format=json"])).stdout).toBe('{"a":"","b":"x"}\n');
    await juju.run("state-delete", ["b"]);
    juju.commit();
    expect(model.state).toEqual({ a: "" });
  });

  it("an application status no leader ever set reads as the most severe unit status, until the leader sets one", async () => {
    const model = createInMemoryModel({
      unit: "db/0",
      leader: true,
      relation,
      status: { status: "active", message: "" },
      appStatusNeverSet: true,
      unitStatuses: { "db/1": { status: "blocked", message: "disk full" } },
    });
    const tools = new HookTools(new InMemoryHookTools(model).run);
    expect(await tools.statusGet({ application: true })).toEqual({ status: "blocked", message: "disk full" });
    await tools.statusSet("active", "upgrade completed", { application: true });
    expect(await tools.statusGet({ application: true })).toEqual({ status: "active", message: "upgrade completed" });
    expect(model.appStatusNeverSet).toBe(false);
  });

  it("goal-state lists the application's units with their workload status, peer relations left out", async () => {
    const model = createInMemoryModel({
      unit: "db/0",
      relation,
      databags: { "db/0": {}, "db/1": {} },
      status: { status: "active", message: "" },
      unitStatuses: { "db/1": { status: "maintenance", message: "" }, "db/2": { status: "waiting", message: "" } },
    });
    const juju = new InMemoryHookTools(model);
    expect((await juju.run("goal-state", ["--format=json"])).stdout).toBe(
      '{"units":{"db/0":{"status":"active"},"db/1":{"status":"maintenance"},"db/2":{"status":"waiting"}},"relations":{}}\n',
    );
  });
});

describe("InMemoryHookTools: argument checks as jujuc's Init makes them (exit code 2, before Run)", () => {
  const action = () =>
    new InMemoryHookTools(createInMemoryModel({ unit: "db/0", action: { name: "pre-upgrade-check" } }));

  it("action-set checks every dotted segment against the action-name rule and the reserved keys (jujuc/action-set.go Init)", () => {
    const juju = action();
    expect(juju.invoke("action-set", ["a.stderr=1"])).toEqual({
      stdout: "",
      stderr: 'ERROR cannot set reserved action key "stderr"\n',
      exitCode: 2,
    });
    expect(juju.invoke("action-set", ["foo.Bar=1"]).stderr).toBe(
      'ERROR key "Bar" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods\n',
    );
    expect(juju.invoke("action-set", ["result"]).stderr).toBe(
      'ERROR argument "result" must be of the form key...=value\n',
    );
    // nothing is set when any argument is invalid; later arguments overwrite earlier ones; "=" may be in the value
    expect(juju.model.action?.results).toEqual({});
    expect(juju.invoke("action-set", ["a=1", "a=2", "out.file=x=y"]).exitCode).toBe(0);
    expect(juju.model.action?.results).toEqual({ a: "2", "out.file": "x=y" });
  });

  it("Init's errors come before Run's: a missing message is reported even outside an action (action-log, action-fail)", () => {
    const hook = new InMemoryHookTools(createInMemoryModel({ unit: "db/0" }));
    expect(hook.invoke("action-log", [])).toMatchObject({ stderr: "ERROR no message specified\n", exitCode: 2 });
    expect(hook.invoke("action-log", ["hello"])).toMatchObject({
      stderr: "ERROR not running an action\n",
      exitCode: 1,
    });
    expect(hook.invoke("action-fail", ["a", "b"])).toMatchObject({ exitCode: 2 });
  });

  it("state-delete without a key does nothing (jujuc/state-delete.go Run); a second argument is refused", () => {
    const juju = new InMemoryHookTools(createInMemoryModel({ unit: "db/0", state: { k: "v" } }));
    expect(juju.invoke("state-delete", [])).toEqual({ stdout: "", stderr: "", exitCode: 0 });
    expect(juju.invoke("state-delete", ["k", "x"])).toMatchObject({
      stderr: 'ERROR unrecognized args: ["x"]\n',
      exitCode: 2,
    });
    expect(juju.commit().stateChanged).toBe(false);
  });
});
