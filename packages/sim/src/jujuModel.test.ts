import type { Substrate } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import type { HookEnd, HookRun, PendingHook } from "./jujuModel.js";
import { JujuModel } from "./jujuModel.js";

/**
 * The one model of Juju on its own, without a charm: each test drives the model through `begin`/`end` (hooks whose
 * only work is the hook-tool calls the test makes) and checks one rule against the Juju or Kubernetes source named
 * in its title or comment. Paths are in juju/juju (Juju 3.x, `worker/uniter/…`; `internal/worker/uniter/…` on main)
 * and kubernetes/kubernetes.
 */

const R = "-r";
const REL = "upgrade:1";

function model(units: number, substrate: Substrate = "vm", options: { leader?: number } = {}): JujuModel {
  return new JujuModel({ app: "app", substrate, units, revision: 1, leader: options.leader ?? 0 });
}

/** A hook's name with its remote unit, as `juju show-status-log` would show it. */
const label = (hook: PendingHook | null) => (hook ? (hook.remote ? `${hook.name} ${hook.remote}` : hook.name) : null);

/** Run the unit's next hook (or what `what` says), doing `work` with its hook tools, and end it `how`. */
function hook(
  m: JujuModel,
  id: number,
  work: (run: HookRun) => void = () => {},
  how: HookEnd = "ok",
  what: Parameters<JujuModel["begin"]>[1] = {},
): HookRun {
  const run = m.begin(id, what);
  work(run);
  m.end(run, how);
  return run;
}

/** Run every hook due on `id` until none is; returns what ran. */
function drain(m: JujuModel, id: number): string[] {
  const ran: string[] = [];
  for (let i = 0; i < 100 && m.nextHook(id); i++) ran.push(label(hook(m, id).hook) ?? "");
  return ran;
}

/** Let everything due happen, units by number, the controller's steps as soon as they are possible. */
function settle(m: JujuModel): void {
  for (let i = 0; i < 1000; i++) {
    const step = m.steps().find((s) => s.kind !== "update-status");
    if (!step) return;
    if (step.kind === "hook") hook(m, step.unit);
    else m.take(step);
  }
  throw new Error("the model did not settle");
}

const set = (key: string, value: string) => (run: HookRun) =>
  run.tools.runSync("relation-set", [R, REL, `${key}=${value}`]);
const dueOf = (m: JujuModel, id: number) => m.due(id).map(label);
const kinds = (m: JujuModel) => m.steps().map((s) => `${s.kind} ${s.unit}`);

describe("the resolver on one unit (worker/uniter/resolver.go NextOp)", () => {
  it("deploys in Juju's order: install, relation-created, leader-elected (leader) or leader-settings-changed, config-changed, start", () => {
    // docs/reference/hook.md "Installation phase" and hook-relation-created ("for all peer-type relations …
    // relation-created events will always fire before start"); the created-relations resolver runs before the
    // leadership resolver; runhook.go Commit queues start after the first config-changed.
    const m = model(2);
    expect(dueOf(m, 0)).toEqual(["install", "upgrade-relation-created", "leader-elected", "config-changed", "start"]);
    expect(dueOf(m, 1)).toEqual([
      "install",
      "upgrade-relation-created",
      "leader-settings-changed",
      "config-changed",
      "start",
    ]);
  });

  it("leadership hooks come before upgrade-charm, and upgrade-charm is followed by config-changed", () => {
    // NextOp asks the leadership resolver before nextOp's charmModified; runhook.go Commit queues config-changed
    // after upgrade-charm (docs/reference/hook.md "Upgrade phase").
    const m = model(2);
    settle(m);
    m.refresh(2);
    m.notice(1);
    m.setLeader(1);
    expect(dueOf(m, 1)).toEqual(["leader-elected", "upgrade-charm", "config-changed"]);
    expect(dueOf(m, 0)).toEqual(["leader-settings-changed"]);
  });

  it("machines: upgrade-charm runs from the new charm, which stays unpacked when the hook fails and is retried", () => {
    // operation/deploy.go: the charm is deployed first, then upgrade-charm is queued; a failed hook is retried.
    const m = model(1);
    settle(m);
    m.refresh(2);
    m.notice(0);
    const failed = hook(m, 0, () => {}, "failed");
    expect(failed.hook.name).toBe("upgrade-charm");
    expect(failed.revision).toBe(2);
    expect(m.units.get(0)?.agent.charm).toBe(2);
    expect(label(m.nextHook(0))).toBe("upgrade-charm");
    expect(drain(m, 0)).toEqual(["upgrade-charm", "config-changed"]);
  });

  it("relation hooks: departed first, then joined with its changed right after, then changed, units sorted by name", () => {
    // worker/uniter/relation/resolver.go nextHookForRelation: ChangedPending, departed, the application's change,
    // joined, changed (sortedUnitNames); docs/reference/hook.md relation-changed "always runs once immediately
    // following the relation-joined hook for that unit".
    const m = model(3);
    settle(m);
    hook(m, 1, set("k", "v"), "ok", { updateStatus: true });
    m.removeUnit(2);
    const added = m.addUnit();
    expect(drain(m, added).slice(0, 2)).toEqual(["install", "upgrade-relation-created"]);
    expect(dueOf(m, 0)).toEqual([
      "upgrade-relation-departed app/2",
      "upgrade-relation-joined app/3",
      "upgrade-relation-changed app/3",
      "upgrade-relation-changed app/1",
    ]);
  });

  it("relation-list counts a hook's remote unit in from the start of -relation-joined, out from the start of -departed", () => {
    // worker/uniter/runner/context/contextfactory.go HookContext: RemoveMember for departed, InvalidateMember (which
    // makes it a member, context/cache.go) for the other hooks with a remote unit.
    const m = model(3);
    settle(m);
    const list = (run: HookRun) => JSON.parse(run.tools.runSync("relation-list", [R, REL, "--format=json"]).stdout);
    m.removeUnit(2);
    const added = m.addUnit();
    drain(m, added);
    let listed: unknown = null;
    const departed = hook(m, 0, (run) => {
      listed = list(run);
    });
    expect(label(departed.hook)).toBe("upgrade-relation-departed app/2");
    expect(listed).toEqual(["app/1"]);
    const joined = hook(m, 0, (run) => {
      listed = list(run);
    });
    expect(label(joined.hook)).toBe("upgrade-relation-joined app/3");
    expect(listed).toEqual(["app/1", "app/3"]);
  });

  it("update-status only when nothing else is due, and only on a started unit", () => {
    // resolver.go nextOp: "UpdateStatus hook runs if nothing else needs to".
    const m = model(2);
    expect(kinds(m)).toEqual(["hook 0", "hook 1"]);
    settle(m);
    expect(kinds(m)).toEqual(["update-status 0", "update-status 1"]);
    expect(m.quiet()).toBe(true);
    expect(() => m.begin(0)).toThrow(/no hook due/);
    m.configure("x", "1");
    expect(kinds(m)).toEqual(["hook 0", "hook 1"]);
  });

  it("a failed hook is retried before anything else, and a retry survives an action", () => {
    // resolver.go NextOp: the leadership and created-relations resolvers need Kind == Continue, a failed hook
    // (RunHook, Pending) goes to nextOpHookError (retried, never skipped); actions/resolver.go runs an action in
    // that state ("We can still run actions if the unit is in a hook error state") and leaves it as it was.
    const m = model(2);
    settle(m);
    m.configure("x", "1");
    hook(m, 0, () => {}, "failed");
    m.setLeader(1);
    m.setLeader(0);
    hook(m, 1, set("k", "v"), "ok", { updateStatus: true });
    expect(label(m.nextHook(0))).toBe("config-changed");
    expect(m.acceptsAction(0)).toBe(true);
    hook(m, 0, () => {}, "ok", { action: { name: "resume-upgrade" } });
    expect(m.units.get(0)?.agent.retry).toEqual({ name: "config-changed" });
    expect(dueOf(m, 0)).toEqual(["config-changed", "leader-elected", "upgrade-relation-changed app/1"]);
  });

  it("an action waits while a hook is queued (config-changed after upgrade-charm), not while one awaits its retry", () => {
    // actions/resolver.go NextOp: RunHook+Queued → no action; the queued hook runs first (resolver.go NextOp).
    const m = model(1);
    settle(m);
    m.refresh(2);
    m.notice(0);
    expect(m.acceptsAction(0)).toBe(true);
    hook(m, 0);
    expect(m.units.get(0)?.agent.queued).toBe("config-changed");
    expect(m.acceptsAction(0)).toBe(false);
    hook(m, 0);
    expect(m.acceptsAction(0)).toBe(true);
  });

  it("uncommitted: the hook's writes reached the controller, the agent runs it again (docs/reference/hook.md 'Errors in hooks')", () => {
    const m = model(2);
    settle(m);
    m.configure("x", "1");
    hook(m, 0, set("k", "v"), "uncommitted");
    expect(m.databags["app/0"]).toEqual({ k: "v" });
    expect(label(m.nextHook(0))).toBe("config-changed");
    expect(label(m.nextHook(1))).toBe("config-changed");
    expect(dueOf(m, 1)).toEqual(["config-changed", "upgrade-relation-changed app/0"]);
  });
});

describe("commits (worker/uniter/runner/context: relation and state writes flushed when the hook succeeds)", () => {
  it("a failed hook's relation-set and state-set are discarded and nobody hears of them; status is set at once", () => {
    const m = model(2);
    settle(m);
    hook(
      m,
      0,
      (run) => {
        set("k", "v")(run);
        run.tools.runSync("state-set", ["s=1"]);
        run.tools.runSync("status-set", ["blocked", "broken"]);
      },
      "failed",
      { updateStatus: true },
    );
    expect(m.databags["app/0"]).toEqual({});
    expect(m.units.get(0)?.store).toEqual({});
    expect(m.units.get(0)?.status).toEqual({ status: "blocked", message: "broken" });
    expect(m.nextHook(1)).toBeNull();
    // a failed update-status is a hook in error like any other: retried first
    expect(label(m.nextHook(0))).toBe("update-status");
  });

  it("what other units hear: a settings version that moved gives each other unit one relation-changed", () => {
    // relation/resolver.go: relation-changed when the remote ChangeVersion differs from the one seen (so several
    // writes before a unit looks coalesce); the writer never hears of its own write; an unchanged value is no write
    // (state/settings.go Write: only the delta).
    const m = model(3);
    settle(m);
    hook(m, 1, set("k", "a"), "ok", { updateStatus: true });
    hook(m, 1, set("k", "b"), "ok", { updateStatus: true });
    expect(dueOf(m, 0)).toEqual(["upgrade-relation-changed app/1"]);
    expect(dueOf(m, 2)).toEqual(["upgrade-relation-changed app/1"]);
    expect(m.nextHook(1)).toBeNull();
    drain(m, 0);
    drain(m, 2);
    hook(m, 1, set("k", "b"), "ok", { updateStatus: true });
    expect(m.nextHook(0)).toBeNull();
  });

  it("the leader's application databag: only the leader writes it, the others hear of it, the leader does not", () => {
    // jujuc/relation-set.go (--app: "cannot write relation settings" for a non-leader); docs/reference/hook.md
    // relation-changed: "the application leader will not receive a relation-changed event for the changes that it
    // writes to the peer relation's application data bag".
    const m = model(3);
    settle(m);
    expect(() =>
      hook(m, 1, (run) => run.tools.runSync("relation-set", [R, REL, "--app", "k=v"]), "ok", { updateStatus: true }),
    ).toThrow(/cannot write relation settings/);
    hook(m, 0, (run) => run.tools.runSync("relation-set", [R, REL, "--app", "k=v"]), "ok", { updateStatus: true });
    expect(m.appData).toEqual({ k: "v" });
    expect(dueOf(m, 1)).toEqual(["upgrade-relation-changed"]);
    expect(m.nextHook(0)).toBeNull();
  });

  it("a unit enters the relation's scope before its relation-created runs: a failed relation-created still joins", () => {
    // relation/statetracker.go SynchronizeScopes → joinRelation (EnterScope), called by the created-relations
    // resolver before it returns relation-created.
    const m = model(2);
    drain(m, 0);
    hook(m, 1);
    const created = hook(m, 1, set("k", "v"), "failed");
    expect(created.hook.name).toBe("upgrade-relation-created");
    expect(m.databags["app/1"]).toEqual({});
    expect(dueOf(m, 0)).toEqual(["upgrade-relation-joined app/1", "upgrade-relation-changed app/1"]);
  });
});

describe("machines: juju refresh reaches each unit agent at its own time", () => {
  it("no upgrade-charm until the agent noticed; each notice is the unit's own", () => {
    // canonical/charm-refresh docs juju-refresh.adoc (machines): "This process happens concurrently and
    // independently for each unit"; resolver.go nextOp charmModified compares the agent's charm with the remote one.
    const m = model(3);
    settle(m);
    m.refresh(2);
    expect(kinds(m)).toEqual([
      "update-status 0",
      "notice 0",
      "update-status 1",
      "notice 1",
      "update-status 2",
      "notice 2",
    ]);
    m.notice(1);
    expect(m.nextHook(0)).toBeNull();
    expect(label(m.nextHook(1))).toBe("upgrade-charm");
    expect(m.quiet()).toBe(false);
  });
});

describe("Kubernetes: the StatefulSet controller (pkg/controller/statefulset/stateful_set_control.go)", () => {
  function rolling(units = 3): JujuModel {
    const m = model(units, "k8s");
    settle(m);
    return m;
  }

  it("deletes the highest outdated pod at or above the partition, one at a time; pods below it are untouched", () => {
    // updateStatefulSet: "we terminate the Pod with the largest ordinal that does not match the update revision",
    // from len-1 down to the partition, returning after one deletion and while a pod on the way is not healthy.
    const m = rolling();
    m.setPartition(1);
    m.refresh(2);
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual(["pod-delete 2"]);
    m.take({ kind: "pod-delete", unit: 2 });
    expect(m.units.get(2)?.pod).toMatchObject({ terminating: true, revision: 1 });
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual([]);
    // the old pod's charm runs stop; the new pod runs upgrade-charm, config-changed and start on the new revision
    // (docs "Event 'upgrade-charm'": stop (old charm) → upgrade-charm (new charm) → config-changed → start)
    expect(drain(m, 2)).toEqual(["stop", "upgrade-charm", "config-changed", "start"]);
    expect(m.units.get(2)?.pod).toMatchObject({ terminating: false, ready: false, revision: 2 });
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual(["pod-ready 2"]);
    m.take({ kind: "pod-ready", unit: 2 });
    // partition 1: unit 1 goes next, unit 0 never
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual(["pod-delete 1"]);
    settle(m);
    expect([...m.units.values()].map((u) => u.pod?.revision)).toEqual([1, 2, 2]);
    expect(m.currentRevision).toBe(1);
    m.setPartition(0);
    settle(m);
    // completeRollingUpdate: every pod on the update revision and Ready → it is the current revision
    expect(m.currentRevision).toBe(2);
  });

  it("a pod not on the update revision is deleted even when it is not Ready; one on it that is not Ready blocks", () => {
    // updateStatefulSet's last loop checks the revision before health; Juju's StatefulSets are Parallel.
    const m = rolling();
    m.setPartition(3);
    m.evict(2);
    drain(m, 2);
    expect(m.units.get(2)?.pod).toMatchObject({ revision: 1, ready: false });
    m.refresh(2);
    m.setPartition(2);
    expect(kinds(m)).toContain("pod-delete 2");
  });

  it("evict(): a pod deleted outside a rollout comes back from its ordinal's revision and runs upgrade-charm (LP#2021891)", () => {
    const m = rolling();
    m.setPartition(2);
    m.refresh(2);
    m.evict(0);
    expect(drain(m, 0)).toEqual(["stop", "upgrade-charm", "config-changed", "start"]);
    expect(m.units.get(0)?.pod?.revision).toBe(1);
  });

  it("awaitsRollout(): a pod not on the update revision awaits a rollout", () => {
    const m = rolling();
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([false, false, false]);
    m.setPartition(1);
    m.refresh(2);
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([true, true, true]);
    settle(m);
    expect(m.currentRevision).toBe(1);
    // refreshed back before the rollout completed: the update revision is the current one, pods 1 and 2 await it
    m.refresh(1);
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([false, true, true]);
    m.refresh(2);
    // pods 1 and 2 restarted on the update revision; the rollout is not complete (pod 0 held by the partition)
    expect(m.currentRevision).toBe(1);
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([true, false, false]);
    m.setPartition(0);
    settle(m);
    expect(m.currentRevision).toBe(2);
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([false, false, false]);
    // LP#2036246: a refresh back writing a new template makes every pod outdated, even on the same charm
    m.refreshRecreatingEveryPod(2);
    expect([0, 1, 2].map((id) => m.awaitsRollout(id))).toEqual([true, true, true]);
  });

  it("unitRollout(): the pods off the current revision, and those at or above the partition the rollout restarts", () => {
    const m = rolling();
    expect(m.unitRollout()).toEqual({ restarted: [], pending: [] });
    m.setPartition(1);
    m.refresh(2);
    expect(m.unitRollout()).toEqual({ restarted: [], pending: [1, 2] });
    settle(m);
    expect(m.unitRollout()).toEqual({ restarted: [1, 2], pending: [] });
    // refreshed back before the rollout completed: pods 1 and 2 are on neither the current revision nor the update one
    m.refresh(1);
    expect(m.unitRollout()).toEqual({ restarted: [1, 2], pending: [1, 2] });
    m.refresh(2);
    m.setPartition(0);
    expect(m.unitRollout()).toEqual({ restarted: [1, 2], pending: [0] });
    settle(m);
    expect(m.unitRollout()).toEqual({ restarted: [], pending: [] });
    // LP#2036246: every pod outdated, still on the revision it was created from
    m.refreshRecreatingEveryPod(2);
    expect(m.unitRollout()).toEqual({ restarted: [], pending: [0, 1, 2] });
  });

  it("patchPartition(): kubectl patch moves the partition like the charm's call, and the model records whose it is", () => {
    const m = rolling();
    m.setPartition(2);
    m.refresh(2);
    m.patchPartition(3);
    expect(m.partition).toBe(3);
    expect(m.partitionByHand).toBe(true);
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual([]);
    const saved = m.snapshot();
    m.setPartition(2);
    expect(m.partitionByHand).toBe(false);
    expect(kinds(m).filter((k) => k.startsWith("pod"))).toEqual(["pod-delete 2"]);
    m.restore(saved);
    expect([m.partition, m.partitionByHand]).toEqual([3, true]);
  });

  it("a deleted pod whose unit never started runs no stop (resolver.go nextOp: Shutdown && !Started → terminate)", () => {
    const m = rolling();
    m.evict(1);
    hook(m, 1); // the old pod's stop; the new pod's agent has not started
    expect(m.units.get(1)?.agent.started).toBe(false);
    m.evict(1);
    expect(m.units.get(1)?.pod?.terminating).toBe(false);
    expect(label(m.nextHook(1))).toBe("upgrade-charm");
  });

  it("a terminating pod's agent runs stop before a failed or queued hook, after the idle agent's leadership hooks", () => {
    // resolver.go NextOp: CreatedRelations and Leadership (need Kind == Continue) come before the Shutdown check,
    // which runs nextOp (stop) instead of any queued or pending hook.
    const m = rolling();
    m.setLeader(2);
    m.evict(2);
    expect(dueOf(m, 2)[0]).toBe("leader-elected");
    const n = rolling();
    n.configure("x", "1");
    hook(n, 2, () => {}, "failed");
    n.evict(2);
    expect(label(n.nextHook(2))).toBe("stop");
  });
});

describe("snapshots, due() and relationHooksDue()", () => {
  it("snapshot and restore round-trip: equal text, equal futures, statuses kept", () => {
    const m = model(3, "k8s");
    drain(m, 0);
    hook(m, 0, set("k", "v"), "ok", { updateStatus: true });
    m.setPartition(2);
    m.refresh(2);
    m.configureCurrentCharmOnly("x", "1");
    const snapshot = m.snapshot();
    const statuses = [...m.units.values()].map((u) => u.status);
    const next = [0, 1, 2].map((id) => label(m.nextHook(id)));
    settle(m);
    m.restore(snapshot);
    expect(m.snapshot()).toBe(snapshot);
    expect([0, 1, 2].map((id) => label(m.nextHook(id)))).toEqual(next);
    expect([...m.units.values()].map((u) => u.status)).toEqual(statuses);
  });

  it("due() replays the resolver without changing the model", () => {
    const m = model(2, "k8s");
    const before = m.snapshot();
    expect(dueOf(m, 1).length).toBeGreaterThan(3);
    expect(m.snapshot()).toBe(before);
  });

  it("relationHooksDue() lists every relation hook the watchers could report, only when the relation resolver picks", () => {
    const m = model(3);
    settle(m);
    hook(m, 1, set("k", "a"), "ok", { updateStatus: true });
    hook(m, 2, set("k", "a"), "ok", { updateStatus: true });
    expect(m.relationHooksDue(0).map(label)).toEqual([
      "upgrade-relation-changed app/1",
      "upgrade-relation-changed app/2",
    ]);
    // a relation hook out of order (a watcher reporting late) is taken in place of the resolver's choice
    hook(m, 0, () => {}, "ok", { relationHook: { name: "upgrade-relation-changed", remote: "app/2" } });
    expect(dueOf(m, 0)).toEqual(["upgrade-relation-changed app/1"]);
    m.configure("x", "1");
    expect(m.relationHooksDue(0)).toEqual([]);
  });
});

describe("faults seen in production (docs/verification.md 'Faults from production and the model')", () => {
  it("resolveNoRetry: the failed hook counts as run, its follow-up is queued (ResolvedNoHooks → NewSkipHook)", () => {
    const m = model(1);
    settle(m);
    m.refresh(2);
    m.notice(0);
    hook(m, 0, set("k", "v"), "failed");
    m.resolveNoRetry(0);
    expect(m.units.get(0)?.agent.retry).toBeNull();
    expect(dueOf(m, 0)).toEqual(["config-changed"]);
    expect(m.databags["app/0"]).toEqual({});
  });

  it("refreshSkippingUpgradeCharm (LP#2068500): new charm code, no upgrade-charm, the failed hook retried on it", () => {
    const m = model(2);
    settle(m);
    m.configure("x", "1");
    hook(m, 0, () => {}, "failed");
    m.refresh(2);
    m.notice(0);
    m.refreshSkippingUpgradeCharm(0);
    const retried = hook(m, 0);
    expect(retried.hook.name).toBe("config-changed");
    expect(retried.revision).toBe(2);
    expect(m.nextHook(0)).toBeNull();
  });

  it("killPod (LP#2035102): no stop hook, the pod is recreated at once", () => {
    const m = model(2, "k8s");
    settle(m);
    m.killPod(1);
    expect(drain(m, 1)).toEqual(["upgrade-charm", "config-changed", "start"]);
  });

  it("evictOutdatedSilently (LP#2073506): the outdated unit's new pod runs no hook and is never Ready", () => {
    const m = model(3, "k8s");
    settle(m);
    m.setPartition(2);
    m.refresh(2);
    settle(m);
    m.evictOutdatedSilently(2);
    expect(m.units.get(2)?.pod?.terminating).toBe(false);
    m.evictOutdatedSilently(1);
    expect(drain(m, 1)).toEqual(["stop"]);
    expect(m.units.get(1)?.pod).toMatchObject({ revision: 1, hung: true, ready: false });
    expect(m.nextHook(1)).toBeNull();
    expect(kinds(m).filter((k) => k.endsWith(" 1"))).toEqual([]);
    expect(m.acceptsAction(1)).toBe(false);
    // the controller deletes it for the rollout once the partition reaches it; the replacement is a normal pod
    m.setPartition(1);
    m.take({ kind: "pod-delete", unit: 1 });
    expect(drain(m, 1)).toEqual(["upgrade-charm", "config-changed", "start"]);
  });

  it("bouncePartition (LP#2073473): the pod deleted at the lowered partition comes back below it, hung", () => {
    const m = model(3, "k8s");
    settle(m);
    m.setPartition(2);
    m.refresh(2);
    settle(m);
    m.bouncePartition(1, 2);
    expect(m.partition).toBe(2);
    expect(drain(m, 1)).toEqual(["stop"]);
    expect(m.units.get(1)?.pod).toMatchObject({ revision: 1, hung: true });
    expect(m.nextHook(1)).toBeNull();
  });

  it("refreshRecreatingEveryPod (LP#2036246): a rollback restarts the pods that never refreshed too", () => {
    const plain = model(3, "k8s");
    settle(plain);
    plain.setPartition(2);
    plain.refresh(2);
    settle(plain);
    const buggy = new JujuModel({ app: "app", substrate: "k8s", units: 3, revision: 1 });
    buggy.restore(plain.snapshot());
    plain.refresh(1);
    buggy.refreshRecreatingEveryPod(1);
    settle(plain);
    settle(buggy);
    // partition 2: the buggy refresh restarts unit 2 (outdated) as the plain one does, and nothing below
    expect(kinds(buggy).filter((k) => k.startsWith("pod"))).toEqual([]);
    buggy.setPartition(0);
    plain.setPartition(0);
    expect(kinds(plain).filter((k) => k.startsWith("pod"))).toEqual([]);
    expect(kinds(buggy).filter((k) => k.startsWith("pod"))).toEqual(["pod-delete 1"]);
  });

  it("configureCurrentCharmOnly (LP#2084886): outdated units neither see the change nor run config-changed", () => {
    const m = model(3, "k8s");
    settle(m);
    m.setPartition(2);
    m.refresh(2);
    settle(m);
    m.configureCurrentCharmOnly("pause-after-unit-upgrade", "none");
    const read = (id: number) => hook(m, id, () => {}, "ok", { updateStatus: true }).tools.model.config;
    expect(dueOf(m, 2)).toEqual(["config-changed"]);
    expect(m.nextHook(0)).toBeNull();
    expect(read(0)).toEqual({});
    expect(m.configOf(1)).toEqual({});
    // once its pod runs the application's charm, the unit reads the application's config
    m.setPartition(1);
    settle(m);
    expect(m.configOf(1)).toEqual({ "pause-after-unit-upgrade": "none" });
    expect(read(1)).toEqual({ "pause-after-unit-upgrade": "none" });
    expect(read(0)).toEqual({});
  });
});
