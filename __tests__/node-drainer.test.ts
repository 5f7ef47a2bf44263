import type { SQSRecord } from "aws-lambda";
import { DrainRequest, drainDeadline, parseDrainEvent } from "../lambdas/node-drainer/events";
import { DrainerDeps, LifecycleActions, processBatch } from "../lambdas/node-drainer/drainer";
import { parseDrainerSettings } from "../lambdas/node-drainer/settings";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { resourceNamed, synthCluster } from "./helpers";
import { FakeKubeApi } from "./support/fake-kube-api";

const GROUP = "k3s-agents";
const INSTANCE = "i-0123456789abcdef0";
const NODE = "ip-10-0-1-10.eu-west-1.compute.internal";
const TIME = "2026-11-25T10:00:00Z";

const spotEvent = (instanceId = INSTANCE) =>
  JSON.stringify({ version: "0", id: "e1", "detail-type": "EC2 Spot Instance Interruption Warning", source: "aws.ec2", time: TIME, region: "eu-west-1", resources: [`arn:aws:ec2:eu-west-1b:instance/${instanceId}`], detail: { "instance-id": instanceId, "instance-action": "terminate" } });
const rebalanceEvent = () => JSON.stringify({ "detail-type": "EC2 Instance Rebalance Recommendation", source: "aws.ec2", time: TIME, detail: { "instance-id": INSTANCE } });
const lifecycleEvent = (overrides: Record<string, string> = {}) =>
  JSON.stringify({
    "detail-type": "EC2 Instance-terminate Lifecycle Action",
    source: "aws.autoscaling",
    time: TIME,
    detail: { LifecycleActionToken: "token-1", AutoScalingGroupName: GROUP, LifecycleHookName: "k3s-agent-drain", EC2InstanceId: INSTANCE, LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", ...overrides },
  });

describe("event parsing", () => {
  test("spot, rebalance and lifecycle events become drain requests", () => {
    expect(parseDrainEvent(spotEvent(), GROUP)).toEqual({ ok: true, request: { kind: "spot-interruption", instanceId: INSTANCE, eventTime: Date.parse(TIME) } });
    expect(parseDrainEvent(rebalanceEvent(), GROUP)).toEqual({ ok: true, request: { kind: "rebalance-recommendation", instanceId: INSTANCE, eventTime: Date.parse(TIME) } });
    expect(parseDrainEvent(lifecycleEvent(), GROUP)).toEqual({
      ok: true,
      request: { kind: "lifecycle-termination", instanceId: INSTANCE, eventTime: Date.parse(TIME), autoScalingGroupName: GROUP, lifecycleHookName: "k3s-agent-drain", lifecycleActionToken: "token-1" },
    });
  });

  test.each([
    ["not JSON", "{oops", "message body is not JSON"],
    ["no envelope", JSON.stringify({ hello: "world" }), "not an EventBridge event: source Invalid input: expected string, received undefined; detail-type Invalid input: expected string, received undefined; time Invalid input: expected string, received undefined; detail Invalid input: expected record, received undefined"],
    ["bad instance ID", spotEvent("not-an-instance"), "EC2 Spot Instance Interruption Warning: instance-id is not an EC2 instance ID"],
    ["unknown detail type", JSON.stringify({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", time: TIME, detail: {} }), "unsupported event aws.ec2 / EC2 Instance State-change Notification"],
    ["test notification", lifecycleEvent({ LifecycleTransition: "autoscaling:TEST_NOTIFICATION" }), "lifecycle transition autoscaling:TEST_NOTIFICATION is not a termination"],
    ["another group", lifecycleEvent({ AutoScalingGroupName: "someone-else" }), "auto scaling group someone-else is not this cluster's agents (k3s-agents)"],
    ["missing token", JSON.stringify({ ...JSON.parse(lifecycleEvent()), detail: { ...JSON.parse(lifecycleEvent()).detail, LifecycleActionToken: undefined } }), "EC2 Instance-terminate Lifecycle Action: LifecycleActionToken Invalid input: expected string, received undefined"],
  ])("refused: %s", (_name, body, reason) => {
    expect(parseDrainEvent(body, GROUP)).toEqual({ ok: false, reason });
  });

  test("deadlines end before the interruption and the function timeout; a held lifecycle action adds none", () => {
    const spot: DrainRequest = { kind: "spot-interruption", instanceId: INSTANCE, eventTime: 0 };
    const lifecycle: DrainRequest = { kind: "lifecycle-termination", instanceId: INSTANCE, eventTime: 0, autoScalingGroupName: GROUP, lifecycleHookName: "h", lifecycleActionToken: "t" };
    expect(drainDeadline(spot, 900_000)).toBe(105_000);
    expect(drainDeadline(spot, 60_000)).toBe(45_000);
    expect(drainDeadline(lifecycle, 900_000)).toBe(885_000);
  });
});

/**
 * A virtual clock: sleeping advances it and runs the timers that fall due on the way, so heartbeats and drain retries
 * interleave as they would in real time, without waiting.
 */
function virtualClock(start: number) {
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
function lifecycleAction(clock: { now: () => number }, hookTimeoutMs: number, startedAt: number) {
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

type LogLine = [string, string, Record<string, unknown> | undefined];
const HOOK_TIMEOUT_MS = 600_000;
const INTERVAL_MS = 60_000;

describe("drainer batches (local Kubernetes API)", () => {
  let api: FakeKubeApi;
  let server: string;
  let clock: ReturnType<typeof virtualClock>;
  let action: ReturnType<typeof lifecycleAction>;
  let notifications: string[];
  let lines: LogLine[];
  let deps: DrainerDeps;

  const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
  const evictions = () => api.requests.filter((request) => request.endsWith("/eviction"));

  beforeEach(async () => {
    api = new FakeKubeApi();
    server = await api.start();
    api.addNode(NODE, INSTANCE);
    api.addPod("default", "web-1", NODE, { owner: "ReplicaSet" });
    notifications = [];
    lines = [];
    clock = virtualClock(Date.parse(TIME) + 1000);
    action = lifecycleAction(clock, HOOK_TIMEOUT_MS, Date.parse(TIME));
    deps = {
      agentGroupName: GROUP,
      heartbeatIntervalMs: INTERVAL_MS,
      cluster: async () => kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "t" })),
      lifecycle: action.actions,
      notify: async (subject) => void notifications.push(subject),
      log: (level, message, fields) => void lines.push([level, message, fields]),
      now: clock.now,
      sleep: clock.sleep,
      every: clock.every,
      functionDeadline: clock.now() + 600_000,
      retryDelayMs: 5000,
    };
  });
  afterEach(() => api.stop());

  test("a lifecycle event drains the node and completes the action with CONTINUE", async () => {
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
    expect(action.state.result).toBe("CONTINUE");
  });

  test("heartbeats hold the action at the interval while evictions wait on a disruption budget, and stop once drained", async () => {
    api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 30); // 30 refusals 5 s apart: the drain takes 150 s, past two intervals
    const start = clock.now();
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(action.state.heartbeats).toEqual([start, start + INTERVAL_MS, start + 2 * INTERVAL_MS]);
    expect(action.state.requests).toEqual(Array(3).fill(expect.objectContaining({ lifecycleHookName: "k3s-agent-drain", autoScalingGroupName: GROUP, instanceId: INSTANCE, lifecycleActionToken: "token-1" })));
    expect(action.state.result).toBe("CONTINUE");
    expect(clock.timers).toEqual([]);
    await clock.sleep(5 * INTERVAL_MS);
    expect(action.state.heartbeats).toHaveLength(3);
  });

  test("a failed heartbeat is logged and the drain goes on to CONTINUE", async () => {
    action.state.heartbeatError = Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(lines).toContainEqual(["warn", "lifecycle heartbeat failed; draining goes on", expect.objectContaining({ instanceId: INSTANCE, error: "Rate exceeded" })]);
    expect(api.pods.size).toBe(0);
    expect(action.state.result).toBe("CONTINUE");
  });

  test("a drain unfinished at the function's deadline leaves the action held and the message to be retried", async () => {
    api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 1000);
    deps = { ...deps, functionDeadline: clock.now() + 85_000 };
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(clock.now()).toBeLessThanOrEqual(deps.functionDeadline);
    expect(action.state.result).toBeUndefined();
    expect(action.pending()).toBe(true);
    expect(notifications).toEqual([]);
  });

  test("a redelivered message for a completed action is acknowledged, even when its drain fails", async () => {
    await processBatch([record("m1", lifecycleEvent())], deps);
    const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")) };
    expect(await processBatch([record("m1-again", lifecycleEvent())], failing)).toEqual({ batchItemFailures: [] });
    expect(lines).toContainEqual(["info", "lifecycle action no longer pending: already completed, or its hook timed out", expect.objectContaining({ messageId: "m1-again" })]);
    expect(notifications).toEqual([]);
  });

  test("a spot interruption warning drains the node and has no lifecycle action to hold or complete", async () => {
    expect(await processBatch([record("m1", spotEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
    expect(action.state.requests).toEqual([]);
    expect(action.state.result).toBeUndefined();
  });

  test("a rebalance recommendation only cordons: running pods stay until the replacement is up", async () => {
    expect(await processBatch([record("m1", rebalanceEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect([...api.pods.keys()]).toEqual(["default/web-1"]);
    expect(evictions()).toEqual([]);
  });

  test("malformed and unknown events are acknowledged, not retried", async () => {
    const response = await processBatch([record("bad", "{oops"), record("unknown", JSON.stringify({ source: "aws.ec2", "detail-type": "Other", time: TIME, detail: {} }))], deps);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(api.requests).toEqual([]);
  });

  test("duplicates are harmless: the second drain finds nothing and the finished action counts as done", async () => {
    await processBatch([record("m1", lifecycleEvent())], deps);
    expect(await processBatch([record("m1-again", lifecycleEvent()), record("m2", spotEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(evictions()).toHaveLength(1);
    expect(action.state.result).toBe("CONTINUE");
  });

  test("an instance that is not a node is skipped, and its lifecycle action still completed", async () => {
    expect(await processBatch([record("m1", lifecycleEvent({ EC2InstanceId: "i-00000000000000000" }))], deps)).toEqual({ batchItemFailures: [] });
    expect(action.state.result).toBe("CONTINUE");
    expect(api.requests.filter((request) => request.startsWith("PATCH"))).toEqual([]);
  });

  test("a failure reaching AWS while the action is held reports only that message for retry, and notifies", async () => {
    action.state.completeError = new Error("Rate exceeded");
    expect(await processBatch([record("ok", spotEvent()), record("fails", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "fails" }] });
    expect(notifications).toEqual(["node drain failed"]);
  });
});

describe("drain timing, from the synthesised Terraform to the handler", () => {
  const { json } = synthCluster();
  const hook = resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook");
  const fn = resourceNamed(json, "aws_lambda_function", "Automation_NodeDrainer");
  const queue = resourceNamed(json, "aws_sqs_queue", "Automation_DrainQueue");
  // ARNs are Terraform references at synth time; the handler only checks their shape.
  const environment = Object.fromEntries(Object.entries(fn.environment.variables as Record<string, string>).map(([name, value]) => [name, /\.arn\}$/.test(value) ? "arn:aws:example" : value]));

  test("the queue hides a message at least six function timeouts, and a redelivery plus an attempt fit in the hook", () => {
    // Lambda requires visibility >= function timeout and advises 6x (Lambda Developer Guide, SQS event source).
    expect(queue.visibility_timeout_seconds).toBeGreaterThanOrEqual(6 * fn.timeout);
    expect(queue.visibility_timeout_seconds + fn.timeout).toBeLessThanOrEqual(hook.heartbeat_timeout);
    expect(parseDrainerSettings(environment).heartbeatIntervalMs).toBeLessThanOrEqual((hook.heartbeat_timeout * 1000) / 4);
  });

  test("an unfinished attempt is retried after the visibility timeout while the heartbeats still hold the action, and the retry completes it", async () => {
    const api = new FakeKubeApi();
    const server = await api.start();
    try {
      api.addNode(NODE, INSTANCE);
      api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
      api.refusals.set("default/db-0", 1_000_000);
      const hookTimeoutMs = hook.heartbeat_timeout * 1000;
      const received = Date.parse(TIME) + 5000;
      const clock = virtualClock(received);
      const action = lifecycleAction(clock, hookTimeoutMs, Date.parse(TIME));
      const attempt = (startedAt: number): DrainerDeps => ({
        agentGroupName: GROUP,
        heartbeatIntervalMs: parseDrainerSettings(environment).heartbeatIntervalMs,
        cluster: async () => kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "t" })),
        lifecycle: action.actions,
        notify: async () => undefined,
        log: () => undefined,
        now: clock.now,
        sleep: clock.sleep,
        every: clock.every,
        functionDeadline: startedAt + fn.timeout * 1000,
        retryDelayMs: 5000,
      });

      expect(await processBatch([{ messageId: "m1", body: lifecycleEvent() } as SQSRecord], attempt(received))).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      expect(clock.now()).toBeLessThanOrEqual(received + fn.timeout * 1000);
      expect(action.state.heartbeats.length).toBeGreaterThanOrEqual(2);

      const redelivered = received + queue.visibility_timeout_seconds * 1000;
      await clock.sleep(redelivered - clock.now());
      expect(action.pending()).toBe(true);
      api.refusals.set("default/db-0", 0);
      expect(await processBatch([{ messageId: "m1", body: lifecycleEvent() } as SQSRecord], attempt(redelivered))).toEqual({ batchItemFailures: [] });
      expect(api.pods.size).toBe(0);
      expect(action.state.result).toBe("CONTINUE");
    } finally {
      await api.stop();
    }
  });
});
