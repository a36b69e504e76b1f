/**
 * poetry-core 1.4.0's version-constraint algebra: exact versions, ranges, unions and the empty constraint, with
 * `intersect`, `union`, `difference` and `allows` ported method by method.
 *
 * Why a faithful port rather than a cleaner design: the answers of `allows()` depend on *how* a constraint was
 * built. An exclusive upper bound `<V` silently becomes `<V.a0` — and that rule is re-derived from scratch every
 * time a range is constructed, including inside intersections and unions. So `>=1.0.0a1,<1.0.0` is empty and
 * `^1.0 || ^2.0` allows `2.0.0a1`, which neither half allows alone. Reproducing the Python library's decisions means
 * reproducing its construction steps, so the code below mirrors `VersionRange`, `VersionUnion`, `Version` and
 * `EmptyConstraint` of poetry-core closely (including its Python `None == None` comparisons of missing bounds).
 *
 * @module
 */

import {
  boundsEqual,
  compareVersions,
  firstPrerelease,
  isLocal,
  isPostRelease,
  isStable,
  parseVersion,
  type Pep440Version,
  sameRelease,
  stripLocal,
  stripPost,
  versionsEqual,
} from "./pep440Version.js";

/**
 * A parsed Poetry version constraint.
 *
 * Constraints are immutable values: combining them returns new constraints, so a parsed constraint can be cached
 * and shared. `kind` tells the four shapes apart for code that wants to explain a decision.
 *
 * @example
 * ```ts
 * const c = parseConstraint("^1.2 || ^2.0");
 * c.allows("2.0.0a1"); // true: the two ranges touch and merge into >=1.2,<3.0
 * c.toString();        // ">=1.2,<3.0"
 * ```
 */
export interface VersionConstraint {
  /** `"empty"` (allows nothing), `"version"` (an exact pin), `"range"` or `"union"` (of disjoint ranges/pins). */
  readonly kind: "empty" | "version" | "range" | "union";
  /**
   * Whether `version` satisfies the constraint, exactly as poetry-core's `allows()`.
   * @throws {@link InvalidVersionError} when `version` is a string that is not a PEP 440 version
   */
  allows(version: Pep440Version | string): boolean;
  /** True when nothing is allowed (e.g. `>=2.0,<1.0`); an empty constraint is not an error in Poetry. */
  isEmpty(): boolean;
  /** True for the unbounded range (`*`), which allows every version, pre-releases included. */
  isAny(): boolean;
  /** The constraint allowing what both allow — as poetry-core computes it, a0 rule re-applied. */
  intersect(other: VersionConstraint): VersionConstraint;
  /** The constraint allowing what either allows — touching ranges merge, as in poetry-core. */
  union(other: VersionConstraint): VersionConstraint;
  /** A readable, normalised form such as `>=1.2,<2.0`, `==1.2`, `!=1.2`, `*` or `<empty>`, for explanations. */
  toString(): string;
}

type Internal = EmptyConstraint | ExactVersion | VersionRange | VersionUnion;

/** The bound-carrying shapes (poetry-core's `VersionRangeConstraint`): an exact version is the range `[V, V]`. */
type RangeLike = ExactVersion | VersionRange;

function internal(c: VersionConstraint): Internal {
  if (
    c instanceof EmptyConstraint ||
    c instanceof ExactVersion ||
    c instanceof VersionRange ||
    c instanceof VersionUnion
  ) {
    return c;
  }
  throw new TypeError("not a constraint created by parseConstraint");
}

function toVersion(version: Pep440Version | string): Pep440Version {
  return typeof version === "string" ? parseVersion(version) : version;
}

function show(v: Pep440Version): string {
  return v.toString();
}

/** The constraint that allows nothing: the result of a contradictory AND such as `1.0, 2.0`. */
export class EmptyConstraint implements VersionConstraint {
  readonly kind = "empty" as const;
  constructor() {
    Object.freeze(this); // shared and cached: immutability is what makes that safe
  }
  allows(version: Pep440Version | string): boolean {
    toVersion(version);
    return false;
  }
  isEmpty(): boolean {
    return true;
  }
  isAny(): boolean {
    return false;
  }
  intersect(other: VersionConstraint): VersionConstraint {
    return intersect(this, internal(other));
  }
  union(other: VersionConstraint): VersionConstraint {
    return union(this, internal(other));
  }
  toString(): string {
    return "<empty>";
  }
}

/** An exact pin (`1.2`, `==1.2`, `=1.2`): allows the version itself and, unless it has one, its `+local` builds. */
export class ExactVersion implements VersionConstraint {
  readonly kind = "version" as const;
  readonly includeMin = true;
  readonly includeMax = true;
  constructor(readonly version: Pep440Version) {
    Object.freeze(this);
  }
  get min(): Pep440Version {
    return this.version;
  }
  get max(): Pep440Version {
    return this.version;
  }
  get fullMax(): Pep440Version {
    return this.version;
  }
  allows(version: Pep440Version | string): boolean {
    return this.allowsVersion(toVersion(version));
  }
  /** poetry-core's `Version.allows`: weak equality that ignores the other's local part unless this one has one. */
  allowsVersion(version: Pep440Version | null): boolean {
    if (version === null) return false;
    const other = !isLocal(this.version) && isLocal(version) ? stripLocal(version) : version;
    return versionsEqual(this.version, other);
  }
  isEmpty(): boolean {
    return false;
  }
  isAny(): boolean {
    return false;
  }
  intersect(other: VersionConstraint): VersionConstraint {
    return intersect(this, internal(other));
  }
  union(other: VersionConstraint): VersionConstraint {
    return union(this, internal(other));
  }
  toString(): string {
    return `==${show(this.version)}`;
  }
}

/**
 * A range between optional bounds, poetry-core's `VersionRange`.
 *
 * `fullMax` is the bound `allows()` really tests: for an exclusive, stable, non-post `max` it is `max.a0`, unless
 * the lower bound is a pre/dev release of the same release. It is computed here, in the constructor, because
 * poetry-core computes it in `__init__` — every range built by intersect/union/difference gets it re-derived.
 */
export class VersionRange implements VersionConstraint {
  readonly kind = "range" as const;
  readonly fullMax: Pep440Version | null;
  constructor(
    readonly min: Pep440Version | null = null,
    readonly max: Pep440Version | null = null,
    readonly includeMin = false,
    readonly includeMax = false,
    alwaysIncludeMaxPrerelease = false,
  ) {
    let fullMax = max;
    if (
      !alwaysIncludeMaxPrerelease &&
      !includeMax &&
      fullMax !== null &&
      isStable(fullMax) &&
      !isPostRelease(fullMax) &&
      (min === null || isStable(min) || !sameRelease(min, fullMax))
    ) {
      fullMax = firstPrerelease(fullMax);
    }
    this.fullMax = fullMax;
    Object.freeze(this);
  }
  allows(version: Pep440Version | string): boolean {
    return this.allowsVersion(toVersion(version));
  }
  /** Lower bound: plain comparison. Upper bound: local and post parts stripped unless the bound has them. */
  allowsVersion(other: Pep440Version): boolean {
    if (this.min !== null) {
      if (compareVersions(other, this.min) < 0) return false;
      if (!this.includeMin && versionsEqual(other, this.min)) return false;
    }
    if (this.fullMax !== null) {
      const bound = this.fullMax;
      let candidate = other;
      if (!isLocal(bound) && isLocal(candidate)) candidate = stripLocal(candidate);
      if (!isPostRelease(bound) && isPostRelease(candidate)) candidate = stripPost(candidate);
      const c = compareVersions(candidate, bound);
      if (c > 0) return false;
      if (!this.includeMax && c === 0) return false;
    }
    return true;
  }
  isEmpty(): boolean {
    return false;
  }
  isAny(): boolean {
    return this.min === null && this.max === null;
  }
  intersect(other: VersionConstraint): VersionConstraint {
    return intersect(this, internal(other));
  }
  union(other: VersionConstraint): VersionConstraint {
    return union(this, internal(other));
  }
  toString(): string {
    if (this.min === null && this.max === null) return "*";
    const parts: string[] = [];
    if (this.min !== null) parts.push(`${this.includeMin ? ">=" : ">"}${show(this.min)}`);
    if (this.max !== null) parts.push(`${this.includeMax ? "<=" : "<"}${show(this.max)}`);
    return parts.join(",");
  }
}

/** A union of disjoint, sorted ranges and pins that could not be merged into one range (`<1.0 || >=2.0`). */
export class VersionUnion implements VersionConstraint {
  readonly kind = "union" as const;
  readonly ranges: readonly RangeLike[];
  constructor(ranges: readonly RangeLike[]) {
    this.ranges = Object.freeze([...ranges]);
    Object.freeze(this);
  }
  allows(version: Pep440Version | string): boolean {
    const v = toVersion(version);
    return this.ranges.some((r) => r.allowsVersion(v));
  }
  isEmpty(): boolean {
    return false;
  }
  isAny(): boolean {
    return false;
  }
  intersect(other: VersionConstraint): VersionConstraint {
    return intersect(this, internal(other));
  }
  union(other: VersionConstraint): VersionConstraint {
    return union(this, internal(other));
  }
  toString(): string {
    const [a, b] = this.ranges;
    if (
      this.ranges.length === 2 &&
      a instanceof VersionRange &&
      b instanceof VersionRange &&
      a.min === null &&
      a.max !== null &&
      !a.includeMax &&
      b.max === null &&
      b.min !== null &&
      !b.includeMin &&
      versionsEqual(a.max, b.min)
    ) {
      return `!=${show(a.max)}`;
    }
    return this.ranges.map(String).join(" || ");
  }
}

/** The shared "any version" constraint (`*`). */
export const ANY: VersionRange = new VersionRange();
/** The shared empty constraint. */
export const EMPTY: EmptyConstraint = new EmptyConstraint();

// ---------------------------------------------------------------------------------------------------------------
// VersionRangeConstraint helpers (poetry-core's allows_lower / allows_higher / is_strictly_lower / is_adjacent_to)

function cmp(a: Pep440Version, b: Pep440Version): number {
  return compareVersions(a, b);
}

function allowsLower(self: RangeLike, other: RangeLike): boolean {
  if (self.min === null) return other.min !== null;
  if (other.min === null) return false;
  const c = cmp(self.min, other.min);
  if (c < 0) return true;
  if (c > 0) return false;
  return self.includeMin && !other.includeMin;
}

function allowsHigher(self: RangeLike, other: RangeLike): boolean {
  if (self.fullMax === null) return other.max !== null;
  if (other.fullMax === null) return false;
  const c = cmp(self.fullMax, other.fullMax);
  if (c < 0) return false;
  if (c > 0) return true;
  return self.includeMax && !other.includeMax;
}

function isStrictlyLower(self: RangeLike, other: RangeLike): boolean {
  if (self.fullMax === null || other.min === null) return false;
  const c = cmp(self.fullMax, other.min);
  if (c < 0) return true;
  if (c > 0) return false;
  return !self.includeMax || !other.includeMin;
}

function isStrictlyHigher(self: RangeLike, other: RangeLike): boolean {
  return isStrictlyLower(other, self);
}

function isAdjacentTo(self: RangeLike, other: RangeLike): boolean {
  if (!boundsEqual(self.max, other.min)) return false;
  return (self.includeMax && !other.includeMin) || (!self.includeMax && other.includeMin);
}

function flatten(c: Internal): readonly RangeLike[] {
  switch (c.kind) {
    case "empty":
      return [];
    case "union":
      return c.ranges;
    default:
      return [c];
  }
}

/** poetry-core's `VersionRange._cmp`, the order `VersionUnion.of` sorts by; a pin sorts as `[V, V]`. */
function compareRanges(a: RangeLike, b: RangeLike): number {
  if (a.min === null) return b.min === null ? compareMax(a, b) : -1;
  if (b.min === null) return 1;
  const c = cmp(a.min, b.min);
  if (c !== 0) return Math.sign(c);
  if (a.includeMin !== b.includeMin) return a.includeMin ? -1 : 1;
  return compareMax(a, b);
}

function compareMax(a: RangeLike, b: RangeLike): number {
  if (a.max === null) return b.max === null ? 0 : 1;
  if (b.max === null) return -1;
  const c = cmp(a.max, b.max);
  if (c !== 0) return Math.sign(c);
  if (a.includeMax !== b.includeMax) return a.includeMax ? 1 : -1;
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The algebra

/** `allows_any` of each class; only needed where poetry-core's merging asks "do these overlap?". */
function allowsAny(self: Internal, other: Internal): boolean {
  switch (self.kind) {
    case "empty":
      return false;
    case "version":
      return !intersect(self, other).isEmpty();
    case "union": {
      const ours = self.ranges;
      const theirs = flatten(other);
      let i = 0;
      let j = 0;
      while (i < ours.length && j < theirs.length) {
        const mine = ours[i] as RangeLike;
        const their = theirs[j] as RangeLike;
        if (allowsAny(mine, their)) return true;
        if (allowsHigher(their, mine)) i++;
        else j++;
      }
      return false;
    }
    case "range":
      switch (other.kind) {
        case "empty":
          return false;
        case "version":
          return self.allowsVersion(other.version);
        case "union":
          return other.ranges.some((r) => allowsAny(self, r));
        case "range":
          return !isStrictlyLower(other, self) && !isStrictlyHigher(other, self);
      }
  }
}

/**
 * The intersection of two constraints, as poetry-core computes it (dispatching on the left operand, as Python does).
 */
export function intersect(self: Internal, other: Internal): Internal {
  switch (self.kind) {
    case "empty":
      return self;
    case "version":
      if (other.kind === "version") {
        if (self.allowsVersion(other.version)) return other;
        if (other.allowsVersion(self.version)) return self;
        return EMPTY;
      }
      return intersect(other, self);
    case "union": {
      const ours = self.ranges;
      const theirs = flatten(other);
      const result: Internal[] = [];
      let i = 0;
      let j = 0;
      while (i < ours.length && j < theirs.length) {
        const mine = ours[i] as RangeLike;
        const their = theirs[j] as RangeLike;
        const both = intersect(mine, their);
        if (!both.isEmpty()) result.push(both);
        if (allowsHigher(their, mine)) i++;
        else j++;
      }
      return unionOf(result);
    }
    case "range":
      return intersectRange(self, other);
  }
}

function intersectRange(self: VersionRange, other: Internal): Internal {
  if (other.kind === "empty") return other;
  if (other.kind === "union") return intersect(other, self);
  if (other.kind === "version") return self.allowsVersion(other.version) ? other : EMPTY;

  let min: Pep440Version | null;
  let includeMin: boolean;
  if (allowsLower(self, other)) {
    if (isStrictlyLower(self, other)) return EMPTY;
    min = other.min;
    includeMin = other.includeMin;
  } else {
    if (isStrictlyLower(other, self)) return EMPTY;
    min = self.min;
    includeMin = self.includeMin;
  }
  let max: Pep440Version | null;
  let includeMax: boolean;
  if (allowsHigher(self, other)) {
    max = other.max;
    includeMax = other.includeMax;
  } else {
    max = self.max;
    includeMax = self.includeMax;
  }
  if (min === null && max === null) return ANY;
  if (boundsEqual(min, max)) {
    // poetry-core asserts here; it cannot fail because strictly-lower ranges were excluded above.
    if (!includeMin || !includeMax || min === null) throw new Error("poetry-core invariant violated: degenerate range");
    return new ExactVersion(min);
  }
  return new VersionRange(min, max, includeMin, includeMax);
}

/** The union of two constraints, as poetry-core computes it (touching or overlapping ranges merge). */
export function union(self: Internal, other: Internal): Internal {
  switch (self.kind) {
    case "empty":
      return other;
    case "union":
      return unionOf([self, other]);
    case "version": {
      if (otherAllows(other, self.version)) return other;
      if (other.kind === "version" || other.kind === "range") {
        if (self.allowsVersion(other.min)) return new VersionRange(other.min, other.max, true, other.includeMax);
        if (self.allowsVersion(other.max)) return new VersionRange(other.min, other.max, other.includeMin, true);
      }
      return unionOf([self, other]);
    }
    case "range": {
      if (other.kind === "version") {
        if (self.allowsVersion(other.version)) return self;
        if (boundsEqual(other.version, self.min)) return new VersionRange(self.min, self.max, true, self.includeMax);
        if (boundsEqual(other.version, self.max)) return new VersionRange(self.min, self.max, self.includeMin, true);
        return unionOf([self, other]);
      }
      if (other.kind === "range") {
        const edgesTouch =
          (boundsEqual(self.max, other.min) && (self.includeMax || other.includeMin)) ||
          (boundsEqual(self.min, other.max) && (self.includeMin || other.includeMax));
        if (!edgesTouch && !allowsAny(self, other)) return unionOf([self, other]);
        const lower = allowsLower(self, other) ? self : other;
        const upper = allowsHigher(self, other) ? self : other;
        return new VersionRange(lower.min, upper.max, lower.includeMin, upper.includeMax);
      }
      return unionOf([self, other]);
    }
  }
}

function otherAllows(c: Internal, v: Pep440Version): boolean {
  switch (c.kind) {
    case "empty":
      return false;
    case "version":
    case "range":
      return c.allowsVersion(v);
    case "union":
      return c.ranges.some((r) => r.allowsVersion(v));
  }
}

/**
 * poetry-core's `VersionUnion.of`: flatten, drop empties, short-circuit to `*`, sort, then merge neighbours that
 * overlap or are adjacent. The merge is what lets `^1.0 || ^2.0` allow `2.0.0a1`.
 */
export function unionOf(constraints: readonly Internal[]): Internal {
  const flattened: RangeLike[] = [];
  for (const c of constraints) {
    if (c.kind === "empty") continue;
    if (c.kind === "union") flattened.push(...c.ranges);
    else flattened.push(c);
  }
  if (flattened.length === 0) return EMPTY;
  if (flattened.some((c) => c.isAny())) return ANY;
  flattened.sort(compareRanges);
  const merged: RangeLike[] = [];
  for (const c of flattened) {
    const last = merged[merged.length - 1];
    if (last === undefined || (!allowsAny(last, c) && !isAdjacentTo(last, c))) {
      merged.push(c);
    } else {
      const joined = union(last, c);
      if (joined.kind !== "range" && joined.kind !== "version") {
        throw new Error("poetry-core invariant violated: merged ranges did not form a range");
      }
      merged[merged.length - 1] = joined;
    }
  }
  return merged.length === 1 ? (merged[0] as RangeLike) : new VersionUnion(merged);
}

/**
 * `VersionRange.difference`, which the parser needs for `!=1.2.*` (everything minus the X-range).
 */
export function difference(self: VersionRange, other: Internal): Internal {
  switch (other.kind) {
    case "empty":
      return self;
    case "version": {
      const v = other.version;
      if (!self.allowsVersion(v)) return self;
      if (boundsEqual(v, self.min)) {
        return self.includeMin ? new VersionRange(self.min, self.max, false, self.includeMax) : self;
      }
      if (boundsEqual(v, self.max)) {
        return self.includeMax ? new VersionRange(self.min, self.max, self.includeMin, false) : self;
      }
      return unionOf([
        new VersionRange(self.min, v, self.includeMin, false),
        new VersionRange(v, self.max, false, self.includeMax),
      ]);
    }
    case "range": {
      if (!allowsAny(self, other)) return self;
      let before: Internal | null;
      if (!allowsLower(self, other)) before = null;
      else if (boundsEqual(self.min, other.min)) before = new ExactVersion(self.min as Pep440Version);
      else before = new VersionRange(self.min, other.min, self.includeMin, !other.includeMin);
      let after: Internal | null;
      if (!allowsHigher(self, other)) after = null;
      else if (boundsEqual(self.max, other.max)) after = new ExactVersion(self.max as Pep440Version);
      else after = new VersionRange(other.max, self.max, !other.includeMax, self.includeMax);
      if (before === null && after === null) return EMPTY;
      if (before === null) return after as Internal;
      if (after === null) return before;
      return unionOf([before, after]);
    }
    case "union": {
      const kept: RangeLike[] = [];
      let current: RangeLike = self;
      for (const range of other.ranges) {
        if (isStrictlyLower(range, current)) continue;
        if (isStrictlyHigher(range, current)) break;
        // A pin minus a range is empty or the pin itself (poetry-core's `Version.difference`).
        const rest: Internal =
          current.kind === "range"
            ? difference(current, range)
            : range.allowsVersion(current.version)
              ? EMPTY
              : current;
        if (rest.kind === "empty") return EMPTY;
        if (rest.kind === "union") {
          kept.push(rest.ranges[0] as RangeLike);
          current = rest.ranges[rest.ranges.length - 1] as RangeLike;
        } else {
          current = rest;
        }
      }
      return kept.length === 0 ? current : unionOf([...kept, current]);
    }
  }
}
