import { existsSync, readFileSync } from "node:fs";
import { encodeDependencies, parseDependencies } from "@charm-upgrade/core";
import { beforeEach, describe, expect, it } from "vitest";
import { DEPENDENCIES, mayUpgradeFrom } from "./examples/dependencies.ts";
import { TestApp } from "./examples/testHarness.ts";
import { handleHook } from "./examples/vmCharm.ts";
import { InMemoryWorkload } from "./examples/workload.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

/** The documents whose code samples must be real, compiled files. */
const DOCUMENTS = ["docs/guide.md", "docs/migration.md"];

/** A fenced block of a Markdown document, with the example marker on the line before it (if any). */
interface Sample {
  readonly document: string;
  readonly line: number;
  readonly lang: string;
  readonly body: string;
  readonly marker: string | null;
}

const MARKER = /^<!-- example: (\S+?) -->$/;

/** Every fenced block of `document`; a marker must sit on the line right before the opening fence. */
function samples(document: string): Sample[] {
  const lines = read(document).split("\n");
  const found: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i] ?? "");
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${document}:${i + 1}: unclosed code fence`);
    const marker = MARKER.exec(lines[i - 1] ?? "")?.[1] ?? null;
    found.push({ document, line: i + 1, lang: open[1] ?? "", body: `${lines.slice(i + 1, end).join("\n")}\n`, marker });
    i = end;
  }
  return found;
}

/**
 * The text a marker points at: `path` (the whole file) or `path#name`, the lines between `// #region name` (or
 * `# #region name`) and the matching `#endregion`, exclusive.
 */
function exampleText(marker: string): string {
  const [path = "", region] = marker.split("#");
  if (!existsSync(new URL(path, root))) throw new Error(`no such example file: ${path}`);
  const text = read(path);
  if (region === undefined) return text;
  const lines = text.split("\n");
  const start = lines.findIndex((line) => /^\s*(\/\/|#) #region (\S+)$/.exec(line)?.[2] === region);
  const end = lines.findIndex((line, i) => i > start && /^\s*(\/\/|#) #endregion (\S+)$/.exec(line)?.[2] === region);
  if (start < 0 || end < 0) throw new Error(`${path} has no region ${region}`);
  return `${lines.slice(start + 1, end).join("\n")}\n`;
}

describe.each(DOCUMENTS)("%s", (document) => {
  const all = samples(document);

  it("has code samples", () => {
    expect(all.filter((sample) => sample.marker).length).toBeGreaterThan(0);
  });

  it("marks every TypeScript sample with the example file it comes from", () => {
    const unmarked = all.filter((sample) => /^(ts|typescript|js|javascript)$/.test(sample.lang) && !sample.marker);
    expect(unmarked.map((sample) => `${sample.document}:${sample.line}`)).toEqual([]);
  });

  it.each(
    all.filter((sample) => sample.marker).map((sample) => [`${sample.marker} (line ${sample.line})`, sample] as const),
  )("shows %s exactly as it is in the file", (_, sample) => {
    expect(sample.body).toBe(exampleText(sample.marker ?? ""));
  });
});

describe("the guide's examples", () => {
  it("DEPENDENCIES is valid, and its constraints say what the guide says", () => {
    const parsed = parseDependencies(DEPENDENCIES);
    expect(Object.keys(parsed)).toEqual(["charm", "workload"]);
    const from = (charm: string, workload: string) =>
      parseDependencies({
        charm: { ...DEPENDENCIES.charm, version: charm, upgrade_supported: "*" },
        workload: { ...DEPENDENCIES.workload, version: workload, upgrade_supported: "*" },
      });
    expect(mayUpgradeFrom(from("1.3", "14.9"))).toBe(true);
    expect(mayUpgradeFrom(from("1.3", "13.12"))).toBe(false);
    expect(mayUpgradeFrom(from("0.9", "14.9"))).toBe(false);
  });

  describe("the machine charm, driven by the test harness", () => {
    /** What the previous revision stored: the same charm, one workload version behind. */
    const previous = {
      charm: { ...DEPENDENCIES.charm, version: "1.3" },
      workload: { ...DEPENDENCIES.workload, version: "14.9" },
    };
    let app: TestApp<InMemoryWorkload>;

    beforeEach(async () => {
      app = new TestApp("postgresql", 3, handleHook, () => new InMemoryWorkload());
      // deployed by the previous revision: its DEPENDENCIES are stored, every unit idle
      app.appData["dependencies"] = encodeDependencies(parseDependencies(previous));
      await app.settle();
    });

    it("upgrades every unit, the primary last, pausing after the first for resume-upgrade", async () => {
      expect(app.states()).toEqual({ "postgresql/0": "idle", "postgresql/1": "idle", "postgresql/2": "idle" });

      const check = await app.run("postgresql/0", "actions/pre-upgrade-check");
      expect(check?.failure).toBeNull();
      expect(check?.results["upgrade-order"]).toBe("postgresql/2, postgresql/1, postgresql/0");

      app.everyUnit("upgrade-charm"); // juju refresh
      await app.settle();
      expect(app.states()).toEqual({ "postgresql/0": "ready", "postgresql/1": "ready", "postgresql/2": "completed" });
      expect(app.units.get("postgresql/1")?.status.message).toMatch(/resume-upgrade/);

      const resume = await app.run("postgresql/0", "actions/resume-upgrade");
      expect(resume?.failure).toBeNull();
      await app.settle();

      expect(app.states()).toEqual({ "postgresql/0": "idle", "postgresql/1": "idle", "postgresql/2": "idle" });
      for (const unit of app.units.values()) expect(unit.workload.installedVersion).toBe("14.10");
      expect(JSON.parse(app.appData["dependencies"] ?? "{}").workload.version).toBe("14.10");
    });

    it("refuses pre-upgrade-check with the ClusterNotReadyError's message", async () => {
      const leader = app.units.get("postgresql/0");
      if (leader) leader.workload.replicasInSync = false;
      const check = await app.run("postgresql/0", "actions/pre-upgrade-check");
      expect(check?.failure).toBe("Cluster is not ready for an upgrade");
    });

    it("holds the roll while a unit runs a backup, and refuses a backup while upgrading", async () => {
      app.config["pause-after-unit-upgrade"] = "none";
      await app.run("postgresql/0", "actions/pre-upgrade-check");
      const backup = app.units.get("postgresql/1");
      if (backup) backup.workload.backup = true;
      app.everyUnit("upgrade-charm");
      await app.settle();
      expect(app.states()).toEqual({ "postgresql/0": "ready", "postgresql/1": "ready", "postgresql/2": "ready" });
      expect(app.units.get("postgresql/2")?.status.message).toMatch(/backup in progress/);

      const refused = await app.run("postgresql/2", "actions/create-backup");
      expect(refused?.failure).toMatch(/upgrade is in progress/);

      if (backup) backup.workload.backup = false;
      app.everyUnit("update-status");
      await app.settle();
      expect(app.states()).toEqual({ "postgresql/0": "idle", "postgresql/1": "idle", "postgresql/2": "idle" });
    });

    it("halts on a failed unit, and rolls back after pre-upgrade-check", async () => {
      app.config["pause-after-unit-upgrade"] = "none";
      await app.run("postgresql/0", "actions/pre-upgrade-check");
      const failing = app.units.get("postgresql/1");
      if (failing) failing.workload.failInstall = true;
      app.everyUnit("upgrade-charm");
      await app.settle();
      expect(app.states()).toEqual({ "postgresql/0": "ready", "postgresql/1": "failed", "postgresql/2": "completed" });
      expect(failing?.status).toEqual({
        status: "blocked",
        message: expect.stringMatching(/^installing 14\.10 failed/),
      });
      expect(
        failing?.logs.some((line) => line.includes("To roll back: 1. juju run postgresql/leader pre-upgrade-check")),
      ).toBe(true);

      const recovery = await app.run("postgresql/0", "actions/pre-upgrade-check");
      expect(recovery?.results["message"]).toMatch(/^Recovery ready: run juju refresh postgresql/);
      expect(recovery?.results["upgrade-order"]).toBe("postgresql/1, postgresql/2, postgresql/0");
    });
  });
});
