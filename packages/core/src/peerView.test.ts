import { describe, expect, it } from "vitest";
import { encodeDependencies, encodeStack, readPeerView } from "./peerView.js";

describe("wire compatibility with the Python library", () => {
  it("encodes the stack and dependencies as json.dumps does", () => {
    expect(encodeStack([0, 2, 1])).toBe("[0, 2, 1]");
    expect(encodeStack([])).toBe("[]");
    const deps = {
      gandalf_the_white: {
        dependencies: { gandalf_the_grey: ">5" },
        name: "gandalf",
        upgrade_supported: ">1.2",
        version: "7",
      },
    };
    // the example in the original's documentation, byte for byte
    expect(encodeDependencies(deps)).toBe(
      '{"gandalf_the_white": {"dependencies": {"gandalf_the_grey": ">5"}, "name": "gandalf", "upgrade_supported": ">1.2", "version": "7"}}',
    );
    expect(encodeDependencies({ é: { dependencies: {}, name: "ü", upgrade_supported: "*", version: "1" } })).toBe(
      '{"\\u00e9": {"dependencies": {}, "name": "\\u00fc", "upgrade_supported": "*", "version": "1"}}',
    );
  });

  it("reads data the Python library wrote", () => {
    const view = readPeerView({
      leader: true,
      units: { "kafka/0": { state: "ready" }, "kafka/2": { state: "completed" }, "kafka/1": {} },
      app: {
        "upgrade-stack": "[0, 1]",
        dependencies:
          '{"kafka_service": {"dependencies": {"zookeeper": "^3"}, "name": "kafka", "upgrade_supported": ">=0.8", "version": "3.3.2"}}',
      },
    });
    expect(view.problems).toEqual([]);
    expect(view.units).toEqual([
      { id: 0, state: "ready" },
      { id: 1, state: null },
      { id: 2, state: "completed" },
    ]);
    expect(view.stack).toEqual([0, 1]);
    expect(view.dependencies?.kafka_service?.version).toBe("3.3.2");
  });

  it("reads an empty stack as no stack, as the original's getter does", () => {
    expect(readPeerView({ leader: false, units: {}, app: { "upgrade-stack": "[]" } }).stack).toBeNull();
  });

  it("names the databag and key of every bad value", () => {
    const view = readPeerView({
      leader: false,
      units: { "db/0": { state: "upgraded" }, "not a unit": {} },
      app: { "upgrade-stack": '[0, "1"]', dependencies: '{"x": {"name": "x"}}' },
    });
    expect(view.problems.map((p) => [p.unit, p.key])).toEqual([
      ["db/0", "state"],
      ["not a unit", "(unit name)"],
      [null, "upgrade-stack"],
      [null, "dependencies"],
    ]);
    expect(view.problems[0]?.message).toMatch(
      /state must be one of recovery, failed, idle, ready, upgrading, completed, got "upgraded"/,
    );
    expect(view.problems[2]?.message).toMatch(/unit numbers/);
    expect(view.stack).toBeNull();
  });

  it("reads the unit a rollback stopped before, and reports a value that is not a unit number", () => {
    expect(readPeerView({ leader: false, units: {}, app: { "upgrade-rollback-stopped": "1" } }).rollbackStopped).toBe(
      1,
    );
    const bad = readPeerView({ leader: false, units: {}, app: { "upgrade-rollback-stopped": "db/1" } });
    expect(bad.rollbackStopped).toBeNull();
    expect(bad.problems).toEqual([
      {
        unit: null,
        key: "upgrade-rollback-stopped",
        message: 'upgrade-rollback-stopped must be a unit number, got "db/1"',
      },
    ]);
  });
});
