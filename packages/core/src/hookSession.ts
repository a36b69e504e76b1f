import type { CharmAnswer, CharmCall } from "./charmCall.js";
import {
  awaitedRolloutOf,
  grantEvent,
  heldPartitionOf,
  InvalidGrantAnswer,
  messageOf,
  trustOf,
  unitRolloutOf,
} from "./charmCall.js";
import type { UnitRollout } from "./charmCall.js";
import type { Dependencies } from "./dependencyModel.js";
import type { Effect } from "./effects.js";
import { UpgradeError } from "./errors.js";
import type { ErrorData, UpgradeEvent } from "./events.js";
import type { DeferrableEventType, HookMemory, KnownStatus } from "./hookMemory.js";
import { DEFERRABLE_EVENTS, encodeHookMemory, ownPart, readHookMemory } from "./hookMemory.js";
import { missedUpgradeCharm, readObservation } from "./observed.js";
import type { PeerDatabags, PeerView } from "./peerView.js";
import { KEYS, readPeerView } from "./peerView.js";
import { partitionFailure } from "./protocol.js";
import type { ReduceResult, UpgradeState } from "./reduce.js";
import { rollbackCommand } from "./rollbackCommand.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { RawUpgradeSettings } from "./settings.js";
import type { Substrate } from "./substrate.js";

/** The events a Juju hook or action maps onto (the core's other events are the charm's answers). */
export type HookEventType = DeferrableEventType | "preUpgradeCheck" | "resumeUpgrade" | "forceUpgrade" | "stop";

/** A reducer with the signature of {@link reduce}: the default, or (verification only) a memoised or broken one. */
export type Reducer = (state: UpgradeState, event: UpgradeEvent) => ReduceResult;

/** One reducer step as it happened, for an inspection observer: the event, the states around it, the effects. */
export interface UpgradeStep {
  readonly event: UpgradeEvent;
  /** The state the machine judged the event in (the unit's state with the event's view taken in). */
  readonly before: UpgradeState;
  readonly after: UpgradeState;
  readonly effects: readonly Effect[];
}

/** Which optional callbacks the charm has: the session asks only for those (and says what is missing). */
export interface CharmAbilities {
  readonly checkTrust: boolean;
  readonly buildUpgradeStack: boolean;
  readonly setPartition: boolean;
  /** Kubernetes: the charm can read the partition the API server holds (absent: `false`). */
  readonly getPartition?: boolean;
  /**
   * Kubernetes: the charm can tell whether a rollout is under way that this unit has not taken (absent: `false`;
   * then a stop with no upgrade planned raises the partition even when it is an eviction).
   */
  readonly awaitsRollout?: boolean;
  /**
   * Kubernetes: the charm can tell where the StatefulSet's rollout stands for each unit's pod ({@link UnitRollout};
   * absent: `false`; then pre-upgrade-check and the end of a roll go by what the units recorded, and cannot see a pod
   * that restarted before its unit ran upgrade-charm).
   */
  readonly unitRollout?: boolean;
  readonly logRollbackInstructions: boolean;
  /**
   * The charm reports its workload version (absent: `false`): it is asked again after a grant it answered
   * `completed`, so that the version the unit upgraded to is recorded in the same commit as `completed` — not in a
   * later hook, whose commit every other unit would hear of once more (issue 14).
   */
  readonly workloadVersion?: boolean;
}

/** Everything one hook decides with: who runs it, what Juju runs, and what the hook read at its start. */
export interface HookInput {
  readonly app: string;
  readonly unit: number;
  readonly substrate: Substrate;
  /** The DEPENDENCIES of the charm code running this hook. */
  readonly dependencies: Dependencies;
  /** The event the hook or action maps onto. */
  readonly event: HookEventType;
  /** Whether this is an action (only actions have results and failures). */
  readonly inAction: boolean;
  /** force-upgrade: the checks the operator skips (`false` skips). */
  readonly force?: { readonly checkCompatibility: boolean; readonly checkHealth: boolean } | undefined;
  /** The peer relation's databags as read (`null`: the relation does not exist yet). */
  readonly databags: PeerDatabags | null;
  /** This unit's stored {@link HookMemory}, raw (`null`: nothing stored). */
  readonly memory: string | null;
  /** The peer relation's id, when the hook knows it (remembered for hooks that are not relation hooks). */
  readonly relationId?: number | null | undefined;
  /**
   * The peer relation's other members as this hook knows them (`relation-list`, or the memory's kept up to date by
   * the adapter), to remember (see `HookMemory.members`); `null`: not known; absent: the memory keeps what it had.
   */
  readonly members?: readonly string[] | null | undefined;
  readonly settings?: RawUpgradeSettings | undefined;
  /**
   * The config `pause-after-unit-upgrade` as this hook read it (as text, `""` when unset), to remember for the hooks
   * that do not read it (see `HookMemory.pauseConfig`); `null`/absent: not read, the memory keeps what it had.
   */
  readonly pauseConfig?: string | null | undefined;
  /** This unit's charm as Juju names it (`.juju-charm`), or `null`. */
  readonly charm?: string | null | undefined;
  /** The workload version the charm reports, or `null`. */
  readonly workloadVersion?: string | null | undefined;
  readonly workloadKey?: string | undefined;
  /** What this unit runs, as the adapter observed it (validated here: see `RuntimeObservation`), or `null`. */
  readonly observed?: unknown;
  /** Kubernetes, at pre-upgrade-check on the leader: the workload's OCI image resource, `NAME=IMAGE`, or `null`. */
  readonly resource?: string | null | undefined;
  /** Why this unit's workload cannot go back to the version before the upgrade, as the charm says, or `null`. */
  readonly noDowngrade?: string | null | undefined;
  readonly abilities: CharmAbilities;
  /**
   * What the charm would show as this unit's status, were no upgrade to say anything (`null`: the charm says
   * nothing; the library then shows `active` when an upgrade ends). See {@link statusPrecedence}.
   */
  readonly charmStatus?: KnownStatus | null | undefined;
  /** The same for the application status, on the leader. */
  readonly charmAppStatus?: KnownStatus | null | undefined;
  /** Observer of every reducer step; an observer that throws is ignored. */
  readonly inspect?: ((step: UpgradeStep) => void) | undefined;
  /** Verification only: the reducer every step runs through (default {@link reduce}). */
  readonly reduce?: Reducer | undefined;
}

/** A line for the unit's log (`juju-log`). */
export interface LogLine {
  readonly level: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  readonly message: string;
}

/**
 * What one hook leaves behind, for the adapter to write with the hook tools at its end, each at most once: the
 * changed keys of each databag (`""` deletes), the statuses that differ from what is known to be set, the memory
 * when it changed, the log lines, and the action's outcome.
 */
export interface HookOutcome {
  readonly unitWrites: Readonly<Record<string, string>>;
  readonly appWrites: Readonly<Record<string, string>>;
  /** The unit status to set, or `null` when it is already what the hook wants. */
  readonly status: KnownStatus | null;
  /** The application status to set (leader only), or `null`. */
  readonly appStatus: KnownStatus | null;
  /** The memory to store (`""`: delete it), or `null` when unchanged. */
  readonly memory: string | null;
  readonly logs: readonly LogLine[];
  /** `action-set` results, when the action succeeded and has some. */
  readonly actionResults: Readonly<Record<string, string>> | null;
  /** The `action-fail` message, or `null`. */
  readonly actionFailure: string | null;
  /** Every effect of every step, in order. */
  readonly effects: readonly Effect[];
  /** Events deferred to the next hook. */
  readonly deferred: readonly DeferrableEventType[];
  /** The unit's state when the hook began and when it ended. */
  readonly initial: UpgradeState;
  readonly final: UpgradeState;
}

/** Unit states in which the unit is part of a roll (its status is the upgrade's while it is). */
const MID_UPGRADE: ReadonlySet<string> = new Set(["ready", "upgrading", "completed", "failed", "recovery"]);

/**
 * Whose status a unit shows: the upgrade's only while the upgrade needs the operator (a blocked status: a failure,
 * invalid peer data, a step to run) or the unit is mid-upgrade (ready, upgrading, completed, failed, in recovery);
 * otherwise the charm's — the workload's own message, which the original library overwrote with `active ""` when an
 * upgrade ended. Without a charm status the upgrade's stands (and the library says `active` when it ends).
 *
 * @param upgrade - the status this hook's upgrade steps want (`null`: they said nothing)
 * @param problem - the upgrade status reports invalid peer data
 * @param charm - what the charm would show
 * @param state - this unit's state at the end of the hook
 */
export function statusPrecedence(
  upgrade: KnownStatus | null,
  problem: boolean,
  charm: KnownStatus | null,
  state: string,
): KnownStatus | null {
  if (problem || upgrade?.status === "blocked" || MID_UPGRADE.has(state)) return upgrade;
  return charm ?? upgrade;
}

/**
 * The leader's application status: the upgrade's while one is planned or runs (`appStatusOf` says `active ""` when
 * nothing is going on), otherwise the charm's.
 */
export function appStatusPrecedence(upgrade: KnownStatus | null, charm: KnownStatus | null): KnownStatus | null {
  if (upgrade && !(upgrade.status === "active" && upgrade.message === "")) return upgrade;
  return charm ?? upgrade;
}

/** A feedback event may itself lead to feedback (a passed check, then its partition move's answer); no deeper. */
const MAX_FEEDBACK_DEPTH = 2;

/** Juju shows at most 120 characters of a status. */
const clip = (text: string, max = 120) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const LEVELS = { debug: "DEBUG", info: "INFO", warning: "WARNING", error: "ERROR" } as const;

/**
 * One hook of one unit, from what it read to what it must write: a pure, synchronous generator. It yields only the
 * calls that need the charm ({@link CharmCall}) and takes the charm's answers back; it returns the
 * {@link HookOutcome}. The adapter drives it with the hook tools and the charm's callbacks; the simulator and the
 * verifier drive the same code with their model of Juju, so what they prove is what ships.
 *
 * What it owns, so that no adapter decides it again:
 * - the order of events: deferred events replay before the hook's own, except after relation-created (which must
 *   write the unit's first state) and after an action (a deferred upgrade-charm waits for exactly that action);
 * - the overlay of the hook's own writes: each event sees what earlier events of this hook wrote, as Juju's
 *   `relation-get` does; only keys whose final value differs from what was read are written, once. Juju commits
 *   relation data only when the hook succeeds, so no other unit could see an intermediate value;
 * - feeding the charm's answers back into the reducer, after every effect of the step that asked (a later effect
 *   applied in between could undo newer data), at most {@link MAX_FEEDBACK_DEPTH} deep, so a hook always ends;
 * - the status: only the hook's last status, and bad peer data wins over a routine status; set only when it
 *   differs from what the unit last set (kept in its memory, so no `status-get`);
 * - each charm callback at most once per hook (a partition move once per partition, a failed one not again), and
 *   each log line once;
 * - an action whose partition move the API server did not take fails and changes nothing: no relation data, no
 *   status, no event replayed (its deferred events stay deferred), as if it had not run.
 *
 * @throws {@link UpgradeError} when the charm answers `grant` with something it may not (a charm bug).
 * @example
 * ```ts
 * const session = hookSession(input);
 * for (let step = session.next(); !step.done; ) step = session.next(answer(step.value));
 * ```
 */
export function* hookSession(input: HookInput): Generator<CharmCall, HookOutcome, CharmAnswer> {
  const run = new HookRun(input);
  const { memory, dropped } = readHookMemory(input.memory);
  if (dropped) run.log("WARNING", `Ignoring ${dropped}; it is rewritten at the end of this hook`);
  // Kubernetes, the leader while a roll may end in this hook (its records kept, every other unit at rest or done):
  // which pods the rollout still restarts — a pod can restart before its unit runs any hook, and the roll is not
  // over for it. (The leader's own state may move on to the end within the hook.)
  const view = run.view();
  const ends =
    input.substrate === "k8s" &&
    input.abilities.unitRollout === true &&
    view?.leader === true &&
    Boolean(view.stack || view.fromCharm || view.rollback) &&
    view.units.every(
      (unit) => unit.id === input.unit || unit.state === "idle" || unit.state === "completed" || unit.state === null,
    );
  const rollout = ends ? yield* run.unitRollout() : undefined;
  const initial = createUpgradeState({
    app: input.app,
    unit: input.unit,
    substrate: input.substrate,
    dependencies: input.dependencies,
    view,
    ...(input.settings !== undefined ? { settings: input.settings } : {}),
    charm: input.charm ?? null,
    workloadVersion: input.workloadVersion ?? null,
    ...(input.workloadKey !== undefined ? { workloadKey: input.workloadKey } : {}),
    observed: readObservation(input.observed ?? null),
    resource: input.resource ?? null,
    noDowngrade: input.noDowngrade ?? null,
    ...(rollout === undefined
      ? {}
      : { rolloutPending: rollout !== null && "pending" in rollout ? rollout.pending : null }),
  });
  let state = initial;
  // Juju replaced the charm without upgrade-charm (LP#2068500): the unit takes it first, as if Juju had sent it when
  // it replaced the charm — before the events of this hook, which run on the new charm (see `missedUpgradeCharm`).
  const recorded = input.databags?.units[`${input.app}/${input.unit}`]?.[KEYS.charm];
  if (missedUpgradeCharm(recorded, input.charm, [input.event, ...memory.deferred])) {
    run.log(
      "WARNING",
      `Juju replaced this unit's charm (${recorded} -> ${input.charm}) without upgrade-charm (LP#2068500): handled as upgrade-charm`,
    );
    state = yield* run.handle(state, "upgradeCharm");
  }
  // Deferred events are older, so they normally go first. Two exceptions: relation-created must write the unit's
  // first state before anything replays on top of it, and an operator's action (pre-upgrade-check) is what a
  // deferred upgrade-charm waits for, so it replays right after it, in the same hook.
  const currentFirst = input.event === "relationCreated" || input.inAction;
  if (!currentFirst) for (const type of memory.deferred) state = yield* run.handle(state, type);
  state = yield* run.handle(state, input.event);
  if (currentFirst) for (const type of memory.deferred) state = yield* run.handle(state, type);
  return run.outcome(memory, dropped !== null, initial, run.abandoned ? initial : state);
}

/** The mutable bookkeeping of one hook (never shared: one per {@link hookSession}). */
class HookRun {
  private readonly input: HookInput;
  private readonly me: string;
  private readonly reduce: Reducer;
  /** What was read, and what this hook wants the two databags it may write to be. */
  private readonly read: {
    readonly unit: Readonly<Record<string, string>>;
    readonly app: Readonly<Record<string, string>>;
  };
  private readonly wanted: { unit: Record<string, string>; app: Record<string, string> };
  private status: KnownStatus | null = null;
  private problemStatus = false;
  /**
   * Whether this hook found invalid data in this unit's own databag: the memory then keeps no copy of it, and the next
   * hook reads the databag anew (see `HookMemory.own`), so a copy never outlives the value it was taken from.
   */
  private ownBagInvalid = false;
  private appStatus: KnownStatus | null = null;
  private readonly called = new Set<CharmCall["type"]>();
  private readonly said = new Set<string>();
  private readonly logs: LogLine[] = [];
  /** The log lines that explain a decision (`why: …`): left out when the unit's status says the same words. */
  private readonly reasons = new Set<string>();
  private results: Record<string, string> | null = null;
  private failure: string | null = null;
  private readonly deferred: DeferrableEventType[] = [];
  private readonly effects: Effect[] = [];
  /** Partition moves answered in this hook, by partition: one call each (a failed one is not tried again). */
  private readonly partitions = new Map<number, CharmAnswer>();
  /** The action failed on a partition move: nothing of this hook is committed (see {@link hookSession}). */
  abandoned = false;

  constructor(input: HookInput) {
    this.input = input;
    this.me = `${input.app}/${input.unit}`;
    this.reduce = input.reduce ?? reduce;
    const own = input.databags?.units[this.me] ?? {};
    const app = input.databags?.app ?? {};
    this.read = { unit: own, app };
    this.wanted = { unit: { ...own }, app: { ...app } };
  }

  /** The peer view as this hook now sees it (what was read plus this hook's writes); `null` without a relation. */
  view(): PeerView | null {
    const raw = this.input.databags;
    if (!raw) return null;
    return readPeerView({
      leader: raw.leader,
      units: { ...raw.units, [this.me]: this.wanted.unit },
      app: this.wanted.app,
    });
  }

  log(level: LogLine["level"], message: string): void {
    const key = `${level} ${message}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    this.logs.push({ level, message });
  }

  /** Reduce a hook or action event (with the current view) and everything that follows from it. */
  *handle(state: UpgradeState, type: HookEventType): Generator<CharmCall, UpgradeState, CharmAnswer> {
    if (this.abandoned) return state;
    const force = this.input.force ?? { checkCompatibility: true, checkHealth: true };
    const event = (
      type === "forceUpgrade" ? { type, view: this.view(), ...force } : { type, view: this.view() }
    ) as UpgradeEvent;
    return yield* this.step(state, event, type, 0);
  }

  private *step(
    state: UpgradeState,
    event: UpgradeEvent,
    root: HookEventType,
    depth: number,
  ): Generator<CharmCall, UpgradeState, CharmAnswer> {
    const { state: after, effects, judged } = this.reduce(state, event);
    try {
      this.input.inspect?.({ event, before: judged ?? state, after, effects });
    } catch {
      // an observer must never change what the upgrade does
    }
    // The charm's answers are reduced only after every effect of this step is carried out: the effects were
    // computed before the answer, so applying a later one in between (e.g. a stale stack write after the pop
    // that the answer caused) would undo newer data.
    const feedback: UpgradeEvent[] = [];
    for (const effect of effects) {
      this.effects.push(effect);
      const next = yield* this.carryOut(effect, root, depth);
      if (next) feedback.push(next);
    }
    let current = after;
    for (const next of feedback) if (!this.abandoned) current = yield* this.step(current, next, root, depth + 1);
    return current;
  }

  /** Apply one effect; returns the feedback event it produced, if any (at most one per effect). */
  private *carryOut(
    effect: Effect,
    root: HookEventType,
    depth: number,
  ): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    const mayFeedBack = depth < MAX_FEEDBACK_DEPTH;
    switch (effect.type) {
      case "writeUnitData":
        Object.assign(this.wanted.unit, effect.data);
        return null;
      case "writeAppData":
        Object.assign(this.wanted.app, effect.data);
        return null;
      case "setUnitStatus":
        if (!this.problemStatus || effect.status === "blocked") {
          this.status = { status: effect.status, message: clip(effect.message) };
          this.problemStatus = false;
        }
        return null;
      case "setAppStatus":
        this.appStatus = { status: effect.status, message: clip(effect.message) };
        return null;
      case "log":
        this.log(LEVELS[effect.level], effect.message);
        return null;
      case "explain":
        this.log("INFO", `why: ${effect.reason}`);
        this.reasons.add(`why: ${effect.reason}`);
        return null;
      case "reportProblem": {
        const { error } = effect;
        this.log("ERROR", `${error.message} (cause: ${error.cause}; resolution: ${error.resolution})`);
        const where = effect.unit ? `unit ${effect.unit}` : "the application databag";
        this.status = { status: "blocked", message: clip(error.message || `Invalid '${effect.key}' in ${where}`) };
        this.problemStatus = true;
        if (effect.unit === this.me) this.ownBagInvalid = true;
        return null;
      }
      case "actionResult":
        if (!this.input.inAction)
          this.log("WARNING", `action result outside an action: ${JSON.stringify(effect.results)}`);
        else if (this.failure === null) this.results = { ...this.results, ...effect.results };
        return null;
      case "actionFail":
        if (!this.input.inAction) this.log("WARNING", `action failure outside an action: ${effect.message}`);
        else this.fail(effect.message);
        return null;
      case "defer":
        if (
          (DEFERRABLE_EVENTS as readonly string[]).includes(root) &&
          !this.deferred.includes(root as DeferrableEventType)
        ) {
          this.deferred.push(root as DeferrableEventType);
        }
        return null;
      case "logRollbackInstructions":
        yield* this.rollbackInstructions();
        return null;
      case "runPreUpgradeCheck":
        return mayFeedBack ? yield* this.preUpgradeCheck() : null;
      case "grantUpgrade":
        return mayFeedBack ? yield* this.grant() : null;
      case "setPartition":
        return yield* this.setPartition(effect.partition, root, mayFeedBack);
      case "raisePartition":
        return yield* this.raisePartition(effect.partition, root, mayFeedBack);
      case "lowerPartition":
        return yield* this.lowerPartition(effect.partition, root, mayFeedBack);
      default: {
        const unknown: never = effect;
        this.log("WARNING", `unknown effect ignored: ${JSON.stringify(unknown)}`);
        return null;
      }
    }
  }

  private fail(message: string): void {
    if (this.failure !== null) return;
    this.failure = message;
    this.results = null;
  }

  private rollout: UnitRollout | ErrorData | null | undefined;

  /** Kubernetes: where the StatefulSet's rollout stands ({@link UnitRollout}), asked once per hook; `null`: unknown. */
  *unitRollout(): Generator<CharmCall, UnitRollout | ErrorData | null, CharmAnswer> {
    if (this.rollout === undefined)
      this.rollout = unitRolloutOf((yield* this.ask({ type: "unitRollout" })) ?? { ok: true, value: null });
    return this.rollout;
  }

  /** Ask the charm once per hook; `null` when it was already asked in this hook. */
  private *ask(call: CharmCall): Generator<CharmCall, CharmAnswer | null, CharmAnswer> {
    if (this.called.has(call.type)) return null;
    this.called.add(call.type);
    return yield call;
  }

  private *preUpgradeCheck(): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    if (this.called.has("preUpgradeCheck")) return null;
    const { abilities, substrate, app } = this.input;
    const refuse = (error: ErrorData): UpgradeEvent => ({ type: "preUpgradeCheckFailed", error });
    if (substrate === "k8s" && abilities.checkTrust) {
      const trust = trustOf((yield* this.ask({ type: "checkTrust" })) ?? { ok: true, value: { allowed: true } });
      if (!trust.allowed) {
        return refuse({
          kind: "ClusterNotReadyError",
          message: `The charm may not patch its StatefulSet${trust.reason ? ` (${trust.reason})` : ""}. Run: juju trust ${app} --scope=cluster`,
          cause: "the charm is not trusted",
          resolution: `juju trust ${app} --scope=cluster`,
        });
      }
    }
    const checked = yield* this.ask({ type: "preUpgradeCheck" });
    if (checked && !checked.ok) return refuse(checked.error);
    if (substrate === "k8s" && !abilities.setPartition) {
      return refuse({
        kind: "UpgradeError",
        message: "setPartition() is required on Kubernetes: without it every pod would restart at once",
        cause: "the upgrade moves the StatefulSet's rolling-update partition one unit at a time",
        resolution: "pass setPartition (and getPartition) from @charm-upgrade/k8s to createUpgrade",
      });
    }
    if (substrate === "k8s") {
      if (!abilities.unitRollout) return { type: "preUpgradeCheckPassed" };
      // A pod that restarted onto another revision than the StatefulSet's current one before its unit ran
      // upgrade-charm (a `juju refresh` that came after the last roll ended, a refresh back mid-restart) is in no
      // databag yet: the partition must not go above it (verify's `refreshBack` with a leadership change).
      const rollout = yield* this.unitRollout();
      if (rollout !== null && "restarted" in rollout)
        return { type: "preUpgradeCheckPassed", restarted: rollout.restarted };
      const why =
        rollout === null
          ? "the StatefulSet controller has not caught up yet"
          : messageOf(rollout, "unitRollout failed");
      return refuse({
        kind: "ClusterNotReadyError",
        message: `Cannot tell which pods restarted onto another revision (${why}): run pre-upgrade-check again in a moment`,
        cause:
          "a pod restarted before its unit ran upgrade-charm is in no databag, and the partition must not go above it",
        resolution: "run pre-upgrade-check again once the StatefulSet controller has observed the latest spec",
      });
    }
    if (!abilities.buildUpgradeStack) {
      return refuse({
        kind: "UpgradeError",
        message: "buildUpgradeStack() is required on machines",
        cause: "the upgrade order of machine units is the charm's choice",
        resolution: "pass buildUpgradeStack to createUpgrade",
      });
    }
    const built = yield* this.ask({ type: "buildUpgradeStack" });
    if (!built) return null;
    if (!built.ok) return refuse(built.error);
    const stack = built.value;
    if (!Array.isArray(stack)) {
      return refuse({
        kind: "UpgradeError",
        message: `buildUpgradeStack() returned ${JSON.stringify(stack)?.slice(0, 60) ?? String(stack)}, not a list of unit numbers`,
        cause: "the charm's stack builder must list every unit number, the first to upgrade last",
        resolution: "fix the charm's buildUpgradeStack",
      });
    }
    return { type: "preUpgradeCheckPassed", stack: [...stack] as number[] };
  }

  private *grant(): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    // Granted twice in one hook (a replayed event and the current one): once is enough, the next hook asks again.
    const answer = yield* this.ask({ type: "grant" });
    if (!answer) return null;
    const event = grantEvent(answer, this.me);
    if (event instanceof InvalidGrantAnswer) {
      // Neither completed nor failed: a charm bug. Failing the hook is loud and loses nothing; guessing would.
      throw new UpgradeError(
        `onUpgradeGranted() resolved to ${JSON.stringify(event.value)?.slice(0, 100) ?? String(event.value)}`,
        'it must resolve to "completed", "pending", { pending: "<reason>" } or { failed: "<reason>" }',
        "fix the charm's onUpgradeGranted",
      );
    }
    // What the unit runs now that it upgraded, observed (not inferred): recorded with `completed`, in one commit.
    if (event.type === "upgradeCompleted" && this.input.abilities.workloadVersion) {
      const reported = yield* this.ask({ type: "workloadVersion" });
      if (reported?.ok && typeof reported.value === "string") return { ...event, workloadVersion: reported.value };
    }
    return event;
  }

  /**
   * Move the partition: `partitionSet` when the API server holds it (the machine records it only then), or
   * `partitionFailed` (nothing recorded, nobody failed). In an action a failure fails the action instead, and the
   * action changes nothing. Each partition is asked at most once per hook.
   */
  private *setPartition(
    partition: number,
    root: HookEventType,
    mayFeedBack: boolean,
  ): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    const { abilities, substrate } = this.input;
    if (!abilities.setPartition) {
      if (substrate === "k8s") {
        this.log(
          "ERROR",
          `Cannot set the rolling-update partition to ${partition}: no setPartition was given to createUpgrade (plug in the Kubernetes adapter)`,
        );
      }
      return null;
    }
    // Each partition move is its own call (a hook may move it twice: plan, then release the first unit).
    let answer = this.partitions.get(partition);
    if (!answer) {
      answer = yield { type: "setPartition", partition };
      this.partitions.set(partition, answer);
    }
    if (answer.ok) return this.partitionAnswer({ type: "partitionSet", partition }, mayFeedBack);
    return this.partitionFailed(partition, answer.error, root, mayFeedBack);
  }

  /**
   * Raise the partition to `partition` unless the API server holds it or a higher one already (read first, so it is
   * never lowered: a lower value would let pods restart that wait for their turn).
   */
  private *raisePartition(
    partition: number,
    root: HookEventType,
    mayFeedBack: boolean,
  ): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    const { abilities } = this.input;
    if (!abilities.getPartition || !abilities.setPartition) {
      this.log(
        "WARNING",
        `Cannot hold the pods below ${this.me} in case a juju refresh ran without pre-upgrade-check: createUpgrade was given no ${abilities.setPartition ? "getPartition" : "setPartition"} (plug in the Kubernetes adapter)`,
      );
      return null;
    }
    const held = heldPartitionOf(yield { type: "getPartition" });
    if (typeof held !== "number") return this.partitionFailed(partition, held, root, mayFeedBack);
    if (held >= partition) return null;
    // Only the restart of a rollout this pod has not taken (`juju refresh`) is one to hold the others at. A pod evicted
    // while it runs the revision being rolled out, or with no rollout under way, comes back on the revision its
    // ordinal gets: raising the partition over a lower pod that already took a rollout whose end the controller has
    // not recorded yet (its current revision still the old one) would bring that pod back on the old revision the
    // next time it is deleted. Unknown (no answer, or an error) raises, as without the callback: a whole application
    // restarting at once on an unchecked revision is the worse mistake.
    let why = "with no upgrade planned";
    if (abilities.awaitsRollout) {
      const awaits = awaitedRolloutOf((yield* this.ask({ type: "awaitsRollout" })) ?? { ok: true, value: null });
      if (awaits === false) {
        this.log(
          "INFO",
          `${this.me} is stopping with no upgrade planned and no rollout it has not taken (an eviction): the partition stays at ${held}`,
        );
        return null;
      }
      if (awaits === true) why = "for a rollout with no upgrade planned (juju refresh without pre-upgrade-check)";
      else if (awaits !== null)
        this.log(
          "WARNING",
          `Cannot tell whether ${this.me} is stopping for a rollout or an eviction (${messageOf(awaits, "awaitsRollout failed")}): holding the pods below it in case it is a rollout`,
        );
    }
    this.log("INFO", `${this.me} is stopping ${why}: raising the partition from ${held} to ${partition}`);
    return yield* this.setPartition(partition, root, mayFeedBack);
  }

  /**
   * Bring the partition down to `partition`, reading first what the API server holds, so that a partition set outside
   * charm-upgrade is noticed (issue 12.4: raised above the library's by hand, it would hold the pod the roll waits for
   * for ever): above `partition`, it is set (`found` names the one held when it was above the recorded one: raised
   * outside); at or below, what the server holds is recorded and never raised back — a lower one was set outside,
   * and the pods at or above it may already be restarting (raising the partition then strands them, and hangs
   * Juju's agent: LP#2073473). Without `getPartition` it is simply set, as before.
   */
  private *lowerPartition(
    partition: number,
    root: HookEventType,
    mayFeedBack: boolean,
  ): Generator<CharmCall, UpgradeEvent | null, CharmAnswer> {
    if (!this.input.abilities.getPartition) return yield* this.setPartition(partition, root, mayFeedBack);
    const recorded = this.view()?.partition ?? null;
    const held = heldPartitionOf(yield { type: "getPartition" });
    if (typeof held !== "number") return this.partitionFailed(partition, held, root, mayFeedBack);
    if (held <= partition) {
      if (held < partition)
        this.log(
          "WARNING",
          `The StatefulSet partition is ${held}, below the ${partition} charm-upgrade asked for: it was set outside charm-upgrade; not raised back`,
        );
      return this.partitionAnswer(
        { type: "partitionSet", partition: held, ...(held < partition ? { found: held } : {}) },
        mayFeedBack,
      );
    }
    const raised = recorded !== null && held > recorded;
    if (raised)
      this.log(
        "WARNING",
        `The StatefulSet partition is ${held}, above the ${recorded} charm-upgrade set: it was set outside charm-upgrade; setting it to ${partition}`,
      );
    const answer = yield* this.setPartition(partition, root, mayFeedBack);
    return raised && answer?.type === "partitionSet" ? { ...answer, found: held } : answer;
  }

  /** A partition answer as feedback, when the depth allows (else the next hook moves it again: nothing recorded). */
  private partitionAnswer(event: UpgradeEvent, mayFeedBack: boolean): UpgradeEvent | null {
    if (mayFeedBack) return event;
    this.log("WARNING", `partition answer not fed back (too deep in this hook): ${JSON.stringify(event)}`);
    return null;
  }

  private partitionFailed(
    partition: number,
    error: ErrorData,
    root: HookEventType,
    mayFeedBack: boolean,
  ): UpgradeEvent | null {
    if (!this.input.inAction) return this.partitionAnswer({ type: "partitionFailed", partition, error }, mayFeedBack);
    // An action the API server did not follow changes nothing, and says what to do before running it again.
    const report = partitionFailure(this.input.app, partition, error);
    const action =
      root === "preUpgradeCheck" ? "pre-upgrade-check" : root === "resumeUpgrade" ? "resume-upgrade" : "it";
    const outcome =
      root === "preUpgradeCheck"
        ? "nothing was planned"
        : root === "resumeUpgrade"
          ? "the upgrade did not resume"
          : "nothing was changed";
    this.log("ERROR", `Partition not moved to ${partition}: ${report.detail}`);
    this.fail(
      `Could not set the StatefulSet partition to ${partition}, so ${outcome}: ${messageOf(error, "unknown error")}. ${report.fix ? `${report.fix[0]?.toUpperCase()}${report.fix.slice(1)}, then run` : "Run"} ${action} again.`,
    );
    this.abandoned = true;
    return null;
  }

  private *rollbackInstructions(): Generator<CharmCall, void, CharmAnswer> {
    if (this.input.abilities.logRollbackInstructions) {
      const answer = yield* this.ask({ type: "logRollbackInstructions" });
      if (!answer || answer.ok) return;
      this.log(
        "WARNING",
        `logRollbackInstructions() failed (${messageOf(answer.error, "no message")}); logging the standard instructions`,
      );
    } else if (this.called.has("logRollbackInstructions")) {
      return;
    }
    this.called.add("logRollbackInstructions");
    const { app } = this.input;
    const view = this.view();
    const command = view ? rollbackCommand({ app, view }) : `juju refresh ${app} --revision <previous revision>`;
    this.log(
      "WARNING",
      `Upgrade failed. To roll back: 1. Re-run pre-upgrade-check on the leader to enter recovery (juju run ${app}/leader pre-upgrade-check) 2. Run ${command}`,
    );
  }

  /** What the hook leaves behind. */
  outcome(memory: HookMemory, rewrite: boolean, initial: UpgradeState, final: UpgradeState): HookOutcome {
    const changed = (bag: "unit" | "app") => {
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(this.wanted[bag]))
        if ((this.read[bag][key] ?? "") !== value) out[key] = value;
      return out;
    };
    const related = this.input.databags !== null && !this.abandoned;
    const unitWrites = related ? changed("unit") : {};
    const appWrites = related ? changed("app") : {};
    if (this.input.databags === null) {
      const lost = [...Object.keys(changed("unit")), ...Object.keys(changed("app"))];
      if (lost.length) this.log("WARNING", `no peer relation: cannot write ${lost.join(", ")}`);
    }
    const leader = this.input.databags?.leader ?? false;
    // A unit that just became leader cannot know what another leader set since: it sets the app status anew.
    const knownApp = this.input.event === "leaderElected" || !leader ? null : memory.appStatus;
    const same = (a: KnownStatus | null, b: KnownStatus | null) =>
      a !== null && b !== null && a.status === b.status && a.message === b.message;
    // An abandoned action leaves the statuses as they were, and its deferred events deferred.
    const wantedStatus = this.abandoned
      ? null
      : statusPrecedence(this.status, this.problemStatus, this.input.charmStatus ?? null, final.value);
    const wantedApp =
      leader && !this.abandoned ? appStatusPrecedence(this.appStatus, this.input.charmAppStatus ?? null) : null;
    const status = wantedStatus && !same(wantedStatus, memory.status) ? wantedStatus : null;
    const appStatus = wantedApp && !same(wantedApp, knownApp) ? wantedApp : null;
    const deferred = this.abandoned ? [...new Set([...memory.deferred, ...this.deferred])] : this.deferred;
    const forget =
      this.input.databags === null &&
      (this.input.inAction || this.input.event === "leaderElected" || this.input.event === "upgradeCharm");
    const next: HookMemory = {
      deferred,
      status: wantedStatus ?? memory.status,
      appStatus: leader ? (wantedApp ?? knownApp) : null,
      relation: this.input.relationId ?? memory.relation,
      pauseConfig: this.input.pauseConfig ?? memory.pauseConfig,
      // What the unit's own databag holds once this hook is committed (its writes with it, in the same commit): the
      // next hook reads it here (see `HookMemory.own`); whether it leads; the relation's members. Without the
      // relation nothing was read: what was known stays, except after a hook that would have read it anew
      // (leader-elected, upgrade-charm, an action: see the adapter), which forgets it so the next hook asks.
      // A copy of a databag holding invalid data is not kept: the next hook reads it (and reports it) anew.
      ...(this.input.databags !== null
        ? {
            own: this.ownBagInvalid ? null : ownPart({ ...this.read.unit, ...unitWrites }),
            leader: this.input.databags.leader,
          }
        : forget
          ? { own: null, leader: null }
          : { own: memory.own, leader: memory.leader }),
      members: this.input.members !== undefined ? this.input.members : forget ? null : memory.members,
    };
    const encoded = encodeHookMemory(next);
    const memoryChanged = rewrite || encoded !== encodeHookMemory(memory);
    // A hook that changed nothing (no partition move either) logs nothing routine: its reasons were logged when they
    // began to hold.
    const quiet =
      !Object.keys(unitWrites).length &&
      !Object.keys(appWrites).length &&
      !status &&
      !appStatus &&
      !memoryChanged &&
      !this.input.inAction &&
      !this.called.size &&
      !this.partitions.size;
    // Nor is a reason logged that the unit's status gives word for word — alone, or followed by what the unit runs
    // and the rollback command (`unitStatusDuringUpgrade` appends them after " | "): Juju keeps every status set in
    // the unit's status history (`juju show-status-log`), so the line would only cost another `juju-log` call
    // (issue 14). A status that had to shorten the reason (its trailing detail left out) does not tell it whole.
    const told = (line: LogLine) => {
      if (!wantedStatus || line.level !== "INFO" || !this.reasons.has(line.message)) return false;
      const reason = line.message.slice("why: ".length);
      return wantedStatus.message === reason || wantedStatus.message.startsWith(`${reason} | `);
    };
    const logs = this.logs.filter((line) => (quiet ? line.level === "WARNING" || line.level === "ERROR" : !told(line)));
    return {
      unitWrites,
      appWrites,
      status,
      appStatus,
      memory: memoryChanged ? encoded : null,
      logs,
      actionResults: this.failure === null && this.results && Object.keys(this.results).length ? this.results : null,
      actionFailure: this.failure,
      effects: this.effects,
      deferred,
      initial,
      final,
    };
  }
}
