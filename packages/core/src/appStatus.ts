import type { Effect } from "./effects.js";
import {
  holdBlocker,
  onRollTarget,
  pauseBlocker,
  thirdCharmBlocker,
  topOfStack,
  unitName,
  unitsDone,
  participants,
  unplannedCharms,
} from "./protocol.js";
import { observedMismatch } from "./observed.js";
import type { UnitView } from "./peerView.js";
import { rollbackCommand } from "./rollbackCommand.js";
import type { UpgradeContext } from "./upgradeContext.js";

/** Juju shows 120 characters of a status message. */
const WIDTH = 120;
const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/**
 * The application status the leader keeps while an upgrade runs: where the roll stands, the operator's next step,
 * and how to roll back — the original set no application status at all. `null` when there is nothing to say
 * (no upgrade planned or running); the adapter then leaves the status alone.
 */
export function appStatusOf(context: UpgradeContext): Extract<Effect, { type: "setAppStatus" }> | null {
  const { view, app } = context;
  if (!view.leader || !context.related) return null;
  // The tail (the rollback command) is never clipped: the rest of the message gives way.
  const status = (s: "active" | "maintenance" | "waiting" | "blocked", message: string, tail = "") =>
    ({
      type: "setAppStatus",
      status: s,
      message:
        WIDTH - tail.length >= 40 ? `${clip(message, WIDTH - tail.length)}${tail}` : clip(`${message}${tail}`, WIDTH),
    }) as const;
  // Room for the command: what the longest prefix (`; or roll back: `) leaves after 40 characters of message.
  const command = rollbackCommand(context, WIDTH - 40 - "; or roll back: ".length);
  const back = `roll back: ${command}`;
  const failed = view.units.find((unit) => unit.state === "failed");
  const recovery = view.units.some((unit) => unit.state === "recovery") || view.rollback === true;
  if (failed && !recovery) {
    const who = unitName(context, failed.id);
    const first = `${who} failed its upgrade. Run pre-upgrade-check on the leader, then `;
    // A command with an image resource is long: a shorter wording keeps both steps whole where that is enough.
    const compact = `${who} failed. Run pre-upgrade-check on the leader, then ${command}`;
    if (first.length + back.length > WIDTH && compact.length <= WIDTH) return status("blocked", compact);
    return status("blocked", first, back);
  }
  if (recovery && (view.stack || view.units.some((unit) => unit.state !== "idle"))) {
    const stopped = rollbackStoppedBy(context);
    if (stopped) {
      return status(
        "blocked",
        `Rollback stopped at ${unitName(context, stopped.id)}: ${stopped.noDowngrade}. Refresh forward instead`,
      );
    }
    const left = view.stack?.length ?? 0;
    return status(
      "blocked",
      `Rolling back (${left} unit${left === 1 ? "" : "s"} to go): if not done yet, run `,
      command,
    );
  }
  // The partition did not move in this hook: why, and whether the operator must act (the next hook tries again).
  if (context.partitionFailure) return status(context.partitionFailure.status, context.partitionFailure.message);
  // The partition was found set outside charm-upgrade in this hook: what was done about it.
  if (context.partitionNotice) return status("maintenance", context.partitionNotice);
  // A refused refresh to a third charm, even once the stack emptied (the roll's last units finishing).
  const third = thirdCharmBlocker(context);
  if (third) return status("blocked", third.replace(/ \([^()]*\)$/, ""), `; or ${back}`);
  if (!view.stack) {
    // `juju refresh` ran first: the pods (or units) it reached wait for a plan, the others for their turn.
    const early = unplannedCharms(view);
    if (early.length) {
      const names = early.map((unit) => unitName(context, unit.id)).join(", ");
      return status(
        "blocked",
        `juju refresh ran before pre-upgrade-check (${names} on ${early[0]?.charm})`,
        `: run pre-upgrade-check on ${unitName(context, context.unit)}`,
      );
    }
    if (view.units.some((unit) => unit.state === "completed"))
      return status("maintenance", "Upgrade finishing: units returning to idle");
    // Done (or nothing planned): clear what an upgrade set. The adapter sets it only when it differs.
    return view.units.every((unit) => unit.state === "idle") ? status("active", "") : null;
  }
  const total = participants(view).length;
  const done = unitsDone(view);
  const top = topOfStack(view);
  if (view.units.every((unit) => unit.state === "idle"))
    return status("active", `Upgrade planned: run juju refresh ${app}`);
  const progress = `Upgrading ${app} (${done}/${total} done)`;
  const problem = context.settings.problem;
  if (problem) return status("blocked", `${progress}: ${problem}`);
  // A unit whose observed charm (or, for the leader itself, what it observes) disagrees with its recorded state.
  const odd = view.units.map((unit) => observedMismatch(context, unit.id)).find((reason) => reason !== null);
  if (odd) return status("blocked", `${progress}: ${odd}`);
  const held = holdBlocker(context);
  if (held) return status("waiting", `${progress}, ${held}`);
  const paused = pauseBlocker(context);
  if (paused && top !== null) {
    return status(
      "waiting",
      `Paused (${done}/${total} upgraded): check them, then run resume-upgrade on ${unitName(context, context.unit)}`,
      `; or ${back}`,
    );
  }
  const next = top === null ? "" : `: ${unitName(context, top)} next`;
  return status("maintenance", `${progress}${next}`, `; to ${back}`);
}

/**
 * The unit a rollback stopped before, because its workload recorded that it cannot go back (`KEYS.noDowngrade`):
 * on machines the unit on top of the stack, once it received the old charm; on Kubernetes any unit of the stack
 * that restarted on it and waits (`ready`). `null` when the rollback is not stopped.
 */
function rollbackStoppedBy(context: UpgradeContext): (UnitView & { readonly noDowngrade: string }) | null {
  const { view } = context;
  if (view.rollback !== true || !view.stack) return null;
  const candidates = context.substrate === "vm" ? view.stack.slice(-1) : view.stack;
  for (const id of candidates) {
    const unit = view.units.find((u) => u.id === id);
    if (unit?.noDowngrade && unit.state === "ready" && onRollTarget(view, id) !== false)
      return unit as UnitView & { readonly noDowngrade: string };
  }
  return null;
}
