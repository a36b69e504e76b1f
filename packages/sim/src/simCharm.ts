import type { Dependencies, UpgradeStep } from "@charm-upgrade/core";
import { ClusterNotReadyError, KEYS } from "@charm-upgrade/core";
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

  constructor(options: SimCharmOptions) {
    this.options = options;
    this.fingerprint = JSON.stringify([options.twoStepUpgrades === true, [...options.revisions.keys()]]);
    this.revisions = options.revisions;
    this.failPreUpgradeCheck = options.failPreUpgradeCheck;
  }

  /** The DEPENDENCIES of a revision. */
  dependenciesOf(revision: number): Dependencies {
    const deps = this.revisions.get(revision);
    if (!deps)
      throw new RangeError(`unknown charm revision ${revision} (known: ${[...this.revisions.keys()].join(", ")})`);
    return deps;
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
      return { substrate: "k8s", ...common, setPartition: (partition: number) => model.setPartition(partition) };
    }
    return {
      substrate: "vm",
      ...common,
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

  private grant(model: JujuModel, id: number, revision: number): GrantOutcome {
    const version = this.versionOf(revision);
    const others = [...model.units.values()].filter((unit) => unit.id !== id);
    const failed = this.failing.has(id);
    const unhealthy = this.unhealthy.get(id);
    const twoStep = this.options.twoStepUpgrades === true && !this.restarting.has(id) && !failed;
    const outcome: CharmGrant["outcome"] = failed
      ? "failed"
      : twoStep || unhealthy !== undefined
        ? "pending"
        : "completed";
    this.report({
      unit: id,
      revision,
      version,
      outcome,
      upgradingOthers: others
        .filter((unit) => model.databags[unit.name]?.[KEYS.state] === "upgrading")
        .map((unit) => unit.id),
      held: [...model.units.values()]
        .filter((unit) => (unit.id === id ? this.holds.has(id) : Boolean(model.databags[unit.name]?.[KEYS.hold])))
        .map((unit) => unit.id),
    });
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
  }
}
