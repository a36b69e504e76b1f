import type { TransitionRow } from "@charm-upgrade/core";
import { machineStates, transitionTable, upgradeMachine } from "@charm-upgrade/core";
import { clip, el, escapeHtml, stateColor, tooltip } from "./markup.js";

/** What a state chart is drawn from: read from the machine definition by default. */
export interface StateChartInput {
  /** The states, in definition order: drawn left to right. */
  readonly states: readonly string[];
  /** Every transition (`from: "*"` for the machine's root; `to: ""` stays and is not drawn). */
  readonly transitions: readonly TransitionRow[];
  /** The initial state, marked with an arrow from a dot. */
  readonly initial: string | null;
}

/** The upgrade machine's states, transitions and initial state, read from its definition. */
export function machineChartInput(): StateChartInput {
  const initial = (upgradeMachine().config as { initial?: unknown }).initial;
  return {
    states: machineStates(),
    transitions: transitionTable(),
    initial: typeof initial === "string" ? initial : null,
  };
}

const BOX_W = 124;
const BOX_H = 44;
const COL = 180;
const LEFT = 64;
const LINE = 14;
/** Characters of a label line that fit in a column (10.5px monospace). */
const LABEL_CHARS = 26;

interface Edge {
  readonly from: number;
  readonly to: number;
  /** `event [guard]` of each transition, once. */
  readonly labels: string[];
  /** The same, as label lines: the event, then the guard on a line of its own. */
  readonly lines: string[];
}

const label = (row: TransitionRow) => (row.guard ? [row.event, `[${row.guard}]`] : [row.event]);

/**
 * The state chart of a machine as inline SVG, generated from its transition table (never drawn by hand): the states
 * as boxes in a row in definition order; transitions defined on the machine's root ("any state") as arrows from a
 * band above, labelled `event [guard]` in the target's column; transitions between states as arcs below the row,
 * deeper the further they reach, labelled at their lowest point. Eventless transitions are labelled `always`.
 * Deterministic: the same machine gives the same markup.
 */
export function stateChartSvg(input: StateChartInput = machineChartInput()): string {
  const index = new Map(input.states.map((state, i) => [state, i]));
  const cx = (i: number) => LEFT + i * COL + BOX_W / 2;
  const width = LEFT + input.states.length * COL;

  // Root transitions: per target, the label lines (same event and guard once).
  const rootLines = new Map<number, { lines: string[]; rows: string[] }>();
  const edges = new Map<string, Edge>();
  for (const row of input.transitions) {
    const to = index.get(row.to);
    if (!row.to || to === undefined) continue;
    const text = label(row);
    if (row.from === "*") {
      const entry = rootLines.get(to) ?? { lines: [], rows: [] };
      const key = text.join(" ");
      if (!entry.rows.includes(key)) {
        entry.rows.push(key);
        entry.lines.push(...text);
      }
      rootLines.set(to, entry);
      continue;
    }
    const from = index.get(row.from);
    if (from === undefined) continue;
    const key = `${from}>${to}`;
    const edge = edges.get(key) ?? { from, to, labels: [], lines: [] };
    const joined = text.join(" ");
    if (!edge.labels.includes(joined)) {
      edge.labels.push(joined);
      edge.lines.push(...text);
    }
    edges.set(key, edge);
  }

  const maxRootLines = Math.max(0, ...[...rootLines.values()].map((entry) => entry.lines.length));
  const bandTop = 16;
  const bandBottom = bandTop + 30;
  const boxTop = bandBottom + 18 + maxRootLines * LINE + 14;
  const boxBottom = boxTop + BOX_H;
  const mid = boxTop + BOX_H / 2;

  const parts: string[] = [];
  parts.push(
    el(
      "defs",
      {},
      el(
        "marker",
        {
          id: "chart-arrow",
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#334155" }),
      ),
    ),
  );

  // "any state" band and its arrows
  if (rootLines.size) {
    parts.push(
      el(
        "g",
        { "data-testid": "any-state" },
        el("rect", {
          x: LEFT - 24,
          y: bandTop,
          width: width - LEFT + 4,
          height: bandBottom - bandTop,
          rx: 8,
          class: "chart-any",
        }),
        el(
          "text",
          { x: LEFT - 12, y: bandTop + 20, class: "chart-any-label" },
          "any state (transitions on the machine's root)",
        ),
      ),
    );
  }
  for (const [to, entry] of [...rootLines.entries()].sort(([a], [b]) => a - b)) {
    const x = LEFT + to * COL + 14;
    const lines = entry.lines.map((line, i) =>
      el(
        "text",
        { x: x + 8, y: bandBottom + 16 + i * LINE, class: line.startsWith("[") ? "chart-guard" : "chart-event" },
        escapeHtml(clip(line, LABEL_CHARS)),
      ),
    );
    parts.push(
      el(
        "g",
        { "data-testid": `transition-any-${input.states[to] ?? ""}`, class: "chart-edge" },
        tooltip(`any state -> ${input.states[to] ?? ""}: ${entry.rows.join("; ")}`),
        el("line", { x1: x, y1: bandBottom, x2: x, y2: boxTop - 1, "marker-end": "url(#chart-arrow)" }),
        ...lines,
      ),
    );
  }

  // arcs between states, below the row
  const bySpan = new Map<number, number>();
  let deepest = 0;
  for (const edge of [...edges.values()].sort(
    (a, b) => Math.abs(a.from - a.to) - Math.abs(b.from - b.to) || a.from - b.from || a.to - b.to,
  )) {
    const span = Math.abs(edge.from - edge.to);
    const k = bySpan.get(span) ?? 0;
    bySpan.set(span, k + 1);
    const forward = edge.to > edge.from;
    const depth = 34 + 44 * span + 26 * k + (edge.lines.length - 1) * LINE;
    let d: string;
    let apexX: number;
    if (span === 0) {
      const x = cx(edge.from);
      d = `M${x - 20},${boxBottom} C${x - 40},${boxBottom + 50} ${x + 40},${boxBottom + 50} ${x + 20},${boxBottom}`;
      apexX = x;
    } else {
      const x1 = cx(edge.from) + (forward ? 18 : -18);
      const x2 = cx(edge.to) + (forward ? -18 : 18);
      d = `M${x1},${boxBottom} C${x1},${boxBottom + depth} ${x2},${boxBottom + depth} ${x2},${boxBottom + 1}`;
      apexX = (x1 + x2) / 2;
    }
    const apexY = boxBottom + (span === 0 ? 38 : depth * 0.75);
    deepest = Math.max(deepest, apexY + 6 + edge.lines.length * LINE);
    const from = input.states[edge.from] ?? "";
    const to = input.states[edge.to] ?? "";
    const lines = edge.lines;
    parts.push(
      el(
        "g",
        { "data-testid": `transition-${from}-${to}`, class: "chart-edge" },
        tooltip(`${from} -> ${to}: ${edge.labels.join("; ")}`),
        el("path", { d, fill: "none", "marker-end": "url(#chart-arrow)" }),
        ...lines.map((line, i) =>
          el(
            "text",
            {
              x: apexX,
              y: apexY + 14 + i * LINE,
              "text-anchor": "middle",
              class: line.startsWith("[") ? "chart-guard" : "chart-event",
            },
            escapeHtml(clip(line, LABEL_CHARS + 4)),
          ),
        ),
      ),
    );
  }

  // initial marker
  const initial = input.initial === null ? undefined : index.get(input.initial);
  if (initial !== undefined) {
    const x = LEFT + initial * COL;
    parts.push(
      el(
        "g",
        { "data-testid": "initial-state" },
        tooltip(`initial state: ${input.initial ?? ""}`),
        el("circle", { cx: x - 38, cy: mid, r: 6, fill: "#334155" }),
        el("line", {
          x1: x - 32,
          y1: mid,
          x2: x - 2,
          y2: mid,
          class: "chart-initial",
          "marker-end": "url(#chart-arrow)",
        }),
      ),
    );
  }

  // the states, last: drawn over the arrows
  input.states.forEach((state, i) => {
    const x = LEFT + i * COL;
    parts.push(
      el(
        "g",
        { "data-testid": `state-${state}`, class: "chart-state" },
        tooltip(`state ${state}`),
        el("rect", { x, y: boxTop, width: BOX_W, height: BOX_H, rx: 10, fill: stateColor(state) }),
        el("text", { x: x + BOX_W / 2, y: mid + 5, "text-anchor": "middle" }, escapeHtml(clip(state, 16))),
      ),
    );
  });

  const height = Math.ceil(Math.max(boxBottom + 20, deepest + 16));
  return el(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": "State chart of the upgrade machine",
      "data-testid": "chart",
    },
    ...parts,
  );
}
