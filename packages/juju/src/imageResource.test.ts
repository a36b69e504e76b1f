import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readImageResource } from "./imageResource.js";
import type { InMemoryModel } from "./inMemoryHookTools.js";
import { createInMemoryModel, InMemoryHookTools } from "./inMemoryHookTools.js";
import type { UpgradeOptions } from "./upgradeCharm.js";
import { createUpgrade } from "./upgradeCharm.js";

const IMAGE = `registry.jujucharms.com/charm/kotcfrohea62/db-image@sha256:${"e5".repeat(32)}`;

describe("readImageResource: the image of an OCI image resource file, never its credentials", () => {
  it("reads Juju 3's JSON (json:\"ImageName\", matched without regard to case, as Go's decoder does)", () => {
    // juju/juju core/resources dockerresource_test.go TestDockerImageDetailsUnmarshalJson, with a real-shaped path
    expect(readImageResource(`{"ImageName":"${IMAGE}","username":"docker-registry","password":"fragglerock"}`)).toBe(
      IMAGE,
    );
    expect(readImageResource(`{"imagename":"${IMAGE}"}`)).toBe(IMAGE);
  });

  it('reads the YAML form (yaml:"registrypath")', () => {
    // dockerresource_test.go TestDockerImageDetailsUnmarshalYaml
    expect(readImageResource(`registrypath: ${IMAGE}\nusername: docker-registry\npassword: fragglerock\n`)).toBe(IMAGE);
    expect(readImageResource(`username: ''\nregistrypath: '${IMAGE}'\n`)).toBe(IMAGE);
  });

  it("names no image otherwise: nothing, another shape, or a path unfit for a command", () => {
    expect(readImageResource("")).toBeNull();
    expect(readImageResource("[1, 2]")).toBeNull();
    expect(readImageResource('{"username":"u"}')).toBeNull();
    expect(readImageResource('{"ImageName":"db; rm -rf /"}')).toBeNull();
    expect(readImageResource("registrypath: a b\n")).toBeNull();
  });
});

describe("the adapter reads what it observes only when a decision may use it", () => {
  const deps = { workload: { dependencies: {}, name: "workload", upgrade_supported: ">=1", version: "1.0.0" } };
  const relation = { name: "upgrade", id: 7 };

  function hook(model: InMemoryModel, name: string, extra: Partial<UpgradeOptions> = {}) {
    const juju = new InMemoryHookTools(model);
    const action = name.startsWith("actions/");
    const env: Record<string, string> = {
      JUJU_DISPATCH_PATH: action ? name : `hooks/${name}`,
      JUJU_UNIT_NAME: model.unit,
      JUJU_MODEL_NAME: "test",
      JUJU_CHARM_DIR: "/charm",
      ...(action ? { JUJU_ACTION_NAME: name.slice("actions/".length) } : {}),
    };
    const upgrade = createUpgrade({
      substrate: "k8s",
      dependencies: deps,
      charm: "ch:amd64/jammy/db-381",
      async preUpgradeCheck() {},
      async onUpgradeGranted() {
        return "completed";
      },
      // required on Kubernetes (createUpgrade refuses a charm without it); the partition is not what is tested here
      async setPartition() {},
      ...extra,
      tools: juju.run,
      env,
    } as UpgradeOptions);
    return { juju, run: () => upgrade.dispatch() };
  }

  const idleModel = (action?: string) =>
    createInMemoryModel({
      unit: "db/0",
      leader: true,
      relation,
      databags: { "db/0": { state: "idle" }, "db/1": { state: "idle" } },
      appData: { dependencies: JSON.stringify(deps) },
      ...(action ? { action: { name: action } } : {}),
    });

  it("pre-upgrade-check on the leader records the image resource read with resource-get", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resource-"));
    const path = join(dir, "content");
    writeFileSync(path, `{"ImageName":"${IMAGE}","username":"","password":""}`);
    const model = { ...idleModel("pre-upgrade-check"), resources: { "db-image": path } };
    const { juju, run } = hook(model, "actions/pre-upgrade-check", { workloadResource: "db-image" });
    await run();
    juju.commit();
    expect(juju.calls.filter((call) => call.tool === "resource-get").map((call) => call.args)).toEqual([["db-image"]]);
    expect(model.appData["upgrade-from-resource"]).toBe(`db-image=${IMAGE}`);
    expect(model.action?.results.rollback).toBe(`juju refresh db --revision 381 --resource db-image=${IMAGE}`);
  });

  it("an unreadable resource is logged and leaves the image out; the plan goes on", async () => {
    const model = idleModel("pre-upgrade-check");
    const { juju, run } = hook(model, "actions/pre-upgrade-check", { workloadResource: "db-image" });
    await run();
    juju.commit();
    expect(model.action?.failure).toBeNull();
    expect(model.appData["upgrade-stack"]).toBe("[0, 1]");
    expect(model.appData["upgrade-from-resource"]).toBeUndefined();
    expect(model.logs.map((line) => line.message)).toContainEqual(
      expect.stringMatching(/^Could not read the OCI image resource db-image \(.*could not download resource/),
    );
  });

  it("observe() and downgradeBlocker() are not asked while the application is idle, and are while a roll runs", async () => {
    let asked = 0;
    const callbacks = {
      observe: () => {
        asked++;
        return { latest: true, revision: "db-7f9a1e", image: IMAGE };
      },
      downgradeBlocker: () => {
        asked++;
        return "the catalog was migrated to format 7";
      },
    };
    await hook(idleModel(), "update-status", callbacks).run();
    expect(asked).toBe(0);
    const rolling = createInMemoryModel({
      unit: "db/1",
      relation,
      databags: { "db/0": { state: "idle" }, "db/1": { state: "completed" } },
      appData: {
        dependencies: JSON.stringify(deps),
        "upgrade-stack": "[0]",
        "upgrade-from-charm": "ch:amd64/jammy/db-381",
      },
    });
    const { juju, run } = hook(rolling, "update-status", callbacks);
    await run();
    juju.commit();
    expect(asked).toBe(2);
    expect(rolling.databags["db/1"]?.["upgrade-no-downgrade"]).toBe("the catalog was migrated to format 7");
  });
  it("Kubernetes: a unit that says it completed on a pod the StatefulSet never recreated is named, and is not done", async () => {
    const rolling = createInMemoryModel({
      unit: "db/1",
      relation,
      databags: {
        "db/0": { state: "idle", "upgrade-running-charm": "ch:amd64/jammy/db-382" },
        "db/1": { state: "completed", "upgrade-running-charm": "ch:amd64/jammy/db-382" },
      },
      appData: { dependencies: JSON.stringify(deps), "upgrade-from-charm": "ch:amd64/jammy/db-381" },
    });
    const observed = { latest: false, revision: "db-5d4b8c", image: IMAGE };
    const { juju, run } = hook(rolling, "update-status", { charm: "ch:amd64/jammy/db-382", observe: () => observed });
    await run();
    juju.commit();
    expect(rolling.databags["db/1"]?.state).toBe("completed");
    expect(rolling.status).toEqual({
      status: "blocked",
      // the pod's revision (detail) gives way to the rollback command within 120 characters
      message:
        "db/1 says completed but is not on the application's latest revision | roll back: juju refresh db --revision 381",
    });
    // once its pod runs the latest template, it is done — when the leader has closed the roll (until then it stays
    // completed: see `awaitsRollClose` in the core)
    const latest = { charm: "ch:amd64/jammy/db-382", observe: () => ({ ...observed, latest: true }) };
    const open = hook(rolling, "update-status", latest);
    await open.run();
    open.juju.commit();
    expect(rolling.databags["db/1"]?.state).toBe("completed");
    delete rolling.appData["upgrade-from-charm"];
    const next = hook(rolling, "update-status", latest);
    await next.run();
    next.juju.commit();
    expect(rolling.databags["db/1"]?.state).toBe("idle");
  });
});
