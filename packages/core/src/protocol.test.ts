import { describe, expect, it } from "vitest";
import { KEYS } from "./peerView.js";
import type { PeersQuestion } from "./protocol.js";
import { needsPeers } from "./protocol.js";

/** upgrade-charm on db/1, not the leader, idle, on machines, with the stack [0, 1, 2] (db/2 is next). */
const waiting: PeersQuestion = {
  substrate: "vm",
  unit: 1,
  leader: false,
  ownState: "idle",
  app: { [KEYS.stack]: "[0, 1, 2]" },
  events: ["upgradeCharm"],
  inAction: false,
};

describe("needsPeers on upgrade-charm (issue 14: read the others' databags only when a decision needs them)", () => {
  it("a machine unit that is not next reads only its own databag and the application's", () => {
    expect(needsPeers(waiting)).toBe(false);
    expect(needsPeers({ ...waiting, ownState: "ready" })).toBe(false);
    expect(needsPeers({ ...waiting, events: ["relationChanged", "upgradeCharm"] })).toBe(false);
  });

  it("reads every unit where upgrade-charm may decide on them", () => {
    // next on the stack: it judges the barrier
    expect(needsPeers({ ...waiting, unit: 2 })).toBe(true);
    // the leader checks versions and keeps the stack
    expect(needsPeers({ ...waiting, leader: true })).toBe(true);
    // Kubernetes (the highest ordinal checks versions), or the substrate not given
    expect(needsPeers({ ...waiting, substrate: "k8s" })).toBe(true);
    const { substrate: _, ...unknownSubstrate } = waiting;
    expect(needsPeers(unknownSubstrate)).toBe(true);
    // a rollback, no stack, an invalid stack, a unit not on it, a state that may move with the others
    expect(needsPeers({ ...waiting, app: { ...waiting.app, [KEYS.rollback]: "true" } })).toBe(true);
    expect(needsPeers({ ...waiting, app: {} })).toBe(true);
    expect(needsPeers({ ...waiting, app: { [KEYS.stack]: "[0, 1" } })).toBe(true);
    expect(needsPeers({ ...waiting, app: { [KEYS.stack]: '[0, "1", 2]' } })).toBe(true);
    expect(needsPeers({ ...waiting, app: { [KEYS.stack]: "[0, 2]" } })).toBe(true);
    for (const ownState of ["completed", "failed", "recovery", "upgrading", null] as const)
      expect(needsPeers({ ...waiting, ownState })).toBe(true);
    // with another event that needs them (relation-created writes a first state)
    expect(needsPeers({ ...waiting, events: ["relationCreated", "upgradeCharm"] })).toBe(true);
  });
});
