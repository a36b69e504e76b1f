import { machineStates, transitionTable } from "@charm-upgrade/core";
import type { RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { rehearseUpgrade } from "@charm-upgrade/sim";
import { beforeAll, describe, expect, it } from "vitest";
import { htmlReport } from "./htmlReport.js";
import { escapeHtml } from "./markup.js";
import { stateChartSvg } from "./stateChartSvg.js";
import { buildTimeline } from "./timelineSvg.js";

async function rehearse(options: Parameters<typeof rehearseUpgrade>[0]): Promise<{ report: RehearsalReport; events: SimEvent[] }> {
  const events: SimEvent[] = [];
  const report = await rehearseUpgrade({ ...options, onProgress: (event) => void events.push(event) });
  return { report, events };
}

const count = (html: string, needle: string) => html.split(needle).length - 1;

describe("htmlReport", () => {
  let vm: { report: RehearsalReport; events: SimEvent[] };
  let html: string;
  beforeAll(async () => {
    vm = await rehearse({ units: 4, substrate: "vm", seed: 1 });
    html = htmlReport(vm.report, vm.events);
  });

  it("is one HTML document with a lane per unit, a row per unit and the outcome", () => {
    expect(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\">")).toBe(true);
    expect(html.trimEnd().endsWith("</html>")).toBe(true);
    for (const unit of ["db/0", "db/1", "db/2", "db/3"]) {
      expect(count(html, `data-testid="lane-${unit}"`)).toBe(1);
      expect(count(html, `data-testid="unit-row-${unit}"`)).toBe(1);
      // every unit was granted once, and upgraded
      expect(count(html, `data-testid="grant-${unit}"`)).toBe(1);
    }
    expect(count(html, 'data-testid="lane-')).toBe(4);
    expect(html).toMatch(/data-testid="outcome">upgraded</);
    expect(html).toContain("db/3 → db/2 → db/1 → db/0");
    expect(html).toContain('data-testid="hooks-db/0">22 hooks<');
    // the leader is marked, once, in its lane
    expect(html).toMatch(/data-testid="lane-db\/0"[^]*?★ leader/);
    expect(count(html, "★ leader</tspan>")).toBe(1);
  });

  it("draws the state chart from the machine definition: every state, every state-changing transition", () => {
    const states = machineStates();
    expect(states.length).toBeGreaterThanOrEqual(7);
    for (const state of states) {
      expect(count(html, `data-testid="state-${state}"`)).toBe(1);
      expect(count(html, `data-testid="legend-${state}"`)).toBe(1);
    }
    expect(count(html, 'data-testid="state-')).toBe(states.length);
    for (const row of transitionTable()) {
      if (!row.to) continue;
      expect(html).toContain(`data-testid="transition-${row.from === "*" ? "any" : row.from}-${row.to}"`);
    }
    // and every transition, state-changing or not, in the table
    const table = html.slice(html.indexOf('data-testid="transition-table"'));
    expect(count(table.slice(0, table.indexOf("</table>")), "<tr>")).toBe(transitionTable().length + 1);
  });

  it("charts whatever machine it is given (nothing is hard-coded), escaping its names", () => {
    const svg = stateChartSvg({
      states: ["a", "b<c"],
      transitions: [
        { from: "a", event: "go", guard: "", to: "b<c", actions: [] },
        { from: "b<c", event: "always", guard: "done", to: "a", actions: [] },
        { from: "*", event: "reset", guard: "not(x&y)", to: "a", actions: [] },
        { from: "a", event: "stay", guard: "", to: "", actions: ["log"] },
      ],
      initial: "a",
    });
    expect(svg).toContain('data-testid="state-a"');
    expect(svg).toContain('data-testid="state-b&#60;c"');
    expect(svg).toContain('data-testid="transition-a-b&#60;c"');
    expect(svg).toContain('data-testid="transition-b&#60;c-a"');
    expect(svg).toContain('data-testid="transition-any-a"');
    expect(svg).toContain("[not(x&#38;y)]");
    expect(svg).not.toContain("stay");
    expect(svg).not.toContain("b<c");
  });

  it("is self-contained: no URL, no script, no external stylesheet, image or font", () => {
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|\ssrc=|\shref=/i);
    // the only url(...) references are to the SVG's own arrow marker
    expect(html.match(/url\([^)]*\)/g)?.every((ref) => ref === "url(#chart-arrow)")).toBe(true);
  });

  it("is deterministic: the same rehearsal gives the same page", async () => {
    const again = await rehearse({ units: 4, substrate: "vm", seed: 1 });
    expect(htmlReport(again.report, again.events)).toBe(html);
  });

  it("escapes every text: report fields, unit names, operator commands, faults", () => {
    const evil = '<script>alert("x")</script>';
    const report: RehearsalReport = {
      ...vm.report,
      summary: `${evil} & more`,
      failure: { unit: "db/0", message: "<img src=x onerror=alert(1)>" },
      faults: ["<b>fault</b>"],
      violations: ["<i>violated</i>"],
      units: [...vm.report.units, { ...vm.report.units[0]!, name: "db/9<x>", leader: false, message: evil }],
    };
    const events: SimEvent[] = [...vm.events, { type: "unitAdded", unit: "db/9<x>", revision: 1, workloadVersion: "<v>" }, { type: "operator", message: `juju run ${evil}` }];
    const page = htmlReport(report, events);
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img");
    expect(page).not.toContain("<b>fault");
    expect(page).not.toContain("<i>violated");
    expect(page).not.toContain("db/9<x>");
    expect(page).toContain(escapeHtml(`${evil} & more`));
    expect(page).toContain(`data-testid="lane-${escapeHtml("db/9<x>")}"`);
    expect(page).toContain(escapeHtml(`juju run ${evil}`));
    expect(page).toContain('data-testid="violations"');
  });
});

describe("buildTimeline", () => {
  it("a unit's lane: its committed states in order, its grant, the hook it was upgrading in, its hooks", async () => {
    const { report, events } = await rehearse({ units: 3, substrate: "vm", seed: 1 });
    const timeline = buildTimeline(report, events);
    expect(timeline.length).toBe(report.hookRuns);
    expect(timeline.lanes.map((lane) => lane.unit)).toEqual(["db/0", "db/1", "db/2"]);
    const db1 = timeline.lanes[1]!;
    expect(db1.segments.filter((seg) => !seg.transient).map((seg) => seg.state)).toEqual(["idle", "ready", "completed", "idle"]);
    expect(db1.grants).toHaveLength(1);
    const grant = db1.grants[0]!;
    expect(db1.segments.filter((seg) => seg.transient)).toEqual([{ state: "upgrading", from: grant.at - 0.5, to: grant.at + 0.5, transient: true }]);
    // segments are contiguous and end with the timeline
    const committed = db1.segments.filter((seg) => !seg.transient);
    committed.slice(1).forEach((seg, i) => {
      expect(seg.from).toBe(committed[i]!.to);
    });
    expect(committed.at(-1)?.to).toBe(timeline.length);
    expect(db1.hooks.total).toBe(report.hooks.filter((hook) => hook.unit === "db/1").length);
    expect(timeline.lanes.filter((lane) => lane.leader).map((lane) => lane.unit)).toEqual(["db/0"]);
    expect(timeline.operator.map((op) => op.message)).toEqual(["juju run db/0 pre-upgrade-check", "juju refresh db --revision 2", "juju run db/0 resume-upgrade"]);
  });

  it("a failed upgrade: the failed grant, and the failed state, in the unit's lane", async () => {
    const { report, events } = await rehearse({ units: 3, substrate: "vm", seed: 1, failUnit: 1 });
    const db1 = buildTimeline(report, events).lanes[1]!;
    expect(db1.grants.map((grant) => grant.outcome)).toEqual(["failed"]);
    expect(db1.segments.at(-1)?.state === "failed" || db1.segments.some((seg) => seg.state === "failed")).toBe(true);
    expect(htmlReport(report, events)).toContain('class="grant failed" data-testid="grant-db/1"');
  });
});
