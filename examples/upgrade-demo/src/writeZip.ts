/**
 * A minimal zip writer over Node's zlib, for `.charm` files.
 *
 * Why not a library: a charm is a plain zip (no ZIP64, no encryption, no streaming from unknown sizes), and what it
 * needs from the writer is exact — Unix mode bits in each entry's external attributes (Juju keeps `dispatch`
 * executable from them), fixed timestamps so the same build gives the same bytes, and the compressed bytes of a
 * 120 MB Node.js binary reused by every charm of its architecture instead of deflated again for each one. That is
 * about a hundred lines on `zlib.deflateRawSync` and `zlib.crc32`, and none of the maintained writers (yazl,
 * archiver, fflate) offers the last point.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { crc32, deflateRawSync } from "node:zlib";
import { CharmBuildError } from "./charmBuildError.js";

/** One file or directory of a zip. */
export interface ZipEntry {
  /** Path inside the zip, `/`-separated and relative; a directory's ends with `/`. */
  readonly name: string;
  /** Unix permission bits, e.g. `0o755` (the file type bits are added). */
  readonly mode: number;
  /** The file's content: bytes, or a path on disk read when the zip is written (and compressed once per process). */
  readonly data?: Uint8Array | { readonly path: string } | undefined;
}

/** The content of a file entry as it goes into the zip. */
interface Compressed {
  readonly crc: number;
  readonly size: number;
  /** 8 (deflate) or 0 (stored: when deflate does not make it smaller). */
  readonly method: 0 | 8;
  readonly bytes: Uint8Array;
}

/** What a file on disk compressed to, by path, size and modification time: each big file is deflated once. */
const compressedFiles = new Map<string, Compressed>();

function compress(data: Uint8Array): Compressed {
  const deflated = deflateRawSync(data);
  const stored = deflated.byteLength >= data.byteLength;
  return { crc: crc32(data), size: data.byteLength, method: stored ? 0 : 8, bytes: stored ? data : deflated };
}

function compressFile(path: string): Compressed {
  const { size, mtimeMs, ino } = statSync(path);
  const key = `${path}\0${size}\0${mtimeMs}\0${ino}`;
  let found = compressedFiles.get(key);
  if (!found) {
    found = compress(readFileSync(path));
    compressedFiles.set(key, found);
  }
  return found;
}

/** 1980-01-01 00:00, the first date a zip can hold: every entry gets it, so a build is byte-for-byte repeatable. */
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;
/** Made by: Unix (3), zip specification 3.0. Needed to extract: 2.0 (deflate, directories). */
const VERSION_MADE_BY = (3 << 8) | 30;
const VERSION_NEEDED = 20;
/** General-purpose flag bit 11: names are UTF-8. */
const UTF8_NAMES = 0x0800;
const LIMIT = 0xffff_ffff;

function checkName(name: string): void {
  const parts = name.replace(/\/$/, "").split("/");
  if (
    !name ||
    name.startsWith("/") ||
    name.includes("\\") ||
    parts.some((part) => part === "" || part === "." || part === "..")
  ) {
    throw new CharmBuildError(
      `zip entry name ${JSON.stringify(name)} is not a relative path`,
      "use a relative, /-separated path with no . or .. parts",
    );
  }
}

/**
 * Write a zip file: entries in the given order, files deflated (or stored when that is smaller), directories as
 * entries of their own, Unix modes in the external attributes, every timestamp 1980-01-01.
 *
 * @throws {@link CharmBuildError} on a name that is not a relative path, a duplicate name, or a zip that would need
 * ZIP64 (an entry or the whole file over 4 GiB, or more than 65,535 entries).
 * @returns the size of the zip, in bytes.
 * @example
 * ```ts
 * writeZip("demo.charm", [
 *   { name: "dispatch", mode: 0o755, data: new TextEncoder().encode("#!/bin/sh\n") },
 *   { name: "lib/", mode: 0o755 },
 *   { name: "lib/charm.cjs", mode: 0o644, data: { path: "build/amd64/lib/charm.cjs" } },
 * ]);
 * ```
 */
export function writeZip(path: string, entries: readonly ZipEntry[]): number {
  if (entries.length > 0xffff)
    throw new CharmBuildError(`${entries.length} zip entries`, "a zip without ZIP64 holds at most 65,535");
  const seen = new Set<string>();
  const central: Buffer[] = [];
  const fd = openSync(path, "w");
  let offset = 0;
  const write = (bytes: Uint8Array) => {
    writeSync(fd, bytes);
    offset += bytes.byteLength;
  };
  try {
    for (const entry of entries) {
      checkName(entry.name);
      if (seen.has(entry.name))
        throw new CharmBuildError(`zip entry ${entry.name} is given twice`, "give each path once");
      seen.add(entry.name);
      const directory = entry.name.endsWith("/");
      const content: Compressed = directory
        ? { crc: 0, size: 0, method: 0, bytes: new Uint8Array() }
        : entry.data instanceof Uint8Array
          ? compress(entry.data)
          : entry.data
            ? compressFile(entry.data.path)
            : compress(new Uint8Array());
      if (content.size > LIMIT || offset > LIMIT)
        throw new CharmBuildError(`${path} would exceed 4 GiB at ${entry.name}`, "this writer has no ZIP64");
      const name = Buffer.from(entry.name, "utf8");
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(VERSION_NEEDED, 4);
      local.writeUInt16LE(UTF8_NAMES, 6);
      local.writeUInt16LE(content.method, 8);
      local.writeUInt16LE(DOS_TIME, 10);
      local.writeUInt16LE(DOS_DATE, 12);
      local.writeUInt32LE(content.crc, 14);
      local.writeUInt32LE(content.bytes.byteLength, 18);
      local.writeUInt32LE(content.size, 22);
      local.writeUInt16LE(name.byteLength, 26);
      local.writeUInt16LE(0, 28);
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(VERSION_MADE_BY, 4);
      header.writeUInt16LE(VERSION_NEEDED, 6);
      header.writeUInt16LE(UTF8_NAMES, 8);
      header.writeUInt16LE(content.method, 10);
      header.writeUInt16LE(DOS_TIME, 12);
      header.writeUInt16LE(DOS_DATE, 14);
      header.writeUInt32LE(content.crc, 16);
      header.writeUInt32LE(content.bytes.byteLength, 20);
      header.writeUInt32LE(content.size, 24);
      header.writeUInt16LE(name.byteLength, 28);
      // extra field length, comment length, disk number start, internal attributes: 0
      const type = directory ? 0o040000 : 0o100000;
      // Unix mode in the high 16 bits; the MS-DOS directory bit for tools that read only the low ones.
      header.writeUInt32LE((((type | (entry.mode & 0o7777)) << 16) | (directory ? 0x10 : 0)) >>> 0, 38);
      header.writeUInt32LE(offset, 42);
      central.push(header, name);
      write(local);
      write(name);
      write(content.bytes);
    }
    const start = offset;
    for (const part of central) write(part);
    if (offset > LIMIT) throw new CharmBuildError(`${path} would exceed 4 GiB`, "this writer has no ZIP64");
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(offset - start, 12);
    end.writeUInt32LE(start, 16);
    write(end);
  } finally {
    closeSync(fd);
  }
  return offset;
}
