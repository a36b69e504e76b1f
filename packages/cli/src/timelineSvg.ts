import type { HookOutcome, RehearsalReport, SimEvent } from "@charm-upgrade/sim";
import { clip, el, escapeHtml, stateColor, tooltip } from "./markup.js";

/** A unit's state over an interval of the timeline (in hooks run since the start). */
export interface StateSegment {
  readonly state: string;
  readonly from: number;
  readonly to: number;
  /**
   * Within one hook, never committed: the hook in which a unit was granted the upgrade, upgraded and answered
   * (its databag goes from `ready` straight to `completed`), drawn as `upgrading` for that hook.
   */
  readonly transient?: true;
}

/** One `onUpgradeGranted` call on the timeline. */
export interface TimelineGrant {
  /** Mid-hook: the unit is granted, and answers, during a hook. */
  readonly at: number;
  /** What the charm answered (`pending`: upgraded, its health check not passing yet). */
  readonly outcome: "completed" | "failed" | "pending";
  /** The workload version the charm was asked to install. */
  readonly version: string;
  /** Which `juju refresh` it answered (1: the upgrade, 2: its rollback). */
  readonly refresh: number;
  /** Granted during the rollback (to the revision the upgrade started from), not the upgrade itself. */
  readonly rollback: boolean;
}

/**
 * A pause of the roll: from the hook in which the leader set the application status that asks for
 * `resume-upgrade`, to the operator's `resume-upgrade` (or a later status that no longer asks for it).
 */
export interface TimelinePause {
  readonly from: number;
  /** When it ended (the end of the timeline when it never did). */
  readonly to: number;
  /** True when `resume-upgrade` ended it. */
  readonly resumed: boolean;
  /** The application status during the pause, as the operator read it. */
  readonly message: string;
}

/** Kubernetes: the StatefulSet's rolling-update partition set to a new value (pods at or above it may restart). */
export interface PartitionMove {
  /** Mid-hook: the charm sets the partition during a hook or action. */
  readonly at: number;
  readonly partition: number;
  /** The value before (`null`: the first move seen). */
  readonly previous: number | null;
}

/** One unit's lane of the timeline. */
export interface TimelineLane {
  readonly unit: string;
  /** When it was deployed, and removed (`null`: still there at the end). */
  readonly start: number;
  readonly end: number | null;
  readonly segments: readonly StateSegment[];
  /** `onUpgradeGranted` calls: when, what the charm answered, and whether it was part of a rollback (to the old revision). */
  readonly grants: readonly TimelineGrant[];
  /** Hooks and actions that crashed (Juju retries them) or failed. */
  readonly failures: readonly {
    readonly at: number;
    readonly hook: string;
    readonly outcome: Exclude<HookOutcome, "ok">;
    readonly error: string;
  }[];
  /** When Juju made it the leader. */
  readonly leaderAt: readonly number[];
  /** Kubernetes: when its pod restarted onto a new revision. */
  readonly restarts: readonly { readonly at: number; readonly revision: number }[];
  /** Hooks and actions it ran, by outcome. */
  readonly hooks: Readonly<Record<HookOutcome, number>> & { readonly total: number };
  /** The leader at the end. */
  readonly leader: boolean;
}

/** A rehearsal as a timeline: time is counted in hooks (and actions) run. */
export interface Timeline {
  /** Hooks run in all: the length of the time axis. */
  readonly length: number;
  readonly lanes: readonly TimelineLane[];
  /** The operator's commands (`juju refresh`, `juju run … pre-upgrade-check`, …), when they were given. */
  readonly operator: readonly { readonly at: number; readonly message: string }[];
  /** When the roll waited for the operator's `resume-upgrade`. */
  readonly pauses: readonly TimelinePause[];
  /** Kubernetes: every move of the StatefulSet partition, in order (empty on machines). */
  readonly partitions: readonly PartitionMove[];
}

interface MutableLane {
  unit: string;
  start: number;
  end: number | null;
  segments: StateSegment[];
  open: { state: string; from: number } | null;
  grants: TimelineGrant[];
  failures: { at: number; hook: string; outcome: Exclude<HookOutcome, "ok">; error: string }[];
  leaderAt: number[];
  restarts: { at: number; revision: number }[];
  hooks: Record<HookOutcome, number> & { total: number };
}

const unitNumber = (name: string) => Number(name.slice(name.lastIndexOf("/") + 1));

/**
 * Does this application status pause the roll? Whatever the wording, a paused roll's status is `waiting` and names
 * the one command that ends it, `resume-upgrade` (a hold is `waiting` too, but waits for its holder instead).
 */
const isPauseStatus = (status: string, message: string) => status === "waiting" && /\bresume-upgrade\b/.test(message);

/**
 * The timeline of a rehearsal, from the simulator's events (`onProgress`) and its report: one lane per unit that
 * ever existed, its state over time, its grants, failures, leadership and hook counts; and for the application,
 * the operator's commands, the pauses that waited for `resume-upgrade` and, on Kubernetes, the partition's moves.
 */
export function buildTimeline(report: RehearsalReport, events: readonly SimEvent[]): Timeline {
  const lanes = new Map<string, MutableLane>();
  let t = 0;
  const lane = (unit: string): MutableLane => {
    let found = lanes.get(unit);
    if (!found) {
      found = {
        unit,
        start: t,
        end: null,
        segments: [],
        open: null,
        grants: [],
        failures: [],
        leaderAt: [],
        restarts: [],
        hooks: { total: 0, ok: 0, crashed: 0, failed: 0 },
      };
      lanes.set(unit, found);
    }
    return found;
  };
  const close = (l: MutableLane, at: number) => {
    if (l.open && at > l.open.from) l.segments.push({ state: l.open.state, from: l.open.from, to: at });
    l.open = null;
  };
  const operator: { at: number; message: string }[] = [];
  const pauses: TimelinePause[] = [];
  let paused: { from: number; message: string } | null = null;
  const endPause = (at: number, resumed: boolean) => {
    if (paused) pauses.push({ from: paused.from, to: Math.max(at, paused.from), resumed, message: paused.message });
    paused = null;
  };
  const partitions: PartitionMove[] = [];

  for (const event of events) {
    switch (event.type) {
      case "hook": {
        const { record } = event;
        t = Math.max(t, record.seq);
        const l = lane(record.unit);
        l.hooks.total++;
        l.hooks[record.outcome]++;
        if (record.outcome !== "ok")
          l.failures.push({
            at: record.seq - 0.5,
            hook: record.hook,
            outcome: record.outcome,
            error: record.error ?? "",
          });
        // Only a committed hook's application status was seen by the operator.
        for (const effect of record.outcome === "ok" ? record.effects : []) {
          if (effect.type !== "setAppStatus") continue;
          if (!isPauseStatus(effect.status, effect.message)) endPause(record.seq, false);
          else if (!paused) paused = { from: record.seq, message: effect.message };
        }
        break;
      }
      case "partition":
        partitions.push({ at: t + 0.5, partition: event.partition, previous: partitions.at(-1)?.partition ?? null });
        break;
      case "state": {
        const l = lane(event.unit);
        close(l, event.seq);
        if (event.to !== null) l.open = { state: event.to, from: event.seq };
        break;
      }
      case "grant": {
        const { grant } = event;
        lane(grant.unit).grants.push({
          at: grant.seq - 0.5,
          outcome: grant.outcome,
          version: grant.version,
          refresh: grant.refresh,
          rollback: grant.revision !== report.to.revision,
        });
        break;
      }
      case "leader":
        lane(event.unit).leaderAt.push(t);
        break;
      case "unitAdded":
        lane(event.unit);
        break;
      case "unitRemoved": {
        const l = lane(event.unit);
        close(l, t);
        l.end = t;
        break;
      }
      case "restart":
        lane(event.unit).restarts.push({ at: t, revision: event.revision });
        break;
      case "operator":
        operator.push({ at: t, message: event.message });
        if (/ resume-upgrade$/.test(event.message)) endPause(t, true);
        break;
      default:
        break;
    }
  }
  const length = Math.max(1, t, report.hookRuns);
  endPause(length, false);
  for (const unit of report.units) lane(unit.name);
  for (const l of lanes.values()) {
    if (l.end === null) close(l, length);
    // The unit was upgrading during the hook that granted it, whether or not `upgrading` was ever committed.
    for (const grant of l.grants) {
      const from = grant.at - 0.5;
      const to = grant.at + 0.5;
      if (!l.segments.some((seg) => seg.state === "upgrading" && seg.from <= from && seg.to >= to)) {
        l.segments.push({ state: "upgrading", from, to, transient: true });
      }
    }
  }
  const leaders = new Set(report.units.filter((u) => u.leader).map((u) => u.name));
  return {
    length,
    operator,
    pauses,
    partitions,
    lanes: [...lanes.values()]
      .sort((a, b) => unitNumber(a.unit) - unitNumber(b.unit) || a.unit.localeCompare(b.unit))
      .map(({ open: _, ...l }) => ({ ...l, leader: leaders.has(l.unit) })),
  };
}

const LABEL_W = 210;
const PLOT_W = 960;
/** The operator's numbered commands sit above the application band. */
const OPERATOR_H = 58;
/** The application band: pauses and partition moves, which belong to no one unit. */
const APP_H = 30;
const TOP = OPERATOR_H + APP_H;
const LANE_H = 44;
const AXIS_H = 34;

/** The application band: a label, the pauses as bars, the partition's moves as ◆ with the new value. */
function applicationBand(timeline: Timeline, x: (at: number) => number): string {
  const top = OPERATOR_H;
  const mid = top + APP_H / 2;
  const parts: string[] = [
    el("rect", { x: 0, y: top, width: LABEL_W + PLOT_W, height: APP_H, class: "app-band" }),
    el("text", { x: 10, y: mid + 4, class: "app-name" }, "application"),
  ];
  for (const pause of timeline.pauses) {
    const left = x(pause.from);
    const width = Math.max(2, x(pause.to) - left);
    const how = pause.resumed ? `until resume-upgrade at hook ${pause.to}` : `still waiting at hook ${pause.to}`;
    parts.push(
      el(
        "g",
        { class: "pause", "data-testid": "pause" },
        tooltip(`paused after hook ${pause.from}, ${how}: ${pause.message}`),
        el("rect", { x: left, y: top + 5, width, height: APP_H - 10, rx: 3 }),
        width >= 54 ? el("text", { x: left + width / 2, y: mid + 4, "text-anchor": "middle" }, "paused") : "",
      ),
    );
  }
  for (const move of timeline.partitions) {
    const mx = x(move.at);
    const change = move.previous === null ? `set to ${move.partition}` : `${move.previous} → ${move.partition}`;
    parts.push(
      el(
        "g",
        { class: "partition-move", "data-testid": "partition-move" },
        tooltip(
          `StatefulSet partition ${change} during hook ${Math.ceil(move.at)}: pods with an ordinal of ${move.partition} or more may restart on the new revision`,
        ),
        el("path", { d: `M${mx},${mid - 6} L${mx + 6},${mid} L${mx},${mid + 6} L${mx - 6},${mid} z` }),
        el("text", { x: mx + 8, y: mid - 3 }, escapeHtml(String(move.partition))),
      ),
    );
  }
  return el("g", { "data-testid": "application-band" }, ...parts);
}

/**
 * The partition as a dashed step line between the lanes (sorted by unit number): above the first lane whose
 * ordinal is at least the partition, from each move to the next. Nothing on machines.
 */
function partitionLine(timeline: Timeline, x: (at: number) => number, bottom: number): string {
  if (!timeline.partitions.length) return "";
  const y = (partition: number) => {
    const index = timeline.lanes.findIndex((lane) => unitNumber(lane.unit) >= partition);
    return index < 0 ? bottom : TOP + index * LANE_H;
  };
  let d = "";
  timeline.partitions.forEach((move, i) => {
    const next = timeline.partitions[i + 1]?.at ?? timeline.length;
    d += `${i ? "L" : "M"}${Math.round(x(move.at) * 10) / 10},${y(move.partition)} L${Math.round(x(next) * 10) / 10},${y(move.partition)} `;
  });
  return el("path", { d: d.trim(), class: "partition-line", "data-testid": "partition-line" });
}

function niceStep(span: number): number {
  const raw = span / 10;
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}

/**
 * The swimlane timeline as inline SVG: one lane per unit (`data-testid="lane-<unit>"`), its state over time as
 * coloured segments, grants (▼, green when the charm completed, red when it failed, violet in a rollback), failed or
 * crashed hooks (✕), leadership (★) and, on Kubernetes, pod restarts (○); the operator's commands as numbered
 * dashed lines. Above the lanes, the application band (`data-testid="application-band"`): each pause waiting for
 * `resume-upgrade` (`data-testid="pause"`, shaded across every lane too) and, on Kubernetes, each move of the
 * StatefulSet partition (◆ `data-testid="partition-move"`), with the partition drawn as a dashed line between the
 * lanes: the units under it may restart on the new revision. The label column names the unit, marks the leader and
 * counts its hooks.
 */
export function timelineSvg(timeline: Timeline): string {
  const width = LABEL_W + PLOT_W + 24;
  const height = TOP + timeline.lanes.length * LANE_H + AXIS_H;
  const x = (at: number) => LABEL_W + (Math.min(Math.max(at, 0), timeline.length) / timeline.length) * PLOT_W;
  const bottom = TOP + timeline.lanes.length * LANE_H;
  const parts: string[] = [];

  // axis
  const step = niceStep(timeline.length);
  const ticks: string[] = [];
  for (let at = 0; at <= timeline.length; at += step) {
    ticks.push(
      el("line", { x1: x(at), y1: bottom, x2: x(at), y2: bottom + 5 }),
      el("text", { x: x(at), y: bottom + 18, "text-anchor": "middle" }, String(at)),
    );
  }
  parts.push(
    el(
      "g",
      { class: "axis", "data-testid": "time-axis" },
      el("line", { x1: LABEL_W, y1: bottom, x2: LABEL_W + PLOT_W, y2: bottom }),
      ...ticks,
      el(
        "text",
        { x: LABEL_W + PLOT_W, y: bottom + 31, "text-anchor": "end", class: "axis-title" },
        "hooks and actions run",
      ),
    ),
  );

  parts.push(applicationBand(timeline, x));

  timeline.lanes.forEach((l, i) => {
    const top = TOP + i * LANE_H;
    const segTop = top + 16;
    const segH = 18;
    const counts = `${l.hooks.total} hooks${l.hooks.failed ? `, ${l.hooks.failed} failed` : ""}${l.hooks.crashed ? `, ${l.hooks.crashed} crashed` : ""}`;
    const lanes: string[] = [
      el("rect", { x: 0, y: top, width: LABEL_W + PLOT_W, height: LANE_H, class: i % 2 ? "lane-bg odd" : "lane-bg" }),
      el(
        "text",
        { x: 10, y: top + 19, class: "lane-name" },
        escapeHtml(clip(l.unit, 18)),
        l.leader ? el("tspan", { class: "leader-badge", dx: 6 }, "★ leader") : "",
      ),
      el("text", { x: 10, y: top + 35, class: "lane-hooks", "data-testid": `hooks-${l.unit}` }, escapeHtml(counts)),
    ];
    const alive = el("rect", {
      x: x(l.start),
      y: segTop,
      width: Math.max(0, x(l.end ?? timeline.length) - x(l.start)),
      height: segH,
      class: "lane-alive",
    });
    lanes.push(alive);
    // committed states first, then the transient ones over them (at least 2 units wide, to stay visible)
    for (const seg of [...l.segments].sort((a, b) => Number(a.transient ?? false) - Number(b.transient ?? false))) {
      const width = x(seg.to) - x(seg.from);
      const min = seg.transient ? 2 : 0.5;
      lanes.push(
        el(
          "rect",
          {
            x: width < min ? x(seg.from) - (min - width) / 2 : x(seg.from),
            y: segTop,
            width: Math.max(min, width),
            height: segH,
            fill: stateColor(seg.state),
            class: seg.transient ? "segment transient" : "segment",
            "data-state": seg.state,
          },
          tooltip(
            seg.transient
              ? `${l.unit}: upgrading during hook ${seg.to} (granted, upgraded and answered within it)`
              : `${l.unit}: ${seg.state} from hook ${seg.from} to ${Math.round(seg.to)}`,
          ),
        ),
      );
    }
    if (l.end !== null) {
      lanes.push(el("text", { x: x(l.end) + 4, y: segTop + 13, class: "removed" }, "removed"));
    }
    for (const r of l.restarts) {
      lanes.push(
        el(
          "circle",
          { cx: x(r.at), cy: segTop + segH / 2, r: 4, class: "restart", "data-testid": `restart-${l.unit}` },
          tooltip(`${l.unit}: pod restarted on revision ${r.revision} at hook ${r.at}`),
        ),
      );
    }
    for (const g of l.grants) {
      const gx = x(g.at);
      lanes.push(
        el(
          "path",
          {
            d: `M${gx - 6},${top + 3} L${gx + 6},${top + 3} L${gx},${segTop} z`,
            class: g.outcome === "failed" ? "grant failed" : g.rollback ? "grant rollback" : "grant",
            "data-testid": `grant-${l.unit}`,
          },
          tooltip(
            `${l.unit} granted the ${g.rollback ? "rollback" : "upgrade"} to ${g.version} at hook ${Math.ceil(g.at)}: ${g.outcome}`,
          ),
        ),
      );
    }
    for (const f of l.failures) {
      const fx = x(f.at);
      const cy = segTop + segH / 2;
      lanes.push(
        el(
          "path",
          {
            d: `M${fx - 5},${cy - 5} L${fx + 5},${cy + 5} M${fx - 5},${cy + 5} L${fx + 5},${cy - 5}`,
            class: "failure",
            "data-testid": `failure-${l.unit}`,
          },
          tooltip(`${l.unit}: ${f.hook} ${f.outcome} at hook ${Math.ceil(f.at)}${f.error ? `: ${f.error}` : ""}`),
        ),
      );
    }
    for (const at of l.leaderAt) {
      lanes.push(
        el(
          "text",
          { x: x(at), y: top + 13, "text-anchor": "middle", class: "leader", "data-testid": `leader-${l.unit}` },
          "★",
          tooltip(`${l.unit} became the leader at hook ${at}`),
        ),
      );
    }
    parts.push(el("g", { "data-testid": `lane-${l.unit}`, class: "lane" }, ...lanes));
  });

  // pauses shaded across the lanes, and the partition line between them, over the lanes
  for (const pause of timeline.pauses) {
    parts.push(
      el("rect", {
        x: x(pause.from),
        y: TOP,
        width: Math.max(1, x(pause.to) - x(pause.from)),
        height: bottom - TOP,
        class: "pause-shade",
      }),
    );
  }
  parts.push(partitionLine(timeline, x, bottom));

  // the operator's commands, over the lanes
  let lastX = Number.NEGATIVE_INFINITY;
  let row = 0;
  timeline.operator.forEach((op, i) => {
    const ox = x(op.at);
    row = ox - lastX < 20 ? (row + 1) % 3 : 0;
    lastX = ox;
    const cy = 12 + row * 15;
    parts.push(
      el(
        "g",
        { class: "operator", "data-testid": "operator-command" },
        tooltip(`${i + 1}. at hook ${op.at}: ${op.message}`),
        el("line", { x1: ox, y1: cy + 7, x2: ox, y2: bottom, class: "operator-line" }),
        el("circle", { cx: ox, cy, r: 7.5 }),
        el("text", { x: ox, y: cy + 3.5, "text-anchor": "middle" }, String(i + 1)),
      ),
    );
  });

  return el(
    "svg",
    {
      class: "timeline",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": "Timeline of the rehearsed upgrade, one lane per unit",
      "data-testid": "timeline",
    },
    ...parts,
  );
}
