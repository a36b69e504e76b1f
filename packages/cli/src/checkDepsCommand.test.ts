import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collector, memoryIO } from "./memoryIO.js";
import { runCli } from "./runCli.js";

const model = (version: string, supported: string) => ({
  dependencies: {},
  name: "db",
  upgrade_supported: supported,
  version,
});
const CURRENT = JSON.stringify({ db_charm: model("1", ">=1"), db_service: model("14.9", "^14") });
const NEXT = JSON.stringify({
  db_charm: model("2", ">=1"),
  db_service: model("14.12", "^14"),
  exporter: model("0.3", ">=0.1"),
});
const MAJOR = JSON.stringify({ db_charm: model("2", ">=1"), db_service: model("15.4", "^15") });

const io = memoryIO;

describe("check-deps", () => {
  it("compatible: the verdict and why, for every key; exit 0", async () => {
    const { cli, stdout } = io({ "current.json": CURRENT, "new.json": NEXT });
    expect(await runCli(["check-deps", "current.json", "new.json"], cli)).toBe(0);
    expect(stdout.text()).toBe(
      [
        "Compatible: an application running current.json may be refreshed to new.json.",
        "  db_charm: compatible - db_charm 1 satisfies >=1, so it can be upgraded to 2",
        "  db_service: compatible - db_service 14.9 satisfies ^14, so it can be upgraded to 14.12",
        "  exporter: new - exporter is new in this revision (0.3); nothing running to compare",
        "",
      ].join("\n"),
    );
  });

  it("incompatible: names the key that blocks, with the original's message and cause; exit 1", async () => {
    const { cli, stdout } = io({ "current.json": CURRENT, "major.json": MAJOR });
    expect(await runCli(["check-deps", "current.json", "major.json"], cli)).toBe(1);
    expect(stdout.text()).toMatch(/^Incompatible: /);
    expect(stdout.text()).toMatch(
      /^ {2}db_service: incompatible - db_service 14\.9 does not satisfy \^15, so it can not be upgraded to 15\.4$/m,
    );
    expect(stdout.text()).toMatch(/^Versions incompatible, db_service 14\.9 can not be upgraded to 15\.4$/m);
    expect(stdout.text()).toMatch(
      /^Upgrades only supported for specific versions, db_service versions satisfying requirement \^15$/m,
    );
  });

  it("an invalid DEPENDENCIES file: names the file and the path of every problem; exit 2", async () => {
    const bad = JSON.stringify({
      db_service: { dependencies: {}, name: "db", upgrade_supported: "^ 1.2", version: "14" },
      other: { name: "x" },
    });
    const { cli, stdout, stderr } = io({ "current.json": CURRENT, "bad.json": bad });
    expect(await runCli(["check-deps", "current.json", "bad.json"], cli)).toBe(2);
    expect(stdout.text()).toBe("");
    expect(stderr.text()).toMatch(/NEW bad\.json: not a valid DEPENDENCIES object:/);
    expect(stderr.text()).toMatch(/bad\.json: db_service\.upgrade_supported: Could not parse version constraint/);
    expect(stderr.text()).toMatch(/bad\.json: other\.version: field required/);
    expect(stderr.text()).not.toMatch(/\n\s+at /);
  });

  it("a file that is not JSON, or missing: exit 2 with the file named", async () => {
    const broken = io({ "current.json": "{ not json", "new.json": NEXT });
    expect(await runCli(["check-deps", "current.json", "new.json"], broken.cli)).toBe(2);
    expect(broken.stderr.text()).toMatch(/CURRENT current\.json: not valid JSON/);
    const missing = io({ "current.json": CURRENT });
    expect(await runCli(["check-deps", "current.json", "gone.json"], missing.cli)).toBe(2);
    expect(missing.stderr.text()).toMatch(/NEW gone\.json: cannot read it \(no such file\)/);
  });

  it.each([
    ["[]", "an array (0 items)"],
    [JSON.stringify([model("1", ">=1")]), "an array (1 item)"],
    ["5", "a number (5)"],
    ["null", "null"],
    ['"db"', 'a string ("db")'],
    ["true", "a boolean (true)"],
  ])(
    "a file holding %s is not a DEPENDENCIES object: says what it holds and what it should; exit 2",
    async (text, kind) => {
      for (const [current, next, label, path] of [
        [text, NEXT, "CURRENT", "current.json"],
        [CURRENT, text, "NEW", "new.json"],
      ] as const) {
        const { cli, stdout, stderr } = io({ "current.json": current, "new.json": next });
        expect(await runCli(["check-deps", "current.json", "new.json"], cli)).toBe(2);
        expect(stdout.text()).toBe("");
        expect(stderr.text()).toBe(
          `charm-upgrade check-deps: ${label} ${path}: DEPENDENCIES must be a JSON object of models keyed by name, e.g. {"workload": {"dependencies": {}, "name": "db", "upgrade_supported": "^14", "version": "14.9"}}; got ${kind}\n`,
        );
      }
    },
  );

  it("files that share no key: the verdict says nothing was compared, naming the keys of each", async () => {
    const other = JSON.stringify({ pg_charm: model("2", ">=1") });
    const { cli, stdout } = io({ "current.json": CURRENT, "other.json": other });
    expect(await runCli(["check-deps", "current.json", "other.json"], cli)).toBe(0);
    expect(stdout.text()).toMatch(
      /^Nothing was compared: current\.json and other\.json share no DEPENDENCIES key \(CURRENT has db_charm, db_service; NEW has pg_charm\)\. Check that both files are the same charm's DEPENDENCIES\.$/m,
    );
    const empty = io({ "empty.json": "{}", "new.json": NEXT });
    expect(await runCli(["check-deps", "empty.json", "new.json"], empty.cli)).toBe(0);
    expect(empty.stdout.text()).toMatch(
      /share no DEPENDENCIES key \(CURRENT has none; NEW has db_charm, db_service, exporter\)/,
    );
    // one shared key is enough: no warning
    const shared = io({ "current.json": CURRENT, "new.json": NEXT });
    await runCli(["check-deps", "current.json", "new.json"], shared.cli);
    expect(shared.stdout.text()).not.toMatch(/Nothing was compared/);
  });

  it("reads real files by default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "check-deps-"));
    try {
      writeFileSync(join(dir, "a.json"), CURRENT);
      writeFileSync(join(dir, "b.json"), NEXT);
      const stdout = collector();
      const stderr = collector();
      expect(await runCli(["check-deps", join(dir, "a.json"), join(dir, "b.json")], { stdout, stderr })).toBe(0);
      expect(await runCli(["check-deps", join(dir, "a.json"), join(dir, "none.json")], { stdout, stderr })).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
