import type { Dependencies } from "./dependencyModel.js";
import { canUpgrade } from "./dependencyModel.js";
import { compareVersions, parseVersion, satisfies } from "./poetry/index.js";

/** The verdict on one DEPENDENCIES key when comparing the stored (running) object with the new charm's. */
export interface KeyVerdict {
  /** The DEPENDENCIES key, e.g. `"kafka_service"`. */
  readonly key: string;
  /**
   * `compatible`/`incompatible`: both sides have the key and the running version does/does not satisfy the new
   * `upgrade_supported`; `new`: only the new charm has it (nothing to compare — the original crashed here);
   * `removed`: only the running charm has it (ignored, as the original iterates the new model's keys).
   */
  readonly verdict: "compatible" | "incompatible" | "new" | "removed";
  /** Running version, when known. */
  readonly from?: string;
  /** New version, when known. */
  readonly to?: string;
  /** The new revision's `upgrade_supported`, when known. */
  readonly supported?: string;
  /**
   * The running version's `downgrade_supported`, when the new version is older and does not satisfy it: the refresh
   * is a downgrade its workload's data cannot take (charm-upgrade only).
   */
  readonly downgrade?: string;
  /** One sentence an operator can read. */
  readonly reason: string;
}

/** The outcome of {@link checkCompatibility}: all keys' verdicts and, when incompatible, the original's texts. */
export interface CompatibilityReport {
  readonly compatible: boolean;
  readonly keys: readonly KeyVerdict[];
  /** The original's `VersionError` message, e.g. `Versions incompatible, kafka_service 3.3 can not be upgraded to 3.6`. */
  readonly message: string;
  /** The original's `VersionError` cause. */
  readonly cause: string;
}

/**
 * Compare the stored (running) DEPENDENCIES with the new charm's, key by key: the original's
 * `_upgrade_supported_check`, with the same message and cause texts, and a verdict per key so an operator (or
 * `charm-upgrade check-deps`) sees why.
 */
export function checkCompatibility(stored: Dependencies, incoming: Dependencies): CompatibilityReport {
  const keys: KeyVerdict[] = [];
  const incompatible: string[] = [];
  const causes: string[] = [];
  for (const [key, next] of Object.entries(incoming)) {
    const current = stored[key];
    if (current === undefined) {
      keys.push({
        key,
        verdict: "new",
        to: next.version,
        supported: next.upgrade_supported,
        reason: `${key} is new in this revision (${next.version}); nothing running to compare`,
      });
      continue;
    }
    const back = goesBack(current, next);
    const ok = canUpgrade(current, next) && back === null;
    keys.push({
      key,
      verdict: ok ? "compatible" : "incompatible",
      from: current.version,
      to: next.version,
      supported: next.upgrade_supported,
      ...(back !== null ? { downgrade: back } : {}),
      reason: ok
        ? `${key} ${current.version} satisfies ${next.upgrade_supported}, so it can be upgraded to ${next.version}`
        : back !== null
          ? `${key} ${current.version} cannot go back to ${next.version} (downgrade_supported ${back})`
          : `${key} ${current.version} does not satisfy ${next.upgrade_supported}, so it can not be upgraded to ${next.version}`,
    });
    if (!ok) {
      incompatible.push(`${key} ${current.version} can not be upgraded to ${next.version}`);
      causes.push(
        back !== null
          ? `${key} ${current.version} goes back only to versions satisfying ${back}`
          : `${key} versions satisfying requirement ${next.upgrade_supported}`,
      );
    }
  }
  for (const [key, current] of Object.entries(stored)) {
    if (!(key in incoming)) {
      keys.push({
        key,
        verdict: "removed",
        from: current.version,
        reason: `${key} is no longer in this revision; not checked`,
      });
    }
  }
  return {
    compatible: incompatible.length === 0,
    keys,
    message: incompatible.length ? `Versions incompatible, ${incompatible.join(", ")}` : "",
    cause: causes.length ? `Upgrades only supported for specific versions, ${causes.join(", ")}` : "",
  };
}

/**
 * The running component's `downgrade_supported` when the incoming version is older and does not satisfy it, else
 * `null`: a `juju refresh` to an older revision after an upgrade completed (a refresh back that came too late, once
 * the roll had ended) is a downgrade, and the running workload's data may not go back (issue 15.4). A newer version is
 * never a downgrade, whatever the rule says.
 */
function goesBack(
  current: { version: string; downgrade_supported?: string },
  next: { version: string },
): string | null {
  const rule = current.downgrade_supported;
  if (rule === undefined) return null;
  try {
    if (compareVersions(parseVersion(next.version), parseVersion(current.version)) >= 0) return null;
  } catch {
    return null; // versions were validated with the DEPENDENCIES; an unparsable one is not this check's to report
  }
  return satisfies(next.version, rule) ? null : rule;
}

/**
 * Whether the workload of `running` (the DEPENDENCIES of the code that upgraded a unit) can go back to the versions
 * of `back` (those a rollback returns to): every key of `running` that declares `downgrade_supported` must be
 * satisfied by `back`'s version of it. Returns why not, in words an operator can act on, or `null` when it can (or
 * nothing says otherwise: a key without the rule, or absent from `back`). A workload whose data format moved on says
 * so here, and a rollback stops before the unit rather than start the old workload on data it cannot read.
 *
 * @example
 * ```ts
 * checkDowngrade({ workload: { ...w, version: "14.9" } }, { workload: { ...w, version: "15.0", downgrade_supported: ">=15" } });
 * // "workload 15.0 cannot go back to 14.9 (downgrade_supported >=15)"
 * ```
 */
export function checkDowngrade(back: Dependencies, running: Dependencies): string | null {
  const refused: string[] = [];
  for (const [key, model] of Object.entries(running)) {
    const rule = model.downgrade_supported;
    const target = back[key]?.version;
    if (rule === undefined || target === undefined) continue;
    if (!satisfies(target, rule))
      refused.push(`${key} ${model.version} cannot go back to ${target} (downgrade_supported ${rule})`);
  }
  return refused.length ? refused.join("; ") : null;
}
