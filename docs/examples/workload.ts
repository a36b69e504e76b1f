/**
 * A stand-in for a charm's own workload code, so that the guide's examples compile and run. In a real charm these
 * calls install packages, restart services and ask the database about its replicas; here they keep a few values in
 * memory, which the guide's test sets to play a scenario.
 *
 * @module
 */

/** What the guide's examples need from "the workload": nothing here is part of charm-upgrade. */
export interface Workload {
  /** The workload version this charm revision installs. */
  readonly version: string;
  /** Whether every replica is in sync and serving (the pre-upgrade and post-upgrade health checks). */
  healthy(): Promise<boolean>;
  /** Why the cluster is not healthy, for an operator. */
  problem(): Promise<string>;
  /** This unit's number of the workload's primary (the unit to upgrade last). */
  primary(): Promise<number>;
  /** Make `unit` the primary (a switchover), so that it is upgraded last. */
  switchover(unit: number): Promise<void>;
  /** Install `version` on this unit and restart it; idempotent. */
  install(version: string): Promise<void>;
  /** The version installed on this unit. */
  installed(): Promise<string>;
  /** Apply the charm's config to the workload, restarting it if anything changed (idempotent). */
  reconfigure(): Promise<void>;
  /** Whether a backup is running on this unit. */
  backupRunning(): boolean;
  /** Start a backup. */
  startBackup(): Promise<void>;
}

/** A workload kept in memory: the guide's test drives the examples with it. */
export class InMemoryWorkload implements Workload {
  version = "14.10";
  installedVersion = "14.9";
  replicasInSync = true;
  primaryUnit = 0;
  backup = false;
  reconfigured = 0;
  failInstall = false;

  async healthy(): Promise<boolean> {
    return this.replicasInSync;
  }
  async problem(): Promise<string> {
    return this.replicasInSync ? "" : "a replica is lagging behind the primary";
  }
  async primary(): Promise<number> {
    return this.primaryUnit;
  }
  async switchover(unit: number): Promise<void> {
    this.primaryUnit = unit;
  }
  async install(version: string): Promise<void> {
    if (this.failInstall) throw new Error(`the package of version ${version} did not install`);
    this.installedVersion = version;
  }
  async installed(): Promise<string> {
    return this.installedVersion;
  }
  async reconfigure(): Promise<void> {
    this.reconfigured++;
  }
  backupRunning(): boolean {
    return this.backup;
  }
  async startBackup(): Promise<void> {
    this.backup = true;
  }
}

/** The workload of the unit running this hook. */
export const workload = new InMemoryWorkload();
