import type { UpgradeContext } from "./upgradeContext.js";

/**
 * The exact command that rolls the application back to what it ran before this upgrade, for statuses and action
 * results: operators paste it under pressure, so it names the revision when the leader recorded one
 * (`upgrade-from-charm`, from `.juju-charm` at pre-upgrade-check). A Charmhub charm (`ch:…-381`) gives
 * `juju refresh db --revision 381`; a local charm has no revision Juju can refresh to, so the command names the
 * file; with nothing recorded (a plan made by the Python library) the revision is a placeholder. On Kubernetes, when
 * the leader recorded the workload's OCI image resource (`upgrade-from-resource`), the command brings it back too
 * (`--resource NAME=IMAGE`): `juju refresh --revision` alone keeps a resource the operator uploaded (juju/juju
 * `cmd/juju/application/utils` `shouldUpgradeResource`), so the old charm could run the new image.
 *
 * An image reference with its digest is long: given `room`, a command longer than that keeps everything but the
 * image, and says where the whole command is (the leader logs it when it plans the upgrade, and pre-upgrade-check
 * returns it). What it shows is never a command that runs without the old image.
 *
 * @param room - the most characters a status has for the command (default: no limit)
 * @example
 * ```ts
 * rollbackCommand({ ...context, view: { ...context.view, fromCharm: "ch:amd64/jammy/db-381" } });
 * // "juju refresh db --revision 381"
 * ```
 */
export function rollbackCommand(
  context: Pick<UpgradeContext, "app" | "view">,
  room = Number.POSITIVE_INFINITY,
): string {
  const base = refreshCommand(context.app, context.view.fromCharm ?? null);
  const resource = context.view.fromResource ?? null;
  if (resource === null) return base;
  const whole = `${base} --resource ${resource}`;
  const short = `${base} --resource ${resource.slice(0, resource.indexOf("="))}=<image: see juju debug-log>`;
  return whole.length <= room || whole.length <= short.length ? whole : short;
}

/**
 * The command that refreshes `app` to `charm` (as Juju names it in `.juju-charm`): `--revision N` for a Charmhub
 * charm, the `.charm` file for a local one, a placeholder when the charm is unknown. See {@link rollbackCommand}.
 */
export function refreshCommand(app: string, charm: string | null, which = "previous"): string {
  const revision = charm?.startsWith("ch:") || charm?.startsWith("cs:") ? /-(\d{1,9})$/.exec(charm)?.[1] : undefined;
  if (revision !== undefined) return `juju refresh ${app} --revision ${revision}`;
  if (charm?.startsWith("local:")) return `juju refresh ${app} --path <the ${which} .charm file>`;
  return `juju refresh ${app} --revision <${which}>`;
}
