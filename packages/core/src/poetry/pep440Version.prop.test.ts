import fc from "fast-check";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { InvalidVersionError } from "../errors.js";
import { compareVersions, parseVersion } from "./pep440Version.js";

// Small numbers on purpose: collisions (equal releases, equal tags) are where ordering bugs hide.
const num = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 }));
const digits = fc.oneof(
  num.map(String),
  num.map((n) => `0${n}`),
);
const sep = fc.constantFrom("", ".", "-", "_");
/** Labels as users write them, including the upper/mixed-case spellings poetry-core 1.4 keeps raw. */
const preLabel = fc.constantFrom("a", "b", "c", "rc", "alpha", "beta", "pre", "preview", "A", "RC", "Alpha", "B", "Rc");
const postLabel = fc.constantFrom("post", "r", "rev", "POST", "Rev", "R");
const devLabel = fc.constantFrom("dev", "DEV", "Dev");
const localSegment = fc.oneof(num.map(String), fc.constantFrom("ubuntu1", "abc", "X", "deb12u1", "g1a2b3c"));

/** PEP 440 version texts in the many spellings poetry-core accepts (every one of them must parse). */
const versionText = fc
  .record({
    prefix: fc.constantFrom("", "v", "V", " "),
    epoch: fc.option(num, { nil: undefined }),
    release: fc.array(digits, { minLength: 1, maxLength: 5 }),
    pre: fc.option(fc.tuple(sep, preLabel, sep, fc.option(num, { nil: undefined })), { nil: undefined }),
    post: fc.option(
      fc.oneof(
        num.map((n) => `-${n}`),
        fc
          .tuple(sep, postLabel, sep, fc.option(num, { nil: undefined }))
          .map(([s1, l, s2, n]) => `${s1}${l}${n === undefined ? "" : s2 + n}`),
      ),
      { nil: undefined },
    ),
    dev: fc.option(fc.tuple(sep, devLabel, sep, fc.option(num, { nil: undefined })), { nil: undefined }),
    local: fc.option(fc.tuple(fc.array(localSegment, { minLength: 1, maxLength: 3 }), fc.constantFrom(".", "-", "_")), {
      nil: undefined,
    }),
  })
  .map(({ prefix, epoch, release, pre, post, dev, local }) => {
    let text = prefix + (epoch === undefined ? "" : `${epoch}!`) + release.join(".");
    if (pre) text += pre[0] + pre[1] + (pre[3] === undefined ? "" : pre[2] + pre[3]);
    if (post) text += post;
    if (dev) text += dev[0] + dev[1] + (dev[3] === undefined ? "" : dev[2] + dev[3]);
    if (local) text += `+${local[0].join(local[1])}`;
    return text;
  });

const version = versionText.map(parseVersion);

const fields = (text: string) => {
  const v = parseVersion(text);
  return { epoch: v.epoch, release: v.release, pre: v.pre, post: v.post, dev: v.dev, local: v.local };
};

describe("parseVersion properties", () => {
  it("parses every generated PEP 440 spelling", () => {
    fc.assert(fc.property(versionText, (text) => void parseVersion(text)));
  });

  it("round-trips: parse(format(v)) has the same fields and compares equal", () => {
    fc.assert(
      fc.property(version, (v) => {
        const again = parseVersion(v.toString());
        expect(fields(v.toString())).toEqual({
          epoch: v.epoch,
          release: v.release,
          pre: v.pre,
          post: v.post,
          dev: v.dev,
          local: v.local,
        });
        expect(compareVersions(again, v)).toBe(0);
      }),
    );
  });

  it("throws nothing but InvalidVersionError on arbitrary strings", () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      // Mutations of valid versions reach deeper into the pattern than random characters do.
      fc.tuple(versionText, fc.string({ maxLength: 3 }), fc.nat()).map(([t, junk, at]) => {
        const i = at % (t.length + 1);
        return t.slice(0, i) + junk + t.slice(i);
      }),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          parseVersion(text);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidVersionError);
        }
      }),
    );
  });
});

describe("compareVersions is a total order", () => {
  it("is reflexive and antisymmetric", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(Math.sign(compareVersions(a, b))).toBe(-Math.sign(compareVersions(b, a)) || 0);
      }),
    );
  });

  it("is transitive (a sorted list is ordered pairwise)", () => {
    fc.assert(
      fc.property(fc.array(version, { minLength: 2, maxLength: 12 }), (versions) => {
        const sorted = [...versions].sort(compareVersions);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i + 1; j < sorted.length; j++) {
            expect(compareVersions(sorted[i]!, sorted[j]!)).toBeLessThanOrEqual(0);
          }
        }
      }),
    );
  });

  it("agrees with npm semver on plain three-part releases (where semver does fit)", () => {
    const plain = fc.tuple(num, num, num).map((parts) => parts.join("."));
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(Math.sign(compareVersions(parseVersion(a), parseVersion(b)))).toBe(semver.compare(a, b));
      }),
    );
  });
});
