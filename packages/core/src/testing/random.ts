/**
 * A small seeded pseudo-random generator (mulberry32), so that a simulation is a pure function of its seed: the
 * same seed replays the same schedule and the same faults, and a failing property prints a seed that reproduces it.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n) (`0` when `n <= 1`). */
  int(n: number): number;
  /** True with probability `p` (never when `p <= 0`; the generator still advances, keeping schedules aligned). */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/**
 * Create a {@link Random} from a 32-bit seed (any number; it is truncated to 32 bits).
 *
 * @example
 * ```ts
 * const random = createRandom(42);
 * random.int(6); // always the same first roll for seed 42
 * ```
 */
export function createRandom(seed: number): Random {
  let a = Math.trunc(seed) >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => (n <= 1 ? (next(), 0) : Math.floor(next() * n));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (!items.length) throw new RangeError("pick() needs a non-empty list");
      return items[int(items.length)] as T;
    },
  };
}
