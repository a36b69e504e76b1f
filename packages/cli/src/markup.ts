/** Escape text for HTML (and inline SVG) content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Attribute values: strings are escaped, numbers rounded to 0.1, `undefined`/`false` left out, `true` bare. */
export type Attrs = Readonly<Record<string, string | number | boolean | undefined>>;

function attributes(attrs: Attrs): string {
  let out = "";
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (value === true) out += ` ${name}`;
    else out += ` ${name}="${typeof value === "number" ? String(Math.round(value * 10) / 10) : escapeHtml(value)}"`;
  }
  return out;
}

/**
 * An element as markup: `children` are markup already (build them with `el` or {@link escapeHtml}); an element
 * without children is self-closed when it is an SVG shape, else closed empty.
 */
export function el(tag: string, attrs: Attrs = {}, ...children: readonly string[]): string {
  const inner = children.join("");
  if (!inner && SELF_CLOSING.has(tag)) return `<${tag}${attributes(attrs)}/>`;
  return `<${tag}${attributes(attrs)}>${inner}</${tag}>`;
}

const SELF_CLOSING = new Set(["rect", "circle", "line", "path", "polygon", "polyline", "ellipse", "meta", "stop"]);

/** A `<title>` child (a tooltip in the browser), escaped. */
export const tooltip = (content: string) => el("title", {}, escapeHtml(content));

/** Shorten to `max` characters with an ellipsis. */
export function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - 1))}…` : value;
}

/** Fill colours of the unit states, shared by the state chart, the timeline and the legend. */
export const STATE_COLORS: Readonly<Record<string, string>> = {
  unset: "#e5e7eb",
  idle: "#cbd5e1",
  ready: "#fcd34d",
  upgrading: "#60a5fa",
  completed: "#4ade80",
  failed: "#f87171",
  recovery: "#c084fc",
};

/** The colour of a state (a grey for a state this palette does not know yet). */
export const stateColor = (state: string): string => STATE_COLORS[state] ?? "#d1d5db";
