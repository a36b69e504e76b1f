/**
 * The one question the upgrade protocol asks of versions: may this running version be upgraded, given the new
 * revision's `upgrade_supported` constraint?
 *
 * @module
 */

import { parseConstraint } from "./parseConstraint.js";
import { parseVersion } from "./pep440Version.js";

/**
 * `parse_constraint(constraint).allows(Version.parse(version))`, the Python library's `verify_requirements`.
 *
 * The constraint is parsed first, so when both are invalid the constraint error wins — the order the Python
 * library (and the oracle corpus) report.
 *
 * @param version - a PEP 440 version, e.g. `"3.3.2"`
 * @param constraint - a Poetry constraint, e.g. `"^3.3"` or `">=0.8"`
 * @throws {@link ConstraintParseError} when `constraint` does not parse
 * @throws {@link InvalidVersionError} when `version` is not a PEP 440 version
 * @example
 * ```ts
 * satisfies("3.3.2", "~3.3"); // true
 * satisfies("2.0.0a1", ">=1.0"); // true: Poetry has no "same tuple" pre-release rule, unlike npm semver
 * ```
 */
export function satisfies(version: string, constraint: string): boolean {
  const parsed = parseConstraint(constraint);
  return parsed.allows(parseVersion(version));
}
