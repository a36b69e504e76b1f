import { describe, expect, it } from "vitest";
import { memoryIO } from "./memoryIO.js";
import { runCli } from "./runCli.js";

const io = memoryIO;

const deps = JSON.stringify({ workload: { dependencies: {}, name: "db", upgrade_supported: ">=1", version: "1.0.0" } });
const snapshot = (states: Record<string, string>, extra: object = {}) =>
  JSON.stringify({
    app: "db",
    substrate: "vm",
    leader: 0,
    databags: {
      units: Object.fromEntries(Object.entries(states).map(([u, s]) => [u, { state: s }])),
      app: { dependencies: deps },
    },
    ...extra,
  });

describe("charm-upgrade plan", () => {
  it("prints the plan pre-upgrade-check would return, from a snapshot of the databags", async () => {
    const { cli, stdout } = io({
      "s.json": snapshot(
        { "db/0": "idle", "db/1": "idle", "db/2": "idle" },
        { settings: { pauseAfterUnitUpgrade: "all" } },
      ),
    });
    expect(await runCli(["plan", "s.json"], cli)).toBe(0);
    const text = stdout.text();
    expect(text).toContain("upgrade-order: db/2, db/1, db/0");
    expect(text).toContain("pauses: after every unit (pause-after-unit-upgrade=all), until resume-upgrade");
    expect(text).toContain("running-versions: workload 1.0.0 (upgrade_supported >=1)");
  });

  it("says the cluster is not ready when a unit is not idle (exit 1)", async () => {
    const { cli, stdout } = io({ "s.json": snapshot({ "db/0": "idle", "db/1": "ready" }) });
    expect(await runCli(["plan", "s.json"], cli)).toBe(1);
    expect(stdout.text()).toContain("not ready:\n  db/1 is ready");
  });

  it("rejects a file that is not a snapshot with the path of the bad value (exit 2)", async () => {
    const { cli, stderr } = io({
      "s.json": JSON.stringify({ app: "db", substrate: "lxd", leader: 0, databags: { units: {}, app: {} } }),
      "bad.json": "{",
    });
    expect(await runCli(["plan", "s.json"], cli)).toBe(2);
    expect(stderr.text()).toMatch(/substrate: substrate must be vm or k8s/);
    expect(await runCli(["plan", "bad.json"], cli)).toBe(2);
    expect(await runCli(["plan"], cli)).toBe(2);
  });
});
