import type { CommitResult, DispatchResult } from "@charm-upgrade/juju";
import { CharmUpgrade } from "@charm-upgrade/juju";
import type { HookMemo } from "./hookMemo.js";
import type { HookEnd, HookRun, JujuModel } from "./jujuModel.js";
import { simPythonCharm } from "./pythonLibCharm.js";
import type { SimCharm } from "./simCharm.js";

/** What {@link runHookSync} asks the model to run. */
export type HookChoice = Parameters<JujuModel["begin"]>[1];

/** What one synchronous hook did. */
export interface SyncHookResult {
  readonly run: HookRun;
  /** What the adapter returned (`null` when the hook threw). */
  readonly result: DispatchResult | null;
  /** What the hook threw (the hook then failed: Juju discards its writes and retries it). */
  readonly error: unknown;
  /** How the model ended it. */
  readonly end: HookEnd;
  /** What the commit changed (`null`: nothing committed). */
  readonly committed: CommitResult | null;
}

/**
 * A cache of the charm's upgrade coordinators: `createUpgrade` validates DEPENDENCIES, which every hook of a revision
 * shares. A coordinator keeps nothing from one hook to the next that decides anything (each `dispatchSync` reads
 * the model afresh), so reusing one is what running a new process per hook would do, only cheaper.
 */
export class CharmUpgrades {
  private readonly cache = new Map<string, CharmUpgrade>();

  /** The coordinator unit `id` runs for `revision` (it reads the config through the hook tools, in each hook). */
  get(model: JujuModel, charm: SimCharm, id: number, revision: number): CharmUpgrade {
    const key = `${id}/${revision}`;
    let upgrade = this.cache.get(key);
    if (!upgrade) {
      if (this.cache.size > 1000) this.cache.clear();
      upgrade = new CharmUpgrade(charm.optionsFor(model, id, revision));
      this.cache.set(key, upgrade);
    }
    return upgrade;
  }
}

/**
 * Run one hook (or action) of unit `id` synchronously: the model's hook tools answer in memory, the real adapter
 * (`CharmUpgrade.dispatchSync`, the same hook program as `dispatch`) runs the core's hook session, the simulated
 * charm answers its calls. `fault`: end it as if it crashed after its work, or as if the agent died before recording
 * it (it runs again). What the verifier and the fault campaign explore is exactly this: the code that ships
 * (`memo`: a cache of whole hooks, see {@link HookMemo}).
 */
export function runHookSync(
  model: JujuModel,
  charm: SimCharm,
  upgrades: CharmUpgrades,
  id: number,
  choice: HookChoice = {},
  fault?: "crashed" | "uncommitted",
  memo?: HookMemo,
): SyncHookResult {
  const run = model.begin(id, choice);
  let result: DispatchResult | null = null;
  let error: unknown = null;
  // A revision before the charm's move to charm-upgrade runs the Python library (a mixed application mid-refresh).
  const upgrade = charm.runsPythonLibrary(run.revision)
    ? simPythonCharm(model, charm, id, run.revision)
    : upgrades.get(model, charm, id, run.revision);
  try {
    result = memo
      ? memo.run(model, charm, run, (tools) => upgrade.dispatchSync({ env: run.env, tools }))
      : upgrade.dispatchSync({ env: run.env, tools: run.tools.runSync });
  } catch (thrown) {
    error = thrown;
  }
  const end: HookEnd = error ? "failed" : (fault ?? "ok");
  const committed = model.end(run, end);
  return { run, result, error, end, committed };
}
