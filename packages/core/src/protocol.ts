import { checkCompatibility, checkDowngrade } from "./compatibility.js";
import type { CompatibilityReport } from "./compatibility.js";
import type { ErrorData } from "./events.js";
import type { PeerView, UnitView } from "./peerView.js";
import { KEYS } from "./peerView.js";
import type { UpgradeContext } from "./upgradeContext.js";
import type { UnitState } from "./unitState.js";
import { furthestBehind } from "./unitState.js";
import { refreshCommand } from "./rollbackCommand.js";

/**
 * The protocol's decisions as pure functions of an {@link UpgradeContext}. The machine's named guards and actions
 * call these; each decision that stops a unit returns the reason in words an operator can act on.
 *
 * @module
 */

/** `app/3` for unit 3 of the context's application. */
export function unitName(context: UpgradeContext, id: number): string {
  return `${context.app}/${id}`;
}

/** This unit's last written state (`null`: none yet). */
export function ownState(context: UpgradeContext): UnitState | null {
  return context.view.units.find((unit) => unit.id === context.unit)?.state ?? null;
}

/** The view with this unit's state replaced (this unit added if the view lacked it). */
export function withOwnState(view: PeerView, unit: number, state: UnitState | null): PeerView {
  const units = view.units.some((u) => u.id === unit)
    ? view.units.map((u) => (u.id === unit ? { ...u, state } : u))
    : [...view.units, { id: unit, state }].sort((a, b) => a.id - b.id);
  return { ...view, units };
}

/** The original's `cluster_state`: the furthest-behind state of every unit, `null` if any unit has none. */
export function clusterState(view: PeerView): UnitState | null {
  return furthestBehind(view.units.map((unit) => unit.state));
}

/** The original's `idle` (fixed by #87): every unit is idle. */
export function everyUnitIdle(view: PeerView): boolean {
  return view.units.length > 0 && view.units.every((unit) => unit.state === "idle");
}

const UPGRADE_STATES: ReadonlySet<UnitState | null> = new Set<UnitState | null>([
  "ready",
  "upgrading",
  "completed",
  "failed",
  "recovery",
]);

/**
 * The units taking part in the upgrade: those on the stack and those whose state says they are in it. A unit that
 * joined after the plan and sits idle on the new code (it was installed from it) is not one, so it cannot hold the
 * roll back — the original treated it as "furthest behind" and stalled forever (upstream bug 2).
 */
export function participants(view: PeerView): readonly UnitView[] {
  const stacked = new Set(view.stack ?? []);
  return view.units.filter((unit) => stacked.has(unit.id) || UPGRADE_STATES.has(unit.state));
}

/** The furthest-behind state of the participants; `null` when some participant has no state. */
export function rollState(view: PeerView): UnitState | null {
  return furthestBehind(participants(view).map((unit) => unit.state));
}

/** True when a unit has failed and no recovery has started: nothing may progress. */
export function haltedByFailure(view: PeerView): boolean {
  return view.units.some((unit) => unit.state === "failed") && !inRecovery(view) && view.rollback !== true;
}

/**
 * Whether unit `id` runs the charm the roll is going to, from what it observed of itself (`KEYS.charm`): forward,
 * any charm but the one the roll came from (`upgrade-from-charm`); in a rollback, that one. `null` when unknown (no
 * charm recorded, by the unit or at pre-upgrade-check): then the unit's state is all there is to go by, as before.
 * A unit's state says what it did; this says what it runs — a pod restarted on the old revision (LP#2021891), a
 * machine not yet reached by `juju refresh`, a refresh back.
 */
export function onRollTarget(view: PeerView, id: number): boolean | null {
  const from = view.fromCharm ?? null;
  const charm = view.units.find((unit) => unit.id === id)?.charm ?? null;
  if (from === null || charm === null) return null;
  if (view.rollback === true) return charm === from;
  const target = forwardTarget(view);
  return target === null ? charm !== from : charm === target;
}

/**
 * The charm the roll goes forward to: recorded by the leader (`upgrade-to-charm`), else the one charm other than the
 * origin that the units which moved (upgrading or completed) run; `null` while no unit moved (or they disagree).
 * It is the charm of the roll's first upgraded unit: a second `juju refresh` that reaches units before any moved
 * simply becomes the target.
 */
export function forwardTarget(view: PeerView): string | null {
  if (view.toCharm) return view.toCharm;
  const from = view.fromCharm ?? null;
  if (from === null) return null;
  const charms = new Set<string>();
  for (const unit of view.units)
    if ((unit.state === "upgrading" || unit.state === "completed") && unit.charm && unit.charm !== from)
      charms.add(unit.charm);
  return charms.size === 1 ? ([...charms][0] ?? null) : null;
}

/**
 * The units running a third charm: neither the roll's origin (`upgrade-from-charm`) nor its target — `juju refresh`
 * to yet another revision mid-roll. The roll refuses it: no such unit is granted, popped or done, the Kubernetes
 * partition does not move, and the statuses say how to go on (see {@link thirdCharmBlocker}).
 */
export function onThirdCharm(view: PeerView): readonly UnitView[] {
  const from = view.fromCharm ?? null;
  const target = forwardTarget(view);
  if (from === null || target === null) return [];
  return view.units.filter((unit) => unit.charm !== undefined && unit.charm !== from && unit.charm !== target);
}

/**
 * Why the roll refuses to go on while a unit runs a third charm, in words an operator can act on: the refused
 * revision, the command that goes on (refresh to the roll's target), then the roll's revisions and the unit that runs
 * the third one (detail, which a short status drops first). The other way out, back to the origin, is the rollback
 * command every upgrade status already ends with. `null` when no unit runs a third charm.
 */
export function thirdCharmBlocker(context: UpgradeContext): string | null {
  const third = onThirdCharm(context.view)[0];
  const target = forwardTarget(context.view);
  if (!third || target === null) return null;
  const refused = charmName(third.charm ?? "");
  const to = refreshCommand(context.app, target, "new");
  const from = charmName(context.view.fromCharm ?? "");
  return `Refresh to ${refused} refused mid-upgrade. Go on: ${to} (this upgrade: ${from} -> ${charmName(target)}; ${unitName(context, third.id)} runs ${refused})`;
}

/** A charm's short name for statuses: `db-381` for `ch:amd64/jammy/db-381`. */
function charmName(charm: string): string {
  return charm.slice(charm.lastIndexOf("/") + 1) || charm;
}

/** Whether unit `id` recorded that it runs the charm the roll came from (`upgrade-from-charm`); false when unknown. */
export function runsOrigin(view: PeerView, id: number): boolean {
  const charm = view.units.find((unit) => unit.id === id)?.charm;
  return Boolean(view.fromCharm) && charm === view.fromCharm;
}

/**
 * Whether this unit ran, until this hook, another charm than the one the roll came from (`upgrade-from-charm`), as
 * its databag recorded it when the hook began: on machines a unit idle on it joined mid-roll, installed from the new
 * revision, so it runs that revision's workload. False when either charm is not recorded.
 */
export function ranAnotherCharm(context: UpgradeContext): boolean {
  const from = context.view.fromCharm ?? null;
  const before = context.charmBefore ?? null;
  return from !== null && before !== null && before !== from;
}

/**
 * The units that run another charm than the one the application settled on (`KEYS.settledCharm`) while no upgrade is
 * planned or rolling back: `juju refresh` ran before pre-upgrade-check and reached them. Empty when either charm is
 * not recorded (then nothing can be told from it).
 */
export function unplannedCharms(view: PeerView): readonly UnitView[] {
  const settled = view.settledCharm ?? null;
  if (settled === null || view.stack || view.rollback === true) return [];
  return view.units.filter((unit) => unit.charm !== undefined && unit.charm !== settled);
}

/**
 * `juju refresh` back to the charm the roll came from, seen while the roll goes forward: a unit that took part in
 * it (it upgraded, is upgrading, or failed) received the old charm. On machines it is then `ready` again on it; on
 * Kubernetes its pod restarted on it, so it is `upgrading` (or already `completed`) there (a unit that never
 * upgraded goes back to idle on receiving the old charm, and a pod restarted on the charm it ran does not move:
 * LP#2021891). No unit is granted, upgrading or completed on the old charm in a forward roll otherwise. The leader
 * then turns the roll around (see {@link rollbackStack}).
 */
export function refreshedBack(view: PeerView): boolean {
  if (view.rollback === true || !view.fromCharm) return false;
  return view.units.some(
    (unit) =>
      (unit.state === "ready" || unit.state === "upgrading" || unit.state === "completed") &&
      unit.charm === view.fromCharm,
  );
}

/**
 * The stack of a rollback started by a refresh back: the units whose workload may be new (upgrading, completed,
 * failed, or already ready again on the old charm) — units that never upgraded are left alone. Machines: newest
 * first (the reverse of the planned order, `KEYS.plan`), the leader last as in any roll. Kubernetes: highest
 * ordinal first, the only order the StatefulSet knows.
 */
export function rollbackStack(view: PeerView, substrate: "vm" | "k8s", leader: number): readonly number[] {
  const moved = view.units
    .filter(
      (unit) =>
        unit.state === "upgrading" ||
        unit.state === "completed" ||
        unit.state === "failed" ||
        unit.state === "recovery" ||
        (unit.state === "ready" && (unit.charm === undefined || unit.charm === view.fromCharm)) ||
        // A unit on a third charm (a refused `juju refresh` mid-roll restarted its pod) must come back too.
        (Boolean(view.fromCharm) && unit.charm !== undefined && unit.charm !== view.fromCharm),
    )
    .map((unit) => unit.id);
  if (substrate === "k8s") return moved.sort((a, b) => a - b);
  const plan = view.plan ?? [];
  const place = (id: number) => plan.indexOf(id);
  // The last element goes first: the smallest planned position among the upgraded is the newest upgraded.
  const order = moved.sort((a, b) => place(b) - place(a) || b - a);
  return order.includes(leader) ? [leader, ...order.filter((id) => id !== leader)] : order;
}

/**
 * The unit a rollback stopped before, or `null`: the unit on top of the rollback's stack (the next to roll back) runs
 * the charm the rollback returns to, but its workload cannot go back (see {@link downgradeRefusal}), so the rollback
 * goes no further and its status says to refresh forward instead. The leader records it (`KEYS.rollbackStopped`): a
 * unit seen on the origin after the refresh back that is later seen on the roll's target was refreshed forward (see
 * {@link refreshedForward}); before the refresh back reached it, it was on the target anyway, which tells nothing.
 */
export function rollbackStoppedAt(context: UpgradeContext): number | null {
  const { view } = context;
  if (view.rollback !== true) return null;
  const top = topOfStack(view);
  if (top === null || !runsOrigin(view, top)) return null;
  return downgradeRefusal({ ...context, unit: top }) === null ? null : top;
}

/**
 * `juju refresh` forward to the roll's target (`upgrade-to-charm`; when not recorded, any charm but the origin) after a
 * rollback stopped before a unit whose workload cannot go back, as its status says to do: the unit the rollback stopped
 * before (`KEYS.rollbackStopped`, recorded while it ran the origin) now runs the target. The mirror of {@link refreshedBack}: the leader turns the roll forward
 * again (see {@link forwardAgain}) — once the refresh reached every unit the rollback moved: while one is still
 * ready, upgrading or completed on the origin, the roll forward would take that for a refresh back and turn around
 * again (see {@link refreshedBack}), so it waits (Juju brings the new charm to every unit; on Kubernetes those pods
 * are at or above the partition, which restarts them). Only the stopped rollback is told apart: mid-rollback, a unit
 * on the target may simply not have received the origin yet.
 */
export function refreshedForward(view: PeerView): boolean {
  if (view.rollback !== true || !view.fromCharm) return false;
  const stopped = view.units.find((unit) => unit.id === (view.rollbackStopped ?? null));
  // The roll's target when recorded (a third charm stays refused); else (the first unit failed before it was
  // recorded) any charm but the origin.
  const forward = view.toCharm
    ? stopped?.charm === view.toCharm
    : stopped?.charm !== undefined && stopped.charm !== view.fromCharm;
  return forward && !refreshedBack({ ...view, rollback: false });
}

/**
 * The view of a roll turned forward again after a refresh forward ({@link refreshedForward}): no rollback recorded,
 * and a stack of the units whose workload may not run the target — those the rollback took
 * back, those it left alone (they never upgraded), and any still on their way — in the roll's usual order (machines:
 * the planned order, the leader last; Kubernetes: the highest ordinal first), as {@link rebuildStack} rebuilds a
 * roll's stack. A unit that completed on the target is done: the one the rollback stopped before, on Kubernetes,
 * whose pod restarted on the target and completed; on machines it is `ready` on the target, its workload never went
 * back, and its grant runs the charm's upgrade again on it (as `juju refresh` to the same revision would).
 */
export function forwardAgain(view: PeerView, substrate: "vm" | "k8s", leader: number): PeerView {
  const forward: PeerView = { ...view, rollback: false, rollbackPending: [], rollbackStopped: null };
  const stack = rebuildStack(forward, substrate, leader);
  return { ...forward, stack: stack.length ? stack : null };
}

/**
 * Kubernetes, the leader: whether the StatefulSet's rollout still restarts a pod, as the charm read it at the start of
 * the hook (`UpgradeContext.rolloutPending`), or the charm could not tell. The leader then does not end the roll (it
 * keeps its records, and asks again at its next hook): a pod can restart before its unit runs any hook, so the
 * databags may say every unit is done while one is still on its way — a refresh back that met a pod restarting onto
 * the roll's target, whose unit had not run upgrade-charm yet, turned around without it. Ended then, the roll's
 * records are gone when that pod comes back, and a pre-upgrade-check run meanwhile plans on a unit that runs neither
 * charm (verify's `refreshBack` with a leadership change). `false` when the charm cannot tell at all (not asked).
 */
export function rolloutUnfinished(context: UpgradeContext): boolean {
  if (context.substrate !== "k8s" || !context.view.leader || context.rolloutPending === undefined) return false;
  return context.rolloutPending === null || context.rolloutPending.length > 0;
}

/**
 * Kubernetes, a unit that is not the leader: whether it waits for the leader to close the roll (clear its records,
 * `upgrade-from-charm` first) before it returns to idle. The leader closes it in the same hook as it pops the last
 * unit — unless a pod is still to restart ({@link rolloutUnfinished}): a refresh back that came as the roll ended
 * reaches the pods then, and a unit that went idle meanwhile would take it for a unit that never upgraded, its
 * workload left on the new version (verify's `refreshBack` with a leadership change). Staying `completed`, it turns the
 * roll around when its pod restarts on the old charm ({@link refreshedBack}). Rolls without the records (the Python
 * library planned them) are not held.
 */
export function awaitsRollClose(context: UpgradeContext): boolean {
  return context.substrate === "k8s" && !context.view.leader && Boolean(context.view.fromCharm);
}

/** True when the leader has entered recovery (a rollback is being prepared or runs). */
export function inRecovery(view: PeerView): boolean {
  return view.units.some((unit) => unit.state === "recovery");
}

/** The unit on top of the stack (next to upgrade), or `null`. */
export function topOfStack(view: PeerView): number | null {
  return view.stack?.length ? (view.stack[view.stack.length - 1] ?? null) : null;
}

function stateOf(view: PeerView, id: number): UnitState | null | undefined {
  return view.units.find((unit) => unit.id === id)?.state;
}

/** Problems in the peer data that make the stack unsafe to act on. */
function stackProblem(view: PeerView): string | null {
  const problem = view.problems.find((p) => p.unit === null && p.key === "upgrade-stack");
  return problem ? problem.message : null;
}

/**
 * Why this unit (on machines) may not start upgrading now, or `null` when it may: it is on top of the stack, it
 * is `ready`, nobody failed, no other unit is upgrading, and every other unit on the stack is `ready` (the barrier:
 * every unit still to upgrade ran upgrade-charm). The original accepted `completed` as "at least ready", which let
 * a rollback pop a unit that never rolled back.
 */
export function grantBlocker(context: UpgradeContext): string | null {
  const { view } = context;
  const me = unitName(context, context.unit);
  const bad = stackProblem(view);
  if (bad)
    return `the upgrade stack in the application databag is invalid (${bad}); run pre-upgrade-check on the leader to rebuild it`;
  if (context.settings.problem) return context.settings.problem;
  if (ownState(context) !== "ready") return `${me} is ${ownState(context) ?? "without a state"}, not ready`;
  const top = topOfStack(view);
  if (top === null) return "no upgrade is planned: the upgrade stack is empty";
  const others = participants(view).filter((unit) => unit.id !== context.unit);
  const failed = others.find((unit) => unit.state === "failed");
  const recovery = others.find((unit) => unit.state === "recovery");
  if (failed && !recovery && view.rollback !== true) return `${unitName(context, failed.id)} failed its upgrade`;
  if (recovery) return `${unitName(context, recovery.id)} is in recovery; waiting for it to run upgrade-charm`;
  // A refresh to a third charm mid-roll holds every unit until the operator refreshes to the target or back.
  const third = thirdCharmBlocker(context);
  if (third) return third;
  // A unit that is not next waits whatever the others do, so it need not read their databags (needsPeers): it then
  // says only this (the leader, which reads them all, says why the roll is halted).
  if (top !== context.unit) {
    const position = view.stack ? view.stack.length - view.stack.indexOf(context.unit) : 0;
    const place =
      position > 0 ? ` (#${position} in the upgrade order)` : " (not on the upgrade stack yet; the leader adds it)";
    return `${unitName(context, top)} upgrades before ${me}${place}`;
  }
  const refusal = downgradeRefusal(context);
  if (refusal) return refusal;
  if (onRollTarget(view, context.unit) === false) {
    return `${me} runs ${view.units.find((u) => u.id === context.unit)?.charm ?? "another charm"}, not the charm ${view.rollback ? "the rollback returns to" : "the upgrade installs"}: waiting for juju refresh to reach it`;
  }
  const upgrading = others.find((unit) => unit.state === "upgrading");
  if (upgrading) return `${unitName(context, upgrading.id)} is upgrading; one unit upgrades at a time`;
  // The barrier: every other unit still to upgrade has received the new charm. A unit on the stack that says
  // `completed` finished an earlier attempt (its state survives a rollback's stack repair) and must receive the
  // charm again before anyone goes — otherwise it would be popped without being rolled back.
  if (view.rollback === true && view.rollbackPending?.includes(context.unit)) {
    return `waiting for the leader to see ${me} receive the charm again`;
  }
  const stacked = new Set(view.stack ?? []);
  const behind = others.find(
    (unit) => stacked.has(unit.id) && (unit.state !== "ready" || onRollTarget(view, unit.id) === false),
  );
  if (behind) {
    const name = unitName(context, behind.id);
    if (behind.state === null) return `${name} has not written its state yet`;
    if (behind.state === "completed")
      return `waiting for ${name} to receive the charm again (it completed an earlier attempt)`;
    return `waiting for ${name} to receive the ${view.rollback ? "old" : "new"} charm (it is still ${behind.state})`;
  }
  return holdBlocker(context) ?? pauseBlocker(context);
}

/**
 * Why this unit may not roll back, or `null` when it may: a unit whose workload recorded that it cannot go back to the
 * version before the upgrade (its data format moved on: `KEYS.noDowngrade`, from the new revision's
 * `downgrade_supported` or the charm) is not handed to the charm once it received the charm a rollback returns to —
 * the old workload would start on data it cannot read. The rollback stops before it. That is in a rollback, and also
 * in a roll going forward once this unit runs the roll's origin: a `juju refresh` back that reached it before the
 * leader turned the roll around (on Kubernetes its pod restarts at once; verify's `refreshBackPaused` with
 * `noDowngrade` found the old workload started on new data there).
 */
export function downgradeRefusal(context: UpgradeContext): string | null {
  const { view } = context;
  const reason = view.units.find((unit) => unit.id === context.unit)?.noDowngrade;
  if (!reason) return null;
  const back = view.rollback === true ? onRollTarget(view, context.unit) !== false : runsOrigin(view, context.unit);
  if (!back) return null;
  return `${unitName(context, context.unit)} cannot roll back: ${reason}. Refresh forward instead`;
}

/**
 * What this unit records when its workload is about to change (granted, or its pod restarted on the new code):
 * why the workload this code installs cannot go back to the version the upgrade started from (this code's
 * `downgrade_supported` against the stored DEPENDENCIES; else the charm's own word), or `""` when it can.
 */
export function downgradeRecord(context: UpgradeContext): string {
  const stored = context.view.dependencies;
  const rule = stored ? checkDowngrade(stored, context.dependencies) : null;
  const reason = rule ?? context.noDowngrade;
  return reason ? (reason.length > 100 ? `${reason.slice(0, 100)}…` : reason) : "";
}

/** Why the roll is held by a unit's other operation (a backup, a scale-out), or `null`. */
export function holdBlocker(context: UpgradeContext): string | null {
  const holder = context.view.units.find((unit) => unit.hold);
  return holder ? `held by ${unitName(context, holder.id)}: ${holder.hold}` : null;
}

/** How a partition move that failed reads, by what can be done about it (see {@link partitionFailure}). */
export interface PartitionFailure {
  /** `waiting` while it retries by itself (a transient failure), `blocked` while the operator must act. */
  readonly status: "waiting" | "blocked";
  /** For a status: what happened, short, with the next step. */
  readonly message: string;
  /** For the log: the whole error, and what happens next. */
  readonly detail: string;
  /** What the operator does before an action that failed on it is run again (`""`: nothing but run it again). */
  readonly fix: string;
}

/**
 * A partition move the API server did not take (the charm's `setPartition` or `getPartition` threw), in words an
 * operator can act on. Nothing is recorded and no unit fails for it: the leader moves the partition again at its next
 * hook (update-status guarantees one). A transient failure says so and waits; a refusal names `juju trust`; a missing
 * StatefulSet, a configuration problem or a bug blocks with the error and what to fix.
 */
export function partitionFailure(app: string, partition: number, error: ErrorData): PartitionFailure {
  // The API server's address says nothing an operator needs in a status (the log has it).
  const what = (error.message.replace(/ at https?:\/\/\S+/g, "").trim() || `${error.kind} without a message`).replace(
    /\.$/,
    "",
  );
  const cause = error.cause ? ` (cause: ${error.cause})` : "";
  const trust = `juju trust ${app} --scope=cluster`;
  switch (error.failure) {
    case "transient":
      return {
        status: "waiting",
        message: `Partition not moved to ${partition}, retrying on the next hook: ${what}`,
        detail: `${error.message}${cause}; not recorded, retried on the next hook`,
        fix: "",
      };
    case "permission":
      return {
        status: "blocked",
        message: `Not allowed to move the StatefulSet partition: run ${trust}`,
        detail: `${error.message}${cause}; run ${trust} (retried on the next hook)`,
        fix: `run ${trust}`,
      };
    default: {
      const fix = error.resolution || "see the unit log";
      return {
        status: "blocked",
        message: `Cannot move the partition to ${partition}: ${what}; ${fix}`,
        detail: `${error.message}${cause} (resolution: ${fix}); retried on the next hook`,
        fix,
      };
    }
  }
}

/**
 * A partition found set outside charm-upgrade (`kubectl patch`, issue 12.4) when the leader read it back before moving
 * it (`lowerPartition`), and what charm-upgrade did: `found` above `partition`, it set it back to `partition` so that
 * the roll goes on (a partition raised by hand would hold the unit the roll waits for, for ever); `found` at or below
 * `partition`, it recorded `found` and goes on from there, never raising it back (the pods at or above it may already
 * be restarting: raising it then strands them, and hangs Juju's agent, LP#2073473). `status` for the application
 * status, with the next step; `detail` for the log.
 */
export function partitionOutside(
  app: string,
  found: number,
  partition: number,
): { readonly status: string; readonly detail: string } {
  if (found > partition)
    return {
      status: `Partition set to ${found} outside charm-upgrade; set back to ${partition}. To stop the roll, use pause-after-unit-upgrade`,
      detail: `The StatefulSet partition of ${app} was set to ${found} outside charm-upgrade (kubectl patch?), which would hold back ${app}/${partition} for ever; charm-upgrade set it back to ${partition}. To stop an upgrade, set pause-after-unit-upgrade or hold it in the charm, not with the partition`,
    };
  return {
    status: `Partition set to ${found} outside charm-upgrade: pods ${found} and up restart without their turn; not raised back`,
    detail: `The StatefulSet partition of ${app} was set to ${found} outside charm-upgrade (kubectl patch?): every pod from ${app}/${found} up restarts on the new revision without waiting for its turn; charm-upgrade records ${found} and goes on from there, never raising it back (that would strand the restarted pods: LP#2073473)`,
  };
}

/** True while a rollback runs (recorded by recovery), or a unit failed or is in recovery (the roll is halted anyway). */
export function rollingBack(view: PeerView): boolean {
  return view.rollback === true || view.units.some((unit) => unit.state === "recovery" || unit.state === "failed");
}

/**
 * True for a forward roll whose stack the Python library (`charms.data_platform_libs.v0.upgrade`) planned: a stack
 * in the application databag without charm-upgrade's record of the plan (`upgrade-plan`, which every
 * pre-upgrade-check of charm-upgrade writes), no rollback running. This is the first refresh of a charm moving to
 * charm-upgrade: the units that still run the old revision run the Python library, which on Kubernetes moves the
 * partition by its own rules (see {@link pythonCascade}).
 */
export function plannedByPython(view: PeerView): boolean {
  return view.stack !== null && !view.plan && !appKeyInvalid(view, KEYS.plan) && !rollingBack(view);
}

/** What a completed unit does for the partition in a roll the Python library planned (see {@link pythonCascade}). */
export type PythonCascade =
  | { readonly kind: "lower"; readonly partition: number }
  | { readonly kind: "wait"; readonly reason: string }
  | { readonly kind: "released" };

/**
 * Kubernetes, in a roll the Python library planned ({@link plannedByPython}): what this completed unit (not the
 * leader, whose upkeep of the stack moves the partition) does for the partition, as every unit that completed did
 * under the Python library (`_on_upgrade_finished`, L1039–1073, emitted by `set_unit_completed`): its leader, which
 * may still run the Python library, never lowers the partition from relation-changed, so without this the roll
 * stalls after the second unit. The unit lowers the partition to the next unit below it (the Python library took
 * `unit_number - 1`; the next lower unit present is the same without its contiguous-ordinal assumption), once that
 * unit's pod has not restarted yet (it still writes `idle`, or runs another charm); the first unit, the highest,
 * pauses instead until `resume-upgrade` (the Python leader's, accepted once, sets the partition itself; a
 * charm-upgrade leader's records the unit it released), unless `pause-after-unit-upgrade=none`; a hold waits. The
 * lowest unit has nothing below it, and a unit whose next one has restarted is done with it (`released`). `null`:
 * the rule does not apply (another substrate, the leader, a roll charm-upgrade planned, a unit not completed). Evaluated in every hook while the unit is completed
 * (so a hold, or a failed patch, is retried); the partition set is only ever the next unit's, which is at or
 * below the partition any other step of the roll set while that unit has not restarted.
 */
export function pythonCascade(context: UpgradeContext): PythonCascade | null {
  const { view } = context;
  if (context.substrate !== "k8s" || view.leader || !context.related || !plannedByPython(view)) return null;
  if (ownState(context) !== "completed") return null;
  const below = view.units.filter((unit) => unit.id < context.unit);
  const next = below.at(-1);
  if (!next) return { kind: "released" };
  const restarted =
    (next.state !== "idle" && next.state !== null) || (context.charm !== null && next.charm === context.charm);
  if (restarted) return { kind: "released" };
  if (view.partition !== null && view.partition !== undefined && view.partition <= next.id) return { kind: "released" };
  const first = view.units.every((unit) => unit.id <= context.unit);
  if (first && (context.settings.pauseAfter !== "none" || context.settings.problem) && view.resumed !== next.id) {
    return {
      kind: "wait",
      reason: `paused after the first unit: run resume-upgrade on the leader (juju run ${context.app}/leader resume-upgrade)`,
    };
  }
  const held = holdBlocker(context);
  if (held) return { kind: "wait", reason: held };
  return { kind: "lower", partition: next.id };
}

/** How many units have finished their part of this upgrade (participants no longer on the stack). */
export function unitsDone(view: PeerView): number {
  const stacked = new Set(view.stack ?? []);
  return participants(view).filter((unit) => !stacked.has(unit.id)).length;
}

/**
 * Why the roll waits for the operator's `resume-upgrade` before the unit on top of the stack, or `null`. The pause
 * policy (`pause-after-unit-upgrade`) is read at each decision, so changing it mid-roll takes effect before the
 * next unit. `first`: after the first unit; `all`: after every unit; `none`: never. Rollbacks do not pause.
 * Derived from the data (units done, the unit released by `resume-upgrade`), so it is never a one-shot race.
 */
export function pauseBlocker(context: UpgradeContext): string | null {
  const { view } = context;
  const top = topOfStack(view);
  if (top === null || rollingBack(view)) return null;
  const done = unitsDone(view);
  // The first refresh from the Python library on Kubernetes pauses as that library did, once, after the first unit:
  // its leader accepts resume-upgrade only once, and the units that complete release the next (pythonCascade).
  const once = context.substrate === "k8s" && context.settings.pauseAfter === "all" && plannedByPython(view);
  const policy = once ? "first" : context.settings.pauseAfter;
  const pauses = policy === "all" ? done >= 1 : policy === "first" ? done === 1 : false;
  if (!pauses || view.resumed === top) return null;
  return `paused: run resume-upgrade on the leader (pause-after-unit-upgrade=${policy})`;
}

/** True while an upgrade is in progress: some unit is not idle, or a plan is on the stack. For charm code that must not start disruptive work. */
export function upgradeInProgress(view: PeerView): boolean {
  return !everyUnitIdle(view);
}

/** The result of the leader's stack maintenance: the new stack and what was done to it, in words. */
export interface StackUpdate {
  readonly stack: readonly number[];
  readonly changed: boolean;
  /** Unit numbers popped because they completed, in pop order. */
  readonly popped: readonly number[];
  /** Machines, in a rollback: the units still awaiting the charm again (see `PeerView.rollbackPending`). */
  readonly pending: readonly number[];
  /** True when `pending` must be written (it changed, or the stored value was invalid). */
  readonly pendingChanged: boolean;
  readonly notes: readonly string[];
}

/**
 * The leader's stack maintenance, one pure step: drop units that left the application (the original raised
 * KeyError on them), pop *every* completed unit at the top (no recursion, no re-emitted event), and put units that
 * are `ready` but missing from the stack (they joined after the plan, or were refreshed again after they completed)
 * just below the top, lowest number first, so they upgrade before the units the charm placed at the bottom.
 * Kubernetes, in a rollback: a unit that reports the charm the rollback leaves goes back on the stack (a refresh back
 * can meet a pod restarting onto the new revision whose unit still says idle on the old one). Machines, in a
 * rollback: a unit ready on the old charm but off the stack goes on it, as in a forward roll ({@link readyOffStack}).
 */
export function maintainStack(context: UpgradeContext): StackUpdate {
  const { view } = context;
  const before = view.stack ?? [];
  const present = new Set(view.units.map((unit) => unit.id));
  const notes: string[] = [];
  let stack = before.filter((id) => {
    if (present.has(id)) return true;
    notes.push(`${unitName(context, id)} left the application; removed from the upgrade stack`);
    return false;
  });
  // A rollback's units that completed the attempt being rolled back stay pending until they are seen to
  // receive the charm again; only then can their `completed` mean "rolled back".
  const pendingBefore = view.rollbackPending ?? [];
  // Only a rollback on machines has stale completions; anywhere else a leftover list is cleared.
  const relevant = context.substrate === "vm" && view.rollback === true;
  const pending = relevant
    ? pendingBefore.filter((id) => present.has(id) && STALE_STATES.has(stateOf(view, id) ?? null))
    : [];
  const pendingChanged = pending.length !== pendingBefore.length || appKeyInvalid(view, KEYS.rollbackPending);
  const held = new Set(pending);
  const popped: number[] = [];
  // In a rollback, a unit still on the stack but idle never upgraded (or ran its rollback before the plan was made):
  // nothing to roll back there.
  if (view.rollback === true) {
    const untouched = stack.filter((id) => stateOf(view, id) === "idle" && onRollTarget(view, id) !== false);
    if (untouched.length) {
      stack = stack.filter((id) => !untouched.includes(id));
      notes.push(
        `${untouched.map((id) => unitName(context, id)).join(", ")} never upgraded; nothing to roll back there`,
      );
    }
  }
  // Kubernetes, a rollback by refresh back: a unit that reports the charm the rollback leaves (upgrading, completed or
  // failed on it) goes back on the stack. The refresh back can reach the leader while the forward roll's next pod is
  // already restarting onto the new revision, its upgrade-charm not yet run: its record (idle on the old charm) says
  // it never upgraded, so the rollback left it out (soak seed 651). Its upgrade-charm then says otherwise, and the
  // controller restarts it again, onto the old revision: it is rolled back like the others, and popped once it
  // completed there. Ascending, as every Kubernetes stack (the highest ordinal on top).
  if (context.substrate === "k8s" && view.rollback === true) {
    const stacked = new Set(stack);
    const moved = view.units
      .filter((unit) => !stacked.has(unit.id) && MOVED_STATES.has(unit.state) && onRollTarget(view, unit.id) === false)
      .map((unit) => unit.id);
    if (moved.length) {
      stack = [...stack, ...moved].sort((a, b) => a - b);
      notes.push(
        `${moved.map((id) => unitName(context, id)).join(", ")} runs the charm the rollback leaves; added to the upgrade stack`,
      );
    }
  }
  // A unit leaves the stack done only when it completed *and* runs the charm the roll goes to.
  for (
    let top = stack.at(-1);
    top !== undefined && !held.has(top) && stateOf(view, top) === "completed" && onRollTarget(view, top) !== false;
    top = stack.at(-1)
  ) {
    popped.push(top);
    stack = stack.slice(0, -1);
  }
  if (popped.length)
    notes.push(`${popped.map((id) => unitName(context, id)).join(", ")} completed; removed from the upgrade stack`);
  if (context.substrate === "vm" && !inRecovery(view)) {
    const stacked = new Set(stack);
    const missing = view.units
      .filter((unit) => unit.state === "ready" && !stacked.has(unit.id))
      .filter((unit) => view.rollback !== true || readyOffStack(view).includes(unit))
      .map((unit) => unit.id);
    if (missing.length) {
      const top = stack.at(-1);
      const below = top === undefined ? [] : [top];
      // lowest number upgrades first: the last element is the next to upgrade
      stack = [...stack.slice(0, stack.length - below.length), ...[...missing].sort((a, b) => b - a), ...below];
      notes.push(
        `${missing.map((id) => unitName(context, id)).join(", ")} joined the upgrade; added to the upgrade stack`,
      );
    }
  }
  const changed = stack.length !== before.length || stack.some((id, i) => before[i] !== id);
  return { stack, changed, popped, notes, pending, pendingChanged };
}

/**
 * Machines: the units `ready` on the charm the roll goes to (forward: its target; in a rollback by refresh back: its
 * origin) but not on its stack. Each waits for a grant that only the stack gives, and the leader adds them (see
 * {@link maintainStack}), even to an empty stack. In a rollback: a unit that joined mid-roll on the new revision and
 * became ready on the old charm after the leader built the rollback's stack without it (a leader that had not met it
 * yet: soak seeds 1629, 2830). Forward: a unit the leader popped as `completed` whose workload turned out not to be
 * what the roll's target installs, `ready` again on it once the stack had emptied (see `completedOnOtherWorkload`).
 */
export function readyOffStack(view: PeerView): readonly UnitView[] {
  const stacked = new Set(view.stack ?? []);
  return view.units.filter(
    (unit) => unit.state === "ready" && !stacked.has(unit.id) && onRollTarget(view, unit.id) === true,
  );
}

/** States of a unit whose workload may run the revision a rollback leaves. */
const MOVED_STATES: ReadonlySet<UnitState | null> = new Set<UnitState | null>(["upgrading", "completed", "failed"]);

const STALE_STATES: ReadonlySet<UnitState | null> = new Set<UnitState | null>(["completed", "upgrading"]);

/**
 * Machines: the units of a rollback's stack whose `completed` (or `upgrading`) dates from the attempt being rolled
 * back. Recorded when the leader enters recovery; each stays un-poppable until it is seen `ready` again.
 */
export function staleOnStack(view: PeerView, stack: readonly number[]): readonly number[] {
  return stack.filter((id) => STALE_STATES.has(stateOf(view, id) ?? null));
}

/**
 * The stack for a rollback (the original's `_repair_upgrade_stack`, made deterministic). Machines: every unit
 * missing from the stack (it completed and was popped) goes back just below the top, so the failed unit on top
 * rolls back first, then the re-inserted units from the highest number down, then those never upgraded; units
 * that left the application are dropped. Kubernetes: the units that left `idle`, ascending.
 */
export function repairStack(view: PeerView, substrate: "vm" | "k8s" = "vm"): readonly number[] {
  if (substrate === "k8s") {
    // On Kubernetes the pods to roll back are those that moved off `idle` (they run the new revision): the
    // StatefulSet controller restarts them onto the old revision, highest ordinal first, so the stack lists
    // them in ascending order (the highest on top). Pods that never restarted are already on the old revision.
    return view.units
      .filter((unit) => unit.state !== "idle" && unit.state !== null)
      .map((unit) => unit.id)
      .sort((a, b) => a - b);
  }
  const present = new Set(view.units.map((unit) => unit.id));
  const stack = (view.stack ?? []).filter((id) => present.has(id));
  const stacked = new Set(stack);
  const missing = view.units
    .map((unit) => unit.id)
    .filter((id) => !stacked.has(id))
    .sort((a, b) => a - b);
  if (!stack.length) return missing;
  return [...stack.slice(0, -1), ...missing, ...stack.slice(-1)];
}

/**
 * The stack pre-upgrade-check rebuilds when the one in the application databag does not validate while a roll runs
 * (nothing can be granted or popped without one, and a new plan is refused mid-roll): the units still to go, in the
 * order the roll had. A unit is done when it completed on the charm the roll goes to (as far as it recorded its
 * charm; on machines in a rollback, not while its `completed` is stale: `rollbackPending`), and left out when it is
 * idle on that charm already (it never took part, or joined on it); every other unit is still to go. Kubernetes:
 * ascending, the highest ordinal on top, the only order the StatefulSet knows. Machines, forward: the recorded plan's
 * order (`upgrade-plan`), else the leader last and the others highest number first (the order `planFromSnapshot`
 * proposes); a unit that is upgrading goes on top (it finishes first). Machines, in a rollback: the rollback's order
 * ({@link rollbackStack}).
 */
export function rebuildStack(view: PeerView, substrate: "vm" | "k8s", leader: number): readonly number[] {
  const pending = new Set(view.rollback === true ? (view.rollbackPending ?? []) : []);
  const toGo = view.units
    .filter((unit) => {
      const target = onRollTarget(view, unit.id);
      if (unit.state === "completed" && target !== false && !pending.has(unit.id)) return false;
      if (unit.state === "idle" && target === true) return false;
      return true;
    })
    .map((unit) => unit.id);
  if (substrate === "k8s") return [...toGo].sort((a, b) => a - b);
  if (view.rollback === true) return rollbackStack(view, substrate, leader).filter((id) => toGo.includes(id));
  const plan = view.plan ?? [leader, ...view.units.map((unit) => unit.id).filter((id) => id !== leader)];
  const planned = plan.filter((id) => toGo.includes(id));
  const order = [...toGo.filter((id) => !planned.includes(id)).sort((a, b) => b - a), ...planned];
  const upgrading = order.filter((id) => stateOf(view, id) === "upgrading");
  return [...order.filter((id) => !upgrading.includes(id)), ...upgrading];
}

/** The unit that checks version compatibility on upgrade-charm: the VM leader, or the K8s highest ordinal. */
export function checksVersions(context: UpgradeContext): boolean {
  if (context.substrate === "vm") return context.view.leader;
  const highest = Math.max(...context.view.units.map((unit) => unit.id), context.unit);
  return context.unit === highest;
}

/**
 * The version check of upgrade-charm: the stored DEPENDENCIES against this (new) code's. `null` when there is
 * nothing stored to compare (the original crashed with AttributeError; we proceed and say so).
 */
export function compatibility(context: UpgradeContext): CompatibilityReport | null {
  const stored = context.view.dependencies;
  if (!stored) return null;
  return checkCompatibility(stored, context.dependencies);
}

/** Why the cluster is not idle: the first few units and their states, for action failures. */
export function describeStates(context: UpgradeContext): string {
  return context.view.units.map((unit) => `${unitName(context, unit.id)}: ${unit.state ?? "no state"}`).join(", ");
}

/**
 * Validate the stack a charm's `buildUpgradeStack()` returned: it must list every unit of the application
 * exactly once. Returns the reason it does not, or `null`.
 */
export function planProblem(context: UpgradeContext, stack: readonly number[]): string | null {
  const ids = context.view.units.map((unit) => unit.id);
  const seen = new Set<number>();
  for (const id of stack) {
    if (!Number.isSafeInteger(id) || id < 0)
      return `the upgrade stack contains ${JSON.stringify(id)}, which is not a unit number`;
    if (seen.has(id)) return `the upgrade stack lists ${unitName(context, id)} twice`;
    seen.add(id);
  }
  const missing = ids.filter((id) => !seen.has(id));
  if (missing.length) return `the upgrade stack leaves out ${missing.map((id) => unitName(context, id)).join(", ")}`;
  const extra = stack.filter((id) => !ids.includes(id));
  if (extra.length)
    return `the upgrade stack lists ${extra.map((id) => unitName(context, id)).join(", ")}, which are not in the application`;
  return null;
}

/** True when the application databag's `key` failed validation (the leader then rewrites or clears it). */
export function appKeyInvalid(view: PeerView, key: string): boolean {
  return view.problems.some((p) => p.unit === null && p.key === key);
}

/** The same unit numbers in the same order. */
export function sameUnits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => b[i] === id);
}

/**
 * Whether a hook must ask Juju which units the application has (`goal-state`) before it can trust its view of the
 * peer relation: `relation-list` names only the units whose `relation-joined` has run on this unit, so a unit that
 * joined late (or a new leader) can be on the stack without being listed yet. An action always asks (planning
 * must see every unit); any other hook asks only when the stack names a unit it has not met — so a unit with a
 * complete view pays nothing.
 */
export function needsGoalState(
  appDatabag: Readonly<Record<string, string>>,
  met: readonly number[],
  self: number,
  inAction: boolean,
): boolean {
  if (inAction) return true;
  const raw = appDatabag[KEYS.stack];
  if (raw === undefined || raw === "") return false;
  let stack: unknown;
  try {
    stack = JSON.parse(raw);
  } catch {
    return false;
  }
  if (!Array.isArray(stack)) return false;
  const known = new Set([...met, self]);
  return stack.some((id) => typeof id === "number" && !known.has(id));
}

/** What a hook knows before it decides whether to read the other units' databags. */
export interface PeersQuestion {
  /** This unit's number. */
  readonly unit: number;
  readonly leader: boolean;
  /** The state in this unit's own databag (`null`: none). */
  readonly ownState: UnitState | null;
  /** The application databag, raw. */
  readonly app: Readonly<Record<string, string>>;
  /** The events this hook will reduce: its own and the deferred ones. */
  readonly events: readonly string[];
  readonly inAction: boolean;
  /** Where the unit runs (default: Kubernetes, which reads the others' databags on every `upgrade-charm`). */
  readonly substrate?: "vm" | "k8s";
}

/**
 * Whether a hook needs the other units' databags (each a hook-tool call): only when a decision it may take looks at
 * them. The leader keeps the stack and the application status (always); an action plans or answers on the whole
 * cluster; `upgrade-charm` checks versions and the barrier (on machines, only where the unit may be next: see
 * `waitsAfterUpgradeCharm`); a `ready` unit on top of the stack judges its turn (one
 * that is not next just waits: `grantBlocker`); a failed unit, one in recovery or one without a state yet may move
 * with the others; a `completed` unit returns to idle once the stack is gone and every unit is done. An `idle` or
 * `upgrading` unit decides on its own data and the application's alone.
 * The exploration runs this rule in every hook it explores, so a case it misjudged would show up there.
 */
export function needsPeers(question: PeersQuestion): boolean {
  const { ownState: state, app } = question;
  if (question.leader || question.inAction) return true;
  const stack = rawStack(app);
  const own = question.events.filter(
    (event) => event !== "relationChanged" && event !== "tick" && event !== "leaderElected",
  );
  // upgrade-charm, relation-created (a first state is written: the view must list every unit for what follows) —
  // except upgrade-charm on a machine that is not next (see `waitsAfterUpgradeCharm`).
  if (own.length && !(own.every((event) => event === "upgradeCharm") && waitsAfterUpgradeCharm(question, stack)))
    return true;
  if (state === "idle" || state === "upgrading") return false;
  // A completed unit returns to idle when the stack is gone; in a roll the Python library planned it may also have to
  // release the next unit (pythonCascade), which needs the others' states.
  if (state === "completed") return stack === null || stack.length === 0 || !app[KEYS.plan];
  if (state === "ready") return stack === null || stack.at(-1) === question.unit;
  return true;
}

/**
 * Machines: whether `upgrade-charm` leaves this unit waiting whatever the other units' databags say, so it need not
 * read them — it is idle or ready, on a valid stack (not a rollback's) but not on its top, and not the leader (which
 * checks versions and keeps the stack). It then becomes (or stays) `ready` and says which unit goes before it; what
 * else upgrade-charm decides looks at its own databag and the application's only (back on the roll's origin: its own
 * charm against `upgrade-from-charm`). A refresh to a third charm is then told when the unit reaches the top of the
 * stack (it reads everything there, and `grantBlocker` refuses it), as for a ready unit that is not next.
 */
function waitsAfterUpgradeCharm(question: PeersQuestion, stack: readonly unknown[] | null): boolean {
  const { ownState: state, app, unit } = question;
  if (question.substrate !== "vm" || (state !== "idle" && state !== "ready")) return false;
  if (stack === null || !stack.length || !stack.every((id) => Number.isSafeInteger(id))) return false;
  if (app[KEYS.rollback] === "true") return false;
  return stack.includes(unit) && stack.at(-1) !== unit;
}

/** The stack in the application databag, leniently (`null`: unreadable — the caller then reads everything). */
function rawStack(app: Readonly<Record<string, string>>): readonly unknown[] | null {
  const raw = app[KEYS.stack];
  if (raw === undefined || raw === "") return [];
  try {
    const stack: unknown = JSON.parse(raw);
    return Array.isArray(stack) ? stack : null;
  } catch {
    return null;
  }
}

/**
 * Whether a hook asks the charm what this unit runs (its `observe()`, e.g. two Kubernetes API requests) and whether
 * its workload can go back (`downgradeBlocker()`): only when a decision may use the answer — an action, an
 * upgrade-charm, a roll planned or running (a stack, a rollback, its origin recorded), or this unit not idle (it is
 * taking part, or waits to return to idle once it runs what the roll installs). An idle application asks nothing.
 */
export function needsObservation(question: PeersQuestion): boolean {
  const { app } = question;
  if (question.inAction || question.events.includes("upgradeCharm")) return true;
  if (app[KEYS.stack] || app[KEYS.rollback] === "true" || app[KEYS.fromCharm]) return true;
  return question.ownState !== null && question.ownState !== "idle";
}
