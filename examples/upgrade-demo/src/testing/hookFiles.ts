import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InMemoryCall, InMemoryModel } from "@charm-upgrade/juju";
import { InMemoryHookTools } from "@charm-upgrade/juju";

/** The environment variable that tells a tool process where its hook's files are. */
export const HOOK_FILES_ENV = "SIM_HOOK";

/**
 * The tools that change nothing, neither at once nor at the hook's end: their calls are not journaled. Any other
 * tool's successful call is, so that a tool the list does not know is replayed rather than lost.
 */
const READ_ONLY_TOOLS: ReadonlySet<string> = new Set([
  "relation-ids",
  "relation-list",
  "relation-get",
  "is-leader",
  "status-get",
  "config-get",
  "action-get",
  "state-get",
  "goal-state",
]);

/**
 * The files one hook's processes share, in one directory per hook: the unit's view of the model as `JujuModel.begin`
 * made it (`model.json`, an `InMemoryModel`, written once), the journal of the hook's calls that changed something
 * (`journal.jsonl`) and the command lines its tools ran (`calls.log`).
 *
 * The tools are separate processes, and `InMemoryHookTools` keeps a hook's effects in memory: each tool process
 * opens the model and replays the journal (so `status-get` sees an earlier `status-set`, `relation-get` of the
 * unit's own databag and `state-get` see its pending writes), runs its command, and appends it to the journal if it
 * changed something. Appending one line is atomic, so the tools a charm runs concurrently lose nothing. When
 * `dispatch` exits, the harness replays the journal into the hook tools `JujuModel.begin` made
 * ({@link HookFiles.replayInto}), and `JujuModel.end` commits or discards by its own rules. None of this is
 * Juju's: it is how an in-memory model crosses a process boundary.
 */
export class HookFiles {
  /** The hook's directory. */
  readonly dir: string;

  /** @param dir - the hook's directory (created when the model is written). */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The files of the hook a tool process runs in, from {@link HOOK_FILES_ENV}; `null` outside a harness hook. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): HookFiles | null {
    const dir = env[HOOK_FILES_ENV];
    return dir ? new HookFiles(dir) : null;
  }

  private get modelPath(): string {
    return join(this.dir, "model.json");
  }

  private get journalPath(): string {
    return join(this.dir, "journal.jsonl");
  }

  private get callsPath(): string {
    return join(this.dir, "calls.log");
  }

  /** Write the unit's view of the model, as the hook begins (atomically: a tool process never reads half of it). */
  writeModel(model: InMemoryModel): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(`${this.modelPath}.tmp`, JSON.stringify(model));
    renameSync(`${this.modelPath}.tmp`, this.modelPath);
  }

  /** The hook's calls that changed something, in the order they ended (a missing journal is an empty one). */
  readJournal(): InMemoryCall[] {
    if (!existsSync(this.journalPath)) return [];
    return readFileSync(this.journalPath, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as InMemoryCall);
  }

  /**
   * Run one tool call as its process: the model as the hook began, the journal replayed, then the call; journaled
   * when it succeeded and may have changed something. Returns what the tool prints and its exit code.
   */
  invoke(tool: string, args: readonly string[], stdin: string | undefined): ReturnType<InMemoryHookTools["invoke"]> {
    appendFileSync(this.callsPath, `${[tool, ...args].join(" ")}\n`);
    const tools = new InMemoryHookTools(JSON.parse(readFileSync(this.modelPath, "utf8")) as InMemoryModel);
    for (const call of this.readJournal()) tools.invoke(call.tool, call.args, call.stdin);
    const result = tools.invoke(tool, args, stdin);
    if (result.exitCode === 0 && !READ_ONLY_TOOLS.has(tool)) {
      const call: InMemoryCall = { tool, args: [...args], stdin };
      appendFileSync(this.journalPath, `${JSON.stringify(call)}\n`);
    }
    return result;
  }

  /** The command lines the hook's tools ran, in order. */
  calls(): string[] {
    return existsSync(this.callsPath) ? readFileSync(this.callsPath, "utf8").split("\n").filter(Boolean) : [];
  }

  /**
   * Bring what the hook's tool processes did into `tools`, the hook tools `JujuModel.begin` made, by replaying the
   * journal through `tools.runSync`: what takes effect at once (workload and application status, logs, application
   * version, the action's results, failure and log) lands in `tools.model` as it did in the processes, and the
   * buffered writes (relation-set, state-set, state-delete) wait for `JujuModel.end` to commit or discard them.
   *
   * @throws HookToolError when a journaled call is refused on replay: the harness and the processes disagree.
   */
  replayInto(tools: InMemoryHookTools): void {
    for (const call of this.readJournal()) tools.runSync(call.tool, call.args, call.stdin);
  }
}
