/**
 * What `scripts/benchCharm.ts` measures a V8 start-up snapshot with: the example charm's code, loaded while the
 * snapshot is built, and run by the snapshot's main function (`node --snapshot-blob <blob>`). Not part of any charm:
 * the numbers in docs/benchmarks.md say why.
 *
 * @module
 */
import { startupSnapshot } from "node:v8";
import type { Substrate } from "@charm-upgrade/core";
import { isUpgradeError } from "@charm-upgrade/core";
import { runCharm } from "../examples/upgrade-demo/src/runCharm.js";

declare const CHARM_SUBSTRATE: Substrate;

function main(): void {
  runCharm({ substrate: CHARM_SUBSTRATE, env: process.env }).then(
    () => {},
    (error: unknown) => {
      process.stderr.write(`${isUpgradeError(error) ? `${error.name}: ${error.describe()}` : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(main);
else main();
