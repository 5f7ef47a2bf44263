import type { SQSRecord } from "aws-lambda";
import { DrainerDeps, processBatch } from "../lambdas/node-drainer/drainer";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { GROUP, INSTANCE, lifecycleAction, lifecycleEvent, NODE, rebalanceEvent, spotEvent, TIME, virtualClock } from "./support/drainer-harness";
import { FakeKubeApi, FakeNode } from "./support/fake-kube-api";

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
      attempts: 3,
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
    api.refusals.set("default/db-0", 50); // more than the 14 attempts 5 s apart that fit before the deadline
    deps = { ...deps, functionDeadline: clock.now() + 85_000 };
    expect(await processBatch([record("m1", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(clock.now()).toBeLessThanOrEqual(deps.functionDeadline);
    expect(action.state.result).toBeUndefined();
    expect(action.pending()).toBe(true);
    expect(notifications).toEqual([]);
  });

  test("a drain a disruption budget keeps unfinished on the message's last receive is published, without eviction errors to name", async () => {
    api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 50);
    const sent: [string, Record<string, unknown>][] = [];
    deps = { ...deps, functionDeadline: clock.now() + 85_000, notify: async (subject, message) => void sent.push([subject, message]) };
    const last = { messageId: "m1", body: lifecycleEvent(), attributes: { ApproximateReceiveCount: "3" } } as unknown as SQSRecord;
    expect(await processBatch([last], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(sent).toEqual([["node drain failed", { messageId: "m1", kind: "lifecycle-termination", instanceId: INSTANCE, error: "drain unfinished on receive 3 of 3: the instance terminates when the lifecycle hook times out" }]]);
  });

  test.each([
    ["spot-interruption", spotEvent, []],
    ["lifecycle-termination", lifecycleEvent, [{ itemIdentifier: "m1" }]],
  ] as const)("an eviction the API refuses (403) is notified as a failed drain while the rest of the node drains (%s)", async (kind, event, retried) => {
    api.addPod("default", "locked", NODE, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("default/locked", undefined);
    const sent: [string, Record<string, unknown>][] = [];
    deps = { ...deps, notify: async (subject, message) => void sent.push([subject, message]) };
    expect(await processBatch([record("m1", event())], deps)).toEqual({ batchItemFailures: retried });
    expect([...api.pods.keys()]).toEqual(["default/locked"]);
    expect(sent).toEqual([
      [
        "node drain failed",
        { messageId: "m1", kind, instanceId: INSTANCE, error: 'eviction failing for default/locked: eviction answered 403: pods "locked" is forbidden: User "system:serviceaccount:kube-system:automation" cannot create resource "pods/eviction"' },
      ],
    ]);
  });

  test("a refused eviction is published on a message's first receive, and on its last with the abandoned drain, not on those between", async () => {
    api.addPod("default", "locked", NODE, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("default/locked", undefined);
    const sent: [string, Record<string, unknown>][] = [];
    deps = { ...deps, notify: async (subject, message) => void sent.push([subject, message]) };
    const receive = (count: number) => ({ messageId: "m1", body: lifecycleEvent(), attributes: { ApproximateReceiveCount: String(count) } }) as unknown as SQSRecord;
    const failing = 'eviction failing for default/locked: eviction answered 403: pods "locked" is forbidden: User "system:serviceaccount:kube-system:automation" cannot create resource "pods/eviction"';
    for (const count of [1, 2, 3]) expect(await processBatch([receive(count)], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(sent).toEqual([
      ["node drain failed", { messageId: "m1", kind: "lifecycle-termination", instanceId: INSTANCE, error: failing }],
      ["node drain failed", { messageId: "m1", kind: "lifecycle-termination", instanceId: INSTANCE, error: `drain unfinished on receive 3 of 3 (${failing}): the instance terminates when the lifecycle hook times out` }],
    ]);
    expect(lines.filter(([level]) => level === "error")).toEqual([
      ["error", "drain unfinished on the last attempt; the instance terminates when the hook times out", { messageId: "m1", kind: "lifecycle-termination", instanceId: INSTANCE, attempt: 3 }],
    ]);
    expect(action.pending()).toBe(true);
  });

  test("a spot drain's eviction errors are published whatever the receive: it is not retried", async () => {
    api.addPod("default", "locked", NODE, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("default/locked", undefined);
    const sent: string[] = [];
    deps = { ...deps, notify: async (_, message) => void sent.push(String(message.error)) };
    const second = { messageId: "m1", body: spotEvent(), attributes: { ApproximateReceiveCount: "2" } } as unknown as SQSRecord;
    expect(await processBatch([second], deps)).toEqual({ batchItemFailures: [] });
    expect(sent).toEqual([expect.stringMatching(/^eviction failing for default\/locked: eviction answered 403/)]);
  });

  test("a lifecycle drain whose action already ended still publishes its eviction errors: no retry will", async () => {
    api.addPod("default", "locked", NODE, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("default/locked", undefined);
    action.state.result = "CONTINUE"; // the hook continued before this receive
    const sent: string[] = [];
    deps = { ...deps, notify: async (_, message) => void sent.push(String(message.error)) };
    const second = { messageId: "m1", body: lifecycleEvent(), attributes: { ApproximateReceiveCount: "2" } } as unknown as SQSRecord;
    expect(await processBatch([second], deps)).toEqual({ batchItemFailures: [] });
    expect(sent).toEqual([expect.stringMatching(/^eviction failing for default\/locked: eviction answered 403/)]);
  });

  test.each([
    ["a spot drain on a third receive (spot drains hold no action)", spotEvent, "3"],
    ["a lifecycle drain on a receive before the last", lifecycleEvent, "2"],
  ] as const)("%s that fails reports the error alone, not an abandoned drain", async (_, event, count) => {
    const sent: string[] = [];
    const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")), notify: async (_subject: string, message: Record<string, unknown>) => void sent.push(String(message.error)) };
    await processBatch([{ messageId: "m1", body: event(), attributes: { ApproximateReceiveCount: count } } as unknown as SQSRecord], failing);
    expect(sent).toEqual(["connect ECONNREFUSED"]);
  });

  test("a lifecycle drain that fails on its message's last receive says the instance terminates without it", async () => {
    const sent: string[] = [];
    const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")), notify: async (_: string, message: Record<string, unknown>) => void sent.push(String(message.error)) };
    const last = { messageId: "m1", body: lifecycleEvent(), attributes: { ApproximateReceiveCount: "3" } } as unknown as SQSRecord;
    expect(await processBatch([last], failing)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(sent).toEqual(["drain failed on receive 3 of 3: connect ECONNREFUSED; the instance terminates when the lifecycle hook times out"]);
    expect(lines).toContainEqual(["error", "drain failed on the last attempt; the instance terminates when the hook times out", expect.objectContaining({ messageId: "m1", error: "connect ECONNREFUSED" })]);
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
    // The cordon is the only change to the node: there was no rebalance mark to remove.
    expect(api.requests.filter((request) => request.startsWith("PATCH"))).toEqual([`PATCH /api/v1/nodes/${NODE}`]);
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
    expect(action.state.requests).toEqual([]);
    expect(action.state.result).toBeUndefined();
  });

  test("a rebalance recommendation only cordons, marked with the time: running pods stay until the replacement is up", async () => {
    expect(await processBatch([record("m1", rebalanceEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.nodes.get(NODE)?.metadata.annotations).toEqual({ "k3s-aws.node-drainer/rebalance-cordon": new Date(clock.now()).toISOString() });
    expect([...api.pods.keys()]).toEqual(["default/web-1"]);
    expect(evictions()).toEqual([]);
  });

  test("a rebalance recommendation leaves a node someone already cordoned as it is, unmarked, and a repeat keeps the first mark", async () => {
    api.nodes.get(NODE)!.spec.unschedulable = true;
    await processBatch([record("m1", rebalanceEvent())], deps);
    expect(api.nodes.get(NODE)?.metadata.annotations ?? {}).toEqual({});
    expect(lines).toEqual([["info", "node already cordoned; the rebalance recommendation leaves it as it is", { messageId: "m1", kind: "rebalance-recommendation", instanceId: INSTANCE, node: NODE }]]);
    api.nodes.get(NODE)!.spec.unschedulable = undefined;
    await processBatch([record("m2", rebalanceEvent())], deps);
    const first = api.nodes.get(NODE)?.metadata.annotations;
    await clock.sleep(60_000);
    await processBatch([record("m3", rebalanceEvent())], deps);
    expect(api.nodes.get(NODE)?.metadata.annotations).toEqual(first);
  });

  test.each([
    ["spot-interruption", spotEvent],
    ["lifecycle-termination", lifecycleEvent],
  ] as const)("a drain of a node cordoned on a rebalance recommendation removes the mark first, so recovery cannot lift the cordon under it (%s)", async (_, event) => {
    await processBatch([record("m1", rebalanceEvent())], deps);
    await processBatch([record("m2", event())], deps);
    expect(api.nodes.get(NODE)?.metadata.annotations).toEqual({});
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
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

  describe("each outcome is logged once, at its level, with the message's context", () => {
    const context = (messageId: string, kind: string) => ({ messageId, kind, instanceId: INSTANCE });
    const logged = (level: string, message: RegExp, fields: Record<string, unknown>) => [level, expect.stringMatching(message), fields];

    test("a drained lifecycle event: heartbeat, drain and completion", async () => {
      await processBatch([record("m1", lifecycleEvent())], deps);
      expect(lines).toEqual([
        logged("info", /heartbeat recorded/, context("m1", "lifecycle-termination")),
        logged("info", /drained/, { ...context("m1", "lifecycle-termination"), node: NODE, evicted: ["default/web-1"], alreadyDeleting: [], skipped: [], remaining: [], evictionErrors: {}, completed: true }),
        logged("info", /completed/, { ...context("m1", "lifecycle-termination"), outcome: "completed" }),
      ]);
    });

    test("an unusable message, an instance that is not a node, and a rebalance recommendation", async () => {
      await processBatch([record("bad", "{oops")], deps);
      await processBatch([record("gone", spotEvent("i-00000000000000000"))], deps);
      await processBatch([record("rebalance", rebalanceEvent())], deps);
      expect(lines).toEqual([
        logged("warn", /skipped/, { messageId: "bad", reason: "message body is not JSON" }),
        logged("info", /no node/, { ...context("gone", "spot-interruption"), instanceId: "i-00000000000000000" }),
        logged("info", /cordoned/, { ...context("rebalance", "rebalance-recommendation"), node: NODE }),
      ]);
    });

    test("a drain left unfinished at the deadline: partial result, then the action stays held", async () => {
      api.refusals.set("default/web-1", 50);
      deps = { ...deps, functionDeadline: clock.now() + 30_000 };
      await processBatch([record("m1", lifecycleEvent())], deps);
      expect(lines.filter(([level]) => level === "warn")).toEqual([
        logged("warn", /refused/, { node: NODE, refused: ["default/web-1"] }),
        logged("warn", /partly drained/, { ...context("m1", "lifecycle-termination"), node: NODE, evicted: [], alreadyDeleting: [], skipped: [], remaining: ["default/web-1"], evictionErrors: {}, completed: false }),
        logged("warn", /held/, { ...context("m1", "lifecycle-termination"), attempt: 1 }),
      ]);
    });

    test("a drain that fails is logged as an error and notified with the same context", async () => {
      const sent: [string, Record<string, unknown>][] = [];
      const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")), notify: async (subject: string, message: Record<string, unknown>) => void sent.push([subject, message]) };
      expect(await processBatch([record("m1", spotEvent())], failing)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      expect(lines).toEqual([logged("error", /drain failed/, { ...context("m1", "spot-interruption"), error: "connect ECONNREFUSED" })]);
      expect(sent).toEqual([["node drain failed", { ...context("m1", "spot-interruption"), error: "connect ECONNREFUSED" }]]);
    });

    test("a failed notification is logged too, and the message is still retried", async () => {
      const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")), notify: async () => Promise.reject(new Error("SNS throttled")) };
      expect(await processBatch([record("m1", spotEvent())], failing)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      expect(lines).toEqual([
        logged("error", /drain failed/, { ...context("m1", "spot-interruption"), error: "connect ECONNREFUSED" }),
        logged("error", /notification failed/, { ...context("m1", "spot-interruption"), error: "SNS throttled" }),
      ]);
    });

    test("a drain that fails after the action ended is logged as a warning and not retried", async () => {
      await processBatch([record("m1", lifecycleEvent())], deps);
      lines.length = 0;
      const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")) };
      expect(await processBatch([record("m1-again", lifecycleEvent())], failing)).toEqual({ batchItemFailures: [] });
      expect(lines).toEqual([
        logged("info", /no longer pending/, context("m1-again", "lifecycle-termination")),
        logged("warn", /after the lifecycle action ended/, { ...context("m1-again", "lifecycle-termination"), error: "connect ECONNREFUSED" }),
      ]);
    });
  });

  test("once Auto Scaling says the action is over, no further heartbeat is sent during the drain", async () => {
    await processBatch([record("m1", lifecycleEvent())], deps);
    api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 30); // a drain of 150 s, past two intervals
    const before = action.state.requests.length;
    expect(await processBatch([record("m1-again", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(action.state.requests.length - before).toBe(1);
    expect(clock.timers).toEqual([]);
  });

  test("a drain that fails while the action is held stops its heartbeats", async () => {
    const failing = { ...deps, cluster: async () => Promise.reject(new Error("connect ECONNREFUSED")) };
    expect(await processBatch([record("m1", lifecycleEvent())], failing)).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    expect(clock.timers).toEqual([]);
    await clock.sleep(5 * INTERVAL_MS);
    expect(action.state.heartbeats).toHaveLength(1);
  });

  test("a node the cloud provider has not yet given a provider ID is passed over, not an error", async () => {
    // Listed before the instance's node, so the search meets it first.
    const target = api.nodes.get(NODE)!;
    api.nodes.delete(NODE);
    api.putNode({ metadata: { name: "ip-10-0-1-99.eu-west-1.compute.internal", labels: {} }, spec: {}, status: { allocatable: { cpu: "2", memory: "8Gi" }, conditions: [{ type: "Ready", status: "False" }] } } as FakeNode);
    api.putNode(target);
    expect(await processBatch([record("m1", spotEvent())], deps)).toEqual({ batchItemFailures: [] });
    expect(api.nodes.get(NODE)?.spec.unschedulable).toBe(true);
    expect(api.pods.size).toBe(0);
  });

  test("a failure reaching AWS while the action is held reports only that message for retry, and notifies", async () => {
    action.state.completeError = new Error("Rate exceeded");
    expect(await processBatch([record("ok", spotEvent()), record("fails", lifecycleEvent())], deps)).toEqual({ batchItemFailures: [{ itemIdentifier: "fails" }] });
    expect(notifications).toEqual(["node drain failed"]);
  });
});
