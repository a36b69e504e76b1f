import { machineStates, transitionTable } from "@charm-upgrade/core";
import type { RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { rehearseUpgrade } from "@charm-upgrade/sim";
import { beforeAll, describe, expect, it } from "vitest";
import { htmlReport } from "./htmlReport.js";
import { escapeHtml } from "./markup.js";
import { stateChartSvg } from "./stateChartSvg.js";
import { buildTimeline } from "./timelineSvg.js";

async function rehearse(
  options: Parameters<typeof rehearseUpgrade>[0],
): Promise<{ report: RehearsalReport; events: SimEvent[] }> {
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
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
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
    // each lane counts its unit's hooks (the count is the simulator's: not pinned here, as its scheduler evolves)
    for (const unit of ["db/0", "db/1", "db/2", "db/3"]) {
      const hooks = vm.report.hooks.filter((hook) => hook.unit === unit).length;
      expect(hooks).toBeGreaterThan(0);
      expect(html).toContain(`data-testid="hooks-${unit}">${hooks} hooks<`);
    }
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
    const events: SimEvent[] = [
      ...vm.events,
      { type: "unitAdded", unit: "db/9<x>", revision: 1, workloadVersion: "<v>" },
      { type: "operator", message: `juju run ${evil}` },
    ];
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

/** The hue (0-360) of a `#rrggbb` colour. */
function hue(hex: string): number {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b);
  const delta = max - Math.min(r, g, b);
  if (delta === 0) return 0;
  const h = max === r ? ((g - b) / delta) % 6 : max === g ? (b - r) / delta + 2 : (r - g) / delta + 4;
  return (h * 60 + 360) % 360;
}

/** The background colour of the outcome badge, as rendered in the page, and its text. */
function outcomeBadge(page: string): { color: string; text: string } {
  const match = /<span class="outcome [^"]*" style="background:(#[0-9a-f]{6})" data-testid="outcome">([^<]*)</.exec(
    page,
  );
  if (!match) throw new Error("no outcome badge with a background colour in the page");
  return { color: match[1] ?? "", text: match[2] ?? "" };
}

const isGreen = (hex: string) => hue(hex) >= 90 && hue(hex) <= 165;

describe("htmlReport: the outcome's colour", () => {
  it("only upgraded is green: halted and rolled back get colours of their own, with whether it was expected beside", async () => {
    const upgraded = await rehearse({ units: 3, substrate: "vm", seed: 1 });
    const halted = await rehearse({ units: 3, substrate: "vm", seed: 1, failUnit: 1 });
    const rolledBack = await rehearse({ units: 3, substrate: "vm", seed: 1, failUnit: 1, rollback: true });
    const pages = [upgraded, halted, rolledBack].map(({ report, events }) => htmlReport(report, events));
    const [up, halt, back] = pages.map(outcomeBadge);
    expect([up?.text, halt?.text, back?.text]).toEqual(["upgraded", "halted", "rolled-back"]);
    expect(isGreen(up?.color ?? "")).toBe(true);
    expect(isGreen(halt?.color ?? "")).toBe(false);
    expect(isGreen(back?.color ?? "")).toBe(false);
    expect(new Set([up?.color, halt?.color, back?.color]).size).toBe(3);
    // each of these ended as its rehearsal asked: said in words, beside the outcome
    for (const page of pages) expect(page).toContain('data-testid="expectation">as expected<');
    const wrong = htmlReport({ ...halted.report, ok: false }, halted.events);
    expect(wrong).toContain('class="expectation bad" data-testid="expectation">not as expected<');
    expect(outcomeBadge(wrong).color).toBe(halt?.color);
  });

  it("a rollback's grants are not drawn in the upgrade's green", async () => {
    const { report, events } = await rehearse({ units: 3, substrate: "vm", seed: 1, failUnit: 1, rollback: true });
    const timeline = buildTimeline(report, events);
    const grants = timeline.lanes.flatMap((lane) => lane.grants.map((grant) => ({ unit: lane.unit, ...grant })));
    expect(
      grants
        .filter((grant) => grant.rollback)
        .map((grant) => grant.unit)
        .sort(),
    ).toEqual([...report.rollbackOrder].sort());
    expect(grants.filter((grant) => !grant.rollback).every((grant) => grant.version === report.to.version)).toBe(true);
    const page = htmlReport(report, events);
    expect(count(page, 'class="grant rollback"')).toBe(
      grants.filter((grant) => grant.rollback && grant.outcome !== "failed").length,
    );
    expect(page).toMatch(/\.grant\.rollback \{ fill: #6d28d9; \}/);
  });
});

describe("htmlReport: pauses and partition moves on the timeline", () => {
  it("machines: the pause after the first unit, from the leader's paused status to resume-upgrade, in the application band", async () => {
    const { report, events } = await rehearse({ units: 4, substrate: "vm", seed: 1 });
    const timeline = buildTimeline(report, events);
    expect(timeline.pauses).toHaveLength(1);
    const pause = timeline.pauses[0]!;
    expect(pause.resumed).toBe(true);
    expect(pause.message).toMatch(/resume-upgrade/);
    // it starts after the first unit's grant and ends at the operator's resume-upgrade
    const first = timeline.lanes.find((lane) => lane.unit === report.order[0])!.grants[0]!;
    expect(pause.from).toBeGreaterThan(first.at);
    const resume = timeline.operator.find((op) => op.message.endsWith(" resume-upgrade"))!;
    expect(pause.to).toBe(resume.at);
    // the next unit is granted only after it
    const second = timeline.lanes.find((lane) => lane.unit === report.order[1])!.grants[0]!;
    expect(second.at).toBeGreaterThan(pause.to);
    expect(timeline.partitions).toEqual([]);

    const page = htmlReport(report, events);
    expect(count(page, 'data-testid="pause"')).toBe(1);
    expect(count(page, 'class="pause-shade"')).toBe(1);
    expect(page).toContain(`paused after hook ${pause.from}, until resume-upgrade at hook ${pause.to}`);
    expect(page).toContain('data-testid="legend-pause"');
    expect(page).not.toContain('data-testid="partition-move"');
    expect(page).not.toContain('data-testid="legend-partition"');
  });

  it("Kubernetes: every move of the StatefulSet partition as ◆ with its value, and the partition line between the lanes", async () => {
    const { report, events } = await rehearse({ units: 4, substrate: "k8s", seed: 1 });
    const timeline = buildTimeline(report, events);
    const moves = events.flatMap((event) => (event.type === "partition" ? [event.partition] : []));
    expect(moves).toEqual([3, 2, 1, 0]);
    expect(timeline.partitions.map((move) => [move.previous, move.partition])).toEqual([
      [null, 3],
      [3, 2],
      [2, 1],
      [1, 0],
    ]);
    // each move lets the next pod restart: it comes before that unit's restart
    for (const move of timeline.partitions.slice(1)) {
      const restart = timeline.lanes.find((lane) => lane.unit === `db/${move.partition}`)!.restarts[0]!;
      expect(move.at).toBeLessThanOrEqual(restart.at + 0.5);
    }
    expect(timeline.pauses).toHaveLength(1);

    const page = htmlReport(report, events);
    expect(count(page, 'data-testid="partition-move"')).toBe(4);
    expect(page).toContain("StatefulSet partition 3 → 2 during hook");
    expect(count(page, 'data-testid="partition-line"')).toBe(1);
    expect(count(page, 'data-testid="pause"')).toBe(1);
    expect(page).toContain('data-testid="legend-partition"');
  });

  it("one unit: nothing to pause for, so no pause is drawn", async () => {
    const { report, events } = await rehearse({ units: 1, substrate: "vm", seed: 1 });
    expect(buildTimeline(report, events).pauses).toEqual([]);
    expect(htmlReport(report, events)).not.toContain('data-testid="pause"');
  });
});

describe("buildTimeline", () => {
  it("a unit's lane: its committed states in order, its grant, the hook it was upgrading in, its hooks", async () => {
    const { report, events } = await rehearse({ units: 3, substrate: "vm", seed: 1 });
    const timeline = buildTimeline(report, events);
    expect(timeline.length).toBe(report.hookRuns);
    expect(timeline.lanes.map((lane) => lane.unit)).toEqual(["db/0", "db/1", "db/2"]);
    const db1 = timeline.lanes[1]!;
    expect(db1.segments.filter((seg) => !seg.transient).map((seg) => seg.state)).toEqual([
      "idle",
      "ready",
      "completed",
      "idle",
    ]);
    expect(db1.grants).toHaveLength(1);
    const grant = db1.grants[0]!;
    expect(db1.segments.filter((seg) => seg.transient)).toEqual([
      { state: "upgrading", from: grant.at - 0.5, to: grant.at + 0.5, transient: true },
    ]);
    // segments are contiguous and end with the timeline
    const committed = db1.segments.filter((seg) => !seg.transient);
    committed.slice(1).forEach((seg, i) => {
      expect(seg.from).toBe(committed[i]!.to);
    });
    expect(committed.at(-1)?.to).toBe(timeline.length);
    expect(db1.hooks.total).toBe(report.hooks.filter((hook) => hook.unit === "db/1").length);
    expect(timeline.lanes.filter((lane) => lane.leader).map((lane) => lane.unit)).toEqual(["db/0"]);
    expect(timeline.operator.map((op) => op.message)).toEqual([
      "juju run db/0 pre-upgrade-check",
      "juju refresh db --revision 2",
      "juju run db/0 resume-upgrade",
    ]);
  });

  it("a failed upgrade: the failed grant, and the failed state, in the unit's lane", async () => {
    const { report, events } = await rehearse({ units: 3, substrate: "vm", seed: 1, failUnit: 1 });
    const db1 = buildTimeline(report, events).lanes[1]!;
    expect(db1.grants.map((grant) => grant.outcome)).toEqual(["failed"]);
    expect(db1.segments.at(-1)?.state === "failed" || db1.segments.some((seg) => seg.state === "failed")).toBe(true);
    expect(htmlReport(report, events)).toContain('class="grant failed" data-testid="grant-db/1"');
  });
});
