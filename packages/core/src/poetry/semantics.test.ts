/**
 * One readable test per numbered point of "Semantic differences from npm semver" in the shared
 * poetry-semantics reference: the places where Poetry's answer surprises someone who knows npm semver. Every
 * expectation below is also a case of the poetry-core oracle corpus.
 */
import { describe, expect, it } from "vitest";
import { ConstraintParseError, InvalidVersionError } from "../errors.js";
import { parseConstraint } from "./parseConstraint.js";
import { compareVersions, parseVersion } from "./pep440Version.js";
import { satisfies } from "./satisfies.js";

type Row = readonly [constraint: string, version: string, allowed: boolean];

const check = (rows: readonly Row[]) =>
  it.each(rows)("%j %s %j", (constraint, version, allowed) => {
    expect(satisfies(version, constraint)).toBe(allowed);
  });

// The `it.each` title prints "constraint true|false version"; the boolean column reads as "allows".
const ALLOWS = true;
const REJECTS = false;

describe("1. pre-releases inside a range are allowed (no semver 'same tuple' rule)", () => {
  check([
    [">=1.0", "2.0.0a1", ALLOWS],
    ["^1.2.3", "1.5.0b1", ALLOWS],
    ["1.2.*", "1.2.5rc1", ALLOWS],
    ["*", "1.0.0a1", ALLOWS],
    // ... but a lower bound still excludes its own pre- and dev-releases.
    [">=1.0.0", "1.0.0rc1", REJECTS],
    [">=1.0.0", "1.0.0.dev0", REJECTS],
  ]);
});

describe("2. an exclusive upper bound <V means <V.a0: it excludes V's a/b/rc releases but not its .devN", () => {
  check([
    ["<1.5", "1.5.0a1", REJECTS],
    ["<1.5", "1.5.0rc1", REJECTS],
    ["<1.5", "1.5.dev0", ALLOWS],
    ["^1.2.3", "2.0.0a0", REJECTS],
    ["^1.2.3", "2.0.0.dev0", ALLOWS],
    ["1.2.*", "1.3.0.dev0", ALLOWS],
    ["~=1.2", "2.0.dev1", ALLOWS],
    // No rewrite when the bound itself is a pre- or post-release.
    ["<1.0.0a5", "1.0.0a4", ALLOWS],
    ["<1.0.post1", "1.0.post1.dev0", ALLOWS],
  ]);

  it("orders .devN below aN, unlike semver's string order of identifiers", () => {
    expect(compareVersions(parseVersion("1.0.0.dev0"), parseVersion("1.0.0a1"))).toBeLessThan(0);
  });
});

describe("3. AND re-derives the a0 rule on the combined range", () => {
  check([
    [">=1.0.0a1,<1.0.0", "1.0.0a2", REJECTS],
    [">=1.0.0a1,<1.0.0", "1.0.0a1", REJECTS],
    [">=1.0.0.dev0,<1.0.0", "1.0.0rc1", ALLOWS],
    ["<1.0.0", "1.0.0rc1", REJECTS],
    // An empty AND is not an error.
    ["1.0, 2.0", "1.0", REJECTS],
    [">=2.0,<1.0", "1.5", REJECTS],
    [">1.0,<=1.0", "1.0", REJECTS],
  ]);

  it("returns an empty constraint rather than throwing", () => {
    expect(parseConstraint(">=2.0,<1.0").isEmpty()).toBe(true);
    expect(parseConstraint("1.0, 2.0").toString()).toBe("<empty>");
  });
});

describe("4. OR merges touching ranges, which can allow what no alternative allows alone", () => {
  check([
    ["^1.0 || ^2.0", "2.0.0a1", ALLOWS],
    ["^1.0", "2.0.0a1", REJECTS],
    ["^2.0", "2.0.0a1", REJECTS],
    ["<1.0 || 1.0", "1.0.post1", ALLOWS],
    ["<1.0", "1.0.post1", REJECTS],
    ["1.0", "1.0.post1", REJECTS],
    ["!=1.0 || 1.0", "1.0a1", ALLOWS],
    ["!=1.0", "1.0a1", REJECTS],
  ]);

  it("shows the merged form", () => {
    expect(parseConstraint("^1.0 || ^2.0").toString()).toBe(">=1.0,<3.0");
    expect(parseConstraint("<1.0 || 1.0").toString()).toBe("<=1.0");
    expect(parseConstraint("!=1.0 || 1.0").isAny()).toBe(true);
  });
});

describe("5. a bare version is an exact pin, not an X-range", () => {
  check([
    ["1.2", "1.2.0", ALLOWS],
    ["1.2", "1.2.5", REJECTS],
    ["100", "100.0.0", ALLOWS],
    ["100", "100.5", REJECTS],
    ["=1.2", "1.2.1", REJECTS],
    ["3.3.2", "3.3.2", ALLOWS],
    ["3.3.2", "3.3.3", REJECTS],
  ]);
});

describe("6. trailing zeros pad to three segments only", () => {
  check([
    ["1.0.0", "1.0", ALLOWS],
    ["1", "1.0.0", ALLOWS],
    ["1.0.0", "1.0.0.0", REJECTS],
    ["3.3.2", "3.3.2.0", REJECTS],
    [">3.3.2", "3.3.2.0", ALLOWS],
    ["^1.2.3.4", "1.9", ALLOWS],
    // `^1.2.3.4` ends at 2.0.0.0 (a0 rule: 2.0.0.0a0), and 2.0.0 < 2.0.0.0a0.
    ["^1.2.3.4", "2.0.0", ALLOWS],
    ["^1.2.3.4", "2.0.0rc1", ALLOWS],
    ["^1.2.3.4", "2.0.0.0", REJECTS],
    ["~1.2.3.4", "1.3.0", ALLOWS],
    ["<1.0.0.0", "1.0.0", ALLOWS],
    [">=1.0.0.0", "1.0.0", REJECTS],
    ["^1.2.3", "2.0.0.0", REJECTS],
  ]);
});

describe("7. local versions (+local)", () => {
  check([
    ["1.0.0", "1.0.0+ubuntu1", ALLOWS],
    ["==1.0.0", "1.0.0+ubuntu1", ALLOWS],
    ["<=1.0.0", "1.0.0+local", ALLOWS],
    [">1.0.0", "1.0.0+local", ALLOWS],
    ["<1.0.0", "1.0.0+local", REJECTS],
    ["1.0.0+ubuntu1", "1.0.0", REJECTS],
  ]);
});

describe("8. X-N is post-release N, not a pre-release", () => {
  check([
    [">1.0.0", "1.0.0-1", ALLOWS],
    ["<1.0.0", "1.0.0-1", REJECTS],
    ["<=1.0.0", "1.0.0.post1", ALLOWS],
    ["==1.0.0", "1.0.0.post1", REJECTS],
    // `>=1.0,<=1.0` collapses to the exact version 1.0.
    [">=1.0,<=1.0", "1.0.post1", REJECTS],
  ]);

  it("reads 1.0.0-1 as 1.0.0.post1", () => {
    expect(parseVersion("1.0.0-1").post).toEqual(["post", 1]);
    expect(compareVersions(parseVersion("1.0.0-1"), parseVersion("1.0.0.post1"))).toBe(0);
  });
});

describe("9. != excludes the version's pre-releases, but not its dev, local or post releases", () => {
  check([
    ["!=1.2", "1.2a1", REJECTS],
    ["!=1.2", "1.2.0rc1", REJECTS],
    ["!=1.2", "1.2.0.dev0", ALLOWS],
    ["!=1.2", "1.2+local", ALLOWS],
    ["!=1.2", "1.2.post1", ALLOWS],
    ["!=1.2.*", "1.2.5", REJECTS],
    ["!=1.2.*", "1.2.0.dev0", ALLOWS],
    ["!=1.2.*", "1.3.0.dev0", REJECTS],
  ]);
});

describe("10. odd operator forms", () => {
  check([
    ["<>1.0", "1.0", ALLOWS],
    ["<>1.0", "1.1", REJECTS],
    ["=1.2.*", "1.2.0", ALLOWS],
    ["<=1.2.*", "1.2.5", REJECTS],
    ["1.2.3.*", "1.2.9", ALLOWS],
    ["1.2.3.*", "1.3.0", REJECTS],
    ["0.*", "0.0.0.dev0", ALLOWS],
    ["0.*", "1.0.0a0", REJECTS],
  ]);

  it("reads >=1.2.* as >=1.2 and dev as 0.0.dev0", () => {
    expect(parseConstraint(">=1.2.*").toString()).toBe(">=1.2");
    expect(parseConstraint("dev").toString()).toBe("==0.0.dev0");
  });
});

describe("11. tilde and ~=", () => {
  check([
    ["~1", "1.99", ALLOWS],
    ["~1", "2.0", REJECTS],
    ["~1.2.3", "1.3.0", REJECTS],
    ["~=1.2", "1.99", ALLOWS],
    ["~=1.2", "2.0a1", REJECTS],
    ["~=1.2.3", "1.3", REJECTS],
    ["~=1", "1.1", REJECTS],
    ["~=1", "1.0.9", ALLOWS],
    ["~=1.2.3.4", "1.2.9", ALLOWS],
  ]);

  it("gives ~ semver's bounds and ~= its two-segment major bound", () => {
    expect(parseConstraint("~1.2").toString()).toBe(">=1.2,<1.3");
    expect(parseConstraint("~=1.2").toString()).toBe(">=1.2,<2.0");
    expect(parseConstraint("~=1").toString()).toBe(">=1,<1.1");
    expect(parseConstraint("~=1.2.3.4").toString()).toBe(">=1.2.3.4,<1.3.0.0");
  });
});

describe("12. caret with zeros", () => {
  check([
    ["^0.0", "0.0.9", ALLOWS],
    ["^0.0", "0.1.0", REJECTS],
    ["^0.0", "0.1.0.dev0", ALLOWS],
    ["^0", "0.99", ALLOWS],
    ["^0", "1.0.0", REJECTS],
    ["^0.0.3", "0.0.4", REJECTS],
    ["^0.0.3", "0.0.3.1", ALLOWS],
    ["^0.0.0", "0.0.1", REJECTS],
    ["^0.0.0", "0.0.0.9", ALLOWS],
    ["^0.2.3", "0.2.99", ALLOWS],
    ["^0.2.3", "0.3.0", REJECTS],
    ["^1.0.0a1", "1.0.0a2", ALLOWS],
    ["^1.0.0a1", "1.0.0", ALLOWS],
    ["^1.0.0a1", "1.0.0.dev0", REJECTS],
  ]);

  it("bounds ^0.0.0.1 by the next patch, keeping four segments", () => {
    expect(parseConstraint("^0.0.0.1").toString()).toBe(">=0.0.0.1,<0.0.1.0");
  });
});

describe("13. epochs (N!)", () => {
  check([
    [">=1.0", "1!0.5", ALLOWS],
    ["^1.0", "1!1.5", REJECTS],
    ["^1!1.0", "1!1.5", ALLOWS],
    ["<1!0.1", "999", ALLOWS],
  ]);
});

describe("14. spelling", () => {
  const same = [
    ["1.0.0-beta.2", "1.0.0b2"],
    ["1.0.0-rc.1", "1.0.0rc1"],
    ["1.0.0c1", "1.0.0rc1"],
    ["1.0.0pre1", "1.0.0rc1"],
    ["1.0.0-alpha", "1.0.0a0"],
    ["1.0.r1", "1.0.post1"],
    ["1.0-1", "1.0.post1"],
    ["1.0.post", "1.0.post0"],
    ["1.0-dev", "1.0.dev0"],
    ["v1.0", "1.0"],
    ["V1.0", "1.0"],
    ["01.00", "1.0"],
    [" 1.0\t", "1.0"],
    ["1.0+UBUNTU1", "1.0+ubuntu1"],
  ] as const;
  it.each(same)("%j is the same version as %j", (a, b) => {
    expect(compareVersions(parseVersion(a), parseVersion(b))).toBe(0);
  });

  it.each(["1.0.0-SNAPSHOT", "1.0.0-rc.1.2", "1..2", "1.0.0+", "1.x", "", " "])("rejects %j", (text) => {
    expect(() => parseVersion(text)).toThrow(InvalidVersionError);
  });
});

describe("15. upper-case phase labels are not normalised (poetry-core 1.4 quirk)", () => {
  check([
    ["1.0.0RC1", "1.0.0rc1", REJECTS],
    ["1.0.0RC1", "1.0.0.RC1", ALLOWS],
    ["1.0.0a1", "1.0.0Alpha1", REJECTS],
    ["1.0.0.post1", "1.0.0.R1", REJECTS],
    ["1.0.0.dev0", "1.0.0.DEV0", REJECTS],
    // "RC" < "a" in ASCII, so 2.0.0RC1 sorts below the 2.0.0a0 bound.
    ["^1.0.0", "2.0.0RC1", ALLOWS],
    [">=1.0.0a1", "1.0.0RC1", REJECTS],
    [">1.0.0.post1", "1.0.0.POST1", REJECTS],
  ]);

  it("keeps the raw label", () => {
    expect(parseVersion("1.0.0RC1").pre).toEqual(["RC", 1]);
    expect(parseVersion("1.0.0rc1").pre).toEqual(["rc", 1]);
  });
});

describe("16. separators and whitespace", () => {
  check([
    [">= 1.2, < 1.5", "1.3", ALLOWS],
    [">=1.2 <1.5", "1.5", REJECTS],
    [">=1.2 , <1.5", "1.3", ALLOWS],
    [">=1.2,<1.5,", "1.3", ALLOWS],
    ["1.2|1.4", "1.4", ALLOWS],
    ["1.2||1.4", "1.3", REJECTS],
    ["~ 1.2", "1.2.5", ALLOWS],
    ["== 1.2.*", "1.2.5", ALLOWS],
    ["\n>=1.0\t", "1.0", ALLOWS],
  ]);

  it.each([
    ">=1.0,,<2",
    ">=1.0\t<2.0",
    ">=1 or <0.5",
    "1.2 - 1.5",
    "^ 1.2",
    "|| 1.0",
    "1.0 ||",
    "^1.2.*",
    "~=1.*",
    "===1.0",
    "~>1.0",
    "",
  ])("rejects %j with a ConstraintParseError", (text) => {
    expect(() => parseConstraint(text)).toThrow(ConstraintParseError);
  });

  it("names the bad part as poetry-core does (its `text`), and quotes the whole constraint in the message", () => {
    try {
      parseConstraint(">=1.0, ~>2");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConstraintParseError);
      expect((error as ConstraintParseError).text).toBe("~>2");
      expect((error as ConstraintParseError).message).toContain('">=1.0, ~>2"');
    }
    expect(() => parseConstraint("^ 1.2")).toThrow(expect.objectContaining({ text: "^" }));
    expect(() => parseConstraint(">=1 or <0.5")).toThrow(expect.objectContaining({ text: "or" }));
  });
});

describe("quirks found by the property tests (shrunk counterexamples, kept as regressions)", () => {
  it("an upper bound strips post parts, so <2.0 allows 2.0.post1.dev0 (seen as 2.0.dev0 < 2.0a0)", () => {
    expect(satisfies("2.0.post1.dev0", "<2.0")).toBe(true);
    expect(satisfies("2.post1.dev0", "1.*")).toBe(true);
    expect(satisfies("2.post1.dev0", "2.*")).toBe(true);
    expect(parseConstraint("1.*").intersect(parseConstraint("2.*")).isEmpty()).toBe(true);
  });

  it("<=2 and >2 both allow 2+1, yet their intersection is empty", () => {
    expect(satisfies("2+1", "<=2")).toBe(true);
    expect(satisfies("2+1", ">2")).toBe(true);
    expect(satisfies("2+1", "<=2,>2")).toBe(false);
  });

  it("a union can reject what one side allows, because the a0 rule is re-derived on the merged range", () => {
    expect(satisfies("1b2", "!=1.*,~=1.dev0")).toBe(true); // >=1.dev0,<1.0.0 — no a0 rule (same release)
    expect(satisfies("1b2", "0.* || !=1.*,~=1.dev0")).toBe(false); // merged into <1.0.0, i.e. <1.0.0a0
  });

  it("1.0 || 1.0+local becomes >=1.0+local,<=1.0+local (poetry-core's Version.union), rejecting 1.0", () => {
    // Follows the poetry-core 1.3/1.4 source; the oracle corpus has no case of this shape.
    expect(parseConstraint("1.0 || 1.0+local").toString()).toBe(">=1.0+local,<=1.0+local");
    expect(satisfies("1.0", "1.0 || 1.0+local")).toBe(false);
  });
});

describe("beyond the corpus", () => {
  it("strips Python's whitespace set, not JavaScript's", () => {
    expect(satisfies("1.0", "\x1c>=1.0\x1c")).toBe(true); // str.strip() removes U+001C
    expect(() => parseConstraint("\ufeff>=1.0")).toThrow(ConstraintParseError); // ...but not a BOM
  });

  it("accepts a piece ending in a newline, as Python's $ matches before a final \\n", () => {
    expect(parseConstraint("*\n 1.0").toString()).toBe("==1.0");
  });

  it("accepts non-ASCII decimal digits in X-ranges, as Python's \\d does", () => {
    expect(satisfies("1.5", "١.*")).toBe(true);
    expect(satisfies("2.0", "١.*")).toBe(false);
  });

  it("throws ConstraintParseError / InvalidVersionError for non-string input", () => {
    expect(() => parseConstraint(42 as unknown as string)).toThrow(ConstraintParseError);
    expect(() => parseVersion(null as unknown as string)).toThrow(InvalidVersionError);
  });

  it("reports the constraint error first when both inputs are invalid", () => {
    expect(() => satisfies("not a version", "~>1")).toThrow(ConstraintParseError);
  });

  it("accepts a version object as well as a string in allows()", () => {
    expect(parseConstraint("^3.6").allows(parseVersion("3.6.4"))).toBe(true);
  });
});
