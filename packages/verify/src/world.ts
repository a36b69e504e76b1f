import type { Effect, Substrate } from "@charm-upgrade/core";
import { checkDowngrade, isUnitState, KEYS } from "@charm-upgrade/core";
import type { CharmGrant, HookChoice, ModelStep, SyncHookResult } from "@charm-upgrade/sim";
import { CharmUpgrades, HookMemo, JujuModel, runHookSync, SimCharm, workloadDependencies } from "@charm-upgrade/sim";
import { revisionOf } from "./invariants.js";
import type { Reducer } from "./memoReduce.js";

/**
 * What verification explores: the one model of Juju (`@charm-upgrade/sim`'s `JujuModel`) with a charm written with
 * the library, every hook running the adapter that ships (`dispatchSync`) over in-memory hook tools. One `World` is
 * reused across the states an exploration visits: {@link World.snapshot} and {@link World.restore} move it.
 *
 * @module
 */

/** The revision deployed first, and the one the upgrade goes to. */
export const OLD = 1;
export const NEW = 2;
/** A third revision, for an operator who runs `juju refresh` again mid-roll (issue 12.4). */
export const THIRD = 3;

/** The charm's DEPENDENCIES per revision: 1.0.0, then 1.1.0 and 1.2.0 (each upgradable from any 1.x). */
export const REVISIONS: ReadonlyMap<number, ReturnType<typeof workloadDependencies>> = new Map([
  [OLD, workloadDependencies("1.0.0")],
  [NEW, workloadDependencies("1.1.0")],
  [THIRD, workloadDependencies("1.2.0")],
]);

/**
 * The same revisions, but the new one's workload cannot go back (issue 15.4): its data format moved on, and its
 * DEPENDENCIES say so (`downgrade_supported: ">=1.1"`, as docs/guide.md "Undo an upgrade" tells charm authors).
 */
const NO_DOWNGRADE_REVISIONS: ReadonlyMap<number, ReturnType<typeof workloadDependencies>> = new Map([
  ...REVISIONS,
  [
    NEW,
    {
      workload: {
        ...(REVISIONS.get(NEW)?.workload ?? workloadDependencies("1.1.0").workload!),
        downgrade_supported: ">=1.1",
      },
    },
  ],
]);

/** One unit as the invariants see it. */
export interface UnitObservation {
  readonly id: number;
  /** The state in its databag (`""`: none). */
  readonly state: string;
  readonly databag: Readonly<Record<string, string>>;
  /** The charm revision it runs. */
  readonly revision: number;
  /** The workload version it runs. */
  readonly workload: string;
  /**
   * The workload version its charm last installed or started (machines: the one it runs; Kubernetes: the one the
   * charm last started on its pod): the version its data was last written by, whatever image a restarted pod has.
   */
  readonly ran: string;
  /** Kubernetes: the revision its pod was created from. */
  readonly pod: number | null;
  /**
   * What the unit recorded (its databag) describes what it ran before, and no hook can know better yet. Kubernetes: its
   * pod was deleted or recreated and the new pod's agent has not yet run `upgrade-charm`. Machines: Juju replaced its
   * charm and no hook of it has committed since (its charm is not the one it recorded: a failed hook awaits its retry,
   * LP#2068500).
   */
  readonly restarting: boolean;
}

/** The world as the invariants see it: plain data, taken after each step. */
export interface Observation {
  readonly units: readonly UnitObservation[];
  readonly appData: Readonly<Record<string, string>>;
  readonly partition: number;
  /** Kubernetes: the partition was last set outside the charm (`kubectl patch`: `JujuModel.patchPartition`). */
  readonly partitionByHand: boolean;
  /**
   * Kubernetes: the StatefulSet's `currentRevision`, the revision pods below the partition are recreated from. Once
   * every pod is on the update revision it is the update revision, and the partition holds nothing back.
   */
  readonly currentRevision: number;
  readonly leader: number | null;
  /** The application's charm revision (Kubernetes: the pod template's): what a unit done with the roll runs. */
  readonly charm: number;
  /** Nothing is due but `update-status`: without an operator or a fault, nothing more happens. */
  readonly quiet: boolean;
}

/** A hook's effects, as the invariants judge a step. */
export interface HookTrace {
  readonly unit: number;
  readonly hook: string;
  readonly effects: readonly Effect[];
  /** The hook threw (a bug unless it was a fault). */
  readonly error: string | null;
  /** The databags the hook read with `relation-get` (`null`: the application's): what its decisions could use. */
  readonly read: ReadonlySet<string | null>;
}

/** Options of a {@link World}. */
export interface WorldOptions {
  readonly units: number;
  readonly substrate: Substrate;
  readonly leader?: number | undefined;
  readonly reduce?: Reducer | undefined;
  /** The charm upgrades its workload over two hooks (other units see `upgrading` committed). */
  readonly twoStepUpgrades?: boolean | undefined;
  readonly pauseAfter?: "none" | "first" | "all" | undefined;
  /** Replay hooks whose inputs were seen before instead of running them again (default: a new cache; `false`: none). */
  readonly memo?: HookMemo | false | undefined;
  /**
   * The library the deployed revision ({@link OLD}) runs: charm-upgrade (default), or the Python library
   * (`charms.data_platform_libs.v0.upgrade`, run by `PythonLibCharm`), which makes the refresh to {@link NEW} a
   * charm's first refresh to charm-upgrade: a mixed application until every unit runs the new revision.
   */
  readonly oldLibrary?: "charm-upgrade" | "python" | undefined;
  /** Kubernetes: the charm observes its pod (`observe`, as `podObservation` answers: see `SimCharmOptions`). */
  readonly observesPods?: boolean | undefined;
  /** Kubernetes: the charm passes `unitRollout` (default: it does; see `SimCharmOptions.readsRollout`). */
  readonly readsRollout?: boolean | undefined;
  /** The new revision's workload cannot go back to the old one ({@link NO_DOWNGRADE_REVISIONS}). */
  readonly noDowngrade?: boolean | undefined;
}

/** The plain-data state of a {@link World}. */
export type WorldSnapshot = string;

/** The model, the charm and the adapter's coordinators, with what the last step did. */
export class World {
  readonly model: JujuModel;
  readonly charm: SimCharm;
  readonly substrate: Substrate;
  private readonly upgrades = new CharmUpgrades();
  /** Whole hooks already run, by what they observe (see `HookMemo`). */
  readonly memo: HookMemo | undefined;
  /** Grants made since the last {@link takeTrace}. */
  grants: CharmGrant[] = [];
  /** Hooks run since the last {@link takeTrace}. */
  hooks: HookTrace[] = [];

  constructor(options: WorldOptions) {
    this.substrate = options.substrate;
    this.memo = options.memo === false ? undefined : (options.memo ?? new HookMemo());
    this.charm = new SimCharm({
      revisions: options.noDowngrade ? NO_DOWNGRADE_REVISIONS : REVISIONS,
      twoStepUpgrades: options.twoStepUpgrades ?? true,
      pythonRevisions: options.oldLibrary === "python" ? [OLD] : [],
      observesPods: options.observesPods,
      readsRollout: options.readsRollout,
      reduce: options.reduce,
      onGrant: (grant) => this.grants.push(grant),
    });
    this.model = new JujuModel({
      app: "app",
      substrate: options.substrate,
      units: options.units,
      leader: options.leader ?? 0,
      revision: OLD,
      config: options.pauseAfter ? { "pause-after-unit-upgrade": options.pauseAfter } : {},
    });
    for (const id of this.model.units.keys()) this.charm.workloads.set(id, this.charm.versionOf(OLD));
  }

  /** Everything that decides what happens next. */
  snapshot(): WorldSnapshot {
    return `${this.model.snapshot()}\n${JSON.stringify(this.charm.state())}`;
  }

  restore(snapshot: WorldSnapshot): void {
    const cut = snapshot.indexOf("\n");
    this.model.restore(snapshot.slice(0, cut));
    this.charm.restore(JSON.parse(snapshot.slice(cut + 1)));
  }

  /** The hooks and grants of the steps since the last call. */
  takeTrace(): { readonly hooks: readonly HookTrace[]; readonly grants: readonly CharmGrant[] } {
    const trace = { hooks: this.hooks, grants: this.grants };
    this.hooks = [];
    this.grants = [];
    return trace;
  }

  /** Run a hook of `unit` (its next one, `update-status`, or an action) through the adapter that ships. */
  hook(unit: number, choice: HookChoice = {}, fault?: "crashed" | "uncommitted"): SyncHookResult {
    const result = runHookSync(this.model, this.charm, this.upgrades, unit, choice, fault, this.memo);
    this.hooks.push({
      unit,
      hook: result.run.hook.name,
      effects: result.result?.effects ?? [],
      error: result.error ? (result.error instanceof Error ? result.error.message : String(result.error)) : null,
      read: new Set(
        result.run.tools.calls
          .filter((call) => call.tool === "relation-get")
          // relation-get --format=json -r <id> [--app] - <unit or application>
          .map((call) => (call.args.includes("--app") ? null : (call.args.at(-1) ?? null))),
      ),
    });
    return result;
  }

  /**
   * Unit `unit`'s next hook (or `update-status`) fails before charm-upgrade's part of it runs — the charm's own code
   * raised first — so nothing of it is committed and Juju retries it (`JujuModel.end`, `failed`). With
   * `JujuModel.refreshSkippingUpgradeCharm`, the unit whose last hook failed that LP#2068500 needs.
   */
  failHook(unit: number): void {
    const run = this.model.begin(unit, this.model.nextHook(unit) ? {} : { updateStatus: true });
    this.model.end(run, "failed");
  }

  /**
   * Why a workload whose data version `from` wrote cannot be started at version `to` (the `downgrade_supported` of
   * the revision installing `from`, judged by the core's `checkDowngrade`), or `null` when it can.
   */
  downgradeRefusal(from: string, to: string): string | null {
    if (from === to) return null;
    const installing = (version: string) =>
      [...this.charm.revisions.values()].find((deps) => deps.workload?.version === version);
    const running = installing(from);
    const back = installing(to);
    return running && back ? checkDowngrade(back, running) : null;
  }

  /** Run an operator's action on `unit`: whether it succeeded, and its message. */
  action(unit: number, name: string): { readonly ok: boolean; readonly message: string } {
    const result = this.hook(unit, { action: { name } });
    const action = result.run.tools.model.action;
    if (result.error) return { ok: false, message: String(result.error) };
    if (action?.failure != null) return { ok: false, message: action.failure };
    return { ok: true, message: action?.results.message ?? "" };
  }

  /** Take a step of the model that is not a hook (a refresh noticed, the StatefulSet controller). */
  take(step: Exclude<ModelStep, { kind: "hook" | "update-status" }>): void {
    this.model.take(step);
  }

  /**
   * Let everything due happen in a fixed order (units by number, the controller's steps as soon as they are
   * possible) until the model is quiet: a deployment settling, before exploration starts.
   */
  settle(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      const step = this.model.steps().find((s) => s.kind !== "update-status");
      if (!step) return;
      if (step.kind === "hook") this.hook(step.unit);
      else this.take(step);
    }
    throw new Error(`the model did not settle within ${limit} steps`);
  }

  /** The world as the invariants see it. */
  observe(): Observation {
    const units = [...this.model.units.values()]
      .sort((a, b) => a.id - b.id)
      .map((unit) => {
        const databag = this.model.databags[unit.name] ?? {};
        const state = databag[KEYS.state] ?? "";
        const recordedCharm = revisionOf(databag[KEYS.charm]);
        return {
          id: unit.id,
          state: isUnitState(state) ? state : "",
          databag: { ...databag },
          revision: unit.agent.charm,
          workload: this.charm.workloadOf(this.model, unit.id),
          ran: this.charm.workloads.get(unit.id) ?? this.charm.workloadOf(this.model, unit.id),
          pod: unit.pod?.revision ?? null,
          restarting:
            unit.pod !== null
              ? unit.pod.terminating || unit.agent.queued === "upgrade-charm"
              : recordedCharm !== null && recordedCharm !== unit.agent.charm,
        };
      });
    return {
      units,
      appData: { ...this.model.appData },
      partition: this.model.partition,
      partitionByHand: this.model.partitionByHand,
      currentRevision: this.model.currentRevision,
      leader: this.model.leader,
      charm: this.model.charm,
      quiet: this.model.quiet(),
    };
  }
}
