import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { InMemoryCall, InMemoryLogLine, InMemoryModel, StatusInfo } from "@charm-upgrade/juju";
import { createInMemoryModel, InMemoryHookTools } from "@charm-upgrade/juju";

/** What Juju keeps for one unit outside the peer relation. */
export interface SimUnit {
  /** Whether the unit has entered the peer relation (its relation-created has started). */
  related: boolean;
  status: StatusInfo;
  /** Its server-side store (`state-get`/`state-set`), committed values only. */
  readonly state: Record<string, string>;
  readonly logs: InMemoryLogLine[];
  applicationVersion: string;
}

/** The action running right now, and what the charm reported. */
export interface SimAction {
  readonly unit: string;
  readonly name: string;
  readonly params: Record<string, unknown>;
  readonly results: Record<string, string>;
  failure: string | null;
  readonly logs: string[];
}

/**
 * The whole simulated Juju model of one application, as JSON on disk: what every hook-tool process loads, changes
 * (statuses, logs, action results: at once, as in Juju) and saves, and what the harness commits relation writes into.
 */
export interface SimWorld {
  readonly app: string;
  readonly relation: { readonly name: string; readonly id: number };
  leader: string;
  /** Committed databags of the units in the peer relation, by unit name. */
  readonly databags: Record<string, Record<string, string>>;
  readonly appData: Record<string, string>;
  appStatus: StatusInfo;
  readonly units: Record<string, SimUnit>;
  action: SimAction | null;
}

/** Read the world file. */
export function readWorld(path: string): SimWorld {
  return JSON.parse(readFileSync(path, "utf8")) as SimWorld;
}

/** Write the world file atomically (a reader never sees half of it). */
export function writeWorld(path: string, world: SimWorld): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(world));
  renameSync(`${path}.tmp`, path);
}

/** The hook tools whose effect Juju holds back until the hook succeeds: replayed from the journal each call. */
export const BUFFERED_TOOLS: ReadonlySet<string> = new Set(["relation-set", "state-set", "state-delete"]);

/** The calls of the running hook that buffered writes, in order (a missing journal is an empty one). */
export function readJournal(path: string): InMemoryCall[] {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as InMemoryCall[]) : [];
}

/** Write the journal of the running hook. */
export function writeJournal(path: string, calls: readonly InMemoryCall[]): void {
  writeFileSync(path, JSON.stringify(calls));
}

/**
 * The in-memory hook tools of `unit` over `world`, as its hook sees them: the model's objects are the world's own
 * (so statuses, logs and action results land in `world`), and the journaled writes of this hook are replayed, so
 * `relation-get` of its own databag sees them and `commit()` writes them all.
 */
export async function openHook(world: SimWorld, unitName: string, journal: readonly InMemoryCall[]): Promise<InMemoryHookTools> {
  const unit = world.units[unitName];
  if (!unit) throw new Error(`no unit ${unitName} in the simulated model`);
  const action = world.action?.unit === unitName ? world.action : null;
  const model: InMemoryModel = {
    ...createInMemoryModel({
      unit: unitName,
      leader: world.leader === unitName,
      relation: unit.related ? world.relation : null,
      databags: world.databags,
      appData: world.appData,
      status: unit.status,
      state: unit.state,
    }),
    appStatus: world.appStatus,
    logs: unit.logs,
    action,
    applicationVersion: unit.applicationVersion,
  };
  const tools = new InMemoryHookTools(model);
  for (const call of journal) await tools.run(call.tool, call.args, call.stdin);
  return tools;
}

/** Copy back what the tools replaced rather than changed in place (status, application status and version). */
export function absorb(world: SimWorld, unitName: string, model: InMemoryModel): void {
  const unit = world.units[unitName];
  if (!unit) return;
  unit.status = model.status;
  unit.applicationVersion = model.applicationVersion;
  world.appStatus = model.appStatus;
}
