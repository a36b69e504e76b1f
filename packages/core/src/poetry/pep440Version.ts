/**
 * PEP 440 versions as poetry-core 1.4.0 parses and orders them — including its departures from PEP 440.
 *
 * The Python library this package succeeds compares versions with `poetry.core` `Version.parse`, so an upgrade is
 * allowed or refused on *that* ordering, quirks included. The quirks reproduced here on purpose:
 * - release segments are padded to three only (`1` = `1.0.0`, but `1.0.0.0` > `1.0.0`);
 * - pre/post/dev labels are normalised only when written in lower case (`RC1` stays `RC`, and sorts before `a0`);
 * - labels compare as plain strings (ASCII order), numbers as Python's unbounded integers.
 *
 * @module
 */

import { InvalidVersionError } from "../errors.js";
import { PY_WHITESPACE_CLASS } from "./pythonText.js";

/**
 * A pre-, post- or dev-release tag: the label as poetry-core keeps it and its number.
 *
 * Lower-case labels are normalised (`alpha`→`a`, `beta`→`b`, `c`/`pre`/`preview`→`rc`, `r`/`rev`→`post`); any other
 * spelling (`RC`, `Alpha`, `POST`, `DEV`) is kept verbatim, because poetry-core 1.4 does so and orders by it.
 */
export type ReleaseTag = readonly [label: string, number: number];

/** Exact (Python-int) numerals behind a version; JavaScript numbers lose precision above 2^53. */
interface ExactTag {
  readonly label: string;
  readonly n: bigint;
}
interface LocalPart {
  /** The numeric value when the part is all digits (Python compares those as integers), else `null`. */
  readonly num: bigint | null;
  readonly str: string;
}
interface Exact {
  readonly epoch: bigint;
  /** The release numbers as written (their count is poetry-core's "precision"). */
  readonly parts: readonly bigint[];
  readonly pre: ExactTag | null;
  readonly post: ExactTag | null;
  readonly dev: ExactTag | null;
  readonly local: readonly LocalPart[] | null;
}

let exactOf: (version: Pep440Version) => Exact;
let makeVersion: (exact: Exact, text?: string) => Pep440Version;

/**
 * A parsed PEP 440 version, immutable, with the fields poetry-core keeps.
 *
 * A class (rather than a plain object) so that the exact integer values can travel with it privately: the public
 * fields are plain numbers and strings, so a version is JSON-serialisable (effects and explanations carry them),
 * while comparisons still use the exact values, as Python's integers would.
 *
 * @example
 * ```ts
 * const v = parseVersion("1.0.0-rc.1+ubuntu1");
 * v.release; // [1, 0, 0]
 * v.pre;     // ["rc", 1]
 * v.local;   // ["ubuntu1"]
 * ```
 */
export class Pep440Version {
  /** The epoch (`N!`); 0 when absent. Compared before anything else: `1!0.1` > `999`. */
  readonly epoch: number;
  /** The release numbers exactly as many as written (`1.0` has two); comparisons pad to three only. */
  readonly release: readonly number[];
  /** Pre-release tag (`a`, `b`, `rc`, or a raw upper-/mixed-case label), or `null`. */
  readonly pre: ReleaseTag | null;
  /** Post-release tag (`post`, or a raw label such as `POST` or `Rev`), or `null`. `1.0-1` is `1.0.post1`. */
  readonly post: ReleaseTag | null;
  /** Dev-release tag (`dev`, or a raw label such as `DEV`), or `null`. */
  readonly dev: ReleaseTag | null;
  /** Local segments, lower-cased, split on `.`, `-` and `_`; `null` when there is no `+local` part. */
  readonly local: readonly string[] | null;
  /** The text this version was parsed from (for messages), or its normalised form when computed. */
  readonly text: string;
  readonly #exact: Exact;

  static {
    exactOf = (version) => version.#exact;
    makeVersion = (exact, text) => new Pep440Version(exact, text ?? null);
  }

  private constructor(exact: Exact, text: string | null) {
    this.#exact = exact;
    this.epoch = Number(exact.epoch);
    this.release = Object.freeze(exact.parts.map(Number));
    this.pre = publicTag(exact.pre);
    this.post = publicTag(exact.post);
    this.dev = publicTag(exact.dev);
    this.local = exact.local ? Object.freeze(exact.local.map((part) => part.str)) : null;
    this.text = text ?? formatExact(exact);
    Object.freeze(this);
  }

  /** The normalised PEP 440 spelling (`1.0.0rc1`, `1!2.0.post1.dev0+ubuntu1`); raw labels keep their case. */
  toString(): string {
    return formatExact(this.#exact);
  }

  /** JSON form: the normalised string, so logs and effects show a readable version. */
  toJSON(): string {
    return this.toString();
  }
}

function publicTag(tag: ExactTag | null): ReleaseTag | null {
  return tag ? Object.freeze([tag.label, Number(tag.n)] as const) : null;
}

function formatExact(exact: Exact): string {
  let text = exact.epoch !== 0n ? `${exact.epoch}!` : "";
  text += exact.parts.join(".");
  if (exact.pre) text += `${exact.pre.label}${exact.pre.n}`;
  if (exact.post) text += `.${exact.post.label}${exact.post.n}`;
  if (exact.dev) text += `.${exact.dev.label}${exact.dev.n}`;
  if (exact.local) text += `+${exact.local.map((part) => part.str).join(".")}`;
  return text;
}

/**
 * packaging's `VERSION_PATTERN` (the one poetry-core 1.4 vendors), for use with the `iu` flags.
 *
 * Two adjustments reproduce Python's case-insensitive matching, which also lets `ı` and `İ` match `i` (JavaScript's
 * Unicode case folding does not); `ſ` and the Kelvin sign already fold to `s` and `k` in both. Named groups keep
 * packaging's names.
 */
export const VERSION_PATTERN =
  "v?" +
  "(?:" +
  "(?:(?<epoch>[0-9]+)!)?" +
  "(?<release>[0-9]+(?:\\.[0-9]+)*)" +
  "(?<pre>[-_.]?(?<pre_l>a|b|c|rc|alpha|beta|pre|prev[iıİ]ew)[-_.]?(?<pre_n>[0-9]+)?)?" +
  "(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?" +
  "(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?" +
  ")" +
  "(?:\\+(?<local>[a-z0-9ıİ]+(?:[-_.][a-z0-9ıİ]+)*))?";

/** `^\s*VERSION_PATTERN\s*$` with Python's `\s`: surrounding whitespace is allowed, by Python's definition. */
const VERSION_REGEX = new RegExp(`^[${PY_WHITESPACE_CLASS}]*${VERSION_PATTERN}[${PY_WHITESPACE_CLASS}]*$`, "iu");

/** poetry-core's `RELEASE_PHASE_NORMALIZATIONS`: a case-sensitive lookup, hence the upper-case quirk. */
const PHASE_NORMALIZATIONS: Readonly<Record<string, string>> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  rc: "rc",
  c: "rc",
  pre: "rc",
  preview: "rc",
  post: "post",
  r: "post",
  rev: "post",
  "-": "post",
  dev: "dev",
};

function tag(label: string, n: string | undefined): ExactTag {
  return {
    label: Object.hasOwn(PHASE_NORMALIZATIONS, label) ? (PHASE_NORMALIZATIONS[label] as string) : label,
    n: BigInt(n ?? 0),
  };
}

function localPart(str: string): LocalPart {
  return { num: /^[0-9]+$/.test(str) ? BigInt(str) : null, str };
}

/**
 * Parses a PEP 440 version the way poetry-core 1.4 does (`Version.parse`).
 *
 * Accepts what packaging's pattern accepts, case-insensitively, with surrounding (Python) whitespace and an optional
 * `v`. Throws rather than returning a sentinel because an unparsable version is a configuration error the operator
 * must see, as in the Python library.
 *
 * @param text - the version, e.g. `"1.2.3"`, `"14.7"`, `"2.0.0rc1"`, `"1.0.post1"`, `"1!2.0+ubuntu1"`
 * @throws {@link InvalidVersionError} when `text` is not a PEP 440 version (or not a string at all)
 * @example
 * ```ts
 * parseVersion("1.0.0-beta.2").pre; // ["b", 2]
 * parseVersion("1.0.0RC1").pre;     // ["RC", 1] — upper case is not normalised (poetry-core 1.4 quirk)
 * ```
 */
export function parseVersion(text: string): Pep440Version {
  if (typeof text !== "string") throw new InvalidVersionError(safeString(text));
  const match = text === "" ? null : VERSION_REGEX.exec(text);
  const groups = match?.groups;
  if (!groups) throw new InvalidVersionError(text);
  const releaseText = groups["release"] as string;
  const preLabel = groups["pre_l"];
  const postText = groups["post"];
  const devLabel = groups["dev_l"];
  const localText = groups["local"];
  return makeVersion(
    {
      epoch: groups["epoch"] ? BigInt(groups["epoch"]) : 0n,
      parts: releaseText.split(".").map((part) => BigInt(part)),
      pre: preLabel === undefined ? null : tag(preLabel, groups["pre_n"]),
      post: postText === undefined ? null : tag(groups["post_l"] ?? "post", groups["post_n1"] ?? groups["post_n2"]),
      dev: devLabel === undefined ? null : tag(devLabel, groups["dev_n"]),
      local: localText === undefined ? null : localText.split(/[-_.]/u).map((part) => localPart(part.toLowerCase())),
    },
    text,
  );
}

/** `String(value)` that cannot itself throw, for error messages about non-string input. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ordering (poetry-core's `_make_compare_key`, itself packaging's `_cmpkey` with the padding quirk)

/** Python's `("", -inf)` and `("z", inf)` tags: below and above every real label. */
const Sentinel = { NegInf: -1, Inf: 1 } as const;
type KeyTag = ExactTag | -1 | 1;

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Python compares `(phase, number)` tuples; `("", -inf)` sorts below every label and `("z", inf)` above. */
function cmpTag(a: KeyTag, b: KeyTag): number {
  if (typeof a === "number" || typeof b === "number") {
    const rank = (t: KeyTag) => (typeof t === "number" ? t : 0);
    return Math.sign(rank(a) - rank(b));
  }
  return cmpStr(a.label, b.label) || cmpBig(a.n, b.n);
}

/** The release compare key: `(major, minor or 0, patch or 0, *extra)` — padded to three, never further. */
function releaseKey(parts: readonly bigint[]): readonly bigint[] {
  if (parts.length >= 3) return parts;
  return [parts[0] as bigint, parts[1] ?? 0n, parts[2] ?? 0n];
}

function cmpRelease(a: readonly bigint[], b: readonly bigint[]): number {
  const ka = releaseKey(a);
  const kb = releaseKey(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const c = cmpBig(ka[i] as bigint, kb[i] as bigint);
    if (c !== 0) return c;
  }
  return Math.sign(ka.length - kb.length);
}

const NO_LOCAL: readonly LocalPart[] = [{ num: null, str: "" }];

/** Numeric parts sort above alphanumeric ones, alphanumeric parts by string, shorter before longer. */
function cmpLocal(a: readonly LocalPart[] | null, b: readonly LocalPart[] | null): number {
  const la = a ?? NO_LOCAL;
  const lb = b ?? NO_LOCAL;
  const n = Math.min(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    const pa = la[i] as LocalPart;
    const pb = lb[i] as LocalPart;
    let c: number;
    if (pa.num !== null && pb.num !== null) c = cmpBig(pa.num, pb.num);
    else if (pa.num !== null) c = 1;
    else if (pb.num !== null) c = -1;
    else c = cmpStr(pa.str, pb.str);
    if (c !== 0) return c;
  }
  return Math.sign(la.length - lb.length);
}

function preKey(e: Exact): KeyTag {
  // `1.0.dev0` must sort before `1.0a0`: a dev release without pre or post takes the lowest pre slot.
  if (e.pre === null && e.post === null && e.dev !== null) return Sentinel.NegInf;
  return e.pre ?? Sentinel.Inf;
}

function compareExact(a: Exact, b: Exact): number {
  return (
    cmpBig(a.epoch, b.epoch) ||
    cmpRelease(a.parts, b.parts) ||
    cmpTag(preKey(a), preKey(b)) ||
    cmpTag(a.post ?? Sentinel.NegInf, b.post ?? Sentinel.NegInf) ||
    cmpTag(a.dev ?? Sentinel.Inf, b.dev ?? Sentinel.Inf) ||
    cmpLocal(a.local, b.local)
  );
}

/**
 * Orders two versions as poetry-core 1.4 does: negative, zero or positive.
 *
 * Zero means "equal" in poetry-core's sense (`1.0` = `1.0.0`, `1.0+01` = `1.0+1`), which is what ranges and exact
 * pins test against — not string equality.
 *
 * @example
 * ```ts
 * compareVersions(parseVersion("1.0.dev0"), parseVersion("1.0a0")) < 0; // true
 * compareVersions(parseVersion("1.0.0.0"), parseVersion("1.0")) > 0;    // true (padding to 3 only)
 * ```
 */
export function compareVersions(a: Pep440Version, b: Pep440Version): number {
  return compareExact(exactOf(a), exactOf(b));
}

/** `compareVersions(a, b) === 0`, for readability at call sites that test poetry-core's `==`. */
export function versionsEqual(a: Pep440Version, b: Pep440Version): boolean {
  return compareExact(exactOf(a), exactOf(b)) === 0;
}

/** `a == b` with Python's `None` semantics (two missing bounds are equal), as the range algebra compares bounds. */
export function boundsEqual(a: Pep440Version | null, b: Pep440Version | null): boolean {
  if (a === null || b === null) return a === b;
  return versionsEqual(a, b);
}

// ---------------------------------------------------------------------------------------------------------------
// Predicates and derived versions used by the range algebra

/** True when there is no pre- and no dev-release part (post-releases count as stable, as in poetry-core). */
export function isStable(v: Pep440Version): boolean {
  return v.pre === null && v.dev === null;
}

/** True for a `.postN` (or `-N`) version; upper bounds ignore post parts unless they have one themselves. */
export function isPostRelease(v: Pep440Version): boolean {
  return v.post !== null;
}

/** True for a `+local` version; bounds and pins ignore local parts unless they have one themselves. */
export function isLocal(v: Pep440Version): boolean {
  return v.local !== null;
}

/** The same version without its `+local` part (poetry-core's `without_local`). */
export function stripLocal(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  return e.local === null ? v : makeVersion({ ...e, local: null });
}

/** The same version without its post-release part (poetry-core's `without_postrelease`). */
export function stripPost(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  return e.post === null ? v : makeVersion({ ...e, post: null });
}

/**
 * `V.a0` of a version: same epoch and release (segment count kept), pre-release `a0`, nothing else.
 *
 * poetry-core silently turns an exclusive upper bound `<V` into `<V.a0`, which is why `<1.5` rejects `1.5.0rc1`
 * but still allows `1.5.dev0` (dev releases sort below `a0`).
 */
export function firstPrerelease(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  return makeVersion({
    epoch: e.epoch,
    parts: e.parts,
    pre: { label: "a", n: 0n },
    post: null,
    dev: null,
    local: null,
  });
}

/** True when the two releases compare equal after padding to three (`1.0` vs `1.0.0`), epochs ignored as upstream. */
export function sameRelease(a: Pep440Version, b: Pep440Version): boolean {
  return cmpRelease(exactOf(a).parts, exactOf(b).parts) === 0;
}

/** The number of release segments written, poetry-core's `precision` (`~=1.2` and `~=1.2.3` differ by it). */
export function precision(v: Pep440Version): number {
  return exactOf(v).parts.length;
}

function withRelease(e: Exact, parts: readonly bigint[]): Pep440Version {
  return makeVersion({ epoch: e.epoch, parts, pre: null, post: null, dev: null, local: null });
}

/** Builds a plain release (epoch 0) from its numbers, as the X-range parser does with `Version.from_parts`. */
export function versionFromParts(...parts: readonly bigint[]): Pep440Version {
  return withRelease({ epoch: 0n, parts, pre: null, post: null, dev: null, local: null }, parts);
}

/** The version without pre/dev parts (poetry-core's `stable`); post is kept only when there was no pre-release. */
export function stableOf(v: Pep440Version): Pep440Version {
  if (isStable(v)) return v;
  const e = exactOf(v);
  return makeVersion({
    epoch: e.epoch,
    parts: e.parts,
    pre: null,
    post: e.pre === null ? e.post : null,
    dev: null,
    local: null,
  });
}

const zeros = (n: number): bigint[] => Array.from({ length: Math.max(0, n) }, () => 0n);

function releaseNextMajor(p: readonly bigint[]): bigint[] {
  return [(p[0] as bigint) + 1n, ...zeros(p.length - 1)];
}
function releaseNextMinor(p: readonly bigint[]): bigint[] {
  if (p.length === 1) return [p[0] as bigint, 1n];
  return [p[0] as bigint, (p[1] as bigint) + 1n, ...zeros(p.length - 2)];
}
function releaseNextPatch(p: readonly bigint[]): bigint[] {
  if (p.length === 1) return [p[0] as bigint, 0n, 1n];
  if (p.length === 2) return [p[0] as bigint, p[1] as bigint, 1n];
  return [p[0] as bigint, p[1] as bigint, (p[2] as bigint) + 1n, ...zeros(p.length - 3)];
}

/**
 * The next major release, keeping the segment count (`1.2.3` → `2.0.0`, `1.2` → `2.0`, `1.2.3.4` → `2.0.0.0`).
 *
 * The kept count matters: `^1.2.3.4` ends at `2.0.0.0`, and since `2.0.0` < `2.0.0.0a0` it allows `2.0.0`.
 * Like poetry-core, a pre-release of an `X.0.0` release does not move (`2.0.0a1` → `2.0.0`).
 */
export function nextMajor(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  const bump = isStable(v) || cmpRelease([e.parts[0] as bigint, 0n, 0n], e.parts) < 0;
  return withRelease(e, bump ? releaseNextMajor(e.parts) : e.parts);
}

/** The next minor release, keeping the segment count, except that `1` becomes `1.1` (poetry-core's `next_minor`). */
export function nextMinor(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  const bump = isStable(v) || cmpRelease([e.parts[0] as bigint, e.parts[1] ?? 0n, 0n], e.parts) < 0;
  return withRelease(e, bump ? releaseNextMinor(e.parts) : e.parts);
}

/** The next patch release (`1` → `1.0.1`, `1.2` → `1.2.1`, `0.0.0.1` → `0.0.1.0`), as poetry-core's `next_patch`. */
export function nextPatch(v: Pep440Version): Pep440Version {
  const e = exactOf(v);
  return withRelease(e, isStable(v) ? releaseNextPatch(e.parts) : e.parts);
}

/**
 * The exclusive upper bound of a caret constraint `^V`: next major if major > 0 or V has one segment; else next
 * minor if minor > 0 or V has two segments; else next patch — always from V's stable form.
 */
export function nextBreaking(v: Pep440Version): Pep440Version {
  const parts = exactOf(v).parts;
  const stable = stableOf(v);
  if ((parts[0] as bigint) > 0n || parts.length === 1) return nextMajor(stable);
  if ((parts[1] as bigint) > 0n || parts.length === 2) return nextMinor(stable);
  return nextPatch(stable);
}
