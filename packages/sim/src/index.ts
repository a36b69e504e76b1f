/**
 * `@charm-upgrade/sim` — an in-memory Juju: one application of N units on machines or Kubernetes, a seeded
 * scheduler and faults on demand, every hook running the real `@charm-upgrade/juju` adapter over in-memory hook
 * tools. {@link rehearseUpgrade} drives a whole upgrade and reports it.
 *
 * @packageDocumentation
 */
export { findViolations } from "./findViolations.js";
export type {
  AgentState,
  HookEnd,
  HookRun,
  JujuModelOptions,
  ModelSnapshot,
  ModelStep,
  PendingHook,
  PodState,
  UnitRecord,
} from "./jujuModel.js";
export { JujuModel } from "./jujuModel.js";
export { HookMemo } from "./hookMemo.js";
export type { HookChoice, SyncHookResult } from "./runHookSync.js";
export { CharmUpgrades, runHookSync } from "./runHookSync.js";
export type { PythonCharmCode } from "./pythonLibCharm.js";
export { PythonLibCharm, simPythonCharm } from "./pythonLibCharm.js";
export type {
  CharmGrant,
  PartitionFault,
  PartitionRequestOutcome,
  SimCharmOptions,
  SimCharmState,
} from "./simCharm.js";
export { PARTITION_FAULTS, partitionFaultError, SimCharm, SimKubernetesError } from "./simCharm.js";
export type { Random } from "@charm-upgrade/core/testing";
export { createRandom } from "@charm-upgrade/core/testing";
export { DEFAULT_REVISIONS, workloadDependencies, workloadVersion } from "./revisions.js";
export type {
  ActionName,
  ActionOutcome,
  DatabagChange,
  Faults,
  GrantRecord,
  HookOutcome,
  HookRecord,
  SettleResult,
  SimEvent,
  SimulatorOptions,
  SimUnitInfo,
} from "./simulator.js";
export { PEER_RELATION, Simulator } from "./simulator.js";
export type {
  InspectedEvent,
  SimInspection,
  SimInspectionEvent,
  SimInspector,
  UnitActorRef,
  UnitSnapshot,
} from "./simInspection.js";
export { createSimInspection } from "./simInspection.js";
export type {
  RehearsalAction,
  RehearsalHook,
  RehearsalOptions,
  RehearsalOutcome,
  RehearsalReport,
  RehearsalUnit,
  ResumeOutcome,
} from "./rehearseUpgrade.js";
export { rehearseUpgrade, settleResuming } from "./rehearseUpgrade.js";
