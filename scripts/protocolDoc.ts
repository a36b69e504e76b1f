/** `pnpm docs:protocol`: write docs/protocol.md from docs/protocol.template.md and the machine definition. */
import { readFileSync, writeFileSync } from "node:fs";
import { renderProtocolDoc } from "./renderProtocolDoc.ts";

const template = readFileSync(new URL("../docs/protocol.template.md", import.meta.url), "utf8");
writeFileSync(new URL("../docs/protocol.md", import.meta.url), renderProtocolDoc(template));
console.log("wrote docs/protocol.md");
