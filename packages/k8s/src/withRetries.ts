/**
 * Bounded retries for answers that say "try again": exponential back-off, or the wait the server asked for.
 *
 * The sleep is injected (a port, like the clock elsewhere in charm-upgrade) so tests and the simulator do not wait
 * for real. A hook has limited time, so both the number of attempts and the total time spent waiting are bounded:
 * a wait that would go over the budget is not made, and the call fails instead (the next hook tries again).
 *
 * @module
 */

/** How {@link withRetries} waits between attempts; resolves after `ms` milliseconds. */
export type Sleep = (ms: number) => Promise<void>;

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** Total attempts, the first included (at least 1). */
  readonly attempts: number;
  /** Wait before the second attempt; doubled before each later one (unless the server asked for a wait). */
  readonly baseDelayMs: number;
  /** The most all the waits of one call may add up to (default: no limit). */
  readonly maxTotalDelayMs?: number;
  /** How to wait. */
  readonly sleep: Sleep;
  /** Whether a failure is worth another attempt. */
  readonly retryable: (error: unknown) => boolean;
  /** The wait a failure asks for (e.g. `Retry-After`), in milliseconds; `undefined` to back off exponentially. */
  readonly requestedDelayMs?: (error: unknown) => number | undefined;
  /** Told before each wait, e.g. to log it. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Told when a retry is given up because its wait does not fit in what is left of `maxTotalDelayMs`. */
  readonly onOverBudget?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Sleep for real, with a timer that does not keep the process alive. */
export const realSleep: Sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Run `operation` until it succeeds, fails with a non-retryable error, has been tried `attempts` times, or the next
 * wait would exceed `maxTotalDelayMs`; the last error is rethrown as it is.
 *
 * @example
 * ```ts
 * await withRetries(() => patch(), { attempts: 3, baseDelayMs: 500, sleep: realSleep, retryable: isServerError });
 * // waits 500 ms, then 1000 ms, between the three attempts
 * ```
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts));
  const budget = options.maxTotalDelayMs ?? Number.POSITIVE_INFINITY;
  let waited = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !options.retryable(error)) throw error;
      const requested = options.requestedDelayMs?.(error);
      const delayMs = Math.max(0, requested ?? options.baseDelayMs * 2 ** (attempt - 1));
      if (waited + delayMs > budget) {
        options.onOverBudget?.(error, attempt, delayMs);
        throw error;
      }
      waited += delayMs;
      options.onRetry?.(error, attempt, delayMs);
      await options.sleep(delayMs);
    }
  }
}
