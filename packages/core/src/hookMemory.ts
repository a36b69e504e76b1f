import * as v from "valibot";
import type { StatusName } from "./effects.js";
import { KEYS } from "./peerView.js";

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
 * The keys of a unit's own databag that are the library's (see `KEYS`): the part of it a unit keeps in its memory
 * ({@link HookMemory.own}). Juju writes others there (`private-address`, `ingress-address`, `egress-subnets`) and the
 * charm may write its own; the library reads neither.
 */
export const OWN_KEYS: readonly string[] = [
  KEYS.state,
  KEYS.skipped,
  KEYS.hold,
  KEYS.charm,
  KEYS.workload,
  KEYS.noDowngrade,
];

/**
 * What a unit keeps from one hook to the next, in Juju's per-unit store (`state-set`, committed only when the hook
 * succeeds): the events it deferred, and the statuses it last set — so a hook never asks `status-get` what it
 * already knows. The application status is the leader's; a unit that becomes leader forgets it (another unit may
 * have set it since). And the library's keys of its own databag, so a hook need not read it back (see `own`).
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
  /**
   * The library's keys ({@link OWN_KEYS}) of this unit's own databag in the peer relation `relation`, as the unit
   * left them at the end of its last hook, or `null` when not known (a memory written before this field existed; the
   * Python library's charm keeps none). A unit's databag is written only by that unit's own hook commits (juju/juju
   * `apiserver/facades/agent/uniter/uniter.go` `CommitHookChanges` -> `updateUnitAndApplicationSettings`, for the unit
   * the agent is; Juju's own writes there are its network keys, `UpdateNetworkInfo`, none of the library's), and Juju
   * commits a hook's relation settings and its store together, in one `CommitHookChanges` request at the end of the
   * hook, or neither when the hook fails (juju/juju `worker/uniter/runner/context/context.go` `Flush` -> `doFlush`:
   * `UpdateCharmState` and `UpdateRelationUnitSettings` in one builder). So what is kept here is what the databag
   * holds, and a hook takes it from here instead of asking `relation-get` (issue 14); `hookProgram` still reads the
   * databag where another charm may have written it since (upgrade-charm: the Python library's, in a refresh back and
   * forth) and in actions. A copy holding data that does not validate is not kept (the next hook reads and reports
   * it anew), so invalid data is not reported after it was fixed. One writer is outside this: an operator's
   * `juju exec --unit U -- relation-set`, which commits no store of ours; an action (pre-upgrade-check,
   * resume-upgrade) reads the databag anew.
   */
  readonly own: Readonly<Record<string, string>> | null;
  /**
   * Whether this unit was the leader in its last hook that read the peer relation (`null`: not known). A unit that
   * was not need not ask `is-leader` again before Juju runs `leader-elected` on it (see `hookProgram`).
   */
  readonly leader: boolean | null;
  /**
   * The other units of the peer relation `relation` this unit has met, as `relation-list` prints them (sorted), once
   * a hook has read them (`null`: not known). Juju changes them only by running `-relation-joined` and
   * `-relation-departed` here, each counting its remote unit from the start of the hook (juju/juju
   * `worker/uniter/runner/context/contextfactory.go` `HookContext`; the uniter's relation state after the commit,
   * `worker/uniter/relation/statetracker.go`), so every hook keeps them up to date and none asks `relation-list`
   * again (see `hookProgram`).
   */
  readonly members: readonly string[] | null;
}

/** Nothing remembered: a unit's first hook. */
export const EMPTY_MEMORY: HookMemory = {
  deferred: [],
  status: null,
  appStatus: null,
  relation: null,
  pauseConfig: null,
  own: null,
  leader: null,
  members: null,
};

/** The library's keys of a unit's databag ({@link OWN_KEYS}), the others left out. */
export function ownPart(bag: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of OWN_KEYS) {
    const value = bag[key];
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

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
  // Lenient on its own: an unreadable copy of the databag is not kept (the hook reads the databag), and the rest of
  // the memory stands.
  own: v.fallback(
    v.optional(
      v.nullable(
        v.pipe(
          v.record(v.string(), v.string()),
          v.check((bag) => Object.keys(bag).every((key) => OWN_KEYS.includes(key))),
        ),
      ),
      null,
    ),
    null,
  ),
  leader: v.fallback(v.optional(v.nullable(v.boolean()), null), null),
  members: v.fallback(
    v.optional(v.nullable(v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.maxLength(10_000))), null),
    null,
  ),
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
      own: parsed.output.own,
      leader: parsed.output.leader,
      members: parsed.output.members,
    },
    dropped: unknown.length ? `unknown deferred events ${unknown.join(", ")}` : null,
  };
}

/** The stored form of a {@link HookMemory}: compact JSON, `""` when there is nothing to remember. */
export function encodeHookMemory(memory: HookMemory): string {
  const { deferred, status, appStatus, relation, pauseConfig, own, leader, members } = memory;
  if (
    !deferred.length &&
    !status &&
    !appStatus &&
    relation === null &&
    pauseConfig === null &&
    own === null &&
    leader === null &&
    members === null
  )
    return "";
  return JSON.stringify({
    deferred,
    status,
    app: appStatus,
    relation,
    // Only once read: a memory written before these fields existed reads the same.
    ...(pauseConfig === null ? {} : { pause: pauseConfig }),
    ...(own === null ? {} : { own }),
    ...(leader === null ? {} : { leader }),
    ...(members === null ? {} : { members }),
  });
}
