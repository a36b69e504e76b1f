import type { PeerDatabags } from "./peerView.js";
import { CHARM_PATTERN, readPeerView } from "./peerView.js";
import { unitName } from "./protocol.js";
import { rollbackCommand } from "./rollbackCommand.js";
import type { RawUpgradeSettings } from "./settings.js";
import { readSettings } from "./settings.js";
import type { Substrate } from "./substrate.js";
import type { UpgradeContext } from "./upgradeContext.js";

/**
 * The plan of an upgrade, as `pre-upgrade-check` returns it in its action result (and `charm-upgrade plan` prints
 * it from a snapshot): the order of units, where the roll will pause, the running versions per DEPENDENCIES key
 * with their compatibility rule, and the checks that ran. Everything an operator needs before `juju refresh`.
 */
export function planResults(
  context: UpgradeContext,
  stack: readonly number[],
): Readonly<Record<string, string>> & { readonly message: string } {
  const upgradeOrder = [...stack].reverse();
  const order = upgradeOrder.map((id) => unitName(context, id)).join(", ");
  const { pauseAfter, problem } = context.settings;
  const first = upgradeOrder[0];
  const pauses =
    pauseAfter === "none" || upgradeOrder.length < 2
      ? "never"
      : pauseAfter === "first"
        ? `after ${first === undefined ? "the first unit" : unitName(context, first)} (pause-after-unit-upgrade=first), until resume-upgrade`
        : "after every unit (pause-after-unit-upgrade=all), until resume-upgrade";
  const running = Object.entries(context.view.dependencies ?? context.dependencies)
    .map(([key, model]) => `${key} ${model.version} (upgrade_supported ${model.upgrade_supported})`)
    .join("; ");
  const from =
    context.view.settledCharm ?? (context.charm !== null && CHARM_PATTERN.test(context.charm) ? context.charm : null);
  // The image read now is the running one only if the leader runs the settled charm (juju refresh did not come first).
  const fromResource = from === null || from === context.charm ? context.resource : null;
  const checker =
    context.substrate === "vm"
      ? unitName(context, context.unit)
      : `the highest unit (${unitName(context, first ?? 0)})`;
  return {
    message: `Pre-upgrade check passed. Upgrade order: ${order}. Now run juju refresh ${context.app}.`,
    "upgrade-order": order,
    pauses: problem ? `after every unit: ${problem}` : pauses,
    "running-versions": running,
    compatibility: `checked on upgrade-charm by ${checker}: each key's running version against the new revision's upgrade_supported`,
    checks: `peer data valid; every unit idle; the charm's pre-upgrade check passed${context.substrate === "k8s" ? "; the charm may patch its StatefulSet" : ""}`,
    // What each unit runs, as observed: the charm in its .juju-charm and the workload version its charm reports.
    "units-running": unitsRunning(context),
    // The charm the application runs at rest (the leader's own, unless juju refresh came first) is what a
    // rollback returns to, with the workload image the leader read (Kubernetes), under the same condition.
    rollback: rollbackCommand({ app: context.app, view: { ...context.view, fromCharm: from, fromResource } }),
  };
}

/**
 * Each unit and what it is observed to run (`db/0 ch:amd64/jammy/db-381 workload 14.9; db/1 …`): its recorded
 * `upgrade-running-charm` and `upgrade-running-workload`, this unit's own from what it observes now; `unknown` where
 * a unit recorded nothing (it runs a revision without charm-upgrade's observations, or has not run a hook since).
 */
function unitsRunning(context: UpgradeContext): string {
  return context.view.units
    .map((unit) => {
      const mine = unit.id === context.unit;
      const charm = (mine ? context.charm : null) ?? unit.charm ?? null;
      const workload = (mine ? context.workloadVersion : null) ?? unit.workload ?? null;
      const parts = [charm, workload === null ? null : `workload ${workload}`].filter((part) => part !== null);
      return `${unitName(context, unit.id)} ${parts.length ? parts.join(" ") : "unknown"}`;
    })
    .join("; ");
}

/** A saved snapshot of the peer relation, for `charm-upgrade plan`. */
export interface PlanSnapshot {
  readonly app: string;
  readonly substrate: Substrate;
  /** The leader's unit number. */
  readonly leader: number;
  readonly databags: Omit<PeerDatabags, "leader">;
  readonly settings?: RawUpgradeSettings;
}

/**
 * The plan from a snapshot of the peer databags: the stack in the snapshot when there is one (a
 * `pre-upgrade-check` ran), else the order the library would use (K8s: highest ordinal first; machines: the
 * leader last, the others highest number first — the charm's `buildUpgradeStack` may choose differently).
 */
export function planFromSnapshot(snapshot: PlanSnapshot): {
  readonly results: Record<string, string>;
  readonly problems: readonly string[];
} {
  const view = readPeerView({ ...snapshot.databags, leader: true });
  const ids = view.units.map((unit) => unit.id);
  const stack =
    view.stack ??
    (snapshot.substrate === "k8s"
      ? [...ids].sort((a, b) => a - b)
      : [snapshot.leader, ...ids.filter((id) => id !== snapshot.leader).sort((a, b) => a - b)]);
  const context: UpgradeContext = {
    app: snapshot.app,
    unit: snapshot.leader,
    substrate: snapshot.substrate,
    dependencies: view.dependencies ?? {},
    related: true,
    view,
    settings: readSettings(snapshot.settings),
    charm: view.fromCharm ?? null,
    workloadVersion: null,
    workloadKey: null,
    observed: null,
    observedAs: null,
    resource: view.fromResource ?? null,
    noDowngrade: null,
  };
  const results = planResults(context, stack);
  const busy = view.units
    .filter((unit) => unit.state !== "idle")
    .map((unit) => `${unitName(context, unit.id)} is ${unit.state ?? "without a state"}`);
  return {
    results: {
      ...results,
      message: results.message.replace("Pre-upgrade check passed. ", view.stack ? "Planned. " : "Proposed. "),
    },
    problems: [...view.problems.map((p) => `${p.unit ?? "application databag"} ${p.key}: ${p.message}`), ...busy],
  };
}
