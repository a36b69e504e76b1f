import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { HookToolRunner } from "./hookTools.js";
import { createExecFileRunner, HookToolError, HookTools } from "./hookTools.js";

/**
 * The production runner against real executables: shell scripts named like the hook tools that record their argv
 * (NUL-separated, so spaces and newlines survive) and stdin, print a canned answer, or fail like Juju's tools.
 */
const TOOLS = [
  "relation-ids",
  "relation-list",
  "relation-get",
  "relation-set",
  "is-leader",
  "status-set",
  "status-get",
  "action-get",
  "action-set",
  "action-fail",
  "action-log",
  "juju-log",
  "application-version-set",
  "state-get",
  "state-set",
  "goal-state",
];

const SCRIPT = `#!/bin/sh
tool=$(basename "$0")
printf '%s\\0' "$@" > "$RECORD/$tool.argv"
cat > "$RECORD/$tool.stdin"
if [ -f "$RECORD/$tool.fail" ]; then cat "$RECORD/$tool.fail" >&2; exit 1; fi
if [ -f "$RECORD/$tool.out" ]; then cat "$RECORD/$tool.out"; fi
exit 0
`;

let bin = "";
let record = "";
let runner: HookToolRunner;
let tools: HookTools;

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), "hook-tools-bin-"));
  record = mkdtempSync(join(tmpdir(), "hook-tools-record-"));
  for (const tool of TOOLS) {
    writeFileSync(join(bin, tool), SCRIPT);
    chmodSync(join(bin, tool), 0o755);
  }
  runner = createExecFileRunner({ env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, RECORD: record } });
  tools = new HookTools(runner);
});

afterAll(() => {
  rmSync(bin, { recursive: true, force: true });
  rmSync(record, { recursive: true, force: true });
});

beforeEach(() => {
  for (const tool of TOOLS)
    for (const ext of ["argv", "stdin", "out", "fail"]) rmSync(join(record, `${tool}.${ext}`), { force: true });
});

const answer = (tool: string, stdout: string) => writeFileSync(join(record, `${tool}.out`), stdout);
const argv = (tool: string) =>
  readFileSync(join(record, `${tool}.argv`), "utf8")
    .split("\0")
    .slice(0, -1);
const stdin = (tool: string) => readFileSync(join(record, `${tool}.stdin`), "utf8");

describe("the production execFile runner, against real executables", () => {
  it("relation-ids: --format=json and the endpoint; ids parsed from `name:id`", async () => {
    answer("relation-ids", '["upgrade:7"]\n');
    expect(await tools.relationIds("upgrade")).toEqual([7]);
    expect(argv("relation-ids")).toEqual(["--format=json", "upgrade"]);
  });

  it("relation-list: --format=json -r <id>", async () => {
    answer("relation-list", '["db/1","db/2"]\n');
    expect(await tools.relationList(7)).toEqual(["db/1", "db/2"]);
    expect(argv("relation-list")).toEqual(["--format=json", "-r", "7"]);
  });

  it("relation-get: a unit's databag with `- <unit>`, the app's with --app", async () => {
    answer("relation-get", '{"state":"idle"}\n');
    expect(await tools.relationGet(7, "db/1")).toEqual({ state: "idle" });
    expect(argv("relation-get")).toEqual(["--format=json", "-r", "7", "-", "db/1"]);
    answer("relation-get", '{"upgrade-stack":"[0, 1]"}\n');
    expect(await tools.relationGet(7, "db", { app: true })).toEqual({ "upgrade-stack": "[0, 1]" });
    expect(argv("relation-get")).toEqual(["--format=json", "-r", "7", "--app", "-", "db"]);
  });

  it("relation-set: values go through --file - on stdin, so size is no limit; --app for the app databag", async () => {
    const big = "x".repeat(300_000);
    await tools.relationSet(7, { state: "ready", blob: big });
    expect(argv("relation-set")).toEqual(["-r", "7", "--file", "-"]);
    expect(JSON.parse(stdin("relation-set"))).toEqual({ state: "ready", blob: big });
    await tools.relationSet(7, { "upgrade-stack": "[0, 2, 1]" }, { app: true });
    expect(argv("relation-set")).toEqual(["-r", "7", "--app", "--file", "-"]);
    expect(JSON.parse(stdin("relation-set"))).toEqual({ "upgrade-stack": "[0, 2, 1]" });
  });

  it("is-leader: --format=json", async () => {
    answer("is-leader", "true\n");
    expect(await tools.isLeader()).toBe(true);
    expect(argv("is-leader")).toEqual(["--format=json"]);
  });

  it("status-set and status-get", async () => {
    await tools.statusSet("blocked", "-leading dash is a message, not a flag");
    expect(argv("status-set")).toEqual(["--", "blocked", "-leading dash is a message, not a flag"]);
    await tools.statusSet("active", "", { application: true });
    expect(argv("status-set")).toEqual(["--application", "--", "active", ""]);
    answer("status-get", '{"message":"upgrading...","status":"maintenance","status-data":{}}\n');
    expect(await tools.statusGet()).toEqual({ status: "maintenance", message: "upgrading..." });
    expect(argv("status-get")).toEqual(["--include-data", "--format=json"]);
  });

  it("status-get --application: the application's status nested under application-status, beside the units", async () => {
    answer(
      "status-get",
      '{"application-status":{"message":"paused","status":"blocked","status-data":{},"units":{"db/0":{"message":"","status":"active","status-data":{}}}}}\n',
    );
    expect(await tools.statusGet({ application: true })).toEqual({ status: "blocked", message: "paused" });
    expect(argv("status-get")).toEqual(["--application", "--include-data", "--format=json"]);
    // the unit format is not the application's: the hook fails rather than reading a wrong status
    answer("status-get", '{"message":"paused","status":"blocked","status-data":{}}\n');
    await expect(tools.statusGet({ application: true })).rejects.toThrow(/application-status/);
  });

  it("empty output, or null where Juju always prints a list or a map, is a HookToolError, never empty data", async () => {
    for (const out of ["", "\n", "null\n"]) {
      answer("relation-list", out);
      await expect(tools.relationList(7)).rejects.toBeInstanceOf(HookToolError);
      answer("relation-ids", out);
      await expect(tools.relationIds("upgrade")).rejects.toBeInstanceOf(HookToolError);
      answer("relation-get", out);
      await expect(tools.relationGet(7, "db/1")).rejects.toBeInstanceOf(HookToolError);
      answer("action-get", out);
      await expect(tools.actionGet()).rejects.toBeInstanceOf(HookToolError);
    }
    answer("relation-list", "");
    await expect(tools.relationList(7)).rejects.toThrow(/printed nothing/);
    // a setter that prints something on stdout prints what Juju never prints
    answer("status-set", "surprise\n");
    await expect(tools.statusSet("active", "")).rejects.toThrow(/where Juju prints nothing/);
  });

  it("action tools", async () => {
    answer("action-get", '{"force":true}\n');
    expect(await tools.actionGet()).toEqual({ force: true });
    expect(argv("action-get")).toEqual(["--format=json"]);
    await tools.actionSet({ message: "Upgrade will resume on unit 1", "upgrade-order": "db/2, db/1" });
    expect(argv("action-set")).toEqual(["message=Upgrade will resume on unit 1", "upgrade-order=db/2, db/1"]);
    await tools.actionFail("Action must be run on the Juju leader unit");
    expect(argv("action-fail")).toEqual(["--", "Action must be run on the Juju leader unit"]);
    await tools.actionLog("checking replicas");
    expect(argv("action-log")).toEqual(["--", "checking replicas"]);
  });

  it("juju-log, application-version-set", async () => {
    await tools.jujuLog("WARNING", "why: db/2 upgrades before db/1");
    expect(argv("juju-log")).toEqual(["--log-level", "WARNING", "--", "why: db/2 upgrades before db/1"]);
    await tools.applicationVersionSet("14.9");
    expect(argv("application-version-set")).toEqual(["--", "14.9"]);
  });

  it("state-get --format=json <key> and state-set --file - (JSON is YAML)", async () => {
    answer("state-get", '"[\\"upgradeCharm\\"]"\n');
    expect(await tools.stateGet("charm-upgrade.deferred")).toBe('["upgradeCharm"]');
    expect(argv("state-get")).toEqual(["--format=json", "charm-upgrade.deferred"]);
    answer("state-get", '""\n');
    expect(await tools.stateGet("missing")).toBeNull();
    await tools.stateSet("charm-upgrade.deferred", "[]");
    expect(argv("state-set")).toEqual(["--file", "-"]);
    expect(JSON.parse(stdin("state-set"))).toEqual({ "charm-upgrade.deferred": "[]" });
  });

  it("goal-state --format=json: units and relations, since kept as Juju formats it", async () => {
    answer(
      "goal-state",
      '{"units":{"db/0":{"status":"active","since":"2025-03-01 10:00:00Z"},"db/3":{"status":"waiting"}},"relations":{}}\n',
    );
    expect(await tools.goalState()).toEqual({
      units: { "db/0": { status: "active", since: "2025-03-01 10:00:00Z" }, "db/3": { status: "waiting" } },
      relations: {},
    });
    expect(argv("goal-state")).toEqual(["--format=json"]);
  });

  it("passes arguments without a shell: nothing is expanded or executed", async () => {
    const canary = join(record, "pwned");
    const nasty = `$(touch ${canary}); \`touch ${canary}\` 'quoted' "double" a b\nnewline *`;
    await tools.jujuLog("INFO", nasty);
    expect(argv("juju-log")).toEqual(["--log-level", "INFO", "--", nasty]);
    expect(existsSync(canary)).toBe(false);
  });

  it("a failing tool rejects with a HookToolError naming the tool, its arguments, stderr and exit code", async () => {
    writeFileSync(join(record, "relation-get.fail"), "ERROR boom\n");
    const error = await tools.relationGet(7, "db/1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookToolError);
    const failure = error as HookToolError;
    expect(failure.tool).toBe("relation-get");
    expect(failure.args).toEqual(["--format=json", "-r", "7", "-", "db/1"]);
    expect(failure.stderr).toBe("ERROR boom");
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toContain("relation-get --format=json -r 7 - db/1");
    expect(failure.message).toContain("ERROR boom");
  });

  it("a missing tool rejects with exit code 127 and says it was not found", async () => {
    const error = (await runner("no-such-hook-tool", ["x"]).catch((e: unknown) => e)) as HookToolError;
    expect(error).toBeInstanceOf(HookToolError);
    expect(error.exitCode).toBe(127);
    expect(error.message).toMatch(/no-such-hook-tool: command not found/);
  });

  it("output that is not what the tool should print is a HookToolError too", async () => {
    answer("is-leader", "True\n");
    await expect(tools.isLeader()).rejects.toThrow(/is-leader --format=json.*not JSON/);
    answer("relation-get", '{"state":1}\n');
    await expect(tools.relationGet(7, "db/1")).rejects.toBeInstanceOf(HookToolError);
  });
});
