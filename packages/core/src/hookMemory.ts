import * as v from "valibot";
import type { StatusName } from "./effects.js";

/** The hook events that carry a view and may be deferred to the next hook. */
export type DeferrableEventType = "relationCreated" | "relationChanged" | "tick" | "leaderElected" | "upgradeCharm";

/** Every {@link DeferrableEventType}, in the order the machine knows them. */
export const DEFERRABLE_EVENTS: readonly DeferrableEventType[] = [
  "relationCreated",
  "relationChanged",
  "tick",
  "leaderElected",
  "upgradeCharm",
];

/** A workload status as the library last set it. */
export interface KnownStatus {
  readonly status: StatusName;
  readonly message: string;
}

/**
 * What a unit keeps from one hook to the next, in Juju's per-unit store (`state-set`, committed only when the hook
 * succeeds): the events it deferred, and the statuses it last set — so a hook never asks `status-get` what it
 * already knows. The application status is the leader's; a unit that becomes leader forgets it (another unit may
 * have set it since).
 */
export interface HookMemory {
  readonly deferred: readonly DeferrableEventType[];
  readonly status: KnownStatus | null;
  readonly appStatus: KnownStatus | null;
  /**
   * The peer relation's id, once known: a peer relation lives as long as the application, so a hook that is not
   * a relation hook need not ask `relation-ids` for it again.
   */
  readonly relation: number | null;
  /**
   * The charm config `pause-after-unit-upgrade` as a hook last read it (as text, `""` when unset), or `null` before
   * any did. Juju runs `config-changed` on every unit after `juju config`, before its relation hooks, so the hooks
   * that read the config (config-changed, upgrade-charm, actions) keep it here for the others, which need no
   * `config-get`.
   */
  readonly pauseConfig: string | null;
}

/** Nothing remembered: a unit's first hook. */
export const EMPTY_MEMORY: HookMemory = {
  deferred: [],
  status: null,
  appStatus: null,
  relation: null,
  pauseConfig: null,
};

/**
 * A status the charm gives the library to show (see `statusPrecedence`), validated: one of Juju's four workload
 * statuses a charm may set, and a message (clipped to Juju's 120 characters). Anything else is `null`: the charm's
 * callback is the charm's code, and a wrong answer must not fail the hook.
 */
export function readCharmStatus(value: unknown): KnownStatus | null {
  const parsed = v.safeParse(StatusSchema, value);
  if (!parsed.success) return null;
  const { status, message } = parsed.output;
  return { status, message: message.length > 120 ? `${message.slice(0, 119)}…` : message };
}

/** Key in Juju's per-unit store under which the {@link HookMemory} is kept. */
export const MEMORY_KEY = "charm-upgrade";

const StatusSchema = v.object({
  status: v.picklist(["active", "maintenance", "waiting", "blocked"]),
  message: v.pipe(v.string(), v.maxLength(1000)),
});

const MemorySchema = v.object({
  deferred: v.optional(v.array(v.string()), []),
  status: v.optional(v.nullable(StatusSchema), null),
  app: v.optional(v.nullable(StatusSchema), null),
  relation: v.optional(v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(0))), null),
  pause: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(200))), null),
});

/** What {@link readHookMemory} found: the memory, and what it had to drop (for a warning in the unit log). */
export interface MemoryRead {
  readonly memory: HookMemory;
  readonly dropped: string | null;
}

/**
 * Read the stored memory (`null`: nothing stored). Never throws: an unreadable value, or an event name this code
 * does not know (written by another revision), is dropped and named in `dropped` — failing every future hook on
 * it would be worse than forgetting a deferred event, which the next hook re-derives from the peer data anyway.
 */
export function readHookMemory(raw: string | null): MemoryRead {
  if (raw === null || raw === "") return { memory: EMPTY_MEMORY, dropped: null };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { memory: EMPTY_MEMORY, dropped: `unreadable hook memory ${JSON.stringify(raw.slice(0, 100))}` };
  }
  const parsed = v.safeParse(MemorySchema, json);
  if (!parsed.success)
    return { memory: EMPTY_MEMORY, dropped: `invalid hook memory ${JSON.stringify(raw.slice(0, 100))}` };
  const known = parsed.output.deferred.filter((type): type is DeferrableEventType =>
    (DEFERRABLE_EVENTS as readonly string[]).includes(type),
  );
  const unknown = parsed.output.deferred.filter((type) => !known.includes(type as DeferrableEventType));
  return {
    memory: {
      deferred: [...new Set(known)],
      status: parsed.output.status,
      appStatus: parsed.output.app,
      relation: parsed.output.relation,
      pauseConfig: parsed.output.pause,
    },
    dropped: unknown.length ? `unknown deferred events ${unknown.join(", ")}` : null,
  };
}

/** The stored form of a {@link HookMemory}: compact JSON, `""` when there is nothing to remember. */
export function encodeHookMemory(memory: HookMemory): string {
  const { deferred, status, appStatus, relation, pauseConfig } = memory;
  if (!deferred.length && !status && !appStatus && relation === null && pauseConfig === null) return "";
  return JSON.stringify({
    deferred,
    status,
    app: appStatus,
    relation,
    // Only once read: a memory written before this field existed reads the same.
    ...(pauseConfig === null ? {} : { pause: pauseConfig }),
  });
}
