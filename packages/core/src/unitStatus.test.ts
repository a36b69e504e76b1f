import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appStatusOf } from "./appStatus.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { createUpgradeState, reduce } from "./reduce.js";
import { rollbackCommand } from "./rollbackCommand.js";
import { NEW, OLD } from "./testing/index.js";
import type { UpgradeContext } from "./upgradeContext.js";
import { runningWorkload, unitStatusDuringUpgrade } from "./unitStatus.js";
import { contextFromInput } from "./upgradeMachine.js";

const stored = JSON.stringify(OLD.dependencies);

function bags(states: Record<number, string>, app: Record<string, string>, leader = false): PeerDatabags {
  return {
    leader,
    units: Object.fromEntries(Object.entries(states).map(([id, state]) => [`db/${id}`, { state }])),
    app,
  };
}

function context(
  raw: PeerDatabags,
  unit = 1,
  extra: { charm?: string; workloadVersion?: string } = {},
): UpgradeContext {
  return contextFromInput({
    app: "db",
    unit,
    substrate: "vm",
    dependencies: NEW.dependencies,
    view: readPeerView(raw),
    ...extra,
  });
}

describe("rollbackCommand", () => {
  const view = (fromCharm: string | null) => ({ ...readPeerView(bags({}, {})), fromCharm });
  it("names the revision the application ran before the upgrade", () => {
    expect(rollbackCommand({ app: "db", view: view("ch:amd64/jammy/db-381") })).toBe("juju refresh db --revision 381");
  });
  it("a local charm has no revision to go back to: it names the file", () => {
    expect(rollbackCommand({ app: "db", view: view("local:jammy/db-3") })).toBe(
      "juju refresh db --path <the previous .charm file>",
    );
  });
  it("nothing recorded (a plan made by the Python library): a placeholder", () => {
    expect(rollbackCommand({ app: "db", view: view(null) })).toBe("juju refresh db --revision <previous>");
  });
});

describe("rollbackCommand on Kubernetes: the old image comes back too", () => {
  const IMAGE = `registry.example/charm/abc/db-image@sha256:${"e5".repeat(32)}`;
  const view = (fromResource: string | null) => ({
    ...readPeerView(bags({}, {})),
    fromCharm: "ch:amd64/jammy/db-381",
    fromResource,
  });

  it("names the image resource recorded at pre-upgrade-check", () => {
    expect(rollbackCommand({ app: "db", view: view(`db-image=${IMAGE}`) })).toBe(
      `juju refresh db --revision 381 --resource db-image=${IMAGE}`,
    );
  });

  it("where a status has no room for the image, it says where the whole command is, and never runs without it", () => {
    const short = rollbackCommand({ app: "db", view: view(`db-image=${IMAGE}`) }, 60);
    expect(short).toBe("juju refresh db --revision 381 --resource db-image=<image: see juju debug-log>");
    expect(rollbackCommand({ app: "db", view: view("db-image=db:14.9") }, 60)).toBe(
      "juju refresh db --revision 381 --resource db-image=db:14.9",
    );
    // never longer than the whole: a short image stays, whatever the room
    expect(rollbackCommand({ app: "db", view: view("db-image=db:14.9") }, 20)).toBe(
      "juju refresh db --revision 381 --resource db-image=db:14.9",
    );
  });

  it("the leader records the image the charm read at pre-upgrade-check, and logs the whole command", () => {
    const raw = bags({ 0: "idle", 1: "idle" }, { dependencies: stored }, true);
    const input = {
      app: "db",
      unit: 0,
      substrate: "k8s" as const,
      dependencies: OLD.dependencies,
      view: readPeerView(raw),
      charm: "ch:amd64/jammy/db-381",
      resource: `db-image=${IMAGE}`,
    };
    const checked = reduce(createUpgradeState(input), { type: "preUpgradeCheck", view: readPeerView(raw) });
    const planned = reduce(checked.state, { type: "preUpgradeCheckPassed" });
    expect(planned.effects.find((e) => e.type === "writeAppData")).toMatchObject({
      data: { "upgrade-from-resource": `db-image=${IMAGE}` },
    });
    const command = `juju refresh db --revision 381 --resource db-image=${IMAGE}`;
    expect(planned.effects.find((e) => e.type === "actionResult")).toMatchObject({ results: { rollback: command } });
    expect(planned.effects).toContainEqual(
      expect.objectContaining({
        type: "log",
        message: expect.stringContaining(`To roll back at any time: ${command}`),
      }),
    );
    // juju refresh came first (the leader runs another charm than the settled one): the image it reads is the new
    // one, so none is recorded
    const early = reduce(
      createUpgradeState({
        ...input,
        charm: "ch:amd64/jammy/db-382",
        view: readPeerView({ ...raw, app: { ...raw.app, "upgrade-settled-charm": "ch:amd64/jammy/db-381" } }),
      }),
      { type: "preUpgradeCheckPassed" },
    );
    expect(early.effects.find((e) => e.type === "writeAppData")).not.toMatchObject({
      data: { "upgrade-from-resource": expect.anything() },
    });
  });

  it("a failure's statuses give the command with the image: the unit's after the pre-upgrade-check, the application's", () => {
    const halted = {
      dependencies: stored,
      "upgrade-stack": "[0, 1, 2]",
      "upgrade-from-charm": "ch:amd64/jammy/db-381",
      "upgrade-from-resource": "db-image=db:14.9",
    };
    const raw = bags({ 0: "idle", 1: "idle", 2: "failed" }, halted, true);
    const leader = contextFromInput({
      app: "db",
      unit: 0,
      substrate: "k8s",
      dependencies: NEW.dependencies,
      view: readPeerView(raw),
    });
    const command = "juju refresh db --revision 381 --resource db-image=db:14.9";
    expect(appStatusOf(leader)).toEqual({
      type: "setAppStatus",
      status: "blocked",
      // both steps whole within 120 characters: a shorter wording than without an image
      message: `db/2 failed. Run pre-upgrade-check on the leader, then ${command}`,
    });
    const failed = contextFromInput({
      app: "db",
      unit: 2,
      substrate: "k8s",
      dependencies: NEW.dependencies,
      view: readPeerView({ ...raw, leader: false }),
    });
    expect(
      unitStatusDuringUpgrade(failed, "failed", {
        type: "setUnitStatus",
        status: "blocked",
        message: "replica lag 30s",
      }),
    ).toEqual({
      type: "setUnitStatus",
      status: "blocked",
      message: `replica lag 30s | roll back: pre-upgrade-check, then ${command}`,
    });
  });

  it("a recorded value that is not NAME=IMAGE is reported, never pasted into a command", () => {
    const view = readPeerView(bags({ 0: "ready" }, { "upgrade-from-resource": "db-image=x; rm -rf /" }));
    expect(view.fromResource).toBeNull();
    expect(view.problems).toContainEqual(expect.objectContaining({ unit: null, key: "upgrade-from-resource" }));
  });
});

describe("upgrade-from-charm", () => {
  it("the leader records its charm with the plan, and the plan's result gives the rollback command", () => {
    const raw = bags({ 0: "idle", 1: "idle" }, { dependencies: stored }, true);
    const state = createUpgradeState({
      app: "db",
      unit: 0,
      substrate: "vm",
      dependencies: OLD.dependencies,
      view: readPeerView(raw),
      charm: "ch:amd64/jammy/db-381",
    });
    const checked = reduce(state, { type: "preUpgradeCheck", view: readPeerView(raw) });
    const planned = reduce(checked.state, { type: "preUpgradeCheckPassed", stack: [0, 1] });
    const write = planned.effects.find((e) => e.type === "writeAppData");
    expect(write).toMatchObject({ data: { "upgrade-from-charm": "ch:amd64/jammy/db-381" } });
    expect(planned.effects.find((e) => e.type === "actionResult")).toMatchObject({
      results: { rollback: "juju refresh db --revision 381" },
    });
  });

  it("a value that is not a charm URL is reported, never pasted into a command", () => {
    const view = readPeerView(bags({ 0: "ready" }, { "upgrade-from-charm": "ch:x; rm -rf /" }));
    expect(view.fromCharm).toBeNull();
    expect(view.problems).toContainEqual(expect.objectContaining({ unit: null, key: "upgrade-from-charm" }));
    expect(rollbackCommand({ app: "db", view })).toBe("juju refresh db --revision <previous>");
  });
});

describe("unit statuses during an upgrade", () => {
  const running = { dependencies: stored, "upgrade-stack": "[1, 2, 0]", "upgrade-from-charm": "ch:amd64/jammy/db-381" };

  it("a unit still waiting runs the application's (stored) version; a completed one runs its code's", () => {
    const raw = bags({ 0: "completed", 1: "ready", 2: "ready" }, running);
    expect(runningWorkload(context(raw, 1), "ready")).toBe("1.0.0");
    expect(runningWorkload(context(raw, 0), "completed")).toBe("1.1.0");
    expect(runningWorkload(context(raw, 1), "upgrading")).toBe("1.0.0 → 1.1.0");
    expect(runningWorkload(context(raw, 1), "failed")).toBeNull();
    // what the charm reports wins
    expect(runningWorkload(context(raw, 1, { workloadVersion: "14.9" }), "ready")).toBe("14.9");
  });

  it("a rollback's unit whose completion is stale shows no version rather than a wrong one", () => {
    const raw = bags(
      { 0: "recovery", 1: "ready" },
      { ...running, "upgrade-rollback": "true", "upgrade-rollback-pending": "[1]" },
    );
    expect(runningWorkload(context(raw, 1), "ready")).toBeNull();
  });

  it("a waiting unit's status gives its situation, its version and the exact rollback command", () => {
    const raw = bags({ 0: "ready", 1: "ready", 2: "ready" }, running);
    const status = unitStatusDuringUpgrade(context(raw), "ready", {
      type: "setUnitStatus",
      status: "waiting",
      message: "db/2 upgrades before db/1 (#2 in the upgrade order)",
    });
    expect(status.message).toBe(
      "db/2 upgrades before db/1 (#2 in the upgrade order) | workload 1.0.0 | roll back: juju refresh db --revision 381",
    );
  });

  it("halted by a failure, the rollback starts with pre-upgrade-check", () => {
    const raw = bags({ 0: "ready", 1: "failed", 2: "ready" }, running);
    const status = unitStatusDuringUpgrade(context(raw), "failed", {
      type: "setUnitStatus",
      status: "blocked",
      message: "disk full",
    });
    expect(status.message).toBe("disk full | roll back: pre-upgrade-check, then juju refresh db --revision 381");
  });

  it("outside an upgrade the status is left alone", () => {
    const raw = bags({ 0: "idle", 1: "idle" }, { dependencies: stored });
    const status = { type: "setUnitStatus", status: "active", message: "serving" } as const;
    expect(unitStatusDuringUpgrade(context(raw), "idle", status)).toEqual(status);
  });

  it("property: within 120 characters; the rollback command whole; the base message's start kept", () => {
    const appName = fc.stringMatching(/^[a-z][a-z0-9-]{0,39}$/);
    const revision = fc.option(fc.nat({ max: 99_999 }), { nil: null });
    const base = fc.string({ minLength: 1, maxLength: 300 });
    const state = fc.constantFrom("ready", "upgrading", "completed", "failed", "recovery" as const);
    fc.assert(
      fc.property(appName, revision, base, state, fc.boolean(), (app, rev, message, value, halted) => {
        const appData = {
          dependencies: stored,
          "upgrade-stack": "[1, 0]",
          ...(rev === null ? {} : { "upgrade-from-charm": `ch:amd64/jammy/${app}-${rev}` }),
        };
        const raw = {
          leader: false,
          units: { [`${app}/0`]: { state: halted ? "failed" : "ready" }, [`${app}/1`]: { state: value } },
          app: appData,
        };
        const ctx = contextFromInput({
          app,
          unit: 1,
          substrate: "vm",
          dependencies: NEW.dependencies,
          view: readPeerView(raw),
        });
        const out = unitStatusDuringUpgrade(ctx, value, { type: "setUnitStatus", status: "waiting", message }).message;
        expect(out.length).toBeLessThanOrEqual(120);
        const command = rollbackCommand(ctx);
        if (command.length <= 60) expect(out).toContain(command);
        expect(out.startsWith(message.slice(0, 40))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
