import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHARMS } from "./buildCharm.js";
import { CharmBuildError } from "./charmBuildError.js";
import { manifestYaml, readCharmcraftProject } from "./charmcraftProject.js";

const work = mkdtempSync(join(tmpdir(), "charmcraft-project-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A charmcraft.yaml with `body` in a directory of its own. */
function project(body: string): string {
  const dir = mkdtempSync(join(work, "p-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "charmcraft.yaml"), body);
  return dir;
}

describe("readCharmcraftProject", () => {
  it("reads the machine charm: four platforms (two bases, two architectures), no containers, so machines", () => {
    const machine = readCharmcraftProject(CHARMS.machine);
    expect(machine.name).toBe("upgrade-demo");
    expect(machine.substrate).toBe("vm");
    expect(machine.architectures).toEqual(["amd64", "arm64"]);
    expect(machine.platforms.map((p) => [p.fileName, `${p.base.name}@${p.base.channel}`, p.architecture])).toEqual([
      ["upgrade-demo_ubuntu@22.04-amd64.charm", "ubuntu@22.04", "amd64"],
      ["upgrade-demo_ubuntu@22.04-arm64.charm", "ubuntu@22.04", "arm64"],
      ["upgrade-demo_ubuntu@24.04-amd64.charm", "ubuntu@24.04", "amd64"],
      ["upgrade-demo_ubuntu@24.04-arm64.charm", "ubuntu@24.04", "arm64"],
    ]);
    const metadata = parse(machine.files["metadata.yaml"] ?? "");
    expect(metadata).toMatchObject({
      name: "upgrade-demo",
      "display-name": "Upgrade demo",
      peers: { upgrade: { interface: "upgrade" } },
    });
    expect(metadata).not.toHaveProperty("containers");
    expect(Object.keys(parse(machine.files["actions.yaml"] ?? ""))).toEqual([
      "pre-upgrade-check",
      "resume-upgrade",
      "force-upgrade",
    ]);
    expect(parse(machine.files["config.yaml"] ?? "").options["pause-after-unit-upgrade"]).toMatchObject({
      type: "string",
      default: "first",
    });
  });

  it("reads the Kubernetes charm: its workload container and OCI image make it a Kubernetes charm; same actions and config", () => {
    const k8s = readCharmcraftProject(CHARMS.k8s);
    const machine = readCharmcraftProject(CHARMS.machine);
    expect(k8s.name).toBe("upgrade-demo-k8s");
    expect(k8s.substrate).toBe("k8s");
    expect(k8s.platforms.map((p) => p.fileName)).toEqual([
      "upgrade-demo-k8s_amd64.charm",
      "upgrade-demo-k8s_arm64.charm",
    ]);
    expect(k8s.platforms.every((p) => p.base.channel === "24.04")).toBe(true);
    expect(parse(k8s.files["metadata.yaml"] ?? "")).toMatchObject({
      containers: { workload: { resource: "workload-image" } },
      resources: { "workload-image": { type: "oci-image" } },
      assumes: ["k8s-api"],
    });
    expect(k8s.files["actions.yaml"]).toBe(machine.files["actions.yaml"]);
    expect(k8s.files["config.yaml"]).toBe(machine.files["config.yaml"]);
  });

  it("writes the manifest Juju deploys by: one base, one architecture", () => {
    const [platform] = readCharmcraftProject(CHARMS.machine).platforms;
    if (!platform) throw new Error("no platform");
    expect(parse(manifestYaml(platform))).toEqual({
      bases: [{ name: "ubuntu", channel: "22.04", architectures: ["amd64"] }],
    });
  });

  it("reads standard notation (build-on, build-for)", () => {
    const dir = project(
      "name: x\nbase: ubuntu@24.04\nplatforms:\n  arm-build:\n    build-on: [amd64]\n    build-for: [arm64]\n",
    );
    expect(readCharmcraftProject(dir).platforms).toEqual([
      {
        name: "arm-build",
        base: { name: "ubuntu", channel: "24.04" },
        architecture: "arm64",
        fileName: "x_arm-build.charm",
      },
    ]);
  });

  it.each([
    ["no file", null, /cannot read .*charmcraft\.yaml/],
    ["not YAML", "name: [", /cannot read/],
    ["no name", "type: charm\nplatforms:\n  amd64:\n", /has no valid name/],
    ["no platforms", "name: x\nbase: ubuntu@24.04\n", /platforms is missing or empty/],
    ["a platform without a base", "name: x\nplatforms:\n  amd64:\n", /names no base, and there is no top-level base/],
    [
      "an architecture without a runtime",
      "name: x\nbase: ubuntu@24.04\nplatforms:\n  s390x:\n",
      /no Node\.js runtime package for architecture "s390x"/,
    ],
    [
      "two build-for",
      "name: x\nbase: ubuntu@24.04\nplatforms:\n  both:\n    build-on: [amd64]\n    build-for: [amd64, arm64]\n",
      /needs exactly one build-for/,
    ],
    ["a bad base", "name: x\nplatforms:\n  ubuntu-24.04:amd64:\n", /base "ubuntu-24\.04" is not <name>@<channel>/],
  ])("refuses %s with a CharmBuildError", (_, body, message) => {
    const dir = body === null ? mkdtempSync(join(work, "empty-")) : project(body);
    let thrown: unknown;
    try {
      readCharmcraftProject(dir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CharmBuildError);
    expect((thrown as Error).message).toMatch(message);
  });
});
