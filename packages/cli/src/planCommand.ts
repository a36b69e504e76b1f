import type { PlanSnapshot } from "@charm-upgrade/core";
import { PAUSE_POLICIES, planFromSnapshot } from "@charm-upgrade/core";
import * as v from "valibot";
import type { CliIO } from "./io.js";
import { EXIT, UsageError } from "./io.js";

/** Usage of `charm-upgrade plan`. */
export const PLAN_USAGE = `Usage: charm-upgrade plan SNAPSHOT.json

Print the plan of an upgrade (order of units, where the roll pauses, running versions, checks) from a saved
snapshot of the peer relation, as pre-upgrade-check returns it:
  { "app": "db", "substrate": "vm" | "k8s", "leader": 0,
    "databags": { "units": { "db/0": { "state": "idle" }, ... }, "app": { "dependencies": "...", ... } },
    "settings": { "pauseAfterUnitUpgrade": "first" } }`;

const Databag = v.record(v.string(), v.string());
/** The snapshot file is untrusted input: validated before use. */
const SnapshotSchema = v.object({
  app: v.pipe(v.string(), v.regex(/^[a-z][a-z0-9-]*$/, "app must be a Juju application name")),
  substrate: v.picklist(["vm", "k8s"], "substrate must be vm or k8s"),
  leader: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  databags: v.object({ units: v.record(v.string(), Databag), app: Databag }),
  settings: v.optional(
    v.object({ pauseAfterUnitUpgrade: v.optional(v.union([v.picklist(PAUSE_POLICIES), v.string()])) }),
  ),
});

/** `charm-upgrade plan SNAPSHOT.json`: the plan from a snapshot; exit 0, or 1 when the cluster is not ready for one. */
export async function planCommand(args: readonly string[], io: CliIO): Promise<number> {
  const files = args.filter((arg) => arg !== "--");
  const option = files.find((arg) => arg.startsWith("-"));
  if (option) throw new UsageError(`unknown option ${option}`);
  if (files.length !== 1) throw new UsageError(`plan takes one file, SNAPSHOT.json (got ${files.length})`);
  const path = files[0] ?? "";
  let json: unknown;
  try {
    const read = io.readFile ?? (async (file: string) => (await import("node:fs/promises")).readFile(file, "utf8"));
    json = JSON.parse(await read(path));
  } catch (error) {
    io.stderr.write(`charm-upgrade plan: cannot read ${path}: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const parsed = v.safeParse(SnapshotSchema, json);
  if (!parsed.success) {
    const where = (issue: v.BaseIssue<unknown>) =>
      (issue.path ?? []).map((item) => String(item.key)).join(".") || "(root)";
    io.stderr.write(
      `charm-upgrade plan: ${path} is not a snapshot: ${parsed.issues.map((i) => `${where(i)}: ${i.message}`).join("; ")}\n`,
    );
    return EXIT.usage;
  }
  const { settings, ...rest } = parsed.output;
  const snapshot: PlanSnapshot = {
    ...rest,
    ...(settings?.pauseAfterUnitUpgrade !== undefined
      ? { settings: { pauseAfterUnitUpgrade: settings.pauseAfterUnitUpgrade } }
      : {}),
  };
  const { results, problems } = planFromSnapshot(snapshot);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  for (const [key, value] of Object.entries(results)) out(`${key}: ${value}`);
  if (problems.length) {
    out("not ready:");
    for (const problem of problems) out(`  ${problem}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
