import type { TransitionRow } from "@charm-upgrade/core";
import type { RehearsalOutcome, RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { el, escapeHtml, stateColor } from "./markup.js";
import type { StateChartInput } from "./stateChartSvg.js";
import { machineChartInput, stateChartSvg } from "./stateChartSvg.js";
import { buildTimeline, timelineSvg } from "./timelineSvg.js";

/** Options of {@link htmlReport}. */
export interface HtmlReportOptions {
  /** The machine to chart (default: the upgrade machine's definition, via `transitionTable()`/`machineStates()`). */
  readonly machine?: StateChartInput | undefined;
}

const STYLE = `
:root { color-scheme: light; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8fafc; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin-top: 16px; overflow-x: auto; }
.sub { color: var(--muted); margin: 0 0 12px; }
.outcome { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; color: #fff; }
.expectation { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; border: 1px solid currentColor; }
.expectation.ok { color: var(--muted); } .expectation.bad { color: #b91c1c; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
svg { display: block; max-width: 100%; height: auto; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 10px 0 0; padding: 0; list-style: none; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 18px; height: 12px; border-radius: 3px; border: 1px solid rgba(0,0,0,.15); }
.symbol { display: inline-block; width: 18px; text-align: center; font-weight: 700; }
.chart-state rect { stroke: #334155; stroke-width: 1.5; }
.chart-state text { font-size: 14px; font-weight: 700; fill: var(--ink); }
.chart-edge line, .chart-edge path, .chart-initial { stroke: #334155; stroke-width: 1.4; fill: none; }
.chart-edge:hover line, .chart-edge:hover path { stroke: #2563eb; stroke-width: 2.2; }
.chart-event { font-size: 11px; fill: var(--ink); }
.chart-guard { font-size: 10.5px; fill: #7c3aed; }
.chart-any { fill: #f1f5f9; stroke: #94a3b8; stroke-dasharray: 5 4; }
.chart-any-label { font-size: 12px; fill: var(--muted); font-style: italic; }
.lane-bg { fill: #fff; } .lane-bg.odd { fill: #f8fafc; }
.lane-alive { fill: #f1f5f9; stroke: #e2e8f0; }
.lane-name { font-size: 13px; font-weight: 700; fill: var(--ink); }
.leader-badge { font-size: 11px; font-weight: 600; fill: #b45309; }
.lane-hooks { font-size: 11px; fill: var(--muted); }
.segment { stroke: rgba(15,23,42,.25); stroke-width: .5; }
.grant { fill: #15803d; stroke: #fff; stroke-width: .8; } .grant.failed { fill: #b91c1c; } .grant.rollback { fill: #6d28d9; }
.app-band { fill: #fffbeb; stroke: #e2e8f0; }
.app-name { font-size: 12px; font-weight: 700; fill: var(--muted); font-style: italic; }
.pause rect { fill: #fde68a; stroke: #b45309; stroke-width: 1; } .pause text { font-size: 11px; font-weight: 700; fill: #92400e; }
.pause-shade { fill: #fbbf24; opacity: .13; pointer-events: none; }
.partition-move path { fill: #0f766e; } .partition-move text { font-size: 11px; font-weight: 700; fill: #0f766e; }
.partition-line { fill: none; stroke: #0f766e; stroke-width: 2; stroke-dasharray: 6 3; }
.failure { stroke: #b91c1c; stroke-width: 2.6; stroke-linecap: round; }
.leader { font-size: 16px; fill: #d97706; }
.restart { fill: #fff; stroke: #0f172a; stroke-width: 1.5; }
.removed { font-size: 11px; fill: var(--muted); font-style: italic; }
.operator circle { fill: #0f172a; } .operator text { font-size: 10px; fill: #fff; font-weight: 700; }
.operator-line { stroke: #0f172a; stroke-width: 1; stroke-dasharray: 3 3; opacity: .55; }
.axis line { stroke: #94a3b8; } .axis text { font-size: 11px; fill: var(--muted); }
.axis-title { font-style: italic; }
ol.operator-list { margin: 10px 0 0; padding-left: 22px; font-size: 13px; }
.violation { color: #b91c1c; font-weight: 600; }
details summary { cursor: pointer; color: var(--muted); margin-top: 12px; }
`;

/**
 * The outcome's badge colour. Only `upgraded` is green: a halt (even one the rehearsal asked for with
 * `--fail-unit`) or a rollback is not a success to glance past; whether it was expected is a separate badge.
 */
const OUTCOME_COLORS: Readonly<Record<RehearsalOutcome, string>> = {
  upgraded: "#15803d",
  halted: "#b45309",
  "rolled-back": "#6d28d9",
  refused: "#475569",
  stuck: "#b91c1c",
};

function factsList(entries: readonly (readonly [string, string])[]): string {
  return el(
    "dl",
    { class: "facts" },
    ...entries.flatMap(([term, value]) => [el("dt", {}, escapeHtml(term)), el("dd", {}, value)]),
  );
}

function transitionTableHtml(rows: readonly TransitionRow[]): string {
  const head = el("tr", {}, ...["from", "event", "guard", "to", "actions"].map((h) => el("th", {}, h)));
  const body = rows.map((row) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", {}, escapeHtml(row.from === "*" ? "any" : row.from))),
      el("td", {}, el("code", {}, escapeHtml(row.event))),
      el("td", {}, row.guard ? el("code", {}, escapeHtml(row.guard)) : ""),
      el("td", {}, row.to ? el("code", {}, escapeHtml(row.to)) : "(stays)"),
      el("td", { class: "mono" }, escapeHtml(row.actions.join(", "))),
    ),
  );
  return el("table", { "data-testid": "transition-table" }, el("thead", {}, head), el("tbody", {}, ...body));
}

/**
 * A rehearsal as ONE self-contained HTML page — inline CSS and SVG, no script, no external resource — with:
 * the state chart of the upgrade machine, generated from its definition (`transitionTable()`, `machineStates()`);
 * a swimlane timeline of the rehearsal, one lane per unit (its state over time, grants, failures, the leader,
 * hook counts; the pauses and, on Kubernetes, the partition's moves); the outcome (only `upgraded` is green), whether
 * it was the expected one, the operator's commands and the units at the end. Every text is escaped. Elements carry
 * `data-testid`s: `state-<state>` (chart), `lane-<unit>`, `grant-<unit>`, `failure-<unit>`, `pause`,
 * `partition-move`, `legend-<state>`, `unit-row-<unit>`, `outcome`, `expectation`. Deterministic: the same
 * rehearsal gives the same page.
 *
 * @param events - the simulator's events, in order (collect them with `rehearseUpgrade`'s `onProgress`)
 * @example
 * ```ts
 * const events: SimEvent[] = [];
 * const report = await rehearseUpgrade({ units: 4, substrate: "vm", seed: 1, onProgress: (e) => void events.push(e) });
 * await writeFile("report.html", htmlReport(report, events));
 * ```
 */
export function htmlReport(
  report: RehearsalReport,
  events: readonly SimEvent[],
  options: HtmlReportOptions = {},
): string {
  const machine = options.machine ?? machineChartInput();
  const timeline = buildTimeline(report, events);
  const units = report.units.length;
  const title = `charm-upgrade rehearsal: ${units} unit${units === 1 ? "" : "s"} on ${report.substrate}, seed ${report.seed}`;

  const seenStates = new Set(timeline.lanes.flatMap((lane) => lane.segments.map((seg) => seg.state)));
  const legendStates = [...machine.states, ...[...seenStates].filter((state) => !machine.states.includes(state))];
  const legend = el(
    "ul",
    { class: "legend", "data-testid": "legend" },
    ...legendStates.map((state) =>
      el(
        "li",
        { "data-testid": `legend-${state}` },
        el("span", { class: "swatch", style: `background:${stateColor(state)}` }),
        escapeHtml(state),
      ),
    ),
    el(
      "li",
      {},
      el("span", { class: "symbol", style: "color:#15803d" }, "▼"),
      "grant (red: the charm's upgrade failed; violet: a rollback's)",
    ),
    el("li", {}, el("span", { class: "symbol", style: "color:#b91c1c" }, "✕"), "hook failed or crashed"),
    el("li", {}, el("span", { class: "symbol", style: "color:#d97706" }, "★"), "became the leader"),
    ...(report.substrate === "k8s"
      ? [el("li", {}, el("span", { class: "symbol" }, "○"), "pod restarted on the new revision")]
      : []),
    el(
      "li",
      { "data-testid": "legend-pause" },
      el("span", { class: "swatch", style: "background:#fde68a;border-color:#b45309" }),
      "paused: waiting for resume-upgrade",
    ),
    ...(report.substrate === "k8s"
      ? [
          el(
            "li",
            { "data-testid": "legend-partition" },
            el("span", { class: "symbol", style: "color:#0f766e" }, "◆"),
            "StatefulSet partition moved (dashed line: units below it may restart)",
          ),
        ]
      : []),
    el("li", {}, el("span", { class: "symbol" }, "①"), "operator command"),
  );

  const hookTotals = { ok: 0, crashed: 0, failed: 0 };
  for (const hook of report.hooks) hookTotals[hook.outcome]++;
  const facts: [string, string][] = [
    [
      "Revisions",
      escapeHtml(`${report.from.revision} (${report.from.version}) → ${report.to.revision} (${report.to.version})`),
    ],
    ["Upgrade order", escapeHtml(report.order.length ? report.order.join(" → ") : "(nobody was granted)")],
  ];
  if (report.rollbackOrder.length) facts.push(["Rollback order", escapeHtml(report.rollbackOrder.join(" → "))]);
  facts.push([
    "Hook runs",
    escapeHtml(`${report.hookRuns} (ok ${hookTotals.ok}, crashed ${hookTotals.crashed}, failed ${hookTotals.failed})`),
  ]);
  facts.push(["Databag writes", escapeHtml(String(report.databagWrites))]);
  if (report.partition !== null) facts.push(["StatefulSet partition", escapeHtml(String(report.partition))]);
  if (report.failure) facts.push(["Failure", escapeHtml(`${report.failure.unit}: ${report.failure.message}`)]);
  facts.push([
    "Invariants",
    report.violations.length
      ? el(
          "ul",
          { class: "violation", "data-testid": "violations" },
          ...report.violations.map((v) => el("li", {}, escapeHtml(v))),
        )
      : escapeHtml("held (one unit at a time, stack intact)"),
  ]);
  if (report.faults.length)
    facts.push(["Faults injected", el("ul", {}, ...report.faults.map((f) => el("li", {}, escapeHtml(f))))]);

  const operatorList = el(
    "ol",
    { class: "operator-list", "data-testid": "operator-list" },
    ...timeline.operator.map((op) =>
      el("li", {}, escapeHtml(`at hook ${op.at}: `), el("code", {}, escapeHtml(op.message))),
    ),
  );

  const unitRows = report.units.map((u) => {
    const lane = timeline.lanes.find((l) => l.unit === u.name);
    const hooks = lane
      ? `${lane.hooks.total} (ok ${lane.hooks.ok}, crashed ${lane.hooks.crashed}, failed ${lane.hooks.failed})`
      : "0";
    return el(
      "tr",
      { "data-testid": `unit-row-${u.name}` },
      el("td", {}, el("strong", {}, escapeHtml(u.name)), u.leader ? escapeHtml(" ★ leader") : ""),
      el(
        "td",
        {},
        el("span", { class: "swatch", style: `background:${stateColor(u.state ?? "unset")}` }),
        " ",
        escapeHtml(u.state ?? "(none)"),
      ),
      el("td", {}, escapeHtml(u.workloadVersion)),
      el("td", {}, escapeHtml(String(u.revision))),
      el("td", {}, escapeHtml(hooks)),
      el("td", {}, escapeHtml(`${u.status}${u.message ? `: ${u.message}` : ""}`)),
    );
  });
  const unitsTable = el(
    "table",
    { "data-testid": "units" },
    el(
      "thead",
      {},
      el("tr", {}, ...["unit", "state", "workload", "revision", "hooks", "status"].map((h) => el("th", {}, h))),
    ),
    el("tbody", {}, ...unitRows),
  );

  const body = [
    el("h1", {}, escapeHtml(title)),
    el(
      "p",
      { class: "sub" },
      el(
        "span",
        {
          class: `outcome ${report.outcome}`,
          style: `background:${OUTCOME_COLORS[report.outcome]}`,
          "data-testid": "outcome",
        },
        escapeHtml(report.outcome),
      ),
      " ",
      el(
        "span",
        { class: `expectation ${report.ok ? "ok" : "bad"}`, "data-testid": "expectation" },
        report.ok ? "as expected" : "not as expected",
      ),
      " ",
      escapeHtml(report.summary),
    ),
    el("section", { "data-testid": "summary" }, factsList(facts)),
    el(
      "section",
      { "data-testid": "timeline-section" },
      el("h2", {}, "Timeline"),
      el(
        "p",
        { class: "sub" },
        "One lane per unit: its upgrade state, as written to its databag, over the hooks and actions run. A unit upgrading within a single hook (granted, upgraded and answered in it) shows as upgrading for that hook. The application band above the lanes shows when the roll paused for resume-upgrade and, on Kubernetes, each move of the StatefulSet partition.",
      ),
      timelineSvg(timeline),
      legend,
      operatorList,
    ),
    el(
      "section",
      { "data-testid": "chart-section" },
      el("h2", {}, "State chart of the upgrade machine"),
      el(
        "p",
        { class: "sub" },
        "Generated from the machine's definition: every transition that changes the state, labelled ",
        el("code", {}, "event [guard]"),
        ".",
      ),
      stateChartSvg(machine),
      el(
        "details",
        {},
        el("summary", {}, "Every transition, including those that keep the state"),
        transitionTableHtml(machine.transitions),
      ),
    ),
    el("section", {}, el("h2", {}, "Units at the end"), unitsTable),
  ];

  return `<!DOCTYPE html>\n${el(
    "html",
    { lang: "en" },
    el(
      "head",
      {},
      el("meta", { charset: "utf-8" }),
      el("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }),
      el("title", {}, escapeHtml(title)),
      el("style", {}, STYLE),
    ),
    el("body", {}, ...body),
  )}\n`;
}
