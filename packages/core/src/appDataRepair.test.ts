import { describe, expect, it } from "vitest";
import type { Effect } from "./effects.js";
import type { PeerDatabags } from "./peerView.js";
import { readPeerView } from "./peerView.js";
import { repairStack } from "./protocol.js";
import type { UpgradeState } from "./reduce.js";
import { createUpgradeState, reduce } from "./reduce.js";
import type { Substrate } from "./substrate.js";
import { NEW, OLD } from "./testing/index.js";

/**
 * Issue 12.7: invalid application data mid-roll was answered with "run pre-upgrade-check", which then refused.
 */

const of = <T extends Effect["type"]>(effects: readonly Effect[], type: T) =>
  effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
const stored = JSON.stringify(OLD.dependencies);

function bags(
  units: Record<number, Record<string, string>>,
  app: Record<string, string>,
  leader: boolean,
): PeerDatabags {
  return { leader, app, units: Object.fromEntries(Object.entries(units).map(([id, bag]) => [`db/${id}`, bag])) };
}

function at(unit: number, raw: PeerDatabags, substrate: Substrate, charm: string | null = null): UpgradeState {
  return createUpgradeState({
    app: "db",
    unit,
    substrate,
    dependencies: NEW.dependencies,
    view: readPeerView(raw),
    settings: { pauseAfterUnitUpgrade: "none" },
    charm,
  });
}

describe("invalid application data: an answer that works where it is given", () => {
  it("each key says what to do: the stack names pre-upgrade-check on the leader by the application's name", () => {
    const raw = bags({ 0: { state: "ready" }, 1: { state: "upgrading" } }, { "upgrade-stack": "[0, oops" }, false);
    const { effects } = reduce(at(1, raw, "vm"), { type: "tick", view: readPeerView(raw) });
    const problem = of(effects, "reportProblem").find((e) => e.key === "upgrade-stack");
    expect(problem?.error.resolution).toMatch(
      /^run pre-upgrade-check on the leader \(juju run db\/leader pre-upgrade-check\)/,
    );
    const deps = bags({ 0: { state: "idle" } }, { dependencies: "{not json" }, false);
    const other = of(reduce(at(0, deps, "vm"), { type: "tick", view: readPeerView(deps) }).effects, "reportProblem");
    expect(other.find((e) => e.key === "dependencies")?.error.resolution).toMatch(/^nothing to run: the version check/);
  });

  it.each(["vm", "k8s"] as const)(
    "%s: pre-upgrade-check mid-roll rebuilds an invalid stack from the units still to go, and the roll goes on",
    (substrate) => {
      const charm = "ch:amd64/jammy/db-2";
      // db/2 completed on the new charm, db/1 upgrading, db/0 (the leader) not yet: the stack was corrupted.
      const raw = bags(
        {
          0: { state: substrate === "vm" ? "ready" : "idle" },
          1: { state: "upgrading", "upgrade-running-charm": charm },
          2: { state: "completed", "upgrade-running-charm": charm },
        },
        { dependencies: stored, "upgrade-stack": '"garbage"', "upgrade-plan": "[0, 1, 2]" },
        true,
      );
      const { effects } = reduce(at(0, raw, substrate, "ch:amd64/jammy/db-1"), {
        type: "preUpgradeCheck",
        view: readPeerView(raw),
      });
      expect(of(effects, "actionFail")).toEqual([]);
      const written = of(effects, "writeAppData").flatMap((e) => {
        const stack = e.data["upgrade-stack"];
        return stack === undefined ? [] : [JSON.parse(stack)];
      });
      expect(written).toEqual([[0, 1]]);
      const result = of(effects, "actionResult")[0]?.results;
      expect(result?.message).toMatch(
        /rebuilt from the units still to go \(upgrade order: db\/1, db\/0\)\. The upgrade goes on\./,
      );
    },
  );

  it("with a valid stack, pre-upgrade-check mid-roll still refuses (nothing to rebuild)", () => {
    const raw = bags({ 0: { state: "ready" }, 1: { state: "upgrading" } }, { "upgrade-stack": "[0, 1]" }, true);
    const { effects } = reduce(at(0, raw, "vm"), { type: "preUpgradeCheck", view: readPeerView(raw) });
    expect(of(effects, "actionFail")[0]?.message).toMatch(/upgrad/);
    expect(of(effects, "writeAppData").some((e) => "upgrade-stack" in e.data)).toBe(false);
  });
});

describe("Kubernetes recovery order (docs/upstream-differences.md row 6)", () => {
  it("lists the pods that moved in ascending order: the StatefulSet controller restarts the highest first", () => {
    const view = readPeerView(
      bags(
        { 0: { state: "idle" }, 1: { state: "failed" }, 2: { state: "completed" } },
        { "upgrade-stack": "[0, 1]" },
        true,
      ),
    );
    // db/2 rolls back first, then the failed db/1; db/0 never left the old revision.
    expect(repairStack(view, "k8s")).toEqual([1, 2]);
    // Machines: the failed unit first (on top), the others re-inserted below it.
    expect(repairStack(view, "vm")).toEqual([0, 2, 1]);
  });
});
