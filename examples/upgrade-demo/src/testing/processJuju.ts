import { execFile } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommitResult } from "@charm-upgrade/juju";
import { bundleScript } from "../buildCharm.js";
import { DEPENDENCIES_FILE } from "../readDependencies.js";
import { RELATION_NAME } from "../runCharm.js";
import type { WorkloadFlag } from "../workload.js";
import { VERSION_FILE } from "../workload.js";
import type { SimAction, SimWorld } from "./simWorld.js";
import { openHook, readJournal, readWorld, writeWorld } from "./simWorld.js";

/** The hook tools the harness provides as executables (what the library and the demo call). */
export const HOOK_TOOLS = [
  "relation-ids",
  "relation-list",
  "relation-get",
  "relation-set",
  "is-leader",
  "status-set",
  "status-get",
  "action-get",
  "action-set",
  "action-fail",
  "action-log",
  "juju-log",
  "application-version-set",
  "state-get",
  "state-set",
  "goal-state",
  // Not called today: present so that a library that starts calling them gets the in-memory tools' answer.
  "state-delete",
  "config-get",
] as const;

/**
 * Write the fake hook tools into `binDir`: `hook-tool.cjs` (the bundle of `hookToolProcess.ts`) and one executable
 * Node script per name in {@link HOOK_TOOLS}.
 */
export async function writeHookTools(binDir: string): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  const entry = join(dirname(fileURLToPath(import.meta.url)), "hookToolProcess.ts");
  await bundleScript(entry, join(binDir, "hook-tool.cjs"));
  // Pin CommonJS whatever package.json lies above the temporary directory.
  writeFileSync(join(binDir, "package.json"), '{ "type": "commonjs" }\n');
  for (const tool of HOOK_TOOLS) {
    const path = join(binDir, tool);
    // The test's own Node by absolute path (no PATH lookup; the same Node whatever PATH a hook gets), without V8's
    // worker threads: a tool call is a few milliseconds of work, and starting those threads costs more.
    writeFileSync(path, `#!${process.execPath} --v8-pool-size=0\nrequire("./hook-tool.cjs").main(${JSON.stringify(tool)});\n`);
    chmodSync(path, 0o755);
  }
}

/** A hook waiting in a unit's queue. */
export interface QueuedHook {
  /** The hook's name, e.g. `upgrade-relation-changed`. */
  readonly hook: string;
  /** `JUJU_REMOTE_UNIT` of a relation hook (none for an application-databag change). */
  readonly remoteUnit?: string | undefined;
}

/** One hook or action as it ran. */
export interface HookRun {
  readonly unit: string;
  /** `hooks/<name>` or `actions/<name>`. */
  readonly dispatchPath: string;
  /** The dispatch process's exit code (`null`: killed). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the commit changed; `null` when the hook failed and its writes were discarded. */
  readonly commit: CommitResult | null;
  /** The hook-tool command lines it ran, in order. */
  readonly toolCalls: readonly string[];
  /** Wall time of the dispatch process, hook tools included. */
  readonly ms: number;
}

/** An action as it ran: the hook run plus what the charm reported. */
export interface ActionRun extends HookRun {
  readonly results: Record<string, string>;
  /** The `action-fail` message, or `null`. */
  readonly failure: string | null;
  readonly logs: readonly string[];
}

/** Options of {@link ProcessJuju.create}. */
export interface ProcessJujuOptions {
  /** The built charm directory, copied into every unit. */
  readonly charmDir: string;
  /** How many units to deploy. */
  readonly units: number;
  /** Working directory (world file, tools, units); default: a new temporary directory. */
  readonly root?: string | undefined;
  readonly app?: string | undefined;
  readonly model?: string | undefined;
  /** The leader's unit number; default 0. */
  readonly leader?: number | undefined;
  /** Variables added to every hook's environment (e.g. `CHARM_SUBSTRATE`, `KUBECONFIG`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** The outcome of a hook process. */
interface ProcessResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runProcess(file: string, cwd: string, env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((done) => {
    const child = execFile(file, [], { cwd, env, encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      done({ exitCode: typeof code === "number" ? code : error ? null : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/**
 * Plays Juju for one application whose units run the real bundled `dispatch` as child processes, with hook tools
 * that are child processes too (see `hookToolProcess.ts`). Like Juju it runs one hook at a time per unit (here: one
 * at a time overall, units in turn), gives each hook Juju's environment, commits the hook's relation and state
 * writes only when `dispatch` exits 0 (discarding them otherwise), and after a commit that changed a databag queues
 * `upgrade-relation-changed` on every other unit (not on the leader for its own application-databag write), merging
 * it with one already queued from the same unit.
 */
export class ProcessJuju {
  readonly root: string;
  readonly app: string;
  readonly model: string;
  /** Unit names, in unit-number order. */
  readonly unitNames: readonly string[];
  /** Every hook and action run so far. */
  readonly runs: HookRun[] = [];
  private readonly options: ProcessJujuOptions;
  private readonly statePath: string;
  private readonly binDir: string;
  private readonly queues = new Map<string, QueuedHook[]>();
  private sequence = 0;

  private constructor(options: ProcessJujuOptions, root: string) {
    this.options = options;
    this.root = root;
    this.app = options.app ?? "upgrade-demo";
    this.model = options.model ?? "demo";
    this.unitNames = Array.from({ length: options.units }, (_, i) => `${this.app}/${i}`);
    this.statePath = join(root, "world.json");
    this.binDir = join(root, "bin");
  }

  /** Prepare the working directory: the hook tools, an empty model, and every unit's copy of the charm. */
  static async create(options: ProcessJujuOptions): Promise<ProcessJuju> {
    const root = resolve(options.root ?? mkdtempSync(join(tmpdir(), "upgrade-demo-")));
    const juju = new ProcessJuju(options, root);
    await writeHookTools(juju.binDir);
    const world: SimWorld = {
      app: juju.app,
      relation: { name: RELATION_NAME, id: 7 },
      leader: juju.unitName(options.leader ?? 0),
      databags: {},
      appData: {},
      appStatus: { status: "unknown", message: "" },
      units: {},
      action: null,
    };
    for (const name of juju.unitNames) {
      world.units[name] = { related: false, status: { status: "unknown", message: "" }, state: {}, logs: [], applicationVersion: "" };
      juju.queues.set(name, []);
      const charm = juju.charmDir(name);
      rmSync(charm, { recursive: true, force: true });
      cpSync(options.charmDir, charm, { recursive: true });
    }
    writeWorld(juju.statePath, world);
    return juju;
  }

  /** `upgrade-demo/<n>`. */
  unitName(unit: number): string {
    return `${this.app}/${unit}`;
  }

  /** Where a unit's charm is unpacked (`JUJU_CHARM_DIR`). */
  charmDir(unit: string): string {
    return join(this.root, "units", unit.replace("/", "-"), "charm");
  }

  /** The unit's workload directory: the demo's default, `workload/` beside the charm directory. */
  workloadDir(unit: string): string {
    return join(dirname(this.charmDir(unit)), "workload");
  }

  /** The installed workload version of a unit, or `null`. */
  workloadVersion(unit: string): string | null {
    const path = join(this.workloadDir(unit), VERSION_FILE);
    return existsSync(path) ? readFileSync(path, "utf8").trim() : null;
  }

  /** Create (or, with `present: false`, remove) a marker file in a unit's workload directory. */
  flag(unit: string, flag: WorkloadFlag, present = true): void {
    const path = join(this.workloadDir(unit), flag);
    if (present) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, "");
    } else {
      rmSync(path, { force: true });
    }
  }

  /** The model as it is now. */
  world(): SimWorld {
    return readWorld(this.statePath);
  }

  /** The hooks waiting, by unit. */
  queued(): ReadonlyMap<string, readonly QueuedHook[]> {
    return this.queues;
  }

  /** Queue a hook on a unit; `upgrade-relation-changed` from a unit that already has one queued is merged, as in Juju. */
  enqueue(unit: string, hook: QueuedHook): void {
    const queue = this.queues.get(unit);
    if (!queue) throw new Error(`no unit ${unit}`);
    if (hook.hook.endsWith("-relation-changed") && queue.some((q) => q.hook === hook.hook && q.remoteUnit === hook.remoteUnit)) return;
    queue.push(hook);
  }

  /** `juju deploy -n N`: `install` and `upgrade-relation-created` on every unit, then `leader-elected` on the leader. */
  deploy(): void {
    for (const unit of this.unitNames) {
      this.enqueue(unit, { hook: "install" });
      this.enqueue(unit, { hook: `${RELATION_NAME}-relation-created` });
    }
    this.enqueue(this.world().leader, { hook: "leader-elected" });
  }

  /** `juju refresh`: every unit's charm gets the new `dependencies.json`, then `upgrade-charm`. */
  refresh(dependencies: unknown): void {
    for (const unit of this.unitNames) {
      writeFileSync(join(this.charmDir(unit), DEPENDENCIES_FILE), `${JSON.stringify(dependencies, null, 2)}\n`);
      this.enqueue(unit, { hook: "upgrade-charm" });
    }
  }

  /**
   * Run queued hooks, units in turn, until none is left, `limit` hooks ran, or `until` holds after a hook.
   *
   * @throws when a hook fails (its stderr is in the message) or `limit` hooks ran without the model settling.
   */
  async settle(options: { readonly limit?: number; readonly until?: (world: SimWorld) => boolean } = {}): Promise<HookRun[]> {
    const limit = options.limit ?? 100;
    const ran: HookRun[] = [];
    for (;;) {
      let progressed = false;
      for (const unit of this.unitNames) {
        const next = this.queues.get(unit)?.shift();
        if (!next) continue;
        if (ran.length >= limit) throw new Error(`the model did not settle within ${limit} hooks`);
        const run = await this.runHook(unit, next);
        ran.push(run);
        progressed = true;
        if (run.exitCode !== 0) throw new Error(`${unit} ${run.dispatchPath} exited ${String(run.exitCode)}: ${run.stderr}`);
        if (options.until?.(this.world())) return ran;
      }
      if (!progressed) return ran;
    }
  }

  /** The model's committed data (the world file), to {@link restore} it later; queued hooks are not included. */
  snapshot(): string {
    return readFileSync(this.statePath, "utf8");
  }

  /** Put back a {@link snapshot} and forget every queued hook (the workload directories are left as they are). */
  restore(snapshot: string): void {
    writeFileSync(this.statePath, snapshot);
    for (const queue of this.queues.values()) queue.length = 0;
  }

  /** Run one hook on a unit now. */
  runHook(unit: string, hook: QueuedHook): Promise<HookRun> {
    const env: Record<string, string> = { JUJU_DISPATCH_PATH: `hooks/${hook.hook}`, JUJU_HOOK_NAME: hook.hook };
    if (hook.hook.startsWith(`${RELATION_NAME}-relation-`)) {
      const world = this.world();
      if (hook.hook.endsWith("-relation-created")) {
        // The unit enters the peer relation: from now on it sees it, and the others see it.
        const entry = world.units[unit];
        if (entry) entry.related = true;
        world.databags[unit] ??= {};
        writeWorld(this.statePath, world);
      }
      env["JUJU_RELATION"] = RELATION_NAME;
      env["JUJU_RELATION_ID"] = `${RELATION_NAME}:${world.relation.id}`;
      env["JUJU_REMOTE_APP"] = this.app;
      if (hook.remoteUnit) env["JUJU_REMOTE_UNIT"] = hook.remoteUnit;
    }
    return this.run(unit, env);
  }

  /** Run an action on a unit (`juju run <unit> <action>`), its relation writes committed as a hook's. */
  async runAction(unit: string, name: string, params: Record<string, unknown> = {}): Promise<ActionRun> {
    const world = this.world();
    world.action = { unit, name, params, results: {}, failure: null, logs: [] };
    writeWorld(this.statePath, world);
    const run = await this.run(unit, {
      JUJU_DISPATCH_PATH: `actions/${name}`,
      JUJU_ACTION_NAME: name,
      JUJU_ACTION_UUID: `00000000-0000-4000-8000-${String(this.sequence).padStart(12, "0")}`,
    });
    const after = this.world();
    const action: SimAction | null = after.action;
    after.action = null;
    writeWorld(this.statePath, after);
    return { ...run, results: action?.results ?? {}, failure: action?.failure ?? null, logs: action?.logs ?? [] };
  }

  /** Run `dispatch` for a unit with Juju's environment plus `extra`; commit or discard its writes; fan out. */
  private async run(unit: string, extra: Record<string, string>): Promise<HookRun> {
    const seq = ++this.sequence;
    const hookDir = join(this.root, "hooks", `${String(seq).padStart(4, "0")}-${unit.replace("/", "-")}`);
    mkdirSync(hookDir, { recursive: true });
    const journal = join(hookDir, "journal.json");
    const calls = join(hookDir, "calls.log");
    const charmDir = this.charmDir(unit);
    const env: Record<string, string> = {
      // A hook's environment is Juju's, not the test runner's.
      PATH: [this.binDir, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      HOME: dirname(charmDir),
      LANG: "C.UTF-8",
      JUJU_VERSION: "3.6.4",
      JUJU_MODEL_NAME: this.model,
      JUJU_UNIT_NAME: unit,
      JUJU_CHARM_DIR: charmDir,
      SIM_STATE: this.statePath,
      SIM_JOURNAL: journal,
      SIM_CALLS: calls,
      ...this.options.env,
      ...extra,
    };
    const started = performance.now();
    const result = await runProcess(join(charmDir, "dispatch"), charmDir, env);
    const ms = performance.now() - started;
    let commit: CommitResult | null = null;
    if (result.exitCode === 0) {
      const world = this.world();
      const tools = await openHook(world, unit, readJournal(journal));
      commit = tools.commit();
      writeWorld(this.statePath, world);
      for (const other of this.unitNames) {
        if (other === unit || !world.units[other]?.related) continue;
        if (commit.unitChanged) this.enqueue(other, { hook: `${RELATION_NAME}-relation-changed`, remoteUnit: unit });
        if (commit.appChanged && other !== world.leader) this.enqueue(other, { hook: `${RELATION_NAME}-relation-changed` });
      }
    }
    const toolCalls = existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter(Boolean) : [];
    const run: HookRun = { unit, dispatchPath: extra["JUJU_DISPATCH_PATH"] ?? "", ...result, commit, toolCalls, ms };
    this.runs.push(run);
    return run;
  }

  /**
   * A copy of this model in a new working directory, with no hook queued: deploy once, then give every test its own
   * copy. `env` replaces the variables added to every hook's environment.
   */
  fork(options: { readonly env?: Readonly<Record<string, string>> | undefined } = {}): ProcessJuju {
    const root = mkdtempSync(join(tmpdir(), "upgrade-demo-"));
    cpSync(this.root, root, { recursive: true, filter: (source) => source !== join(this.root, "hooks") });
    const copy = new ProcessJuju({ ...this.options, root, env: options.env ?? this.options.env }, root);
    for (const unit of copy.unitNames) copy.queues.set(unit, []);
    return copy;
  }

  /** Delete the working directory. */
  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
