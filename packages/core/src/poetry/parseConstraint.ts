/**
 * Poetry's constraint language, parsed exactly as poetry-core 1.4.0's `parse_constraint` does.
 *
 * The Python library decides upgrades with `parse_constraint(requirement).allows(Version.parse(version))`, so a
 * charm's `upgrade_supported` string must mean here precisely what it meant there — the same splitting regexes,
 * the same order of single-constraint forms, the same odd corners (`1.2` is a pin, `=1.2.*` is `==1.2`,
 * `1.2.3.*` is `1.2.*`, `<>` is `==`, `~=1` is `>=1,<1.1`).
 *
 * @module
 */

import { ConstraintParseError, InvalidVersionError } from "../errors.js";
import {
  nextBreaking,
  nextMajor,
  nextMinor,
  type Pep440Version,
  parseVersion,
  precision,
  safeString,
  stableOf,
  VERSION_PATTERN,
  versionFromParts,
} from "./pep440Version.js";
import { PY_END, PY_WHITESPACE_CLASS, pyIntFromDigits, pyRstrip, pyRstripChar, pyStrip } from "./pythonText.js";
import {
  ANY,
  difference,
  ExactVersion,
  intersect,
  unionOf,
  type VersionConstraint,
  VersionRange,
  VersionUnion,
} from "./versionConstraint.js";

type Internal = Parameters<typeof unionOf>[0][number];

const S = `[${PY_WHITESPACE_CLASS}]`;

/** OR: `\s*\|\|?\s*` — so a single `|` separates alternatives too. */
const OR_SPLIT = new RegExp(`${S}*\\|\\|?${S}*`, "u");
/** AND: a comma and/or spaces, but not after an operator, not around a hyphen, and not before a comma or the end. */
const AND_SPLIT = /(?<!^)(?<![~=>< ,]) *(?<!-)[, ](?!-) *(?!,|\n?$)/u;

const ANY_PATTERN = new RegExp(`^v?[xX*](?:\\.[xX*])*${PY_END}`, "iu");
const TILDE = new RegExp(`^~(?!=)${S}*(?<version>${VERSION_PATTERN})${PY_END}`, "iu");
const TILDE_PEP440 = new RegExp(`^~=${S}*(?<version>${VERSION_PATTERN})${PY_END}`, "iu");
const CARET = new RegExp(`^\\^(?<version>${VERSION_PATTERN})${PY_END}`, "iu");
/** Python's `\d` is any Unicode decimal digit; the pattern is case-sensitive (`v`, not `V`). */
const X_RANGE = new RegExp(
  `^(?<op>!=|==)?${S}*v?(\\p{Nd}+)(?:\\.(\\p{Nd}+))?(?:\\.(\\p{Nd}+))?(?:\\.[xX*])+${PY_END}`,
  "u",
);
const BASIC = new RegExp(
  `^(?<op><>|!=|>=?|<=?|==?)?${S}*(?<version>${VERSION_PATTERN}|dev)(?<wildcard>\\.\\*)?${PY_END}`,
  "iu",
);

const CACHE_LIMIT = 512;
const cache = new Map<string, VersionConstraint>();

/**
 * Parses a Poetry version constraint, as poetry-core 1.4.0's `parse_constraint`.
 *
 * Results are immutable and cached (a charm evaluates the same few constraints on every upgrade hook).
 *
 * @param text - e.g. `"^1.2"`, `">=1.0,<2.0"`, `">=1.2 <1.5"`, `"~=3.6"`, `"1.2.*"`, `"^1.0 || ^2.0"`, `"!=1.3"`
 * @returns the constraint; an impossible one (`>=2,<1`) is returned as an empty constraint, not an error
 * @throws {@link ConstraintParseError} when any part is not in Poetry's language (also for non-string input);
 *   its `text` is the offending part, as poetry-core's message names it, and its message also quotes the whole
 * @example
 * ```ts
 * parseConstraint("^1.2.3").toString();      // ">=1.2.3,<2.0.0"
 * parseConstraint("1.2").allows("1.2.5");    // false: a bare version is an exact pin
 * parseConstraint("<1.5").allows("1.5rc1");  // false: `<V` excludes V's pre-releases
 * ```
 */
export function parseConstraint(text: string): VersionConstraint {
  if (typeof text !== "string") throw new ConstraintParseError(safeString(text), "a constraint must be a string");
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const result = parseUncached(text);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, result);
  return result;
}

function parseUncached(text: string): VersionConstraint {
  if (text === "*") return ANY;
  const groups: Internal[] = [];
  for (const orGroup of pyStrip(text).split(OR_SPLIT)) {
    // Trailing commas are tolerated "for robustness", as upstream does.
    const group = pyRstrip(pyRstripChar(orGroup, ","));
    const parts = group.split(AND_SPLIT).map((part) => parseSingle(part, text));
    let constraint = parts[0] as Internal;
    for (const next of parts.slice(1)) constraint = intersect(constraint, next);
    groups.push(constraint);
  }
  return groups.length === 1 ? (groups[0] as Internal) : unionOf(groups);
}

/**
 * Like poetry-core, the error names the *part* that failed (`^` for `"^ 1.2"`, `or` for `">=1 or <0.5"`): that is
 * the text pydantic showed operators. The whole constraint goes into the detail so nothing is lost.
 */
function fail(part: string, whole: string): never {
  throw new ConstraintParseError(part, part === whole ? undefined : `in ${JSON.stringify(whole)}`);
}

function versionOf(versionText: string, part: string, whole: string): Pep440Version {
  try {
    return parseVersion(versionText);
  } catch (error) {
    if (error instanceof InvalidVersionError) fail(part, whole);
    throw error;
  }
}

/** One comparator, trying poetry-core's forms in its order: any, `~`, `~=`, `^`, X-range, basic comparator. */
function parseSingle(part: string, whole: string): Internal {
  if (ANY_PATTERN.test(part)) return ANY;

  let m = TILDE.exec(part);
  if (m) {
    const version = versionOf(m.groups?.["version"] as string, part, whole);
    const high = precision(version) === 1 ? nextMajor(stableOf(version)) : nextMinor(stableOf(version));
    return new VersionRange(version, high, true);
  }

  m = TILDE_PEP440.exec(part);
  if (m) {
    const version = versionOf(m.groups?.["version"] as string, part, whole);
    const high = precision(version) === 2 ? nextMajor(stableOf(version)) : nextMinor(stableOf(version));
    return new VersionRange(version, high, true);
  }

  m = CARET.exec(part);
  if (m) {
    const version = versionOf(m.groups?.["version"] as string, part, whole);
    return new VersionRange(version, nextBreaking(version), true);
  }

  m = X_RANGE.exec(part);
  if (m) {
    // Only major and minor are used: `1.2.3.*` silently means `1.2.*`, as upstream.
    const major = pyIntFromDigits(m[2] as string);
    const minorText = m[3];
    let result: VersionRange;
    if (minorText !== undefined) {
      const version = versionFromParts(major, pyIntFromDigits(minorText), 0n);
      result = new VersionRange(version, nextMinor(version), true);
    } else if (major === 0n) {
      result = new VersionRange(null, versionFromParts(1n, 0n, 0n));
    } else {
      const version = versionFromParts(major, 0n, 0n);
      result = new VersionRange(version, nextMajor(version), true);
    }
    return m.groups?.["op"] === "!=" ? difference(ANY, result) : result;
  }

  m = BASIC.exec(part);
  if (m) {
    const op = m.groups?.["op"];
    let versionText = m.groups?.["version"] as string;
    if (versionText === "dev") versionText = "0.0-dev";
    const version = versionOf(versionText, part, whole);
    switch (op) {
      case "<":
        return new VersionRange(null, version);
      case "<=":
        return new VersionRange(null, version, false, true);
      case ">":
        return new VersionRange(version);
      case ">=":
        return new VersionRange(version, null, true);
      case "!=":
        return new VersionUnion([new VersionRange(null, version), new VersionRange(version)]);
      default:
        // `==`, `=`, `<>` (sic) and no operator: an exact pin; a trailing `.*` is ignored.
        return new ExactVersion(version);
    }
  }

  return fail(part, whole);
}
