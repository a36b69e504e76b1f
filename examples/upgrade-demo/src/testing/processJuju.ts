import { execFile } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Substrate } from "@charm-upgrade/core";
import type { CommitResult, InMemoryLogLine, StatusInfo } from "@charm-upgrade/juju";
import type { HookRun, ModelStep, PendingHook } from "@charm-upgrade/sim";
import { JujuModel } from "@charm-upgrade/sim";
import { parse } from "yaml";
import { bundleScript } from "../buildCharm.js";
import { hostArchitecture, nodeRuntime } from "../nodeRuntime.js";
import { DEPENDENCIES_FILE } from "../readDependencies.js";
import type { WorkloadFlag } from "../workload.js";
import { VERSION_FILE } from "../workload.js";
import { HOOK_FILES_ENV, HookFiles } from "./hookFiles.js";

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
  "config-get",
  // Not called today: present so that a library that starts calling it gets the in-memory tools' answer.
  "state-delete",
] as const;

/**
 * The Node.js the hook-tool executables run on: the runtime the charms ship for this machine (Node.js 24, which
 * starts two to three times faster than the workspace's Node.js 20, and a hook calls some ten tools), else the
 * test's own. Either way by absolute path: the same Node.js whatever `PATH` a hook gets.
 */
export function hookToolNode(): string {
  const arch = hostArchitecture();
  if (arch === null) return process.execPath;
  try {
    return nodeRuntime(arch).binary;
  } catch {
    return process.execPath;
  }
}

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
  const node = hookToolNode();
  for (const tool of HOOK_TOOLS) {
    const path = join(binDir, tool);
    // Without V8's worker threads: a tool call is a few milliseconds of work, and starting those threads costs more.
    writeFileSync(path, `#!${node} --v8-pool-size=0\nrequire("./hook-tool.cjs").main(${JSON.stringify(tool)});\n`);
    chmodSync(path, 0o755);
  }
}

/** One hook or action as it ran in a child process. */
export interface DispatchRun {
  readonly unit: string;
  /** What ran: the hook (with its remote unit) or the action, as the model chose it. */
  readonly hook: PendingHook;
  /** `hooks/<name>` or `actions/<name>` (`JUJU_DISPATCH_PATH`). */
  readonly dispatchPath: string;
  /** The charm revision that ran it (the one unpacked in the unit's charm directory). */
  readonly revision: number;
  /** The dispatch process's exit code (`null`: killed). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the model committed; `null` when the hook failed and the model discarded its writes. */
  readonly commit: CommitResult | null;
  /** The hook-tool command lines it ran, in order. */
  readonly toolCalls: readonly string[];
  /** Wall time of the dispatch process, hook tools included. */
  readonly ms: number;
}

/** An action as it ran: the dispatch run plus what the charm reported. */
export interface ActionRun extends DispatchRun {
  readonly results: Record<string, string>;
  /** The `action-fail` message, or `null`. */
  readonly failure: string | null;
  readonly logs: readonly string[];
}

/** A unit as the operator sees it (`juju status`, `juju show-unit`), read from the model. */
export interface ProcessUnit {
  readonly status: StatusInfo;
  /** What `application-version-set` last set. */
  readonly applicationVersion: string;
  /** The unit's committed server-side store (`state-get`). */
  readonly store: Readonly<Record<string, string>>;
  /** The charm revision the unit's agent runs. */
  readonly revision: number;
  readonly logs: readonly InMemoryLogLine[];
}

/** The committed model as it is now, by unit name: a copy, for assertions. */
export interface ProcessWorld {
  readonly leader: string | null;
  /** Committed databags of the units in the peer relation, by unit name. */
  readonly databags: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The committed application databag. */
  readonly appData: Readonly<Record<string, string>>;
  readonly appStatus: StatusInfo;
  readonly units: Readonly<Record<string, ProcessUnit>>;
}

/** Options of {@link ProcessJuju.create}. */
export interface ProcessJujuOptions {
  /** The built charm directory: revision 1, unpacked into every unit. */
  readonly charmDir: string;
  /** How many units {@link ProcessJuju.deploy} deploys. */
  readonly units: number;
  /** Machines (`vm`, default) or Kubernetes (`k8s`: the model's StatefulSet controller restarts the pods). */
  readonly substrate?: Substrate | undefined;
  /** Working directory (tools, units, hooks); default: a new temporary directory. */
  readonly root?: string | undefined;
  readonly app?: string | undefined;
  /** The Juju model's name (`JUJU_MODEL_NAME`; on Kubernetes the StatefulSet's namespace); default `demo`. */
  readonly modelName?: string | undefined;
  /** The leader's unit number; default 0. */
  readonly leader?: number | undefined;
  /** Variables added to every hook's environment (e.g. `PATH`, `KUBECONFIG`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /**
   * Kubernetes: the StatefulSet's rolling-update partition as the API server the charm patches holds it (e.g. a fake
   * API server's), read after every hook and action so that the model's StatefulSet controller follows it.
   */
  readonly partition?: (() => number | null | undefined) | undefined;
  /**
   * Kubernetes: called before every hook and action with the model, to publish what its StatefulSet controller
   * reports (the status's revisions, each pod's `controller-revision-hash`) where the charm reads it (e.g. a fake API
   * server's StatefulSet and pods): `readRollout` of `@charm-upgrade/k8s` then sees the pods the model restarted.
   */
  readonly publish?: ((model: JujuModel) => void) | undefined;
}

/** A charm revision: the built charm directory, with some files replaced (a new `dependencies.json`). */
interface CharmRevision {
  readonly dir: string;
  /** Files that differ from `dir`, by path inside the charm. */
  readonly files: Readonly<Record<string, string>>;
}

/** The outcome of a hook process. */
interface ProcessResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What {@link ProcessJuju.snapshot} returns: the model's state and what the operator sees, as JSON text. */
export type ProcessSnapshot = string;

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
 * Copy a charm directory, hard-linking its Node.js runtime: no hook writes it, and a copy per unit per model would
 * be a few hundred megabytes each time.
 */
function copyCharm(source: string, target: string): void {
  const runtime = join(source, "runtime");
  cpSync(source, target, { recursive: true, filter: (path) => path !== runtime });
  if (existsSync(runtime)) linkTree(runtime, join(target, "runtime"));
}

function linkTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) linkTree(from, to);
    else {
      try {
        linkSync(from, to);
      } catch {
        // Another file system: a copy (with its mode) does as well.
        copyFileSync(from, to);
      }
    }
  }
}

/** The defaults of the charm's `config.yaml` options: what `config-get` prints for an option nobody set. */
function configDefaults(charmDir: string): Record<string, unknown> {
  const path = join(charmDir, "config.yaml");
  if (!existsSync(path)) return {};
  const doc = parse(readFileSync(path, "utf8")) as { options?: Record<string, { default?: unknown }> } | null;
  return Object.fromEntries(Object.entries(doc?.options ?? {}).map(([key, option]) => [key, option.default ?? null]));
}

/**
 * Runs one application of a built charm as Juju would, with the real bundled `dispatch` in a child process per hook
 * and hook tools that are child processes too (see `hookToolProcess.ts`). Which hook each unit runs next, what a
 * hook sees, what its end commits or discards, leadership, relation-changed, `juju refresh` and the StatefulSet
 * controller are all the shared model of Juju's ({@link JujuModel}, the simulator's and the verifier's); this class
 * only carries each hook across the process boundary:
 *
 * - it unpacks the charm revision the model says a unit runs into the unit's charm directory before its hook (a
 *   machine's agent after it noticed `juju refresh`, a Kubernetes pod once recreated);
 * - it writes the unit's view of the model (`run.tools.model`) where the tool processes read it, spawns `dispatch`
 *   with `run.env` and the process's own variables (`PATH` with the tools, `HOME`, `SIM_HOOK`, …);
 * - it brings back what the tools did ({@link HookFiles.replayInto}) and ends the hook in the model, `ok` when
 *   `dispatch` exited 0.
 *
 * Hooks run one at a time, units in turn; when none is due, the next step of the model that is not a hook (the
 * StatefulSet controller deleting a pod or seeing it ready) is taken.
 *
 * @example
 * ```ts
 * const juju = await ProcessJuju.create({ charmDir: tree.dir, units: 3 });
 * juju.deploy();
 * await juju.settle();
 * await juju.runAction("upgrade-demo/0", "pre-upgrade-check");
 * juju.refresh(NEW_DEPENDENCIES);
 * await juju.settle();
 * ```
 */
export class ProcessJuju {
  /** The working directory: hook tools (`bin/`), units (`units/<app>-<n>/charm`, `…/workload`), hooks' files. */
  readonly root: string;
  /** The application's name. */
  readonly app: string;
  /** The model of Juju the hooks run in. */
  readonly model: JujuModel;
  /** Every hook and action run so far. */
  readonly runs: DispatchRun[] = [];
  private readonly options: ProcessJujuOptions;
  private readonly binDir: string;
  /** The charm's revisions, by number. */
  private readonly revisions: Map<number, CharmRevision>;
  /** The revision unpacked in each unit's charm directory, by unit number. */
  private readonly unpacked: Map<number, number>;
  private sequence = 0;

  private constructor(
    options: ProcessJujuOptions,
    root: string,
    revisions: Map<number, CharmRevision>,
    unpacked: Map<number, number>,
  ) {
    this.options = options;
    this.root = root;
    this.app = options.app ?? "upgrade-demo";
    this.binDir = join(root, "bin");
    this.revisions = revisions;
    this.unpacked = unpacked;
    this.model = new JujuModel({
      app: this.app,
      modelName: options.modelName ?? "demo",
      substrate: options.substrate ?? "vm",
      units: 0,
      revision: 1,
      config: configDefaults(options.charmDir),
    });
  }

  /** Prepare the working directory (the hook tools) and an empty model with the charm as revision 1. */
  static async create(options: ProcessJujuOptions): Promise<ProcessJuju> {
    const root = resolve(options.root ?? mkdtempSync(join(tmpdir(), "upgrade-demo-")));
    const juju = new ProcessJuju(
      options,
      root,
      new Map([[1, { dir: resolve(options.charmDir), files: {} }]]),
      new Map(),
    );
    await writeHookTools(juju.binDir);
    return juju;
  }

  /** The unit names, in unit-number order. */
  get unitNames(): string[] {
    return this.ids().map((id) => this.unitName(id));
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

  /** The committed model as it is now, by unit name (a copy). */
  world(): ProcessWorld {
    const { model } = this;
    const units: Record<string, ProcessUnit> = {};
    for (const id of this.ids()) {
      const unit = model.units.get(id);
      if (!unit) continue;
      units[unit.name] = {
        status: { ...unit.status },
        applicationVersion: unit.applicationVersion,
        store: { ...unit.store },
        revision: unit.agent.charm,
        logs: [...(model.logs.get(unit.name) ?? [])],
      };
    }
    return structuredClone({
      leader: model.leader === null ? null : this.unitName(model.leader),
      databags: model.databags,
      appData: model.appData,
      appStatus: model.appStatus,
      units,
    });
  }

  /** The hooks `unit` would run next, in order, if nothing else changed (Juju's resolver replayed by the model). */
  due(unit: string): PendingHook[] {
    return this.model.due(this.idOf(unit));
  }

  /** `juju deploy -n N`: the units join the model on revision 1 (their setup hooks are due); the leader is elected. */
  deploy(): void {
    for (let i = 0; i < this.options.units; i++) this.model.addUnit();
    const leader = this.options.leader ?? 0;
    if (this.model.leader !== leader) this.model.setLeader(leader);
  }

  /**
   * `juju refresh` to a new revision of the charm whose `dependencies.json` is `dependencies` (the rest as the
   * application's current revision). Machines: every unit's agent notices it at once, and unpacks it before its
   * `upgrade-charm` (with `noticeAll: false`, each when the caller has the model's `notice` it); Kubernetes: the
   * StatefulSet controller restarts the pods it may, each unpacking it in its new pod. Returns the new revision
   * number.
   */
  refresh(dependencies: unknown, options: { readonly noticeAll?: boolean } = {}): number {
    const current = this.revision(this.model.charm);
    const revision = Math.max(...this.revisions.keys()) + 1;
    this.revisions.set(revision, {
      dir: current.dir,
      files: { ...current.files, [DEPENDENCIES_FILE]: `${JSON.stringify(dependencies, null, 2)}\n` },
    });
    this.model.refresh(revision);
    if (this.model.substrate === "vm" && options.noticeAll !== false) this.model.noticeAll();
    return revision;
  }

  /**
   * Run hooks until nothing is due, `limit` hooks ran, or `until` holds after a hook: each unit's next hook, units
   * in turn; when no hook is due, the model's next step that is not a hook (a machine agent noticing a refresh, the
   * StatefulSet controller deleting a pod or seeing it ready). `update-status` is not run: the model is settled when
   * only it could run.
   *
   * @throws when a hook fails (its stderr is in the message) or `limit` hooks ran without the model settling.
   */
  async settle(
    options: { readonly limit?: number; readonly until?: (world: ProcessWorld) => boolean } = {},
  ): Promise<DispatchRun[]> {
    const limit = options.limit ?? 200;
    const ran: DispatchRun[] = [];
    for (;;) {
      let progressed = false;
      for (const id of this.ids()) {
        if (!this.model.nextHook(id)) continue;
        if (ran.length >= limit) throw new Error(`the model did not settle within ${limit} hooks`);
        const run = await this.runHook(this.unitName(id));
        ran.push(run);
        progressed = true;
        if (run.exitCode !== 0) {
          throw new Error(`${run.unit} ${run.dispatchPath} exited ${String(run.exitCode)}: ${run.stderr}`);
        }
        if (options.until?.(this.world())) return ran;
      }
      if (progressed) continue;
      const step = this.model
        .steps()
        .find(
          (next): next is Exclude<ModelStep, { kind: "hook" | "update-status" }> =>
            next.kind !== "hook" && next.kind !== "update-status",
        );
      if (!step) return ran;
      this.model.take(step);
    }
  }

  /**
   * Run `unit`'s next hook now, as the model's resolver picks it; or `update-status`; or, as a fault, one of the
   * relation hooks the model says could be due (`JujuModel.relationHooksDue`).
   */
  runHook(
    unit: string,
    choice: { readonly updateStatus?: true; readonly relationHook?: PendingHook } = {},
  ): Promise<DispatchRun> {
    return this.dispatch(this.model.begin(this.idOf(unit), choice));
  }

  /** `juju run <unit> <action>`: the action runs on the unit now, between hooks. */
  async runAction(unit: string, name: string, params: Record<string, unknown> = {}): Promise<ActionRun> {
    const run = this.model.begin(this.idOf(unit), { action: { name, params } });
    const done = await this.dispatch(run);
    const action = run.tools.model.action;
    return {
      ...done,
      results: { ...(action?.results ?? {}) },
      failure: action?.failure ?? null,
      logs: [...(action?.logs ?? [])],
    };
  }

  /**
   * The model's state (`JujuModel.snapshot`) and what the operator sees (statuses), to {@link restore} later. The
   * charm directories follow the model: each unit's is unpacked again to the revision it runs before its next hook.
   * The workload directories are not included.
   */
  snapshot(): ProcessSnapshot {
    return JSON.stringify({ model: this.model.snapshot(), seen: this.seen() });
  }

  /** Put back a {@link snapshot} (the workload directories are left as they are). */
  restore(snapshot: ProcessSnapshot): void {
    const { model, seen } = JSON.parse(snapshot) as { model: string; seen: Seen };
    this.model.restore(model);
    this.see(seen);
  }

  /**
   * A copy of this model in a new working directory: deploy once, then give every test its own copy. `env` replaces
   * the variables added to every hook's environment; `partition`, the API server the model's StatefulSet follows;
   * `publish`, where it reports its rollout.
   */
  fork(
    options: {
      readonly env?: Readonly<Record<string, string>> | undefined;
      readonly partition?: (() => number | null | undefined) | undefined;
      readonly publish?: ((model: JujuModel) => void) | undefined;
    } = {},
  ): ProcessJuju {
    const root = mkdtempSync(join(tmpdir(), "upgrade-demo-"));
    cpSync(this.binDir, join(root, "bin"), { recursive: true });
    for (const unit of this.unitNames) {
      const from = dirname(this.charmDir(unit));
      const to = join(root, "units", unit.replace("/", "-"));
      cpSync(from, to, { recursive: true, filter: (path) => path !== this.charmDir(unit) });
      if (existsSync(this.charmDir(unit))) copyCharm(this.charmDir(unit), join(to, "charm"));
    }
    const copy = new ProcessJuju(
      {
        ...this.options,
        root,
        env: options.env ?? this.options.env,
        partition: options.partition ?? this.options.partition,
        publish: options.publish ?? this.options.publish,
      },
      root,
      new Map(this.revisions),
      new Map(this.unpacked),
    );
    copy.restore(this.snapshot());
    for (const [name, lines] of this.model.logs) copy.model.logs.set(name, [...lines]);
    return copy;
  }

  /** Delete the working directory. */
  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------- process plumbing

  private ids(): number[] {
    return [...this.model.units.keys()].sort((a, b) => a - b);
  }

  private idOf(unit: string): number {
    const id = Number(unit.slice(unit.lastIndexOf("/") + 1));
    if (unit !== this.unitName(id) || !this.model.units.has(id)) throw new RangeError(`no unit ${unit} in ${this.app}`);
    return id;
  }

  private revision(revision: number): CharmRevision {
    const found = this.revisions.get(revision);
    if (!found) throw new RangeError(`no charm revision ${revision}`);
    return found;
  }

  /**
   * Make the unit's charm directory hold `revision`, as the agent's charm deployer does before it runs a hook of
   * a new charm: the new revision's files written, the old revision's files it does not have put back as built,
   * and `.juju-charm` naming the charm as the model says (juju/juju `internal/worker/uniter/charm/charm.go`
   * `CharmURLPath`, written by `WriteCharmURL` as a YAML scalar; the library reads it for the rollback command).
   */
  private unpack(id: number, revision: number): void {
    const dir = this.charmDir(this.unitName(id));
    const from = this.unpacked.get(id);
    if (from !== revision) {
      const target = this.revision(revision);
      const old = from === undefined ? undefined : this.revisions.get(from);
      if (!old || old.dir !== target.dir || !existsSync(dir)) {
        rmSync(dir, { recursive: true, force: true });
        copyCharm(target.dir, dir);
        for (const [path, text] of Object.entries(target.files)) writeFileSync(join(dir, path), text);
      } else {
        for (const path of new Set([...Object.keys(old.files), ...Object.keys(target.files)])) {
          const text = target.files[path];
          if (text !== undefined) writeFileSync(join(dir, path), text);
          else if (existsSync(join(target.dir, path))) copyFileSync(join(target.dir, path), join(dir, path));
          else rmSync(join(dir, path), { force: true });
        }
      }
      this.unpacked.set(id, revision);
    }
    writeFileSync(join(dir, ".juju-charm"), `${this.model.charmUrlOf(id) ?? ""}\n`);
  }

  /**
   * Run a hook or action that {@link JujuModel.begin} started: unpack the unit's charm, hand the unit's view of the
   * model to the tool processes, run `dispatch`, bring back what the tools did, and end the hook in the model.
   */
  private async dispatch(run: HookRun): Promise<DispatchRun> {
    const seq = ++this.sequence;
    const unit = run.unitName;
    this.options.publish?.(this.model);
    this.unpack(run.unit, run.revision);
    const files = new HookFiles(join(this.root, "hooks", `${String(seq).padStart(4, "0")}-${unit.replace("/", "-")}`));
    files.writeModel(run.tools.model);
    const charmDir = this.charmDir(unit);
    const env: Record<string, string> = {
      // A hook's environment is Juju's, not the test runner's.
      PATH: [this.binDir, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      HOME: dirname(charmDir),
      LANG: "C.UTF-8",
      ...this.options.env,
      ...run.env,
      // Where this machine has the unit's charm, not where Juju would.
      JUJU_CHARM_DIR: charmDir,
      [HOOK_FILES_ENV]: files.dir,
    };
    const started = performance.now();
    const result = await runProcess(join(charmDir, "dispatch"), charmDir, env);
    const ms = performance.now() - started;
    try {
      files.replayInto(run.tools);
    } catch (error) {
      // A harness bug, not the charm's: end the hook all the same, so the model is not left mid-hook.
      this.model.end(run, "failed");
      throw error;
    }
    const commit = this.model.end(run, result.exitCode === 0 ? "ok" : "failed");
    const partition = this.options.partition?.();
    if (typeof partition === "number" && partition !== this.model.partition) this.model.setPartition(partition);
    const done: DispatchRun = {
      unit,
      hook: run.hook,
      dispatchPath: run.env["JUJU_DISPATCH_PATH"] ?? "",
      revision: run.revision,
      ...result,
      commit,
      toolCalls: files.calls(),
      ms,
    };
    this.runs.push(done);
    return done;
  }

  /** What the operator sees that a model snapshot leaves out (statuses). */
  private seen(): Seen {
    const { model } = this;
    return {
      units: Object.fromEntries([...model.units.values()].map((unit) => [unit.id, unit.status])),
      appStatus: model.appStatus,
      appStatusNeverSet: model.appStatusNeverSet,
    };
  }

  private see(seen: Seen): void {
    for (const unit of this.model.units.values()) {
      const status = seen.units[unit.id];
      if (status) unit.status = { ...status };
    }
    this.model.appStatus = { ...seen.appStatus };
    this.model.appStatusNeverSet = seen.appStatusNeverSet;
  }
}

/** Statuses, which `JujuModel.snapshot` leaves out. */
interface Seen {
  readonly units: Record<number, StatusInfo>;
  readonly appStatus: StatusInfo;
  readonly appStatusNeverSet: boolean;
}
