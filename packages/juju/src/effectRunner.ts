import type {
  Effect,
  ErrorData,
  PeerDatabags,
  PeerView,
  StatusName,
  Substrate,
  UpgradeEvent,
  UpgradeState,
} from "@charm-upgrade/core";
import { ClusterNotReadyError, isUpgradeError, readPeerView, reduce, UpgradeError } from "@charm-upgrade/core";
import * as v from "valibot";
import type { HookTools, JujuLogLevel } from "./hookTools.js";
import { HookToolError } from "./hookTools.js";

/**
 * What the charm's `onUpgradeGranted` reports: its workload is upgraded (`completed`), not yet (`pending`: the
 * grant is repeated at the next hook, so the handler must be idempotent), or it could not be (`failed`, with the
 * reason the operator sees in the blocked status).
 */
export type GrantOutcome = "completed" | "pending" | { readonly pending: string } | { readonly failed: string };

/**
 * The charm's side of the effects: the callbacks the original library made abstract methods. Only
 * `preUpgradeCheck` and `onUpgradeGranted` are always needed; `buildUpgradeStack` on machines; `setPartition`
 * on Kubernetes (the K8s adapter plugs in here).
 */
export interface CharmHandlers {
  /** Refuse the upgrade by throwing (a `ClusterNotReadyError`'s message becomes the action failure). */
  preUpgradeCheck(): Promise<void>;
  /** Machines: every unit number, the last one upgrading first. */
  buildUpgradeStack?(): Promise<readonly number[]>;
  /** Upgrade this unit's workload (idempotently); a throw counts as `failed` with the error's message. */
  onUpgradeGranted(): Promise<GrantOutcome>;
  /** Log how to roll back; default: the standard two steps naming the application. */
  logRollbackInstructions?(): Promise<void>;
  /** Kubernetes: set the StatefulSet's rolling-update partition. */
  setPartition?(partition: number): Promise<void>;
  /**
   * Kubernetes: may this charm patch its StatefulSet (e.g. a SelfSubjectAccessReview)? Asked before the charm's
   * own pre-upgrade check, so an untrusted charm is told to run `juju trust` before anything moves.
   */
  checkTrust?(): Promise<{ readonly allowed: boolean; readonly reason?: string }>;
}

/** One reducer step as it happened, for an inspection observer: the event, the states around it, the effects. */
export interface UpgradeStep {
  readonly event: UpgradeEvent;
  readonly before: UpgradeState;
  readonly after: UpgradeState;
  readonly effects: readonly Effect[];
}

/** The hook events that carry a view and may be deferred to the next hook. */
export type DeferrableEventType = "relationCreated" | "relationChanged" | "tick" | "leaderElected" | "upgradeCharm";

/** The events a Juju hook or action maps onto (the core's other events are the charm's answers). */
export type HookEventType = DeferrableEventType | "preUpgradeCheck" | "resumeUpgrade" | "forceUpgrade";

const DEFERRABLE: readonly DeferrableEventType[] = ["relationCreated", "relationChanged", "tick", "leaderElected", "upgradeCharm"];

/** Key in Juju's per-unit store (`state-set`) under which deferred events wait for the next hook. */
export const DEFERRED_KEY = "charm-upgrade.deferred";

const DeferredSchema = v.pipe(v.string(), v.parseJson(), v.array(v.string()));

/** Options of an {@link EffectRunner}: one per hook. */
export interface EffectRunnerOptions {
  readonly tools: HookTools;
  readonly handlers: CharmHandlers;
  readonly substrate: Substrate;
  /** This unit's name, e.g. `db/0`. */
  readonly unitName: string;
  /** The peer relation's id, or `null` when it does not exist (yet). */
  readonly relationId: number | null;
  /** The peer data as read at the start of the hook (`null` without a relation). */
  readonly databags: PeerDatabags | null;
  /** Whether this hook is an action (action results and failures are only possible there). */
  readonly inAction: boolean;
  /** Observer of every reducer step. */
  readonly inspect?: ((step: UpgradeStep) => void) | undefined;
}

/** A feedback event may itself lead to feedback (a passed check whose partition patch fails); no deeper. */
const MAX_FEEDBACK_DEPTH = 2;

/** Juju shows at most 120 characters of a status. */
const clip = (text: string, max = 120) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const LEVELS: Readonly<Record<Extract<Effect, { type: "log" }>["level"], JujuLogLevel>> = {
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
};

/** An error's message for a status or action failure; never empty (upstream bug 16: `Blocked("")`). */
function messageOf(error: unknown, fallback: string): string {
  if (error instanceof Error) return error.message.trim() || `${fallback} (${error.name})`;
  const text = String(error ?? "").trim();
  return text || fallback;
}

/** A thrown value as the core's {@link ErrorData}: the UpgradeError triple, or a plain error's name and message. */
export function toErrorData(error: unknown): ErrorData {
  if (isUpgradeError(error)) return { kind: error.kind, message: error.message, cause: error.cause, resolution: error.resolution };
  if (error instanceof Error) return { kind: error.name || "Error", message: error.message, cause: "", resolution: "" };
  return { kind: "Error", message: String(error), cause: "", resolution: "" };
}

/**
 * Carries out the core's effects for one hook with the hook tools, and feeds the charm's answers back into the
 * reducer. It owns everything that must be coalesced over the hook:
 *
 * - relation writes: kept as an overlay over what was read (so each event sees this hook's own writes, as Juju's
 *   `relation-get` does) and written at the end of the hook with at most one `relation-set` per databag, only for
 *   keys whose final value differs from what was read. Juju commits relation data only when the hook succeeds, so
 *   no other unit could ever see an intermediate value (`upgrading` before `completed`): writing it would be a
 *   write that changes nothing;
 * - the status: only the hook's last status is set, and only when it differs from the unit's current one; a
 *   blocked status reporting invalid peer data is not overridden by a later non-blocked one;
 * - deferred events: read from and written to Juju's per-unit store under {@link DEFERRED_KEY};
 * - the feedback loop: each charm callback runs at most once per hook, and feedback nests at most
 *   {@link MAX_FEEDBACK_DEPTH} deep, so a hook always ends.
 */
export class EffectRunner {
  private readonly options: EffectRunnerOptions;
  private readonly tools: HookTools;
  private readonly app: string;
  /** What Juju has for this unit's databag and the app databag: as read (plus what was written). */
  private readonly written: { unit: Record<string, string>; app: Record<string, string> };
  /** What this hook wants them to be: `written` plus pending writes. */
  private readonly wanted: { unit: Record<string, string>; app: Record<string, string> };
  private finalStatus: { status: StatusName; message: string } | null = null;
  private problemStatus = false;
  /** The application status the leader's last step asked for (set once, at the end of the hook, if changed). */
  private finalAppStatus: { status: StatusName; message: string } | null = null;
  private readonly called = new Set<"preUpgradeCheck" | "onUpgradeGranted" | "logRollbackInstructions">();
  private readonly said = new Set<string>();
  private actionFailed = false;
  private loadedDeferred: string | null = null;
  /** Event types deferred during this hook, in order, without repeats. */
  readonly deferred: DeferrableEventType[] = [];
  /** Every effect carried out (or skipped) during this hook, in order. */
  readonly effects: Effect[] = [];
  /** The latest state, after the last step. */
  latest: UpgradeState | null = null;

  /** @param options - the hook's tools, charm handlers and what was read at its start. */
  constructor(options: EffectRunnerOptions) {
    this.options = options;
    this.tools = options.tools;
    this.app = options.unitName.slice(0, options.unitName.indexOf("/"));
    const own = options.databags?.units[options.unitName] ?? {};
    const app = options.databags?.app ?? {};
    this.written = { unit: { ...own }, app: { ...app } };
    this.wanted = { unit: { ...own }, app: { ...app } };
  }

  /** The peer view as this hook now sees it (what was read plus this hook's writes); `null` without a relation. */
  view(): PeerView | null {
    const raw = this.options.databags;
    if (!raw) return null;
    return readPeerView({ leader: raw.leader, units: { ...raw.units, [this.options.unitName]: this.wanted.unit }, app: this.wanted.app });
  }

  /**
   * Read the events deferred by earlier hooks (and forget them: one that must wait again is deferred again).
   * Unknown or corrupt entries are dropped with a warning rather than failing every future hook.
   */
  async loadDeferred(): Promise<DeferrableEventType[]> {
    const raw = await this.tools.stateGet(DEFERRED_KEY);
    this.loadedDeferred = raw ?? "[]";
    if (raw === null) return [];
    const parsed = v.safeParse(DeferredSchema, raw);
    if (!parsed.success) {
      await this.log("WARNING", `Ignoring unreadable deferred events in ${DEFERRED_KEY}: ${JSON.stringify(raw.slice(0, 100))}`);
      return [];
    }
    const known = parsed.output.filter((type): type is DeferrableEventType => (DEFERRABLE as readonly string[]).includes(type));
    if (known.length !== parsed.output.length) {
      await this.log("WARNING", `Ignoring unknown deferred events: ${parsed.output.filter((t) => !known.includes(t as DeferrableEventType)).join(", ")}`);
    }
    return [...new Set(known)];
  }

  /** Reduce a Juju hook or action event (with the current view) and carry out everything that follows from it. */
  handle(state: UpgradeState, type: HookEventType, params: Readonly<Record<string, unknown>> = {}): Promise<UpgradeState> {
    const event =
      type === "forceUpgrade"
        ? ({ type, view: this.view(), checkCompatibility: params["check-compatibility"] !== false, checkHealth: params["check-health"] !== false } as UpgradeEvent)
        : ({ type, view: this.view() } as UpgradeEvent);
    return this.step(state, event, type, 0);
  }

  /** End of the hook: flush relation writes, persist deferred events, set the final status (once, if changed). */
  async finish(): Promise<void> {
    await this.flush();
    if (this.loadedDeferred !== null) {
      const next = JSON.stringify(this.deferred);
      if (next !== this.loadedDeferred) {
        await this.tools.stateSet(DEFERRED_KEY, next);
      }
    }
    if (this.finalStatus) {
      const current = await this.tools.statusGet();
      if (current.status !== this.finalStatus.status || current.message !== this.finalStatus.message) {
        await this.tools.statusSet(this.finalStatus.status, this.finalStatus.message);
      }
    }
    if (this.finalAppStatus) {
      const current = await this.tools.statusGet({ application: true });
      if (current.status !== this.finalAppStatus.status || current.message !== this.finalAppStatus.message) {
        await this.tools.statusSet(this.finalAppStatus.status, this.finalAppStatus.message, { application: true });
      }
    }
  }

  private async step(state: UpgradeState, event: UpgradeEvent, root: HookEventType, depth: number): Promise<UpgradeState> {
    const { state: after, effects } = reduce(state, event);
    this.latest = after;
    try {
      this.options.inspect?.({ event, before: state, after, effects });
    } catch {
      // an observer must never change what the upgrade does
    }
    // The charm's answers are reduced only after every effect of this step is carried out: the effects were
    // computed before the answer, so applying a later one in between (e.g. a stale stack write after the pop
    // that the answer caused) would undo newer data.
    const feedback: UpgradeEvent[] = [];
    for (const effect of effects) {
      this.effects.push(effect);
      const next = await this.carryOut(effect, root, depth);
      if (next) feedback.push(next);
    }
    let current = after;
    for (const next of feedback) current = await this.step(current, next, root, depth + 1);
    return current;
  }

  /** Carry out one effect; returns the feedback event it produced, if any (at most one per effect). */
  private async carryOut(effect: Effect, root: HookEventType, depth: number): Promise<UpgradeEvent | null> {
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
          this.finalStatus = { status: effect.status, message: clip(effect.message) };
          this.problemStatus = false;
        }
        return null;
      case "setAppStatus":
        this.finalAppStatus = { status: effect.status, message: clip(effect.message) };
        return null;
      case "log":
        await this.log(LEVELS[effect.level], effect.message);
        return null;
      case "explain":
        await this.log("INFO", `why: ${effect.reason}`);
        return null;
      case "reportProblem": {
        const { error } = effect;
        await this.log("ERROR", `${error.message} (cause: ${error.cause}; resolution: ${error.resolution})`);
        const where = effect.unit ? `unit ${effect.unit}` : "the application databag";
        const text = error.message || `Invalid '${effect.key}' in ${where}`;
        this.finalStatus = { status: "blocked", message: clip(text) };
        this.problemStatus = true;
        return null;
      }
      case "actionResult":
        if (!this.options.inAction) {
          await this.log("WARNING", `action result outside an action: ${JSON.stringify(effect.results)}`);
        } else if (!this.actionFailed) {
          await this.tools.actionSet(effect.results);
        }
        return null;
      case "actionFail":
        if (!this.options.inAction) {
          await this.log("WARNING", `action failure outside an action: ${effect.message}`);
        } else {
          this.actionFailed = true;
          await this.tools.actionFail(effect.message);
        }
        return null;
      case "defer":
        if ((DEFERRABLE as readonly string[]).includes(root) && !this.deferred.includes(root as DeferrableEventType)) {
          this.deferred.push(root as DeferrableEventType);
        }
        return null;
      case "logRollbackInstructions":
        await this.rollbackInstructions();
        return null;
      case "runPreUpgradeCheck":
        return mayFeedBack ? this.preUpgradeCheck() : null;
      case "grantUpgrade":
        return mayFeedBack ? this.grant() : null;
      case "setPartition":
        return this.setPartition(effect.partition, mayFeedBack);
      default: {
        const unknown: never = effect;
        await this.log("WARNING", `unknown effect ignored: ${JSON.stringify(unknown)}`);
        return null;
      }
    }
  }

  /** One `juju-log` line per distinct message per hook (replayed events repeat their explanations). */
  private async log(level: JujuLogLevel, message: string): Promise<void> {
    const key = `${level} ${message}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    await this.tools.jujuLog(level, message);
  }

  /** Write what this hook changed: one `relation-set` per databag, changed keys only. */
  private async flush(): Promise<void> {
    const { relationId } = this.options;
    for (const bag of ["unit", "app"] as const) {
      const changed: Record<string, string> = {};
      for (const [key, value] of Object.entries(this.wanted[bag])) {
        if (this.written[bag][key] !== value) changed[key] = value;
      }
      if (!Object.keys(changed).length) continue;
      if (relationId === null) {
        await this.log("WARNING", `no peer relation: cannot write ${Object.keys(changed).join(", ")}`);
        continue;
      }
      await this.tools.relationSet(relationId, changed, { app: bag === "app" });
      Object.assign(this.written[bag], changed);
    }
  }

  private async preUpgradeCheck(): Promise<UpgradeEvent | null> {
    if (this.called.has("preUpgradeCheck")) return null;
    this.called.add("preUpgradeCheck");
    const { handlers, substrate } = this.options;
    try {
      if (substrate === "k8s" && handlers.checkTrust) {
        const trust = await handlers.checkTrust();
        if (!trust.allowed) {
          const { app } = this;
          throw new ClusterNotReadyError(
            `The charm may not patch its StatefulSet${trust.reason ? ` (${trust.reason})` : ""}. Run: juju trust ${app} --scope=cluster`,
            "the charm is not trusted",
            `juju trust ${app} --scope=cluster`,
          );
        }
      }
      await handlers.preUpgradeCheck();
      if (substrate === "k8s") return { type: "preUpgradeCheckPassed" };
      if (!handlers.buildUpgradeStack) {
        throw new UpgradeError("buildUpgradeStack() is required on machines", "the upgrade order of machine units is the charm's choice", "pass buildUpgradeStack to createUpgrade");
      }
      const stack = await handlers.buildUpgradeStack();
      return { type: "preUpgradeCheckPassed", stack: [...stack] };
    } catch (error) {
      return { type: "preUpgradeCheckFailed", error: toErrorData(error) };
    }
  }

  private async grant(): Promise<UpgradeEvent | null> {
    // Granted twice in one hook (a replayed event and the current one): once is enough, the next hook asks again.
    if (this.called.has("onUpgradeGranted")) return null;
    this.called.add("onUpgradeGranted");
    let outcome: unknown;
    try {
      outcome = await this.options.handlers.onUpgradeGranted();
    } catch (error) {
      // A hook tool failing inside the handler is Juju's trouble, not the workload's: fail the hook, Juju retries.
      if (error instanceof HookToolError) throw error;
      return { type: "upgradeFailed", cause: `Upgrade of ${this.options.unitName} failed: ${messageOf(error, "onUpgradeGranted threw without a message")}` };
    }
    if (outcome === "completed") return { type: "upgradeCompleted" };
    if (outcome === "pending") return { type: "upgradePending", reason: "the charm reports its upgrade is not finished" };
    if (outcome && typeof outcome === "object" && "pending" in outcome) {
      const reason = String((outcome as { pending: unknown }).pending ?? "").trim();
      return { type: "upgradePending", reason: reason || "the charm reports its upgrade is not finished" };
    }
    if (outcome && typeof outcome === "object" && "failed" in outcome) {
      const reason = String((outcome as { failed: unknown }).failed ?? "").trim();
      return { type: "upgradeFailed", cause: reason || `Upgrade of ${this.options.unitName} failed (onUpgradeGranted gave no reason)` };
    }
    // Neither completed nor failed: a charm bug. Failing the hook is loud and loses nothing; guessing would.
    throw new UpgradeError(
      `onUpgradeGranted() resolved to ${JSON.stringify(outcome)}`,
      'it must resolve to "completed", "pending", { pending: "<reason>" } or { failed: "<reason>" }',
      "fix the charm's onUpgradeGranted",
    );
  }

  private async setPartition(partition: number, mayFeedBack: boolean): Promise<UpgradeEvent | null> {
    const { handlers, substrate } = this.options;
    if (!handlers.setPartition) {
      if (substrate === "k8s") {
        await this.log("ERROR", `Cannot set the rolling-update partition to ${partition}: no setPartition was given to createUpgrade (plug in the Kubernetes adapter)`);
      }
      return null;
    }
    try {
      await handlers.setPartition(partition);
      return null;
    } catch (error) {
      if (error instanceof HookToolError) throw error;
      const detail = isUpgradeError(error) ? error.describe() : messageOf(error, "unknown error");
      const cause = `Kubernetes error setting the StatefulSet rolling-update partition to ${partition}: ${detail}`;
      if (this.options.inAction && !this.actionFailed) {
        this.actionFailed = true;
        await this.tools.actionFail(`Cannot set rolling update partition: ${detail}`);
      }
      if (!mayFeedBack) {
        await this.log("ERROR", cause);
        return null;
      }
      return { type: "upgradeFailed", cause };
    }
  }

  private async rollbackInstructions(): Promise<void> {
    if (this.called.has("logRollbackInstructions")) return;
    this.called.add("logRollbackInstructions");
    const custom = this.options.handlers.logRollbackInstructions;
    if (custom) {
      try {
        await custom.call(this.options.handlers);
        return;
      } catch (error) {
        if (error instanceof HookToolError) throw error;
        await this.log("WARNING", `logRollbackInstructions() failed (${messageOf(error, "no message")}); logging the standard instructions`);
      }
    }
    await this.log(
      "WARNING",
      `Upgrade failed. To roll back: 1. Re-run pre-upgrade-check on the leader to enter recovery (juju run ${this.app}/leader pre-upgrade-check) 2. Run juju refresh ${this.app} --revision <previous revision>`,
    );
  }
}
