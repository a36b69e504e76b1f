import { describe, expect, it } from "vitest";
import { readPeerView } from "./peerView.js";
import { readSettings } from "./settings.js";
import { sanitizeText } from "./untrustedText.js";

/** Issue 12.7: another unit's hold text reached every unit's status as written (escape, bell, newlines). */
describe("untrusted text on one safe line", () => {
  it("turns each run of control, bidi and zero-width characters into one space, then trims and clips", () => {
    expect(sanitizeText("backup\u001b[2J\u0007\nrunning", 60)).toBe("backup [2J running");
    expect(sanitizeText("a\r\n\tb\u0085c\u2028d\u202ee\u200bf\ufeff", 60)).toBe("a b c d e f");
    expect(sanitizeText("\u0000\u0007 \n", 60)).toBe("");
    expect(sanitizeText("x".repeat(70), 60)).toBe(`${"x".repeat(60)}…`);
    // Printable non-ASCII text is kept as written.
    expect(sanitizeText("sauvegarde en cours — 3/5 ✓", 60)).toBe("sauvegarde en cours — 3/5 ✓");
  });

  it("a peer's hold reaches the view sanitised, and a hold of control characters only is no hold", () => {
    const view = readPeerView({
      leader: false,
      app: {},
      units: {
        "db/0": { state: "idle", "upgrade-hold": "backup\u001b]0;pwned\u0007\nrunning" },
        "db/1": { state: "idle", "upgrade-hold": "\u001b\u0007\r\n" },
      },
    });
    expect(view.units.find((u) => u.id === 0)?.hold).toBe("backup ]0;pwned running");
    expect(view.units.find((u) => u.id === 1)?.hold).toBeUndefined();
    expect(view.problems).toEqual([]);
  });

  it("this unit's own hold is sanitised the same way, so it reads what the others will read", () => {
    expect(readSettings({ hold: "  resync\u0007\nof db/2  " }).hold).toBe("resync of db/2");
    expect(readSettings({ hold: "\u001b\n" }).hold).toBeNull();
    const long = readSettings({ hold: "y".repeat(150) }).hold;
    expect(long).toBe(`${"y".repeat(100)}…`);
  });
});
