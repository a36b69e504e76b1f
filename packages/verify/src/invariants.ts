import type { Effect, Substrate } from "@charm-upgrade/core";
import type { CharmGrant } from "@charm-upgrade/sim";
import type { HookTrace, Observation } from "./world.js";

/**
 * The safety invariants, by name, in words. Exploration and fault campaigns check every one of them in every
 * state they reach and on every step they take.
 */
export const INVARIANTS = {
  "one-upgrading": "Machines: at most one unit is `upgrading` (committed unit states).",
  "grant-while-upgrading": "Machines: no unit is granted while another unit is `upgrading`.",
  "grant-not-top":
    "Machines: a unit is granted only when it is on top of the upgrade stack (as the granting hook sees it).",
  "grant-before-plan": "No unit is granted before a pre-upgrade-check succeeded.",
  "grant-while-failed":
    "No unit is granted while a unit is `failed` and no recovery has started (the halt): recovery is a unit in `recovery`, a rollback recorded, or a `juju refresh` back (the granted unit runs the roll's origin charm).",
  "stack-duplicate": "The committed upgrade stack is a JSON array of unit numbers that never lists a unit twice.",
  "stack-lost":
    "A unit leaves the committed stack only when it completed (on machines: completed the charm revision it now runs, or, replaced since without a committed hook, the one it recorded — or runs that revision's workload, which a failed hook on it may have installed), finished the whole upgrade in that hook, or left the application; in a rollback also when it never upgraded (idle, ready or with no valid state, running the old workload); on Kubernetes also when recovery re-plans and its pod never left the old revision.",
  "done-on-old":
    "A unit is never reported done while it runs the old code: no unit leaves the stack (popped as done, or finishing idle) unless it runs the charm revision the roll goes to — in a rollback the roll's origin; forward its recorded target (`upgrade-to-charm`), or while none is recorded any revision but the origin — and the workload that revision installs.",
  partition:
    "Kubernetes: while the rollout is incomplete (the StatefulSet's current revision is not the new one), no pod below the partition runs the new revision (unless someone outside charm-upgrade set the partition and the leader has not read it back yet); and no pod below the partition restarts.",
  "unchecked-refresh":
    "Kubernetes: before a pre-upgrade-check succeeded, at most one pod runs the new revision, the highest unit's (its `stop` raised the partition to it; not claimed once the API server failed a partition request).",
  "recorded-partition":
    "Kubernetes: during a forward roll the partition recorded in the application databag is never below the one the API server holds (it is recorded only once the server holds it, so a failed move leaves the older, higher one: the next hook moves it again) — unless someone outside charm-upgrade raised it and the leader has not read it back yet.",
  "no-downgrade":
    "No unit's charm is granted (on machines: installs; on Kubernetes: starts on its restarted pod) a workload version that the version its data was last written by cannot go back to (that version's `downgrade_supported`).",
  "downgrade-named":
    "A rollback stopped by a unit whose workload cannot go back names that unit, in its own status and in the application's (after update-status).",
  "hook-error": "No hook throws (for instance, a unit that is not the leader writing the application databag).",
} as const;

/** The name of a safety invariant. */
export type InvariantName = keyof typeof INVARIANTS;

/** One breach of a safety invariant. */
export interface Breach {
  readonly invariant: InvariantName;
  readonly message: string;
}

/** What a step is judged with. */
export interface StepContext {
  readonly substrate: Substrate;
  readonly before: Observation;
  readonly after: Observation;
  /** The hooks the step ran, with their effects. */
  readonly hooks: readonly HookTrace[];
  readonly grants: readonly CharmGrant[];
  /** The unit whose hook or action ran in this step, if any. */
  readonly unit: number | null;
  /** A pre-upgrade-check had planned an upgrade before this step. */
  readonly planned: boolean;
  /** The API server was told to fail a partition request in this run (the `unchecked-refresh` claim is then off). */
  readonly partitionFaulted?: boolean;
  /** The revision the upgrade rolls out (the partition invariant). */
  readonly newRevision: number;
  /** The workload version a revision installs. */
  readonly versionOf: (revision: number) => string;
  /**
   * On machines, `completed` lets a unit leave the stack only when it completed the charm revision it runs now
   * (default `true`). Hostile-data tests turn this off: a unit's own `state` is trusted, so a forged `completed`
   * legitimately pops it.
   */
  readonly strictCompletion?: boolean;
  /**
   * Why a workload whose data version `from` wrote cannot be started at version `to`, or `null` when it can (default:
   * any version may go back).
   */
  readonly downgradeRefusal?: (from: string, to: string) => string | null;
}

/** The committed state of unit `id` (`undefined` when it is not in the application). */
export function stateOf(s: Observation, id: number): string | undefined {
  return s.units.find((u) => u.id === id)?.state;
}

/** Parse an `upgrade-stack` value: the stack (`[]` when unset), or why it is not one. */
export function parseStack(raw: string | undefined): {
  readonly stack: readonly number[];
  readonly error: string | null;
} {
  if (raw === undefined || raw === "") return { stack: [], error: null };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { stack: [], error: `not JSON: ${raw.slice(0, 40)}` };
  }
  if (!Array.isArray(value) || !value.every((id) => Number.isSafeInteger(id) && id >= 0)) {
    return { stack: [], error: `not an array of unit numbers: ${raw.slice(0, 40)}` };
  }
  return { stack: value as number[], error: null };
}

/** The committed stack of an observation (`[]` when unset or invalid). */
export function stackOf(s: Observation): readonly number[] {
  return parseStack(s.appData["upgrade-stack"]).stack;
}

/** Breaches of the state invariants in `s`. */
export function stateBreaches(s: Observation, substrate: Substrate): Breach[] {
  const breaches: Breach[] = [];
  if (substrate === "vm") {
    const upgrading = s.units.filter((u) => u.state === "upgrading").map((u) => u.id);
    if (upgrading.length > 1)
      breaches.push({
        invariant: "one-upgrading",
        message: `units ${upgrading.join(", ")} are upgrading at the same time`,
      });
  }
  const { stack, error } = parseStack(s.appData["upgrade-stack"]);
  if (error) breaches.push({ invariant: "stack-duplicate", message: `the committed upgrade-stack is ${error}` });
  else if (new Set(stack).size !== stack.length)
    breaches.push({
      invariant: "stack-duplicate",
      message: `the committed stack [${stack.join(", ")}] lists a unit twice`,
    });
  if (substrate === "k8s") {
    // Once the rollout is complete (the current revision is the new one) a partition holds nothing back: an operator
    // may raise it then, or a pod whose stop a later refresh caused (kubernetes/kubernetes
    // pkg/controller/statefulset/stateful_set_control.go: pods below the partition are recreated from currentRevision).
    // A partition set outside charm-upgrade (`kubectl patch`) that the leader has not read back yet (it records what it
    // adopts, and sets back what it does not) is the operator's doing, not the library's: its pods are the
    // operator's until then (issue 12.4).
    const recorded = parseRecordedPartition(s.appData["upgrade-partition"]);
    const outside = s.partitionByHand && recorded !== s.partition;
    const held = s.currentRevision !== s.charm && !outside;
    const below = s.units.filter((u) => held && u.id < s.partition && u.pod === s.charm).map((u) => u.id);
    if (below.length)
      breaches.push({
        invariant: "partition",
        message: `pods ${below.join(", ")} run revision ${s.charm} below the partition ${s.partition}`,
      });
    if (
      !outside &&
      stackOf(s).length &&
      s.appData["upgrade-rollback"] !== "true" &&
      recorded !== null &&
      recorded < s.partition
    )
      breaches.push({
        invariant: "recorded-partition",
        message: `the recorded partition ${recorded} is below the ${s.partition} the API server holds`,
      });
  }
  return breaches;
}

/** `upgrade-partition` as recorded (`null`: absent or not a number). */
function parseRecordedPartition(raw: string | undefined): number | null {
  if (raw === undefined || raw === "") return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : null;
}

/** The revision of a charm Juju names `ch:amd64/jammy/app-2` (`null`: none, or no revision in it). */
export function revisionOf(charm: string | undefined): number | null {
  const match = /-(\d+)$/.exec(charm ?? "");
  return match ? Number(match[1]) : null;
}

/**
 * Whether a rollback was under way in the step: recorded before or after it, or by one of its hooks (a rollback may
 * start and end in one hook) — unless a hook of the step turned the roll forward again (it cleared the rollback and
 * wrote the stack the roll goes on with: `juju refresh` forward after a stopped rollback), after which units are done
 * on the roll's target (its recorded target, else any revision but the origin). A rollback that ends clears no stack
 * (it is empty by then), and a new plan is made only once every unit is idle.
 */
function rollbackInStep(ctx: StepContext): boolean {
  const recorded = (s: Observation) => s.appData["upgrade-rollback"] === "true";
  const turnedForward =
    !recorded(ctx.after) &&
    ctx.hooks.some((hook) =>
      hook.effects.some(
        (e) => e.type === "writeAppData" && e.data["upgrade-rollback"] === "" && "upgrade-stack" in e.data,
      ),
    );
  if (turnedForward) return false;
  return (
    recorded(ctx.before) ||
    recorded(ctx.after) ||
    ctx.hooks.some((hook) =>
      hook.effects.some((e) => e.type === "writeAppData" && e.data["upgrade-rollback"] === "true"),
    )
  );
}

/**
 * The charm revision a unit done with the roll must run, as the step's records say: in a rollback the roll's origin;
 * forward, its recorded target; `null` when none is recorded (then: any but the origin).
 */
function rollTargetOf(ctx: StepContext): { target: number | null; origin: number | null; rollback: boolean } {
  const { before, after } = ctx;
  const key = (name: string) => after.appData[name] || before.appData[name];
  const origin = revisionOf(key("upgrade-from-charm"));
  if (rollbackInStep(ctx)) return { target: origin, origin, rollback: true };
  return { target: revisionOf(key("upgrade-to-charm")), origin, rollback: false };
}

/** Breaches of the step invariants: grants (judged as the granting hook saw the data), stack changes, restarts. */
export function stepBreaches(ctx: StepContext): Breach[] {
  const breaches: Breach[] = [];
  const { before, after, substrate } = ctx;
  const roll = rollTargetOf(ctx);
  for (const hook of ctx.hooks) {
    breaches.push(...grantBreaches(ctx, hook.unit, hook.effects));
    if (hook.error !== null)
      breaches.push({ invariant: "hook-error", message: `app/${hook.unit} ${hook.hook} threw: ${hook.error}` });
  }
  for (const grant of ctx.grants) {
    const ran = before.units.find((u) => u.id === grant.unit)?.ran;
    const refused = ran === undefined ? null : (ctx.downgradeRefusal?.(ran, grant.version) ?? null);
    if (refused !== null)
      breaches.push({
        invariant: "no-downgrade",
        message: `app/${grant.unit} was granted workload ${grant.version} on data of ${ran}: ${refused}`,
      });
  }
  const beforeStack = stackOf(before);
  const afterStack = new Set(stackOf(after));
  for (const id of beforeStack) {
    if (afterStack.has(id)) continue;
    const unit = after.units.find((u) => u.id === id);
    if (!unit) continue; // it left the application
    const was = stateOf(before, id);
    const now = unit.state;
    // Machines: a unit whose charm Juju replaced since it last committed a hook (LP#2068500) is judged by the revision
    // it recorded — no hook can know of the new charm before the unit's next one (which then takes it as upgrade-charm).
    // Or by the one it runs: its last hook may have been an upgrade-charm on it that upgraded the workload and failed
    // (Juju deploys the charm before the hook runs, juju/juju worker/uniter/operation/deploy.go, and writes the hook's
    // relation settings only when it succeeded, worker/uniter/runner/context/context.go `Flush`): its record still
    // says what it did before, all the leader can go by; its next hook sees what it runs, and if that is not what the
    // roll's target installs it is `ready` again (core `completedOnOtherWorkload`).
    const recordedRun = unit.restarting ? revisionOf(unit.databag["upgrade-running-charm"]) : null;
    const onItsRevision =
      unit.workload === ctx.versionOf(recordedRun ?? unit.revision) ||
      (recordedRun !== null && substrate === "vm" && unit.workload === ctx.versionOf(unit.revision));
    const completed =
      (now === "completed" || was === "completed") &&
      (substrate === "k8s" || onItsRevision || ctx.strictCompletion === false);
    const finishedHere = ctx.unit === id && now === "idle" && (onItsRevision || ctx.strictCompletion === false);
    // A rollback leaves alone a unit that never upgraded: idle or ready (never granted), on the old workload — or one
    // whose recorded state does not validate (another revision's or a hostile write: no hook can take it as anything),
    // judged by the workload it runs (hostile.prop.test, campaign seed -1873679798). A pod restarted since its unit
    // last ran a hook is judged as the unit recorded it, as below: no hook can know of the new pod before its
    // upgrade-charm, after which the leader puts it back on the rollback's stack (soak seed 651).
    const recordedRevision = unit.restarting ? revisionOf(unit.databag["upgrade-running-charm"]) : null;
    const untouched =
      roll.rollback &&
      (now === "idle" || now === "ready" || now === "") &&
      roll.origin !== null &&
      (unit.workload === ctx.versionOf(roll.origin) || recordedRevision === roll.origin);
    const replanned =
      substrate === "k8s" &&
      ctx.unit !== null &&
      stateOf(after, ctx.unit) === "recovery" &&
      (was === "idle" || was === "");
    if (!completed && !finishedHere && !replanned && !untouched) {
      breaches.push({
        invariant: "stack-lost",
        message: `app/${id} (${was || "no state"} -> ${now || "no state"}, workload ${unit.workload}, charm ${unit.revision}) left the stack [${beforeStack.join(", ")}] -> [${stackOf(after).join(", ")}]`,
      });
    }
    // The roll's target, as its records say (the application's charm may have changed since, unseen by any unit).
    // Kubernetes: a pod restarted since the unit last ran a hook is judged as the unit recorded it — no hook can know
    // of the new pod before its upgrade-charm (which then reports it).
    const recorded = unit.restarting ? revisionOf(unit.databag["upgrade-running-charm"]) : null;
    const revision = recorded ?? unit.revision;
    const workload = recorded === null ? unit.workload : ctx.versionOf(recorded);
    const onTarget =
      roll.target !== null
        ? revision === roll.target
        : roll.origin !== null
          ? revision !== roll.origin
          : revision === after.charm;
    const current = onTarget && workload === ctx.versionOf(revision);
    if ((completed || finishedHere) && !untouched && !current && ctx.strictCompletion !== false) {
      const target = roll.target ?? (roll.origin === null ? after.charm : null);
      breaches.push({
        invariant: "done-on-old",
        message: `app/${id} left the stack as done (${was || "no state"} -> ${now || "no state"}) running charm revision ${unit.revision} and workload ${unit.workload}, not ${target === null ? `a revision other than the origin ${roll.origin}` : `the roll's revision ${target} (${ctx.versionOf(target)})`}`,
      });
    }
  }
  if (substrate === "k8s") {
    for (const unit of after.units) {
      const prior = before.units.find((u) => u.id === unit.id);
      if (prior && prior.pod !== unit.pod && unit.pod === ctx.newRevision && unit.id < after.partition) {
        breaches.push({
          invariant: "partition",
          message: `pod ${unit.id} restarted onto revision ${unit.pod} below the partition ${after.partition}`,
        });
      }
    }
    if (!ctx.planned && !ctx.partitionFaulted) {
      const onNew = after.units.filter((u) => u.pod === ctx.newRevision).map((u) => u.id);
      const highest = Math.max(...after.units.map((u) => u.id));
      if (onNew.length > 1 || (onNew.length === 1 && onNew[0] !== highest)) {
        breaches.push({
          invariant: "unchecked-refresh",
          message: `before any pre-upgrade-check, pods ${onNew.join(", ")} run revision ${ctx.newRevision} (partition ${after.partition}; the highest unit is ${highest})`,
        });
      }
    }
  }
  return breaches;
}

/**
 * Judge every `grantUpgrade` of one hook as that hook saw the data: other units' committed states, and the stack
 * with the hook's own earlier writes applied. A grant to a unit whose committed state already is `upgrading` only
 * asks the charm to carry on (a re-grant); the grant invariants are about new grants.
 */
function grantBreaches(ctx: StepContext, unit: number, effects: readonly Effect[]): Breach[] {
  const breaches: Breach[] = [];
  const { before } = ctx;
  let stack = stackOf(before);
  let own = stateOf(before, unit) ?? "";
  const regrant = own === "upgrading";
  const others = before.units.filter((u) => u.id !== unit);
  // Recovery has started when a unit is (or this hook found itself) in `recovery`, or the leader recorded the
  // rollback in the app databag: a pod restarting during a K8s rollback overwrites the leader's `recovery`.
  let recovery =
    own === "recovery" || others.some((u) => u.state === "recovery") || before.appData["upgrade-rollback"] === "true";
  for (const effect of effects) {
    if (effect.type === "writeUnitData" && effect.data.state !== undefined) own = effect.data.state;
    if (effect.type === "writeAppData" && effect.data["upgrade-stack"] !== undefined)
      stack = parseStack(effect.data["upgrade-stack"]).stack;
    if (effect.type === "writeAppData" && effect.data["upgrade-rollback"] !== undefined)
      recovery ||= effect.data["upgrade-rollback"] === "true";
    if (own === "recovery") recovery = true;
    if (effect.type !== "grantUpgrade" || regrant) continue;
    const name = `app/${unit}`;
    if (!ctx.planned)
      breaches.push({ invariant: "grant-before-plan", message: `${name} was granted before any pre-upgrade-check` });
    const failed = others.filter((u) => u.state === "failed").map((u) => u.id);
    // `juju refresh` back is the operator's recovery too: a unit granted on the roll's origin charm rolls back.
    const origin = ctx.after.appData["upgrade-from-charm"];
    const refreshedBack =
      origin !== undefined &&
      origin !== "" &&
      ctx.after.units.find((u) => u.id === unit)?.databag["upgrade-running-charm"] === origin;
    if (failed.length && !recovery && !refreshedBack) {
      breaches.push({
        invariant: "grant-while-failed",
        message: `${name} was granted while app/${failed.join(", app/")} had failed and no recovery had started`,
      });
    }
    if (ctx.substrate === "vm") {
      const upgrading = others.filter((u) => u.state === "upgrading").map((u) => u.id);
      if (upgrading.length)
        breaches.push({
          invariant: "grant-while-upgrading",
          message: `${name} was granted while app/${upgrading.join(", app/")} was upgrading`,
        });
      const top = stack.at(-1);
      if (top !== unit)
        breaches.push({
          invariant: "grant-not-top",
          message: `${name} was granted but the stack [${stack.join(", ")}] has ${top === undefined ? "nothing" : `app/${top}`} on top`,
        });
    }
  }
  return breaches;
}

/** The kinds of end state a run may stop in. */
export type EndKind = "upgraded" | "halted" | "rolledBack" | "restored" | "stopped" | "unplanned";

/**
 * Whether `s` is an end state of kind `kind`:
 *
 * - `upgraded`: quiet, every unit idle on `target` (charm and workload), no stack;
 * - `halted`: quiet, a unit failed and reports it, no recovery started (nothing will be granted);
 * - `rolledBack`: as `upgraded`, on the old revision `target`;
 * - `restored`: a `juju refresh` back ended: every unit idle on the old revision `target` (charm and workload), no
 *   rollback under way, and the roll closed (no stack, no recorded origin) — or never started (nothing moved: the
 *   stack is the plan, which waits for a `juju refresh`);
 * - `stopped`: a `juju refresh` back stopped before a unit whose workload cannot go back (issue 15.4): quiet, every
 *   unit on the old revision `target`'s charm, a rollback recorded; each unit runs the old workload (it never
 *   upgraded, or went back; idle, ready on the stack below where the rollback stopped, or completed: rolled back,
 *   it stays so until the rollback ends), or its data was written by another version (`ran`) and it waits on
 *   the stack, neither upgrading nor failed — at least one such unit (`stopped` ends checked with
 *   {@link stoppedAt}).
 * - `unplanned`: quiet, every unit idle, no stack (refresh without pre-upgrade-check: nothing was granted).
 */
export function isEnd(s: Observation, kind: EndKind, target: number, versionOf: (revision: number) => string): boolean {
  if (!s.quiet) return false;
  const noStack = stackOf(s).length === 0 && !parseStack(s.appData["upgrade-stack"]).error;
  switch (kind) {
    case "upgraded":
    case "rolledBack":
      return (
        noStack && s.units.every((u) => u.state === "idle" && u.revision === target && u.workload === versionOf(target))
      );
    case "restored": {
      const onTarget = s.units.every(
        (u) => u.state === "idle" && u.revision === target && u.workload === versionOf(target),
      );
      const closed = noStack && !s.appData["upgrade-from-charm"];
      // (Units removed since the plan leave the stack, not the plan.)
      const plan = parseStack(s.appData["upgrade-plan"]).stack;
      const untouched = !noStack && stackOf(s).every((id) => plan.includes(id));
      return onTarget && s.appData["upgrade-rollback"] !== "true" && (closed || untouched);
    }
    case "stopped":
      return (
        s.appData["upgrade-rollback"] === "true" &&
        s.units.every((u) => u.revision === target) &&
        stoppedAt(s, target, versionOf).length > 0 &&
        s.units.every(
          (u) =>
            stoppedAt(s, target, versionOf).includes(u.id) ||
            ((u.state === "idle" || u.state === "ready" || u.state === "completed") &&
              u.workload === versionOf(target) &&
              u.ran === versionOf(target)),
        )
      );
    case "halted":
      return s.units.some((u) => u.state === "failed") && !s.units.some((u) => u.state === "recovery");
    case "unplanned":
      return noStack && s.units.every((u) => u.state === "idle");
  }
}

/**
 * The units a rollback to revision `target` waits on because their data moved on: their workload's data was last
 * written by a version other than the one `target` installs — or they recorded that it may have (`upgrade-no-downgrade`,
 * written when a unit is granted: a unit whose upgrade then failed may have moved its data on, and the library keeps
 * the record) — and they wait on the stack, neither upgrading nor failed.
 */
export function stoppedAt(s: Observation, target: number, versionOf: (revision: number) => string): number[] {
  const stack = stackOf(s);
  return s.units
    .filter(
      (u) =>
        (u.ran !== versionOf(target) || Boolean(u.databag["upgrade-no-downgrade"])) &&
        stack.includes(u.id) &&
        u.state !== "upgrading" &&
        u.state !== "failed",
    )
    .map((u) => u.id);
}

/** One line describing a state: each unit (state, charm/workload, what is due), the stack, leader and partition. */
export function describeState(s: Observation, substrate: Substrate, due: (id: number) => string = () => ""): string {
  const units = s.units
    .map((u) => {
      const next = due(u.id);
      return `${u.id}:${u.state || "-"}/r${u.revision}@${u.workload}${u.ran !== u.workload ? `(data ${u.ran})` : ""}${u.pod !== null && u.pod !== u.revision ? `(pod r${u.pod})` : ""}${next ? ` next[${next}]` : ""}`;
    })
    .join("  ");
  const extra = substrate === "k8s" ? ` partition=${s.partition}` : "";
  return `${units} | stack=${s.appData["upgrade-stack"] ?? "-"} leader=${s.leader}${extra}`;
}
