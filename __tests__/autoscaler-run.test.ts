import { ScanCommand } from "@aws-sdk/client-dynamodb";
import type { SQSRecord } from "aws-lambda";
import { AgentGroup, AgentGroupView } from "../lambdas/autoscaler/aws";
import { pollAutoscaler } from "../lambdas/autoscaler/poll";
import { runAutoscaler, RunDeps } from "../lambdas/autoscaler/run";
import { DynamoLock, StateStore } from "../lambdas/autoscaler/store";
import { DrainerDeps, processBatch } from "../lambdas/node-drainer/drainer";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { formatNotification } from "../lambdas/slack-forwarder/format";
import { FakeKubeApi } from "./support/fake-kube-api";
import { LocalDynamo, startDynamo } from "./support/dynalite";
import { localNamed, resourceNamed, synthCluster, writtenManifests } from "./helpers";

const MINUTE = 60_000;

const MARK = "k3s-aws.autoscaler/scale-down";

/** A published notification as the Slack forwarder posts it. */
const slackText = ([subject, message]: [string, Record<string, unknown>]) => formatNotification({ subject, message: JSON.stringify(message, null, 2) }, "k3s").text;

/** An auto scaling group that records what it is asked to do. */
class RecordingGroup implements AgentGroup {
  readonly calls: string[] = [];
  private launched = 0;
  constructor(public view: AgentGroupView) {}
  async describe() {
    return this.view;
  }
  async setDesired(desired: number) {
    this.calls.push(`setDesired ${desired}`);
    this.view = { ...this.view, desired };
  }
  /** TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity: the instance leaves, desired drops. */
  async terminate(instanceId: string) {
    this.calls.push(`terminate ${instanceId}`);
    this.view = { ...this.view, desired: this.view.desired - 1, instanceIds: this.view.instanceIds.filter((id) => id !== instanceId) };
  }
  /** As Auto Scaling does: the instance leaves for Terminating, and one launches in its place. */
  async replace(instanceId: string) {
    this.calls.push(`replace ${instanceId}`);
    this.view = { ...this.view, instanceIds: [...this.view.instanceIds.filter((id) => id !== instanceId), `i-0launched${++this.launched}`] };
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
      agentInstance: { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" },
      config: { expendablePriorityCutoff: -10, maxStepUp: 3, scaleDownThreshold: 0.5, scaleDownWindowMs: 10 * MINUTE, cooldownMs: 10 * MINUTE },
      notReadyReplaceAfterMs: 20 * MINUTE,
    });
  });
  afterEach(async () => {
    await api.stop();
    await dynamo.stop();
  });

  test("an agent the node drainer cordoned on a rebalance recommendation is uncordoned by recovery after 30 minutes without a replacement", async () => {
    // The node drainer, on the same API: its mark is what recovery reads.
    const drainer: DrainerDeps = {
      agentGroupName: "k3s-agents",
      heartbeatIntervalMs: MINUTE,
      attempts: 3,
      cluster: deps().cluster,
      lifecycle: { heartbeat: async () => "recorded", complete: async () => "completed" },
      notify: async () => undefined,
      log: () => undefined,
      now: () => now,
      sleep: async (ms) => void (now += ms),
      every: () => () => undefined,
      functionDeadline: now + MINUTE,
      retryDelayMs: 5000,
    };
    const rebalance = JSON.stringify({ "detail-type": "EC2 Instance Rebalance Recommendation", source: "aws.ec2", time: new Date(now).toISOString(), detail: { "instance-id": "i-0bbbbbbbbbbbbbbbb" } });
    await processBatch([{ messageId: "m1", body: rebalance } as SQSRecord], drainer);
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBe(true);
    now += 29 * MINUTE;
    await runAutoscaler(deps("run-1"));
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBe(true);
    now += MINUTE;
    await runAutoscaler(deps("run-2"));
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({});
    expect(notifications.map(([subject]) => subject)).toEqual(["k3s autoscaler: recovery"]);
    expect(slackText(notifications[0])).toContain("released agent-b: agent-b was cordoned on a rebalance recommendation at");
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
    // What the Slack forwarder makes of the published notification (serialised as snsNotifier sends it).
    expect(slackText(notifications[0])).toMatch(/^:arrow_up: \*k3s: scaled up\* the agents from 2 to 4 \(\+2\)\n\*Reason:\* /);
    expect(JSON.parse(metrics[0])).toMatchObject({ Cluster: "k3s", ScaleUp: 2, ScaleDown: 0, PendingPods: 2 });
    expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("next", now, MINUTE)).toBe(true);
    expect((await new StateStore(dynamo.client, dynamo.table).load()).lastScaleUpAt).toBe(now);
  });

  test("a pod on an unbound WaitForFirstConsumer claim is demand; one on an unbound Immediate claim waits for its volume (scheduler VolumeBinding)", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1800m", owner: "ReplicaSet" });
    api.addPod("default", "busy-b", "agent-b", { cpu: "1800m", owner: "ReplicaSet" });
    const claimant = (name: string, claimName: string) => ({
      metadata: { name, namespace: "default", ownerReferences: [{ kind: "StatefulSet", name: "db", controller: true, apiVersion: "apps/v1", uid: "db-uid" }] },
      spec: { containers: [{ name: "main", resources: { requests: { cpu: "1" } } }], volumes: [{ name: "data", persistentVolumeClaim: { claimName } }] },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }] },
    });
    const pendingClaim = (name: string, storageClassName: string) => ({ metadata: { name, namespace: "default" }, spec: { storageClassName }, status: { phase: "Pending" } });
    api.storageClasses.push({ metadata: { name: "gp3" }, provisioner: "ebs.csi.aws.com", volumeBindingMode: "WaitForFirstConsumer" }, { metadata: { name: "efs" }, provisioner: "efs.csi.aws.com", volumeBindingMode: "Immediate" });
    api.claims.push(pendingClaim("data-ebs-0", "gp3"), pendingClaim("data-efs-0", "efs"));
    api.putPod(claimant("ebs-0", "data-ebs-0"));
    api.putPod(claimant("efs-0", "data-efs-0"));
    const decision = await runAutoscaler(deps());
    expect(decision).toMatchObject({ action: "scale-up", by: 1 });
    expect(decision?.reason).toContain("1 pending pod(s) ignored: default/efs-0 (waiting for PersistentVolumeClaim data-efs-0 to be bound)");
  });

  test("the metrics a run publishes are the ones the cluster dashboard graphs, under the same namespace and dimension", async () => {
    await runAutoscaler(deps());
    const line = JSON.parse(metrics[0]);
    const [declared] = line._aws.CloudWatchMetrics;
    const published = declared.Metrics.map((metric: { Name: string }) => `${declared.Namespace} ${metric.Name} ${declared.Dimensions[0][0]}=${line[declared.Dimensions[0][0]]}`);
    // The run's cluster is "k3s", the default cluster name.
    const dashboard = JSON.parse(resourceNamed(synthCluster().json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body);
    const graphed = dashboard.widgets.find((widget: any) => widget.properties.title === "Autoscaler").properties.metrics.map((metric: string[]) => `${metric[0]} ${metric[1]} ${metric[2]}=${metric[3]}`);
    expect(graphed).toEqual(published);
    expect(published).toHaveLength(7);
    // And Grafana's autoscaler dashboard, through its CloudWatch datasource (monitoring, with the service-account issuer).
    const grafana = JSON.parse(
      writtenManifests(localNamed(synthCluster().json, "Compute_Servers_UserData"))["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"],
    );
    const targets = grafana.panels.filter((panel: any) => panel.datasource?.type === "cloudwatch").flatMap((panel: any) => panel.targets);
    expect(targets.map((target: any) => `${target.namespace} ${target.metricName} ${Object.entries(target.dimensions).map(([key, value]) => `${key}=${value}`).join()}`)).toEqual(published);
  });

  test("a pod no new agent could take is reported in the reason and the UnplaceablePods metric, and moves nothing", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1800m", owner: "ReplicaSet" });
    api.addPod("default", "busy-b", "agent-b", { cpu: "1800m", owner: "ReplicaSet" });
    api.addPod("default", "huge", undefined, { cpu: "4", unschedulable: true, owner: "ReplicaSet" });
    const decision = await runAutoscaler(deps());
    expect(decision).toMatchObject({ action: "none" });
    expect(decision?.reason).toContain("1 pod(s) no new agent could take: default/huge (insufficient cpu (requests 4000m, 2000m free))");
    expect(group.calls).toEqual([]);
    expect(JSON.parse(metrics[0])).toMatchObject({ ScaleUp: 0, PendingPods: 1, UnplaceablePods: 1 });
  });

  test("an underutilized agent is drained and terminated after the window; servers are never candidates", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    expect(await runAutoscaler(deps("run-1"))).toMatchObject({ action: "none" });
    now += 11 * MINUTE;
    const decidedAt = new Date(now).toISOString();
    expect(await runAutoscaler(deps("run-2"))).toMatchObject({ action: "scale-down", node: "agent-b", instanceId: "i-0bbbbbbbbbbbbbbbb" });
    // The terminated node keeps its cordon and mark: its instance is terminating and no longer an agent.
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBe(true);
    expect(api.nodes.get("agent-b")?.metadata.annotations?.[MARK]).toBe(decidedAt);
    expect(api.pods.has("default/small-b")).toBe(false);
    expect(group.calls).toEqual(["terminate i-0bbbbbbbbbbbbbbbb"]);
    expect(api.nodes.get("server-1")?.spec.unschedulable).toBeUndefined();
    expect(slackText(notifications[notifications.length - 1])).toMatch(/^:arrow_down: \*k3s: scaled down\* the agents from 2 to 1, removing agent-b \(i-0bbbbbbbbbbbbbbbb\)\n/);
  });

  describe("one removal after another (cluster-autoscaler: --scale-down-delay-after-delete is the scan interval)", () => {
    beforeEach(() => {
      api.addNode("agent-c", "i-0dddddddddddddddd");
      group.view = { desired: 3, min: 1, max: 5, instanceIds: ["i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb", "i-0dddddddddddddddd"] };
      api.addPod("default", "busy-a", "agent-a", { cpu: "1500m", owner: "ReplicaSet" });
    });
    /** agent-b below agent-c, both under the threshold: agent-b is the first candidate. */
    const smallPodsOnBAndC = () => {
      api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
      api.addPod("default", "small-c", "agent-c", { cpu: "200m", owner: "ReplicaSet" });
    };

    test("empty agents go one a run: a removal holds back no other", async () => {
      await runAutoscaler(deps("run-1"));
      now += 11 * MINUTE;
      expect(await runAutoscaler(deps("run-2"))).toMatchObject({ action: "scale-down", node: "agent-b" });
      now += MINUTE;
      expect(await runAutoscaler(deps("run-3"))).toMatchObject({ action: "scale-down", node: "agent-c" });
      expect(group.calls).toEqual(["terminate i-0bbbbbbbbbbbbbbbb", "terminate i-0dddddddddddddddd"]);
    });

    test("a removal that moved pods restarts every other window: its pods may have landed on the next candidate", async () => {
      smallPodsOnBAndC();
      await runAutoscaler(deps("run-1"));
      now += 11 * MINUTE;
      expect(await runAutoscaler(deps("run-2"))).toMatchObject({ action: "scale-down", node: "agent-b" });
      now += MINUTE;
      expect(await runAutoscaler(deps("run-3"))).toMatchObject({ action: "none", reason: expect.stringContaining("no node below 50% of allocatable for 10 min") });
      now += 10 * MINUTE;
      expect(await runAutoscaler(deps("run-4"))).toMatchObject({ action: "scale-down", node: "agent-c" });
    });

    test("a failed scale-down holds every other one for 3 minutes (--scale-down-delay-after-failure) and restarts the windows", async () => {
      smallPodsOnBAndC();
      api.refusals.set("default/small-b", 1000);
      await runAutoscaler(deps("run-1"));
      now += 11 * MINUTE;
      expect(await runAutoscaler(deps("run-2"))).toMatchObject({ action: "none", reason: expect.stringContaining("scale-down of agent-b abandoned") });
      // The run's clock moved on while the drain retried; the failure is recorded at the run's start.
      const failedAt = (await new StateStore(dynamo.client, dynamo.table).load()).lastScaleDownFailureAt!;
      expect(failedAt).toBeGreaterThan(0);
      now = failedAt + MINUTE;
      expect(await runAutoscaler(deps("run-3"))).toMatchObject({ action: "none", reason: expect.stringMatching(/holding scale-down for 1\d\d s after a failed one/) });
      // The evictions that did happen may have moved pods onto agent-c, so its window restarted at the attempt too.
      now = failedAt + 3 * MINUTE;
      expect(await runAutoscaler(deps("run-4"))).toMatchObject({ action: "none", reason: expect.stringContaining("no node below 50% of allocatable for 10 min") });
    });
  });

  test("a drain that cannot finish uncordons the node and terminates nothing", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    api.refusals.set("default/small-b", 1000);
    await runAutoscaler(deps("run-1"));
    now += 11 * MINUTE;
    expect(await runAutoscaler(deps("run-2"))).toEqual({ action: "none", reason: "scale-down of agent-b abandoned: 1 pod(s) could not be moved in time" });
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({});
    expect(group.calls).toEqual([]);
  });

  test("an eviction that keeps failing (500) fails the run once retried to the deadline, naming the error; the node is uncordoned and unmarked", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    api.evictionErrors.add("default/small-b");
    await runAutoscaler(deps("run-1"));
    now += 11 * MINUTE;
    await expect(runAutoscaler(deps("run-2"))).rejects.toThrow(
      "scale-down of agent-b failed: eviction failing for default/small-b: eviction answered 500: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
    expect(api.requests.filter((request) => request === "POST /api/v1/namespaces/default/pods/small-b/eviction").length).toBeGreaterThan(1);
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({});
    expect(group.calls).toEqual([]);
    expect(notifications.map(([subject]) => subject)).toEqual(["k3s autoscaler: run failed"]);
  });

  test("a drain that fails with an API error (listing the node's pods) uncordons and unmarks the node, then reports the failure", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    await runAutoscaler(deps("run-1"));
    now += 11 * MINUTE;
    const base = deps("run-2");
    const failing: RunDeps = { ...base, cluster: async () => ({ ...(await base.cluster()), listPods: async (node?: string) => (node ? Promise.reject(new Error("HTTP 500 listing pods")) : (await base.cluster()).listPods()) }) };
    await expect(runAutoscaler(failing)).rejects.toThrow("HTTP 500 listing pods");
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({});
    expect(group.calls).toEqual([]);
    expect(notifications.map(([subject]) => subject)).toEqual(["k3s autoscaler: run failed"]);
  });

  test("an uncordon that fails after a failed drain is logged; the drain's error is the one reported", async () => {
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    api.addPod("default", "small-b", "agent-b", { cpu: "100m", owner: "ReplicaSet" });
    await runAutoscaler(deps("run-1"));
    now += 11 * MINUTE;
    const logged: [string, string, Record<string, unknown> | undefined][] = [];
    const base = deps("run-2");
    const flaky: RunDeps = {
      ...base,
      cluster: async () => {
        const cluster = await base.cluster();
        return { ...cluster, listPods: async (node?: string) => (node ? Promise.reject(new Error("HTTP 500 listing pods")) : cluster.listPods()), uncordon: async () => Promise.reject(new Error("connection reset")) };
      },
      log: (level, message, fields) => void logged.push([level, message, fields]),
    };
    await expect(runAutoscaler(flaky)).rejects.toThrow("HTTP 500 listing pods");
    expect(logged).toContainEqual(["error", "could not uncordon a marked node; the next run retries", { node: "agent-b", mark: MARK, error: "connection reset" }]);
    // Still cordoned and marked, so the next run's recovery releases it.
    expect(api.nodes.get("agent-b")?.metadata.annotations?.[MARK]).toBeDefined();
    await runAutoscaler(deps("run-3"));
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({});
  });

  test("a node a dead run left cordoned and marked is uncordoned and unmarked, notified and counted", async () => {
    const markedAt = new Date(now - 3 * MINUTE).toISOString();
    api.addNode("agent-b", "i-0bbbbbbbbbbbbbbbb", { unschedulable: true, annotations: { [MARK]: markedAt, "team/owner": "platform" } });
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    expect(await runAutoscaler(deps())).toMatchObject({ action: "none" });
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBeUndefined();
    expect(api.nodes.get("agent-b")?.metadata.annotations).toEqual({ "team/owner": "platform" });
    expect(group.calls).toEqual([]);
    expect(notifications).toEqual([
      ["k3s autoscaler: recovery", { cluster: "k3s", done: [{ action: "release", node: "agent-b", mark: MARK, reason: `agent-b was marked for scale-down at ${markedAt} by a run that did not finish` }], failed: [] }],
    ]);
    expect(JSON.parse(metrics[0])).toMatchObject({ ReleasedNodes: 1, ReplacedNodes: 0 });
  });

  test("a node cordoned by someone else (no mark) is left cordoned", async () => {
    api.addNode("agent-b", "i-0bbbbbbbbbbbbbbbb", { unschedulable: true, annotations: { "team/reason": "kernel upgrade" } });
    await runAutoscaler(deps());
    expect(api.nodes.get("agent-b")?.spec.unschedulable).toBe(true);
    expect(api.requests.filter((request) => request.startsWith("PATCH"))).toEqual([]);
    expect(notifications).toEqual([]);
  });

  test("an agent NotReady past the limit is replaced once, keeping desired capacity; one NotReady for less is not", async () => {
    api.addNode("agent-b", "i-0bbbbbbbbbbbbbbbb", { ready: false, readyTransitionTime: new Date(now - 21 * MINUTE).toISOString() });
    api.addNode("agent-c", "i-0dddddddddddddddd", { ready: false, readyTransitionTime: new Date(now - 5 * MINUTE).toISOString() });
    group.view = { ...group.view, desired: 3, instanceIds: [...group.view.instanceIds, "i-0dddddddddddddddd"] };
    api.addPod("default", "busy-a", "agent-a", { cpu: "1000m", owner: "ReplicaSet" });
    await runAutoscaler(deps("run-1"));
    expect(group.calls).toEqual(["replace i-0bbbbbbbbbbbbbbbb"]);
    expect(group.view.desired).toBe(3);
    expect(notifications.map(([subject]) => subject)).toEqual(["k3s autoscaler: recovery"]);
    expect(JSON.parse(metrics[0])).toMatchObject({ ReplacedNodes: 1, ReleasedNodes: 0 });
    // The node object lingers NotReady while its instance terminates; later runs leave it alone.
    for (const run of ["run-2", "run-3"]) {
      now += MINUTE;
      await runAutoscaler(deps(run));
    }
    expect(group.calls).toEqual(["replace i-0bbbbbbbbbbbbbbbb"]);
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

  describe("an invocation's passes (poll.ts)", () => {
    beforeEach(() => {
      api.addPod("default", "busy-a", "agent-a", { cpu: "1800m", owner: "ReplicaSet" });
      api.addPod("default", "busy-b", "agent-b", { cpu: "1800m", owner: "ReplicaSet" });
    });

    test("a pod that cannot be placed 25 s into the invocation is scaled for at the next pass, 30 s in, once; one 45 s in, at 50 s", async () => {
      const started = now;
      const invocation = deps();
      let connections = 0;
      const late = [
        { at: 25_000, name: "late-1" },
        { at: 45_000, name: "late-2" },
      ];
      const decisions = await pollAutoscaler(
        {
          ...invocation,
          cluster: () => {
            connections += 1;
            return invocation.cluster();
          },
          sleep: async (ms) => {
            now += ms;
            while (late.length > 0 && now - started >= late[0].at) api.addPod("default", late.shift()!.name, undefined, { cpu: "1500m", unschedulable: true, owner: "ReplicaSet" });
          },
        },
        10_000,
      );
      expect(decisions.map((decision) => decision?.action)).toEqual(["none", "none", "none", "scale-up", "none", "scale-up"]);
      expect(now - started).toBe(50_000);
      // The passes after a scale-up count the launching agent for its pod, so no pod is scaled for twice.
      expect(group.calls).toEqual(["setDesired 3", "setDesired 4"]);
      expect((await new StateStore(dynamo.client, dynamo.table).load()).lastScaleUpAt).toBe(started + 50_000);
      // One client, so one read of the access secret, for the invocation's six passes.
      expect(connections).toBe(1);
      // The history keeps both scale-ups and one decision to do nothing (the first pass's), not four.
      const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.table }));
      const recorded = Items.filter((item) => Object.values(item).some((value) => value.S?.startsWith("autoscaler#decision#"))).map((item) => JSON.parse(item.decision.S!).action);
      expect(recorded.sort()).toEqual(["none", "scale-up", "scale-up"]);

      // The minute's six metric lines, read with each graph's statistic, say what happened: two agents added, at most
      // two pods pending at once (a Sum over the passes would say four; a Maximum of the scale-ups, one).
      expect(metrics).toHaveLength(6);
      const { json } = synthCluster();
      const dashboard = JSON.parse(resourceNamed(json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body);
      const widget = dashboard.widgets.find((candidate: any) => candidate.properties.title === "Autoscaler").properties;
      const grafana = JSON.parse(writtenManifests(localNamed(json, "Compute_Servers_UserData"))["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"]);
      const targets = grafana.panels.filter((panel: any) => panel.datasource?.type === "cloudwatch").flatMap((panel: any) => panel.targets);
      const lines = metrics.map((line) => JSON.parse(line));
      const read = (name: string, statistic: string) => {
        const values = lines.map((line) => line[name] as number);
        if (statistic === "Sum") return values.reduce((sum, value) => sum + value, 0);
        if (statistic === "Maximum") return Math.max(...values);
        throw new Error(`unexpected statistic ${statistic}`);
      };
      const onDashboard = Object.fromEntries(widget.metrics.map((metric: any[]) => [metric[1], read(metric[1], metric[4].stat ?? widget.stat)]));
      const inGrafana = Object.fromEntries(targets.map((target: any) => [target.metricName, read(target.metricName, target.statistic)]));
      const happened = { ScaleUp: 2, ScaleDown: 0, PendingPods: 2, UnplaceablePods: 0, ReleasedNodes: 0, ReplacedNodes: 0, ScalingHeld: 0 };
      expect(onDashboard).toEqual(happened);
      expect(inGrafana).toEqual(happened);
    }, 30_000);

    test("0 runs one pass; a failed pass ends the invocation with its error and runs no more", async () => {
      expect(await pollAutoscaler(deps(), 0)).toHaveLength(1);
      let describes = 0;
      const describe = group.describe.bind(group);
      group.describe = async () => {
        if (++describes === 2) throw new Error("Rate exceeded");
        return describe();
      };
      const started = now;
      await expect(pollAutoscaler(deps("run-2"), 10_000)).rejects.toThrow("Rate exceeded");
      expect(describes).toBe(2);
      expect(now - started).toBe(10_000);
      expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("next", now, MINUTE)).toBe(true);
    });
  });
});
