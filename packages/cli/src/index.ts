/**
 * `@charm-upgrade/cli` — the `charm-upgrade` command: `simulate` rehearses a rolling upgrade on the in-memory Juju
 * of `@charm-upgrade/sim`, `check-deps` says whether DEPENDENCIES allow a refresh. Each command is a function taking
 * its arguments and an output stream, resolving to the exit code.
 *
 * @packageDocumentation
 */
export { CHECK_DEPS_USAGE, checkDepsCommand } from "./checkDepsCommand.js";
export type { CliIO, OutputStream } from "./io.js";
export { EXIT, UsageError } from "./io.js";
export type { ProgressView, ProgressViewOptions } from "./progressView.js";
export { createProgressView, formatSummary } from "./progressView.js";
export { runCli, USAGE } from "./runCli.js";
export type { SimulateOptions } from "./simulateCommand.js";
export { parseSimulateArgs, SIMULATE_USAGE, simulateCommand } from "./simulateCommand.js";
