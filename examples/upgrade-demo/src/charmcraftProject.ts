import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Substrate } from "@charm-upgrade/core";
import { parse, stringify } from "yaml";
import { CharmBuildError } from "./charmBuildError.js";
import type { Architecture } from "./nodeRuntime.js";
import { isArchitecture } from "./nodeRuntime.js";

/** An Ubuntu release a charm runs on, as `manifest.yaml` lists it. */
export interface Base {
  /** `ubuntu`. */
  readonly name: string;
  /** `22.04`, `24.04`. */
  readonly channel: string;
}

/** One entry of `platforms:`: what one `.charm` file is built for. */
export interface Platform {
  /** The key in `platforms:`, e.g. `amd64` or `ubuntu@22.04:amd64`. */
  readonly name: string;
  readonly base: Base;
  readonly architecture: Architecture;
  /** The `.charm` file name charmcraft gives it: `<charm>_<platform>.charm`, `:` written `-`. */
  readonly fileName: string;
}

/** A charm's `charmcraft.yaml`, read the way charmcraft reads what this example uses of it. */
export interface CharmcraftProject {
  /** The directory holding `charmcraft.yaml` (its part dumps `build/<arch>/` from there). */
  readonly dir: string;
  readonly name: string;
  /**
   * `k8s` when the charm declares workload containers (Juju then runs it as a Kubernetes sidecar charm), else `vm`.
   * The build compiles it into the charm: nothing at run time needs to say it again.
   */
  readonly substrate: Substrate;
  readonly platforms: readonly Platform[];
  /** Every architecture of {@link platforms}, once each, in order of appearance. */
  readonly architectures: readonly Architecture[];
  /** `metadata.yaml`, `actions.yaml` and `config.yaml` as charmcraft writes them from this file. */
  readonly files: Readonly<Record<"metadata.yaml" | "actions.yaml" | "config.yaml", string | null>>;
}

/** The keys of `charmcraft.yaml` that charmcraft copies into `metadata.yaml` (`title` becomes `display-name`). */
const METADATA_KEYS = [
  "name",
  "title",
  "summary",
  "description",
  "assumes",
  "charm-user",
  "containers",
  "devices",
  "extra-bindings",
  "peers",
  "provides",
  "requires",
  "resources",
  "storage",
  "subordinate",
  "terms",
] as const;

type Yaml = Record<string, unknown>;

function isMapping(value: unknown): value is Yaml {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBase(text: string, where: string): Base {
  const match = /^([a-z]+)@(\d+\.\d+)$/.exec(text);
  if (!match?.[1] || !match[2])
    throw new CharmBuildError(
      `${where}: base ${JSON.stringify(text)} is not <name>@<channel>`,
      "write it like ubuntu@24.04",
    );
  return { name: match[1], channel: match[2] };
}

/** `amd64` (with the top-level `base`) or `ubuntu@22.04:amd64`. */
function parseTarget(text: string, base: Base | null, where: string): { base: Base; architecture: Architecture } {
  const colon = text.lastIndexOf(":");
  const architecture = colon < 0 ? text : text.slice(colon + 1);
  const targetBase = colon < 0 ? base : parseBase(text.slice(0, colon), where);
  if (!targetBase)
    throw new CharmBuildError(
      `${where}: platform ${JSON.stringify(text)} names no base, and there is no top-level base`,
      "add base: ubuntu@24.04, or write the platform as ubuntu@24.04:amd64",
    );
  if (!isArchitecture(architecture)) {
    throw new CharmBuildError(
      `${where}: no Node.js runtime package for architecture ${JSON.stringify(architecture)}`,
      "build for amd64 or arm64 (examples/upgrade-demo/src/nodeRuntime.ts lists the runtime packages)",
    );
  }
  return { base: targetBase, architecture };
}

function parsePlatforms(charm: string, value: unknown, base: Base | null, where: string): Platform[] {
  if (!isMapping(value) || Object.keys(value).length === 0)
    throw new CharmBuildError(
      `${where}: platforms is missing or empty`,
      "declare at least one platform, e.g. platforms: { amd64: }",
    );
  return Object.entries(value).map(([name, entry]) => {
    let target: string;
    if (entry === null) {
      target = name;
    } else {
      const buildFor = isMapping(entry) ? entry["build-for"] : undefined;
      const list = typeof buildFor === "string" ? [buildFor] : buildFor;
      if (!Array.isArray(list) || list.length !== 1 || typeof list[0] !== "string") {
        throw new CharmBuildError(
          `${where}: platform ${name} needs exactly one build-for`,
          "write build-for: [amd64], or use the shorthand <arch>: / <base>:<arch>:",
        );
      }
      target = list[0];
    }
    return { name, ...parseTarget(target, base, where), fileName: `${charm}_${name.replaceAll(":", "-")}.charm` };
  });
}

function yamlFile(value: unknown): string | null {
  return value === undefined
    ? null
    : `# Generated from charmcraft.yaml by examples/upgrade-demo/src/buildCharm.ts.\n${stringify(value, { lineWidth: 0 })}`;
}

/**
 * Read `<dir>/charmcraft.yaml`: the charm's name, its platforms, whether it is a Kubernetes charm, and the
 * `metadata.yaml`, `actions.yaml` and `config.yaml` charmcraft would write from it.
 *
 * @throws {@link CharmBuildError} when the file is missing or not YAML, has no `name`, or has platforms this build
 * cannot make (no base, several `build-for`, an architecture without a Node.js runtime package).
 * @example
 * ```ts
 * const project = readCharmcraftProject("examples/upgrade-demo/k8s");
 * project.substrate; // "k8s": it declares containers
 * ```
 */
export function readCharmcraftProject(dir: string): CharmcraftProject {
  const file = join(dir, "charmcraft.yaml");
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CharmBuildError(
      `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
      "fix charmcraft.yaml",
    );
  }
  if (!isMapping(doc) || typeof doc["name"] !== "string" || !/^[a-z][a-z0-9-]*$/.test(doc["name"])) {
    throw new CharmBuildError(
      `${file} has no valid name`,
      "give the charm a name of lowercase letters, digits and dashes",
    );
  }
  const name = doc["name"];
  const base = typeof doc["base"] === "string" ? parseBase(doc["base"], file) : null;
  const platforms = parsePlatforms(name, doc["platforms"], base, file);
  const metadata: Yaml = {};
  for (const key of METADATA_KEYS)
    if (doc[key] !== undefined) metadata[key === "title" ? "display-name" : key] = doc[key];
  return {
    dir,
    name,
    substrate: isMapping(doc["containers"]) && Object.keys(doc["containers"]).length > 0 ? "k8s" : "vm",
    platforms,
    architectures: [...new Set(platforms.map((platform) => platform.architecture))],
    files: {
      "metadata.yaml": yamlFile(metadata),
      "actions.yaml": yamlFile(doc["actions"]),
      "config.yaml": yamlFile(doc["config"]),
    },
  };
}

/** `manifest.yaml` of one platform's `.charm`: the base Juju may deploy it on. */
export function manifestYaml(platform: Platform): string {
  const bases = [{ name: platform.base.name, channel: platform.base.channel, architectures: [platform.architecture] }];
  return `# Written by examples/upgrade-demo/src/buildCharm.ts for platform ${platform.name}, as charmcraft would.\n${stringify({ bases })}`;
}
