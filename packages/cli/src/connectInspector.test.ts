import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { WebSocketServer } from "ws";
import type { CliIO, OutputStream } from "./io.js";
import { runCli } from "./runCli.js";

function collector(): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join("") };
}

function io() {
  const stdout = collector();
  const stderr = collector();
  const cli: CliIO = { stdout, stderr, sleep: async () => {} };
  return { cli, stdout, stderr };
}

/** Reject after `ms`: every wait of these tests is bounded. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What a Stately inspection event looks like on the wire (the fields these tests read). */
interface Received {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; status?: string };
  _version?: string;
}

/** A WebSocket server on loopback standing in for the Stately inspector server: it records what it receives. */
async function inspectorServer() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await within(new Promise<void>((resolve) => server.once("listening", () => resolve())), 5000, "the server to listen");
  const received: Received[] = [];
  const sockets = new Set<WebSocket>();
  let resolveClosed: () => void = () => {};
  const clientClosed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("message", (data) => received.push(JSON.parse(String(data)) as Received));
    socket.on("close", () => resolveClosed());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    clientClosed,
    close: () =>
      within(
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.terminate();
          server.close(() => resolve());
        }),
        5000,
        "the server to close",
      ),
  };
}

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe("simulate --inspect: the units as actors in the Stately inspector", () => {
  it("a 3-unit simulation sends each unit's actor, events and snapshots to the inspector's WebSocket", async () => {
    const server = await inspectorServer();
    cleanup = server.close;
    const { cli, stdout, stderr } = io();
    const code = await within(
      runCli(["simulate", "--units", "3", "--inspect-url", server.url], cli),
      20_000,
      "the simulation",
    );
    expect(stderr.text()).toBe("");
    expect(code).toBe(0);
    // the command closed its connection when it was done
    await within(server.clientClosed, 5000, "the command to close its connection");

    const { received } = server;
    const reported = /^Inspector: (\d+) inspection events sent to (\S+)$/m.exec(stdout.text());
    expect(reported?.[2]).toBe(server.url);
    expect(received.length).toBe(Number(reported?.[1]));

    // one actor per unit, named after it, with the machine's definition
    const actors = received.filter((event) => event.type === "@xstate.actor");
    expect(actors.map((actor) => actor.name).sort()).toEqual(["db/0", "db/1", "db/2"]);
    for (const actor of actors) {
      expect(actor._version).toEqual(expect.any(String));
      const definition = JSON.parse(actor.definition ?? "{}") as { id?: string; states?: Record<string, unknown> };
      expect(definition.id).toBe("unit");
      expect(Object.keys(definition.states ?? {})).toContain("upgrading");
    }
    const nameOf = new Map(actors.map((actor) => [actor.sessionId, actor.name ?? ""]));
    expect(received.every((event) => nameOf.has(event.sessionId))).toBe(true);

    // the events each unit received, and its snapshots' values (consecutive repeats dropped)
    const eventTypes = new Map<string, Set<string>>();
    const values = new Map<string, string[]>();
    for (const event of received) {
      const name = nameOf.get(event.sessionId) ?? "";
      if (event.type === "@xstate.event")
        eventTypes.set(name, (eventTypes.get(name) ?? new Set()).add(event.event?.type ?? ""));
      if (event.type === "@xstate.snapshot") {
        const seen = values.get(name) ?? [];
        const value = String(event.snapshot?.value);
        if (seen.at(-1) !== value) seen.push(value);
        values.set(name, seen);
      }
    }
    for (const unit of ["db/0", "db/1", "db/2"]) {
      for (const type of ["relationCreated", "upgradeCharm", "upgradeCompleted"])
        expect(eventTypes.get(unit)).toContain(type);
    }
    // Every unit's snapshots follow the upgrade's path in order, from unset to idle through upgrading; the middle
    // unit shows every step. (Which steps of the first and last units share a macrostep, and so one snapshot, is
    // the simulator's scheduling: not pinned here.)
    const path = ["unset", "idle", "ready", "upgrading", "completed", "idle"];
    const inOrder = (seen: readonly string[]) => {
      let at = 0;
      for (const value of seen) {
        at = path.indexOf(value, at) + 1;
        if (at === 0) return false;
      }
      return true;
    };
    expect(values.get("db/1")).toEqual(path);
    for (const unit of ["db/0", "db/2"]) {
      const seen = values.get(unit) ?? [];
      expect(seen.slice(0, 2), unit).toEqual(["unset", "idle"]);
      expect(seen, unit).toContain("upgrading");
      expect(seen.at(-1), unit).toBe("idle");
      expect(inOrder(seen), `${unit}: ${seen.join(" -> ")}`).toBe(true);
    }
  });

  it("with --json, stdout stays the report alone: the inspector's note goes to stderr", async () => {
    const server = await inspectorServer();
    cleanup = server.close;
    const { cli, stdout, stderr } = io();
    expect(
      await within(
        runCli(["simulate", "--units", "2", "--json", "--inspect-url", server.url], cli),
        20_000,
        "the simulation",
      ),
    ).toBe(0);
    expect(JSON.parse(stdout.text()).outcome).toBe("upgraded");
    expect(stderr.text()).toMatch(/^Inspector: \d+ inspection events sent to ws:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it("nothing listening: says so at once, runs no simulation, exits 1", async () => {
    // a port that was just free: connecting is refused at once
    const server = await inspectorServer();
    const url = server.url;
    await server.close();
    const { cli, stdout, stderr } = io();
    expect(await within(runCli(["simulate", "--units", "2", "--inspect-url", url], cli), 10_000, "the command")).toBe(
      1,
    );
    expect(stderr.text()).toMatch(
      new RegExp(`^charm-upgrade: could not connect to the inspector at ${url}: .*ECONNREFUSED`, "m"),
    );
    expect(stderr.text()).toMatch(/createInspectorServer/);
    expect(stdout.text()).toBe("");
  });
});
