/**
 * `@charm-upgrade/cli` — the `charm-upgrade` command: `simulate` rehearses a rolling upgrade on the in-memory Juju
 * of `@charm-upgrade/sim` (with an HTML report, and live in the Stately inspector, on request), `check-deps` says
 * whether DEPENDENCIES allow a refresh, `plan` prints the plan of an upgrade from a snapshot of the peer databags.
 * Each command is a function taking its arguments and an output stream, resolving to the exit code.
 *
 * @packageDocumentation
 */
export { CHECK_DEPS_USAGE, checkDepsCommand } from "./checkDepsCommand.js";
export type { ConnectInspectorOptions, InspectorConnection } from "./connectInspector.js";
export { connectInspector, DEFAULT_INSPECT_URL, InspectorConnectionError } from "./connectInspector.js";
export type { HtmlReportOptions } from "./htmlReport.js";
export { htmlReport } from "./htmlReport.js";
export type { CliIO, OutputStream } from "./io.js";
export { EXIT, OptionError, UsageError } from "./io.js";
export type { ProgressView, ProgressViewOptions } from "./progressView.js";
export { createProgressView, formatSummary } from "./progressView.js";
export { runCli, USAGE } from "./runCli.js";
export type { StateChartInput } from "./stateChartSvg.js";
export { machineChartInput, stateChartSvg } from "./stateChartSvg.js";
export type {
  PartitionMove,
  StateSegment,
  Timeline,
  TimelineGrant,
  TimelineLane,
  TimelinePause,
} from "./timelineSvg.js";
export { buildTimeline, timelineSvg } from "./timelineSvg.js";
export type { SimulateOptions } from "./simulateCommand.js";
export { parseSimulateArgs, SIMULATE_USAGE, simulateCommand } from "./simulateCommand.js";
