/**
 * `pnpm --filter @charm-upgrade/example-upgrade-demo build` (and the root `pnpm build`): build both charms of the
 * example, each for every platform its `charmcraft.yaml` declares: `machine/build/` and `k8s/build/`.
 *
 * @module
 */
import type { CharmKind } from "./buildCharm.js";
import { buildCharm } from "./buildCharm.js";

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
for (const kind of ["machine", "k8s"] satisfies CharmKind[]) {
  const charm = await buildCharm({ charm: kind });
  const k8s = charm.k8sBundleBytes === null ? "" : `, lib/k8s.cjs ${kib(charm.k8sBundleBytes)}`;
  process.stdout.write(
    `${charm.name} (${charm.substrate}, Node.js ${charm.nodeVersion}): lib/charm.cjs ${kib(charm.bundleBytes)}${k8s}\n`,
  );
  for (const tree of charm.trees) process.stdout.write(`  ${tree.dir}/ ${mib(tree.bytes)}\n`);
  for (const packed of charm.charms) process.stdout.write(`  ${packed.path} ${mib(packed.bytes)}\n`);
}
