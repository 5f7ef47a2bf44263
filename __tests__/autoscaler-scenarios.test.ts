import { runAutoscaler, RunDeps } from "../lambdas/autoscaler/run";
import { DynamoLock, StateStore } from "../lambdas/autoscaler/store";
import { LocalDynamo, startDynamo } from "./support/dynalite";
import { simPod, SimulatedCluster } from "./support/simulated-cluster";

// An hour of the real run loop, once per simulated minute, against a simulated cluster whose scheduler places pods
// with the same predicates (support/simulated-cluster.ts). Each scenario is one of cluster-autoscaler's documented
// behaviours (cluster-autoscaler/FAQ.md).

const MINUTE = 60_000;
const GIB = 2 ** 30;
const AGENT = { allocatable: { cpuMillis: 1930, memoryBytes: 7.5 * GIB }, labels: { "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "t4g.large" } };

describe("an hour of autoscaler runs against a simulated cluster", () => {
  let dynamo: LocalDynamo;
  beforeEach(async () => {
    dynamo = await startDynamo();
  });
  afterEach(async () => {
    await dynamo.stop();
  });

  /** Runs the autoscaler once a minute for `minutes`, returning every decision. */
  async function simulate(cluster: SimulatedCluster, minutes: number, config: Partial<RunDeps["config"]> = {}, afterEachMinute: () => void = () => undefined, metricLines: string[] = []) {
    const decisions = [];
    cluster.schedule();
    for (let minute = 0; minute < minutes; minute++) {
      // A run's clock starts at the cluster's minute and moves on while the run sleeps (drain retries), so a drain
      // that keeps waiting reaches its deadline as it would in a real invocation.
      let slept = 0;
      const deps: RunDeps = {
        cluster: async () => cluster,
        group: cluster,
        lock: new DynamoLock(dynamo.client, dynamo.table),
        store: new StateStore(dynamo.client, dynamo.table),
        notify: async () => undefined,
        log: () => undefined,
        metric: (line) => void metricLines.push(line),
        now: () => cluster.now + slept,
        sleep: async (ms) => void (slept += ms),
        invocationId: `run-${minute}`,
        functionDeadline: cluster.now + 4 * MINUTE,
        lockTtlMs: 5 * MINUTE,
        clusterName: "k3s",
        agentInstance: { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" },
        notReadyReplaceAfterMs: 20 * MINUTE,
        config: { expendablePriorityCutoff: -10, maxStepUp: 10, scaleDownThreshold: 0.5, scaleDownWindowMs: 10 * MINUTE, cooldownMs: 10 * MINUTE, ...config },
      };
      // A failed run rethrows for the error alarm; the schedule runs the next one a minute later all the same.
      decisions.push(await runAutoscaler(deps).catch((error: Error) => ({ action: "failed" as const, reason: error.message })));
      cluster.tick();
      afterEachMinute();
    }
    return decisions;
  }

  test("a pod no agent can ever run never moves desired capacity (FAQ: pods that cannot be scheduled on any node group)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 3 }, AGENT);
    cluster.pods.push(simPod("amd64-only", { cpuMillis: 100, memoryBytes: 0.1 * GIB }, { nodeSelector: { "kubernetes.io/arch": "amd64" } }));
    cluster.pods.push(simPod("web-0", { cpuMillis: 1500, memoryBytes: GIB }));
    await simulate(cluster, 60);
    expect(cluster.calls.filter((call) => call.startsWith("setDesired"))).toEqual([]);
    expect(cluster.pods.find((pod) => pod.name === "amd64-only")?.nodeName).toBeUndefined();
    // Nor does it hold idle nodes: scale-down ignores pods no node could take (FAQ: scale-down conditions).
    expect(cluster.calls.filter((call) => call.startsWith("terminate"))).toHaveLength(2);
  });

  test("a spike is absorbed in one scale-up (FAQ: binpacking estimator sizes the whole batch)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 1 }, AGENT);
    for (let i = 0; i < 12; i++) cluster.pods.push(simPod(`batch-${i}`, { cpuMillis: 600, memoryBytes: GIB }));
    await simulate(cluster, 30);
    expect(cluster.calls.filter((call) => call.startsWith("setDesired"))).toHaveLength(1);
    expect(cluster.pods.filter((pod) => !pod.nodeName)).toEqual([]);
  });

  test("an idle node is removed once and the cluster settles (FAQ: scale-down after 10 minutes under 50 % requested)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 3 }, AGENT);
    cluster.pods.push(simPod("web-0", { cpuMillis: 1200, memoryBytes: 2 * GIB }));
    cluster.pods.push(simPod("web-1", { cpuMillis: 300, memoryBytes: GIB }));
    await simulate(cluster, 60);
    const terminations = cluster.calls.filter((call) => call.startsWith("terminate"));
    // Both pods fit on one node: the two idle ones go, one per run, each once.
    expect(terminations).toHaveLength(2);
    expect(new Set(terminations).size).toBe(2);
    expect(cluster.nodeCount).toBe(1);
    // Settled: everything runs, and the last half hour changed nothing.
    expect(cluster.pods.filter((pod) => !pod.nodeName)).toEqual([]);
    const lastChange = cluster.calls.map((call, index) => (call.startsWith("terminate") || call.startsWith("setDesired") ? index : -1)).reduce((a, b) => Math.max(a, b), -1);
    expect(cluster.calls.slice(lastChange + 1).filter((call) => call.startsWith("cordon"))).toEqual([]);
  });

  test("a node whose pod a PodDisruptionBudget protects is never cordoned, so never uncordoned in a loop (FAQ: restrictive PDBs)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT);
    const [first, second] = cluster.nodeNames();
    cluster.bind(simPod("web-0", { cpuMillis: 1000, memoryBytes: GIB }), first);
    // Underutilized, and its one pod would fit on the first node: only the budget keeps the node.
    cluster.bind(simPod("db-0", { cpuMillis: 100, memoryBytes: 0.2 * GIB }, { controllerKind: "StatefulSet" }), second);
    // A selector with matchExpressions, as StatefulSet charts often write them.
    cluster.budgets = [{ namespace: "default", selector: { matchExpressions: [{ key: "app", operator: "In", values: ["db"] }] }, disruptionsAllowed: 0 }];
    await simulate(cluster, 60);
    expect(cluster.calls.filter((call) => call.startsWith("cordon") || call.startsWith("uncordon"))).toEqual([]);
    expect(cluster.nodeCount).toBe(2);
  });

  test("replicas kept apart by required pod anti-affinity are not removed then re-added in a loop (the removal simulation runs InterPodAffinity upstream)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 3 }, AGENT);
    const [first, second, third] = cluster.nodeNames();
    const replica = (name: string) => simPod(name, { cpuMillis: 200, memoryBytes: 0.5 * GIB }, { labels: { app: "web" }, interPodConstraints: ["required pod anti-affinity"] });
    cluster.bind(simPod("batch-0", { cpuMillis: 1200, memoryBytes: 2 * GIB }, { labels: { app: "batch" } }), first);
    cluster.bind(replica("web-0"), second);
    cluster.bind(replica("web-1"), third);
    await simulate(cluster, 60);
    // Resource predicates alone would move web-1 beside web-0; the scheduler refuses, and a new agent would follow.
    expect(cluster.calls.filter((call) => call.startsWith("setDesired"))).toEqual([]);
    expect(cluster.pods.filter((pod) => !pod.nodeName)).toEqual([]);
  });

  test("a drain that fails with an API error never leaves the node cordoned (a clean failure uncordons and unmarks)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT);
    const [first, second] = cluster.nodeNames();
    cluster.bind(simPod("web-0", { cpuMillis: 1000, memoryBytes: GIB }), first);
    cluster.bind(simPod("worker-0", { cpuMillis: 100, memoryBytes: 0.2 * GIB }), second);
    cluster.failingEvictions.add("worker-0");
    const decisions = await simulate(cluster, 60);
    const failed = decisions.filter((decision) => decision?.action === "failed" && /^scale-down of .* failed: eviction failing for .*worker-0: .*HTTP 500/.test(decision.reason));
    expect(failed.length).toBeGreaterThan(0);
    const cordons = cluster.calls.filter((call) => call === `cordon ${second}`).length;
    expect(cordons).toBeGreaterThan(0);
    // A failed attempt restarts the node's 10-minute window: at most one attempt per window, not one a minute
    // (cluster-autoscaler --scale-down-delay-after-failure).
    expect(cordons).toBeLessThanOrEqual(60 / 10);
    expect(cluster.calls.filter((call) => call === `uncordon ${second}`)).toHaveLength(cordons);
    expect(cluster.node(second)).toMatchObject({ unschedulable: false });
    expect(Object.keys(cluster.node(second)?.annotations ?? {})).toEqual([]);
    expect(cluster.calls.filter((call) => call.startsWith("terminate"))).toEqual([]);
  });

  test("an agent NotReady for longer than the limit is replaced once, and its replacement joins (FAQ: unready nodes)", async () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 3 }, AGENT);
    const [first, second, third] = cluster.nodeNames();
    for (const node of [first, second, third]) cluster.bind(simPod(`web-${node.slice(9, 10)}`, { cpuMillis: 1200, memoryBytes: 4 * GIB }), node);
    cluster.breakNode(second);
    await simulate(cluster, 60);
    expect(cluster.calls.filter((call) => call.startsWith("replace"))).toHaveLength(1);
    expect(cluster.node(second)).toBeUndefined();
    expect(cluster.nodeCount).toBe(3);
    expect(cluster.pods.filter((pod) => !pod.nodeName)).toEqual([]);
  });

  /** Two busy agents, then a worker pod that needs a third, in a cluster where every agent that joins from now on is unusable. */
  function withBrokenJoins(joinAs: () => { ready: boolean; taints?: { key: string; value: string; effect: "NoSchedule" }[] }) {
    let broken = false;
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT, { bootTimeMs: () => 3 * MINUTE, joinAs: () => (broken ? joinAs() : { ready: true }) });
    broken = true;
    for (const node of cluster.nodeNames()) cluster.bind(simPod(`web-${node}`, { cpuMillis: 1800, memoryBytes: 6 * GIB }), node);
    cluster.pods.push(simPod("worker", { cpuMillis: 1000, memoryBytes: GIB }));
    return cluster;
  }

  test("when new agents never become Ready, each is replaced after 20 min and at most two more run (FAQ: unready nodes; clusterstate.go MaxNodeStartupTime)", async () => {
    const cluster = withBrokenJoins(() => ({ ready: false }));
    const agents: number[] = [];
    await simulate(cluster, 180, {}, () => agents.push(cluster.nodeCount));
    // The failed agent stops counting as on its way 15 minutes after registering, so the pod asks for another; at 20
    // minutes the first is replaced, and the replacement is on its way again.
    expect(Math.max(...agents)).toBe(4);
    expect(cluster.calls.filter((call) => call.startsWith("replace")).length).toBeGreaterThan(5);
    expect(cluster.pods.find((pod) => pod.name === "worker")!.nodeName).toBeUndefined();
  });

  test("when the cloud controller never initialises new agents, one pending pod does not drive the group to its maximum (clusterstate.go IsClusterHealthy)", async () => {
    // Ready, so never replaced, but tainted as the kubelet registers it under an external cloud provider.
    const cluster = withBrokenJoins(() => ({ ready: true, taints: [{ key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" }] }));
    const agents: number[] = [];
    const metricLines: string[] = [];
    const decisions = await simulate(cluster, 180, {}, () => agents.push(cluster.nodeCount), metricLines);
    // Each stops counting as on its way 15 minutes after registering and the pod asks for another, until four of six
    // agents are unready (more than three and 45 %): then nothing more is added.
    expect(Math.max(...agents)).toBe(6);
    expect(agents.slice(-60).every((count) => count === 6)).toBe(true);
    expect(decisions.at(-1)).toMatchObject({ action: "none", reason: expect.stringMatching(/^4 of 6 agents are unready, more than 3 and 45%/) });
    expect(cluster.pods.find((pod) => pod.name === "worker")!.nodeName).toBeUndefined();
    // Every held pass says so in the ScalingHeld metric the held alarm watches; the passes before did not.
    const held = metricLines.map((line) => JSON.parse(line).ScalingHeld);
    expect([held[0], held.at(-1)]).toEqual([0, 1]);
    expect(held.filter((value, index) => value === 1 && decisions[index]?.reason?.match(/agents are unready/) === null)).toEqual([]);
  });
});
