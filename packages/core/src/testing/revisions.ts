import type { Dependencies } from "../dependencyModel.js";

/** One revision of a charm: its name and its DEPENDENCIES (the workload version it installs among them). */
export interface Revision {
  readonly name: string;
  readonly dependencies: Dependencies;
}

/** A charm revision installing workload `version`, which can be upgraded from versions satisfying `supported`. */
function revision(name: string, version: string, supported = ">=1"): Revision {
  return {
    name,
    dependencies: {
      workload: { dependencies: {}, name: "workload", upgrade_supported: supported, version },
    },
  };
}

/** The revision a test deploys first. */
export const OLD = revision("old", "1.0.0");
/** A compatible newer revision (`1.0.0` satisfies `>=1`). */
export const NEW = revision("new", "1.1.0");
/** A revision the running `1.0.0` may not be upgraded to (`^2` excludes it). */
export const INCOMPATIBLE = revision("incompatible", "2.0.0", "^2");
