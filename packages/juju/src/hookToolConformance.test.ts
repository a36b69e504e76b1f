import { describe, expect, it } from "vitest";
import type { StatusInfo } from "./hookTools.js";
import { HookTools } from "./hookTools.js";
import type { HookToolDriver, HookToolFixture } from "./testing/index.js";
import {
  createReplayRunner,
  driverMismatches,
  inMemoryDriver,
  loadHookToolFixtures,
  typedCallMismatches,
  uncoveredCalls,
} from "./testing/index.js";
import { toolCalls } from "./toolCall.js";

/**
 * The hook-tool conformance suite: every recording of what Juju 3 prints (fixtures/hook-tools) against both sides of
 * the port. The in-memory tools must print the same bytes and exit code; the production HookTools, fed the recorded
 * output by a replaying runner, must return what it means or throw the HookToolError it must.
 */
const fixtures = loadHookToolFixtures();
const named = (name: string): HookToolFixture => {
  const fixture = fixtures.find((f) => f.name === name);
  if (!fixture) throw new Error(`no fixture named ${JSON.stringify(name)}`);
  return fixture;
};

describe("hook-tool conformance: the in-memory tools print what Juju prints", () => {
  it.each(fixtures.map((f) => [`${f.file}: ${f.name}`, f] as const))("%s", async (_, fixture) => {
    expect(await driverMismatches(fixture, inMemoryDriver)).toEqual([]);
  });
});

describe("hook-tool conformance: HookTools reads what Juju prints", () => {
  const typed = fixtures.filter((f) => f.call);
  it.each(typed.map((f) => [`${f.file}: ${f.name}`, f] as const))("%s", async (_, fixture) => {
    expect(await typedCallMismatches(fixture)).toEqual([]);
  });

  it("every toolCalls builder and every HookTools method is covered by at least one fixture", () => {
    expect(uncoveredCalls(fixtures)).toEqual({ builders: [], methods: [] });
  });

  it("every fixture file has a case, and every fixture names its Juju source", () => {
    expect(fixtures.length).toBeGreaterThan(40);
    for (const fixture of fixtures) expect(fixture.source).toMatch(/juju\//);
  });

  it("a tool call without a fixture fails: the replaying runner answers only recorded command lines", async () => {
    const tools = new HookTools(createReplayRunner(fixtures));
    await expect(tools.relationGet(7, "db/99")).rejects.toThrow(/no fixture records/);
    // the same command line with a different stdin is not the recorded call either
    const set = named("relation-set: this unit's databag, settings as YAML (JSON) on stdin");
    await expect(new HookTools(createReplayRunner([set])).relationSet(7, { state: "ready" })).rejects.toThrow(
      /no fixture/,
    );
  });
});

describe("the suite can fail", () => {
  const application = named(
    "status-get --application: the leader reads the application status, nested, with every unit beside it",
  );

  it("an in-memory variant printing status-get --application in the unit format fails it", async () => {
    const unitFormat: HookToolDriver = (model) => {
      const hook = inMemoryDriver(model);
      return {
        async invoke(tool, args, stdin) {
          if (tool === "status-get" && args.includes("--application")) {
            const status = model.appStatus ?? { status: "unknown", message: "" };
            const stdout = `${JSON.stringify({ message: status.message, status: status.status, "status-data": {} })}\n`;
            return { stdout, stderr: "", exitCode: 0 };
          }
          return hook.invoke(tool, args, stdin);
        },
      };
    };
    expect(await driverMismatches(application, unitFormat)).toEqual([expect.stringMatching(/^stdout /)]);
    // the other fixtures still pass: the variant is caught by the case that records the format, not by accident
    const others = fixtures.filter(
      (f) => f !== application && !(f.argv[0] === "status-get" && f.argv.includes("--application")),
    );
    for (const fixture of others) expect(await driverMismatches(fixture, unitFormat)).toEqual([]);
  });

  it("a fixture edited to the wrong format fails both sides", async () => {
    const edited: HookToolFixture = {
      ...application,
      stdout: '{"message":"upgrade completed","status":"active","status-data":{}}\n',
    };
    expect(await driverMismatches(edited, inMemoryDriver)).toEqual([expect.stringMatching(/^stdout /)]);
    expect(await typedCallMismatches(edited)).toEqual([expect.stringMatching(/statusGet threw .*application-status/)]);
  });

  it("a HookTools variant reading the application status in the unit format fails it (the bug of issue 11)", async () => {
    class UnitFormatHookTools extends HookTools {
      override statusGet(options: { readonly application?: boolean | undefined } = {}): Promise<StatusInfo> {
        const unit = toolCalls.statusGet();
        return this.call({ ...toolCalls.statusGet(options), parse: unit.parse });
      }
    }
    const mismatches = await typedCallMismatches(
      application,
      new UnitFormatHookTools(createReplayRunner([application])),
    );
    expect(mismatches).toEqual([expect.stringMatching(/statusGet threw/)]);
  });

  it("empty output where Juju always prints JSON fails: relation-list must never read as no units", async () => {
    const listed = named("relation-list: the units met, in sort.Strings order (db/10 before db/2)");
    for (const stdout of ["", "\n", "null\n"]) {
      const edited: HookToolFixture = { ...listed, stdout, call: { method: "relationList", args: [7], returns: [] } };
      expect(await typedCallMismatches(edited)).toEqual([expect.stringMatching(/relationList threw/)]);
    }
  });

  it("other stderr or another exit code than Juju's fails both sides", async () => {
    const refused = named("relation-set --app: a non-leader is refused");
    const wrongText = { ...refused, stderr: "ERROR permission denied\n" };
    expect(await driverMismatches(wrongText, inMemoryDriver)).toEqual([expect.stringMatching(/^stderr /)]);
    expect(await driverMismatches({ ...refused, exitCode: 2 }, inMemoryDriver)).toEqual([
      expect.stringMatching(/^exit code /),
    ]);
    // HookTools over a runner that fails with other words than the fixture records is caught too
    const replayed = new HookTools(createReplayRunner([wrongText]));
    expect(await typedCallMismatches(refused, replayed)).toEqual([expect.stringMatching(/^HookToolError stderr /)]);
    // and so is a tool that succeeds where Juju refuses
    const accepted = new HookTools(createReplayRunner([{ ...refused, stderr: "", exitCode: 0 }]));
    expect(await typedCallMismatches(refused, accepted)).toEqual([expect.stringMatching(/must throw/)]);
  });
});
