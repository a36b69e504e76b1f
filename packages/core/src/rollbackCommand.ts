import type { UpgradeContext } from "./upgradeContext.js";

/**
 * The exact command that rolls the application back to what it ran before this upgrade, for statuses and action
 * results: operators paste it under pressure, so it names the revision when the leader recorded one
 * (`upgrade-from-charm`, from `.juju-charm` at pre-upgrade-check). A Charmhub charm (`ch:…-381`) gives
 * `juju refresh db --revision 381`; a local charm has no revision Juju can refresh to, so the command names the
 * file; with nothing recorded (a plan made by the Python library) the revision is a placeholder.
 *
 * @example
 * ```ts
 * rollbackCommand({ ...context, view: { ...context.view, fromCharm: "ch:amd64/jammy/db-381" } });
 * // "juju refresh db --revision 381"
 * ```
 */
export function rollbackCommand(context: Pick<UpgradeContext, "app" | "view">): string {
  const from = context.view.fromCharm ?? null;
  const revision = from?.startsWith("ch:") || from?.startsWith("cs:") ? /-(\d{1,9})$/.exec(from)?.[1] : undefined;
  if (revision !== undefined) return `juju refresh ${context.app} --revision ${revision}`;
  if (from?.startsWith("local:")) return `juju refresh ${context.app} --path <the previous .charm file>`;
  return `juju refresh ${context.app} --revision <previous>`;
}
