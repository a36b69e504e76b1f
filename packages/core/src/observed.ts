import * as v from "valibot";
import type { UpgradeContext } from "./upgradeContext.js";
import type { UnitState } from "./unitState.js";
import { CHARM_PATTERN } from "./peerView.js";
import { onRollTarget, runsOrigin, unitName } from "./protocol.js";

/**
 * What a unit runs, as observed from outside the peer relation at the start of a hook — neutral data an adapter
 * fills from whatever the substrate offers (on Kubernetes: the unit's pod, from the StatefulSet; on machines there
 * is usually nothing to say beyond the charm and the workload version the charm reports). The recorded state says
 * what a unit did; this says what it runs.
 */
export interface RuntimeObservation {
  /**
   * Whether the unit runs the application's latest definition (Kubernetes: its pod was created from the
   * StatefulSet's update revision, as its controller has observed it); `false` when it runs an older one; `null`
   * when not known.
   */
  readonly latest: boolean | null;
  /** The definition it runs, for messages (Kubernetes: the pod's controller revision); `null` when not known. */
  readonly revision: string | null;
  /** The workload image it runs (Kubernetes: the workload container's image), for messages; `null` when not known. */
  readonly image: string | null;
}

/** Printable ASCII without spaces, as revisions and image references are. */
const Text = v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,255}$/));

const ObservationSchema = v.object({
  latest: v.optional(v.nullable(v.boolean()), null),
  revision: v.optional(v.nullable(Text), null),
  image: v.optional(v.nullable(Text), null),
});

/**
 * A {@link RuntimeObservation} from what an adapter (or a charm's callback) gave, validated: anything else is
 * `null` (nothing observed) — an observation is the charm's code answering; a wrong answer must not fail the hook.
 */
export function readObservation(value: unknown): RuntimeObservation | null {
  const parsed = v.safeParse(ObservationSchema, value);
  return parsed.success ? parsed.output : null;
}

/** States in which a unit has upgraded its workload (or is upgrading it) in a forward roll. */
const UPGRADED: ReadonlySet<UnitState | null> = new Set<UnitState | null>(["upgrading", "completed"]);

/** True during a roll going forward: a plan or its origin is recorded and no rollback runs. */
function rollingForward(context: UpgradeContext): boolean {
  const { view } = context;
  return view.rollback !== true && (view.stack !== null || Boolean(view.fromCharm));
}

/**
 * Why what unit `id` is observed to run disagrees with the state it recorded, in words an operator can act on, or
 * `null` when nothing observed says otherwise. Only while a roll goes forward (in a rollback, a unit's state may date
 * from the attempt being rolled back). For any unit, from the peer data: it says it upgraded (`upgrading`,
 * `completed`) but runs the charm the roll leaves (Juju refreshed its charm without `upgrade-charm`, LP#2068500, or
 * recreated it on the old revision). For this unit, from its own observations, taken when it was in the state its
 * databag recorded at the start of the hook (`context.observedAs`): it says it upgraded but runs an older definition
 * than the application's latest (Kubernetes: its pod is not on the update revision), or it completed but its
 * workload reports the version the roll started from, where this revision installs another.
 */
export function observedMismatch(context: UpgradeContext, id: number): string | null {
  if (!rollingForward(context)) return null;
  const { view } = context;
  const name = unitName(context, id);
  const unit = view.units.find((u) => u.id === id);
  // A unit on a third charm (neither the roll's origin nor its target) is a refused refresh: `thirdCharmBlocker`
  // names it and the commands that end it.
  if (unit && UPGRADED.has(unit.state) && onRollTarget(view, id) === false && runsOrigin(view, id)) {
    const revision = unit.charm ? /-(\d{1,9})$/.exec(unit.charm)?.[1] : undefined;
    return `${name} says ${unit.state} but runs ${revision ? `charm ${revision}` : unit.charm}, the one the upgrade leaves`;
  }
  if (id !== context.unit) return null;
  const state = context.observedAs;
  const observed = context.observed;
  if (UPGRADED.has(state) && observed?.latest === false) {
    const revision = observed.revision ? ` (${observed.revision})` : "";
    return `${name} says ${state} but is not on the application's latest revision${revision}`;
  }
  const key = context.workloadKey;
  const reported = context.workloadVersion;
  if (state === "completed" && key !== null && reported !== null) {
    const before = view.dependencies?.[key]?.version ?? null;
    const installs = context.dependencies[key]?.version ?? null;
    if (before !== null && installs !== null && before !== installs && reported === before)
      return `${name} completed but its workload reports ${reported}, not ${installs}`;
  }
  return null;
}

/**
 * Whether this unit's workload moved on while its record says it never upgraded: it recorded `idle` or `ready` when
 * the hook began (`context.observedAs`), it runs the charm the roll came from (`upgrade-from-charm`), and the charm
 * reports (`workloadVersion()`, at the start of the hook) another workload version than the one that charm installs
 * (its DEPENDENCIES). On machines a hook that fails after its work leaves exactly that: the grant upgraded the
 * workload, then the hook failed, and Juju discarded its writes (`upgrading`, `completed`, the version) and retries it
 * (worker/uniter/operation/runhook.go `Commit` runs only after a hook succeeded; the soak's `crash`). A `juju refresh`
 * back that reaches the unit before a retry commits its upgrade would leave it `idle` on the old charm with the new
 * workload, never rolled back (issues 12, 15): handled as a unit that upgraded — `ready` on the old charm, which the
 * leader rolls back (`rollbackStack`, `readyOffStack`). `false` when the charm reports no version or DEPENDENCIES
 * name none (nothing can be told), and on Kubernetes (a pod's workload is its image: `observed` says which).
 */
export function workloadAhead(context: UpgradeContext): boolean {
  if (context.substrate !== "vm") return false;
  const state = context.observedAs;
  if (state !== "idle" && state !== "ready") return false;
  if (!runsOrigin(context.view, context.unit)) return false;
  return reportsOtherWorkload(context);
}

/**
 * Whether this unit's charm reports (`workloadVersion()`, at the start of the hook) another workload version than the
 * charm it runs installs (its DEPENDENCIES). `false` when the charm reports no version or DEPENDENCIES name none.
 */
function reportsOtherWorkload(context: UpgradeContext): boolean {
  const key = context.workloadKey;
  const reported = context.workloadVersion;
  const installs = key === null ? null : (context.dependencies[key]?.version ?? null);
  return reported !== null && installs !== null && reported !== installs;
}

/**
 * Whether this unit recorded `completed` but is not done: on machines, in a roll going forward, it recorded
 * `completed` when the hook began (`context.observedAs`), it runs the roll's target (`onRollTarget`), and the charm
 * reports another workload version than that charm installs. Its `completed` was for another charm: a unit that
 * completed one revision, got a third by `juju refresh`, whose grant's hook upgraded the workload to the third's then
 * failed (Juju deploys the new charm before `upgrade-charm` runs, juju/juju `worker/uniter/operation/deploy.go`, and
 * writes a hook's relation settings only when it succeeded, `worker/uniter/runner/context/context.go` `Flush`: its
 * record still says `completed` on the first). The leader, which sees only the record, may pop it meanwhile and take
 * the first revision as the roll's target; once the operator refreshes to it, nothing else would ever upgrade the
 * unit again — its `completed` would end the roll with the third revision's workload under the target's charm. It is
 * handled as a unit refreshed again after it completed: `ready` on the charm it runs, which the leader puts back on the
 * stack (`maintainStack`) and grants.
 */
export function completedOnOtherWorkload(context: UpgradeContext): boolean {
  if (context.substrate !== "vm" || context.observedAs !== "completed") return false;
  if (!rollingForward(context) || onRollTarget(context.view, context.unit) !== true) return false;
  return reportsOtherWorkload(context);
}

/**
 * Whether this unit is observed not to run the application's latest definition: the upgrade is not over for it
 * (it keeps its state, and says why) until it does — its recorded state alone would say it is done.
 */
export function runsOlderDefinition(context: UpgradeContext): boolean {
  return context.observed?.latest === false;
}

/**
 * Whether Juju replaced this unit's charm without telling it: the charm it runs now (its `.juju-charm`) is not the
 * one its databag recorded (`KEYS.charm`, written in every hook where it changes), and no `upgrade-charm` is among
 * the hook's events (its own or the deferred ones). On machines Juju does that to a unit whose last hook failed: the
 * failed hook is retried on the new charm and `upgrade-charm` never runs (LP#2068500, canonical/charm-refresh
 * `docs/modules/ROOT/partials/juju-refresh.adoc`, "Machines"), and so does `juju refresh --force-units` on a unit in
 * error (juju/juju `worker/uniter/operation/deploy.go` `Commit`). Unhandled, such a unit stays `idle` on the new
 * charm while the roll waits for it to be `ready`, for ever — or, after a refresh back, stays `ready` or `completed`
 * on the old one. The hook then takes an `upgradeCharm` first, as if Juju had sent it (see `hookSession`): what the
 * unit runs decides, not which hooks it was sent. `false` when either charm is unknown (nothing recorded yet, a unit
 * still on the Python library, which records none): then nothing can be told.
 *
 * @param recorded - the raw `KEYS.charm` value of this unit's own databag as read at the start of the hook
 * @param charm - the charm this unit runs, as Juju names it
 * @param events - the events the hook will reduce: its own and the deferred ones
 */
export function missedUpgradeCharm(
  recorded: string | null | undefined,
  charm: string | null | undefined,
  events: readonly string[],
): boolean {
  if (typeof recorded !== "string" || typeof charm !== "string") return false;
  if (!CHARM_PATTERN.test(recorded) || !CHARM_PATTERN.test(charm) || recorded === charm) return false;
  return !events.includes("upgradeCharm");
}
