/**
 * Bounded retries with exponential back-off, for answers that say "try again" (HTTP 5xx).
 *
 * The sleep is injected (a port, like the clock elsewhere in charm-upgrade) so tests and the simulator do not wait
 * for real; a hook has limited time, so the number of attempts is small and bounded.
 *
 * @module
 */

/** How {@link withRetries} waits between attempts; resolves after `ms` milliseconds. */
export type Sleep = (ms: number) => Promise<void>;

/** Options of {@link withRetries}. */
export interface RetryOptions {
  /** Total attempts, the first included (at least 1). */
  readonly attempts: number;
  /** Wait before the second attempt; doubled before each later one. */
  readonly baseDelayMs: number;
  /** How to wait. */
  readonly sleep: Sleep;
  /** Whether a failure is worth another attempt. */
  readonly retryable: (error: unknown) => boolean;
  /** Told before each wait, e.g. to log it. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Sleep for real, with a timer that does not keep the process alive. */
export const realSleep: Sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Run `operation` until it succeeds, fails with a non-retryable error, or has been tried `attempts` times; the
 * last error is rethrown as it is.
 *
 * @example
 * ```ts
 * await withRetries(() => patch(), { attempts: 3, baseDelayMs: 500, sleep: realSleep, retryable: isServerError });
 * // waits 500 ms, then 1000 ms, between the three attempts
 * ```
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !options.retryable(error)) throw error;
      const delayMs = options.baseDelayMs * 2 ** (attempt - 1);
      options.onRetry?.(error, attempt, delayMs);
      await options.sleep(delayMs);
    }
  }
}
