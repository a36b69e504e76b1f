import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Dependencies, Effect, PeerDatabags, Substrate, UnitState, UpgradeState } from "@charm-upgrade/core";
import { createUpgradeState, everyUnitIdle, parseDependencies, UpgradeError } from "@charm-upgrade/core";
import type { CharmHandlers, GrantOutcome, HookEventType, UpgradeStep } from "./effectRunner.js";
import { EffectRunner } from "./effectRunner.js";
import type { HookContext, JujuEnv } from "./hookContext.js";
import { readHookContext } from "./hookContext.js";
import type { HookToolRunner } from "./hookTools.js";
import { HookTools } from "./hookTools.js";

/** What every charm gives {@link createUpgrade}, whatever its substrate. */
interface CommonUpgradeOptions {
  /** The peer relation's endpoint name (interface `upgrade` in charmcraft.yaml); default `"upgrade"`. */
  readonly relationName?: string | undefined;
  /**
   * The charm's DEPENDENCIES object (the original's pydantic model, as plain data). Validated at once: an invalid
   * one is a charm bug, reported before any hook does harm.
   */
  readonly dependencies: unknown;
  /** Check the workload can be upgraded; throw a `ClusterNotReadyError` to refuse, with a message for the operator. */
  preUpgradeCheck(): Promise<void>;
  /**
   * Upgrade this unit's workload now (idempotently), then check its health. Resolve `completed` when it is upgraded
   * and healthy; `{ pending: reason }` (or `pending`) when it is upgraded but its post-upgrade health check does not
   * pass yet — the roll waits, the status says why, and this is asked again at the next hook (the health gate);
   * `{ failed: reason }` when the upgrade failed. A throw counts as failed with the error's message.
   */
  onUpgradeGranted(): Promise<GrantOutcome>;
  /** Log how to roll back; default: the standard two steps, naming the application. */
  logRollbackInstructions?(): Promise<void>;
  /** Kubernetes: patch the StatefulSet's rolling-update partition (the K8s adapter provides it). */
  setPartition?(partition: number): Promise<void>;
  /**
   * The value of the charm's config option `pause-after-unit-upgrade` (`none`, `first` — the default — or `all`):
   * where the roll waits for `resume-upgrade`. Read it from the config in every hook (e.g. `config-get`), so a
   * change takes effect before the next unit. An invalid value blocks the roll with a message; it never throws.
   */
  readonly pauseAfterUnitUpgrade?: unknown;
  /**
   * Why this unit holds the roll right now (a backup, a scale-out), or `null`: while any unit holds, no unit is
   * granted and the K8s partition does not move. Asked once per hook; the reason shows in the statuses.
   */
  hold?(): Promise<string | null> | string | null;
  /**
   * The workload version this unit runs now (e.g. from the workload's own `--version`), shown in statuses during
   * an upgrade. Default: derived from DEPENDENCIES and the unit's state (see `workloadKey`).
   */
  workloadVersion?(): Promise<string | null> | string | null;
  /** Which DEPENDENCIES key names the workload; default `workload`, else the first key that does not name the charm. */
  readonly workloadKey?: string | undefined;
  /**
   * This unit's charm as Juju names it (`ch:amd64/jammy/db-381`); default: read from `$JUJU_CHARM_DIR/.juju-charm`.
   * The leader records it at pre-upgrade-check so that statuses give the exact rollback command.
   */
  readonly charm?: string | null | undefined;
  /** Kubernetes: may the charm patch its StatefulSet? Checked first in pre-upgrade-check (the K8s adapter's `canPatch`). */
  checkTrust?(): Promise<{ readonly allowed: boolean; readonly reason?: string }>;
  /** The hook tools, or just a runner for them; default: the real ones, run with `execFile`. */
  readonly tools?: HookTools | HookToolRunner | undefined;
  /** The hook's environment; default `process.env`. */
  readonly env?: JujuEnv | undefined;
  /**
   * Observer of every reducer step (event, state before and after, effects). The core's `reduce` is a pure
   * function with no xstate actor behind it, so xstate's own inspection events do not exist here; this is the
   * same information, step by step.
   */
  readonly inspect?: ((step: UpgradeStep) => void) | undefined;
}

/** Options on machines: the charm decides the upgrade order. */
export interface VmUpgradeOptions extends CommonUpgradeOptions {
  readonly substrate: "vm";
  /** Every unit number, the last one upgrading first (e.g. the workload's primary at index 0). */
  buildUpgradeStack(): Promise<readonly number[]>;
}

/** Options on Kubernetes: the order is the StatefulSet's (highest ordinal first), so no stack builder. */
export interface K8sUpgradeOptions extends CommonUpgradeOptions {
  readonly substrate: "k8s";
  /** Ignored on Kubernetes: the stack is the sorted unit numbers. */
  buildUpgradeStack?(): Promise<readonly number[]>;
}

/** Options of {@link createUpgrade}. */
export type UpgradeOptions = VmUpgradeOptions | K8sUpgradeOptions;

/** What one {@link CharmUpgrade.dispatch} did: which hook, which event, and where this unit stands after it. */
export interface DispatchResult {
  readonly hook: HookContext;
  /** The core event the hook was mapped onto. */
  readonly event: HookEventType;
  /** This unit's upgrade state after the hook (`null`: none written yet). */
  readonly state: UnitState | null;
  /** Whether every unit is idle (no upgrade in progress), as this hook sees it. */
  readonly idle: boolean;
  /** Every effect carried out, in order. */
  readonly effects: readonly Effect[];
  /** Event types deferred to the next hook. */
  readonly deferred: readonly HookEventType[];
}

/** Map a hook or action onto a core event; any other hook is a `tick`, so the upgrade moves on by itself. */
function eventOf(hook: HookContext, relationName: string): HookEventType {
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
  if (hook.name === "leader-elected") return "leaderElected";
  return "tick";
}

/**
 * The rolling-upgrade coordinator of one charm, the successor of the original's `DataUpgrade`: call
 * {@link CharmUpgrade.dispatch} once in every hook and action, and it does the rest — maps the hook onto the
 * protocol, reads the peer relation, runs the charm's callbacks when the protocol asks, and writes the result
 * back with the hook tools.
 *
 * Unlike the original, no charm code ever has to call a handler again: any hook keeps the upgrade moving (the
 * leader pops itself when it completes, a pending upgrade is granted again at the next hook).
 */
export class CharmUpgrade {
  /** The peer relation's endpoint name. */
  readonly relationName: string;
  /** Machines (`vm`: the charm upgrades its workload) or Kubernetes (`k8s`: the StatefulSet restarts pods). */
  readonly substrate: Substrate;
  /** The validated DEPENDENCIES of this charm code. */
  readonly dependencies: Dependencies;
  private readonly options: UpgradeOptions;
  private readonly tools: HookTools;
  private runner: EffectRunner | null = null;
  private initial: UpgradeState | null = null;

  /**
   * @param options - see {@link UpgradeOptions}
   * @throws `DependencyError` when `dependencies` is invalid; `UpgradeError` when a machine charm has no
   *   `buildUpgradeStack`.
   */
  constructor(options: UpgradeOptions) {
    this.options = options;
    this.relationName = options.relationName ?? "upgrade";
    this.substrate = options.substrate;
    this.dependencies = parseDependencies(options.dependencies);
    if (options.substrate === "vm" && typeof options.buildUpgradeStack !== "function") {
      throw new UpgradeError(
        "buildUpgradeStack() is required on machines",
        "on machines the charm decides the upgrade order (e.g. the workload's primary last)",
        "pass buildUpgradeStack to createUpgrade, returning every unit number with the first to upgrade last",
      );
    }
    const tools = options.tools;
    this.tools = tools instanceof HookTools ? tools : new HookTools(tools);
  }

  private current(): UpgradeState {
    const state = this.runner?.latest ?? this.initial;
    if (!state) {
      throw new UpgradeError(
        "The upgrade state is known only once dispatch() has read the peer relation",
        "state and idle are read from the peer relation at the start of each hook",
        "await upgrade.dispatch() first",
      );
    }
    return state;
  }

  /** This unit's upgrade state (`null`: none written yet), including this hook's changes. */
  get state(): UnitState | null {
    const { context } = this.current();
    return context.view.units.find((unit) => unit.id === context.unit)?.state ?? null;
  }

  /** True when every unit is idle: no upgrade is running, so charm code may do disruptive work. */
  get idle(): boolean {
    return everyUnitIdle(this.current().context.view);
  }

  /** True while an upgrade runs (some unit is not idle): the charm should not start a backup, a restore, a scale-out… */
  get inProgress(): boolean {
    return !this.idle;
  }

  /** The upgrade stack as this hook sees it (the last element upgrades next), or `null`. */
  get upgradeStack(): readonly number[] | null {
    return this.current().context.view.stack;
  }

  /**
   * Handle the current hook or action: read the hook context and the peer relation, replay deferred events,
   * reduce the hook's event and carry out the effects.
   *
   * @throws `HookToolError` when a hook tool fails — let it propagate: the hook fails, Juju discards its relation
   *   writes and retries it. `HookContextError` when the environment is not a Juju hook's.
   * @example
   * ```ts
   * const upgrade = createUpgrade({ substrate: "vm", dependencies: DEPENDENCIES, preUpgradeCheck, buildUpgradeStack, onUpgradeGranted });
   * await upgrade.dispatch();
   * if (upgrade.idle) await reconfigure();
   * ```
   */
  async dispatch(): Promise<DispatchResult> {
    const hook = readHookContext(this.options.env ?? process.env);
    const event = eventOf(hook, this.relationName);
    const { tools } = this;

    // A peer-relation hook names its relation; any other hook looks it up (during -broken it may be going away).
    const own = hook.relation?.name === this.relationName && !hook.name.endsWith("-relation-broken") ? hook.relation : null;
    const [relationId] = own ? [own.id] : await tools.relationIds(this.relationName);
    let databags: PeerDatabags | null = null;
    if (relationId !== undefined) {
      const others = await tools.relationList(relationId);
      // Each hook tool is a process in production: read every databag at once rather than one after another.
      const names = [hook.unitName, ...others];
      const [bags, app, leader] = await Promise.all([
        Promise.all(names.map((name) => tools.relationGet(relationId, name))),
        tools.relationGet(relationId, hook.appName, { app: true }),
        tools.isLeader(),
      ]);
      const units: Record<string, Record<string, string>> = {};
      names.forEach((name, i) => {
        units[name] = bags[i] ?? {};
      });
      databags = { leader, units, app };
    }

    const options = this.options;
    const handlers: CharmHandlers = {
      preUpgradeCheck: () => options.preUpgradeCheck(),
      onUpgradeGranted: () => options.onUpgradeGranted(),
      ...(options.buildUpgradeStack ? { buildUpgradeStack: () => options.buildUpgradeStack?.() ?? Promise.resolve([]) } : {}),
      ...(options.logRollbackInstructions ? { logRollbackInstructions: () => options.logRollbackInstructions?.() ?? Promise.resolve() } : {}),
      ...(options.setPartition ? { setPartition: (partition: number) => options.setPartition?.(partition) ?? Promise.resolve() } : {}),
      ...(options.checkTrust ? { checkTrust: () => options.checkTrust?.() ?? Promise.resolve({ allowed: true }) } : {}),
    };
    const runner = new EffectRunner({
      tools,
      handlers,
      substrate: this.substrate,
      unitName: hook.unitName,
      relationId: relationId ?? null,
      databags,
      inAction: hook.kind === "action",
      inspect: options.inspect,
    });
    this.runner = runner;
    let state = createUpgradeState({
      app: hook.appName,
      unit: hook.unitNumber,
      substrate: this.substrate,
      dependencies: this.dependencies,
      view: runner.view(),
      settings: {
        pauseAfterUnitUpgrade: options.pauseAfterUnitUpgrade,
        hold: (await options.hold?.()) ?? null,
      },
      charm: options.charm !== undefined ? options.charm : await readCharmUrl(hook.charmDir),
      workloadVersion: await reportedWorkloadVersion(options),
      ...(options.workloadKey !== undefined ? { workloadKey: options.workloadKey } : {}),
    });
    this.initial = state;

    const deferred = await runner.loadDeferred();
    // Deferred events are older, so they normally go first. Two exceptions: relation-created must write the
    // unit's first state before anything replays on top of it, and an operator's action (pre-upgrade-check) is
    // what a deferred upgrade-charm waits for, so it replays right after it, in the same hook.
    const currentFirst = event === "relationCreated" || hook.kind === "action";
    if (!currentFirst) for (const type of deferred) state = await runner.handle(state, type);
    // force-upgrade names the checks to skip as action parameters (both default to true: skip nothing).
    const params = event === "forceUpgrade" ? await tools.actionGet() : {};
    state = await runner.handle(state, event, params);
    if (currentFirst) for (const type of deferred) state = await runner.handle(state, type);
    await runner.finish();

    return { hook, event, state: this.state, idle: this.idle, effects: [...runner.effects], deferred: [...runner.deferred] };
  }
}

/**
 * Create the upgrade coordinator of a charm; call `dispatch()` in every hook and action.
 *
 * @throws `DependencyError` when `dependencies` is invalid (at once, not in the middle of an upgrade).
 * @example
 * ```ts
 * const upgrade = createUpgrade({
 *   substrate: "vm",
 *   dependencies: { workload: { dependencies: {}, name: "db", upgrade_supported: "^14", version: "14.9" } },
 *   async preUpgradeCheck() { if (!(await healthy())) throw new ClusterNotReadyError("Cluster is not healthy", "replica lag", "wait"); },
 *   async buildUpgradeStack() { return [primary, ...replicas]; },
 *   async onUpgradeGranted() { await installNewWorkload(); return (await healthy()) ? "completed" : { failed: "workload unhealthy after upgrade" }; },
 * });
 * await upgrade.dispatch();
 * ```
 */
export function createUpgrade(options: UpgradeOptions): CharmUpgrade {
  return new CharmUpgrade(options);
}

/**
 * This unit's charm as Juju wrote it in the charm directory (`.juju-charm`: `ch:amd64/jammy/db-381`), or `null` when
 * the file is missing or unreadable (the rollback command then names no revision). The core validates the text.
 */
async function readCharmUrl(charmDir: string): Promise<string | null> {
  try {
    const text = (await readFile(join(charmDir, ".juju-charm"), "utf8")).trim();
    return text.length && text.length <= 200 ? text : null;
  } catch {
    return null;
  }
}

/**
 * The charm's own report of its workload version, for statuses only: a callback that throws (the workload is
 * broken, which is when an upgrade most needs to go on and report) must not fail the hook, so it counts as unknown.
 */
async function reportedWorkloadVersion(options: { workloadVersion?(): Promise<string | null> | string | null }): Promise<string | null> {
  try {
    const version = await options.workloadVersion?.();
    return typeof version === "string" && version.length ? version.slice(0, 40) : null;
  } catch {
    return null;
  }
}
