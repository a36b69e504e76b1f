import type { Effect } from "./effects.js";
import { haltedByFailure } from "./protocol.js";
import { rollbackCommand } from "./rollbackCommand.js";
import type { UpgradeContext } from "./upgradeContext.js";
import type { MachineStateValue } from "./upgradeMachine.js";

/** Juju shows 120 characters of a status message. */
const WIDTH = 120;
/** A base message is never clipped below this to make room for the rollback command. */
const MIN_BASE = 50;

type UnitStatus = Extract<Effect, { type: "setUnitStatus" }>;

/**
 * The workload version this unit runs, for its status: what the charm reports, else what follows from the state —
 * `idle`/`completed` run this code's version, a unit not yet granted runs the stored (application's) version, a
 * unit upgrading goes from one to the other. `null` when unknown (failed, recovery, or waiting in a rollback:
 * it may have completed the attempt being rolled back). With `reported = false` (the unit upgraded in this hook)
 * the charm's report from the start of the hook is not used.
 */
export function runningWorkload(context: UpgradeContext, state: MachineStateValue, reported = true): string | null {
  if (reported && context.workloadVersion) return context.workloadVersion;
  const key = context.workloadKey;
  if (key === null) return null;
  const code = context.dependencies[key]?.version ?? null;
  const stored = context.view.dependencies?.[key]?.version ?? null;
  switch (state) {
    case "idle":
    case "unset":
    case "completed":
      return code;
    case "upgrading":
      if (context.substrate === "k8s" || stored === null || stored === code) return code;
      return code === null ? stored : `${stored} → ${code}`;
    case "ready":
      // In a rollback a waiting unit may run either version (it may have completed the attempt rolled back).
      return context.view.rollback === true ? null : stored;
    default:
      return null;
  }
}

/** True while this unit takes part in an upgrade (a plan, a rollback, or a state other than idle). */
function inUpgrade(context: UpgradeContext, state: MachineStateValue): boolean {
  return context.view.stack !== null || context.view.rollback === true || (state !== "idle" && state !== "unset");
}

/**
 * A unit status during an upgrade, completed with what the operator needs at a glance: the workload version the
 * unit runs and the exact rollback command (while the cluster is halted by a failure, prefixed by the
 * pre-upgrade-check that must come first). The base message keeps priority; the whole stays within Juju's 120
 * characters (a trailing parenthetical of the base gives way first, then the version, then the end of the base). Outside an upgrade the status is left as is.
 */
export function unitStatusDuringUpgrade(
  context: UpgradeContext,
  state: MachineStateValue,
  status: UnitStatus,
  /** The unit's state when the hook started: what the charm reported then is stale once the unit upgraded. */
  startState: MachineStateValue = state,
): UnitStatus {
  if (!context.related || !status.message || !inUpgrade(context, state)) return status;
  const command = rollbackCommand(context);
  const rollback = haltedByFailure(context.view)
    ? ` | roll back: pre-upgrade-check, then ${command}`
    : ` | roll back: ${command}`;
  const version = runningWorkload(context, state, startState === state);
  const base = status.message;
  // A trailing parenthetical is detail (`(#2 in the upgrade order)`): it gives way before the version does.
  const short = base.replace(/ \([^()]*\)$/, "");
  const withVersion = `${version ? ` | workload ${version}` : ""}${rollback}`;
  // Priorities: the rollback command whole, the base message's point, the version, the base's detail.
  for (const [text, suffix] of [
    [base, withVersion],
    [short, withVersion],
    [base, rollback],
    [short, rollback],
  ] as const) {
    if (text.length + suffix.length <= WIDTH) return { ...status, message: `${text}${suffix}` };
  }
  if (WIDTH - rollback.length >= MIN_BASE)
    return { ...status, message: `${clip(base, WIDTH - rollback.length)}${rollback}` };
  return { ...status, message: clip(base, WIDTH) };
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
