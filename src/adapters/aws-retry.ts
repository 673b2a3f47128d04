// The retry policy of the puller's AWS calls: the SDK's standard strategy (it classifies throttling, 5xx,
// connection resets and timeouts as retryable, and nothing else), with more attempts, a shorter cap on
// the backoff, and no wait that runs past the run's deadline.
import { StandardRetryStrategy } from '@smithy/core/retry';

type RetryToken = Awaited<ReturnType<StandardRetryStrategy['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[1];

/** The retry policy's settings. */
export const AwsRetryPolicy = {
  /** Attempts per call, the first included. */
  MAX_ATTEMPTS: 6,
  /** The longest wait between two attempts, ms (the SDK's own cap is 20 s). */
  MAX_BACKOFF_MS: 3_000,
  /** How long one attempt may go without an answer before it is abandoned and retried, ms. */
  REQUEST_TIMEOUT_MS: 10_000,
  /** How long opening a connection may take, ms. */
  CONNECTION_TIMEOUT_MS: 3_000,
} as const;

/** One retried call, for logs and metrics: the SDK's class of the error (THROTTLING, TRANSIENT, SERVER_ERROR). */
export interface AwsRetry {
  readonly errorType: string;
  /** The error's name (for example `ThrottlingException`, `TimeoutError`), when known. */
  readonly errorName: string | undefined;
}

/** Options of {@link DeadlineRetryStrategy}. */
export interface DeadlineRetryOptions {
  /** Epoch ms after which no retry starts, and before which every wait ends; none when absent. */
  readonly deadlineMs?: number;
  /** Called before each retry. */
  readonly onRetry?: (retry: AwsRetry) => void;
}

/** Full-jitter exponential backoff, capped at MAX_BACKOFF_MS and at `ceilingMs`. */
class CappedBackoff {
  private base = 50;
  ceilingMs: number = AwsRetryPolicy.MAX_BACKOFF_MS;

  computeNextBackoffDelay(attempt: number): number {
    const cap = Math.min(this.base * 2 ** attempt, AwsRetryPolicy.MAX_BACKOFF_MS, this.ceilingMs);
    return Math.floor(Math.random() * cap);
  }

  setDelayBase(delay: number): void {
    this.base = delay;
  }
}

/** The SDK's standard retry strategy, bounded by the run's deadline. */
export class DeadlineRetryStrategy {
  readonly mode = 'standard';
  private readonly backoff = new CappedBackoff();
  private readonly inner = new StandardRetryStrategy({
    maxAttempts: AwsRetryPolicy.MAX_ATTEMPTS,
    backoff: this.backoff,
  });

  constructor(private readonly options: DeadlineRetryOptions = {}) {}

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.inner.acquireInitialRetryToken(scope);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const { deadlineMs } = this.options;
    if (deadlineMs !== undefined) {
      // No wait may run past the deadline; refusing makes the SDK throw the last error, which the run
      // reports. (An attempt cut short by the deadline is a run dying mid-write, which is safe.)
      const spareMs = deadlineMs - Date.now();
      if (spareMs <= 0) throw new Error('the deadline has passed: no further attempt');
      this.backoff.ceilingMs = spareMs;
    }
    const next = await this.inner.refreshRetryTokenForRetry(token, errorInfo);
    this.options.onRetry?.({ errorType: errorInfo.errorType, errorName: errorInfo.error?.name });
    return next;
  }

  recordSuccess(token: RetryToken): void {
    this.inner.recordSuccess(token);
  }

  maxAttempts(): Promise<number> {
    return this.inner.maxAttempts();
  }
}
