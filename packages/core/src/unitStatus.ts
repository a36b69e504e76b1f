import type { Effect } from "./effects.js";
import { observedMismatch } from "./observed.js";
import { downgradeRefusal, haltedByFailure } from "./protocol.js";
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

/** The revision in a charm's name as Juju writes it in `.juju-charm` (`ch:amd64/jammy/db-382` → `382`), or `null`. */
export function charmRevision(charm: string | null): string | null {
  return charm === null ? null : (/-(\d{1,9})$/.exec(charm)?.[1] ?? null);
}

/**
 * A unit status during an upgrade, completed with what the operator needs at a glance: what the unit runs (its
 * charm revision, observed in `.juju-charm`, and the workload version) and the exact rollback command (while the
 * cluster is halted by a failure, prefixed by the pre-upgrade-check that must come first). When what the unit is
 * observed to run disagrees with the state it recorded, that disagreement is the message, blocked (see
 * `observedMismatch`); when a rollback stopped at this unit (see `downgradeRefusal`), the refusal stands alone. The
 * base message keeps priority; the whole stays within Juju's 120 characters (a trailing parenthetical of the base
 * gives way first, then the charm revision, then the version, then the end of the base; a rollback command too long
 * to fit whole, such as one with an image reference, is shortened to say where the whole one is). Outside an upgrade
 * the status is left as is.
 */
export function unitStatusDuringUpgrade(
  context: UpgradeContext,
  state: MachineStateValue,
  given: UnitStatus,
  /** The unit's state when the hook started: what the charm reported then is stale once the unit upgraded. */
  startState: MachineStateValue = state,
): UnitStatus {
  if (!context.related || !given.message || !inUpgrade(context, state)) return given;
  // The rollback stopped at this unit (its workload cannot go back): the rollback command is moot, and the refusal
  // and what to do instead are the whole message.
  if (given.status === "blocked" && downgradeRefusal(context) !== null) return given;
  const mismatch = given.status === "blocked" ? null : observedMismatch(context, context.unit);
  const status: UnitStatus = mismatch ? { ...given, status: "blocked", message: mismatch } : given;
  const base = status.message;
  const halted = haltedByFailure(context.view);
  const lead = halted ? " | roll back: pre-upgrade-check, then " : " | roll back: ";
  // The command's room: what the base message leaves (up to MIN_BASE of it), so a short base keeps a long command.
  const rollback = `${lead}${rollbackCommand(context, WIDTH - lead.length - Math.min(base.length, MIN_BASE))}`;
  const version = runningWorkload(context, state, startState === state);
  const revision = charmRevision(context.charm);
  // A trailing parenthetical is detail (`(#2 in the upgrade order)`): it gives way before the version does.
  const short = base.replace(/ \([^()]*\)$/, "");
  const running = [revision ? `charm ${revision}` : null, version ? `workload ${version}` : null].filter(Boolean);
  const full = running.length ? ` | ${running.join(", ")}${rollback}` : rollback;
  const withVersion = `${version ? ` | workload ${version}` : ""}${rollback}`;
  // Priorities: the rollback command whole, the base message's point, the version, the charm revision, the detail.
  for (const [text, suffix] of [
    [base, full],
    [short, full],
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
