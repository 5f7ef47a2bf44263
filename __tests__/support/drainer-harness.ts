import type { DrainRequest } from "../../lambdas/node-drainer/events";
import type { LifecycleActions } from "../../lambdas/node-drainer/drainer";

/** Shared by the drainer's batch tests and its timing test against the synthesised Terraform. */
export const GROUP = "k3s-agents";
export const INSTANCE = "i-0123456789abcdef0";
export const NODE = "ip-10-0-1-10.eu-west-1.compute.internal";
export const TIME = "2026-11-25T10:00:00Z";

export const spotEvent = (instanceId = INSTANCE) =>
  JSON.stringify({ version: "0", id: "e1", "detail-type": "EC2 Spot Instance Interruption Warning", source: "aws.ec2", time: TIME, region: "eu-west-1", resources: [`arn:aws:ec2:eu-west-1b:instance/${instanceId}`], detail: { "instance-id": instanceId, "instance-action": "terminate" } });
export const rebalanceEvent = () => JSON.stringify({ "detail-type": "EC2 Instance Rebalance Recommendation", source: "aws.ec2", time: TIME, detail: { "instance-id": INSTANCE } });
export const lifecycleEvent = (overrides: Record<string, string> = {}) =>
  JSON.stringify({
    "detail-type": "EC2 Instance-terminate Lifecycle Action",
    source: "aws.autoscaling",
    time: TIME,
    detail: { LifecycleActionToken: "token-1", AutoScalingGroupName: GROUP, LifecycleHookName: "k3s-agent-drain", EC2InstanceId: INSTANCE, LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", ...overrides },
  });

/**
 * A virtual clock: sleeping advances it and runs the timers that fall due on the way, so heartbeats and drain retries
 * interleave as they would in real time, without waiting.
 */
export function virtualClock(start: number) {
  let now = start;
  const timers: { at: number; ms: number; tick: () => Promise<void> }[] = [];
  const sleep = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = due.at;
      due.at += due.ms;
      await due.tick();
    }
    now = until;
  };
  const every = (ms: number, tick: () => Promise<void>) => {
    const timer = { at: now + ms, ms, tick };
    timers.push(timer);
    return () => void timers.splice(timers.indexOf(timer), 1);
  };
  return { now: () => now, sleep, every, timers };
}

/**
 * Auto Scaling's side of one termination lifecycle action, as its API documents it: pending until completed, or
 * until `hookTimeoutMs` pass without a heartbeat (then the hook's default result applies); a call for an action that
 * is no longer pending gets "No active Lifecycle Action found", which the adapter reports as "already-done".
 */
export function lifecycleAction(clock: { now: () => number }, hookTimeoutMs: number, startedAt: number) {
  let expiresAt = startedAt + hookTimeoutMs;
  const state = { result: undefined as "CONTINUE" | undefined, heartbeats: [] as number[], requests: [] as DrainRequest[], heartbeatError: undefined as Error | undefined, completeError: undefined as Error | undefined };
  const pending = () => state.result === undefined && clock.now() < expiresAt;
  const actions: LifecycleActions = {
    heartbeat: async (request) => {
      state.requests.push(request);
      if (state.heartbeatError) throw state.heartbeatError;
      if (!pending()) return "already-done";
      state.heartbeats.push(clock.now());
      expiresAt = clock.now() + hookTimeoutMs;
      return "recorded";
    },
    complete: async () => {
      if (state.completeError) throw state.completeError;
      if (!pending()) return "already-done";
      state.result = "CONTINUE";
      return "completed";
    },
  };
  return { state, actions, pending, expiresAt: () => expiresAt };
}
