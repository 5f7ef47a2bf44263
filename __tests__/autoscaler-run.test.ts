import { AgentGroup, AgentGroupView } from "../lambdas/autoscaler/aws";
import { runAutoscaler, RunDeps } from "../lambdas/autoscaler/run";
import { DynamoLock, StateStore } from "../lambdas/autoscaler/store";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { FakeKubeApi } from "./support/fake-kube-api";
import { LocalDynamo, startDynamo } from "./support/dynalite";

const MINUTE = 60_000;

/** An auto scaling group that records what it is asked to do. */
class RecordingGroup implements AgentGroup {
  readonly calls: string[] = [];
  constructor(public view: AgentGroupView) {}
  async describe() {
    return this.view;
  }
  async setDesired(desired: number) {
    this.calls.push(`setDesired ${desired}`);
    this.view = { ...this.view, desired };
  }
  async terminate(instanceId: string) {
    this.calls.push(`terminate ${instanceId}`);
  }
}

describe("autoscaler runs (local Kubernetes API and dynalite)", () => {
  let api: FakeKubeApi;
  let dynamo: LocalDynamo;
  let group: RecordingGroup;
  let notifications: [string, Record<string, unknown>][];
  let metrics: string[];
  let now: number;
  let deps: (invocationId?: string) => RunDeps;

  beforeEach(async () => {
    api = new FakeKubeApi();
    const server = await api.start();
    dynamo = await startDynamo();
    api.addNode("agent-a", "i-0aaaaaaaaaaaaaaaa");
    api.addNode("agent-b", "i-0bbbbbbbbbbbbbbbb");
    api.addNode("server-1", "i-0cccccccccccccccc");
    group = new RecordingGroup({ desired: 2, min: 1, max: 5, instanceIds: ["i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"] });
    notifications = [];
    metrics = [];
    now = 1_700_000_000_000;
    deps = (invocationId = "run-1") => ({
      cluster: async () => kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "t" })),
      group,
      lock: new DynamoLock(dynamo.client, dynamo.table),
      store: new StateStore(dynamo.client, dynamo.table),
      notify: async (subject, message) => void notifications.push([subject, message]),
      log: () => undefined,
      metric: (line) => void metrics.push(line),
      now: () => now,
      sleep: async (ms) => void (now += ms),
      invocationId,
      functionDeadline: now + 4 * MINUTE,
      lockTtlMs: 5 * MINUTE,
      clusterName: "k3s",
      fallbackNodeTemplate: { cpuMillis: 1800, memoryBytes: 7 * 2 ** 30 },
      config: { maxStepUp: 3, scaleDownThreshold: 0.5, scaleDownWindowMs: 10 * MINUTE, cooldownMs: 10 * MINUTE },
    });
  });
  afterEach(async () => {
    await api.stop();
    await dynamo.stop();
  });

  test("unschedulable pods raise desired capacity, notify, emit metrics and release the lock", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1800m", owner: "ReplicaSet" });
    api.addPod("default", "busy-b", "agent-b", { cpu: "1800m", owner: "ReplicaSet" });
    api.addPod("default", "waiting-1", undefined, { cpu: "1500m", unschedulable: true, owner: "ReplicaSet" });
    api.addPod("default", "waiting-2", undefined, { cpu: "1500m", unschedulable: true, owner: "ReplicaSet" });
    const decision = await runAutoscaler(deps());
    expect(decision).toMatchObject({ action: "scale-up", by: 2, desired: 4 });
    expect(group.calls).toEqual(["setDesired 4"]);
    expect(notifications.map(([subject]) => subject)).toEqual(["k3s autoscaler: scale-up"]);
    expect(JSON.parse(metrics[0])).toMatchObject({ Cluster: "k3s", ScaleUp: 2, ScaleDown: 0, PendingPods: 2 });
    expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("next", now, MINUTE)).toBe(true);
    expect((await new StateStore(dynamo.client, dynamo.table).load()).lastScaleUpAt).toBe(now);
  });

  test("an underutilized agent is drained and terminated after the window; servers are never candidates", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    expect(await runAutoscaler(deps("run-1"))).toMatchObject({ action: "none" });
    now += 11 * MINUTE;
    expect(await runAutoscaler(deps("run-2"))).toMatchObject({ action: "scale-down", node: "agent-b", instanceId: "i-0bbbbbbbbbbbbbbbb" });
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBe(true);
    expect(api.pods.has("default/small-b")).toBe(false);
    expect(group.calls).toEqual(["terminate i-0bbbbbbbbbbbbbbbb"]);
    expect(api.nodes.get("server-1")?.spec.unschedulable).toBeUndefined();
  });

  test("a drain that cannot finish uncordons the node and terminates nothing", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    api.refusals.set("default/small-b", 1000);
    await runAutoscaler(deps("run-1"));
    now += 11 * MINUTE;
    expect(await runAutoscaler(deps("run-2"))).toEqual({ action: "none", reason: "scale-down of agent-b abandoned: 1 pod(s) could not be moved in time" });
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(group.calls).toEqual([]);
  });

  test("an overlapping run does nothing while the lock is held", async () => {
    expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("other-run", now, 5 * MINUTE)).toBe(true);
    expect(await runAutoscaler(deps())).toBeUndefined();
    expect(api.requests).toEqual([]);
  });

  test("a failure is notified, rethrown for the error alarm, and the lock released", async () => {
    group.describe = async () => {
      throw new Error("auto scaling group k3s-agents not found");
    };
    await expect(runAutoscaler(deps())).rejects.toThrow("auto scaling group k3s-agents not found");
    expect(notifications).toEqual([["k3s autoscaler: run failed", { cluster: "k3s", error: "auto scaling group k3s-agents not found" }]]);
    expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("next", now, MINUTE)).toBe(true);
  });
});
