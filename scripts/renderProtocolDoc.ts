import { readFileSync } from "node:fs";
import { effectsMarkdown, mermaidDiagram, transitionMarkdown } from "@charm-upgrade/core";

/**
 * The wire keys only charm-upgrade writes, as a Markdown table, from the TSDoc of `KEYS` in the core's peerView.ts
 * (the one place each key is described): the Python library's keys are described in the template, with their
 * encodings, because a charm moving from it must read them the same way.
 */
function charmUpgradeKeysMarkdown(source: string): string {
  const rows: string[] = [];
  const entry = /\/\*\*([\s\S]*?)\*\/\s*\n\s*(\w+): "([^"]+)",/g;
  for (const match of source.matchAll(entry)) {
    const doc = (match[1] ?? "")
      .split("\n")
      .map((line) => line.replace(/^\s*\*\s?/, "").trim())
      .join(" ")
      .replace(/\s+/g, " ")
      .trim();
    const only = /^(App|Unit) databag \(charm-upgrade only(?:, ([^)]*))?\):\s*/.exec(doc);
    if (!only) continue;
    const databag = only[1] === "App" ? "app" : "unit";
    const where = only[2] ? ` (${only[2]} only)` : "";
    const meaning = doc
      .slice(only[0].length)
      .replace(/\{@link (\w+)\}/g, "`$1`")
      .replace(/\|/g, "\\|");
    rows.push(`| ${databag} | \`${match[3]}\` | ${meaning}${where} |`);
  }
  return ["| databag | key | what it holds, and why |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Fill the generated sections of the protocol reference from the machine definition and the wire keys. */
export function renderProtocolDoc(template: string): string {
  const peerView = readFileSync(new URL("../packages/core/src/peerView.ts", import.meta.url), "utf8");
  return template
    .replace(
      "<!-- generated:keys -->",
      `<!-- generated from KEYS in packages/core/src/peerView.ts: do not edit -->\n${charmUpgradeKeysMarkdown(peerView)}`,
    )
    .replace(
      "<!-- generated:transitions -->",
      `<!-- generated from upgradeMachine: do not edit -->\n${transitionMarkdown()}`,
    )
    .replace("<!-- generated:effects -->", `<!-- generated from EFFECT_MEANINGS: do not edit -->\n${effectsMarkdown()}`)
    .replace(
      "<!-- generated:diagram -->",
      `<!-- generated from upgradeMachine: do not edit -->\n\`\`\`mermaid\n${mermaidDiagram()}\n\`\`\``,
    );
}
