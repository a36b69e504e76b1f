import { upgradeMachine } from "./upgradeMachine.js";

/** One transition of the upgrade machine, as documentation shows it. */
export interface TransitionRow {
  /** The state it leaves (`*` for "any state": a transition defined on the machine's root). */
  readonly from: string;
  /** The event (`always` for an eventless transition, taken as soon as its guard holds). */
  readonly event: string;
  /** The named guard, `not(name)`, or `""` when unguarded. */
  readonly guard: string;
  /** The state it enters, or `""` when it stays. */
  readonly to: string;
  readonly actions: readonly string[];
}

type Config = {
  on?: Record<string, unknown>;
  always?: unknown;
  states?: Record<string, Config>;
};

function guardName(guard: unknown): string {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  const negated = (guard as { guards?: readonly unknown[] }).guards;
  if (typeof guard === "function" && negated?.length === 1) return `not(${guardName(negated[0])})`;
  return "(inline)";
}

function actionNames(actions: unknown): string[] {
  const list = actions === undefined ? [] : Array.isArray(actions) ? actions : [actions];
  return list.map((action) => (typeof action === "string" ? action : ((action as { type?: string }).type ?? "(inline)")));
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
 * and the state diagram, so documentation can never drift from the code.
 */
export function transitionTable(): readonly TransitionRow[] {
  const config = upgradeMachine.config as unknown as Config;
  const out: TransitionRow[] = [];
  for (const [event, transitions] of Object.entries(config.on ?? {})) out.push(...rows("*", event, transitions));
  for (const [state, node] of Object.entries(config.states ?? {})) {
    for (const [event, transitions] of Object.entries(node.on ?? {})) out.push(...rows(state, event, transitions));
    if (node.always) out.push(...rows(state, "always", node.always));
  }
  return out;
}

/** The machine's states, in definition order. */
export function machineStates(): readonly string[] {
  return Object.keys((upgradeMachine.config as unknown as Config).states ?? {});
}

/** The transition table as a Markdown table. */
export function transitionMarkdown(): string {
  const lines = ["| from | event | guard | to | actions |", "| --- | --- | --- | --- | --- |"];
  for (const row of transitionTable()) {
    lines.push(
      `| ${row.from === "*" ? "any" : `\`${row.from}\``} | \`${row.event}\` | ${row.guard ? `\`${row.guard}\`` : ""} | ${row.to ? `\`${row.to}\`` : "(stays)"} | ${row.actions.map((a) => `\`${a}\``).join(", ")} |`,
    );
  }
  return lines.join("\n");
}

/**
 * A Mermaid `stateDiagram-v2` of the machine: one edge per transition that changes state (root transitions start
 * from every state, drawn once from a pseudo-state "any"), labelled `event [guard]`.
 */
export function mermaidDiagram(): string {
  const lines = ["stateDiagram-v2", "    [*] --> unset", '    state "any state" as any'];
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
