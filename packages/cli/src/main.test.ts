import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
/** What `pnpm install` links for the root's devDependency on this package: the command as the README names it. */
const bin = join(root, "node_modules", ".bin", "charm-upgrade");
const dir = mkdtempSync(join(tmpdir(), "charm-upgrade-main-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], cwd = root): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A shell command line, as an operator types it (`… > report.json`). */
const shell = (line: string, cwd = root) => run("/bin/sh", ["-c", line], cwd);

const order3 = ["db/2", "db/1", "db/0"];

describe("the charm-upgrade command, in a child process", () => {
  it("is linked by pnpm install: node_modules/.bin/charm-upgrade simulate --json works from any directory, without a build", async () => {
    const { code, stdout, stderr } = await run(bin, ["simulate", "--units", "3", "--json"], tmpdir());
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.outcome).toBe("upgraded");
    expect(report.order).toEqual(order3);
    expect(report.units.map((u: { state: string }) => u.state)).toEqual(["idle", "idle", "idle"]);
  });

  it("`pnpm charm-upgrade simulate --json > report.json`, as the README says: the file holds the JSON report and nothing else", async () => {
    const file = join(dir, "pnpm-bin.json");
    const { code, stdout, stderr } = await shell(
      `pnpm charm-upgrade simulate --units 3 --fail-unit db/1 --json > '${file}'`,
    );
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    const report = JSON.parse(readFileSync(file, "utf8"));
    expect(report.outcome).toBe("halted");
    expect(report.failure.unit).toBe("db/1");
  });

  it("`pnpm -s start --json > report.json`, as the README says: valid JSON in the file (pnpm's own banner silenced)", async () => {
    const file = join(dir, "start.json");
    const { code, stderr } = await shell(`pnpm -s start --units 3 --substrate k8s --json > '${file}'`);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("{\n")).toBe(true);
    const report = JSON.parse(text);
    expect(report.substrate).toBe("k8s");
    expect(report.order).toEqual(order3);
  });

  it("bad arguments: exit 2, our message and the usage on stderr, nothing on stdout, no stack trace", async () => {
    const { code, stdout, stderr } = await run(bin, ["simulate", "--units", "-3"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^charm-upgrade: --units must be a whole number from 1 to 100 \(e\.g\. --units 5\); got "-3"$/m,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
