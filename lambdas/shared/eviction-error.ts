/**
 * An eviction the API answered with neither success, 429 nor 404, or that never got an answer. Its own module, so the
 * drain logic (shared with the autoscaler's pure decision code) needs no Kubernetes client to tell the cases apart.
 */
export class EvictionError extends Error {
  constructor(
    message: string,
    /** Whether asking again can succeed: a server error or a lost connection may pass; a refused request will not. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = "EvictionError";
  }
}
