/**
 * `@charm-upgrade/juju/testing` — the hook-tool conformance suite: recordings of what Juju 3's hook tools print for
 * every call this library makes (packages/juju/fixtures/hook-tools, each with the Juju source it comes from), and
 * the checks every implementation must pass against them — the in-memory tools byte for byte, the production
 * `HookTools` by what it reads. Fakes agree with the adapter only because both agree with Juju.
 *
 * @example
 * ```ts
 * for (const fixture of loadHookToolFixtures()) {
 *   expect(await driverMismatches(fixture, inMemoryDriver)).toEqual([]);
 *   expect(await typedCallMismatches(fixture)).toEqual([]);
 * }
 * ```
 *
 * @packageDocumentation
 */
export type { FixtureCall, HookToolDriver, HookToolFixture, HookToolsMethod } from "./hookToolConformance.js";
export {
  createReplayRunner,
  driverMismatches,
  HOOK_TOOL_FIXTURES_DIR,
  inMemoryDriver,
  loadHookToolFixtures,
  outputMismatches,
  runFixture,
  typedCallMismatches,
  uncoveredCalls,
} from "./hookToolConformance.js";
