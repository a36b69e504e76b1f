import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Substrate } from "@charm-upgrade/core";
import type { BuildOptions, Plugin } from "esbuild";
import { build } from "esbuild";
import type { CharmcraftProject, Platform } from "./charmcraftProject.js";
import { manifestYaml, readCharmcraftProject } from "./charmcraftProject.js";
import { CharmBuildError } from "./charmBuildError.js";
import type { Architecture, NodeRuntime } from "./nodeRuntime.js";
import { nodeRuntimes } from "./nodeRuntime.js";
import { DEPENDENCIES_FILE } from "./readDependencies.js";
import type { ZipEntry } from "./writeZip.js";
import { writeZip } from "./writeZip.js";

const exampleDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const workspaceDir = resolve(exampleDir, "../..");

/** The two charms of this example, each a directory with its `charmcraft.yaml`: what an author ships. */
export const CHARMS = {
  /** `upgrade-demo`, for machines. */
  machine: join(exampleDir, "machine"),
  /** `upgrade-demo-k8s`, a Kubernetes sidecar charm (it declares a workload container). */
  k8s: join(exampleDir, "k8s"),
} as const;

/** Which of {@link CHARMS}. */
export type CharmKind = keyof typeof CHARMS;

/** The DEPENDENCIES a fresh build ships: workload 1.0.0, upgradable from any 1.x or later. */
export const INITIAL_DEPENDENCIES = {
  workload: { dependencies: {}, name: "workload", upgrade_supported: ">=1", version: "1.0.0" },
} as const;

/** Where the charm's code goes in the charm, bundled: `dispatch` runs it. */
export const CHARM_BUNDLE = "lib/charm.cjs";
/** The loader `dispatch` starts: it turns on V8's compile cache, then loads {@link CHARM_BUNDLE}. */
export const CHARM_LOADER = "lib/start.cjs";
/** Where the Kubernetes adapter's bundle goes in the Kubernetes charm, as {@link CHARM_BUNDLE} imports it. */
export const K8S_BUNDLE = "lib/k8s.cjs";
/** The compile cache's directory in the charm, written by the first hook on each unit. */
export const COMPILE_CACHE_DIR = ".node-compile-cache";

/** The Node.js executable of architecture `arch`, inside the charm. */
export function runtimePath(arch: Architecture): string {
  return `runtime/${arch}/node`;
}

/** Options of {@link buildCharm}. */
export interface BuildCharmOptions {
  /** Which charm; default `machine`. */
  readonly charm?: CharmKind | undefined;
  /** Where to write (emptied first): `<arch>/` per architecture and the `.charm` files; default `<charm>/build`. */
  readonly outDir?: string | undefined;
  /** Build these architectures only (each must be one the charm declares); default: every one it declares. */
  readonly architectures?: readonly Architecture[] | undefined;
  /** Also write one `.charm` per platform of the architectures built; default `true`. */
  readonly pack?: boolean | undefined;
  /** The DEPENDENCIES written to `dependencies.json`; default {@link INITIAL_DEPENDENCIES}. */
  readonly dependencies?: unknown;
}

/** The files of the charm for one architecture: what `juju deploy` unpacks on a unit, less `manifest.yaml`. */
export interface CharmTree {
  readonly architecture: Architecture;
  /** The directory (the charmcraft part dumps it). */
  readonly dir: string;
  /** The executable `dispatch` in it. */
  readonly dispatch: string;
  /** Size of every file in it, in bytes. */
  readonly bytes: number;
}

/** A `.charm` file. */
export interface PackedCharm {
  readonly platform: Platform;
  readonly path: string;
  /** Its size, in bytes. */
  readonly bytes: number;
}

/** What {@link buildCharm} produced. */
export interface BuiltCharm {
  readonly project: CharmcraftProject;
  /** The charm's name, e.g. `upgrade-demo-k8s`. */
  readonly name: string;
  /** What the charm was built to run on, from its `charmcraft.yaml` (compiled into {@link CHARM_BUNDLE}). */
  readonly substrate: Substrate;
  /** The Node.js version the charm ships and the bundle is compiled for. */
  readonly nodeVersion: string;
  /** One tree per architecture built. */
  readonly trees: readonly CharmTree[];
  /** One `.charm` per platform built (none without `pack`). */
  readonly charms: readonly PackedCharm[];
  /** Size of {@link CHARM_BUNDLE}, in bytes. */
  readonly bundleBytes: number;
  /** Size of {@link K8S_BUNDLE}, in bytes; `null` in a machine charm, which has none. */
  readonly k8sBundleBytes: number | null;
}

/**
 * The tree of `architecture` in a build.
 *
 * @throws {@link CharmBuildError} when that architecture was not built.
 */
export function charmTree(charm: BuiltCharm, architecture: Architecture): CharmTree {
  const tree = charm.trees.find((candidate) => candidate.architecture === architecture);
  if (!tree)
    throw new CharmBuildError(
      `${charm.name} was not built for ${architecture}`,
      `build it with architectures: ["${architecture}"]`,
    );
  return tree;
}

/** The workspace package's TypeScript source (as the root tsconfig and vitest resolve it), or `null` if it has none. */
function workspaceSource(name: string): string | null {
  const source = join(workspaceDir, "packages", name, "src", "index.ts");
  return existsSync(source) ? source : null;
}

/**
 * Resolve `@charm-upgrade/<name>` to the package's TypeScript sources, so a build needs no earlier `tsc` build of
 * the packages, except `@charm-upgrade/k8s`, which stays out of the charm's bundle: its `import()` becomes an import
 * of the separate bundle {@link K8S_BUNDLE}, so no machine hook reads, parses or loads the Kubernetes client.
 */
function workspaceSources(): Plugin {
  return {
    name: "charm-upgrade-workspace-sources",
    setup(esbuild) {
      esbuild.onResolve({ filter: /^@charm-upgrade\/[a-z0-9-]+$/ }, (args) => {
        const name = args.path.slice("@charm-upgrade/".length);
        if (name === "k8s") {
          if (args.kind !== "dynamic-import")
            return {
              errors: [{ text: "import @charm-upgrade/k8s with import() only, so machine hooks never load it" }],
            };
          // Relative to CHARM_BUNDLE, which sits beside it in lib/.
          return { path: `./${relative(dirname(CHARM_BUNDLE), K8S_BUNDLE)}`, external: true };
        }
        const source = workspaceSource(name);
        return source ? { path: source } : { errors: [{ text: `workspace package ${args.path} has no src/index.ts` }] };
      });
    },
  };
}

/** Options of {@link bundleScript}. */
export interface BundleOptions {
  /** A first line, e.g. `#!/usr/bin/env node`. */
  readonly banner?: string | undefined;
  /** The Node.js the bundle runs on, as esbuild names it; default `node20` (the workspace's lowest Node.js). */
  readonly target?: string | undefined;
  /** Identifiers replaced by the given JavaScript expressions (esbuild's `define`). */
  readonly define?: Readonly<Record<string, string>> | undefined;
}

function bundleOptions(entry: string, options: BundleOptions): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: options.target ?? "node20",
    minify: true,
    // Error classes name themselves after their constructor (`this.name = new.target.name`): keep those names.
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    plugins: [workspaceSources()],
    ...(options.banner === undefined ? {} : { banner: { js: options.banner } }),
    ...(options.define === undefined ? {} : { define: { ...options.define } }),
  };
}

/**
 * Bundle the TypeScript module `entry`, with everything it imports (the workspace packages from their sources), into
 * one minified CommonJS file.
 */
export async function bundleScript(entry: string, outfile: string, options: BundleOptions = {}): Promise<void> {
  await build({ ...bundleOptions(entry, options), outfile });
}

async function bundleBytes(entry: string, options: BundleOptions): Promise<Uint8Array> {
  const result = await build({ ...bundleOptions(entry, options), write: false, outfile: "bundle.cjs" });
  const [output] = result.outputFiles;
  if (!output) throw new CharmBuildError(`esbuild wrote nothing for ${entry}`, "check the esbuild warnings above");
  return output.contents;
}

/**
 * The charm's `dispatch`: a POSIX `sh` script (a stock Ubuntu machine and Juju's charm container have `sh` and
 * `uname`, not Node.js) that runs the Node.js the charm ships for this machine's architecture on the bundle. It
 * finds the charm from its own path, not from the working directory, and passes arguments and environment on.
 */
function dispatchScript(charm: string, nodeVersion: string): string {
  return `#!/bin/sh
# ${charm}'s dispatch, written by examples/upgrade-demo/src/buildCharm.ts. Juju runs it for every hook and action:
# it runs the charm on the Node.js ${nodeVersion} the charm ships for this machine's architecture.
case $0 in
*/*) charm=\${0%/*} ;;
*) charm=. ;;
esac
machine=$(uname -m)
case $machine in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch=$machine ;;
esac
node=$charm/runtime/$arch/node
if [ ! -x "$node" ]; then
  shipped=
  for found in "$charm"/runtime/*/node; do
    if [ -x "$found" ]; then
      found=\${found%/node}
      shipped="$shipped \${found##*/}"
    fi
  done
  echo "${charm}: no Node.js runtime for this machine's architecture, $arch (uname -m: $machine): $node is missing. This charm has one for:\${shipped:- nothing}. Deploy the ${charm} charm built for $arch." >&2
  exit 1
fi
exec "$node" "$charm/${CHARM_LOADER}" "$@"
`;
}

/**
 * `lib/start.cjs`: turn on V8's compile cache (in the charm directory, which only the unit agent's user can write;
 * a failure to create it only means no cache), then load the charm. The first hook on a unit compiles and writes
 * the cache; later hooks read compiled code instead of compiling the bundle again.
 */
const loaderScript = `"use strict";
// Written by examples/upgrade-demo/src/buildCharm.ts: V8's compile cache, then the charm.
require("node:module").enableCompileCache?.({ directory: require("node:path").join(__dirname, "..", ${JSON.stringify(COMPILE_CACHE_DIR)}), portable: true });
require(${JSON.stringify(`./${relative(dirname(CHARM_LOADER), CHARM_BUNDLE)}`)});
`;

/** Every file under `dir`, as zip entries (directories first, then files, each sorted), with their modes. */
function entriesOf(dir: string, prefix = ""): ZipEntry[] {
  const entries: ZipEntry[] = [];
  const children = readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const child of children) {
    const name = `${prefix}${child.name}`;
    const path = join(dir, name);
    const mode = statSync(path).mode & 0o777;
    if (child.isDirectory()) entries.push({ name: `${name}/`, mode }, ...entriesOf(dir, `${name}/`));
    else if (child.isFile()) entries.push({ name, mode, data: { path } });
    else
      throw new CharmBuildError(
        `${path} is neither a file nor a directory`,
        "a charm holds files and directories only",
      );
  }
  return entries;
}

function sizeOf(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .reduce((total, entry) => total + statSync(join(entry.parentPath, entry.name)).size, 0);
}

function writeFile(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  chmodSync(path, mode);
}

function writeTree(
  dir: string,
  runtime: NodeRuntime,
  files: Readonly<Record<string, string | Uint8Array | null>>,
  executable: ReadonlySet<string>,
): CharmTree {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files))
    if (data !== null) writeFile(join(dir, ...name.split("/")), data, executable.has(name) ? 0o755 : 0o644);
  const node = join(dir, ...runtimePath(runtime.architecture).split("/"));
  mkdirSync(dirname(node), { recursive: true });
  // A copy-on-write clone where the file system has them: the binary is 120 MB.
  copyFileSync(runtime.binary, node, constants.COPYFILE_FICLONE);
  chmodSync(node, 0o755);
  if (existsSync(runtime.license)) copyFileSync(runtime.license, join(dirname(node), "LICENSE"));
  return { architecture: runtime.architecture, dir, dispatch: join(dir, "dispatch"), bytes: sizeOf(dir) };
}

/**
 * Build one of the example's charms ({@link CHARMS}) from its `charmcraft.yaml`, as charmcraft would pack it, without
 * charmcraft: for each architecture it declares, a tree `<outDir>/<arch>/` —
 *
 * - `dispatch`, a POSIX `sh` script that runs `runtime/<arch>/node` on `lib/start.cjs`;
 * - `lib/charm.cjs`, one esbuild bundle of `src/dispatch.ts`, the library and its dependencies, compiled for the
 *   Node.js the charm ships, its substrate fixed by the charm's metadata (`containers:` means Kubernetes);
 * - `lib/k8s.cjs` (Kubernetes charm only): `@charm-upgrade/k8s` with its client, imported by the hooks that move
 *   the StatefulSet's partition;
 * - `runtime/<arch>/node` and Node.js's `LICENSE`: the official binary of the pinned `node-linux-*` package;
 * - `metadata.yaml`, `actions.yaml`, `config.yaml` from `charmcraft.yaml`, and `dependencies.json`;
 *
 * then, with `pack`, one `<charm>_<platform>.charm` per platform: that tree plus its `manifest.yaml`, zipped with
 * the Unix modes (see `writeZip.ts`).
 *
 * Why the runtime is in the charm: a stock Ubuntu machine and Juju's Kubernetes charm container have no Node.js, and
 * the charm cannot install one, since its `install` hook already runs on it. Why the Kubernetes client is a second
 * file: inlined, it makes the bundle about 3.6 MB instead of 130 kB, parsed in every hook.
 *
 * @throws {@link CharmBuildError} on a `charmcraft.yaml` it cannot build, an architecture the charm does not declare,
 * or a Node.js runtime that `pnpm install` did not install.
 * @example
 * ```ts
 * const charm = await buildCharm({ charm: "k8s" });
 * charm.charms.map((packed) => packed.path); // [".../k8s/build/upgrade-demo-k8s_amd64.charm", ".../upgrade-demo-k8s_arm64.charm"]
 * ```
 */
export async function buildCharm(options: BuildCharmOptions = {}): Promise<BuiltCharm> {
  const project = readCharmcraftProject(CHARMS[options.charm ?? "machine"]);
  const architectures = options.architectures ?? project.architectures;
  for (const arch of architectures) {
    if (!project.architectures.includes(arch)) {
      throw new CharmBuildError(
        `${project.name} declares no platform for ${arch}`,
        `build one of ${project.architectures.join(", ")}, or add a platform to ${join(project.dir, "charmcraft.yaml")}`,
      );
    }
  }
  const runtimes = nodeRuntimes(architectures);
  const nodeVersion = runtimes[0]?.version ?? "";
  if (!nodeVersion)
    throw new CharmBuildError(`no architecture to build ${project.name} for`, "pass at least one architecture");
  const target = `node${nodeVersion.split(".")[0]}`;

  const outDir = resolve(options.outDir ?? join(project.dir, "build"));
  // It is emptied first: never the example itself, or a directory that holds it.
  const rel = relative(outDir, exampleDir);
  if (rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`))) {
    throw new CharmBuildError(
      `refusing to empty ${outDir}, which holds the example`,
      "give an output directory of its own",
    );
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const bundle = await bundleBytes(join(exampleDir, "src", "dispatch.ts"), {
    target,
    define: { CHARM_SUBSTRATE: JSON.stringify(project.substrate) },
  });
  const k8sSource = project.substrate === "k8s" ? workspaceSource("k8s") : null;
  if (project.substrate === "k8s" && !k8sSource)
    throw new CharmBuildError("packages/k8s/src/index.ts is missing", "a Kubernetes charm needs @charm-upgrade/k8s");
  const k8sBundle = k8sSource ? await bundleBytes(k8sSource, { target }) : null;
  const files: Record<string, string | Uint8Array | null> = {
    dispatch: dispatchScript(project.name, nodeVersion),
    [CHARM_LOADER]: loaderScript,
    [CHARM_BUNDLE]: bundle,
    [K8S_BUNDLE]: k8sBundle,
    ...project.files,
    [DEPENDENCIES_FILE]: `${JSON.stringify(options.dependencies ?? INITIAL_DEPENDENCIES, null, 2)}\n`,
  };
  const trees = runtimes.map((runtime) =>
    writeTree(join(outDir, runtime.architecture), runtime, files, new Set(["dispatch"])),
  );

  const charms: PackedCharm[] = [];
  if (options.pack ?? true) {
    for (const platform of project.platforms) {
      const tree = trees.find((candidate) => candidate.architecture === platform.architecture);
      if (!tree) continue;
      const path = join(outDir, platform.fileName);
      const manifest = { name: "manifest.yaml", mode: 0o644, data: new TextEncoder().encode(manifestYaml(platform)) };
      const bytes = writeZip(
        path,
        [manifest, ...entriesOf(tree.dir)].sort((a, b) => (a.name < b.name ? -1 : 1)),
      );
      charms.push({ platform, path, bytes });
    }
  }
  return {
    project,
    name: project.name,
    substrate: project.substrate,
    nodeVersion,
    trees,
    charms,
    bundleBytes: bundle.byteLength,
    k8sBundleBytes: k8sBundle ? k8sBundle.byteLength : null,
  };
}
