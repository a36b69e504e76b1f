import type { DispatchResult, SyncHookToolRunner } from "@charm-upgrade/juju";
import type { HookRun, JujuModel } from "./jujuModel.js";
import type { CharmGrant, PartitionRequestOutcome, SimCharm } from "./simCharm.js";

/** Hook tools whose calls change the model (everything else only reads it). */
const WRITES: ReadonlySet<string> = new Set([
  "relation-set",
  "state-set",
  "state-delete",
  "status-set",
  "juju-log",
  "action-set",
  "action-fail",
  "action-log",
  "application-version-set",
]);

/** What one run of a hook did, to do it again without running it. */
interface Recorded {
  readonly writes: readonly (readonly [string, readonly string[], string | undefined])[];
  /** The calls that only read (logged again on a replay, so that the hook's record says what it read). */
  readonly reads: readonly (readonly [string, readonly string[]])[];
  readonly result: DispatchResult | null;
  readonly error: unknown;
  /** The unit's part of the charm's world after the hook. */
  readonly workload: string | undefined;
  readonly restarting: boolean;
  readonly grants: readonly CharmGrant[];
  /** The StatefulSet partition the charm set, if it set one. */
  readonly partition: number | null;
  /** The simulated API server's faults still to come after the hook (it consumes those its requests met). */
  readonly partitionFaults: readonly PartitionRequestOutcome[];
}

/**
 * A cache of whole hooks, for exploring millions of states: a hook is a deterministic function of what it can
 * observe — the hook, the charm revision and config it runs, every databag, the unit's store, who leads, the
 * units' numbers and the simulated charm's answers for this unit (the partition the API server holds, and its coming faults) — so a hook with inputs seen before does again
 * what it did then: the same hook-tool writes (replayed through the hook's own tools, so the model commits them by
 * its own rules), the same charm-side changes, the same result. Every distinct input still runs the real adapter
 * and the real core once; the cache only skips recomputing what is already known.
 */
export class HookMemo {
  private cache = new Map<string, Recorded>();
  /** How often a hook was replayed, and how often it ran. */
  readonly stats = { hits: 0, misses: 0 };
  private readonly limit: number;

  /** @param limit - entries kept before the cache starts over */
  constructor(limit = 300_000) {
    this.limit = limit;
  }

  private key(model: JujuModel, charm: SimCharm, run: HookRun): string {
    const id = run.unit;
    return JSON.stringify([
      // Whose hook: the model's application and substrate, and how the charm is set up (one cache may serve many).
      model.app,
      model.substrate,
      charm.fingerprint,
      id,
      run.kind,
      run.hook.name,
      run.hook.remote ?? null,
      run.revision,
      model.leader,
      // What a charm that observes its pod reads: the application's revision, and whether its pod is stale.
      charm.observesPods ? [model.charm, model.units.get(id)?.pod?.stale ?? null] : null,
      [...model.units.keys()],
      run.tools.model.relation !== null,
      run.tools.model.metUnits ?? null,
      model.databags,
      model.appData,
      model.units.get(id)?.store ?? null,
      model.configOf(id),
      run.tools.model.action?.params ?? null,
      charm.failing.has(id),
      charm.unhealthy.get(id) ?? null,
      [...charm.holds],
      charm.isRestarting(id),
      charm.failPreUpgradeCheck ?? null,
      charm.workloads.get(id) ?? null,
      // Kubernetes: what the API server holds (`getPartition` reads it, `awaitsRollout` the revisions) and its coming
      // failures.
      model.partition,
      model.substrate === "k8s" ? model.awaitsRollout(id) : null,
      // …and, on the leader (pre-upgrade-check, a roll's end), where the rollout stands for each pod (`unitRollout`).
      model.substrate === "k8s" && model.leader === id && charm.readsRollout ? model.unitRollout() : null,
      charm.partitionFaults,
    ]);
  }

  /**
   * Run `dispatch` for `run` (recording what it writes through the tools it is given), or replay what an earlier
   * run with the same inputs did. Returns the adapter's result; throws what it threw.
   */
  run(
    model: JujuModel,
    charm: SimCharm,
    run: HookRun,
    dispatch: (tools: SyncHookToolRunner) => DispatchResult,
  ): DispatchResult {
    const key = this.key(model, charm, run);
    const known = this.cache.get(key);
    if (known) {
      this.stats.hits++;
      for (const [tool, args] of known.reads) run.tools.calls.push({ tool, args: [...args], stdin: undefined });
      for (const [tool, args, stdin] of known.writes) run.tools.runSync(tool, args, stdin);
      if (known.workload === undefined) charm.workloads.delete(run.unit);
      else charm.workloads.set(run.unit, known.workload);
      charm.setRestarting(run.unit, known.restarting);
      for (const grant of known.grants) charm.replayGrant(grant);
      if (known.partition !== null) model.setPartition(known.partition);
      charm.partitionFaults = [...known.partitionFaults];
      if (known.error !== null) throw known.error;
      return known.result as DispatchResult;
    }
    this.stats.misses++;
    const writes: [string, readonly string[], string | undefined][] = [];
    const reads: [string, readonly string[]][] = [];
    const grants: CharmGrant[] = [];
    const stopRecording = charm.recordGrants(grants);
    const partitionBefore = model.partition;
    const tools: SyncHookToolRunner = (tool, args, stdin) => {
      const output = run.tools.runSync(tool, args, stdin);
      if (WRITES.has(tool)) writes.push([tool, [...args], stdin]);
      else reads.push([tool, [...args]]);
      return output;
    };
    let result: DispatchResult | null = null;
    let error: unknown = null;
    try {
      result = dispatch(tools);
    } catch (thrown) {
      error = thrown;
    } finally {
      stopRecording();
    }
    if (this.cache.size >= this.limit) this.cache = new Map();
    this.cache.set(key, {
      writes,
      reads,
      result,
      error,
      workload: charm.workloads.get(run.unit),
      restarting: charm.isRestarting(run.unit),
      grants,
      partition: model.partition !== partitionBefore ? model.partition : null,
      partitionFaults: [...charm.partitionFaults],
    });
    if (error !== null) throw error;
    return result as DispatchResult;
  }
}
