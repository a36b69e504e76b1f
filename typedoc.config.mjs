// @ts-check
/**
 * TypeDoc configuration of `pnpm docs`: the API reference of every published entry point, from TSDoc, into
 * docs/api/ (generated, not committed).
 *
 * This file is also loaded as a TypeDoc plugin (see `plugin` below) for one job: name each module after the
 * import specifier users write (`@charm-upgrade/core/testing`) instead of its source path (`core/src/testing`).
 */
import { Converter } from "typedoc";

/** Entry point (source file) → the specifier it is published as. */
const ENTRY_POINTS = {
  "packages/core/src/index.ts": "@charm-upgrade/core",
  "packages/core/src/testing/index.ts": "@charm-upgrade/core/testing",
  "packages/juju/src/index.ts": "@charm-upgrade/juju",
  "packages/k8s/src/index.ts": "@charm-upgrade/k8s",
  "packages/k8s/src/testing/index.ts": "@charm-upgrade/k8s/testing",
  "packages/sim/src/index.ts": "@charm-upgrade/sim",
  "packages/cli/src/index.ts": "@charm-upgrade/cli",
};

/** TypeDoc's default module name of an entry point: its path relative to the common directory, without `/index.ts`. */
const byDefaultName = new Map(
  Object.entries(ENTRY_POINTS).map(([path, name]) => [
    path.replace(/^packages\//, "").replace(/\/index\.ts$/, ""),
    name,
  ]),
);

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      const name = byDefaultName.get(module.name);
      if (name) module.name = name;
    }
  });
}

/** @type {Partial<import("typedoc").TypeDocOptions>} */
const config = {
  name: "charm-upgrade",
  entryPoints: Object.keys(ENTRY_POINTS),
  entryPointStrategy: "resolve",
  tsconfig: "tsconfig.typedoc.json",
  plugin: ["./typedoc.config.mjs"],
  out: "docs/api",
  readme: "none",
  excludePrivate: true,
  excludeInternal: true,
  // No git remote in every checkout: "Defined in" shows the file and line without a link.
  disableGit: true,
  sourceLinkTemplate: "{path}#L{line}",
  sort: ["kind", "instance-first", "alphabetical-ignoring-documents"],
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
  treatWarningsAsErrors: false,
};

export default config;
