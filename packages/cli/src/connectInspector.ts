import { createInspector } from "@statelyai/inspect";
import type { StatelyInspectionEvent } from "@statelyai/inspect";
import WebSocket from "ws";
import type { InspectionEvent, Observer } from "xstate";

/** Where `@statelyai/inspect`'s WebSocket inspector (and its inspector server) listen by default. */
export const DEFAULT_INSPECT_URL = "ws://localhost:8080";

/** An open connection to a Stately inspector. */
export interface InspectorConnection {
  readonly url: string;
  /** The xstate inspection observer: pass it as `inspect` to the simulator (or to `createActor`). */
  readonly inspect: Observer<InspectionEvent>;
  /**
   * Send what is still pending, then close the connection (bounded: a peer that does not answer the close is cut
   * off). Resolves to how many inspection events were sent, and how many were lost because the connection closed.
   */
  close(): Promise<{ readonly sent: number; readonly lost: number }>;
}

/** Options of {@link connectInspector}. */
export interface ConnectInspectorOptions {
  /** Give up connecting after this long (ms; default 5000). */
  readonly timeoutMs?: number | undefined;
  /** Wait at most this long for the peer to answer the close (ms; default 2000). */
  readonly closeTimeoutMs?: number | undefined;
}

/** The inspector could not be reached: the message names the URL and why. */
export class InspectorConnectionError extends Error {
  /** @param message - what failed, naming the URL */
  constructor(message: string) {
    super(message);
    this.name = "InspectorConnectionError";
  }
}

/** A `setTimeout` that does not keep the process alive, as a promise. */
const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

function opened(socket: WebSocket, url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      socket.terminate();
      reject(new InspectorConnectionError(`could not connect to the inspector at ${url}: ${reason}`));
    };
    const onOpen = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => fail(error.message || String(error));
    const onClose = (code: number) => fail(`the connection closed (code ${code})`);
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("open", onOpen);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    socket.on("open", onOpen);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

/**
 * Connect to a Stately inspector over a WebSocket, e.g. the one `@statelyai/inspect/server`'s
 * `createInspectorServer()` starts on `ws://localhost:8080`, which relays to the inspector page in a browser.
 *
 * The inspection events are converted by `@statelyai/inspect` (`createInspector`) and sent as the JSON its
 * `createWebSocketInspector` sends. The transport is this module's, not `createWebSocketInspector`'s (0.7.2), which
 * fits long-running apps but not a command that must exit: it keeps only the last 200 events sent before the
 * socket opens (a simulation sends thousands at once), reconnects every 5 s forever after an error (the command
 * would never exit), and gives no signal that the socket is open or that everything was sent.
 *
 * @throws {@link InspectorConnectionError} when nothing answers at `url` in time.
 * @example
 * ```ts
 * const inspector = await connectInspector("ws://127.0.0.1:8080");
 * await rehearseUpgrade({ units: 3, substrate: "vm", seed: 1, inspect: inspector.inspect });
 * await inspector.close();
 * ```
 */
export async function connectInspector(
  url: string,
  options: ConnectInspectorOptions = {},
): Promise<InspectorConnection> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let socket: WebSocket;
  try {
    socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
  } catch (error) {
    throw new InspectorConnectionError(
      `could not connect to the inspector at ${url}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // An error after the connection opened must not crash the process: the events after it count as lost.
  socket.on("error", () => {});
  await opened(socket, url, timeoutMs);

  let sent = 0;
  let lost = 0;
  let lastSend: Promise<void> = Promise.resolve();
  const adapter = {
    send(event: StatelyInspectionEvent) {
      let text: string;
      try {
        text = JSON.stringify(event);
      } catch {
        lost++;
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) {
        lost++;
        return;
      }
      lastSend = new Promise((resolve) =>
        socket.send(text, (error) => {
          if (error) lost++;
          else sent++;
          resolve();
        }),
      );
    },
  };
  const inspector = createInspector(adapter);
  let closing: Promise<{ sent: number; lost: number }> | null = null;

  return {
    url,
    inspect: inspector.inspect,
    close() {
      closing ??= (async () => {
        // @statelyai/inspect converts each event on a zero-delay timer: let every pending one run first.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        await Promise.race([lastSend, delay(options.closeTimeoutMs ?? 2000)]);
        if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
          const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
          socket.close(1000, "done");
          await Promise.race([closed, delay(options.closeTimeoutMs ?? 2000)]);
        }
        if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
        return { sent, lost };
      })();
      return closing;
    },
  };
}
