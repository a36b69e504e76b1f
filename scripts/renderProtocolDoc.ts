import { effectsMarkdown, mermaidDiagram, transitionMarkdown } from "@charm-upgrade/core";

/** Fill the generated sections of the protocol reference from the machine definition. */
export function renderProtocolDoc(template: string): string {
  return template
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
