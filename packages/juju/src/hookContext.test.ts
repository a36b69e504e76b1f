import { isUpgradeError } from "@charm-upgrade/core";
import { describe, expect, it } from "vitest";
import { HookContextError, readHookContext } from "./hookContext.js";

const base = {
  JUJU_UNIT_NAME: "db/3",
  JUJU_MODEL_NAME: "prod",
  JUJU_CHARM_DIR: "/var/lib/juju/agents/unit-db-3/charm",
};

function errorOf(env: Record<string, string>): HookContextError {
  try {
    readHookContext(env);
  } catch (error) {
    if (error instanceof HookContextError) return error;
    throw error;
  }
  throw new Error("expected a HookContextError");
}

describe("readHookContext", () => {
  it("reads a plain hook", () => {
    const context = readHookContext({ ...base, JUJU_DISPATCH_PATH: "hooks/upgrade-charm" });
    expect(context).toEqual({
      kind: "hook",
      name: "upgrade-charm",
      dispatchPath: "hooks/upgrade-charm",
      unitName: "db/3",
      appName: "db",
      unitNumber: 3,
      modelName: "prod",
      charmDir: "/var/lib/juju/agents/unit-db-3/charm",
      relation: null,
      actionName: null,
    });
  });

  it("reads a relation hook with its relation id, remote unit and remote app", () => {
    const context = readHookContext({
      ...base,
      JUJU_DISPATCH_PATH: "hooks/upgrade-relation-changed",
      JUJU_RELATION: "upgrade",
      JUJU_RELATION_ID: "upgrade:7",
      JUJU_REMOTE_UNIT: "db/1",
      JUJU_REMOTE_APP: "db",
    });
    expect(context.relation).toEqual({ name: "upgrade", id: 7, remoteUnit: "db/1", remoteApp: "db" });
  });

  it("relation-created has no remote unit", () => {
    const context = readHookContext({
      ...base,
      JUJU_DISPATCH_PATH: "hooks/upgrade-relation-created",
      JUJU_RELATION: "upgrade",
      JUJU_RELATION_ID: "upgrade:7",
      JUJU_REMOTE_APP: "db",
    });
    expect(context.relation?.remoteUnit).toBeNull();
  });

  it("reads an action, taking its name from JUJU_ACTION_NAME", () => {
    const context = readHookContext({
      ...base,
      JUJU_DISPATCH_PATH: "actions/pre-upgrade-check",
      JUJU_ACTION_NAME: "pre-upgrade-check",
    });
    expect(context).toMatchObject({
      kind: "action",
      name: "pre-upgrade-check",
      actionName: "pre-upgrade-check",
      relation: null,
    });
  });

  it.each([
    [{ ...base }, "JUJU_DISPATCH_PATH", /is not set/],
    [{ ...base, JUJU_DISPATCH_PATH: "install" }, "JUJU_DISPATCH_PATH", /hooks\/<name> or actions\/<name>/],
    [{ ...base, JUJU_DISPATCH_PATH: "hooks/install", JUJU_UNIT_NAME: "" }, "JUJU_UNIT_NAME", /is not set/],
    [{ ...base, JUJU_DISPATCH_PATH: "hooks/install", JUJU_UNIT_NAME: "db-3" }, "JUJU_UNIT_NAME", /not a unit name/],
    [
      { JUJU_DISPATCH_PATH: "hooks/install", JUJU_UNIT_NAME: "db/0", JUJU_CHARM_DIR: "/c" },
      "JUJU_MODEL_NAME",
      /is not set/,
    ],
    [
      { ...base, JUJU_DISPATCH_PATH: "hooks/upgrade-relation-changed", JUJU_RELATION_ID: "upgrade:1" },
      "JUJU_RELATION",
      /is not set/,
    ],
    [
      { ...base, JUJU_DISPATCH_PATH: "hooks/upgrade-relation-changed", JUJU_RELATION: "upgrade" },
      "JUJU_RELATION_ID",
      /is not set/,
    ],
    [
      {
        ...base,
        JUJU_DISPATCH_PATH: "hooks/upgrade-relation-changed",
        JUJU_RELATION: "upgrade",
        JUJU_RELATION_ID: "db:x",
      },
      "JUJU_RELATION_ID",
      /not a relation id/,
    ],
    [
      {
        ...base,
        JUJU_DISPATCH_PATH: "hooks/upgrade-relation-changed",
        JUJU_RELATION: "peers",
        JUJU_RELATION_ID: "peers:1",
      },
      "JUJU_RELATION",
      /but the hook is/,
    ],
    [
      { ...base, JUJU_DISPATCH_PATH: "actions/resume-upgrade", JUJU_ACTION_NAME: "pre-upgrade-check" },
      "JUJU_ACTION_NAME",
      /JUJU_DISPATCH_PATH/,
    ],
  ])("names the variable that is missing or invalid (%#: %s)", (env, variable, problem) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toMatch(problem);
    expect(isUpgradeError(error)).toBe(true);
    expect(error.resolution).not.toBe("");
  });
});
