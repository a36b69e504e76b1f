/**
 * Why the charm build stopped: a `charmcraft.yaml` it cannot read, a runtime that is not installed, a zip it cannot
 * write. The message says what is wrong; `resolution` says what to do about it.
 *
 * @example
 * ```ts
 * try {
 *   await buildCharm();
 * } catch (error) {
 *   if (error instanceof CharmBuildError) console.error(`${error.message}: ${error.resolution}`);
 * }
 * ```
 */
export class CharmBuildError extends Error {
  /** What to do about it, e.g. `run pnpm install`. */
  readonly resolution: string;

  /**
   * @param message - what is wrong, naming the file or value.
   * @param resolution - what to do about it.
   */
  constructor(message: string, resolution: string) {
    super(`${message} (${resolution})`);
    this.name = "CharmBuildError";
    this.resolution = resolution;
  }
}
