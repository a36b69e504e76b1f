/**
 * The states a unit goes through during an upgrade, as written in its databag under `state`.
 *
 * The order matters and is the original library's: index 0 is "furthest behind". The state of the whole cluster is
 * the state of its furthest-behind unit, so a single `failed` or `recovery` unit holds everyone back.
 */
export const UNIT_STATES = ["recovery", "failed", "idle", "ready", "upgrading", "completed"] as const;

/** One of {@link UNIT_STATES}: what a unit has written in its databag under `state`. */
export type UnitState = (typeof UNIT_STATES)[number];

/** True when `value` is one of {@link UNIT_STATES} (the wire value is a plain string). */
export function isUnitState(value: unknown): value is UnitState {
  return typeof value === "string" && (UNIT_STATES as readonly string[]).includes(value);
}

/**
 * The furthest-behind state among `states`, or `null` when there are none or any is unknown.
 *
 * Mirrors the original's `cluster_state`: `[ready, upgrading, completed]` → `ready`, `[idle, completed]` → `idle`,
 * `[recovery, failed]` → `recovery`. A `null` entry (a unit that has not written a state yet) makes the result
 * `null`: nobody can reason about a cluster with a unit it cannot see.
 */
export function furthestBehind(states: readonly (UnitState | null)[]): UnitState | null {
  let best = Number.POSITIVE_INFINITY;
  for (const state of states) {
    if (state === null) return null;
    best = Math.min(best, UNIT_STATES.indexOf(state));
  }
  return Number.isFinite(best) ? (UNIT_STATES[best] ?? null) : null;
}
