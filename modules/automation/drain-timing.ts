/**
 * How long the drain Lambda runs, how long SQS hides a message it is working on, and how often it records a lifecycle
 * heartbeat, all derived from one number: the termination hook's heartbeat timeout (the hook's time limit is reset by
 * each RecordLifecycleActionHeartbeat; https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html).
 *
 * - visibility >= 6 x function timeout: Lambda rejects an SQS event source whose visibility timeout is shorter than the
 *   function timeout, and AWS advises six times it so throttled batches can be retried
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "visibility timeout"). No message is
 *   therefore delivered again while an attempt still runs.
 * - visibility + function timeout <= hook heartbeat timeout: every attempt records a heartbeat as it starts, so a
 *   message that comes back after the visibility timeout (plus up to one attempt's worth of delivery delay) finds the
 *   lifecycle action still pending, and its retry can still drain and complete it instead of arriving after the hook
 *   has already continued.
 * - heartbeat interval = a tenth of the hook timeout: well inside it, so one lost heartbeat never lets the hook expire.
 */
export interface DrainTiming {
  readonly functionTimeoutSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly heartbeatIntervalSeconds: number;
  /** Receives of a message before SQS moves it to the dead-letter queue; the function says so on the last one. */
  readonly attempts: number;
}

/** Three attempts, as SQS's redrive examples use: a drain gets three tries, one visibility timeout apart. */
const DRAIN_ATTEMPTS = 3;

/** Lambda's longest timeout. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Shortest attempt worth making: connecting to the cluster plus a few eviction rounds. */
const MIN_ATTEMPT_SECONDS = 60;
/** AWS's recommended ratio of visibility timeout to function timeout for an SQS event source. */
const VISIBILITY_PER_FUNCTION_TIMEOUT = 6;

export function drainTiming(hookHeartbeatSeconds: number): DrainTiming {
  const functionTimeoutSeconds = Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.floor(hookHeartbeatSeconds / (VISIBILITY_PER_FUNCTION_TIMEOUT + 1)));
  if (functionTimeoutSeconds < MIN_ATTEMPT_SECONDS) {
    throw new Error(
      `drainHeartbeatSeconds: (${hookHeartbeatSeconds}) leaves each drain attempt ${functionTimeoutSeconds} s; ` +
        `use at least ${MIN_ATTEMPT_SECONDS * (VISIBILITY_PER_FUNCTION_TIMEOUT + 1)}`,
    );
  }
  return {
    functionTimeoutSeconds,
    visibilityTimeoutSeconds: functionTimeoutSeconds * VISIBILITY_PER_FUNCTION_TIMEOUT,
    heartbeatIntervalSeconds: Math.floor(hookHeartbeatSeconds / 10),
    attempts: DRAIN_ATTEMPTS,
  };
}
