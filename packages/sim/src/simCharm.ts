import type { Dependencies, UpgradeStep } from "@charm-upgrade/core";
import { ClusterNotReadyError, KEYS, KubernetesClientError } from "@charm-upgrade/core";
import type { Reducer } from "@charm-upgrade/core";
import type { GrantOutcome, UpgradeOptions } from "@charm-upgrade/juju";
import type { JujuModel } from "./jujuModel.js";
import { workloadVersion } from "./revisions.js";

/** The charm's `onUpgradeGranted` was called: on which unit, what it saw, and what it answered. */
export interface CharmGrant {
  readonly unit: number;
  /** The charm revision running the hook. */
  readonly revision: number;
  /** The workload version the charm was asked to install. */
  readonly version: string;
  readonly outcome: "completed" | "pending" | "failed";
  /** Other units whose committed state was `upgrading` at that moment (must be empty on machines). */
  readonly upgradingOthers: readonly number[];
  /** Units whose committed `upgrade-hold` was set, or this unit's own hold (must be empty). */
  readonly held: readonly number[];
}

/**
 * How the simulated Kubernetes API server fails one partition request (a patch or a read), as the real one does after
 * `@charm-upgrade/k8s` has spent its retries within the call: `conflict` (409), `throttled` (429), `unavailable`
 * (503), `timeout` (no answer in time — and a timed-out patch may still be applied: here it is, the worst case) and
 * `forbidden` (403: the charm is not trusted). The status reasons are Kubernetes' (k8s.io/apimachinery
 * pkg/apis/meta/v1/types.go: `StatusReasonConflict` 409, `StatusReasonTooManyRequests` 429,
 * `StatusReasonServiceUnavailable` 503, `StatusReasonForbidden` 403); a request whose answer never came may have been
 * carried out, which is why HTTP lets a client repeat only idempotent ones (RFC 9110 §9.2.2) — a merge patch of the
 * partition is one.
 */
export type PartitionFault = "conflict" | "throttled" | "unavailable" | "timeout" | "forbidden";

/**
 * What the simulated API server does with one partition request: fail it ({@link PartitionFault}), or answer it
 * (`answered`: queued before a fault, it aims that fault at a later request — the leader reads the partition back
 * before it patches it, so a fault meant for the patch follows an `answered` read).
 */
export type PartitionRequestOutcome = PartitionFault | "answered";

/** Every {@link PartitionFault}. */
export const PARTITION_FAULTS: readonly PartitionFault[] = [
  "conflict",
  "throttled",
  "unavailable",
  "timeout",
  "forbidden",
];

/**
 * A failed partition request as `@charm-upgrade/k8s` throws it: a core `KubernetesClientError` with the
 * `KubernetesRequestError` fields the adapter reads (`failure`, `retryable`, `httpStatus`), and its messages.
 */
export class SimKubernetesError extends KubernetesClientError {
  readonly failure: "transient" | "forbidden";
  readonly retryable: boolean;
  readonly httpStatus: number | undefined;
  constructor(message: string, cause: string, resolution: string, failure: "transient" | "forbidden", status?: number) {
    super(message, cause, resolution);
    this.failure = failure;
    this.retryable = failure === "transient";
    this.httpStatus = status;
  }
}

/**
 * The error `@charm-upgrade/k8s` throws for `fault` while doing `what` (its `toKubernetesClientError` texts, for a
 * server at `https://10.152.183.1:443` and 3 attempts).
 */
export function partitionFaultError(fault: PartitionFault, app: string, what: string): SimKubernetesError {
  const server = "https://10.152.183.1:443";
  const next = "nothing to do: the next hook tries again";
  switch (fault) {
    case "conflict":
      return new SimKubernetesError(
        `Conflict while trying to ${what} (409 Conflict, every one of 3 attempts)`,
        "another client changed the StatefulSet at the same time",
        `${next}. If it keeps happening, another controller writes this StatefulSet`,
        "transient",
        409,
      );
    case "throttled":
      return new SimKubernetesError(
        `The Kubernetes API at ${server} is throttling the charm (429 Too Many Requests): every one of 3 attempts to ${what} were turned away`,
        "the API server is overloaded and limits the requests it accepts",
        `${next}. If it persists, the API server is overloaded`,
        "transient",
        429,
      );
    case "unavailable":
      return new SimKubernetesError(
        `The Kubernetes API at ${server} answered 503 (Service Unavailable) to every one of 3 attempts to ${what}`,
        "the API server failed to handle the request",
        `${next}. If it persists, check the health of the Kubernetes control plane (kube-apiserver, etcd)`,
        "transient",
        503,
      );
    case "timeout":
      return new SimKubernetesError(
        `The Kubernetes API at ${server} did not answer within 10 s`,
        `the request to ${what} timed out; the API server may still apply the change, so read the partition back`,
        `${next}. If it persists, the API server is overloaded or unreachable`,
        "transient",
      );
    case "forbidden":
      return new SimKubernetesError(
        `Not allowed to ${what} (403 Forbidden): run juju trust ${app} --scope=cluster`,
        "the charm is not trusted",
        `juju trust ${app} --scope=cluster`,
        "forbidden",
        403,
      );
  }
}

/** Plain data of a {@link SimCharm}: what its units run and what it was told to do. */
export interface SimCharmState {
  /** Machines: the workload version each unit installed (Kubernetes: the pod's image, from its revision). */
  readonly workloads: Record<number, string>;
  /** Units whose workload upgrade fails when granted. */
  readonly failing: readonly number[];
  /** Units whose post-upgrade health check fails, with why. */
  readonly unhealthy: Record<number, string>;
  /** Units whose charm holds the roll, with why. */
  readonly holds: Record<number, string>;
  /** Units that started their workload upgrade and answer `completed` when asked again. */
  readonly restarting: readonly number[];
  /** Kubernetes: how the next partition requests fail, first first (each fails one request, of any unit). */
  readonly partitionFaults?: readonly PartitionRequestOutcome[];
}

/** Options of a {@link SimCharm}. */
export interface SimCharmOptions {
  /** The charm's DEPENDENCIES per revision. */
  readonly revisions: ReadonlyMap<number, Dependencies>;
  /**
   * The charm upgrades its workload over two hooks (answers `pending` first, `completed` when asked again), so other
   * units see `upgrading` committed — what a real database charm restarting its service does. Default `false`.
   */
  readonly twoStepUpgrades?: boolean | undefined;
  /** The charm's pre-upgrade check refuses with this message. */
  readonly failPreUpgradeCheck?: string | undefined;
  /** Verification only: the reducer the library runs every step through (memoised, or deliberately broken). */
  readonly reduce?: Reducer | undefined;
  /**
   * Revisions whose charm uses the Python library (`charms.data_platform_libs.v0.upgrade`) instead of charm-upgrade:
   * the revisions before a charm's move, run by `PythonLibCharm` (default: none).
   */
  readonly pythonRevisions?: readonly number[] | undefined;
  /**
   * Kubernetes: the charm passes `observe`, answering as `podObservation` of `@charm-upgrade/k8s` does from the
   * StatefulSet (docs/guide.md recommends it): whether the unit's pod was created from the update revision — here the
   * pod's revision against the application's (the model names a controller revision by its charm revision), a pod
   * marked stale by a refresh back's new template (LP#2036246) being on an older one. Default `false`: a charm that
   * observes nothing.
   */
  readonly observesPods?: boolean | undefined;
  /**
   * Kubernetes: the charm passes `unitRollout`, answering as `unitRollout` of `@charm-upgrade/k8s` does from the
   * StatefulSet (docs/guide.md recommends it; default `true`). `false`: a charm that cannot tell where the rollout
   * stands for other pods than its own.
   */
  readonly readsRollout?: boolean | undefined;
  /** Called for each grant. */
  readonly onGrant?: ((grant: CharmGrant) => void) | undefined;
  /** Observer of the library's reducer steps, per unit name. */
  readonly inspect?: ((unit: string) => ((step: UpgradeStep) => void) | undefined) | undefined;
}

/**
 * A database charm written with the library, for the simulator and the verifier: its callbacks answer at once
 * (they work with `dispatch()` and with `dispatchSync()`), from a small world of its own — which workload version
 * each unit installed, which units fail or are unhealthy, which hold the roll. The order it builds on machines is
 * a database's: the Juju leader (made the workload's primary) last, the others highest number first.
 */
export class SimCharm {
  readonly revisions: ReadonlyMap<number, Dependencies>;
  /**
   * What distinguishes this charm's behaviour from another's with the same world (a cache of hooks shared by
   * several simulations must not mix them up). `failPreUpgradeCheck` is part of a hook's inputs: see `HookMemo`.
   */
  readonly fingerprint: string;
  private readonly options: SimCharmOptions;
  workloads = new Map<number, string>();
  failing = new Set<number>();
  unhealthy = new Map<number, string>();
  holds = new Map<number, string>();
  private restarting = new Set<number>();
  failPreUpgradeCheck: string | undefined;
  /**
   * Kubernetes: how the next partition requests (`setPartition`, `getPartition`) fail, first first; each fault fails
   * one request, whichever unit makes it (the API server is the application's). Part of every hook's inputs
   * (`HookMemo` keys on it).
   */
  partitionFaults: PartitionRequestOutcome[] = [];

  constructor(options: SimCharmOptions) {
    this.options = options;
    this.fingerprint = JSON.stringify([
      options.twoStepUpgrades === true,
      [...options.revisions],
      options.pythonRevisions ?? [],
      options.observesPods === true,
      options.readsRollout !== false,
    ]);
    this.revisions = options.revisions;
    this.failPreUpgradeCheck = options.failPreUpgradeCheck;
  }

  /** Kubernetes: whether the charm passes `unitRollout` (see `SimCharmOptions.readsRollout`). */
  get readsRollout(): boolean {
    return this.options.readsRollout !== false;
  }

  /** Kubernetes: whether the charm observes its pod (see `SimCharmOptions.observesPods`). */
  get observesPods(): boolean {
    return this.options.observesPods === true;
  }

  /** The DEPENDENCIES of a revision. */
  dependenciesOf(revision: number): Dependencies {
    const deps = this.revisions.get(revision);
    if (!deps)
      throw new RangeError(`unknown charm revision ${revision} (known: ${[...this.revisions.keys()].join(", ")})`);
    return deps;
  }

  /** Whether `revision`'s charm uses the Python library (see `SimCharmOptions.pythonRevisions`). */
  runsPythonLibrary(revision: number): boolean {
    return this.options.pythonRevisions?.includes(revision) ?? false;
  }

  /** The workload version a revision installs. */
  versionOf(revision: number): string {
    return workloadVersion(this.dependenciesOf(revision));
  }

  /** The workload version unit `id` runs: machines, what it installed; Kubernetes, its pod's image. */
  workloadOf(model: JujuModel, id: number): string {
    const unit = model.units.get(id);
    if (unit?.pod) return this.versionOf(unit.pod.revision);
    return this.workloads.get(id) ?? (unit ? this.versionOf(unit.agent.charm) : "unknown");
  }

  /**
   * The `createUpgrade` options of unit `id`'s charm, running `revision`, in `model`. The pause policy is not among
   * them: the library reads the config option `pause-after-unit-upgrade` itself, from the model's `config-get`.
   */
  optionsFor(model: JujuModel, id: number, revision: number): UpgradeOptions {
    const deps = this.dependenciesOf(revision);
    const name = `${model.app}/${id}`;
    const common = {
      dependencies: deps,
      charm: model.charmUrlOf(id),
      hold: () => this.holds.get(id) ?? null,
      inspect: this.options.inspect?.(name),
      reduce: this.options.reduce,
      preUpgradeCheck: () => {
        if (this.failPreUpgradeCheck !== undefined) {
          throw new ClusterNotReadyError(
            this.failPreUpgradeCheck,
            "the simulated charm was told to refuse",
            "run the simulation without failPreUpgradeCheck",
          );
        }
      },
      // Answers at once: `dispatchSync` takes the outcome itself (see `Maybe` in @charm-upgrade/juju).
      onUpgradeGranted: (() => this.grant(model, id, revision)) as unknown as () => Promise<GrantOutcome>,
    };
    if (model.substrate === "k8s") {
      const statefulSet = `StatefulSet "${model.app}" in namespace "model"`;
      return {
        substrate: "k8s",
        ...common,
        setPartition: (partition: number) => {
          const fault = this.partitionFaults.shift();
          if (fault === "timeout") model.setPartition(partition);
          if (fault && fault !== "answered")
            throw partitionFaultError(
              fault,
              model.app,
              `set the rolling-update partition of ${statefulSet} to ${partition}`,
            );
          model.setPartition(partition);
        },
        ...(this.observesPods
          ? {
              observe: () => {
                const pod = model.units.get(id)?.pod;
                if (!pod) return null;
                return {
                  latest: pod.revision === model.charm && !pod.stale,
                  revision: String(pod.revision),
                  image: null,
                };
              },
            }
          : {}),
        getPartition: () => {
          const fault = this.partitionFaults.shift();
          if (fault && fault !== "answered") throw partitionFaultError(fault, model.app, `read ${statefulSet}`);
          return model.partition;
        },
        // What `awaitsRollout(await partitions.readRollout(), id)` of @charm-upgrade/k8s answers, from the model's
        // StatefulSet (its revisions are not read through the partition requests' faults: those fail the partition
        // requests only, which is all the simulated API server fails).
        awaitsRollout: () => model.awaitsRollout(id),
        // What `unitRollout(await partitions.readRollout())` of @charm-upgrade/k8s answers, from the model's
        // StatefulSet (not failed by the partition faults either).
        ...(this.options.readsRollout !== false ? { unitRollout: () => model.unitRollout() } : {}),
      };
    }
    return {
      substrate: "vm",
      ...common,
      // The version the unit's workload runs, as a database charm asks its service (the guide's `workloadVersion()`):
      // what it installed last, whatever a failed hook's discarded writes recorded.
      workloadVersion: () => this.workloadOf(model, id),
      buildUpgradeStack: () => {
        const leader = model.leader ?? id;
        const others = [...model.units.keys()].filter((unit) => unit !== leader).sort((a, b) => a - b);
        return [leader, ...others];
      },
    };
  }

  /** Whether unit `id` started its workload upgrade and answers `completed` when asked again. */
  isRestarting(id: number): boolean {
    return this.restarting.has(id);
  }

  /** Set what {@link isRestarting} answers (a replayed hook). */
  setRestarting(id: number, restarting: boolean): void {
    if (restarting) this.restarting.add(id);
    else this.restarting.delete(id);
  }

  /** Collect every grant into `into` until the returned function is called (a hook being recorded). */
  recordGrants(into: CharmGrant[]): () => void {
    this.recording = into;
    return () => {
      this.recording = null;
    };
  }

  /** Report a grant a replayed hook made. */
  replayGrant(grant: CharmGrant): void {
    this.options.onGrant?.(grant);
  }

  private recording: CharmGrant[] | null = null;

  /** Report a grant of unit `id`'s charm (running `revision`) with its outcome, as the model stands now. */
  recordGrant(model: JujuModel, id: number, revision: number, outcome: CharmGrant["outcome"]): void {
    const others = [...model.units.values()].filter((unit) => unit.id !== id);
    this.report({
      unit: id,
      revision,
      version: this.versionOf(revision),
      outcome,
      upgradingOthers: others
        .filter((unit) => model.databags[unit.name]?.[KEYS.state] === "upgrading")
        .map((unit) => unit.id),
      held: [...model.units.values()]
        .filter((unit) => (unit.id === id ? this.holds.has(id) : Boolean(model.databags[unit.name]?.[KEYS.hold])))
        .map((unit) => unit.id),
    });
  }

  private grant(model: JujuModel, id: number, revision: number): GrantOutcome {
    const version = this.versionOf(revision);
    const failed = this.failing.has(id);
    const unhealthy = this.unhealthy.get(id);
    const twoStep = this.options.twoStepUpgrades === true && !this.restarting.has(id) && !failed;
    const outcome: CharmGrant["outcome"] = failed
      ? "failed"
      : twoStep || unhealthy !== undefined
        ? "pending"
        : "completed";
    this.recordGrant(model, id, revision, outcome);
    if (failed) return { failed: `simulated failure: ${model.app}/${id} could not start workload ${version}` };
    this.workloads.set(id, version);
    if (twoStep) {
      this.restarting.add(id);
      return { pending: "workload restarting" };
    }
    this.restarting.delete(id);
    return unhealthy === undefined ? "completed" : { pending: unhealthy };
  }

  private report(grant: CharmGrant): void {
    this.recording?.push(grant);
    this.options.onGrant?.(grant);
  }

  /** The charm's world as plain data. */
  state(): SimCharmState {
    const record = <T>(map: ReadonlyMap<number, T>) => Object.fromEntries([...map].sort((a, b) => a[0] - b[0]));
    return {
      workloads: record(this.workloads),
      failing: [...this.failing].sort((a, b) => a - b),
      unhealthy: record(this.unhealthy),
      holds: record(this.holds),
      restarting: [...this.restarting].sort((a, b) => a - b),
      ...(this.partitionFaults.length ? { partitionFaults: [...this.partitionFaults] } : {}),
    };
  }

  /** Go back to a {@link state}. */
  restore(state: SimCharmState): void {
    const map = <T>(record: Record<number, T>) =>
      new Map(Object.entries(record).map(([key, value]) => [Number(key), value] as const));
    this.workloads = map(state.workloads);
    this.failing = new Set(state.failing);
    this.unhealthy = map(state.unhealthy);
    this.holds = map(state.holds);
    this.restarting = new Set(state.restarting);
    this.partitionFaults = [...(state.partitionFaults ?? [])];
  }
}
