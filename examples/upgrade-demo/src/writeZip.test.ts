import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CharmBuildError } from "./charmBuildError.js";
import { readZip } from "./testing/readZip.js";
import { writeZip } from "./writeZip.js";

const work = mkdtempSync(join(tmpdir(), "write-zip-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("writeZip", () => {
  it("writes what an independent reader reads back: names, contents, Unix modes, deflated or stored", async () => {
    const big = Buffer.from("dispatch ".repeat(10_000));
    const random = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7919) % 256));
    const onDisk = join(work, "on-disk.bin");
    writeFileSync(onDisk, big);
    const path = join(work, "a.zip");
    const bytes = writeZip(path, [
      { name: "dispatch", mode: 0o755, data: Buffer.from("#!/bin/sh\n") },
      { name: "lib/", mode: 0o755 },
      { name: "lib/big.txt", mode: 0o644, data: { path: onDisk } },
      { name: "lib/random.bin", mode: 0o600, data: random },
      { name: "empty", mode: 0o644 },
    ]);
    expect(bytes).toBe(readFileSync(path).byteLength);
    const entries = await readZip(path);
    expect(entries.map((entry) => [entry.name, entry.mode.toString(8), entry.madeBy])).toEqual([
      ["dispatch", "100755", 3],
      ["lib/", "40755", 3],
      ["lib/big.txt", "100644", 3],
      ["lib/random.bin", "100600", 3],
      ["empty", "100644", 3],
    ]);
    expect(entries[2]?.data.equals(big)).toBe(true);
    expect(entries[2]?.method).toBe(8);
    // Incompressible data is stored as is.
    expect(entries[3]?.data.equals(random)).toBe(true);
    expect(entries[3]?.method).toBe(0);
    expect(entries[4]?.data.byteLength).toBe(0);
  });

  it("gives the same bytes for the same entries (fixed timestamps)", () => {
    const entries = [{ name: "a", mode: 0o644, data: Buffer.from("same") }];
    writeZip(join(work, "1.zip"), entries);
    writeZip(join(work, "2.zip"), entries);
    expect(readFileSync(join(work, "1.zip")).equals(readFileSync(join(work, "2.zip")))).toBe(true);
  });

  it.each([["../escape"], ["/etc/passwd"], ["a/./b"], ["a//b"], ["a\\b"], [""]])(
    "refuses the entry name %j with a CharmBuildError",
    (name) => {
      expect(() => writeZip(join(work, "bad.zip"), [{ name, mode: 0o644 }])).toThrow(CharmBuildError);
    },
  );

  it("refuses a name given twice", () => {
    const entry = { name: "a", mode: 0o644 };
    expect(() => writeZip(join(work, "twice.zip"), [entry, entry])).toThrow(/zip entry a is given twice/);
  });
});
