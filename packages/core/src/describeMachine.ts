import { EFFECT_MEANINGS } from "./effects.js";
import { upgradeMachine } from "./upgradeMachine.js";

/** One transition of the upgrade machine, as documentation shows it. */
export interface TransitionRow {
  /** The state it leaves (`*` for "any state": a transition defined on the machine's root). */
  readonly from: string;
  /** The event (`always` for an eventless transition, taken as soon as its guard holds). */
  readonly event: string;
  /** The named guard, `not(name)`, `and(a, b)`, or `""` when unguarded. */
  readonly guard: string;
  /** The state it enters, or `""` when it stays. */
  readonly to: string;
  readonly actions: readonly string[];
}

/**
 * The events one state of the upgrade machine takes, as documentation shows them: which it handles itself (a
 * transition under the state, which replaces the root's for that event), which the root handles for it, and which it
 * ignores.
 */
export interface StateEvents {
  readonly state: string;
  /** Events with a transition under this state (`always` for its eventless transitions), in definition order. */
  readonly own: readonly string[];
  /** Root events this state does not handle itself: the root's transitions apply. */
  readonly fromRoot: readonly string[];
  /** Events the machine handles somewhere but neither this state nor the root does: nothing happens. */
  readonly ignored: readonly string[];
}

type Config = {
  on?: Record<string, unknown>;
  always?: unknown;
  states?: Record<string, Config>;
};

const config = () => upgradeMachine().config as unknown as Config;

function guardName(guard: unknown): string {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  // xstate's `not`, `and` and `or` are functions of that name that keep their operands in `guards`.
  const operands = (guard as { guards?: readonly unknown[] }).guards;
  if (typeof guard === "function" && ["not", "and", "or"].includes(guard.name) && operands?.length) {
    return `${guard.name}(${operands.map(guardName).join(", ")})`;
  }
  return "(inline)";
}

function actionNames(actions: unknown): string[] {
  const list = actions === undefined ? [] : Array.isArray(actions) ? actions : [actions];
  return list.map((action) =>
    typeof action === "string" ? action : ((action as { type?: string }).type ?? "(inline)"),
  );
}

function rows(from: string, event: string, transitions: unknown): TransitionRow[] {
  const list = Array.isArray(transitions) ? transitions : [transitions];
  return list.map((t) => {
    const def = (typeof t === "string" ? { target: t } : t) as { guard?: unknown; target?: string; actions?: unknown };
    return {
      from,
      event,
      guard: guardName(def.guard),
      to: (def.target ?? "").replace(/^\./, ""),
      actions: actionNames(def.actions),
    };
  });
}

/**
 * Every transition of {@link upgradeMachine}, read from its definition — the source of the protocol reference
 * and the state diagram, so documentation can never drift from the code. The root's transitions come first
 * (`from: "*"`), then each state's own, in definition order.
 */
export function transitionTable(): readonly TransitionRow[] {
  const out: TransitionRow[] = [];
  for (const [event, transitions] of Object.entries(config().on ?? {})) out.push(...rows("*", event, transitions));
  for (const [state, node] of Object.entries(config().states ?? {})) {
    for (const [event, transitions] of Object.entries(node.on ?? {})) out.push(...rows(state, event, transitions));
    if (node.always) out.push(...rows(state, "always", node.always));
  }
  return out;
}

/** The machine's states, in definition order. */
export function machineStates(): readonly string[] {
  return Object.keys(config().states ?? {});
}

/**
 * What each state of {@link upgradeMachine} does with each event, read from its definition: so a reader sees at a
 * glance which events depend on the unit's own state (those a state handles itself) and which do not (the root's).
 */
export function stateEvents(): readonly StateEvents[] {
  const root = Object.keys(config().on ?? {});
  const states = Object.entries(config().states ?? {});
  const everyEvent = [...new Set([...root, ...states.flatMap(([, node]) => Object.keys(node.on ?? {}))])];
  return states.map(([state, node]) => {
    const handled = Object.keys(node.on ?? {});
    return {
      state,
      own: node.always ? [...handled, "always"] : handled,
      fromRoot: root.filter((event) => !handled.includes(event)),
      ignored: everyEvent.filter((event) => !handled.includes(event) && !root.includes(event)),
    };
  });
}

const code = (names: readonly string[]) => (names.length ? names.map((name) => `\`${name}\``).join(", ") : "—");

/**
 * The transition table as Markdown: first what each state accepts (its own events, those the root handles for it,
 * those it ignores), then every transition, the root's as "any state".
 */
export function transitionMarkdown(): string {
  const root = Object.keys(config().on ?? {});
  const lines = ["| state | handles itself | as in any state | ignores |", "| --- | --- | --- | --- |"];
  for (const state of stateEvents()) {
    const fromRoot = state.fromRoot.length === root.length ? "all of them" : code(state.fromRoot);
    lines.push(`| \`${state.state}\` | ${code(state.own)} | ${fromRoot} | ${code(state.ignored)} |`);
  }
  lines.push("", "| from | event | guard | to | actions |", "| --- | --- | --- | --- | --- |");
  for (const row of transitionTable()) {
    lines.push(
      `| ${row.from === "*" ? "any state" : `\`${row.from}\``} | \`${row.event}\` | ${row.guard ? `\`${row.guard}\`` : ""} | ${row.to ? `\`${row.to}\`` : "(stays)"} | ${row.actions.map((a) => `\`${a}\``).join(", ")} |`,
    );
  }
  return lines.join("\n");
}

/**
 * A Mermaid `stateDiagram-v2` of the machine: one edge per transition that changes state (root transitions start
 * from every state, drawn once from a pseudo-state "any state"), labelled `event [guard]`; each state, and "any
 * state", lists the events it handles itself.
 */
export function mermaidDiagram(): string {
  const lines = ["stateDiagram-v2", "    [*] --> unset", '    state "any state" as any'];
  const root = Object.keys(config().on ?? {});
  if (root.length) lines.push(`    any : ${root.join(", ")}`);
  for (const state of stateEvents()) if (state.own.length) lines.push(`    ${state.state} : ${state.own.join(", ")}`);
  const seen = new Set<string>();
  for (const row of transitionTable()) {
    if (!row.to) continue;
    const from = row.from === "*" ? "any" : row.from;
    const label = row.guard ? `${row.event} [${row.guard}]` : row.event;
    const line = `    ${from} --> ${row.to}: ${label}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  return lines.join("\n");
}

/** Every effect and what it asks of an adapter, as a Markdown table (from the one list of effect types). */
export function effectsMarkdown(): string {
  const lines = ["| effect | what the adapter does |", "| --- | --- |"];
  for (const [type, meaning] of Object.entries(EFFECT_MEANINGS)) lines.push(`| \`${type}\` | ${meaning} |`);
  return lines.join("\n");
}
