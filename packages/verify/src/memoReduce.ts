import { reduce } from "@charm-upgrade/core";
import type { ReduceResult, UpgradeEvent, UpgradeState } from "@charm-upgrade/core";

/** A reducer with the signature of the core's `reduce`. */
export type Reducer = (state: UpgradeState, event: UpgradeEvent) => ReduceResult;

/**
 * The core's `reduce`, memoised: `reduce` is a pure function of its JSON input, and an exploration feeds it the same
 * (state, event) pair from many interleavings, so most calls are answered from the cache. Results are shared
 * between callers, which never mutate them. The cache is dropped whenever it reaches `limit` entries.
 *
 * Equal JSON texts mean equal inputs (the state and events are plain JSON data), so a cache hit returns exactly
 * what `reduce` would.
 */
export function memoReduce(inner: Reducer = reduce, limit = 200_000): Reducer & { readonly stats: { hits: number; misses: number } } {
  let cache = new Map<string, ReduceResult>();
  const stats = { hits: 0, misses: 0 };
  const memo = (state: UpgradeState, event: UpgradeEvent): ReduceResult => {
    const key = `${JSON.stringify(state)}\u0000${JSON.stringify(event)}`;
    const hit = cache.get(key);
    if (hit) {
      stats.hits++;
      return hit;
    }
    stats.misses++;
    const result = inner(state, event);
    if (cache.size >= limit) cache = new Map();
    cache.set(key, result);
    return result;
  };
  return Object.assign(memo, { stats });
}
