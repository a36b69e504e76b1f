import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeApiServer, startFakeApiServer } from "./testing/index.js";

// Importing @charm-upgrade/k8s must not load @kubernetes/client-node: a machine charm's hooks import the library
// but never talk to Kubernetes. A fresh Node process (as a hook is) imports the package entries from source, with
// a module-resolution hook that writes down every module resolved; the client must be absent from that list until
// the first request, and present after it (so the check cannot pass by recording nothing). Adding a top-level
// `import … from "@kubernetes/client-node"` anywhere in the package's import graph makes this test fail.

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const CLIENT = /[/@]kubernetes\/client-node\b/;
const MARK = "=== first request ===";

const HOOK = `
import { appendFileSync } from "node:fs";
const log = process.env.CHARM_UPGRADE_RESOLVE_LOG;
const root = process.env.CHARM_UPGRADE_ROOT_URL;
export async function resolve(specifier, context, nextResolve) {
  // The same aliases as the workspace's vitest config: workspace packages resolve to their sources.
  const alias = /^@charm-upgrade\\/([a-z]+)$/.exec(specifier);
  const result = await nextResolve(alias ? new URL("packages/" + alias[1] + "/src/index.ts", root).href : specifier, context);
  appendFileSync(log, specifier + " -> " + result.url + "\\n");
  return result;
}
`;
const REGISTER = `
import { register } from "node:module";
register(new URL("./hook.mjs", import.meta.url));
`;
const MAIN = `
import { appendFileSync } from "node:fs";
const k8s = await import("@charm-upgrade/k8s");
await import(process.env.CHARM_UPGRADE_TESTING_ENTRY);
const partitions = k8s.createPartitionSetter({ namespace: "m", statefulSet: "db" });
appendFileSync(process.env.CHARM_UPGRADE_RESOLVE_LOG, ${JSON.stringify(`${MARK}\n`)});
const partition = await partitions.getPartition();
process.stdout.write(JSON.stringify({ exports: Object.keys(k8s).sort(), partition }));
`;

let api: FakeApiServer;
let directory: string;

beforeAll(async () => {
  api = await startFakeApiServer({ statefulSets: { "m/db": { replicas: 3, partition: 2 } } });
  directory = mkdtempSync(join(tmpdir(), "charm-upgrade-lazy-"));
  writeFileSync(join(directory, "hook.mjs"), HOOK);
  writeFileSync(join(directory, "register.mjs"), REGISTER);
  writeFileSync(join(directory, "main.mjs"), MAIN);
});

afterAll(async () => {
  await api.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("lazy loading of @kubernetes/client-node", () => {
  it("importing the package (and its testing entry) and creating a setter loads no client; the first request does", async () => {
    const log = join(directory, "resolved.log");
    writeFileSync(log, "");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(join(directory, "register.mjs")).href, join(directory, "main.mjs")],
      {
        cwd: repoRoot,
        timeout: 30_000,
        env: {
          ...process.env,
          KUBECONFIG: api.kubeconfigPath,
          CHARM_UPGRADE_RESOLVE_LOG: log,
          CHARM_UPGRADE_ROOT_URL: pathToFileURL(repoRoot).href,
          CHARM_UPGRADE_TESTING_ENTRY: pathToFileURL(join(repoRoot, "packages/k8s/src/testing/index.ts")).href,
        },
      },
    );

    expect(JSON.parse(stdout)).toEqual({
      exports: [
        "KubernetesRequestError",
        "awaitsRollout",
        "createPartitionSetter",
        "kubernetesFailureOf",
        "podObservation",
        "unitRollout",
      ],
      partition: 2,
    });
    const [before = "", after = ""] = readFileSync(log, "utf8").split(MARK);
    // The package's own modules were resolved through the hook (the recording works) …
    expect(before).toMatch(/packages\/k8s\/src\/statefulSetPartition\.ts/);
    expect(before).toMatch(/packages\/core\/src\/index\.ts/);
    // … but not the client, until a request was made.
    expect(
      before.split("\n").find((line) => CLIENT.test(line)),
      "the client was loaded before any request",
    ).toBeUndefined();
    expect(after).toMatch(CLIENT);
  });
});
