/**
 * The charm's code: the charm's `dispatch` script runs it (bundled by `buildCharm()` into `lib/charm.cjs`) on the
 * Node.js the charm ships, for every hook and action, with `JUJU_DISPATCH_PATH` saying which. A non-zero exit makes
 * Juju discard the hook's relation writes and retry.
 *
 * @module
 */
import { writeSync } from "node:fs";
import type { Substrate } from "@charm-upgrade/core";
import { isUpgradeError } from "@charm-upgrade/core";
import { runCharm } from "./runCharm.js";

/**
 * Replaced by the build with the substrate of the charm being built: `k8s` for the charm whose `charmcraft.yaml`
 * declares a workload container, `vm` for the other.
 */
declare const CHARM_SUBSTRATE: Substrate;

runCharm({ substrate: CHARM_SUBSTRATE, env: process.env }).then(
  () => {},
  (error: unknown) => {
    const text = isUpgradeError(error)
      ? `${error.name}: ${error.describe()}`
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
    report(`${text}\n`);
    process.exitCode = 1;
  },
);

/**
 * Write to stderr (the unit log) straight to its file descriptor: `process.stderr` is a stream, and creating it
 * loads Node's stream modules, about 3 ms of CPU on every hook that fails (docs/benchmarks.md, cold start). Should
 * the descriptor refuse a synchronous write (a non-blocking pipe that is full), the stream writes it.
 */
function report(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    process.stderr.write(text);
  }
}
