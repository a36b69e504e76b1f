import type {
  CharmAbilities,
  CharmAnswer,
  CharmCall,
  Dependencies,
  Effect,
  HookEventType,
  HookMemory,
  HookOutcome,
  LogLine,
  PeerDatabags,
  Reducer,
  Substrate,
  UnitState,
  UpgradeState,
  UpgradeStep,
} from "@charm-upgrade/core";
import {
  everyUnitIdle,
  hookSession,
  isUnitState,
  KEYS,
  missedUpgradeCharm,
  MEMORY_KEY,
  needsGoalState,
  needsObservation,
  needsPeers,
  readCharmStatus,
  readHookMemory,
} from "@charm-upgrade/core";
import type { HookContext } from "./hookContext.js";
import { readImageResource } from "./imageResource.js";
import type { GoalState, ToolCall } from "./toolCall.js";
import { toolCalls } from "./toolCall.js";

/**
 * What a hook needs from outside while it runs, as data: hook-tool calls (one, or several that may run at once),
 * the charm's callbacks ({@link CharmCall}), and what the charm reports about itself at the start of the hook.
 * The async driver (`dispatch`) carries them out with processes and promises; the synchronous driver
 * (`dispatchSync`) with an in-memory Juju; the hook in between is the same code.
 */
export type HookRequest =
  | {
      readonly kind: "tools";
      readonly calls: readonly ToolCall<unknown>[];
      /** Reads that may run at once; writes run one after the other, in order (log lines keep their order). */
      readonly parallel?: true;
      /** A call that fails answers its `HookToolError` instead of failing the hook. */
      readonly tolerate?: true;
    }
  | { readonly kind: "charm"; readonly call: CharmCall }
  | { readonly kind: "report"; readonly what: CharmReport }
  /** Read a file the hook tools named (`resource-get`'s path): answered with its text, or `null` if unreadable. */
  | { readonly kind: "file"; readonly path: string };

/**
 * What the charm says about itself at the start of a hook: why it holds the roll (`hold`), the workload version
 * it runs (`workloadVersion`), which charm it is (`charmUrl`, from `$JUJU_CHARM_DIR/.juju-charm`), the statuses
 * it would show were no upgrade to say anything (`status`, `applicationStatus`), what it observes it runs
 * (`observed`: on Kubernetes its pod) and why its workload cannot go back (`noDowngrade`).
 */
export type CharmReport =
  | "hold"
  | "workloadVersion"
  | "charmUrl"
  | "status"
  | "applicationStatus"
  | "observed"
  | "noDowngrade";

/** What one hook did: which hook, which event, and where this unit stands after it. */
export interface DispatchResult {
  readonly hook: HookContext;
  /** The core event the hook was mapped onto. */
  readonly event: HookEventType;
  /** This unit's upgrade state after the hook (`null`: none written yet). */
  readonly state: UnitState | null;
  /** Whether every unit is idle (no upgrade in progress), as this hook sees it. */
  readonly idle: boolean;
  /** Every effect of the hook, in order. */
  readonly effects: readonly Effect[];
  /** Event types deferred to the next hook. */
  readonly deferred: readonly HookEventType[];
  /** The unit's upgrade state at the end of the hook (for the `state`/`idle`/`upgradeStack` getters). */
  readonly final: UpgradeState | null;
}

/** What a hook program is configured with: the charm's code and settings (the options of `createUpgrade`). */
export interface ProgramConfig {
  readonly relationName: string;
  readonly substrate: Substrate;
  readonly dependencies: Dependencies;
  readonly workloadKey: string | undefined;
  /** The charm's name as Juju gives it, when the charm passed it (otherwise it is asked for: `charmUrl`). */
  readonly charm: string | null | undefined;
  readonly abilities: CharmAbilities;
  /** The charm gives its own statuses (`status()`, `applicationStatus()`): they show when no upgrade needs to. */
  readonly reportsStatus: boolean;
  /** The charm observes what it runs (`observe()`). */
  readonly reportsObservation: boolean;
  /** The charm says when its workload cannot go back (`downgradeBlocker()`). */
  readonly reportsNoDowngrade: boolean;
  /** Kubernetes: the name of the workload's OCI image resource, read with `resource-get` at pre-upgrade-check. */
  readonly workloadResource: string | undefined;
  readonly inspect: ((step: UpgradeStep) => void) | undefined;
  readonly reduce: Reducer | undefined;
}

/** Map a hook or action onto a core event; any other hook is a `tick`, so the upgrade moves on by itself. */
export function eventOf(hook: HookContext, relationName: string): HookEventType {
  if (hook.kind === "action") {
    if (hook.name === "pre-upgrade-check") return "preUpgradeCheck";
    if (hook.name === "resume-upgrade") return "resumeUpgrade";
    if (hook.name === "force-upgrade") return "forceUpgrade";
    return "tick";
  }
  if (hook.relation?.name === relationName) {
    if (hook.name === `${relationName}-relation-created`) return "relationCreated";
    if (/-relation-(joined|changed|departed)$/.test(hook.name)) return "relationChanged";
  }
  if (hook.name === "upgrade-charm") return "upgradeCharm";
  // Kubernetes runs it when the pod is deleted (see the core's `holdOthersOnStop`); on machines it is a tick.
  if (hook.name === "stop") return "stop";
  if (hook.name === "leader-elected") return "leaderElected";
  return "tick";
}

function* tools<T extends unknown[]>(...calls: { [K in keyof T]: ToolCall<T[K]> }): Generator<HookRequest, T, unknown> {
  return (yield { kind: "tools", calls, parallel: true }) as T;
}

function* report(what: CharmReport): Generator<HookRequest, unknown, unknown> {
  return yield { kind: "report", what };
}

/**
 * One hook of one unit, as the adapter runs it: read what the hook needs with the hook tools, run the core's
 * {@link hookSession} (passing its charm calls out), then write what it decided — each databag, the memory, the
 * log lines, the statuses and the action's outcome, each at most once. Statuses come after the writes: they take
 * effect at once in Juju, whereas relation and state writes are committed only if the hook succeeds, so a failed
 * write cannot leave the memory of a status out of date. The action's outcome comes last (see `write`).
 */
export function* hookProgram(
  hook: HookContext,
  config: ProgramConfig,
): Generator<HookRequest, DispatchResult, unknown> {
  const event = eventOf(hook, config.relationName);
  // A peer-relation hook names its relation; any other hook looks it up (during -broken it may be going away).
  const own =
    hook.relation?.name === config.relationName && !hook.name.endsWith("-relation-broken") ? hook.relation : null;
  let databags: PeerDatabags | null = null;
  let memory: string | null = null;
  let relationId: number | undefined;
  if (own) relationId = own.id;
  else {
    // Any other hook reads the unit's memory first: it knows the peer relation's id once a hook has seen it
    // (relation-created on), so `relation-ids` is asked only before that, or when it is invalid.
    [memory] = yield* tools<[string | null]>(toolCalls.stateGet(MEMORY_KEY));
    relationId =
      readHookMemory(memory).memory.relation ??
      (yield* tools<[number[]]>(toolCalls.relationIds(config.relationName)))[0][0];
  }
  /** This unit's charm (`.juju-charm`), asked once: where the peer relation is known, before its databags are read. */
  let charm: { readonly value: unknown } | null = null;
  /** Juju replaced the charm without upgrade-charm: the session takes one first (see `missedUpgradeCharm`). */
  let missed = false;
  /** The events the hook will reduce: its own, the deferred ones, and an upgrade-charm Juju did not send. */
  const events = () => [event, ...readHookMemory(memory).memory.deferred, ...(missed ? ["upgradeCharm"] : [])];
  /** Whether the other units' databags were read (see `needsPeers`). */
  let peersRead = false;
  /** The peer relation's other members as this hook knows them, to remember (`undefined`: no relation). */
  let members: readonly string[] | null | undefined;
  /** The pause policy's config value as this hook read it (`null`: not read, the memory's is used). */
  let pauseConfig: string | null = null;
  if (relationId === undefined) {
    if (own) [memory] = yield* tools<[string | null]>(toolCalls.stateGet(MEMORY_KEY));
  } else {
    // A relation hook reads its memory with the application's databag; any other hook has read it already. The
    // config is read with them where it may have changed since the unit last read it (see `readsConfig`).
    const fresh = readsConfig(hook);
    const reads: ToolCall<unknown>[] = [
      toolCalls.relationGet(relationId, hook.appName, { app: true }),
      ...(own ? [toolCalls.stateGet(MEMORY_KEY)] : []),
      ...(fresh ? [toolCalls.configGet(PAUSE_CONFIG_KEY)] : []),
    ];
    // What the memory keeps decides what else is read: whether this unit may lead (`asksLeadership`), its own
    // databag (`keptOwnBag`), and the config where the memory has no value for it yet (its first hooks, or a memory
    // written by an older revision: read once). Where the memory is known already, all in one batch.
    const rest = (known: string | null): ToolCall<unknown>[] => {
      const kept = readHookMemory(known).memory;
      return [
        ...(asksLeadership(hook, kept) ? [toolCalls.isLeader()] : []),
        ...(keptOwnBag(hook, relationId, kept) ? [] : [toolCalls.relationGet(relationId, hook.unitName)]),
        ...(!fresh && kept.pauseConfig === null ? [toolCalls.configGet(PAUSE_CONFIG_KEY)] : []),
      ];
    };
    const later = own ? [] : rest(memory);
    const answers = (yield { kind: "tools", calls: [...reads, ...later], parallel: true }) as unknown[];
    const app = answers[0] as Record<string, string>;
    if (own) memory = answers[1] as string | null;
    if (fresh) pauseConfig = configText(answers[reads.length - 1]);
    const more = own ? rest(memory) : later;
    const late = own
      ? more.length
        ? ((yield { kind: "tools", calls: more, parallel: true }) as unknown[])
        : []
      : answers.slice(reads.length);
    const answerOf = (tool: string): unknown => late[more.findIndex((call) => call.tool === tool)];
    const kept = readHookMemory(memory).memory;
    // Not asked: this unit was not the leader in its last hook, and Juju has not run leader-elected since.
    const askedLeader = more.some((call) => call.tool === "is-leader");
    let leader = askedLeader ? (answerOf("is-leader") as boolean) : false;
    const keptBag = keptOwnBag(hook, relationId, kept);
    let ownBag = keptBag ?? (answerOf("relation-get") as Record<string, string>);
    if (more.some((call) => call.tool === "config-get")) pauseConfig = configText(answerOf("config-get"));
    // Juju may replace the charm without upgrade-charm (LP#2068500): the session then takes one first, which reads
    // what an upgrade-charm reads (see `missedUpgradeCharm`).
    charm = { value: config.charm !== undefined ? config.charm : yield* report("charmUrl") };
    const missedBy = (bag: Record<string, string>) => {
      const recorded = bag[KEYS.charm];
      return missedUpgradeCharm(
        typeof recorded === "string" ? recorded : null,
        typeof charm?.value === "string" ? charm.value : null,
        [event, ...kept.deferred],
      );
    };
    missed = missedBy(ownBag);
    // Then what this unit keeps may date from before another charm ran its hooks, as after an upgrade-charm: its own
    // databag and whether it leads are read anew (and the relation's members, below).
    if (missed && (keptBag !== null || !askedLeader)) {
      const again: ToolCall<unknown>[] = [
        ...(askedLeader ? [] : [toolCalls.isLeader()]),
        ...(keptBag !== null ? [toolCalls.relationGet(relationId, hook.unitName)] : []),
      ];
      const anew = (yield { kind: "tools", calls: again, parallel: true }) as unknown[];
      if (!askedLeader) leader = anew[0] as boolean;
      if (keptBag !== null) {
        ownBag = anew.at(-1) as Record<string, string>;
        missed = missedBy(ownBag);
      }
    }
    const ownState = ownBag[KEYS.state];
    peersRead = needsPeers({
      substrate: config.substrate,
      unit: hook.unitNumber,
      leader,
      ownState: isUnitState(ownState) ? ownState : null,
      app,
      events: events(),
      inAction: hook.kind === "action",
    });
    const units: Record<string, Record<string, string>> = { [hook.unitName]: ownBag };
    // The relation's other members: the memory's, brought up to date by this hook, or asked once.
    members = missed ? null : keptMembers(hook, relationId, kept);
    if (peersRead) {
      const met =
        members ??
        (yield* tools<[string[]]>(toolCalls.relationList(relationId)))[0].filter((name) => name !== hook.unitName);
      members = met;
      const number = (name: string) => Number(name.slice(name.lastIndexOf("/") + 1));
      // `relation-list` lists only the units met here: when that may not be all of them, Juju's goal state says
      // which units the application has (a dying one is leaving), and their settings can be read all the same
      // (juju/juju worker/uniter/context/cache.go `Settings`: any unit that has ever been in the relation).
      let unmet: string[] = [];
      if (needsGoalState(app, met.map(number), hook.unitNumber, hook.kind === "action")) {
        const [goal] = yield* tools<[GoalState]>(toolCalls.goalState());
        const known = new Set([hook.unitName, ...met]);
        unmet = Object.entries(goal.units)
          .filter(([name, unit]) => !known.has(name) && unit.status !== "dying" && name.startsWith(`${hook.appName}/`))
          .map(([name]) => name);
      }
      const names = [...met, ...unmet];
      const bags = (yield {
        kind: "tools",
        calls: names.map((name) => toolCalls.relationGet(relationId, name)),
        parallel: true,
        ...(unmet.length ? { tolerate: true } : {}),
      }) as (Record<string, string> | Error)[];
      for (const [i, name] of names.entries()) {
        const bag = bags[i];
        if (!(bag instanceof Error)) units[name] = bag ?? {};
        // A unit of the application not in the relation yet has written nothing; a unit met here must be readable.
        else if (unmet.includes(name)) units[name] = {};
        else throw bag;
      }
    }
    // Without the others' databags, the view is this unit's and the application's data: what it decides with.
    databags = { leader, units, app };
  }
  // force-upgrade names the checks to skip as action parameters (both default to true: skip nothing).
  let force: { checkCompatibility: boolean; checkHealth: boolean } | undefined;
  if (event === "forceUpgrade") {
    const [params] = yield* tools<[Record<string, unknown>]>(toolCalls.actionGet());
    force = {
      checkCompatibility: params["check-compatibility"] !== false,
      checkHealth: params["check-health"] !== false,
    };
  }
  const hold = yield* report("hold");
  const workloadVersion = yield* report("workloadVersion");
  charm ??= { value: config.charm !== undefined ? config.charm : yield* report("charmUrl") };
  const charmStatus = config.reportsStatus ? readCharmStatus(yield* report("status")) : null;
  const charmAppStatus =
    config.reportsStatus && databags?.leader ? readCharmStatus(yield* report("applicationStatus")) : null;
  // What this unit runs and whether its workload can go back: asked only when a decision may use the answer.
  const ownRecorded = databags?.units[hook.unitName]?.[KEYS.state];
  const observing = needsObservation({
    unit: hook.unitNumber,
    leader: databags?.leader ?? false,
    ownState: isUnitState(ownRecorded) ? ownRecorded : null,
    app: databags?.app ?? {},
    events: events(),
    inAction: hook.kind === "action",
  });
  const observed = config.reportsObservation && observing ? yield* report("observed") : null;
  const noDowngrade = config.reportsNoDowngrade && observing ? yield* report("noDowngrade") : null;
  const resource =
    config.workloadResource !== undefined && event === "preUpgradeCheck" && databags?.leader
      ? yield* imageResource(config.workloadResource)
      : null;

  const session = hookSession({
    app: hook.appName,
    unit: hook.unitNumber,
    substrate: config.substrate,
    dependencies: config.dependencies,
    event,
    inAction: hook.kind === "action",
    force,
    databags,
    memory,
    relationId: relationId ?? null,
    members,
    settings: {
      pauseAfterUnitUpgrade: pauseConfig ?? readHookMemory(memory).memory.pauseConfig,
      hold: typeof hold === "string" ? hold : null,
    },
    pauseConfig,
    charm: typeof charm.value === "string" ? charm.value : null,
    workloadVersion: typeof workloadVersion === "string" ? workloadVersion : null,
    workloadKey: config.workloadKey,
    observed,
    resource,
    noDowngrade: typeof noDowngrade === "string" ? noDowngrade : null,
    abilities: config.abilities,
    charmStatus,
    charmAppStatus,
    inspect: config.inspect,
    reduce: config.reduce,
  });
  let step = session.next();
  while (!step.done) {
    const call = step.value;
    // The workload version asked again after a completed grant is the same report as at the start of the hook
    // (bounded, and a callback that throws counts as unknown).
    const answer: CharmAnswer =
      call.type === "workloadVersion"
        ? { ok: true, value: yield* report("workloadVersion") }
        : ((yield { kind: "charm", call }) as CharmAnswer);
    step = session.next(answer);
  }
  const outcome = step.value;
  yield* write(outcome, relationId);
  const { final } = outcome;
  const { context } = final;
  return {
    hook,
    event,
    state: context.view.units.find((unit) => unit.id === context.unit)?.state ?? null,
    // Without the others' databags, "every unit idle" is judged from what is known: no plan and no rollback in the
    // application data, and this unit idle.
    idle:
      everyUnitIdle(context.view) &&
      (peersRead || (context.view.stack === null && context.view.rollback !== true && !context.view.problems.length)),
    effects: outcome.effects,
    deferred: outcome.deferred,
    final,
  };
}

/**
 * The workload's OCI image resource as `NAME=IMAGE`, read with `resource-get` and the file it names (see
 * `readImageResource`), or `null` — logged, for the rollback command then lacks the image (the plan still goes on).
 */
function* imageResource(name: string): Generator<HookRequest, string | null, unknown> {
  const [path] = (yield { kind: "tools", calls: [toolCalls.resourceGet(name)], tolerate: true }) as [string | Error];
  const text = typeof path === "string" ? yield { kind: "file", path } : null;
  const image = typeof text === "string" ? readImageResource(text) : null;
  if (image !== null) return `${name}=${image}`;
  const why =
    path instanceof Error ? path.message.trim() : typeof text === "string" ? "it names no image" : "it is unreadable";
  yield {
    kind: "tools",
    calls: [
      toolCalls.jujuLog(
        "WARNING",
        `Could not read the OCI image resource ${name} (${why}): the rollback command will not name the image to go back to`,
      ),
    ],
  };
  return null;
}

/**
 * This unit's own databag as its memory keeps it (the library's keys: `HookMemory.own`), or `null` where the hook
 * reads it with `relation-get`: no copy kept (the unit's first hooks under this code, a memory written by an older
 * revision or unreadable), a copy of another relation's, and two hooks where a charm other than this one may have
 * written it since this unit's last hook — `upgrade-charm`, which Juju runs first after every change of charm
 * (juju/juju `worker/uniter/resolver.go` `nextOp`: the charm upgrade, then `upgrade-charm`, before any other hook),
 * so a refresh back to the Python library's charm and forward again is seen; and actions, the operator's way to
 * recover (pre-upgrade-check), which read everything anew. Where Juju replaced the charm without upgrade-charm
 * (LP#2068500: `missedUpgradeCharm` on the copy kept), `hookProgram` reads it anew all the same.
 */
function keptOwnBag(hook: HookContext, relationId: number, kept: HookMemory): Record<string, string> | null {
  if (readsAnew(hook)) return null;
  return kept.own !== null && kept.relation === relationId ? { ...kept.own } : null;
}

/**
 * The peer relation's other members as this hook's `relation-list` would print them, from what the memory keeps
 * (`HookMemory.members`): the hook's remote unit taken in from the start of its `-relation-joined` (or `-changed`),
 * and out from the start of its `-relation-departed`, as Juju's hook context does (juju/juju
 * `worker/uniter/runner/context/contextfactory.go` `HookContext`: `RemoveMember`, `InvalidateMember`). `null` where
 * the hook asks `relation-list`: nothing kept, another relation's, and `upgrade-charm` and actions (as for
 * {@link keptOwnBag}: another charm may have run this unit's hooks since).
 */
function keptMembers(hook: HookContext, relationId: number, kept: HookMemory): string[] | null {
  if (readsAnew(hook)) return null;
  if (kept.members === null || kept.relation !== relationId) return null;
  const met = new Set(kept.members);
  const remote = hook.relation?.id === relationId ? hook.relation.remoteUnit : null;
  if (remote !== null && remote !== hook.unitName) {
    if (hook.name.endsWith("-relation-departed")) met.delete(remote);
    else met.add(remote);
  }
  return [...met].sort();
}

/**
 * Whether a hook asks `is-leader`: unless this unit was not the leader in its last hook (`HookMemory.leader`) and
 * Juju has not run `leader-elected` since. A unit that gains leadership runs `leader-elected` next: the uniter's
 * leadership resolver accepts it and queues that hook, which runs before any other (juju/juju
 * `worker/uniter/leadership/resolver.go` `NextOp`, `worker/uniter/operation/leader.go` `acceptLeadership.Commit`);
 * one that loses it runs none (`resignLeadership`: "we should run a leader-deposed hook here, but we can't yet"),
 * hence a unit that led asks in every hook. Until its leader-elected runs, a new leader acts as the follower it was,
 * as while no unit leads. `upgrade-charm` and actions ask always: leader-elected may have run under another charm
 * (the Python library's, in a refresh back and forth), which kept no memory of it.
 */
function asksLeadership(hook: HookContext, kept: HookMemory): boolean {
  if (readsAnew(hook) || hook.name === "leader-elected") return true;
  return kept.leader !== false;
}

/**
 * The hooks that read anew what the memory keeps (its own databag, the members, leadership): `upgrade-charm`, which
 * Juju runs first after every change of charm (another charm, e.g. the Python library's in a refresh back and forth,
 * may have run this unit's hooks since and kept no memory of them), and actions, the operator's way to recover.
 */
function readsAnew(hook: HookContext): boolean {
  return hook.kind === "action" || hook.name === "upgrade-charm";
}

/** The charm config option holding the pause policy (`none`, `first` or `all`; see `readSettings`). */
const PAUSE_CONFIG_KEY = "pause-after-unit-upgrade";

/**
 * Whether a hook reads the pause policy with `config-get` rather than take the one its memory keeps. After
 * `juju config`, Juju runs `config-changed` on every unit before any relation hook (juju/juju
 * `worker/uniter/remotestate/watcher.go` `configChanged` bumps the config version; `worker/uniter/resolver.go`
 * `nextOp` runs `config-changed` while it differs, ahead of `Relations.NextOp`); `upgrade-charm` brings a charm whose
 * `config.yaml` may give the option another default (config-changed follows it, `worker/uniter/operation/runhook.go`
 * `Commit`, but upgrade-charm decides first); and actions run before both (`resolver.go` `NextOp`: `Actions.NextOp`
 * comes first), so `juju config` followed by `juju run … resume-upgrade` must not act on the old value.
 */
function readsConfig(hook: HookContext): boolean {
  return hook.kind === "action" || hook.name === "config-changed" || hook.name === "upgrade-charm";
}

/**
 * A config value as the memory keeps it: text (`""`: unset — an option with no value and no default, or no such
 * option); Juju's other option types (int, float, boolean) as their text, which `readSettings` reports as invalid.
 */
function configText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return (typeof value === "string" ? value : String(value)).slice(0, 200);
}

/**
 * The hook's log lines as `juju-log` calls: consecutive lines of one level in one call, a line each (each call is a
 * process talking to the unit agent; issue 14). Juju logs the message as given, newlines included (juju/juju
 * `worker/uniter/runner/jujuc/juju-log.go` `Run`: the words joined by spaces, logged at the level asked), so
 * `juju debug-log` shows the same lines, in the same order.
 */
function logCalls(lines: readonly LogLine[]): LogLine[] {
  const calls: LogLine[] = [];
  for (const line of lines) {
    const last = calls.at(-1);
    if (last && last.level === line.level)
      calls[calls.length - 1] = { level: last.level, message: `${last.message}\n${line.message}` };
    else calls.push(line);
  }
  return calls;
}

/** Write what the hook decided; one call per thing that changed. */
function* write(outcome: HookOutcome, relationId: number | undefined): Generator<HookRequest, void, unknown> {
  const calls: ToolCall<unknown>[] = [];
  if (relationId !== undefined) {
    if (Object.keys(outcome.unitWrites).length) calls.push(toolCalls.relationSet(relationId, outcome.unitWrites));
    if (Object.keys(outcome.appWrites).length)
      calls.push(toolCalls.relationSet(relationId, outcome.appWrites, { app: true }));
  }
  if (outcome.memory !== null) calls.push(toolCalls.stateSet(MEMORY_KEY, outcome.memory));
  for (const line of logCalls(outcome.logs)) calls.push(toolCalls.jujuLog(line.level, line.message));
  if (calls.length) yield { kind: "tools", calls };
  // Statuses next, one after the other (see hookProgram).
  if (outcome.status)
    yield { kind: "tools", calls: [toolCalls.statusSet(outcome.status.status, outcome.status.message)] };
  if (outcome.appStatus)
    yield {
      kind: "tools",
      calls: [toolCalls.statusSet(outcome.appStatus.status, outcome.appStatus.message, { application: true })],
    };
  // The action's outcome last: Juju reports an action's results even when its hook then fails and its writes are
  // discarded (worker/uniter/runner/context/context.go `Flush` -> `finalizeAction`), so "Pre-upgrade check passed"
  // is said only once every other call of the hook succeeded (issue 12.7). The commit itself comes after the hook;
  // if Juju refuses it, the action fails with "committing requested changes failed".
  if (outcome.actionFailure !== null) yield { kind: "tools", calls: [toolCalls.actionFail(outcome.actionFailure)] };
  else if (outcome.actionResults) yield { kind: "tools", calls: [toolCalls.actionSet(outcome.actionResults)] };
}
