import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dependencies } from "@charm-upgrade/core";
import { DependencyError, parseDependencies } from "@charm-upgrade/core";

/** The file in the charm directory that holds this revision's DEPENDENCIES. */
export const DEPENDENCIES_FILE = "dependencies.json";

/**
 * Read and validate this revision's DEPENDENCIES from `dependencies.json` in the charm directory. A new charm
 * revision of the demo is made by changing that file only.
 *
 * @throws `DependencyError` when the file is missing, is not JSON, or is not a valid DEPENDENCIES object.
 */
export function readDependencies(charmDir: string): Dependencies {
  const file = join(charmDir, DEPENDENCIES_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new DependencyError(
      `Cannot read ${file}`,
      error instanceof Error ? error.message : String(error),
      `ship ${DEPENDENCIES_FILE} in the charm (the build writes it)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DependencyError(
      `${file} is not JSON`,
      error instanceof Error ? error.message : String(error),
      `fix ${DEPENDENCIES_FILE}`,
    );
  }
  return parseDependencies(parsed);
}

/** The workload version a revision installs: the `version` of the entry `workload`, else of the first entry. */
export function workloadVersion(dependencies: Dependencies): string {
  const entry = dependencies["workload"] ?? Object.values(dependencies)[0];
  if (!entry) {
    throw new DependencyError(
      "DEPENDENCIES has no entry",
      "the demo installs the version of its first entry",
      'add a "workload" entry',
    );
  }
  return entry.version;
}
