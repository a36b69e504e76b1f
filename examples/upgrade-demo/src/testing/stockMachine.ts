import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Commands every stock Ubuntu machine (and Juju's charm container, an Ubuntu image) has, whatever else is installed.
 * Node.js, npm and npx are not among them.
 */
export const STOCK_COMMANDS = [
  "sh",
  "env",
  "uname",
  "cat",
  "ls",
  "mkdir",
  "rm",
  "cp",
  "mv",
  "ln",
  "chmod",
  "readlink",
  "dirname",
  "basename",
  "grep",
  "sed",
  "tar",
] as const;

/** What a stock machine does not have, and a charm must not need on `PATH`. */
export const NOT_ON_A_STOCK_MACHINE = ["node", "nodejs", "npm", "npx", "corepack"] as const;

/** Where `command` is on this machine's `PATH`, or `null`. */
function which(command: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const path = join(dir, command);
    if (dir && existsSync(path)) return path;
  }
  return null;
}

/**
 * A `bin/` directory for a hook's `PATH` that has the commands of a stock machine and nothing else: symlinks in
 * `dir` to this machine's {@link STOCK_COMMANDS}. Where Node.js is installed system-wide (`/usr/bin/node`), a `PATH`
 * of `/usr/bin:/bin` would hide a charm that needs it; this directory cannot.
 *
 * @throws Error when `sh` or `uname` is missing here, or when `node`, `npm` or `npx` can be found through the
 * directory (the test would prove nothing).
 * @returns `dir`.
 */
export function stockMachineBin(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const command of STOCK_COMMANDS) {
    const target = which(command);
    if (target) symlinkSync(target, join(dir, command));
    else if (command === "sh" || command === "uname") throw new Error(`${command} is not on this machine's PATH`);
  }
  const found = spawnSync(
    join(dir, "sh"),
    ["-c", `for c in ${NOT_ON_A_STOCK_MACHINE.join(" ")}; do command -v "$c"; done; exit 0`],
    {
      env: { PATH: dir },
      encoding: "utf8",
    },
  ).stdout.trim();
  if (found) throw new Error(`${dir} leads to what a stock machine does not have: ${found}`);
  return dir;
}
