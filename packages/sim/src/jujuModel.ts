import type { Substrate } from "@charm-upgrade/core";
import type {
  CommitResult,
  InMemoryAction,
  InMemoryLogLine,
  InMemoryModel,
  JujuEnv,
  StatusInfo,
} from "@charm-upgrade/juju";
import { InMemoryHookTools } from "@charm-upgrade/juju";

/**
 * The one model of Juju (and, on Kubernetes, of the StatefulSet controller) that the simulator, the verifier and
 * the example's process test share. Every rule here is a claim about Juju or Kubernetes; each says where it comes
 * from. What a hook *does* is not here: the caller runs the charm (the real adapter) between {@link JujuModel.begin}
 * and {@link JujuModel.end}, synchronously or not, in process or in a child process.
 *
 * How a unit agent picks its next hook is Juju's resolver (juju/juju `worker/uniter/resolver.go` `NextOp`,
 * `worker/uniter/relation/resolver.go`, `worker/uniter/leadership/resolver.go`): not a queue of events but the
 * difference between what the unit has seen (its local state) and the model (the remote state), in a fixed order
 * of priority — on a deleted pod, `stop` (`remoteState.Shutdown`) unless a leadership or `relation-created` hook is
 * due on an idle agent; a failed hook is retried first; a hook queued by the last one's commit (`config-changed`
 * after `upgrade-charm`, `start` after the first `config-changed`: `worker/uniter/operation/runhook.go` `Commit`);
 * `install`; `relation-created` (the unit enters the relation's scope just before it); the leadership hooks;
 * `upgrade-charm` when the charm changed; `config-changed` when the config did; the
 * relation hooks (departed, then the application's change, then joined, then changed, units in sorted order;
 * `relation-changed` always right after a unit's `relation-joined`); `update-status` when nothing else is due. So
 * several writes by one unit before another unit looks give one `relation-changed` (they coalesce by nature), and a
 * unit never hears of its own writes. What is not deterministic is left to the caller as a choice: which unit runs
 * next, when a machine unit's agent notices a new charm (`juju refresh` reaches the units at different times), when
 * the StatefulSet controller acts and when a restarted pod is ready, and the faults. When Juju would run an action
 * is {@link JujuModel.acceptsAction}; each fault seen in production is a method of its own (docs/verification.md,
 * "Faults from production and the model").
 *
 * @module
 */

/** The peer relation of the modelled application: endpoint `upgrade`, relation id 1. */
export const PEER_RELATION = { name: "upgrade", id: 1 } as const;

/** A hook a unit agent runs: its name and, for relation hooks, the remote unit (none for the application's data). */
export interface PendingHook {
  readonly name: string;
  /** `JUJU_REMOTE_UNIT` of a relation hook. */
  readonly remote?: string;
}

/** A unit's uniter state: what its agent has run and seen (Juju's local state), as plain data. */
export interface AgentState {
  installed: boolean;
  started: boolean;
  /** The charm revision unpacked in the unit's charm directory. */
  charm: number;
  /** Machines: the charm revision the agent's watcher last reported (lags `juju refresh`: see {@link JujuModel.notice}). */
  seen: number;
  /** A hook queued by the last commit, run before any hook the resolver would pick. */
  queued: string | null;
  /** A hook that failed: Juju retries it before anything else (`ShouldRetryHooks`). */
  retry: PendingHook | null;
  /** Leadership accepted: `leader-elected` ran. */
  leader: boolean;
  /** The leader-settings version seen (`leader-settings-changed` on followers when it moves). */
  leaderSettings: number;
  /** The config version seen. */
  config: number;
  /** The peer relation's `relation-created` ran (the unit is in scope: other units see it join). */
  created: boolean;
  /** Remote units met (their `relation-joined` ran here) and the settings version of each seen last. */
  members: Record<string, number>;
  /** A `relation-changed` due right after the `relation-joined` of this unit. */
  changedPending: string | null;
  /** The application-databag version seen. */
  app: number;
}

/** Kubernetes: the unit's pod, as the StatefulSet controller sees it. */
export interface PodState {
  /** The controller revision (here: the charm revision) the pod was created from. */
  revision: number;
  /** Deleted, not gone yet: the old pod's charm runs `stop` during the termination grace period. */
  terminating: boolean;
  /** Running and Ready: the controller goes on to the next pod only once the restarted one is. */
  ready: boolean;
  /**
   * The unit agent in this pod runs no hook and the pod never becomes Ready (LP#2073506, LP#2073473: see
   * {@link JujuModel.evictOutdatedSilently}, {@link JujuModel.bouncePartition}). On a terminating pod: the pod that
   * replaces it will hang.
   */
  hung: boolean;
  /**
   * Created from a pod template the StatefulSet no longer has, though on the same charm (LP#2036246: a refresh back
   * makes a new template; see {@link JujuModel.refreshRecreatingEveryPod}): the controller restarts it like an
   * outdated pod.
   */
  stale: boolean;
}

/** One unit of the modelled application. */
export interface UnitRecord {
  readonly id: number;
  readonly name: string;
  agent: AgentState;
  /** Settings version of the unit's databag (bumped by each committed change). */
  version: number;
  status: StatusInfo;
  /** The unit's server-side store (`state-get`/`state-set`). */
  store: Record<string, string>;
  applicationVersion: string;
  /** Kubernetes only. */
  pod: PodState | null;
  /**
   * The config of the charm revision this unit runs, when it is not the application's and `juju config` changed
   * the application's since (LP#2084886: see {@link JujuModel.configureCurrentCharmOnly}); `null`: the
   * application's config.
   */
  configView: { readonly version: number; readonly config: Readonly<Record<string, unknown>> } | null;
}

/** Options of a {@link JujuModel}. */
export interface JujuModelOptions {
  readonly app?: string | undefined;
  /**
   * The Juju model's name, which every hook gets as `JUJU_MODEL_NAME` (default `model`). On Kubernetes it is also
   * the namespace of the application's StatefulSet (juju/juju `docs/reference/cloud/kubernetes-clouds-and-juju.md`:
   * a model is a namespace), so a harness whose charm patches a fake API server names it here.
   */
  readonly modelName?: string | undefined;
  readonly substrate: Substrate;
  /** Units deployed at once (their setup hooks are due). */
  readonly units: number;
  /** The Juju leader (default: unit 0). */
  readonly leader?: number | undefined;
  /** The charm revision deployed. */
  readonly revision: number;
  /** The application's config (what `config-get` prints, defaults applied). */
  readonly config?: Readonly<Record<string, unknown>> | undefined;
  /** The charm's name as Juju writes it in `.juju-charm`; default `ch:amd64/jammy/<app>-<revision>`. */
  readonly charmUrl?: ((revision: number) => string) | undefined;
}

/** A hook or action in progress, between {@link JujuModel.begin} and {@link JujuModel.end}. */
export interface HookRun {
  readonly unit: number;
  readonly unitName: string;
  readonly kind: "hook" | "action";
  readonly hook: PendingHook;
  /** The hook's environment, as Juju sets it. */
  readonly env: JujuEnv;
  /** The unit's view of the model through its hook tools (relation and state writes are buffered until {@link JujuModel.end}). */
  readonly tools: InMemoryHookTools;
  /** The charm revision running the hook. */
  readonly revision: number;
  /** What the unit's databags looked like when the hook began (for the versions the hook consumes). */
  readonly seen: { readonly app: number; readonly members: Readonly<Record<string, number>> };
}

/**
 * How a hook ended, as Juju treats it: `ok` (committed); `failed` (the charm exited non-zero: writes discarded,
 * the hook retried); `crashed` (the same, injected); `uncommitted` (the hook's data reached the controller but the
 * agent died before recording that the hook ran: on restart it runs it again — the operation state is still
 * `Pending`, `worker/uniter/resolver.go` `nextOpHookError`).
 */
export type HookEnd = "ok" | "failed" | "crashed" | "uncommitted";

/** A choice of what happens next in the model (the caller decides among them). */
export type ModelStep =
  | { readonly kind: "hook"; readonly unit: number }
  | { readonly kind: "update-status"; readonly unit: number }
  | { readonly kind: "notice"; readonly unit: number }
  | { readonly kind: "pod-delete"; readonly unit: number }
  | { readonly kind: "pod-ready"; readonly unit: number };

const RELATION_HOOK = /-relation-(created|joined|changed|departed)$/;

/** Units in Juju's sorted order of names (the relation resolver sorts names as strings). */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function freshAgent(revision: number): AgentState {
  return {
    installed: false,
    started: false,
    charm: revision,
    seen: revision,
    queued: null,
    retry: null,
    leader: false,
    leaderSettings: 0,
    config: 0,
    created: false,
    members: {},
    changedPending: null,
    app: 0,
  };
}

/** The state of a {@link JujuModel}, as JSON text: everything that decides what happens next. */
export type ModelSnapshot = string;

/** An in-memory Juju model of one application with a peer relation, on machines or Kubernetes. */
export class JujuModel {
  readonly app: string;
  readonly substrate: Substrate;
  readonly units = new Map<number, UnitRecord>();
  /** Databags of the units in the relation (and of departed units: their data stays readable), by unit name. */
  databags: Record<string, Record<string, string>> = {};
  appData: Record<string, string> = {};
  /** Settings version of the application databag. */
  appVersion = 0;
  appStatus: StatusInfo = { status: "unknown", message: "" };
  appStatusNeverSet = true;
  leader: number | null;
  /** Bumped when leadership moves (followers then run `leader-settings-changed`). */
  leaderSettings = 1;
  config: Record<string, unknown>;
  configVersion = 1;
  /** The application's charm revision: machines, the one `juju refresh` chose; Kubernetes, the pod template's. */
  charm: number;
  /** Kubernetes: the StatefulSet's `currentRevision` (pods below the partition are recreated from it). */
  currentRevision: number;
  /** Kubernetes: the StatefulSet's rolling-update partition. */
  partition = 0;
  /**
   * Kubernetes: the partition was last set outside the charm ({@link JujuModel.patchPartition}, `kubectl patch`), not
   * by its API call ({@link JujuModel.setPartition}). Only the verifier reads it (which state is whose doing).
   */
  partitionByHand = false;
  /** Every log line, per unit name (not part of the snapshot). */
  readonly logs = new Map<string, InMemoryLogLine[]>();
  private nextId = 0;
  private readonly charmUrl: (revision: number) => string;
  private readonly modelName: string;

  constructor(options: JujuModelOptions) {
    this.app = options.app ?? "app";
    this.substrate = options.substrate;
    this.charm = options.revision;
    this.currentRevision = options.revision;
    this.config = { ...(options.config ?? {}) };
    this.charmUrl = options.charmUrl ?? ((revision) => `ch:amd64/jammy/${this.app}-${revision}`);
    this.modelName = options.modelName ?? "model";
    const leader = options.leader ?? 0;
    this.leader = options.units > leader ? leader : null;
    for (let i = 0; i < options.units; i++) this.addUnit();
  }

  // ------------------------------------------------------------------------------------------- the operator

  /** `juju add-unit`: a new unit on the application's charm; it runs its setup hooks, the others see it join. */
  addUnit(): number {
    const id = this.nextId++;
    const name = `${this.app}/${id}`;
    const revision = this.substrate === "k8s" ? this.podRevision(id) : this.charm;
    this.units.set(id, {
      id,
      name,
      agent: freshAgent(revision),
      version: 0,
      status: { status: "unknown", message: "" },
      store: {},
      applicationVersion: "",
      pod: this.substrate === "k8s" ? { revision, terminating: false, ready: true, hung: false, stale: false } : null,
      configView: null,
    });
    if (this.leader === null) this.leader = id;
    return id;
  }

  /**
   * `juju remove-unit` (on Kubernetes, scaling the StatefulSet down removes the highest ordinal). The unit leaves
   * the relation's scope: the others run `relation-departed`, and its settings stay readable with `relation-get`
   * for the life of the relation (juju/juju `docs/reference/hook.md`, relation-departed). If it led, Juju elects
   * another unit: whichever claims the expired lease first, which no source orders; here the lowest-numbered, and a
   * caller exploring other choices calls {@link setLeader}.
   */
  removeUnit(id: number): void {
    if (!this.units.delete(id)) return;
    if (this.leader === id) {
      const next = [...this.units.keys()].sort((a, b) => a - b)[0];
      this.leader = null;
      if (next !== undefined) this.setLeader(next);
    }
  }

  /** Juju elects `id` leader: it runs `leader-elected`, the others `leader-settings-changed`. */
  setLeader(id: number): void {
    if (this.leader === id || !this.units.has(id)) return;
    this.leader = id;
    this.leaderSettings++;
    // The old leader resigns at once (the resolver's `NewResignLeadership`; `leader-deposed` was never implemented:
    // juju/juju docs/reference/hook.md). `is-leader` answers from the lease, so it is false from now on anyway.
    for (const unit of this.units.values()) if (unit.id !== id) unit.agent.leader = false;
  }

  /**
   * `juju config`: every unit runs `config-changed` (worker/uniter/resolver.go `nextOp`: the config hash moved) and
   * reads the new value. Exactly Juju's while every unit runs the application's charm; for units that do not, see
   * {@link configureCurrentCharmOnly}.
   */
  configure(key: string, value: unknown): void {
    if (value === undefined) delete this.config[key];
    else this.config[key] = value;
    this.configVersion++;
  }

  /**
   * `juju refresh` to `revision`. Machines: each unit agent downloads the charm and runs `upgrade-charm` (then
   * `config-changed`) once its watcher reports the change — at different times on different units
   * ({@link JujuModel.notice}). Kubernetes: the StatefulSet's pod template changes; the controller then restarts
   * pods at or above the partition, highest first ({@link JujuModel.steps}).
   */
  refresh(revision: number): void {
    this.charm = revision;
    if (this.substrate === "k8s") this.completeRollout();
  }

  /** Machines: the unit's agent notices the application's new charm (its `upgrade-charm` is now due). */
  notice(id: number): void {
    const unit = this.units.get(id);
    if (unit) unit.agent.seen = this.charm;
  }

  /** Every unit's agent notices the new charm at once (for callers that do not explore the spread). */
  noticeAll(): void {
    for (const id of this.units.keys()) this.notice(id);
  }

  /** Kubernetes: set the StatefulSet's rolling-update partition (what the charm's API call does). */
  setPartition(partition: number): void {
    if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`invalid partition ${partition}`);
    this.partition = partition;
    this.partitionByHand = false;
  }

  /**
   * Kubernetes: someone outside the charm sets the partition (`kubectl patch statefulset APP -p
   * '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":N}}}}'`, issue 12.4). The controller acts on the spec
   * whoever wrote it (kubernetes `pkg/controller/statefulset/stateful_set_control.go` reads
   * `spec.updateStrategy.rollingUpdate.partition` at each sync), so this is {@link JujuModel.setPartition} but for who
   * did it ({@link JujuModel.partitionByHand}).
   */
  patchPartition(partition: number): void {
    this.setPartition(partition);
    this.partitionByHand = true;
  }

  /**
   * Kubernetes: the pod of `id` is deleted outside a rollout (evicted, OOM-killed, drained). The StatefulSet
   * controller recreates it from the revision its ordinal gets (below the partition, the current one), and Juju
   * runs `upgrade-charm` on the new pod even if the charm did not change (LP#2021891).
   */
  evict(id: number): void {
    const unit = this.units.get(id);
    if (unit?.pod && !unit.pod.terminating) this.deletePod(unit);
  }

  /**
   * Kubernetes: the pod of `id` is deleted. Its agent runs `stop` in the termination grace period if the unit had
   * started; an agent that never started terminates without a hook (juju/juju `worker/uniter/resolver.go` `nextOp`:
   * on `Shutdown`, `stop` only when `Started && !Stopped`, else `ErrTerminateAgent`), so the controller creates the
   * replacement at once.
   */
  private deletePod(unit: UnitRecord): void {
    if (!unit.pod) return;
    if (unit.agent.started) unit.pod.terminating = true;
    else this.recreatePod(unit);
  }

  /** Whether Juju would run an action on `id` now (its next operation, ahead of the hooks that are due). */
  acceptsAction(id: number): boolean {
    const unit = this.units.get(id);
    // juju/juju worker/uniter/actions/resolver.go `NextOp`: an action runs when the agent is idle (`Continue`) or
    // waiting to retry a failed hook (`RunHook`, `Pending`), never while a hook is queued (`RunHook`, `Queued`:
    // `config-changed` after `upgrade-charm`, `start` after the first `config-changed`); the uniter resolver asks
    // the actions resolver before any hook but those (worker/uniter/resolver.go `NextOp`).
    return unit !== undefined && unit.agent.queued === null && !unit.pod?.hung;
  }

  // ------------------------------------------------------------------------------------------- faults from production

  /**
   * `juju resolve --no-retry`: the failed hook of `id` is recorded as run without running it again (juju/juju
   * `worker/uniter/resolver.go` `nextOpHookError`, `ResolvedNoHooks` → `NewSkipHook`, which commits the hook's
   * state change: an `upgrade-charm` skipped this way still queues `config-changed`). Seen in production:
   * canonical/k8s-operator#975 (an `upgrade-charm` resolved with `--no-retry`: the charm runs the new code, its
   * upgrade never ran).
   */
  resolveNoRetry(id: number): void {
    const unit = this.units.get(id);
    const hook = unit?.agent.retry;
    if (!unit || !hook) return;
    unit.agent.retry = null;
    this.skipped(unit, id, hook);
  }

  /**
   * Machines: the charm code of `id` is replaced by the application's without `upgrade-charm` (nor the
   * `config-changed` that follows it); a failed hook stays failed and is retried, now on the new charm.
   * LP#2068500 (canonical/charm-refresh `docs/modules/ROOT/partials/juju-refresh.adoc`: "If the unit failed to execute the last
   * event … Juju will refresh the unit's charm code without emitting an upgrade-charm event"); the same as
   * `juju refresh --force-units` on a unit in error (juju/juju `worker/uniter/operation/deploy.go` `Commit`: an
   * interrupted hook is restored as `Pending` instead of queueing `upgrade-charm`; docs/reference/hook.md "Upgrade
   * phase").
   */
  refreshSkippingUpgradeCharm(id: number): void {
    const unit = this.units.get(id);
    if (!unit || this.substrate !== "vm") return;
    unit.agent.seen = this.charm;
    unit.agent.charm = this.charm;
    unit.configView = null;
  }

  /**
   * Kubernetes: the pod of `id` is killed before its `stop` hook ran (or finished): the termination grace period
   * ran out (30 s since Juju 3.3, LP#2035102 in canonical/charm-refresh `docs/modules/ROOT/partials/juju-refresh.adoc`), a node died, or
   * `kubectl delete pod --force`. The controller creates the replacement at once.
   */
  killPod(id: number): void {
    const unit = this.units.get(id);
    if (unit?.pod) this.recreatePod(unit);
  }

  /**
   * Kubernetes, LP#2073506: the pod of an outdated unit (not on the StatefulSet's update revision) is evicted; the
   * replacement comes back on its old revision and its agent receives no Juju event at all, so it never starts and
   * its pod never becomes Ready (canonical/charm-refresh `docs/modules/ROOT/partials/juju-refresh.adoc`: "the unit will not receive any Juju
   * events"). It stays so until its pod is deleted again. Does nothing to a pod on the update revision.
   */
  evictOutdatedSilently(id: number): void {
    const unit = this.units.get(id);
    const pod = unit?.pod;
    if (!unit || !pod || pod.terminating || (pod.revision === this.charm && !pod.stale)) return;
    pod.hung = true;
    this.deletePod(unit);
  }

  /**
   * Kubernetes, LP#2073473: the partition is lowered to `low` (the controller deletes that pod for the rollout) and
   * raised to `high` before the pod is back: the unit that was refreshing comes back (below the partition: on the
   * current revision) with an agent that hangs — no hook, never Ready (canonical/charm-refresh `charm_refresh/_main.py`: "If the
   * partition is lowered and then quickly raised, the unit that is refreshing will not be able to start"; the
   * reason charm-refresh, and this library, only ever lower the partition). Does nothing when the controller would
   * delete no pod at `low`.
   */
  bouncePartition(low: number, high: number): void {
    this.setPartition(low);
    const target = this.podToDelete();
    if (target === low) {
      const unit = this.units.get(low);
      if (unit?.pod) {
        unit.pod.hung = true;
        this.deletePod(unit);
      }
    }
    this.setPartition(high);
  }

  /**
   * Kubernetes, LP#2036246: `juju refresh` to `revision` (a rollback) writes a new pod template even when it names
   * a charm some pods already run, so the controller restarts every pod at or above the partition, those that never
   * refreshed included (canonical/charm-refresh `docs/modules/ROOT/partials/juju-refresh.adoc`: "During rollback, all pods--even those that
   * have not refreshed--will be deleted"). A pod recreated below the partition afterwards is not marked again (it
   * comes from the current revision, which the model does not tell apart from the new template).
   */
  refreshRecreatingEveryPod(revision: number): void {
    this.refresh(revision);
    for (const unit of this.units.values()) if (unit.pod && !unit.pod.terminating) unit.pod.stale = true;
  }

  /**
   * `juju config` as Juju 3 stores it, LP#2084886: the config belongs to a charm revision (juju/juju
   * `state/application.go` `charmConfigKey`: settings keyed `a#<app>#<charm URL>`, copied to the new URL by
   * `SetCharm`), and a unit reads and watches the config of the charm it runs (`state/unit.go` `ConfigSettings`
   * with the unit's charm URL). So a unit not yet on the application's charm neither sees the change nor runs
   * `config-changed` until it runs that charm (canonical/charm-refresh `docs/modules/ROOT/partials/juju-refresh.adoc`: "Outdated units will
   * not receive config-changed events"). Exact for one refresh in flight. {@link configure} is the same change
   * seen by every unit.
   */
  configureCurrentCharmOnly(key: string, value: unknown): void {
    for (const unit of this.units.values())
      if (unit.agent.charm !== this.charm && !unit.configView)
        unit.configView = { version: this.configVersion, config: { ...this.config } };
    this.configure(key, value);
  }

  /** The config unit `id` reads with `config-get` (its charm's: see {@link configureCurrentCharmOnly}). */
  configOf(id: number): Readonly<Record<string, unknown>> {
    return this.units.get(id)?.configView?.config ?? this.config;
  }

  /**
   * What a committed hook of `writer` writing `data` leaves behind (`null`: the leader writing the application
   * databag): the databag changes and its settings version moves, so every other unit hears of it. For tests that
   * put data no charm of ours would write (another revision's, a hostile one's) into the relation.
   */
  commitAs(writer: number | null, data: Readonly<Record<string, string>>): void {
    if (writer === null) {
      Object.assign(this.appData, data);
      this.appVersion++;
      const leader = this.leader === null ? undefined : this.units.get(this.leader);
      if (leader) leader.agent.app = this.appVersion;
      return;
    }
    const unit = this.units.get(writer);
    if (!unit) throw new RangeError(`no unit ${writer}`);
    this.databags[unit.name] = { ...this.databags[unit.name], ...data };
    unit.version++;
  }

  // ------------------------------------------------------------------------------------------- the controller

  /**
   * Kubernetes: whether a rollout awaits the pod of `id` — what `awaitsRollout` of `@charm-upgrade/k8s` reads from the
   * API server: the pod was not created from the StatefulSet's update revision (or from a template it no longer has,
   * LP#2036246), so the controller replaces it once the partition lets it (kubernetes
   * `pkg/controller/statefulset/stateful_set_control.go` `updateStatefulSet`: it deletes a pod whose revision is not
   * the update revision). Whether the current revision differs does not matter: after a refresh back to the template
   * the rollout started from, the update revision is the current one again, and the pods that restarted away from it
   * await it. `false` for a unit without a pod.
   */
  awaitsRollout(id: number): boolean {
    const pod = this.units.get(id)?.pod;
    return pod !== null && pod !== undefined && (pod.revision !== this.charm || pod.stale);
  }

  /**
   * Kubernetes: where the StatefulSet's rollout stands for each unit's pod — what `unitRollout` of `@charm-upgrade/k8s`
   * reads from the API server (each pod's `controller-revision-hash` against `status.currentRevision` and
   * `status.updateRevision`, and the partition). `restarted`: the pods not created from the current revision; a pod
   * at or above the partition is recreated from the update revision, one below it from the current one (kubernetes
   * `pkg/controller/statefulset/stateful_set_utils.go` `newVersionedStatefulSetPod`), and the current revision
   * becomes the update revision only once every pod runs it and is Ready (`completeRollingUpdate`), so each restarted
   * onto the update revision or onto one a refresh back left, whatever its unit has run since. `pending`: the pods at
   * or above the partition the controller still replaces ({@link awaitsRollout}: `updateStatefulSet` deletes every pod
   * there not on the update revision). Ascending.
   */
  unitRollout(): { restarted: number[]; pending: number[] } {
    const restarted: number[] = [];
    const pending: number[] = [];
    for (const id of [...this.units.keys()].sort((a, b) => a - b)) {
      const pod = this.units.get(id)?.pod;
      if (!pod) continue;
      if (pod.revision !== this.currentRevision) restarted.push(id);
      if (id >= this.partition && this.awaitsRollout(id)) pending.push(id);
    }
    return { restarted, pending };
  }

  /** The revision a pod of ordinal `id` is created from: kubernetes `newVersionedStatefulSetPod` (stateful_set_utils.go). */
  private podRevision(id: number): number {
    return id < this.partition ? this.currentRevision : this.charm;
  }

  /**
   * The pod the StatefulSet controller deletes next for the rollout, if any: kubernetes
   * `pkg/controller/statefulset/stateful_set_control.go` `updateStatefulSet` walks the ordinals from the highest
   * down to the partition, deletes the first pod not on the update revision (one per sync), and waits while a pod
   * on the way is not Running and Ready (or is terminating).
   */
  private podToDelete(): number | null {
    const ids = [...this.units.keys()].sort((a, b) => b - a);
    for (const id of ids) {
      if (id < this.partition) break;
      const pod = this.units.get(id)?.pod;
      if (!pod) continue;
      // In this order: a pod not on the update revision and not terminating is deleted even if it is not Ready;
      // then the walk waits at the first pod that is not healthy (isHealthy: Running and Ready, not terminating).
      // Juju's StatefulSets use `podManagementPolicy: Parallel` (juju/juju caas/kubernetes/provider), so the
      // controller's first loop does not wait for unready pods below the partition (`monotonic` is false).
      if (!pod.terminating && (pod.revision !== this.charm || pod.stale)) return id;
      if (pod.terminating || !pod.ready) return null;
    }
    return null;
  }

  /**
   * kubernetes `completeRollingUpdate` (stateful_set_control.go): the update revision becomes the current revision
   * once every pod runs it and is Ready.
   */
  private completeRollout(): void {
    for (const unit of this.units.values()) {
      const pod = unit.pod;
      if (pod && (pod.revision !== this.charm || pod.stale || !pod.ready || pod.terminating)) return;
    }
    this.currentRevision = this.charm;
  }

  // ------------------------------------------------------------------------------------------- the resolver

  /**
   * The hook the unit's agent runs next, or `null` when nothing is due (then only `update-status` may run). The
   * order is Juju's resolver's (see the module comment).
   */
  nextHook(id: number): PendingHook | null {
    const unit = this.units.get(id);
    if (!unit) return null;
    const { agent } = unit;
    // LP#2073506, LP#2073473: an agent that hangs runs nothing.
    if (unit.pod?.hung && !unit.pod.terminating) return null;
    // A deleted pod's agent is shutting down (worker/uniter/resolver.go `NextOp`, `remoteState.Shutdown`): it runs
    // `stop` instead of a queued or failed hook; only the created-relations and leadership resolvers, which need
    // an idle agent (`Kind == Continue`), still go first. On SIGTERM the container agent calls the uniter's `Terminate`
    // ("ensuring the stop hook is fired before exiting", internal/worker/uniter/uniter.go); the pod is deleted after
    // it (charm-refresh docs/modules/ROOT/partials/juju-refresh.adoc: "after the unit processes the stop event").
    const stopping = unit.pod?.terminating === true;
    if (stopping && (agent.retry || agent.queued || !agent.installed)) return { name: "stop" };
    if (agent.retry) return agent.retry;
    if (agent.queued) return { name: agent.queued };
    if (!agent.installed) return { name: "install" };
    // Peer relations are known from the start: `relation-created` runs before `leader-elected` (docs/reference/hook.md;
    // the created-relations resolver comes before the leadership resolver in worker/uniter/resolver.go `NextOp`).
    if (!agent.created) return { name: `${PEER_RELATION.name}-relation-created` };
    // worker/uniter/leadership/resolver.go `NextOp`: accept leadership, or run leader-settings-changed when not leader.
    if (this.leader === id && !agent.leader) return { name: "leader-elected" };
    if (this.leader !== id && agent.leaderSettings !== this.leaderSettings) return { name: "leader-settings-changed" };
    if (stopping) return { name: "stop" };
    // worker/uniter/resolver.go `nextOp`: the charm (`charmModified`), then the config, then the relations.
    if (this.substrate === "vm" && agent.seen !== agent.charm) return { name: "upgrade-charm" };
    if (agent.config !== (unit.configView?.version ?? this.configVersion)) return { name: "config-changed" };
    return this.nextRelationHook(unit);
  }

  /** juju/juju `worker/uniter/relation/resolver.go` `nextHookForRelation`, for the peer relation. */
  private nextRelationHook(unit: UnitRecord): PendingHook | null {
    const { agent } = unit;
    const prefix = PEER_RELATION.name;
    if (agent.changedPending) return { name: `${prefix}-relation-changed`, remote: agent.changedPending };
    const scope = this.scope(unit.id);
    const met = Object.keys(agent.members).sort(byName);
    for (const name of met) if (!scope.has(name)) return { name: `${prefix}-relation-departed`, remote: name };
    // The application's data: the leader does not hear of its own writes (docs/reference/hook.md, relation-changed).
    if (agent.app !== this.appVersion) return { name: `${prefix}-relation-changed` };
    const present = [...scope.keys()].sort(byName);
    for (const name of present)
      if (!(name in agent.members)) return { name: `${prefix}-relation-joined`, remote: name };
    for (const name of present)
      if (agent.members[name] !== scope.get(name)) return { name: `${prefix}-relation-changed`, remote: name };
    return null;
  }

  /**
   * Every relation hook that could be due on the unit now if its agent's watcher had seen only some of the
   * changes (watchers report asynchronously): for a fault that delivers relation hooks out of their usual order.
   * The `relation-changed` that follows a `relation-joined` is never reordered (the resolver's `ChangedPending`).
   */
  relationHooksDue(id: number): PendingHook[] {
    const unit = this.units.get(id);
    const next = this.nextHook(id);
    if (!unit || !next || !unit.agent.created) return [];
    const resolved = this.nextRelationHook(unit);
    // Only when the relation resolver is what picks the next hook (no retry, queued or higher-priority hook).
    if (!resolved || resolved.name !== next.name || resolved.remote !== next.remote) return [];
    const { agent } = unit;
    const prefix = PEER_RELATION.name;
    if (agent.changedPending) return [{ name: `${prefix}-relation-changed`, remote: agent.changedPending }];
    const scope = this.scope(unit.id);
    const due: PendingHook[] = [];
    for (const name of Object.keys(agent.members).sort(byName))
      if (!scope.has(name)) due.push({ name: `${prefix}-relation-departed`, remote: name });
    if (agent.app !== this.appVersion) due.push({ name: `${prefix}-relation-changed` });
    for (const [name, version] of [...scope].sort((a, b) => byName(a[0], b[0]))) {
      if (!(name in agent.members)) due.push({ name: `${prefix}-relation-joined`, remote: name });
      else if (agent.members[name] !== version) due.push({ name: `${prefix}-relation-changed`, remote: name });
    }
    return due;
  }

  /**
   * The hooks the unit would run, in order, if nothing else changed in the model (what `juju show-status-log`
   * would show next): the resolver replayed on a copy of the unit's agent.
   */
  due(id: number): PendingHook[] {
    const unit = this.units.get(id);
    if (!unit) return [];
    const saved = {
      agent: structuredClone(unit.agent),
      pod: unit.pod ? { ...unit.pod } : null,
      current: this.currentRevision,
      configView: unit.configView,
    };
    const hooks: PendingHook[] = [];
    try {
      for (let hook = this.nextHook(id); hook && hooks.length < 50; hook = this.nextHook(id)) {
        hooks.push(hook);
        unit.agent.retry = null;
        this.skipped(unit, id, hook);
      }
    } finally {
      unit.agent = saved.agent;
      unit.pod = saved.pod;
      this.currentRevision = saved.current;
      unit.configView = saved.configView;
    }
    return hooks;
  }

  /** The other units in the relation's scope (they ran `relation-created`), with their settings versions. */
  private scope(except: number): Map<string, number> {
    const scope = new Map<string, number>();
    const created = `${PEER_RELATION.name}-relation-created`;
    // A unit enters the relation's scope just before its `relation-created` runs (worker/uniter/relation/
    // statetracker.go `SynchronizeScopes` → `joinRelation` → EnterScope, called by the created-relations resolver
    // before it returns the hook), so a unit whose `relation-created` failed is in scope already.
    for (const other of this.units.values())
      if (other.id !== except && (other.agent.created || other.agent.retry?.name === created))
        scope.set(other.name, other.version);
    return scope;
  }

  /** Everything that may happen next (the caller picks). Faults and the operator's moves are the caller's. */
  steps(): ModelStep[] {
    const steps: ModelStep[] = [];
    for (const unit of [...this.units.values()].sort((a, b) => a.id - b.id)) {
      if (this.nextHook(unit.id)) steps.push({ kind: "hook", unit: unit.id });
      else if (unit.agent.started) steps.push({ kind: "update-status", unit: unit.id });
      if (this.substrate === "vm" && unit.agent.seen !== this.charm) steps.push({ kind: "notice", unit: unit.id });
      if (unit.pod && !unit.pod.terminating && !unit.pod.ready && !unit.pod.hung)
        steps.push({ kind: "pod-ready", unit: unit.id });
    }
    const deleted = this.substrate === "k8s" ? this.podToDelete() : null;
    if (deleted !== null) steps.push({ kind: "pod-delete", unit: deleted });
    return steps;
  }

  /** Whether the model is at rest: no hook due anywhere, no refresh unnoticed, no pod to restart or waiting to be ready. */
  quiet(): boolean {
    return this.steps().every((step) => step.kind === "update-status");
  }

  /** Take a step that is not a hook (notice, pod delete, pod ready); hooks go through {@link begin}/{@link end}. */
  take(step: Exclude<ModelStep, { kind: "hook" | "update-status" }>): void {
    const unit = this.units.get(step.unit);
    if (!unit) return;
    if (step.kind === "notice") this.notice(step.unit);
    else if (step.kind === "pod-delete" && unit.pod) this.deletePod(unit);
    else if (step.kind === "pod-ready" && unit.pod) {
      unit.pod.ready = true;
      this.completeRollout();
    }
  }

  // ------------------------------------------------------------------------------------------- running hooks

  /**
   * Start the unit's next hook (or `update-status`, or an operator's action): its environment and its hook tools,
   * which read the model as it is now. Run the charm, then call {@link end} exactly once.
   */
  begin(
    id: number,
    what: {
      readonly updateStatus?: true;
      readonly action?: { readonly name: string; readonly params?: Record<string, unknown> };
      /** One of {@link relationHooksDue}, in place of the resolver's choice (a fault). */
      readonly relationHook?: PendingHook;
    } = {},
  ): HookRun {
    const unit = this.units.get(id);
    if (!unit) throw new RangeError(`no unit ${id}`);
    const hook = what.action
      ? { name: what.action.name }
      : what.updateStatus
        ? { name: "update-status" }
        : (what.relationHook ?? this.nextHook(id));
    if (!hook) throw new Error(`${unit.name} has no hook due`);
    // The agent unpacks the new charm first, then runs `upgrade-charm` from it (the uniter's upgrade operation,
    // worker/uniter/operation/deploy.go): the charm directory stays new even if the hook fails and is retried.
    if (hook.name === "upgrade-charm" && this.substrate === "vm") unit.agent.charm = unit.agent.seen;
    const action: InMemoryAction | null = what.action
      ? { name: what.action.name, params: { ...(what.action.params ?? {}) }, results: {}, failure: null, logs: [] }
      : null;
    const related = unit.agent.created || hook.name === `${PEER_RELATION.name}-relation-created`;
    const model: InMemoryModel = {
      unit: unit.name,
      leader: this.leader === id,
      relation: related ? { ...PEER_RELATION } : null,
      databags: this.databags,
      appData: this.appData,
      status: unit.status,
      appStatus: this.appStatus,
      appStatusNeverSet: this.appStatusNeverSet,
      state: unit.store,
      logs: [],
      action,
      applicationVersion: unit.applicationVersion,
      config: { ...this.configOf(id) },
      metUnits: this.membersDuring(unit, hook),
      unitStatuses: Object.fromEntries([...this.units.values()].map((u) => [u.name, u.status])),
      goalUnits: Object.fromEntries([...this.units.values()].map((u) => [u.name, { status: u.status.status }])),
    };
    if (related) this.databags[unit.name] ??= {};
    return {
      unit: id,
      unitName: unit.name,
      kind: action ? "action" : "hook",
      hook,
      env: this.env(unit, hook, action !== null),
      tools: new InMemoryHookTools(model),
      revision: unit.agent.charm,
      seen: { app: this.appVersion, members: Object.fromEntries(this.scope(id)) },
    };
  }

  /**
   * End a hook: commit or discard its writes as Juju does (relation and state writes only when it succeeds: the
   * hook context flushes them in one `CommitHookChanges` call after the charm exits 0, worker/uniter/runner/context
   * `Flush`; status, logs and action results at once, each tool calling the API as it runs), then record in the
   * unit's agent that the hook ran — or, when it
   * failed, that it must run again. Returns what the commit changed (`null` when nothing was committed).
   */
  end(run: HookRun, how: HookEnd): CommitResult | null {
    const unit = this.units.get(run.unit);
    const model = run.tools.model;
    const logs = this.logs.get(run.unitName) ?? [];
    logs.push(...model.logs);
    this.logs.set(run.unitName, logs);
    if (!unit) {
      run.tools.discard();
      return null;
    }
    unit.status = model.status;
    unit.applicationVersion = model.applicationVersion;
    if (model.appStatus !== this.appStatus) {
      this.appStatus = model.appStatus;
      this.appStatusNeverSet = false;
    }
    if (how === "failed" || how === "crashed") {
      run.tools.discard();
      if (run.kind === "hook") unit.agent.retry = run.hook;
      return null;
    }
    const committed = run.tools.commit();
    if (committed.unitChanged) unit.version++;
    if (committed.appChanged) {
      this.appVersion++;
      // The writer does not hear of its own write.
      unit.agent.app = this.appVersion;
    }
    if (how === "uncommitted") {
      // The agent did not record the hook: it runs it again, before anything else.
      if (run.kind === "hook") unit.agent.retry = run.hook;
      return committed;
    }
    // An action leaves a hook awaiting its retry as it was; a hook that ran is no longer owed.
    if (run.kind === "hook") {
      unit.agent.retry = null;
      this.ran(unit, run);
    }
    return committed;
  }

  /** Record `hook` as run on unit `id` without running it (what it saw: the model as it is now). */
  private skipped(unit: UnitRecord, id: number, hook: PendingHook): void {
    this.ran(unit, {
      unit: id,
      unitName: unit.name,
      kind: "hook",
      hook,
      env: {},
      tools: null as never,
      revision: unit.agent.charm,
      seen: { app: this.appVersion, members: Object.fromEntries(this.scope(id)) },
    });
  }

  /**
   * The units `relation-list` prints during `hook`: those met (whose `-relation-joined` ran here), with the hook's
   * remote unit taken in — a relation hook's context counts it a member from the start of `-relation-joined`, and no
   * longer from the start of `-relation-departed` (juju/juju `worker/uniter/runner/context/contextfactory.go`
   * `HookContext`: `relation.cache.RemoveMember` for departed, `InvalidateMember`, which makes it a member, for the
   * others; `context/cache.go`); the uniter records the same once the hook is committed (see {@link ran}).
   */
  private membersDuring(unit: UnitRecord, hook: PendingHook): string[] {
    const met = new Set(Object.keys(unit.agent.members));
    if (hook.remote !== undefined && RELATION_HOOK.test(hook.name)) {
      if (hook.name.endsWith("-relation-departed")) met.delete(hook.remote);
      else met.add(hook.remote);
    }
    return [...met].sort(byName);
  }

  /** Record that `run`'s hook ran (juju/juju `worker/uniter/operation/runhook.go` `Commit`, and the resolvers' state). */
  private ran(unit: UnitRecord, run: HookRun): void {
    const { agent } = unit;
    const { name, remote } = run.hook;
    if (agent.queued === name) agent.queued = null;
    switch (name) {
      case "install":
        agent.installed = true;
        return;
      case "start":
        agent.started = true;
        return;
      case "leader-elected":
        agent.leader = this.leader === unit.id;
        agent.leaderSettings = this.leaderSettings;
        return;
      case "leader-settings-changed":
        agent.leaderSettings = this.leaderSettings;
        return;
      case "config-changed":
        agent.config = unit.configView?.version ?? this.configVersion;
        if (!agent.started) agent.queued = "start";
        return;
      case "upgrade-charm":
        if (this.substrate === "vm") agent.charm = agent.seen;
        if (agent.charm === this.charm) unit.configView = null;
        agent.queued = "config-changed";
        return;
      case "stop":
        this.recreatePod(unit);
        return;
      default:
        break;
    }
    if (!RELATION_HOOK.test(name)) return;
    if (name.endsWith("-relation-created")) {
      agent.created = true;
      return;
    }
    if (name.endsWith("-relation-departed")) {
      if (remote) delete agent.members[remote];
      return;
    }
    if (name.endsWith("-relation-joined") && remote) {
      agent.members[remote] = run.seen.members[remote] ?? 0;
      agent.changedPending = remote;
      return;
    }
    if (remote === undefined) {
      agent.app = run.seen.app;
      return;
    }
    if (agent.changedPending === remote) agent.changedPending = null;
    if (remote in agent.members) agent.members[remote] = run.seen.members[remote] ?? agent.members[remote] ?? 0;
  }

  /**
   * Kubernetes: the old pod is gone after its `stop` hook; the controller creates it again from the revision its
   * ordinal gets, and Juju's agent in the new pod runs `upgrade-charm`, `config-changed` and `start`, whatever the
   * revision (juju/juju docs/reference/hook.md "Upgrade Kubernetes charm"; LP#2021891 for a pod that comes back
   * on the same charm). The unit's relation state and store live in the controller and survive.
   */
  private recreatePod(unit: UnitRecord): void {
    if (!unit.pod) return;
    const revision = this.podRevision(unit.id);
    // A hang marked on a pod being deleted is the replacement's (see PodState.hung).
    const hung = unit.pod.hung && unit.pod.terminating;
    unit.pod = { revision, terminating: false, ready: false, hung, stale: false };
    unit.agent.charm = revision;
    unit.agent.seen = revision;
    unit.agent.started = false;
    unit.agent.retry = null;
    // A unit that never installed installs from scratch (worker/uniter/resolver.go `nextOp`: install first).
    unit.agent.queued = unit.agent.installed ? "upgrade-charm" : null;
    if (revision === this.charm) unit.configView = null;
  }

  /** The environment Juju gives a hook or action (juju/juju docs/reference/hook.md "Hook execution"). */
  private env(unit: UnitRecord, hook: PendingHook, action: boolean): JujuEnv {
    const env: Record<string, string> = {
      JUJU_DISPATCH_PATH: `${action ? "actions" : "hooks"}/${hook.name}`,
      JUJU_UNIT_NAME: unit.name,
      JUJU_MODEL_NAME: this.modelName,
      JUJU_MODEL_UUID: "00000000-0000-4000-8000-000000000000",
      JUJU_CHARM_DIR: `/var/lib/juju/agents/unit-${this.app}-${unit.id}/charm`,
      JUJU_VERSION: "3.6.4",
    };
    if (action) {
      env.JUJU_ACTION_NAME = hook.name;
      return env;
    }
    env.JUJU_HOOK_NAME = hook.name;
    if (hook.name.startsWith(`${PEER_RELATION.name}-relation-`)) {
      env.JUJU_RELATION = PEER_RELATION.name;
      env.JUJU_RELATION_ID = `${PEER_RELATION.name}:${PEER_RELATION.id}`;
      env.JUJU_REMOTE_APP = this.app;
      if (hook.remote) env.JUJU_REMOTE_UNIT = hook.remote;
      if (hook.name.endsWith("-relation-departed") && hook.remote) env.JUJU_DEPARTING_UNIT = hook.remote;
    }
    return env;
  }

  /** The charm Juju names in the unit's `.juju-charm`. */
  charmUrlOf(id: number): string | null {
    const unit = this.units.get(id);
    return unit ? this.charmUrl(unit.agent.charm) : null;
  }

  // ------------------------------------------------------------------------------------------- snapshots

  /**
   * Everything that decides what happens next, as canonical JSON (sorted databag keys, units by number): equal
   * texts mean equal futures. Statuses and logs are left out: no rule of Juju and no decision of the library
   * depends on them (the library keeps what it set in the unit's store, which is in).
   */
  snapshot(): ModelSnapshot {
    const units = [...this.units.values()]
      .sort((a, b) => a.id - b.id)
      .map((u) => [
        u.id,
        u.version,
        agentKey(u.agent),
        sorted(u.store),
        u.applicationVersion,
        u.pod
          ? [u.pod.revision, u.pod.terminating ? 1 : 0, u.pod.ready ? 1 : 0, u.pod.hung ? 1 : 0, u.pod.stale ? 1 : 0]
          : 0,
        u.configView ? [u.configView.version, sorted(u.configView.config)] : 0,
      ]);
    const bags = Object.keys(this.databags)
      .sort(byName)
      .map((name) => [name, sorted(this.databags[name] ?? {})]);
    return JSON.stringify([
      this.nextId,
      this.leader,
      this.leaderSettings,
      this.configVersion,
      sorted(this.config),
      this.charm,
      this.currentRevision,
      this.partition,
      this.partitionByHand ? 1 : 0,
      sorted(this.appData),
      this.appVersion,
      bags,
      units,
    ]);
  }

  /** Go back to a {@link snapshot} (statuses are reset to what a snapshot cannot know: as they were). */
  restore(snapshot: ModelSnapshot): void {
    const [
      nextId,
      leader,
      leaderSettings,
      configVersion,
      config,
      charm,
      currentRevision,
      partition,
      partitionByHand,
      appData,
      appVersion,
      bags,
      units,
    ] = JSON.parse(snapshot) as [
      number,
      number | null,
      number,
      number,
      Record<string, unknown>,
      number,
      number,
      number,
      0 | 1,
      Record<string, string>,
      number,
      [string, Record<string, string>][],
      unknown[][],
    ];
    this.nextId = nextId;
    this.leader = leader;
    this.leaderSettings = leaderSettings;
    this.configVersion = configVersion;
    this.config = config;
    this.charm = charm;
    this.currentRevision = currentRevision;
    this.partition = partition;
    this.partitionByHand = partitionByHand === 1;
    this.appData = appData;
    this.appVersion = appVersion;
    this.databags = Object.fromEntries(bags);
    const statuses = new Map([...this.units.values()].map((u) => [u.id, u.status]));
    this.units.clear();
    for (const raw of units) {
      const [id, version, agent, store, applicationVersion, pod, configView] = raw as [
        number,
        number,
        unknown[],
        Record<string, string>,
        string,
        number[] | 0,
        [number, Record<string, unknown>] | 0,
      ];
      this.units.set(id, {
        id,
        name: `${this.app}/${id}`,
        agent: agentOf(agent),
        version,
        status: statuses.get(id) ?? { status: "unknown", message: "" },
        store,
        applicationVersion,
        pod:
          pod === 0
            ? null
            : {
                revision: pod[0] ?? 0,
                terminating: pod[1] === 1,
                ready: pod[2] === 1,
                hung: pod[3] === 1,
                stale: pod[4] === 1,
              },
        configView: configView === 0 ? null : { version: configView[0], config: configView[1] },
      });
    }
  }
}

/** A record as a new object with its keys sorted (canonical JSON). */
function sorted<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort(byName)) out[key] = record[key] as T;
  return out;
}

function agentKey(a: AgentState): unknown[] {
  return [
    a.installed ? 1 : 0,
    a.started ? 1 : 0,
    a.charm,
    a.seen,
    a.queued,
    a.retry ? [a.retry.name, a.retry.remote ?? null] : null,
    a.leader ? 1 : 0,
    a.leaderSettings,
    a.config,
    a.created ? 1 : 0,
    sorted(a.members),
    a.changedPending,
    a.app,
  ];
}

function agentOf(raw: unknown[]): AgentState {
  const [
    installed,
    started,
    charm,
    seen,
    queued,
    retry,
    leader,
    leaderSettings,
    config,
    created,
    members,
    changedPending,
    app,
  ] = raw as [
    number,
    number,
    number,
    number,
    string | null,
    [string, string | null] | null,
    number,
    number,
    number,
    number,
    Record<string, number>,
    string | null,
    number,
  ];
  return {
    installed: installed === 1,
    started: started === 1,
    charm,
    seen,
    queued,
    retry: retry ? (retry[1] === null ? { name: retry[0] } : { name: retry[0], remote: retry[1] }) : null,
    leader: leader === 1,
    leaderSettings,
    config,
    created: created === 1,
    members,
    changedPending,
    app,
  };
}
