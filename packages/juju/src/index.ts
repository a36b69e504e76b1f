/**
 * `@charm-upgrade/juju` — the Juju adapter of charm-upgrade: maps hooks and actions onto the core's events and
 * carries out its effects with hook tools.
 *
 * Charm authors need {@link createUpgrade} only. What happens inside a hook is the core's `hookSession`; this
 * package reads and writes with the hook tools and calls the charm's callbacks ({@link hookProgram}). The hook-tool port ({@link HookToolRunner}) has a production
 * runner over `execFile` and an in-memory fake ({@link InMemoryHookTools}) that tests and the simulator use.
 *
 * @packageDocumentation
 */
export type { CharmReport, DispatchResult, HookRequest } from "./hookProgram.js";
export { eventOf, hookProgram } from "./hookProgram.js";
export type { HookContext, HookRelation, JujuEnv } from "./hookContext.js";
export { HookContextError, readHookContext } from "./hookContext.js";
export { HookToolError } from "./hookToolError.js";
export type { ExecFileRunnerOptions } from "./hookTools.js";
export { createExecFileRunner, execFileRunner, HookTools } from "./hookTools.js";
export type {
  CommitResult,
  InMemoryAction,
  InMemoryCall,
  InMemoryLogLine,
  InMemoryModel,
  InMemoryModelInit,
  InMemoryToolResult,
} from "./inMemoryHookTools.js";
export { createInMemoryModel, InMemoryHookTools } from "./inMemoryHookTools.js";
export type {
  GoalState,
  GoalStateStatus,
  HookToolOutput,
  HookToolRunner,
  JujuLogLevel,
  StatusInfo,
  SyncHookToolRunner,
  ToolCall,
  WorkloadStatus,
} from "./toolCall.js";
export { callSync, toolCalls } from "./toolCall.js";
export type { GrantOutcome, K8sUpgradeOptions, UpgradeOptions, VmUpgradeOptions } from "./upgradeCharm.js";
export { CharmUpgrade, createUpgrade } from "./upgradeCharm.js";
