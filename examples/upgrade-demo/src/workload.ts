import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { JujuEnv } from "@charm-upgrade/juju";

/** Marker files an operator (or a test) drops into the workload directory to make this demo refuse or fail. */
export type WorkloadFlag = "fail-precheck" | "fail-upgrade";

/** The file holding the installed version, one line. */
export const VERSION_FILE = "workload-version";

/**
 * The demo's "workload": a directory holding the installed version in `workload-version`. Installing a version is
 * writing that file; the flags {@link WorkloadFlag} let a test make the pre-upgrade check or the upgrade fail
 * without another charm revision.
 */
export class Workload {
  /** The workload directory. */
  readonly dir: string;

  /** @param dir - the workload directory (created on the first install). */
  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * The workload of the charm unpacked in `charmDir`: `$CHARM_WORKLOAD_DIR` when set, else `workload/` beside the
   * charm directory (on a machine, `/var/lib/juju/agents/unit-<app>-<n>/workload`, which a refresh leaves alone).
   */
  static locate(env: JujuEnv, charmDir: string): Workload {
    const configured = env["CHARM_WORKLOAD_DIR"];
    return new Workload(configured ? configured : join(dirname(charmDir), "workload"));
  }

  /** Path of a file in the workload directory. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** The installed version, or `null` before the first install. */
  installedVersion(): string | null {
    try {
      return readFileSync(this.path(VERSION_FILE), "utf8").trim() || null;
    } catch {
      return null;
    }
  }

  /** Install `version`: write it to `workload-version` (creating the directory). */
  install(version: string): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.path(VERSION_FILE), `${version}\n`);
  }

  /** Whether the marker file `flag` exists. */
  has(flag: WorkloadFlag): boolean {
    return existsSync(this.path(flag));
  }
}
