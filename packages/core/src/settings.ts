import * as v from "valibot";
import { sanitizeText } from "./untrustedText.js";

/** Where the roll waits for the operator's `resume-upgrade`: never, after the first unit, or after every unit. */
export const PAUSE_POLICIES = ["none", "first", "all"] as const;

/** One of {@link PAUSE_POLICIES}. */
export type PausePolicy = (typeof PAUSE_POLICIES)[number];

/** The charm's settings for the upgrade, as the charm reads them (config values are untrusted input). */
export interface RawUpgradeSettings {
  /** The charm config option `pause-after-unit-upgrade` (default `first`). */
  readonly pauseAfterUnitUpgrade?: unknown;
  /**
   * Why this unit holds the roll (a backup, a scale-out), or `null`/absent when it does not. While any unit
   * holds, no unit is granted and the partition does not move; the reason shows in the statuses.
   */
  readonly hold?: string | null;
}

/** Validated settings: what the protocol decides with. */
export interface UpgradeSettings {
  readonly pauseAfter: PausePolicy;
  /** Why the raw settings were invalid (the roll then pauses after every unit, and the unit is blocked). */
  readonly problem: string | null;
  readonly hold: string | null;
}

const PauseSchema = v.picklist(PAUSE_POLICIES);

/** The default settings: pause after the first unit, no hold. */
export const DEFAULT_SETTINGS: UpgradeSettings = { pauseAfter: "first", problem: null, hold: null };

/**
 * Validate the charm's settings. An invalid pause policy never crashes: it reads as `all` (the safest: wait for
 * the operator after every unit) with a problem that blocks the unit with a message saying how to fix it.
 */
export function readSettings(raw: RawUpgradeSettings | undefined): UpgradeSettings {
  // Sanitised as the other units read it (`readPeerView`), so what is written is what they see, once.
  const text = typeof raw?.hold === "string" ? sanitizeText(raw.hold, 100) : "";
  const hold = text ? text : null;
  const value = raw?.pauseAfterUnitUpgrade;
  if (value === undefined || value === null || value === "") return { ...DEFAULT_SETTINGS, hold };
  const parsed = v.safeParse(PauseSchema, value);
  if (parsed.success) return { pauseAfter: parsed.output, problem: null, hold };
  const shown = JSON.stringify(String(value).slice(0, 40));
  return {
    pauseAfter: "all",
    problem: `Invalid config pause-after-unit-upgrade=${shown}: use none, first or all (juju config)`,
    hold,
  };
}
