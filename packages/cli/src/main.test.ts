import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("the charm-upgrade entry point, in a child process", () => {
  it("simulate --units 3 --json prints the report as JSON and exits 0", async () => {
    const { code, stdout, stderr } = await run(["simulate", "--units", "3", "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.outcome).toBe("upgraded");
    expect(report.order).toEqual(["db/2", "db/1", "db/0"]);
    expect(report.units.map((u: { state: string }) => u.state)).toEqual(["idle", "idle", "idle"]);
    expect(report.hooks.length).toBeGreaterThan(0);
  });

  it("bad arguments: exit 2, usage on stderr, no stack trace", async () => {
    const { code, stdout, stderr } = await run(["simulate", "--substrate", "lxd"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/--substrate must be vm or k8s/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
