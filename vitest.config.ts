import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const packages = ["core", "juju", "k8s", "sim", "cli"];

export default defineConfig({
  resolve: {
    // Tests run against each package's source, not its build: no `pnpm build` is needed before `pnpm test`.
    alias: [
      { find: "@charm-upgrade/core/testing", replacement: here("./packages/core/src/testing/index.ts") },
      { find: "@charm-upgrade/k8s/testing", replacement: here("./packages/k8s/src/testing/index.ts") },
      ...packages.map((name) => ({
        find: new RegExp(`^@charm-upgrade/${name}$`),
        replacement: here(`./packages/${name}/src/index.ts`),
      })),
    ],
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "examples/*/src/**/*.test.ts", "docs/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
