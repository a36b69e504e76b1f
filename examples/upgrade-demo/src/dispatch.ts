/**
 * The charm's `dispatch`: Juju runs it for every hook and action, with `JUJU_DISPATCH_PATH` saying which. Bundled by
 * `buildCharm()` into one executable file; a non-zero exit makes Juju discard the hook's relation writes and retry.
 *
 * @module
 */
import { isUpgradeError } from "@charm-upgrade/core";
import { runCharm } from "./runCharm.js";

runCharm({ env: process.env }).then(
  () => {},
  (error: unknown) => {
    const text = isUpgradeError(error) ? `${error.name}: ${error.describe()}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`${text}\n`);
    process.exitCode = 1;
  },
);
