/**
 * `@charm-upgrade/core` — the rolling-upgrade protocol of Juju charms as a pure xstate v5 machine with a reducer.
 *
 * Adapters read the peer relation into a {@link PeerView}, build a state with {@link createUpgradeState}, feed
 * {@link UpgradeEvent}s to {@link reduce}, and carry out the returned {@link Effect}s. Nothing here does I/O.
 *
 * @packageDocumentation
 */
export type { CompatibilityReport, KeyVerdict } from "./compatibility.js";
export { checkCompatibility, checkDowngrade } from "./compatibility.js";
export type { Dependencies, DependenciesResult, DependencyIssue, DependencyModel } from "./dependencyModel.js";
export {
  canUpgrade,
  DependenciesSchema,
  DependencyModelSchema,
  parseDependencies,
  safeParseDependencies,
  safeParseDependencyModel,
} from "./dependencyModel.js";
export type { Effect, EffectType, StatusName } from "./effects.js";
export { EFFECT_TYPES } from "./effects.js";
export type { UpgradeErrorKind } from "./errors.js";
export {
  ClusterNotReadyError,
  ConstraintParseError,
  DependencyError,
  InvalidVersionError,
  isUpgradeError,
  KubernetesClientError,
  PeerDataError,
  UpgradeError,
  VersionError,
} from "./errors.js";
export type { ErrorData, FailureKind, UpgradeEvent, UpgradeEventType } from "./events.js";
export type { PeerDatabags, PeerProblem, PeerView, UnitView } from "./peerView.js";
export { CHARM_PATTERN, encodeDependencies, encodeStack, KEYS, readPeerView, StackSchema } from "./peerView.js";
export type { Pep440Version, ReleaseTag, VersionConstraint } from "./poetry/index.js";
export { compareVersions, parseConstraint, parseVersion, satisfies } from "./poetry/index.js";
export type { PartitionFailure, PeersQuestion, StackUpdate } from "./protocol.js";
export {
  clusterState,
  everyUnitIdle,
  grantBlocker,
  maintainStack,
  needsGoalState,
  needsObservation,
  needsPeers,
  ownState,
  participants,
  partitionFailure,
  holdBlocker,
  pauseBlocker,
  repairStack,
  rollState,
  topOfStack,
  unitsDone,
  unplannedCharms,
  upgradeInProgress,
} from "./protocol.js";
export type { CharmAnswer, CharmCall, CharmCallType, UnitRollout } from "./charmCall.js";
export { grantEvent, heldPartitionOf, InvalidGrantAnswer, messageOf, toErrorData, trustOf } from "./charmCall.js";
export type { DeferrableEventType, HookMemory, KnownStatus, MemoryRead } from "./hookMemory.js";
export {
  DEFERRABLE_EVENTS,
  EMPTY_MEMORY,
  encodeHookMemory,
  MEMORY_KEY,
  readCharmStatus,
  readHookMemory,
} from "./hookMemory.js";
export type {
  CharmAbilities,
  HookEventType,
  HookInput,
  HookOutcome,
  LogLine,
  Reducer,
  UpgradeStep,
} from "./hookSession.js";
export { appStatusPrecedence, hookSession, statusPrecedence } from "./hookSession.js";
export type { ReduceResult, UpgradeState } from "./reduce.js";
export { createUpgradeState, reduce } from "./reduce.js";
export type { Substrate } from "./substrate.js";
export type { UnitState } from "./unitState.js";
export { furthestBehind, isUnitState, UNIT_STATES } from "./unitState.js";
export type { UpgradeContext, UpgradeInput } from "./upgradeContext.js";
export type { MachineStateValue, UpgradeMachine } from "./upgradeMachine.js";
export { EMPTY_VIEW, upgradeMachine } from "./upgradeMachine.js";
export type { StateEvents, TransitionRow } from "./describeMachine.js";
export {
  effectsMarkdown,
  machineStates,
  mermaidDiagram,
  stateEvents,
  transitionMarkdown,
  transitionTable,
} from "./describeMachine.js";
export type { PausePolicy, RawUpgradeSettings, UpgradeSettings } from "./settings.js";
export { DEFAULT_SETTINGS, PAUSE_POLICIES, readSettings } from "./settings.js";
export { appStatusOf } from "./appStatus.js";
export { rollbackCommand } from "./rollbackCommand.js";
export { runningWorkload, unitStatusDuringUpgrade } from "./unitStatus.js";
export type { PlanSnapshot } from "./plan.js";
export { planFromSnapshot, planResults } from "./plan.js";
export type { RuntimeObservation } from "./observed.js";
export { missedUpgradeCharm, observedMismatch } from "./observed.js";
