import { crc32 } from "node:zlib";
import { openPromise } from "yauzl";

/** One entry of a zip, as an independent reader (yauzl) sees it. */
export interface ReadEntry {
  readonly name: string;
  /** The Unix file type and permission bits from the external attributes, e.g. `0o100755`. */
  readonly mode: number;
  /** The host that made it, from "version made by" (3: Unix). */
  readonly madeBy: number;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  /** The content, inflated. */
  readonly data: Buffer;
}

/**
 * Read every entry of a zip with yauzl, not with the writer under test, and check each entry's content against the
 * CRC-32 and size its header records.
 *
 * @throws Error when an entry's data does not match its CRC-32 or size (yauzl throws on a malformed zip).
 */
export async function readZip(path: string): Promise<ReadEntry[]> {
  const zip = await openPromise(path, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true });
  const entries: ReadEntry[] = [];
  try {
    for (;;) {
      const entry = await new Promise<import("yauzl").Entry | null>((resolve, reject) => {
        zip.once("entry", resolve);
        zip.once("end", () => resolve(null));
        zip.once("error", reject);
        zip.readEntry();
      });
      zip.removeAllListeners("entry").removeAllListeners("end").removeAllListeners("error");
      if (!entry) return entries;
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      const data = Buffer.concat(chunks);
      if (crc32(data) !== entry.crc32)
        throw new Error(`${path}: ${entry.fileName}: CRC-32 ${crc32(data)} of the data, ${entry.crc32} in the header`);
      if (data.byteLength !== entry.uncompressedSize)
        throw new Error(
          `${path}: ${entry.fileName}: ${data.byteLength} bytes, the header says ${entry.uncompressedSize}`,
        );
      entries.push({
        name: entry.fileName,
        mode: entry.externalFileAttributes >>> 16,
        madeBy: entry.versionMadeBy >> 8,
        method: entry.compressionMethod,
        data,
      });
    }
  } finally {
    zip.close();
  }
}
