import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessJuju } from "../examples/upgrade-demo/src/testing/processJuju.ts";
import { stockMachineBin } from "../examples/upgrade-demo/src/testing/stockMachine.ts";

// docs/guide.md's install and bundling recipes, run as written: the shell blocks marked `<!-- recipe: NAME -->` are
// taken from the guide, so the guide cannot drift from what works. The packages are built and packed in this
// repository (into ~/charm-upgrade-tarballs, with HOME a temporary directory), installed with npm into a fresh
// project whose package.json says "type": "module", with the guide's charm as its source; the charm is bundled with
// its Node.js and its hooks run with a PATH that has no Node.js, against hook tools that print Juju's formats.
// npm gets the dependencies from the registry through the usual cache (--prefer-offline). About a minute, mostly
// tsc (the build of the packages, then the type check) and npm.

const repo = fileURLToPath(new URL("../", import.meta.url));
const PUBLISHED = ["cli", "core", "juju", "k8s", "sim"];

/** The shell block after `<!-- recipe: name -->` in docs/guide.md. */
function recipe(name: string): string {
  const lines = readFileSync(join(repo, "docs", "guide.md"), "utf8").split("\n");
  const marker = lines.indexOf(`<!-- recipe: ${name} -->`);
  if (marker < 0 || lines[marker + 1] !== "```sh")
    throw new Error(`docs/guide.md has no sh block marked recipe: ${name}`);
  const end = lines.indexOf("```", marker + 2);
  return `${lines.slice(marker + 2, end).join("\n")}\n`;
}

/** Run `script` with `sh -e` in `cwd`; reject with its output when it fails. */
function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "/bin/sh",
      ["-e", "-c", script],
      { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${script}\nfailed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(`${stdout}${stderr}`);
      },
    );
  });
}

let work: string;
let home: string;
let project: string;
let env: NodeJS.ProcessEnv;
let juju: ProcessJuju;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "guide-install-"));
  home = join(work, "home");
  project = join(work, "postgresql-operator");
  mkdirSync(home);
  env = {
    ...process.env,
    HOME: home,
    // The machine's npm cache, not one in the temporary HOME: offline-capable after the first run.
    npm_config_cache: process.env["npm_config_cache"] ?? join(homedir(), ".npm"),
    npm_config_prefer_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  await sh(recipe("tarballs"), repo, env);

  // The author's project: the guide's charm, as the guide shows it.
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "postgresql-operator", private: true, type: "module" }, null, 2)}\n`,
  );
  for (const file of ["dispatch.ts", "vmCharm.ts", "workload.ts", "dependencies.ts"])
    copyFileSync(join(repo, "docs", "examples", file), join(project, "src", file));
  for (const file of ["dispatch", "metadata.yaml", "actions.yaml", "config.yaml"])
    copyFileSync(join(repo, "docs", "examples", "charm", file), join(project, file));
  await sh(recipe("install"), project, env);
  await sh(recipe("build"), project, env);
}, 600_000);

afterAll(() => {
  juju?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the guide's install and bundling recipes", () => {
  it("pack the five published packages, complete: LICENSE, README, declarations, versions for workspace:*", async () => {
    const tarballs = readdirSync(join(home, "charm-upgrade-tarballs")).sort();
    expect(tarballs).toEqual(PUBLISHED.map((name) => `charm-upgrade-${name}-0.1.0.tgz`));
    const apache = readFileSync(join(repo, "packages", "core", "LICENSE"), "utf8");
    expect(apache).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    for (const tarball of tarballs) {
      const path = join(home, "charm-upgrade-tarballs", tarball);
      const files = (await sh(`tar -tzf '${path}'`, work, env)).split("\n");
      expect(files, tarball).toEqual(
        expect.arrayContaining([
          "package/LICENSE",
          "package/README.md",
          "package/package.json",
          "package/dist/index.js",
          "package/dist/index.d.ts",
        ]),
      );
      expect(
        files.filter((file) => file.endsWith(".test.ts")),
        tarball,
      ).toEqual([]);
      expect(await sh(`tar -xzOf '${path}' package/LICENSE`, work, env), tarball).toBe(apache);
      const manifest = JSON.parse(await sh(`tar -xzOf '${path}' package/package.json`, work, env)) as Record<
        string,
        unknown
      >;
      expect(manifest["license"], tarball).toBe("Apache-2.0");
      expect(JSON.stringify(manifest), tarball).not.toContain("workspace:");
    }
  });

  it("install into a fresh project with npm, and every entry point's types check with skipLibCheck: false", async () => {
    const tarball = (name: string) => join(home, "charm-upgrade-tarballs", `charm-upgrade-${name}-0.1.0.tgz`);
    await sh(`npm install ${["k8s", "sim", "cli"].map(tarball).join(" ")}`, project, env);
    writeFileSync(
      join(project, "tsconfig.json"),
      `${JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false, noEmit: true, types: ["node"] }, include: ["src"] }, null, 2)}\n`,
    );
    writeFileSync(
      join(project, "src", "entryPoints.ts"),
      [
        'import * as cli from "@charm-upgrade/cli";',
        'import * as core from "@charm-upgrade/core";',
        'import * as coreTesting from "@charm-upgrade/core/testing";',
        'import * as juju from "@charm-upgrade/juju";',
        'import * as jujuTesting from "@charm-upgrade/juju/testing";',
        'import * as k8s from "@charm-upgrade/k8s";',
        'import * as k8sTesting from "@charm-upgrade/k8s/testing";',
        'import * as sim from "@charm-upgrade/sim";',
        "export const entryPoints = [cli, core, coreTesting, juju, jujuTesting, k8s, k8sTesting, sim];",
        "",
      ].join("\n"),
    );
    // The guide's charm itself is type-checked too: src/ holds it.
    await sh("npx tsc -p .", project, env);
    rmSync(join(project, "src", "entryPoints.ts"));
  }, 300_000);

  it("bundle a Kubernetes charm with the same esbuild command: the Kubernetes client only in a chunk loaded by import()", async () => {
    // Runs after the test above, which installed @charm-upgrade/k8s. The guide's command, on the guide's
    // Kubernetes charm, into a directory of its own.
    const command = /^npx esbuild [^]*?[^\\]\n/m.exec(recipe("build"))?.[0];
    if (!command) throw new Error("the build recipe has no npx esbuild command");
    copyFileSync(join(repo, "docs", "examples", "k8sCharm.ts"), join(project, "src", "k8sCharm.ts"));
    writeFileSync(
      join(project, "src", "k8sDispatch.ts"),
      'import { createK8sUpgrade } from "./k8sCharm.js";\nimport { workload } from "./workload.js";\n\nawait (await createK8sUpgrade(workload)).dispatch();\n',
    );
    await sh(
      command.replace("src/dispatch.ts", "src/k8sDispatch.ts").replace("--outdir=charm/lib", "--outdir=k8s-charm/lib"),
      project,
      env,
    );
    const lib = join(project, "k8s-charm", "lib");
    const read = (file: string) => readFileSync(join(lib, file), "utf8");
    /** The files `file` imports statically (`from"./chunks/x.mjs"`), and those they import, transitively. */
    const staticImports = (file: string, seen = new Set<string>()): Set<string> => {
      for (const match of read(file).matchAll(/from\s*"\.\/([^"]+\.mjs)"/g)) {
        const target = join(file, "..", match[1] ?? "");
        if (!seen.has(target)) {
          seen.add(target);
          staticImports(target, seen);
        }
      }
      return seen;
    };
    // The client's own code: its generated request factory. (The adapter names the client's classes it
    // instantiates, `client.CoreV1Api`, so that name alone is no sign of the client.)
    const CLIENT = "CoreV1ApiRequestFactory";
    const chunks = readdirSync(join(lib, "chunks")).map((name) => `chunks/${name}`);
    const client = chunks.filter((chunk) => read(chunk).includes(CLIENT));
    expect(client.length).toBeGreaterThan(0);
    expect(read("k8sDispatch.mjs")).not.toContain(CLIENT);
    for (const chunk of client) expect(staticImports("k8sDispatch.mjs").has(chunk), chunk).toBe(false);
    rmSync(join(project, "src", "k8sCharm.ts"));
    rmSync(join(project, "src", "k8sDispatch.ts"));
  }, 120_000);

  it("bundle the charm with its Node.js: an ES module beside runtime/amd64/node, whatever package.json says", () => {
    expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8")).type).toBe("module");
    expect(statSync(join(project, "charm", "dispatch")).mode & 0o777).toBe(0o755);
    expect(statSync(join(project, "charm", "runtime", "amd64", "node")).mode & 0o111).toBe(0o111);
    const bundle = readFileSync(join(project, "charm", "lib", "dispatch.mjs"), "utf8");
    expect(bundle.length).toBeLessThan(512 * 1024);
    // A machine charm: no Kubernetes client anywhere in it.
    expect(readdirSync(join(project, "charm", "lib"), { recursive: true }).join(" ")).not.toMatch(
      /client-node|kubernetes/i,
    );
    expect(bundle).not.toContain("CoreV1Api");
  });

  it.skipIf(process.arch !== "x64")(
    "deploy: the charm's hooks run on a machine without Node.js, against hook tools that print Juju's formats",
    async () => {
      const root = join(work, "model");
      const bin = stockMachineBin(join(work, "stock-bin"));
      juju = await ProcessJuju.create({
        charmDir: join(project, "charm"),
        units: 2,
        app: "postgresql",
        root,
        env: { PATH: [join(root, "bin"), bin].join(":") },
      });
      juju.deploy();
      const runs = await juju.settle();
      expect(runs.map((run) => `${run.unit} ${run.dispatchPath} ${run.exitCode}`)).toEqual(
        expect.arrayContaining([
          "postgresql/0 hooks/install 0",
          "postgresql/1 hooks/install 0",
          "postgresql/0 hooks/leader-elected 0",
        ]),
      );
      const world = juju.world();
      expect(world.databags["postgresql/0"]?.["state"]).toBe("idle");
      expect(world.databags["postgresql/1"]?.["state"]).toBe("idle");
      expect(world.units["postgresql/0"]?.status).toEqual({ status: "active", message: "" });
      expect(existsSync(join(juju.charmDir("postgresql/0"), "runtime", "amd64", "node"))).toBe(true);
    },
    300_000,
  );
});
