/**
 * The guide's DEPENDENCIES example: what this charm revision installs and what it can be upgraded from.
 *
 * @module
 */
import type { Dependencies } from "@charm-upgrade/core";
import { canUpgrade, parseDependencies, satisfies } from "@charm-upgrade/core";

// #region dependencies
/**
 * What this charm revision installs, and from which running versions it may be upgraded. Keys are yours; each
 * value has the four fields of the Python library's `DependencyModel`.
 */
export const DEPENDENCIES = {
  // the charm code itself: any 1.x charm may be refreshed to this one
  charm: {
    dependencies: {},
    name: "postgresql",
    upgrade_supported: "^1",
    version: "1.4",
  },
  // the workload it installs: from 14.x only (no in-place major upgrade), and it needs a pgbouncer >= 1.21
  workload: {
    dependencies: { pgbouncer: ">=1.21" },
    name: "postgresql",
    upgrade_supported: ">=14.0,<15",
    version: "14.10",
  },
} as const;
// #endregion dependencies

// #region validate
/** The same object, validated and typed: throws a `DependencyError` listing every problem if it is invalid. */
export const dependencies: Dependencies = parseDependencies(DEPENDENCIES);

// Poetry constraints, evaluated as the Python library's poetry-core does:
satisfies("14.9", ">=14.0,<15"); // true
satisfies("13.12", dependencies.workload?.upgrade_supported ?? ""); // false

/** May a unit running `stored` be refreshed to this revision? The question the version check asks, key by key. */
export function mayUpgradeFrom(stored: Dependencies): boolean {
  return Object.entries(dependencies).every(([key, incoming]) => {
    const running = stored[key];
    return running === undefined || canUpgrade(running, incoming);
  });
}
// #endregion validate
