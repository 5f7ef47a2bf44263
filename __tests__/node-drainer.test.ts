import type { SQSRecord } from "aws-lambda";
import { DrainRequest, drainDeadline, parseDrainEvent } from "../lambdas/node-drainer/events";
import { DrainerDeps, LifecycleActions, processBatch } from "../lambdas/node-drainer/drainer";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
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

  test("deadlines end before the interruption, the heartbeat and the function timeout", () => {
    const spot: DrainRequest = { kind: "spot-interruption", instanceId: INSTANCE, eventTime: 0 };
    const lifecycle: DrainRequest = { kind: "lifecycle-termination", instanceId: INSTANCE, eventTime: 0, autoScalingGroupName: GROUP, lifecycleHookName: "h", lifecycleActionToken: "t" };
    expect(drainDeadline(spot, 600_000, 900_000)).toBe(105_000);
    expect(drainDeadline(lifecycle, 600_000, 900_000)).toBe(585_000);
    expect(drainDeadline(lifecycle, 600_000, 300_000)).toBe(285_000);
  });
});

describe("drainer batches (local Kubernetes API)", () => {
  let api: FakeKubeApi;
  let completed: DrainRequest[];
  let notifications: string[];
  let deps: DrainerDeps;
  let lifecycleResult: "completed" | "already-done" | Error;

  const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;

  beforeEach(async () => {
    api = new FakeKubeApi();
    const server = await api.start();
    api.addNode(NODE, INSTANCE);
    api.addPod("default", "web-1", NODE, { owner: "ReplicaSet" });
    completed = [];
    notifications = [];
    lifecycleResult = "completed";
    const lifecycle: LifecycleActions = {
      complete: async (request) => {
        if (lifecycleResult instanceof Error) throw lifecycleResult;
        completed.push(request);
        return lifecycleResult;
      },
    };
    let now = Date.parse(TIME) + 1000;
    deps = {
      agentGroupName: GROUP,
      heartbeatMs: 600_000,
      cluster: async () => kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "t" })),
      lifecycle,
      notify: async (subject) => void notifications.push(subject),
      log: () => undefined,
      now: () => now,
      sleep: async (ms) => void (now += ms),
      functionDeadline: now + 600_000,
      retryDelayMs: 1000,
    };
  });
  afterEach(() => api.stop());

  test("a lifecycle event drains the node and completes the action with CONTINUE", async () => {
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
    expect(completed).toHaveLength(1);
  });

  test("a spot interruption warning drains the node and has no lifecycle action to complete", async () => {
    expect(await processBatch([record("m1", spotEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
    expect(completed).toEqual([]);
  });

  test("a rebalance recommendation only cordons: running pods stay until the replacement is up", async () => {
    expect(await processBatch([record("m1", rebalanceEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect([...api.pods.keys()]).toEqual(["default/web-1"]);
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toEqual([]);
  });

  test("malformed and unknown events are acknowledged, not retried", async () => {
    const response = await processBatch([record("bad", "{oops"), record("unknown", JSON.stringify({ source: "aws.ec2", "detail-type": "Other", time: TIME, detail: {} }))], deps);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(api.requests).toEqual([]);
  });

  test("duplicates are harmless: the second drain finds nothing and the finished action counts as done", async () => {
    await processBatch([record("m1", lifecycleEvent())], deps);
    lifecycleResult = "already-done";
    expect(await processBatch([record("m1-again", lifecycleEvent()), record("m2", spotEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(completed).toHaveLength(2);
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toHaveLength(1);
  });

  test("an instance that is not a node is skipped, and its lifecycle action still completed", async () => {
    expect(await processBatch([record("m1", lifecycleEvent({ EC2InstanceId: "i-00000000000000000" }))], deps)).toEqual({ batchItemFailures: [] });
    expect(completed.map((request) => request.instanceId)).toEqual(["i-00000000000000000"]);
    expect(api.requests.filter((request) => request.startsWith("PATCH"))).toEqual([]);
  });

  test("a failure reaching AWS reports only that message for retry, and notifies", async () => {
    lifecycleResult = new Error("Rate exceeded");
    expect(await processBatch([record("ok", spotEvent()), record("fails", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "fails" }] });
    expect(notifications).toEqual(["node drain failed"]);
  });
});
