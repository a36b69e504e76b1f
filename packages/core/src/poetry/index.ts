/**
 * Poetry (poetry-core 1.4.0) version semantics: PEP 440 versions and Poetry constraints, ported exactly so that
 * upgrade decisions match the Python library's.
 *
 * @module
 */

export { parseConstraint } from "./parseConstraint.js";
export { compareVersions, parseVersion } from "./pep440Version.js";
export type { Pep440Version, ReleaseTag } from "./pep440Version.js";
export { satisfies } from "./satisfies.js";
export type { VersionConstraint } from "./versionConstraint.js";
