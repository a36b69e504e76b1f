/**
 * `pnpm --filter @charm-upgrade/example-upgrade-demo build` (and the root `pnpm build`): write the charm directory
 * `examples/upgrade-demo/build/`.
 *
 * @module
 */
import { buildCharm } from "./buildCharm.js";

const charm = await buildCharm();
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const k8s = charm.k8sBundleBytes === null ? "no @charm-upgrade/k8s to bundle" : `lib/k8s.cjs: ${kib(charm.k8sBundleBytes)}`;
process.stdout.write(`Built ${charm.dir} (dispatch: ${kib(charm.bundleBytes)}, ${k8s})\n`);
