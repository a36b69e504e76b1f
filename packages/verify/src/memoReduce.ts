import { reduce } from "@charm-upgrade/core";
import type { ReduceResult, UpgradeEvent, UpgradeState } from "@charm-upgrade/core";

/** A reducer with the signature of the core's `reduce`. */
export type Reducer = (state: UpgradeState, event: UpgradeEvent) => ReduceResult;

/** A memoised reducer, with its cache statistics. */
export type MemoReducer = Reducer & { readonly stats: { hits: number; misses: number } };

/**
 * The core's `reduce`, memoised: `reduce` is a pure function of its plain-JSON input, and an exploration feeds it
 * the same (state, event) pair from many interleavings, so most calls are answered from the cache. Results are
 * shared between callers, which never mutate them. The cache is dropped whenever it reaches `limit` entries.
 *
 * The key is the JSON of the input, except that each `dependencies` object (the charm's DEPENDENCIES, shared by
 * every hook of a revision, and the stored ones, shared through the model's view cache) is named by its identity:
 * those objects are never mutated, so equal keys still mean equal inputs, and a cache hit returns exactly what
 * `reduce` would.
 */
export function memoReduce(inner: Reducer = reduce, limit = 200_000): MemoReducer {
  let cache = new Map<string, ReduceResult>();
  const stats = { hits: 0, misses: 0 };
  const ids = new WeakMap<object, number>();
  let nextId = 0;
  const idOf = (value: unknown): string => {
    if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
    let id = ids.get(value);
    if (id === undefined) {
      id = nextId++;
      ids.set(value, id);
    }
    return `#${id}`;
  };
  const viewKey = (view: unknown): string => {
    if (view === null || typeof view !== "object") return JSON.stringify(view) ?? "undefined";
    const { dependencies, ...rest } = view as { dependencies?: unknown };
    return `${idOf(dependencies)}${JSON.stringify(rest)}`;
  };
  const memo = (state: UpgradeState, event: UpgradeEvent): ReduceResult => {
    const { dependencies, view, ...context } = state.context;
    const { view: eventView, ...eventRest } = event as { view?: unknown };
    const key =
      `${JSON.stringify(state.value)}${idOf(dependencies)}${viewKey(view)}${JSON.stringify(context)}` +
      `\u0000${"view" in event ? viewKey(eventView) : "-"}${JSON.stringify(eventRest)}`;
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
