import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { ConstraintParseError } from "../errors.js";
import { parseConstraint } from "./parseConstraint.js";
import { parseVersion } from "./pep440Version.js";
import { satisfies } from "./satisfies.js";

const num = fc.integer({ min: 0, max: 4 });
const release = fc.array(num, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("."));

/** Any version a probe may be: pre/post/dev/local releases included, since those are where Poetry is subtle. */
const probe = fc
  .tuple(
    release,
    fc.constantFrom("", "", "a0", "a1", "b2", "rc1", "RC1"),
    fc.constantFrom("", "", ".post1", ".post0"),
    fc.constantFrom("", "", ".dev0", ".dev1"),
    fc.constantFrom("", "", "+local", "+1"),
  )
  .map((parts) => parseVersion(parts.join("")));

/** Any version usable in a constraint, pre/dev/post/local included. */
const anyBound = probe.map(String);
/** A version with no pre- or dev-release part: as a lower bound it can never switch poetry's a0 rule off. */
const stableBound = fc
  .tuple(release, fc.constantFrom("", "", ".post1"), fc.constantFrom("", "", "+local"))
  .map((parts) => parts.join(""));

const comparator = (bound: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.tuple(fc.constantFrom("<", "<=", ">", ">=", "==", "!=", "", "^", "~", "~="), bound).map(([op, v]) => op + v),
    fc
      .tuple(fc.constantFrom("", "==", "!="), fc.array(num, { minLength: 1, maxLength: 2 }))
      .map(([op, p]) => `${op}${p.join(".")}.*`),
  );

/** AND-groups of comparators, OR-ed: the shapes of real `upgrade_supported` values. */
const constraintText = (bound: fc.Arbitrary<string>) =>
  fc
    .array(
      fc.array(comparator(bound), { minLength: 1, maxLength: 3 }).map((and) => and.join(",")),
      { minLength: 1, maxLength: 2 },
    )
    .map((or) => or.join(" || "));

describe("parseConstraint properties", () => {
  it("throws nothing but ConstraintParseError on arbitrary strings", () => {
    const tokens = fc.constantFrom(
      ...[
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "==",
        "!=",
        "<>",
        "^",
        "~",
        "~=",
        "*",
        "x",
        ".*",
        ",",
        " ",
        "||",
        "|",
        "-",
        "\n",
        "\t",
      ],
      ...["1", "1.2", "0.0.0.1", "2.0rc1", "1.0.post1", "1.0.dev0", "1!2", "+local", "v", "dev", "١", "a", "."],
    );
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.array(tokens, { maxLength: 10 }).map((t) => t.join("")),
      constraintText(anyBound),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          parseConstraint(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ConstraintParseError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("parses every generated constraint", () => {
    fc.assert(fc.property(constraintText(anyBound), (text) => void parseConstraint(text)));
  });

  it("allows V for >=V, <=V, ==V, ^V, ~V and ~=V, and rejects it for <V, >V and !=V", () => {
    fc.assert(
      fc.property(anyBound, (v) => {
        for (const op of [">=", "<=", "==", "", "^", "~", "~="]) expect(satisfies(v, op + v), op + v).toBe(true);
        for (const op of ["<", ">", "!="]) expect(satisfies(v, op + v), op + v).toBe(false);
      }),
    );
  });

  it("toString() re-parses to a constraint that allows exactly the same versions", () => {
    fc.assert(
      fc.property(constraintText(anyBound), fc.array(probe, { maxLength: 8 }), (text, probes) => {
        const c = parseConstraint(text);
        fc.pre(!c.isEmpty()); // `<empty>` is a display form, not constraint syntax
        const again = parseConstraint(c.toString());
        for (const v of probes) expect(again.allows(v), `${text} -> ${c} at ${v}`).toBe(c.allows(v));
      }),
    );
  });

  it("intersect allows exactly what both allow, for stable bounds and probes without post/local parts", () => {
    // Restricted on purpose: each restriction below hides a genuine poetry-core 1.4 behaviour (fast-check found
    // every one of them; they are not port bugs).
    // - Bounds without pre/dev parts (`stableBound`): a pre/dev lower bound of the same release switches the a0
    //   rule off in the combined range (`>=1.0.0.dev0` ∩ `<1.0.0` allows 1.0.0rc1, which `<1.0.0` rejects).
    // - Probes without local parts: `<=2` allows 2+1 (local stripped at the upper bound) and `>2` allows it (local
    //   sorts above), yet `<=2,>2` is empty.
    // - Probes without post parts: the upper bound strips post parts, so `<2.0` allows 2.0.post1.dev0 (seen as
    //   2.0.dev0 < 2.0a0) and so does `>=2.0`, yet `1.*` ∩ `2.*` is empty; and `>=1.0` ∩ `<=1.0` collapses to the
    //   pin `==1.0`, which rejects 1.0.post1 that both halves allow.
    const plainProbe = fc
      .tuple(
        release,
        fc.constantFrom("", "", "a0", "a1", "b2", "rc1", "RC1"),
        fc.constantFrom("", "", ".dev0", ".dev1"),
      )
      .map((parts) => parseVersion(parts.join("")));
    fc.assert(
      fc.property(
        constraintText(stableBound),
        constraintText(stableBound),
        fc.array(plainProbe, { maxLength: 8 }),
        (a, b, probes) => {
          const ca = parseConstraint(a);
          const cb = parseConstraint(b);
          const both = ca.intersect(cb);
          for (const v of probes) {
            expect(both.allows(v), `(${a}) ∩ (${b}) = ${both} at ${v}`).toBe(ca.allows(v) && cb.allows(v));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("union allows at least what either allows, for bounds without pre/dev/local parts", () => {
    // Merging usually only widens (`^1.0 || ^2.0` lets 2.0.0a1 in), but not always, and fast-check found both:
    // - a pre/dev lower bound: `!=1.*,~=1.dev0` is `>=1.dev0,<1.0.0` (no a0 rule, allows 1b2); unioned with `0.*`
    //   it becomes `<1.0.0`, whose re-derived a0 rule rejects 1b2;
    // - a local pin: poetry-core's `Version.union` turns `1.0 || 1.0+local` into `>=1.0+local,<=1.0+local`,
    //   which rejects 1.0 itself.
    const plainBound = fc.tuple(release, fc.constantFrom("", "", ".post1")).map((parts) => parts.join(""));
    fc.assert(
      fc.property(
        constraintText(plainBound),
        constraintText(plainBound),
        fc.array(probe, { maxLength: 8 }),
        (a, b, probes) => {
          const ca = parseConstraint(a);
          const cb = parseConstraint(b);
          const either = ca.union(cb);
          for (const v of probes) {
            if (ca.allows(v) || cb.allows(v))
              expect(either.allows(v), `(${a}) ∪ (${b}) = ${either} at ${v}`).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("agrees with npm semver for ^, ~, >=, <, and exact three-part versions on plain releases", () => {
    // Where semver fits — x.y.z on both sides, no pre-releases anywhere — the two must agree; the a0 rule and the
    // padding quirks only show with pre-releases or other segment counts.
    const plain = fc.tuple(num, num, num).map((p) => p.join("."));
    fc.assert(
      fc.property(fc.constantFrom("^", "~", ">=", "<", ">", "<=", "="), plain, plain, (op, bound, v) => {
        expect(satisfies(v, op + bound)).toBe(semver.satisfies(v, op + bound));
      }),
    );
  });
});
