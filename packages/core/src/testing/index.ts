/**
 * `@charm-upgrade/core/testing` — a minimal in-memory Juju model driven through the pure reducer, and sample
 * revisions, for property tests of the protocol (here and in other packages).
 *
 * @packageDocumentation
 */
export type { ActionOutcome, ClusterOptions, HookEventType, ModelUnit, Revision, TraceEntry } from "./cluster.js";
export { ClusterModel, defaultStack, workloadOf } from "./cluster.js";
export type { Random } from "./random.js";
export { createRandom } from "./random.js";
export { INCOMPATIBLE, NEW, OLD, revision } from "./revisions.js";
