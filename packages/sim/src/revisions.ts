import type { Dependencies } from "@charm-upgrade/core";

/** The DEPENDENCIES object of a one-component charm installing workload `version`, upgradable from `supported`. */
export function workloadDependencies(version: string, supported = ">=1"): Dependencies {
  return { workload: { dependencies: {}, name: "workload", upgrade_supported: supported, version } };
}

/**
 * The charm revisions a simulation knows by default: revision 1 installs workload 1.0.0, revision 2 installs 1.1.0
 * (1.0.0 may be upgraded to it), revision 3 installs 2.0.0 and only accepts upgrades from `^2` (so refreshing a
 * 1.x application to it fails the version check).
 */
export const DEFAULT_REVISIONS: Readonly<Record<number, Dependencies>> = {
  1: workloadDependencies("1.0.0"),
  2: workloadDependencies("1.1.0"),
  3: workloadDependencies("2.0.0", "^2"),
};

/** The workload version a charm revision installs: the `version` of its `workload` entry, else of its first entry. */
export function workloadVersion(dependencies: Dependencies): string {
  const entry = dependencies.workload ?? Object.values(dependencies)[0];
  return entry?.version ?? "unknown";
}
