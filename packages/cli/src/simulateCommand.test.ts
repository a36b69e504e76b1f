import { describe, expect, it } from "vitest";
import type { CliIO, OutputStream } from "./io.js";
import { parseSimulateArgs, simulateCommand } from "./simulateCommand.js";

/** An output stream that collects what is written. */
function collector(isTTY = false): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, columns: 100, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join("") };
}

const ANSI = /\u001b\[/;

function io(tty = false) {
  const stdout = collector(tty);
  const stderr = collector();
  const cli: CliIO = { stdout, stderr, sleep: async () => {} };
  return { cli, stdout, stderr };
}

describe("parseSimulateArgs", () => {
  it("defaults to 5 units on machines, seed 1", () => {
    expect(parseSimulateArgs([])).toEqual({
      units: 5,
      substrate: "vm",
      seed: 1,
      failUnit: undefined,
      rollback: false,
      json: false,
      delayMs: undefined,
    });
  });

  it("reads every option", () => {
    expect(
      parseSimulateArgs([
        "--units",
        "4",
        "--substrate=k8s",
        "--seed",
        "99",
        "--fail-unit",
        "3",
        "--rollback",
        "--json",
        "--delay",
        "5",
      ]),
    ).toEqual({
      units: 4,
      substrate: "k8s",
      seed: 99,
      failUnit: 3,
      rollback: true,
      json: true,
      delayMs: 5,
    });
  });
});

describe("parseSimulateArgs: --fail-unit takes a unit's name or its number", () => {
  it.each([
    ["db/2", 2],
    ["2", 2],
    ["db/0", 0],
    [" db/4 ", 4],
  ])("--fail-unit %j is unit %i", (raw, unit) => {
    expect(parseSimulateArgs(["--fail-unit", raw]).failUnit).toBe(unit);
    expect(parseSimulateArgs([`--fail-unit=${raw}`]).failUnit).toBe(unit);
  });

  it("--fail-unit db/2 runs like --fail-unit 2: the upgrade halts at db/2", async () => {
    const byName = io();
    expect(
      await simulateCommand(parseSimulateArgs(["--units", "4", "--fail-unit", "db/2", "--json"]), byName.cli),
    ).toBe(0);
    const report = JSON.parse(byName.stdout.text());
    expect(report.outcome).toBe("halted");
    expect(report.failure.unit).toBe("db/2");
    const byNumber = io();
    await simulateCommand(parseSimulateArgs(["--units", "4", "--fail-unit", "2", "--json"]), byNumber.cli);
    expect(byName.stdout.text()).toBe(byNumber.stdout.text());
  });
});

describe("parseSimulateArgs: the report and the inspector", () => {
  it("--inspect uses @statelyai/inspect's default URL; --inspect-url names another (and implies --inspect)", () => {
    expect(parseSimulateArgs([]).inspectUrl).toBeUndefined();
    expect(parseSimulateArgs(["--inspect"]).inspectUrl).toBe("ws://localhost:8080");
    expect(parseSimulateArgs(["--inspect-url", "ws://127.0.0.1:9000"]).inspectUrl).toBe("ws://127.0.0.1:9000");
    expect(parseSimulateArgs(["--inspect", "--inspect-url=wss://inspector.test/x"]).inspectUrl).toBe(
      "wss://inspector.test/x",
    );
  });
  it("--html names the report's file", () => {
    expect(parseSimulateArgs([]).html).toBeUndefined();
    expect(parseSimulateArgs(["--html", "out/report.html"]).html).toBe("out/report.html");
  });
});

describe("simulate --html", () => {
  it("writes the report through the writer it is given, and says where", async () => {
    const written = new Map<string, string>();
    const { cli, stdout } = io();
    const code = await simulateCommand(parseSimulateArgs(["--units", "2", "--html", "r.html"]), {
      ...cli,
      writeFile: async (path, text) => void written.set(path, text),
    });
    expect(code).toBe(0);
    expect(written.get("r.html")).toMatch(/^<!DOCTYPE html>/);
    expect(written.get("r.html")).toContain('data-testid="lane-db/1"');
    expect(stdout.text()).toMatch(/^HTML report: r\.html$/m);
  });
  it("a file that cannot be written: says why, exit 1 (after the summary)", async () => {
    const { cli, stdout, stderr } = io();
    const writeFile = async () => {
      throw new Error("EACCES: permission denied");
    };
    expect(
      await simulateCommand(parseSimulateArgs(["--units", "2", "--html", "/root/r.html"]), { ...cli, writeFile }),
    ).toBe(1);
    expect(stderr.text()).toBe(
      "charm-upgrade: could not write the HTML report to /root/r.html: EACCES: permission denied\n",
    );
    expect(stdout.text()).toMatch(/^Outcome: upgraded/m);
  });
});

describe("simulate", () => {
  it("--json prints the report, with units, hooks and order, and nothing else; exit 0", async () => {
    const { cli, stdout, stderr } = io(true);
    expect(await simulateCommand(parseSimulateArgs(["--units", "3", "--json"]), cli)).toBe(0);
    expect(stdout.text()).not.toMatch(ANSI);
    const report = JSON.parse(stdout.text());
    expect(report.outcome).toBe("upgraded");
    expect(report.order).toEqual(["db/2", "db/1", "db/0"]);
    expect(report.units).toHaveLength(3);
    expect(report.hooks.length).toBe(report.hookRuns);
    expect(report.hooks[0]).toMatchObject({ hook: "install", outcome: "ok" });
    expect(stderr.text()).toBe("");
  });

  it("not on a terminal: plain progress lines and a summary, without control codes", async () => {
    const { cli, stdout } = io(false);
    expect(await simulateCommand(parseSimulateArgs(["--units", "3", "--substrate", "k8s", "--seed", "2"]), cli)).toBe(
      0,
    );
    const text = stdout.text();
    expect(text).not.toMatch(ANSI);
    expect(text).toMatch(/^\$ juju refresh db --revision 2$/m);
    expect(text).toMatch(/^StatefulSet partition = 2$/m);
    expect(text).toMatch(/^db\/2: idle -> completed$/m);
    expect(text).toMatch(/^Upgrade order: db\/2 -> db\/1 -> db\/0$/m);
    expect(text).toMatch(/^Hook runs: \d+ \(ok \d+, crashed 0, failed 0\)$/m);
    expect(text).toMatch(/^Databag writes: \d+$/m);
    expect(text).toMatch(/^Action resume-upgrade on db\/0: ok/m);
  });

  it("on a terminal: a live table redrawn in place with a progress bar, then the summary", async () => {
    const { cli, stdout } = io(true);
    expect(await simulateCommand(parseSimulateArgs(["--units", "2", "--delay", "1"]), cli)).toBe(0);
    const text = stdout.text();
    expect(text).toMatch(ANSI);
    expect(text).toContain("[########################] 2/2 upgraded");
    expect(text).toMatch(/Upgrade order: db\/1 -> db\/0/);
  });

  it("--fail-unit: the upgrade halts at the failing unit, the failure is reported, and that is the expected end (exit 0)", async () => {
    const { cli, stdout } = io();
    expect(await simulateCommand(parseSimulateArgs(["--units", "4", "--fail-unit", "2"]), cli)).toBe(0);
    expect(stdout.text()).toMatch(/^Outcome: halted\. db\/2 failed its upgrade/m);
    // (what follows the failure in the unit's status, such as how to roll back, is the core's wording)
    expect(stdout.text()).toMatch(/^Failure: db\/2: simulated failure: db\/2 could not start workload 1\.1\.0\b/m);
  });

  it("--fail-unit with --rollback: every unit back on the old version", async () => {
    const { cli, stdout } = io();
    expect(
      await simulateCommand(parseSimulateArgs(["--units", "3", "--fail-unit", "0", "--rollback", "--json"]), cli),
    ).toBe(0);
    const report = JSON.parse(stdout.text());
    expect(report.outcome).toBe("rolled-back");
    expect(report.units.map((u: { workloadVersion: string }) => u.workloadVersion)).toEqual([
      "1.0.0",
      "1.0.0",
      "1.0.0",
    ]);
  });
});
