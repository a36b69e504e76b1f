/**
 * The guide's charm entry point: Juju runs the charm's `dispatch` file for every hook and action (bundle this file
 * with its imports into it, e.g. with esbuild, as `examples/upgrade-demo` does).
 *
 * @module
 */
// #region dispatch
import { isUpgradeError } from "@charm-upgrade/core";
import { handleHook } from "./vmCharm.js";
import { workload } from "./workload.js";

handleHook(workload).catch((error: unknown) => {
  // A failed hook is retried by Juju, which discards its relation writes: say why on stderr (the unit log).
  process.stderr.write(`${isUpgradeError(error) ? error.describe() : String(error)}\n`);
  process.exitCode = 1;
});
// #endregion dispatch
