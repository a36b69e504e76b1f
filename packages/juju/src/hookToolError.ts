import { UpgradeError } from "@charm-upgrade/core";

/**
 * A hook tool failed (non-zero exit, missing executable, output Juju would never print). It names the command
 * line, the exit code and what the tool printed on stderr, and is meant to propagate: the hook then fails, Juju
 * discards its relation writes and retries it.
 *
 * It lives in its own module so that the pure tool-call builders ({@link toolCalls}) can throw it without
 * depending on `node:child_process`.
 */
export class HookToolError extends UpgradeError {
  override readonly kind = "HookToolError" as const;
  /** The hook tool, e.g. `relation-get`. */
  readonly tool: string;
  /** Its arguments, exactly as passed. */
  readonly args: readonly string[];
  /** What the tool printed on stderr (Juju prints `ERROR <reason>`), trimmed; or why its stdout was rejected. */
  readonly stderr: string;
  /**
   * The exit code; 127 when the executable does not exist; `null` when the tool was killed by a signal; 0 when
   * the tool succeeded but printed something Juju never prints (the output is then named in {@link stderr}).
   */
  readonly exitCode: number | null;

  /**
   * @param tool - the hook tool that failed
   * @param args - its arguments
   * @param stderr - its stderr (or why it could not run, or why its output was rejected)
   * @param exitCode - its exit code, 127 if not found, `null` if killed, 0 if its output was rejected
   */
  constructor(tool: string, args: readonly string[], stderr: string, exitCode: number | null) {
    const line = [tool, ...args].join(" ");
    const detail = stderr.trim() || "(no output on stderr)";
    super(
      `Hook tool failed: ${line} (exit code ${exitCode ?? "none: killed"}): ${detail}`,
      exitCode === 127 ? `${tool} was not found on PATH; hook tools exist only inside a Juju hook or action` : detail,
      "the hook fails and Juju retries it; if it keeps failing, check `juju debug-log` for this unit",
    );
    this.tool = tool;
    this.args = [...args];
    this.stderr = stderr.trim();
    this.exitCode = exitCode;
  }
}
