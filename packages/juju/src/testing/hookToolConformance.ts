import { readdirSync, readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import * as v from "valibot";
import { HookToolError } from "../hookToolError.js";
import { HookTools } from "../hookTools.js";
import type { InMemoryModelInit, InMemoryToolResult } from "../inMemoryHookTools.js";
import { createInMemoryModel, InMemoryHookTools } from "../inMemoryHookTools.js";
import type { HookToolRunner } from "../toolCall.js";
import { toolCalls } from "../toolCall.js";

/** The typed methods of {@link HookTools} a fixture can exercise (everything but the port and the generic `call`). */
export type HookToolsMethod = Exclude<keyof HookTools, "runner" | "call">;

/** How the production {@link HookTools} must read a fixture's output: the method, its arguments, what it returns. */
export interface FixtureCall {
  /** The method that sends exactly the fixture's command line (and stdin). */
  readonly method: HookToolsMethod;
  /** Its arguments (JSON). */
  readonly args: readonly unknown[];
  /** What it must return (absent for the setters, which return nothing). */
  readonly returns?: unknown;
  /** `true` when it must throw a {@link HookToolError} carrying the fixture's stderr and exit code. */
  readonly throws?: boolean | undefined;
}

/**
 * One recorded hook-tool invocation: the model it assumes, the exact command line, and what Juju 3's `jujuc` prints
 * for it (stdout, stderr, exit code), with the Juju source each fact comes from. The in-memory tools must print the
 * same bytes; the production {@link HookTools} must read them as {@link call} says.
 */
export interface HookToolFixture {
  /** What the case is, in words. */
  readonly name: string;
  /** The unit's world, as {@link createInMemoryModel} takes it. */
  readonly model: InMemoryModelInit;
  /** Tool calls run first in the same hook (their writes are pending when the recorded call runs); each must succeed. */
  readonly setup?: readonly { readonly argv: readonly string[]; readonly stdin?: string | undefined }[] | undefined;
  /** The tool and its arguments, exactly as {@link HookTools} sends them. */
  readonly argv: readonly string[];
  /** What is written on the tool's stdin, if anything. */
  readonly stdin?: string | undefined;
  /** What the tool prints on stdout, byte for byte. */
  readonly stdout: string;
  /** What it prints on stderr, byte for byte. */
  readonly stderr: string;
  /** Its exit code. */
  readonly exitCode: number;
  /** The Juju source files (and functions or tests) the output is taken from. */
  readonly source: string;
  /** What the sources leave open, and which reading the fixture takes. */
  readonly note?: string | undefined;
  /** How {@link HookTools} reads it; absent for cases only the in-memory tools are checked on. */
  readonly call?: FixtureCall | undefined;
  /** The file the fixture was loaded from. */
  readonly file?: string | undefined;
}

const StatusSchema = v.object({ status: v.string(), message: v.string() });
const FixtureSchema = v.strictObject({
  name: v.string(),
  model: v.looseObject({
    unit: v.string(),
    status: v.optional(StatusSchema),
    appStatus: v.optional(StatusSchema),
    unitStatuses: v.optional(v.record(v.string(), StatusSchema)),
    metUnits: v.optional(v.array(v.string())),
  }),
  setup: v.optional(
    v.array(v.strictObject({ argv: v.pipe(v.array(v.string()), v.minLength(1)), stdin: v.optional(v.string()) })),
  ),
  argv: v.pipe(v.array(v.string()), v.minLength(1)),
  stdin: v.optional(v.string()),
  stdout: v.string(),
  stderr: v.string(),
  exitCode: v.pipe(v.number(), v.integer()),
  source: v.pipe(v.string(), v.minLength(1)),
  note: v.optional(v.string()),
  call: v.optional(
    v.strictObject({
      method: v.picklist(Object.keys(toolCalls) as HookToolsMethod[]),
      args: v.array(v.unknown()),
      returns: v.optional(v.unknown()),
      throws: v.optional(v.boolean()),
    }),
  ),
});

/** Where the recorded fixtures live: `fixtures/hook-tools` of this package (from `src/testing` and `dist/testing`). */
export const HOOK_TOOL_FIXTURES_DIR: URL = new URL("../../fixtures/hook-tools/", import.meta.url);

/**
 * Load every `*.json` fixture file of `dir` (default {@link HOOK_TOOL_FIXTURES_DIR}), validated: a malformed
 * fixture throws here rather than passing vacuously.
 */
export function loadHookToolFixtures(dir: URL = HOOK_TOOL_FIXTURES_DIR): HookToolFixture[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort();
  return files.flatMap((file) => {
    const parsed = v.safeParse(v.array(FixtureSchema), JSON.parse(readFileSync(new URL(file, dir), "utf8")));
    if (!parsed.success) {
      throw new Error(`fixture file ${file} is malformed: ${parsed.issues.map((issue) => issue.message).join("; ")}`);
    }
    return parsed.output.map((fixture) => ({ ...(fixture as HookToolFixture), file }));
  });
}

/**
 * One implementation of the hook tools under test, opened on a fixture's model: it runs one command line as the
 * tool's process would and reports what it printed and its exit code. The in-memory tools are one driver; a
 * simulator's synchronous tools or real executables in a child process are others.
 */
export type HookToolDriver = (model: InMemoryModelInit) => {
  invoke(tool: string, args: readonly string[], stdin?: string): InMemoryToolResult | Promise<InMemoryToolResult>;
};

/** The driver over {@link InMemoryHookTools}: a fresh model and hook per fixture. */
export const inMemoryDriver: HookToolDriver = (model) => {
  const juju = new InMemoryHookTools(createInMemoryModel(model));
  return { invoke: (tool, args, stdin) => juju.invoke(tool, args, stdin) };
};

/** Run a fixture's setup calls and then its recorded call through `driver`; what the recorded call printed. */
export async function runFixture(fixture: HookToolFixture, driver: HookToolDriver): Promise<InMemoryToolResult> {
  const hook = driver(fixture.model);
  for (const step of fixture.setup ?? []) {
    const [tool = "", ...args] = step.argv;
    const result = await hook.invoke(tool, args, step.stdin);
    if (result.exitCode !== 0) {
      throw new Error(`setup call ${step.argv.join(" ")} of fixture "${fixture.name}" failed: ${result.stderr.trim()}`);
    }
  }
  const [tool = "", ...args] = fixture.argv;
  return hook.invoke(tool, args, fixture.stdin);
}

/** How `observed` differs from what the fixture recorded (stdout, stderr and exit code, exactly); `[]` when it does not. */
export function outputMismatches(fixture: HookToolFixture, observed: InMemoryToolResult): string[] {
  const out: string[] = [];
  if (observed.stdout !== fixture.stdout)
    out.push(`stdout ${JSON.stringify(observed.stdout)}, Juju prints ${JSON.stringify(fixture.stdout)}`);
  if (observed.stderr !== fixture.stderr)
    out.push(`stderr ${JSON.stringify(observed.stderr)}, Juju prints ${JSON.stringify(fixture.stderr)}`);
  if (observed.exitCode !== fixture.exitCode)
    out.push(`exit code ${observed.exitCode}, Juju exits ${fixture.exitCode}`);
  return out;
}

/** Run `fixture` through `driver` and report how its output differs from Juju's; `[]` when it conforms. */
export async function driverMismatches(fixture: HookToolFixture, driver: HookToolDriver): Promise<string[]> {
  return outputMismatches(fixture, await runFixture(fixture, driver));
}

/**
 * A {@link HookToolRunner} that answers from recordings only: a command line (and stdin, where one was recorded)
 * equal to a fixture's gets that fixture's stdout, or its stderr and exit code as a {@link HookToolError} (as the
 * production runner reports a failing tool). Anything else throws: a call without a fixture fails the suite.
 */
export function createReplayRunner(fixtures: readonly HookToolFixture[]): HookToolRunner {
  return async (tool, args, stdin) => {
    const argv = [tool, ...args];
    const matches = fixtures.filter(
      (fixture) =>
        isDeepStrictEqual([...fixture.argv], argv) && (fixture.stdin === undefined || fixture.stdin === stdin),
    );
    if (matches.length !== 1) {
      throw new Error(
        `${matches.length ? "more than one fixture" : "no fixture"} records ${JSON.stringify(argv)}${stdin === undefined ? "" : ` with stdin ${JSON.stringify(stdin)}`}`,
      );
    }
    const [fixture] = matches as [HookToolFixture];
    if (fixture.exitCode !== 0) throw new HookToolError(tool, args, fixture.stderr, fixture.exitCode);
    return { stdout: fixture.stdout };
  };
}

/**
 * Call the fixture's {@link FixtureCall.method} on `tools` (default: the production {@link HookTools} over a runner
 * replaying this fixture alone) and report how the result differs from what the recorded output means: the value
 * it must return, or the {@link HookToolError} (stderr and exit code) it must throw. `[]` when it reads it right.
 */
export async function typedCallMismatches(
  fixture: HookToolFixture,
  tools: HookTools = new HookTools(createReplayRunner([fixture])),
): Promise<string[]> {
  const call = fixture.call;
  if (!call) return [];
  const method = tools[call.method] as (...args: unknown[]) => Promise<unknown>;
  let result: unknown;
  try {
    result = await method.apply(tools, [...call.args]);
  } catch (error) {
    if (!call.throws) return [`${call.method} threw ${error instanceof Error ? error.message : String(error)}`];
    if (!(error instanceof HookToolError))
      return [`${call.method} threw a ${String((error as Error)?.name)}, not a HookToolError`];
    const out: string[] = [];
    if (error.exitCode !== fixture.exitCode)
      out.push(`HookToolError exit code ${error.exitCode}, Juju exits ${fixture.exitCode}`);
    if (error.stderr !== fixture.stderr.trim())
      out.push(
        `HookToolError stderr ${JSON.stringify(error.stderr)}, Juju prints ${JSON.stringify(fixture.stderr.trim())}`,
      );
    if (!error.message.includes(fixture.argv.join(" ")))
      out.push(`HookToolError message does not name the command line: ${error.message}`);
    return out;
  }
  if (call.throws) return [`${call.method} returned ${JSON.stringify(result)} where it must throw a HookToolError`];
  return isDeepStrictEqual(result, call.returns)
    ? []
    : [`${call.method} returned ${JSON.stringify(result)}, the output means ${JSON.stringify(call.returns)}`];
}

/**
 * The {@link toolCalls} builders and {@link HookTools} methods no fixture exercises: every one must be covered, so a
 * new hook-tool call cannot ship without a recording of what Juju prints for it.
 */
export function uncoveredCalls(fixtures: readonly HookToolFixture[]): { builders: string[]; methods: string[] } {
  const covered = new Set(fixtures.flatMap((fixture) => (fixture.call ? [fixture.call.method] : [])));
  const methods = Object.getOwnPropertyNames(HookTools.prototype).filter(
    (name) =>
      name !== "constructor" &&
      name !== "call" &&
      typeof (HookTools.prototype as unknown as Record<string, unknown>)[name] === "function",
  );
  return {
    builders: Object.keys(toolCalls).filter((name) => !covered.has(name as HookToolsMethod)),
    methods: methods.filter((name) => !covered.has(name as HookToolsMethod)),
  };
}
