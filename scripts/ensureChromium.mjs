#!/usr/bin/env node
// Part of `pnpm test`: the HTML report is tested in a real headless browser, Debian's Chromium. On a fresh machine
// (CI runs as root) install it with apt-get; elsewhere say what to install. Does nothing when it is there.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const CHROMIUM = "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root) {
    console.error(
      `${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install -y chromium) for the browser test.`,
    );
    process.exit(1);
  }
  console.log("Installing Debian's chromium for the browser test (apt-get)…");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
}
