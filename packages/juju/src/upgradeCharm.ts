import { readFileSync } from "node:fs";
import { join } from "node:path";
import type {
  CharmAnswer,
  CharmCall,
  Dependencies,
  Reducer,
  RuntimeObservation,
  Substrate,
  UnitRollout,
  UnitState,
  UpgradeState,
  UpgradeStep,
} from "@charm-upgrade/core";
import { parseDependencies, toErrorData, UpgradeError } from "@charm-upgrade/core";
import type { JujuEnv } from "./hookContext.js";
import { readHookContext } from "./hookContext.js";
import { HookToolError } from "./hookToolError.js";
import type { CharmReport, DispatchResult, HookRequest, ProgramConfig } from "./hookProgram.js";
import { hookProgram } from "./hookProgram.js";
import type { HookToolRunner, SyncHookToolRunner, ToolCall } from "./toolCall.js";
import { callSync } from "./toolCall.js";
import { HookTools } from "./hookTools.js";

/**
 * What the charm's `onUpgradeGranted` reports: its workload is upgraded (`completed`), not yet (`pending`: the
 * grant is repeated at the next hook, so the handler must be idempotent), or it could not be (`failed`, with the
 * reason the operator sees in the blocked status).
 */
export type GrantOutcome = "completed" | "pending" | { readonly pending: string } | { readonly failed: string };

/**
 * A callback's result, now or later: `dispatch` awaits it, `dispatchSync` needs it now. (`onUpgradeGranted` is
 * typed `Promise<GrantOutcome>` only: TypeScript widens `async () => "completed"` to `Promise<string>` against a
 * union with the bare outcome, which would reject every charm's natural code. `dispatchSync` accepts it returning
 * the outcome itself all the same.)
 */
type Maybe<T> = T | Promise<T>;

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
  preUpgradeCheck(): Maybe<void>;
  /**
   * Upgrade this unit's workload now (idempotently), then check its health. Resolve `completed` when it is upgraded
   * and healthy; `{ pending: reason }` (or `pending`) when it is upgraded but its post-upgrade health check does not
   * pass yet — the roll waits, the status says why, and this is asked again at the next hook (the health gate);
   * `{ failed: reason }` when the upgrade failed. A throw counts as failed with the error's message.
   */
  onUpgradeGranted(): Promise<GrantOutcome>;
  /** Log how to roll back; default: the standard two steps, naming the application. */
  logRollbackInstructions?(): Maybe<void>;
  /**
   * Kubernetes (required there): patch the StatefulSet's rolling-update partition, resolving only once the API server
   * holds it (the K8s adapter's `setPartition`). Throw a `KubernetesRequestError` (the K8s adapter's errors are):
   * its `failure` decides what happens — `transient` is retried at the next hook, `forbidden` asks for `juju trust`.
   */
  setPartition?(partition: number): Maybe<void>;
  /**
   * Kubernetes: the partition the API server holds (the K8s adapter's `getPartition`). With it, a pod deleted while no
   * upgrade is planned raises the partition to its own number in its `stop` hook, so that a `juju refresh` made without
   * pre-upgrade-check restarts only the highest unit; without it, such a refresh restarts every pod.
   */
  getPartition?(): Maybe<number>;
  /**
   * Kubernetes: whether a rollout awaits this unit's pod — it was not created from the StatefulSet's update revision —
   * or `null` when that cannot be told (`awaitsRollout(await
   * partitions.readRollout(), unit)` of `@charm-upgrade/k8s`). With it, a pod stopping while no upgrade is planned
   * raises the partition only when its restart is a rollout's (`juju refresh` without pre-upgrade-check), not when
   * it is evicted: raised by an eviction just after a roll, the partition would bring a pod that already restarted
   * back on the old revision the next time it is deleted. Without it (or unknown), every such stop raises it.
   */
  awaitsRollout?(): Maybe<boolean | null>;
  /**
   * Kubernetes: where the StatefulSet's rollout stands for each unit's pod — `restarted`: the units whose pods were
   * not created from its current revision; `pending`: those the rollout still restarts (at or above the partition,
   * not on the update revision) — or `null` when that cannot be told (`unitRollout(await partitions.readRollout())`
   * of `@charm-upgrade/k8s`). A pod can restart before its unit runs any hook, so no databag says this. Asked on the
   * leader only: by pre-upgrade-check, whose partition never goes above a restarted pod (there it would strand it),
   * and while a roll may end, which it does not while a pod is pending. Unknown (`null`, or a throw) fails the check
   * (the operator runs it again) and keeps the roll open until the next hook; without it, both go by what the units
   * recorded.
   */
  unitRollout?(): Maybe<UnitRollout | null>;
  /**
   * Why this unit holds the roll right now (a backup, a scale-out), or `null`: while any unit holds, no unit is
   * granted and the K8s partition does not move. Asked once per hook; the reason shows in the statuses.
   */
  hold?(): Maybe<string | null>;
  /**
   * The workload version this unit runs now (e.g. from the workload's own `--version`), shown in statuses during
   * an upgrade and recorded for every unit to see (`upgrade-running-workload`). Asked at the start of each hook, and
   * again right after `onUpgradeGranted` resolved `completed` (so the version it upgraded to is recorded in the same
   * commit). Default: derived from DEPENDENCIES and the unit's state (see `workloadKey`).
   */
  workloadVersion?(): Maybe<string | null>;
  /**
   * The unit status the charm would show were no upgrade going on (`{ status, message }`; `null`: nothing to say).
   * Give it rather than calling `status-set` yourself: the library then decides which status shows — the upgrade's
   * only while the upgrade needs the operator or this unit is mid-upgrade, the charm's otherwise (so the workload's
   * message is not lost when an upgrade ends, nor hidden by one that does not concern this unit). Asked once per
   * hook; an invalid answer or a throw counts as nothing to say.
   */
  status?(): Maybe<{
    readonly status: "active" | "maintenance" | "waiting" | "blocked";
    readonly message: string;
  } | null>;
  /** The same for the application status (asked on the leader only): shown whenever no upgrade is planned or running. */
  applicationStatus?(): Maybe<{
    readonly status: "active" | "maintenance" | "waiting" | "blocked";
    readonly message: string;
  } | null>;
  /** Which DEPENDENCIES key names the workload; default `workload`, else the first key that does not name the charm. */
  readonly workloadKey?: string | undefined;
  /**
   * What this unit runs, observed outside Juju: on Kubernetes its pod (`podObservation(await
   * partitions.readRollout(), unit, container)` of `@charm-upgrade/k8s`). A unit that says it upgraded but is
   * observed not to run the application's latest definition is named in its status, and the upgrade is not over for
   * it until it does. Asked only while an upgrade is planned or runs; an invalid answer or a throw counts as nothing
   * observed.
   */
  observe?(): Maybe<RuntimeObservation | null>;
  /**
   * Why this unit's workload cannot go back to the version the upgrade started from (its data format moved on), or
   * `null` when it can: recorded in the unit's databag, and a rollback (`juju refresh` back) then stops before this
   * unit. A fixed rule belongs in DEPENDENCIES instead (`downgrade_supported`). Asked only while an upgrade is
   * planned or runs; a throw counts as nothing to say.
   */
  downgradeBlocker?(): Maybe<string | null>;
  /**
   * Kubernetes: the name of the workload's OCI image resource in `charmcraft.yaml` (`resources`, `type:
   * oci-image`, e.g. `postgresql-image`). The leader reads it with `resource-get` at pre-upgrade-check, so that the
   * rollback command brings the old image back (`--resource NAME=IMAGE`): `juju refresh --revision` alone keeps an
   * image the operator uploaded.
   */
  readonly workloadResource?: string | undefined;
  /**
   * This unit's charm as Juju names it (`ch:amd64/jammy/db-381`); default: read from `$JUJU_CHARM_DIR/.juju-charm`.
   * The leader records it at pre-upgrade-check so that statuses give the exact rollback command.
   */
  readonly charm?: string | null | undefined;
  /** Kubernetes: may the charm patch its StatefulSet? Checked first in pre-upgrade-check (the K8s adapter's `canPatch`). */
  checkTrust?(): Maybe<{ readonly allowed: boolean; readonly reason?: string }>;
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
  /**
   * Verification only: the reducer every step runs through (default: the core's `reduce`). The verifier passes a
   * memoised one for speed, and deliberately broken ones to prove its checkers catch bugs in the code that ships.
   */
  readonly reduce?: Reducer | undefined;
}

/** Options on machines: the charm decides the upgrade order. */
export interface VmUpgradeOptions extends CommonUpgradeOptions {
  readonly substrate: "vm";
  /** Every unit number, the last one upgrading first (e.g. the workload's primary at index 0). */
  buildUpgradeStack(): Maybe<readonly number[]>;
}

/** Options on Kubernetes: the order is the StatefulSet's (highest ordinal first), so no stack builder. */
export interface K8sUpgradeOptions extends CommonUpgradeOptions {
  readonly substrate: "k8s";
  /** Patch the StatefulSet's rolling-update partition (see {@link CommonUpgradeOptions.setPartition}): required. */
  setPartition(partition: number): Maybe<void>;
  /** Ignored on Kubernetes: the stack is the sorted unit numbers. */
  buildUpgradeStack?(): Maybe<readonly number[]>;
}

/** Options of {@link createUpgrade}. */
export type UpgradeOptions = VmUpgradeOptions | K8sUpgradeOptions;

/**
 * The rolling-upgrade coordinator of one charm, the successor of the original's `DataUpgrade`: call
 * {@link CharmUpgrade.dispatch} once in every hook and action, and it does the rest — maps the hook onto the
 * protocol, reads the peer relation, runs the charm's callbacks when the protocol asks, and writes the result
 * back with the hook tools.
 *
 * Unlike the original, no charm code ever has to call a handler again: any hook keeps the upgrade moving (the
 * leader pops itself when it completes, a pending upgrade is granted again at the next hook).
 *
 * Where the roll waits for `resume-upgrade` is the charm's config option `pause-after-unit-upgrade` (`none`,
 * `first` — the default, also when the charm does not declare it — or `all`; an invalid value blocks the roll with a
 * message, never throws). The library reads it itself, only in the hooks where it may have changed (config-changed,
 * which Juju runs on every unit after `juju config` before its relation hooks; upgrade-charm; actions), and keeps it
 * in the unit's store for the other hooks: a change takes effect before the next unit, without a `config-get` in
 * every hook.
 *
 * What happens inside a hook is decided by the core's `hookSession`; this class only carries out its requests:
 * hook tools, the charm's callbacks. {@link CharmUpgrade.dispatchSync} runs the very same hook synchronously over
 * an in-memory Juju, which is how the simulator and the verifier exercise the code that ships.
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
  private latest: UpgradeState | null = null;
  private lastIdle = false;

  /**
   * @param options - see {@link UpgradeOptions}
   * @throws `DependencyError` when `dependencies` is invalid; `UpgradeError` when a machine charm has no
   *   `buildUpgradeStack`, or a Kubernetes charm no `setPartition`.
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
    if (options.substrate === "k8s" && typeof options.setPartition !== "function") {
      throw new UpgradeError(
        "setPartition() is required on Kubernetes",
        "without the StatefulSet's rolling-update partition every pod restarts on the new revision at once",
        "pass setPartition (and getPartition) from @charm-upgrade/k8s's createPartitionSetter to createUpgrade",
      );
    }
    const tools = options.tools;
    this.tools = tools instanceof HookTools ? tools : new HookTools(tools);
  }

  private current(): UpgradeState {
    if (!this.latest) {
      throw new UpgradeError(
        "The upgrade state is known only once dispatch() has read the peer relation",
        "state and idle are read from the peer relation at the start of each hook",
        "await upgrade.dispatch() first",
      );
    }
    return this.latest;
  }

  /** This unit's upgrade state (`null`: none written yet), including this hook's changes. */
  get state(): UnitState | null {
    const { context } = this.current();
    return context.view.units.find((unit) => unit.id === context.unit)?.state ?? null;
  }

  /**
   * True when no upgrade is running, so charm code may do disruptive work: every unit is idle (a hook that did not
   * need the other units' databags judges from the application's data: no plan, no rollback, this unit idle).
   */
  get idle(): boolean {
    this.current();
    return this.lastIdle;
  }

  /** True while an upgrade runs (some unit is not idle): the charm should not start a backup, a restore, a scale-out… */
  get inProgress(): boolean {
    return !this.idle;
  }

  /** The upgrade stack as this hook sees it (the last element upgrades next), or `null`. */
  get upgradeStack(): readonly number[] | null {
    return this.current().context.view.stack;
  }

  private program(env: JujuEnv): Generator<HookRequest, DispatchResult, unknown> {
    const { options } = this;
    const config: ProgramConfig = {
      relationName: this.relationName,
      substrate: this.substrate,
      dependencies: this.dependencies,
      workloadKey: options.workloadKey,
      charm: options.charm,
      abilities: {
        checkTrust: typeof options.checkTrust === "function",
        buildUpgradeStack: typeof options.buildUpgradeStack === "function",
        setPartition: typeof options.setPartition === "function",
        getPartition: typeof options.getPartition === "function",
        awaitsRollout: typeof options.awaitsRollout === "function",
        unitRollout: typeof options.unitRollout === "function",
        logRollbackInstructions: typeof options.logRollbackInstructions === "function",
        workloadVersion: typeof options.workloadVersion === "function",
      },
      reportsStatus: typeof options.status === "function" || typeof options.applicationStatus === "function",
      reportsObservation: typeof options.observe === "function",
      reportsNoDowngrade: typeof options.downgradeBlocker === "function",
      workloadResource: options.workloadResource,
      inspect: options.inspect,
      reduce: options.reduce,
    };
    return hookProgram(readHookContext(env), config);
  }

  /**
   * Handle the current hook or action: read the hook context and the peer relation, replay deferred events,
   * reduce the hook's event, run the charm's callbacks when asked, and write the outcome.
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
    const program = this.program(this.options.env ?? process.env);
    const hook = readHookContext(this.options.env ?? process.env);
    let step = program.next();
    while (!step.done) {
      const request = step.value;
      let answer: unknown;
      if (request.kind === "tools") {
        const call = (c: ToolCall<unknown>): Promise<unknown> =>
          request.tolerate ? this.tools.call(c).catch(tolerated) : this.tools.call(c);
        if (request.parallel) answer = await Promise.all(request.calls.map(call));
        else {
          const results: unknown[] = [];
          for (const c of request.calls) results.push(await call(c));
          answer = results;
        }
      } else if (request.kind === "charm") {
        answer = await this.answer(request.call, false);
      } else if (request.kind === "file") {
        // A small file on the unit's disk (an OCI image resource), read synchronously as `.juju-charm` is (see
        // `report`): `node:fs/promises` would cost every hook process its load time.
        answer = readTextSync(request.path);
      } else {
        answer = await this.report(request.what, hook.charmDir, false);
      }
      step = program.next(answer);
    }
    this.latest = step.value.final;
    this.lastIdle = step.value.idle;
    return step.value;
  }

  /**
   * The same hook as {@link CharmUpgrade.dispatch}, driven synchronously: for simulators and verifiers that run
   * many hooks over an in-memory Juju (`InMemoryHookTools.runSync`). Every charm callback must return its result,
   * not a promise.
   *
   * @param port - the hook's environment and the synchronous hook-tool runner
   * @throws `UpgradeError` when a callback returns a promise; what {@link CharmUpgrade.dispatch} throws otherwise.
   */
  dispatchSync(port: { readonly env: JujuEnv; readonly tools: SyncHookToolRunner }): DispatchResult {
    const program = this.program(port.env);
    const hook = readHookContext(port.env);
    let step = program.next();
    while (!step.done) {
      const request = step.value;
      let answer: unknown;
      if (request.kind === "tools") {
        answer = request.calls.map((call) => {
          if (!request.tolerate) return callSync(port.tools, call);
          try {
            return callSync(port.tools, call);
          } catch (error) {
            return tolerated(error);
          }
        });
      } else if (request.kind === "charm") answer = this.answer(request.call, true);
      else if (request.kind === "file") answer = readTextSync(request.path);
      else answer = this.report(request.what, hook.charmDir, true);
      step = program.next(answer);
    }
    this.latest = step.value.final;
    this.lastIdle = step.value.idle;
    return step.value;
  }

  /**
   * The charm's answer to a call of the core: what its callback returned, or what it threw, as data. A hook tool
   * failing inside a callback is Juju's trouble, not the charm's: it fails the hook (Juju retries it).
   * `sync`: the result must be there now (see {@link CharmUpgrade.dispatchSync}).
   */
  private answer(call: CharmCall, sync: boolean): Maybe<CharmAnswer> {
    const { options } = this;
    const failed = (error: unknown): CharmAnswer => {
      if (error instanceof HookToolError) throw error;
      return { ok: false, error: toErrorData(error) };
    };
    let value: Maybe<unknown>;
    try {
      switch (call.type) {
        case "checkTrust":
          value = options.checkTrust?.() ?? { allowed: true };
          break;
        case "preUpgradeCheck":
          value = options.preUpgradeCheck();
          break;
        case "buildUpgradeStack":
          value = options.buildUpgradeStack?.() ?? [];
          break;
        case "grant":
          value = options.onUpgradeGranted();
          break;
        case "setPartition":
          value = options.setPartition?.(call.partition);
          break;
        case "getPartition":
          value = options.getPartition?.();
          break;
        case "awaitsRollout":
          value = options.awaitsRollout?.() ?? null;
          break;
        case "unitRollout":
          value = options.unitRollout?.() ?? null;
          break;
        case "logRollbackInstructions":
          value = options.logRollbackInstructions?.();
          break;
      }
    } catch (error) {
      return failed(error);
    }
    if (!(value instanceof Promise)) return { ok: true, value };
    if (sync) notNow(value, `the charm's ${call.type} callback`);
    return value.then((result): CharmAnswer => ({ ok: true, value: result }), failed);
  }

  /**
   * What the charm reports about itself, for statuses only: a callback that throws (the workload is broken, which
   * is when an upgrade most needs to go on and report) must not fail the hook, so it counts as unknown.
   */
  private report(what: CharmReport, charmDir: string, sync: boolean): Maybe<unknown> {
    const { options } = this;
    let value: Maybe<unknown>;
    try {
      if (what === "hold") value = options.hold?.();
      else if (what === "workloadVersion") value = options.workloadVersion?.();
      // The statuses are validated by the core (`readCharmStatus`): passed on as they are.
      else if (what === "status") value = options.status?.() ?? null;
      else if (what === "applicationStatus") value = options.applicationStatus?.() ?? null;
      // Validated by the core (`readObservation`): passed on as it is.
      else if (what === "observed") value = options.observe?.() ?? null;
      else if (what === "noDowngrade") value = options.downgradeBlocker?.() ?? null;
      // `.juju-charm` as Juju wrote it in the charm directory (`ch:amd64/jammy/db-381`); the core validates it.
      // Read synchronously in `dispatch` too: a few bytes on a local disk, and `node:fs/promises` would cost every
      // hook process about 4 ms of start-up to load (docs/benchmarks.md, cold start).
      else value = readFileSync(join(charmDir, ".juju-charm"), "utf8");
    } catch {
      return null;
    }
    if (!(value instanceof Promise)) return reportedText(what, value);
    if (sync) notNow(value, `the charm's ${what} callback`);
    return value.then(
      (text) => reportedText(what, text),
      () => null,
    );
  }
}

/** A file's text, or `null` when it cannot be read: the answer to a `file` request, in `dispatch` and `dispatchSync`. */
function readTextSync(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** A hook-tool failure the program asked to see rather than to fail the hook on; anything else still throws. */
function tolerated(error: unknown): HookToolError {
  if (error instanceof HookToolError) return error;
  throw error;
}

/** For the synchronous driver: a callback returned a promise, whose result is not there now. */
function notNow(value: Promise<unknown>, what: string): never {
  value.catch(() => {});
  throw new UpgradeError(
    `${what} returned a promise, but dispatchSync() needs its result at once`,
    "dispatchSync drives a hook synchronously over an in-memory Juju (simulators, verifiers)",
    "use dispatch() with asynchronous callbacks, or give dispatchSync callbacks that return their result",
  );
}

/** A report, trimmed and bounded: an empty answer is unknown; a charm name over 200 characters is not one. */
function reportedText(what: CharmReport, value: unknown): unknown {
  if (what === "status" || what === "applicationStatus" || what === "observed") return value;
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (!text.length) return null;
  if (what === "charmUrl") return text.length <= 200 ? text : null;
  return text.slice(0, what === "workloadVersion" ? 40 : 200);
}

/**
 * Create the upgrade coordinator of a charm; call `dispatch()` in every hook and action.
 *
 * @throws `DependencyError` when `dependencies` is invalid (at once, not in the middle of an upgrade); `UpgradeError`
 *   when a machine charm has no `buildUpgradeStack`, or a Kubernetes charm no `setPartition`.
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
