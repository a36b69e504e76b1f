#!/usr/bin/env node
/**
 * The `charm-upgrade` command in the workspace, straight from the TypeScript sources: `pnpm install` links it into
 * the root's `node_modules/.bin` (the root depends on this package), so `pnpm charm-upgrade simulate` works without
 * `pnpm build`. tsx compiles on the fly with the root tsconfig, whose `paths` point `@charm-upgrade/*` at each
 * package's `src/` (their `dist/` may not exist yet). The published package runs `dist/main.js` instead
 * (`publishConfig.bin`), so this file is never shipped.
 */
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../../../tsconfig.json", import.meta.url)) });
await import("../src/main.ts");
