import { describe, expect, it } from "vitest";
import { HookToolError } from "./hookToolError.js";
import { HookTools } from "./hookTools.js";
import { createInMemoryModel, InMemoryHookTools } from "./inMemoryHookTools.js";
import { callSync, toolCalls } from "./toolCall.js";

const relation = { name: "upgrade", id: 7 };

describe("toolCalls: one invocation as data, driven synchronously or asynchronously", () => {
  it("builds the command line and stdin without running anything", () => {
    const call = toolCalls.relationSet(7, { state: "idle" }, { app: true });
    expect(call.tool).toBe("relation-set");
    expect(call.args).toEqual(["-r", "7", "--app", "--file", "-"]);
    expect(call.stdin).toBe('{"state":"idle"}');
    expect(toolCalls.relationGet(7, "db/1").args).toEqual(["--format=json", "-r", "7", "-", "db/1"]);
    expect(toolCalls.goalState()).toMatchObject({ tool: "goal-state", args: ["--format=json"] });
  });

  it("callSync over runSync gives what HookTools.call gives over run", async () => {
    const databags = { "db/0": { state: "idle" }, "db/1": { state: "ready" } };
    const juju = new InMemoryHookTools(createInMemoryModel({ unit: "db/0", leader: true, relation, databags }));
    expect(callSync(juju.runSync, toolCalls.relationGet(7, "db/1"))).toEqual({ state: "ready" });
    expect(await new HookTools(juju.run).call(toolCalls.relationGet(7, "db/1"))).toEqual({ state: "ready" });
    expect(callSync(juju.runSync, toolCalls.isLeader())).toBe(true);
    callSync(juju.runSync, toolCalls.relationSet(7, { state: "upgrading" }));
    expect(callSync(juju.runSync, toolCalls.relationGet(7, "db/0"))).toEqual({ state: "upgrading" });
    expect(juju.calls.map((c) => c.tool)).toEqual([
      "relation-get",
      "relation-get",
      "is-leader",
      "relation-set",
      "relation-get",
    ]);
  });

  it("runSync throws the HookToolError that run rejects with", async () => {
    const juju = new InMemoryHookTools(createInMemoryModel({ unit: "db/1", relation }));
    expect(() => callSync(juju.runSync, toolCalls.relationSet(7, { a: "b" }, { app: true }))).toThrow(HookToolError);
    await expect(juju.run("relation-set", ["-r", "7", "--app", "--file", "-"], "{}")).rejects.toBeInstanceOf(
      HookToolError,
    );
  });

  it("goal-state lists the units with a databag by default, or the model's goal units", async () => {
    const databags = { "db/0": {}, "db/1": {} };
    const model = createInMemoryModel({ unit: "db/0", relation, databags, status: { status: "active", message: "" } });
    const tools = new HookTools(new InMemoryHookTools(model).run);
    expect(await tools.goalState()).toEqual({
      units: { "db/0": { status: "active" }, "db/1": { status: "unknown" } },
      relations: {},
    });
    model.goalUnits = { "db/0": { status: "active" }, "db/1": { status: "active" }, "db/2": { status: "waiting" } };
    expect(Object.keys((await tools.goalState()).units)).toEqual(["db/0", "db/1", "db/2"]);
  });
});
