/**
 * An invocation's passes. cluster-autoscaler looks at the cluster every 10 seconds (its FAQ, "What are the parameters
 * to CA?": --scan-interval, default 10 seconds), so a pod it cannot place waits at most that long to be seen;
 * EventBridge schedules a function at most once a minute, so a single pass per invocation lets a pod wait up to a
 * minute, 30 seconds on average, before anything boots for it. One invocation therefore runs a pass every poll
 * interval for a minute, on a grid from its start, and the next scheduled invocation takes over.
 */
import type { Decision } from "./decide";
import { DRAIN_DEADLINE_RESERVE_MS, runAutoscaler, RunDeps } from "./run";

/** How long one invocation polls: EventBridge's shortest rate, so `rate(1 minute)` leaves no gap between invocations. */
export const POLL_WINDOW_MS = 60_000;

/**
 * When the pass after one that ended at `now` starts: the next point of the invocation's grid after `now` (a slow
 * pass, one that drained a node, is followed by the next grid point, not by the passes it missed), or undefined when
 * that point is past the invocation's minute or inside the time a drain keeps before the function's deadline.
 * `pollMs` 0 means one pass per invocation.
 */
export function nextPassAt(startedAt: number, now: number, pollMs: number, deadline: number): number | undefined {
  if (!(pollMs > 0)) return undefined;
  const next = startedAt + (Math.floor((now - startedAt) / pollMs) + 1) * pollMs;
  return next < startedAt + POLL_WINDOW_MS && next < deadline - DRAIN_DEADLINE_RESERVE_MS ? next : undefined;
}

/**
 * Runs the invocation's passes in turn, each a whole run (lock, observe, decide, act), over one cluster client (its
 * access secret read once). A pass that fails ends the invocation with its error, as a single run's failure did: the
 * error alarm fires, one failure notice goes out, not six a minute while an API is down, and the next invocation
 * starts afresh within the minute. Returns each pass's decision (undefined for a pass another run's lock skipped).
 */
export async function pollAutoscaler(deps: RunDeps, pollMs: number): Promise<(Decision | undefined)[]> {
  const startedAt = deps.now();
  let cluster: ReturnType<RunDeps["cluster"]> | undefined;
  const first: RunDeps = { ...deps, cluster: () => (cluster ??= deps.cluster()) };
  // The decision history keeps every action, and a decision to do nothing once a minute as before polling, not six.
  const later: RunDeps = {
    ...first,
    store: {
      load: () => deps.store.load(),
      save: (state) => deps.store.save(state),
      recordDecision: async (decision, now, owner) => {
        if (decision.action !== "none") await deps.store.recordDecision(decision, now, owner);
      },
    },
  };
  const decisions: (Decision | undefined)[] = [];
  for (let at: number | undefined = startedAt; at !== undefined; at = nextPassAt(startedAt, deps.now(), pollMs, deps.functionDeadline)) {
    await deps.sleep(Math.max(0, at - deps.now()));
    decisions.push(await runAutoscaler(decisions.length === 0 ? first : later));
  }
  return decisions;
}
