/**
 * Control characters (C0, DEL, C1: escape, bell, backspace, newlines, tabs…), the line and paragraph separators, the
 * zero-width and bidirectional formatting characters: none of them belongs in a one-line status or log line, and
 * each can rewrite what a terminal shows (`juju status`, `juju debug-log`).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+/g;

/**
 * Text that another unit (or a charm) wrote, made safe to show on one line: each run of unsafe characters (see
 * above) becomes one space, runs of spaces one, the ends trimmed, then clipped to `max` characters with `…`. The
 * one place where untrusted text is sanitised: peer data as it is read (`readPeerView`), and this unit's own hold
 * before it is written for the others (`readSettings`).
 *
 * @example
 * ```ts
 * sanitizeText("backup\u001b[2J\u0007\nrunning", 60); // "backup [2J running"
 * ```
 */
export function sanitizeText(text: string, max: number): string {
  const clean = text.replace(UNSAFE, " ").replace(/ {2,}/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
