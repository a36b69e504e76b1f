import type { HookChoice, ModelStep } from "@charm-upgrade/sim";
import type { Breach } from "./invariants.js";
import { stateBreaches, stepBreaches } from "./invariants.js";
import type { HookTrace, Observation, World } from "./world.js";
import { NEW } from "./world.js";

/**
 * Driving a {@link World} through whole upgrades for tests: a scheduler that picks among what Juju (and the
 * StatefulSet controller) may do next, time passing (`update-status`) when nothing else is due, the operator's
 * `resume-upgrade`, and a record of every step — its grants, its hooks and every safety invariant it breaks (the
 * same checks as the exhaustive exploration and the fault campaign).
 *
 * @module
 */

/** A scheduler: which of `count` possible steps happens next. */
export type Pick = (count: number) => number;

/** A scheduler that cycles through a list of choices (what fast-check generates and shrinks). */
export function picker(picks: readonly number[]): Pick {
  let i = 0;
  return (count) => (picks.length ? (picks[i++ % picks.length] ?? 0) % count : 0);
}

/**
 * A grant (a `grantUpgrade` effect of a hook), judged as the granting hook saw the model: the committed states and
 * holds when it began. Taken from the hook's effects rather than from the charm's callback, so a hook the cache of
 * whole hooks replays (`HookMemo`) is counted as well.
 */
export interface RecordedGrant {
  readonly unit: number;
  /** The step that made it. */
  readonly step: number;
  /** The unit was already `upgrading` when the hook began: the library asks the charm to carry on. */
  readonly again: boolean;
  /** Other units whose committed state was `upgrading` (must be empty on machines). */
  readonly upgradingOthers: readonly number[];
  /** Units whose committed `upgrade-hold` was set, or whose charm held the roll in the granting hook itself. */
  readonly held: readonly number[];
}

/** How {@link Recorder.toRest} drives the world. */
export interface DriveOptions {
  /** Which step happens next (default: the first possible, units by number). */
  readonly pick?: Pick | undefined;
  /**
   * Units whose next `relation-changed` runs twice (its agent dies before recording it), one entry per fault; each
   * is used up the first time that unit's next hook is a `relation-changed`.
   */
  readonly duplicates?: number[] | undefined;
  /** Called before each step with the number of steps taken so far: the operator's moves mid-roll. */
  readonly before?: ((steps: number) => void) | undefined;
  /** Give up after this many steps (default 20,000): the run did not come to rest. */
  readonly limit?: number | undefined;
}

/** A world and everything that happened in it, checked step by step. */
export class Recorder {
  readonly world: World;
  readonly grants: RecordedGrant[] = [];
  readonly hooks: HookTrace[] = [];
  /** Every change of a unit's committed state, with the step that made it. */
  readonly states: { readonly step: number; readonly unit: number; readonly from: string; readonly to: string }[] = [];
  /** Breaches of the safety invariants, each with the step that broke it. */
  readonly breaches: (Breach & { readonly step: number })[] = [];
  /** A pre-upgrade-check succeeded (grants before it break `grant-before-plan`). */
  planned = false;
  steps = 0;

  constructor(world: World) {
    this.world = world;
  }

  /** Take one step, recording its grants and hooks and checking it against every safety invariant. */
  step<T>(unit: number | null, act: () => T): T {
    const { world } = this;
    const before = world.observe();
    const holdsBefore = new Set(world.charm.holds.keys());
    world.takeTrace();
    const result = act();
    const after = world.observe();
    const trace = world.takeTrace();
    this.steps++;
    for (const hook of trace.hooks) {
      if (!hook.effects.some((effect) => effect.type === "grantUpgrade")) continue;
      const others = before.units.filter((u) => u.id !== hook.unit);
      this.grants.push({
        unit: hook.unit,
        step: this.steps,
        again: before.units.find((u) => u.id === hook.unit)?.state === "upgrading",
        upgradingOthers: others.filter((u) => u.state === "upgrading").map((u) => u.id),
        held: before.units
          .filter((u) => (u.id === hook.unit ? holdsBefore.has(u.id) : Boolean(u.databag["upgrade-hold"])))
          .map((u) => u.id),
      });
    }
    this.hooks.push(...trace.hooks);
    for (const unit of after.units) {
      const from = before.units.find((u) => u.id === unit.id)?.state ?? "";
      if (from !== unit.state) this.states.push({ step: this.steps, unit: unit.id, from, to: unit.state });
    }
    const versionOf = (revision: number) => world.charm.versionOf(revision);
    const breaches = [
      ...stepBreaches({
        substrate: world.substrate,
        before,
        after,
        ...trace,
        unit,
        planned: this.planned,
        newRevision: NEW,
        versionOf,
      }),
      ...stateBreaches(after, world.substrate),
    ];
    for (const breach of breaches) this.breaches.push({ ...breach, step: this.steps });
    return result;
  }

  /** Run an operator's action on `unit` (a successful `pre-upgrade-check` plans the upgrade). */
  action(
    unit: number,
    name: "pre-upgrade-check" | "resume-upgrade",
  ): { readonly ok: boolean; readonly message: string } {
    const outcome = this.step(unit, () => this.world.action(unit, name));
    if (name === "pre-upgrade-check" && outcome.ok) this.planned = true;
    return outcome;
  }

  /** Run a hook of `unit` (its next one, or `update-status`). */
  hook(unit: number, choice: HookChoice = {}, fault?: "uncommitted"): void {
    this.step(unit, () => this.world.hook(unit, choice, fault));
  }

  /** The leader's unit number (unit 0 when there is none, which no test here reaches). */
  get leader(): number {
    return this.world.model.leader ?? 0;
  }

  /** The world as the invariants see it. */
  observe(): Observation {
    return this.world.observe();
  }

  /**
   * Let time pass until the world is at rest: every step Juju and the controller may take, in the order `pick`
   * chooses, and when nothing but `update-status` is due, a round of it on every unit (so a charm that answers a
   * grant in a later hook gets that hook, and a hold or a config change is noticed), until a round changes
   * nothing. Returns false when `limit` steps were taken first.
   */
  toRest(options: DriveOptions = {}): boolean {
    const pick = options.pick ?? (() => 0);
    const limit = options.limit ?? 20_000;
    const { world } = this;
    const { model } = world;
    while (this.steps < limit) {
      options.before?.(this.steps);
      const busy = model.steps().filter((s) => s.kind !== "update-status");
      if (busy.length) {
        const next = busy[pick(busy.length)] as ModelStep;
        if (next.kind === "hook") {
          const duplicates = options.duplicates;
          const at = duplicates?.indexOf(next.unit) ?? -1;
          if (duplicates && at >= 0 && model.nextHook(next.unit)?.name.endsWith("-relation-changed")) {
            duplicates.splice(at, 1);
            this.hook(next.unit, {}, "uncommitted");
          } else this.hook(next.unit);
        } else if (next.kind !== "update-status") this.step(null, () => world.take(next));
        continue;
      }
      // Nothing due but update-status: a round of it, starting where the scheduler says.
      const ticks = model.steps().map((s) => s.unit);
      if (!ticks.length) return true;
      const first = pick(ticks.length);
      const before = world.snapshot();
      for (let i = 0; i < ticks.length && this.steps < limit; i++) {
        const unit = ticks[(first + i) % ticks.length] as number;
        if (model.units.has(unit) && !model.nextHook(unit)) this.hook(unit, { updateStatus: true });
      }
      if (world.snapshot() === before && model.quiet()) return true;
    }
    return false;
  }

  /**
   * {@link toRest}, then `resume-upgrade` on the leader whenever the roll waits for the operator, until the leader
   * refuses it (nothing to resume). Returns false when the world did not come to rest.
   */
  toEnd(options: DriveOptions = {}): boolean {
    for (;;) {
      if (!this.toRest(options)) return false;
      const stack = this.world.model.appData["upgrade-stack"];
      if (!stack || stack === "[]") return true;
      if (!this.action(this.leader, "resume-upgrade").ok) return true;
    }
  }

  /** The units granted, in the order of their first grant since step `from` (re-grants left out). */
  order(from = 0): number[] {
    const order: number[] = [];
    for (const grant of this.grants)
      if (grant.step > from && !grant.again && !order.includes(grant.unit)) order.push(grant.unit);
    return order;
  }

  /** Each unit's committed state and the workload it runs, by unit number. */
  units(): [number, string, string][] {
    return this.observe().units.map((u) => [u.id, u.state, u.workload]);
  }
}
