import { describe, expect, expectTypeOf, it } from "vitest";
import type { Effect, EffectType } from "./effects.js";
import { EFFECT_MEANINGS, EFFECT_TYPES, isEffectType } from "./effects.js";

describe("the one list of effect types", () => {
  it("names every member of the Effect union and nothing else (checked by the type-checker)", () => {
    expectTypeOf<keyof typeof EFFECT_MEANINGS>().toEqualTypeOf<EffectType>();
    // What `satisfies Record<EffectType, string>` does to a list that forgets a new member of the union:
    type WithNewEffect = Effect | { readonly type: "newEffect" };
    // @ts-expect-error — "newEffect" is missing from the list
    const forgot = { ...EFFECT_MEANINGS } satisfies Record<WithNewEffect["type"], string>;
    expect(Object.keys(forgot)).not.toContain("newEffect");
  });

  it("EFFECT_TYPES is derived from it, each type once, each with a meaning", () => {
    expect(EFFECT_TYPES).toEqual(Object.keys(EFFECT_MEANINGS));
    expect(new Set(EFFECT_TYPES).size).toBe(EFFECT_TYPES.length);
    for (const type of EFFECT_TYPES) expect(EFFECT_MEANINGS[type].length).toBeGreaterThan(10);
  });

  it("isEffectType recognises exactly the listed types (not inherited keys)", () => {
    for (const type of EFFECT_TYPES) expect(isEffectType(type)).toBe(true);
    for (const type of ["toString", "constructor", "xstate.assign", "adoptView", ""])
      expect(isEffectType(type)).toBe(false);
  });
});
