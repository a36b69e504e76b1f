/**
 * Protocol bugs that verification found in the core, kept as a record: how each was found, what it did, how it was
 * fixed, and which regression tests pin the fix. `pnpm verify` lists them in docs/verification.md, so a reader of
 * the results sees that the checker earns its keep on the real core, not only on planted bugs.
 *
 * @module
 */

/** A bug found by exploration or a fault campaign, and fixed. */
export interface FoundBug {
  readonly id: string;
  /** What went wrong, for an operator. */
  readonly summary: string;
  /** How it was found and minimised. */
  readonly foundBy: string;
  /** What the core does now. */
  readonly fix: string;
  /** Where the regression tests are. */
  readonly pinnedBy: string;
}

/** Every bug verification found in the core, oldest first. */
export const FOUND_BUGS: readonly FoundBug[] = [
  {
    id: "rollback-skips-completed-units",
    summary:
      "Machines: when the failed unit left during a rollback (`juju remove-unit`), the leader popped units whose `completed` dated from the forward upgrade; they were never rolled back and ended idle on the old charm with the new workload.",
    foundBy:
      "`pnpm soak` (seed 196; 9 of 20,000 runs), minimised by exploring the rollback exhaustively with one scale-in (2 units, machines): a 12-step trace.",
    fix: "Recovery records the units whose `completed` is stale in `upgrade-rollback-pending`; the leader pops none of them, and none is granted, until the leader has seen it `ready` (it received the charm again).",
    pinnedBy:
      "packages/verify/src/regressions.test.ts, packages/core/src/reduce.test.ts (the pending list) and packages/verify/src/soak.test.ts (seed 196)",
  },
  {
    id: "skipped-upgrade-charm-stalls",
    summary:
      "Machines: a unit whose last hook failed got the new charm without `upgrade-charm` (LP#2068500; `juju refresh --force-units` from an error, or `juju resolve --no-retry` on a failed upgrade-charm); it stayed `idle` on the new charm, the others `ready`, and nothing was ever granted.",
    foundBy:
      "A one-off sweep of the model's production faults (10 of 60 runs waited for ever), then exploring the upgrade with the fault (`faults.skipUpgradeCharm`, 2 units, machines): a livelock from the 4th step.",
    fix: "A unit whose charm (`.juju-charm`) is not the one its databag recorded, in a hook without `upgrade-charm`, takes the upgrade-charm it missed first (`missedUpgradeCharm`), reading what an upgrade-charm reads.",
    pinnedBy:
      "packages/verify/src/regressions.test.ts, packages/verify/src/explore.test.ts and packages/core/src/observed.test.ts",
  },
  {
    id: "crashed-grant-then-refresh-back",
    summary:
      "Machines: a grant's hook failed after the charm upgraded the workload (Juju discarded its writes: the unit stayed `idle` on record), then `juju refresh` back reached the unit before a retry committed the upgrade; it ended `idle` on the old charm running the new workload, never rolled back.",
    foundBy:
      "An engineer combining the soak's `crash` with a refresh back (2 units), then exploring `refreshBack` with the fault (`faults.crashGrant`, 2 units, machines, one-step grants): a livelock in 294 states.",
    fix: "A unit idle or ready on the roll's origin charm whose charm reports (`workloadVersion()`) another workload version than that charm installs is handled as upgraded (`workloadAhead`): `ready` on the old charm, rolled back by the leader.",
    pinnedBy: "packages/verify/src/regressions.test.ts and packages/core/src/observed.test.ts",
  },
  {
    id: "crashed-grant-on-second-refresh",
    summary:
      "Machines: a unit completed the roll's revision, a `juju refresh` to a third reached it before the leader popped it, and its grant's hook on the third upgraded the workload and failed (Juju discarded its writes: `completed` on the roll's revision on record); the leader popped it and took that revision as the target; once the operator refreshed to it as the statuses said, the unit's `completed` ended the roll with the third revision's workload under the target's charm, never upgraded again.",
    foundBy:
      "Exploring secondRefresh with crashGrant, 2 units, machines (`faults.crashGrant`, two-step grants): stack-lost (58 times) and a livelock (170 states) in 276,601 states.",
    fix: "A unit that recorded `completed`, receives the roll's target and whose charm reports (`workloadVersion()`) another workload version than that charm installs is not done (`completedOnOtherWorkload`): `ready` again, which the leader puts back on the stack even once it emptied (`readyOffStack`). The leader's pop was right (it sees the record only): `stack-lost` now also judges a machine whose charm was replaced without a committed hook by the workload of the charm it runs.",
    pinnedBy: "packages/verify/src/regressions.test.ts and packages/core/src/observed.test.ts",
  },
];
