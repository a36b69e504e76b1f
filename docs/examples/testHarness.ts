/**
 * The guide's test harness: one application of a few units over `@charm-upgrade/juju`'s in-memory hook tools, to
 * run a charm's hooks and actions in a unit test. The guide shows it; `docs/guide.test.ts` drives the example
 * charms with it.
 *
 * @module
 */
import type { DispatchResult, InMemoryAction, InMemoryModel, StatusInfo } from "@charm-upgrade/juju";
import { createInMemoryModel, HookTools, InMemoryHookTools } from "@charm-upgrade/juju";
import type { JujuPorts } from "./vmCharm.js";

/** A charm's hook handler, as the examples write it: the workload of the unit, the Juju ports, the result. */
export type CharmHook<W> = (workload: W, juju: JujuPorts) => Promise<DispatchResult>;

/** One unit: its workload, what Juju keeps for it, and the hooks waiting for it. */
export interface TestUnit<W> {
  readonly name: string;
  readonly workload: W;
  status: StatusInfo;
  readonly state: Record<string, string>;
  readonly queue: string[];
  readonly logs: string[];
}

// #region harness
/** An application of `count` units sharing one peer relation; hooks run one at a time, as on one Juju agent. */
export class TestApp<W> {
  readonly relation = { name: "upgrade", id: 1 };
  readonly databags: Record<string, Record<string, string>> = {};
  readonly appData: Record<string, string> = {};
  readonly config: Record<string, unknown> = {};
  /** The application status, which the leader sets. */
  appStatus: StatusInfo = { status: "unknown", message: "" };
  readonly units = new Map<string, TestUnit<W>>();
  /** Every unit's log lines, in the order they were logged: `db/1: INFO db/1 granted the upgrade`. */
  readonly journal: string[] = [];
  leader: string;

  constructor(
    readonly app: string,
    count: number,
    readonly charm: CharmHook<W>,
    workloadOf: (unit: number) => W,
  ) {
    for (let id = 0; id < count; id++) {
      const name = `${app}/${id}`;
      this.units.set(name, {
        name,
        workload: workloadOf(id),
        status: { status: "unknown", message: "" },
        state: {},
        queue: [],
        logs: [],
      });
      this.databags[name] = {};
    }
    this.leader = `${app}/0`;
    this.everyUnit("upgrade-relation-created");
  }

  /** Queue a hook on every unit (e.g. `upgrade-charm` after `juju refresh`). */
  everyUnit(hook: string): void {
    for (const unit of this.units.values()) unit.queue.push(hook);
  }

  /** Run one hook (`upgrade-charm`) or action (`actions/resume-upgrade`) on a unit; commit its writes if it succeeds. */
  async run(name: string, hook: string, params: Record<string, unknown> = {}): Promise<InMemoryAction | null> {
    const unit = this.units.get(name);
    if (!unit) throw new Error(`no unit ${name}`);
    const action = hook.startsWith("actions/") ? hook.slice("actions/".length) : null;
    const model: InMemoryModel = {
      ...createInMemoryModel({
        unit: name,
        leader: name === this.leader,
        relation: this.relation,
        status: unit.status,
      }),
      ...{
        databags: this.databags,
        appData: this.appData,
        appStatus: this.appStatus,
        state: unit.state,
        config: this.config,
      },
      ...(action ? { action: { name: action, params, results: {}, failure: null, logs: [] } } : {}),
    };
    const env: Record<string, string> = {
      JUJU_DISPATCH_PATH: action ? hook : `hooks/${hook}`,
      JUJU_UNIT_NAME: name,
      JUJU_MODEL_NAME: "test",
      JUJU_CHARM_DIR: "/charm",
    };
    if (hook.startsWith("upgrade-relation-")) {
      env["JUJU_RELATION"] = this.relation.name;
      env["JUJU_RELATION_ID"] = `${this.relation.name}:${this.relation.id}`;
    }
    const juju = new InMemoryHookTools(model);
    try {
      await this.charm(unit.workload, { tools: new HookTools(juju.run), env });
    } catch (error) {
      juju.discard(); // as Juju does: the hook's relation writes are lost, and the hook will run again
      throw error;
    } finally {
      unit.status = model.status;
      this.appStatus = model.appStatus;
      // One `juju-log` call may carry several lines (the library sends consecutive lines of one level together):
      // the journal keeps one entry per line, as `juju debug-log` shows them.
      const lines = model.logs.flatMap((log) => log.message.split("\n").map((message) => `${log.level} ${message}`));
      unit.logs.push(...lines);
      this.journal.push(...lines.map((line) => `${name}: ${line}`));
    }
    const { unitChanged, appChanged } = juju.commit();
    if (unitChanged || appChanged) {
      for (const other of this.units.values()) if (other !== unit) other.queue.push("upgrade-relation-changed");
    }
    return model.action;
  }

  /** Run queued hooks until none is left. */
  async settle(): Promise<void> {
    for (let step = 0; step < 1000; step++) {
      const unit = [...this.units.values()].find((candidate) => candidate.queue.length > 0);
      const hook = unit?.queue.shift();
      if (!unit || hook === undefined) return;
      await this.run(unit.name, hook);
    }
    throw new Error("the application never settled");
  }

  /** Every unit's `state`, e.g. `{ "db/0": "idle", "db/1": "upgrading" }`. */
  states(): Record<string, string | undefined> {
    return Object.fromEntries([...this.units.keys()].map((name) => [name, this.databags[name]?.["state"]]));
  }
}
// #endregion harness
