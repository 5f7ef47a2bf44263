import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { resolveConfig } from "../config/resolve";
import { chartSvg } from "../simulator/chart";
import { simPod, SimulatedCluster } from "../simulator/cluster";
import { compareTrace, formatSeedRanges, formatSeedSweep, formatTable, seedSweep, targetChecks } from "../simulator/compare";
import { loadPrices, projectSettings, simulate, SIMULATION_START } from "../simulator/engine";
import { percentile, summarize } from "../simulator/metrics";
import { MemoryLock, ProjectAutoscalerPolicy, TargetTrackingPolicy, ThresholdPolicy } from "../simulator/policies";
import { csvToTrace, loadTrace, Trace } from "../simulator/trace";

const MINUTE = 60_000;
const GIB = 2 ** 30;
const AGENT = { allocatable: { cpuMillis: 2000, memoryBytes: 7 * GIB }, labels: { "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "t4g.large" } };
const TRACES = join(__dirname, "..", "simulator", "traces");

/** A cluster whose nodes each run one pod of `millis` CPU that uses `usage` of its request. */
function loadedCluster(nodes: number, millis: number, usage: number, options: ConstructorParameters<typeof SimulatedCluster>[2] = { start: 0 }) {
  const cluster = new SimulatedCluster({ min: 1, max: 10, desired: nodes }, AGENT, options);
  cluster.nodeNames().forEach((node, index) => {
    cluster.addPod(simPod(`load-${index}`, { cpuMillis: millis, memoryBytes: GIB }), { cpuUsage: usage, placeable: true });
    cluster.pods = cluster.pods.map((pod) => (pod.name === `load-${index}` ? { ...pod, nodeName: node, phase: "Running" } : pod));
  });
  return cluster;
}

describe("seeded runs", () => {
  test("the same seed gives the same report, and another seed other boot times", async () => {
    const trace = loadTrace(join(TRACES, "spike.json"));
    const first = await compareTrace(trace, { seed: 7 });
    const again = await compareTrace(trace, { seed: 7 });
    expect(formatTable([again], "d")).toBe(formatTable([first], "d"));
    // Boot times of the instances launched during the run (the initial ones are Ready at the start).
    const bootTimes = async (seed: number) =>
      (await simulate(trace, "project", { seed })).record.instances.filter((instance) => instance.launchedAt > SIMULATION_START).map((instance) => instance.readyAt! - instance.launchedAt);
    const [one, two] = [await bootTimes(1), await bootTimes(2)];
    expect(one.length).toBeGreaterThan(0);
    expect(two.length).toBeGreaterThan(0);
    expect(one).not.toEqual(two);
    expect(await bootTimes(1)).toEqual(one);
  });
});

describe("when the autoscaler sees a pod (its schedule and its passes)", () => {
  // Two agents full of 1800m pods, then at minute 7 one more that only a new agent takes.
  const trace: Trace = {
    name: "one-late-pod",
    description: "a pod that needs a new agent, created between two schedule ticks",
    durationMinutes: 20,
    initialNodes: 2,
    pods: [
      { name: "full", atMinute: 0, count: 2, cpuMillis: 1800, memoryMiB: 512, cpuUsage: 0.5 },
      { name: "late", atMinute: 7, count: 1, cpuMillis: 1800, memoryMiB: 512, cpuUsage: 0.5 },
    ],
  };
  /** Seconds from the late pod's creation to the first launch for it, on seeds 1 to 10. */
  const detectionSeconds = async (pollSeconds: number, kind: "project" | "threshold" = "project") => {
    // Without monitoring, whose pods would take the room the first pods leave, and without headroom, for which an
    // agent would be launched before the pod comes.
    const config = resolveConfig({ automation: { pollSeconds, headroom: { cpuMillis: 0, memoryMiB: 0 } }, addons: { monitoring: { enabled: false } } });
    const delays = [];
    for (let seed = 1; seed <= 10; seed++) {
      const { record } = await simulate(trace, kind, { seed, config });
      const launches = record.instances.filter((instance) => instance.launchedAt > SIMULATION_START);
      expect(launches.length).toBeGreaterThan(0);
      delays.push((launches[0].launchedAt - (SIMULATION_START + 7 * 60_000)) / 1000);
    }
    return delays;
  };

  test("one pass a minute: the tick falls anywhere in the minute relative to the pod, a different second per seed", async () => {
    const delays = await detectionSeconds(0);
    for (const delay of delays) expect(delay >= 0 && delay < 60).toBe(true);
    expect(new Set(delays.map(Math.floor)).size).toBeGreaterThan(5);
  });

  test("the threshold rules' 2-minute ticks fall at the same share of their period: the pod waits its 3 minutes, then twice (c)'s wait", async () => {
    // The pod comes at minute 7: (c) ticks a share f of its minute later; (b) acts at its first tick once the pod has
    // waited over 3 minutes, and minute 10 is on its 2-minute grid, so f of its 2 minutes after that.
    const project = await detectionSeconds(0);
    const threshold = await detectionSeconds(0, "threshold");
    threshold.forEach((delay, index) => expect(delay).toBeCloseTo(180 + 2 * project[index], 2));
  });

  test("a pass whose drain outlasts the next tick holds the lease: the passes due meanwhile skip, as run.ts skips a held lock", async () => {
    // Two agents, each with one small pod: after the 10-minute window one is drained, and every eviction is refused,
    // so the drain retries until 20 s before the function's 240 s timeout.
    const cluster = loadedCluster(2, 200, 0.5);
    cluster.evict = async () => "blocked";
    const passes: number[] = [];
    const listNodes = cluster.listNodes.bind(cluster);
    cluster.listNodes = async () => {
      passes.push(cluster.now);
      return listNodes();
    };
    const policy = new ProjectAutoscalerPolicy(cluster, projectSettings(resolveConfig({}), loadPrices()), MINUTE, 240_000);
    const evaluations: number[] = [];
    for (let at = 0; at < 20 * MINUTE; at = await policy.evaluate(at)) {
      cluster.now = at;
      evaluations.push(at);
    }
    const drainStart = passes.find((at) => at >= 10 * MINUTE)!;
    const after = passes.filter((at) => at > drainStart);
    // The drain started in an invocation that began on a whole minute and gave up at its deadline less 20 s.
    expect(drainStart % MINUTE).toBe(0);
    expect(after[0]).toBeGreaterThanOrEqual(drainStart + 220_000);
    expect(after[0]).toBeLessThan(drainStart + 230_001);
    // The draining invocation ran no other pass; the next invocations' passes came every 10 s from the next minute on,
    // each finding the lease held, and the first due once the drain ended ran.
    const skipped = evaluations.filter((at) => at > drainStart && at < after[0]);
    expect(skipped).toEqual(Array.from({ length: (after[0] - drainStart - MINUTE) / 10_000 }, (_, index) => drainStart + MINUTE + index * 10_000));
    expect(skipped.length).toBeGreaterThan(10);
  });

  test("with the default headroom a pod that fits it starts at once; without, it waits for an agent's boot", async () => {
    const small: Trace = { ...trace, pods: [trace.pods[0], { name: "late", atMinute: 7, count: 1, cpuMillis: 400, memoryMiB: 512, cpuUsage: 0.5 }] };
    const latencies = async (automation: object) => {
      const config = resolveConfig({ automation, addons: { monitoring: { enabled: false } } });
      const { record } = await simulate(small, "project", { seed: 1, config });
      return record.startLatenciesMs.map((ms) => ms / 1000);
    };
    // The two full agents leave 200m each: the autoscaler adds a third for the headroom before the pod comes.
    expect(Math.max(...(await latencies({})))).toBe(0);
    expect(Math.max(...(await latencies({ headroom: { cpuMillis: 0, memoryMiB: 0 } })))).toBeGreaterThan(60);
  });

  test("a pass every 10 seconds (cluster-autoscaler's --scan-interval): the agent launches within 10 seconds of the pod", async () => {
    const delays = await detectionSeconds(10);
    for (const delay of delays) expect(delay >= 0 && delay < 10).toBe(true);
  });
});

describe("the add-ons' pods on the agents", () => {
  // No workload, two agents: each is underutilized from the start.
  const idle: Trace = { name: "idle", description: "nothing but the add-ons", durationMinutes: 60, initialNodes: 2, pods: [] };
  const agentsAtEnd = async (input: object) => {
    const { timeline } = await simulate(idle, "project", { seed: 1, config: resolveConfig(input) });
    return timeline[timeline.length - 1].nodes;
  };

  test("they are not the trace's work: no policy's pending, latency or pod-hours counts them, its evictions do", async () => {
    for (const kind of ["target-tracking", "threshold", "project"] as const) {
      const { record } = await simulate(idle, kind, { seed: 1 });
      const summary = summarize(record, loadPrices());
      expect({ kind, pending: summary.pendingPodMinutes, podHours: summary.podHours, latencies: record.startLatenciesMs }).toEqual({ kind, pending: 0, podHours: 0, latencies: [] });
      // The threshold rules remove an idle agent (CPU under 30 %) and move its add-on pods; (c) keeps both agents.
      if (kind === "threshold") expect(record.evictions).toBeGreaterThan(0);
      if (kind === "project") expect(record.evictions).toBe(0);
    }
  });

  test("monitoring's pods with data on the node's disk keep their agents, as cluster-autoscaler's local-storage rule does", async () => {
    // Least-allocated placement spreads Prometheus, Alertmanager and Grafana (emptyDir data) over both agents.
    expect(await agentsAtEnd({})).toBe(2);
    // Without monitoring, or with Prometheus and Alertmanager on gp3 claims (Grafana's emptyDirs pin one agent only),
    // the other agent goes after its window and its pods move.
    expect(await agentsAtEnd({ addons: { monitoring: { enabled: false } } })).toBe(1);
    expect(await agentsAtEnd({ storage: { blockStorage: { enabled: true } } })).toBe(1);
  });
});

describe("the simulated scheduler", () => {
  test("binds what fits and leaves pending what the autoscaler's predicates refuse", () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT, { start: 0 });
    cluster.addPod(simPod("fits", { cpuMillis: 1500, memoryBytes: GIB }), { cpuUsage: 1, placeable: true });
    cluster.addPod(simPod("too-big", { cpuMillis: 2500, memoryBytes: GIB }), { cpuUsage: 1, placeable: false });
    cluster.addPod(simPod("amd64-only", { cpuMillis: 100, memoryBytes: GIB }, { nodeSelector: { "kubernetes.io/arch": "amd64" } }), { cpuUsage: 1, placeable: false });
    cluster.schedule();
    const pod = (name: string) => cluster.pods.find((candidate) => candidate.name === name)!;
    expect(pod("fits").nodeName).toBeDefined();
    for (const refused of ["too-big", "amd64-only"]) {
      expect(pod(refused).nodeName).toBeUndefined();
      expect(pod(refused).unschedulable).toBe(true);
    }
  });

  test("every node that joins gets its DaemonSet pods, which take room, are listed as the autoscaler lists them, and leave with it uncounted", async () => {
    const exporter = { namespace: "monitoring", name: "node-exporter", pod: { requests: { cpuMillis: 10, memoryBytes: 32 * 2 ** 20 } } };
    const amd64Only = { namespace: "kube-system", name: "amd64-agent", pod: { requests: { cpuMillis: 100, memoryBytes: 0 }, nodeSelector: { "kubernetes.io/arch": "amd64" } } };
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 1 }, AGENT, { start: 0, bootTimeMs: () => MINUTE, daemonSets: [exporter, amd64Only] });
    await cluster.setDesired(2);
    cluster.tick();
    const [first, second] = cluster.nodeNames();
    for (const node of [first, second]) {
      // Only the DaemonSet whose selector the arm64 agent matches runs there.
      expect(cluster.pods.filter((pod) => pod.nodeName === node).map((pod) => [pod.controllerKind, pod.namespace, pod.phase])).toEqual([["DaemonSet", "monitoring", "Running"]]);
    }
    expect(await cluster.listDaemonSets()).toEqual([exporter, amd64Only]);
    // A 2000m agent with the exporter's 10m takes three 500m pods, not four.
    for (let i = 0; i < 4; i++) cluster.addPod(simPod(`web-${i}`, { cpuMillis: 500, memoryBytes: GIB }, { nodeSelector: { "kubernetes.io/hostname": first } }), { cpuUsage: 1, placeable: true });
    cluster.schedule();
    expect(cluster.pods.filter((pod) => pod.name.startsWith("web-") && pod.nodeName === first)).toHaveLength(3);
    await cluster.terminate(cluster.instances[1].id);
    expect(cluster.pods.filter((pod) => pod.controllerKind === "DaemonSet").map((pod) => pod.nodeName)).toEqual([first]);
    expect(cluster.counters.evictions).toBe(0);
  });

  test("scored placement spreads pods, as kube-scheduler's default scoring does", () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT, { start: 0, placement: "scored" });
    for (const name of ["a-0", "a-1"]) cluster.addPod(simPod(name, { cpuMillis: 500, memoryBytes: GIB }), { cpuUsage: 1, placeable: true });
    cluster.schedule();
    expect(new Set(cluster.pods.map((pod) => pod.nodeName)).size).toBe(2);
  });
});

describe("CPU in use", () => {
  /** One 2000m agent; `bound` pods of each group run on it, the rest wait. */
  function oneAgent(groups: { name: string; count: number; bound: number; service?: string; usage: number }[]) {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 1 }, AGENT, { start: 0 });
    const [node] = cluster.nodeNames();
    for (const group of groups) {
      for (let i = 0; i < group.count; i++) {
        const name = `${group.name}-${i}`;
        cluster.addPod(simPod(name, { cpuMillis: 500, memoryBytes: GIB }), { cpuUsage: group.usage, service: group.service, placeable: true });
        if (i < group.bound) cluster.pods = cluster.pods.map((pod) => (pod.name === name ? { ...pod, nodeName: node, phase: "Running" } : pod));
      }
    }
    return cluster.cpuUtilization(node);
  }

  test("a pod without a service uses its request times its usage, waiting pods none", () => {
    // 2 of 4 running: 2 x 500m x 0.5 = 500m of 2000m.
    expect(oneAgent([{ name: "job", count: 4, bound: 2, usage: 0.5 }])).toBeCloseTo(0.25);
  });

  test("replicas of a service that wait for a node put their load on those that run (a Service balances over ready endpoints)", () => {
    // The service's load is 4 x 500m x 0.5 = 1000m whether 2 or 4 replicas run; on one 2000m agent that is 50 %.
    expect(oneAgent([{ name: "web", count: 4, bound: 2, service: "web", usage: 0.5 }])).toBeCloseTo(0.5);
    expect(oneAgent([{ name: "web", count: 4, bound: 4, service: "web", usage: 0.5 }])).toBeCloseTo(0.5);
    // Two groups of one service pool their load (4 x 250m, on the one running web pod); api's 2 x 200m sit on its one
    // running pod; the cron pod keeps its own 500m: 1900m of 2000m.
    expect(
      oneAgent([
        { name: "web", count: 2, bound: 1, service: "web", usage: 0.5 },
        { name: "web-extra", count: 2, bound: 0, service: "web", usage: 0.5 },
        { name: "api", count: 2, bound: 1, service: "api", usage: 0.4 },
        { name: "cron", count: 1, bound: 1, usage: 1 },
      ]),
    ).toBeCloseTo(0.95);
    // More load than the node has: capped at 100 %.
    expect(oneAgent([{ name: "web", count: 20, bound: 1, service: "web", usage: 0.8 }])).toBe(1);
  });

  test("a service's load is split evenly over its running replicas, whatever each requests (kube-proxy picks endpoints at random)", () => {
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT, { start: 0 });
    const [first, second] = cluster.nodeNames();
    // 250m and 1000m at 0.4: a load of 500m, 250m on each node, 12.5 % of 2000m (by request it would be 100m and 400m).
    cluster.addPod(simPod("small", { cpuMillis: 250, memoryBytes: GIB }), { cpuUsage: 0.4, service: "web", placeable: true });
    cluster.addPod(simPod("large", { cpuMillis: 1000, memoryBytes: GIB }), { cpuUsage: 0.4, service: "web", placeable: true });
    cluster.pods = cluster.pods.map((pod) => ({ ...pod, nodeName: pod.name === "small" ? first : second, phase: "Running" }));
    expect(cluster.cpuUtilization(first)).toBeCloseTo(0.125);
    expect(cluster.cpuUtilization(second)).toBeCloseTo(0.125);
  });
});

describe("target tracking (a), AWS's documented rule", () => {
  const settings = { targetValue: 80, scaleOutDatapoints: 3, scaleInDatapoints: 15, alarmPeriodMs: MINUTE, scaleInThresholdFraction: 0.9, metricPeriodMs: MINUTE, instanceWarmupMs: 0 };

  test("3 nodes at 100 % CPU become ceil(3 x 100 / 80) = 4 after the third datapoint above the target", async () => {
    const cluster = loadedCluster(3, 2000, 1);
    const policy = new TargetTrackingPolicy(cluster, settings);
    // A period's datapoint exists once the period has ended: samples at minutes 1, 2, 3 are the datapoints read at 2, 3, 4.
    for (const minute of [1, 2, 3]) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      expect(cluster.capacity.desired).toBe(3);
    }
    cluster.now = 4 * MINUTE;
    await policy.evaluate(cluster.now);
    expect(cluster.capacity.desired).toBe(4);
  });

  test("no scale-in before AlarmLow's 15 datapoints; then down to ceil(3 x 10 / 80) = 1", async () => {
    const cluster = loadedCluster(3, 200, 1);
    const policy = new TargetTrackingPolicy(cluster, settings);
    for (let minute = 1; minute <= 15; minute++) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      expect(cluster.capacity.desired).toBe(3);
    }
    cluster.now = 16 * MINUTE;
    await policy.evaluate(cluster.now);
    expect(cluster.capacity.desired).toBe(1);
    // The removed nodes' pods went back to pending through their controllers.
    expect(cluster.counters.evictions).toBe(2);
  });

  test("an instance still warming up counts neither in the metric nor as capacity", async () => {
    const cluster = loadedCluster(2, 2000, 1);
    const policy = new TargetTrackingPolicy(cluster, { ...settings, instanceWarmupMs: 10 * MINUTE });
    for (let minute = 1; minute <= 8; minute++) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
    }
    expect(cluster.capacity.desired).toBe(2);
  });
});

describe("threshold rules (b), the original brief", () => {
  test("scales up by 2 once a pod has waited over 3 minutes, then not again within 5 minutes", async () => {
    const cluster = loadedCluster(1, 2000, 0.5, { start: 0, bootTimeMs: () => 20 * MINUTE });
    cluster.addPod(simPod("waiting", { cpuMillis: 500, memoryBytes: GIB }), { cpuUsage: 1, placeable: true });
    cluster.schedule();
    const policy = new ThresholdPolicy(cluster);
    const at = async (minute: number) => {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      return cluster.capacity.desired;
    };
    expect(await at(2)).toBe(1); // pending 2 minutes, CPU 50 %
    expect(await at(4)).toBe(3); // pending 4 > 3 minutes: +2
    expect(await at(6)).toBe(3); // 2 minutes after the scale-up: cooling down
    expect(await at(8)).toBe(3);
    expect(await at(10)).toBe(5); // 6 minutes after: still pending (nodes boot for 20 minutes), +2 again
  });

  test("its drain leaves DaemonSet pods, which go with their node (kubectl drain --ignore-daemonsets), and counts their requests as CPU", async () => {
    const exporter = { namespace: "monitoring", name: "node-exporter", pod: { requests: { cpuMillis: 10, memoryBytes: 32 * 2 ** 20 } } };
    const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 2 }, AGENT, { start: 0, daemonSets: [exporter] });
    const [first] = cluster.nodeNames();
    expect(cluster.cpuUtilization(first)).toBeCloseTo(10 / 2000, 10);
    const policy = new ThresholdPolicy(cluster);
    for (let minute = 2; minute <= 12; minute += 2) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      cluster.schedule();
    }
    expect(cluster.capacity.desired).toBe(1);
    expect(cluster.counters.evictions).toBe(0);
    expect(cluster.pods.filter((pod) => pod.controllerKind === "DaemonSet").map((pod) => pod.nodeName)).toEqual(cluster.nodeNames());
  });

  test("scales down one node after 10 minutes under 30 % CPU with nothing pending", async () => {
    // 3 nodes at 15 % CPU; after one goes, 2 at 22.5 %: still under 30 %.
    const cluster = loadedCluster(3, 300, 1);
    const policy = new ThresholdPolicy(cluster);
    for (const minute of [2, 4, 6, 8, 10]) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      expect(cluster.capacity.desired).toBe(3);
    }
    cluster.now = 12 * MINUTE; // low since minute 2: 10 minutes
    await policy.evaluate(cluster.now);
    expect(cluster.capacity.desired).toBe(2);
    // Its pod went back to pending; once placed again nothing is pending, yet the 10-minute cooldown holds.
    cluster.schedule();
    for (const minute of [14, 16, 18, 20]) {
      cluster.now = minute * MINUTE;
      await policy.evaluate(cluster.now);
      expect(cluster.capacity.desired).toBe(2);
    }
    cluster.now = 22 * MINUTE;
    await policy.evaluate(cluster.now);
    expect(cluster.capacity.desired).toBe(1);
  });
});

test("a spot interruption sends the node's pods back to pending at the warning, removes the node 2 minutes later, and the group replaces it after a boot", () => {
  let draws = 0;
  const cluster = new SimulatedCluster({ min: 1, max: 10, desired: 1 }, AGENT, {
    start: 0,
    onDemandBaseCapacity: 0,
    onDemandPercentageAboveBaseCapacity: 0,
    bootTimeMs: () => 3 * MINUTE,
    spotInterruptionAfterMs: () => (draws++ === 0 ? 10 * MINUTE : Infinity),
  });
  const [node] = cluster.nodeNames();
  cluster.addPod(simPod("web-0", { cpuMillis: 500, memoryBytes: GIB }), { cpuUsage: 1, placeable: true });
  cluster.schedule();
  expect(cluster.pods[0].nodeName).toBe(node);
  const advance = (minute: number) => {
    expect(cluster.nextEventAt()).toBe(minute * MINUTE);
    cluster.now = minute * MINUTE;
    cluster.processDue();
    cluster.schedule();
  };
  advance(10);
  expect(cluster.pods[0].nodeName).toBeUndefined();
  expect(cluster.node(node)).toMatchObject({ unschedulable: true });
  expect(cluster.counters).toMatchObject({ spotInterruptions: 1, evictions: 1 });
  advance(12);
  expect(cluster.node(node)).toBeUndefined();
  expect(cluster.pods[0].nodeName).toBeUndefined();
  advance(13);
  expect(cluster.nodeCount).toBe(1);
  expect(cluster.pods[0].nodeName).toBeDefined();
  expect(cluster.pods[0].nodeName).not.toBe(node);
  expect(cluster.capacity.desired).toBe(1);
});

describe("metrics", () => {
  const prices = { date: "test", instanceTypes: { "t4g.large": { onDemand: 0.08, spot: 0.03 } } };

  test("nearest-rank percentiles", () => {
    expect(percentile([4, 1, 10, 3, 2], 0.5)).toBe(3);
    expect(percentile([4, 1, 10, 3, 2], 0.95)).toBe(10);
    expect(percentile([], 0.5)).toBe(0);
  });

  test("pod-hours run count the trace's pods while they run, not the DaemonSet pods, nor pods no agent takes", async () => {
    const trace: Trace = {
      name: "pod-hours",
      description: "two busy pods for an hour on the agents there are (nothing to scale in), one no agent can run",
      durationMinutes: 120,
      initialNodes: 2,
      pods: [
        { name: "job", atMinute: 0, count: 2, cpuMillis: 1800, memoryMiB: 512, cpuUsage: 1, runMinutes: 60 },
        { name: "amd64", atMinute: 30, count: 1, cpuMillis: 100, memoryMiB: 128, cpuUsage: 1, nodeSelector: { "kubernetes.io/arch": "amd64" } },
      ],
    };
    // Without monitoring, whose pods would not leave room for the two jobs; the EFS node pod is a DaemonSet pod still.
    const config = resolveConfig({ addons: { monitoring: { enabled: false } } });
    for (const kind of ["target-tracking", "threshold", "project"] as const) {
      const { summary } = (await compareTrace(trace, { seed: 1, config })).runs.find((run) => run.policy === kind)!;
      expect(summary.podHours).toBeCloseTo(2, 10);
      expect(summary.pendingPodMinutes).toBe(0);
    }
  });

  test("a hand-made timeline: pending-pod-minutes, percentiles, node-hours and cost", () => {
    const summary = summarize(
      {
        start: 0,
        end: 3 * 3_600_000,
        // 3 pods pending for 20 minutes and 1 for 30: 90 pod-minutes.
        pendingPodMs: (3 * 20 + 30) * MINUTE,
        // 4 pods running for 2 hours and 1 for 30 minutes.
        runningPodMs: (4 * 120 + 30) * MINUTE,
        startLatenciesMs: [1, 2, 3, 4, 10].map((minutes) => minutes * MINUTE),
        instances: [
          { lifecycle: "on-demand", instanceType: "t4g.large", launchedAt: 0, terminatedAt: 2 * 3_600_000 },
          // 30 seconds, billed as the 60-second minimum.
          { lifecycle: "spot", instanceType: "t4g.large", launchedAt: 3_600_000, terminatedAt: 3_600_000 + 30_000 },
          // Still running at the end: counted to the end, 1.5 h.
          { lifecycle: "spot", instanceType: "t4g.large", launchedAt: 1.5 * 3_600_000 },
        ],
        evictions: 4,
        scaleActions: 3,
      },
      prices,
    );
    expect(summary.pendingPodMinutes).toBe(90);
    expect(summary.p50Minutes).toBe(3);
    expect(summary.p95Minutes).toBe(10);
    expect(summary.maxMinutes).toBe(10);
    expect(summary.nodeHours).toBeCloseTo(2 + 30 / 3600 + 1.5, 10);
    expect(summary.podHours).toBe(8.5);
    // 2 h x 0.08 + 60 s x 0.03 / h + 1.5 h x 0.03 = 0.16 + 0.0005 + 0.045
    expect(summary.costUsd).toBeCloseTo(0.2055, 10);
    expect(summary).toMatchObject({ evictions: 4, scaleActions: 3 });
  });
});

test("the seed sweep's table counts, per trace and check, the seeds that met it", () => {
  const checks = (a: boolean, b: boolean) => [{ check: "first", met: a }, { check: "second", met: b }];
  expect(formatSeedSweep([{ trace: "t1", checks: [checks(true, false), checks(true, true), checks(false, false)], summaries: [] }, { trace: "t2", checks: [checks(false, true), checks(false, true), checks(false, true)], summaries: [] }])).toBe(
    ["| trace | first | second |", "| --- | --- | --- |", "| t1 | 2/3 | 1/3 |", "| t2 | 0/3 | 3/3 |"].join("\n"),
  );
});

test("the seed ranges: lowest to highest differences and ratios of (c) against (a) and (b), a dash where a ratio has no base", () => {
  const summary = (nodeHours: number, pendingPodMinutes: number, evictions: number) => ({ nodeHours, pendingPodMinutes, evictions }) as any;
  const seed = (a: any, b: any, c: any) => ({ "target-tracking": a, threshold: b, project: c });
  const table = formatSeedRanges([
    { trace: "t", checks: [], summaries: [seed(summary(10, 100, 3), summary(12, 0, 0), summary(9, 5, 0)), seed(summary(8, 50, 5), summary(12, 0, 0), summary(9, 10, 1))] },
  ]);
  expect(table.split("\n")[2]).toBe("| t | -1.00 to +1.00 | -3.00 | 0.05x to 0.20x | - | 3 to 5 | 0 to 1 |");
});

describe("the CSV converter", () => {
  test("a small CSV becomes the trace it describes", () => {
    const csv = ["# my workload", "at_minute,count,cpu_millis,memory_mib,run_minutes,cpu_usage,node_selector,name", "0,3,250,512,,0.5,,web", "30,2,1000,2048,45,,kubernetes.io/arch=arm64;tier=batch,"].join("\n");
    expect(csvToTrace(csv, { name: "mine" })).toEqual({
      name: "mine",
      description: "converted from CSV (2 pod groups)",
      durationMinutes: 75,
      pods: [
        { name: "web", atMinute: 0, count: 3, cpuMillis: 250, memoryMiB: 512, cpuUsage: 0.5, runMinutes: undefined, nodeSelector: undefined, service: undefined },
        { name: "pods-4", atMinute: 30, count: 2, cpuMillis: 1000, memoryMiB: 2048, cpuUsage: 1, runMinutes: 45, nodeSelector: { "kubernetes.io/arch": "arm64", tier: "batch" }, service: undefined },
      ],
    });
  });

  test("a service column makes the lines that name the same service share its load", () => {
    const trace = csvToTrace(["at_minute,count,cpu_millis,memory_mib,name,service", "0,4,500,1024,web,web", "30,16,500,1024,web-spike,web", "0,1,100,128,cron,"].join("\n"), { name: "mine" });
    expect(trace.pods.map((group) => group.service)).toEqual(["web", "web", undefined]);
  });

  test.each([
    ["at_minute,count,cpu_millis,memory_mib\n0,x,100,100", 'line 2: count "x" is not a number'],
    ["at_minute,count,cpu_millis,memory_mib,service\n0,1,100,100,Web_Front", 'line 2: service: must be a DNS label such as "web"'],
    ["at_minute,count,cpu_millis,memory_mib\n0,1,100,100\n5,1,100", "line 3: 3 values for 4 columns"],
    ["at_minute,count,cpu_millis,memory_mib\n0,0,100,100", "line 2: count: must be a whole number > 0, got 0"],
    ["at_minute,count,cpu_millis\n0,1,100", 'line 1: the header lacks the required column "memory_mib"'],
    ["at_minute,count,cpu_millis,memory_mib,gpu\n0,1,100,100,1", 'line 1: unknown column "gpu"'],
    ["at_minute,count,cpu_millis,memory_mib,node_selector\n0,1,100,100,arch", 'line 2: node_selector "arch" must be key=value pairs joined by ";"'],
  ])("bad CSV is refused naming the line: %s", (csv, message) => {
    expect(() => csvToTrace(csv, { name: "bad" })).toThrow(message);
  });
});

/** A small well-formedness check: tags nest and close, attributes are quoted, nothing follows the root. */
function parseXml(text: string): { name: string; attributes: Record<string, string>; children: unknown[] } {
  const stack: { name: string; attributes: Record<string, string>; children: unknown[] }[] = [];
  let root: (typeof stack)[number] | undefined;
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let position = 0;
  for (let match = tag.exec(text); match; match = tag.exec(text)) {
    const between = text.slice(position, match.index);
    if (/[<>]/.test(between)) throw new Error(`stray markup before offset ${match.index}`);
    if (/&(?!amp;|lt;|gt;|quot;)/.test(between)) throw new Error("unescaped &");
    position = tag.lastIndex;
    const [, closing, name, rawAttributes, selfClosing] = match;
    if (closing) {
      if (stack.pop()?.name !== name) throw new Error(`</${name}> closes the wrong element`);
      continue;
    }
    const attributes = Object.fromEntries([...rawAttributes.matchAll(/([\w:-]+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    const element = { name, attributes, children: [] as unknown[] };
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else if (root) throw new Error("a second root element");
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0 || !root || text.slice(position).trim()) throw new Error("unclosed elements or trailing text");
  return root;
}

test("the chart is well-formed SVG with one line per policy in each series", () => {
  const series = ["(a) <cpu>", "(b) rules & co", "(c) ours"].map((label, index) => ({ label, points: [{ minute: 0, nodes: 2, pending: 0 }, { minute: 10 + index, nodes: 3 + index, pending: 4 }] }));
  const svg = parseXml(chartSvg("spike & more", 60, series));
  expect(svg.name).toBe("svg");
  const panels = (svg.children as { name: string; attributes: Record<string, string>; children: { name: string; attributes: Record<string, string> }[] }[]).filter((child) => child.name === "g");
  expect(panels.map((panel) => panel.attributes["data-series"])).toEqual(["nodes", "pending"]);
  for (const panel of panels) {
    const lines = panel.children.filter((child) => child.name === "path");
    expect(lines.map((line) => line.attributes["data-policy"])).toEqual(["(a) &lt;cpu&gt;", "(b) rules &amp; co", "(c) ours"]);
  }
});

test("the in-memory lock keeps the DynamoDB lease's contract: one holder until release or expiry", async () => {
  const lock = new MemoryLock();
  expect(await lock.acquire("a", 0, 1000)).toBe(true);
  expect(await lock.acquire("b", 500, 1000)).toBe(false);
  await lock.release("b");
  expect(await lock.acquire("b", 900, 1000)).toBe(false);
  expect(await lock.acquire("b", 1001, 1000)).toBe(true);
});

describe("end to end on the shipped traces", () => {
  test("spike: this project's autoscaler has under half target tracking's pending-pod-minutes and beats the threshold rules on both, on several seeds", async () => {
    const trace = loadTrace(join(TRACES, "spike.json"));
    for (const seed of [1, 2, 3]) {
      const comparison = await compareTrace(trace, { seed });
      const met = Object.fromEntries(targetChecks(comparison).map(({ check, met }) => [check, met]));
      // "(c) node-hours <= (a)" is left out: within a node-hour either way, it turns on the seed (README "Autoscaler simulator").
      expect(met).toMatchObject({ "(c) pending-pod-minutes <= half of (a)": true, "(c) pending-pod-minutes < (b) (or both 0)": true, "(c) node-hours <= (b)": true });
      const project = comparison.runs.find((run) => run.policy === "project")!;
      // Every spike pod ran within minutes: a node boots in about two.
      expect(project.summary.maxMinutes).toBeLessThan(10);
    }
  });

  test("spike: the web replicas that wait put their load on the running ones, so target tracking scales out too", async () => {
    const trace = loadTrace(join(TRACES, "spike.json"));
    const run = await simulate(trace, "target-tracking", { seed: 1 });
    const spikeStart = trace.pods.find((group) => group.name === "web-spike")!.atMinute;
    const before = Math.max(...run.timeline.filter((point) => point.minute <= spikeStart).map((point) => point.nodes));
    const during = Math.max(...run.timeline.filter((point) => point.minute > spikeStart && point.minute < spikeStart + 60).map((point) => point.nodes));
    expect(during).toBeGreaterThan(before + 1);
    // Without the shared load (each waiting replica's share simply missing) the running pods stay under 80 % and it never does.
    const unshared: Trace = { ...trace, pods: trace.pods.map(({ service: _service, ...group }) => group) };
    const flat = await simulate(unshared, "target-tracking", { seed: 1 });
    expect(Math.max(...flat.timeline.filter((point) => point.minute > spikeStart).map((point) => point.nodes))).toBeLessThanOrEqual(before);
  });

  test("batch: once the jobs end, idle agents go one a run, not one per cooldown", async () => {
    const trace = loadTrace(join(TRACES, "batch.json"));
    // Without monitoring, whose pods keep the agents they run on ("the add-ons' pods on the agents" above).
    const config = resolveConfig({ addons: { monitoring: { enabled: false } } });
    const run = await simulate(trace, "project", { seed: 1, config });
    const lastBurst = Math.max(...trace.pods.map((group) => group.atMinute));
    const after = run.timeline.filter((point) => point.minute >= lastBurst);
    const peak = Math.max(...after.map((point) => point.nodes));
    const lastAtPeak = after.filter((point) => point.nodes === peak).pop()!;
    const firstRemoval = after.find((point) => point.minute > lastAtPeak.minute);
    // The last job starts when nothing waits any more and runs its minutes; its agent goes a window after.
    const lastStart = after.find((point) => point.pending === 0)!.minute;
    const lastRun = trace.pods.find((group) => group.atMinute === lastBurst)!.runMinutes!;
    expect(firstRemoval!.minute).toBeLessThanOrEqual(lastStart + lastRun + config.automation.scaleDownWindowMinutes + 2);
    const atMin = after.find((point) => point.minute > lastAtPeak.minute && point.nodes === config.agents.minSize);
    expect(peak).toBeGreaterThan(config.agents.minSize + 3);
    expect(firstRemoval!.nodes).toBe(peak - 1);
    expect(atMin).toBeDefined();
    // From the first agent removed to the group at its minimum: about a minute an agent (the schedule); one removal per
    // cooldown (10 min) would take over 90 minutes from 10 agents.
    expect(atMin!.minute - firstRemoval!.minute).toBeLessThanOrEqual(peak - config.agents.minSize + 5);
  });

  test("unplaceable: this project's autoscaler adds no node for pods no agent can run", async () => {
    const trace = loadTrace(join(TRACES, "unplaceable.json"));
    const without: Trace = { ...trace, pods: trace.pods.filter((group) => !group.nodeSelector) };
    const [withThem, withoutThem] = await Promise.all([simulate(trace, "project", { seed: 1 }), simulate(without, "project", { seed: 1 })]);
    expect(withThem.record.instances).toEqual(withoutThem.record.instances);
    // The threshold rules, which count every pending pod, keep adding nodes for them.
    const threshold = await simulate(trace, "threshold", { seed: 1 });
    expect(threshold.record.instances.length).toBeGreaterThan(withThem.record.instances.length + 3);
  });

  test("the README's tables are what npm run simulate prints now (seed 1, and the target checks on seeds 1 to 10)", async () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    const block = (marker: string) => readme.split(`<!-- ${marker} -->\n`)[1].split(`<!-- /${marker} -->`)[0].trim();
    const traces = readdirSync(TRACES).filter((file) => file.endsWith(".json")).sort().map((file) => loadTrace(join(TRACES, file)));
    const prices = loadPrices();
    const comparisons = [];
    for (const trace of traces) comparisons.push(await compareTrace(trace, { seed: 1, prices }));
    expect(block("simulate-table")).toBe(formatTable(comparisons, prices.date));
    const sweep = await seedSweep(traces, 10, { prices });
    expect(block("simulate-seeds")).toBe(formatSeedSweep(sweep));
    expect(block("simulate-ranges")).toBe(formatSeedRanges(sweep));

    // The "What changed" figures, from the same code: one pass a minute against polling (both without headroom, as
    // polling came first), then without headroom against the default.
    const text = readme.replace(/\s+/g, " ");
    const NO_HEADROOM = { headroom: { cpuMillis: 0, memoryMiB: 0 } };
    const onePass = resolveConfig({ automation: { pollSeconds: 0, ...NO_HEADROOM } });
    const polling = resolveConfig({ automation: NO_HEADROOM });
    const summaryOf = async (name: string, config?: ReturnType<typeof resolveConfig>) =>
      (await compareTrace(traces.find((trace) => trace.name === name)!, { seed: 1, prices, config })).runs.find((run) => run.policy === "project")!.summary;
    for (const name of ["spike", "unplaceable", "diurnal", "steady"]) {
      expect(text).toContain(`from ${(await summaryOf(name, onePass)).pendingPodMinutes.toFixed(1)} to ${(await summaryOf(name, polling)).pendingPodMinutes.toFixed(1)} on ${name}`);
    }
    expect(text).toContain(`from ${(await summaryOf("batch", onePass)).pendingPodMinutes.toFixed(0)} to ${(await summaryOf("batch", polling)).pendingPodMinutes.toFixed(0)} on batch`);
    expect(text).toContain(`p95 time to running from ${(await summaryOf("spike", onePass)).p95Minutes.toFixed(1)} to ${(await summaryOf("spike", polling)).p95Minutes.toFixed(1)} minutes`);
    const diurnalCells = (table: string, column: number) => table.split("\n").find((row) => row.startsWith("| diurnal |"))!.split(" | ")[column];
    const diurnal = traces.filter((trace) => trace.name === "diurnal");
    const [onePassSweep, pollingSweep] = [await seedSweep(diurnal, 10, { prices, config: onePass }), await seedSweep(diurnal, 10, { prices, config: polling })];
    const wins = (sweep: typeof onePassSweep) => diurnalCells(formatSeedSweep(sweep), 3).split("/")[0];
    expect(text).toContain(`on diurnal on ${wins(onePassSweep)} seeds of 10 (${diurnalCells(formatSeedRanges(onePassSweep), 4)} of (b)'s)`);
    expect(text).toContain(`diurnal beats (b) on ${wins(pollingSweep)} seeds of 10 (${diurnalCells(formatSeedRanges(pollingSweep), 4)})`);
    // The headroom: seed 1's pending-pod-minutes and node-hours on diurnal and steady, and diurnal's seeds against (b).
    for (const name of ["diurnal", "steady"]) {
      const [before, after] = [await summaryOf(name, polling), await summaryOf(name)];
      expect(text).toContain(`${name} from ${before.pendingPodMinutes.toFixed(1)} to ${after.pendingPodMinutes.toFixed(1)} pending-pod-minutes at ${before.nodeHours.toFixed(2)} to ${after.nodeHours.toFixed(2)} node-hours`);
    }
    expect(text).toContain(`beats (b) on diurnal on ${wins(sweep)} seeds of 10 (${diurnalCells(formatSeedRanges(sweep), 4)} of (b)'s pending-pod-minutes, ${diurnalCells(formatSeedRanges(sweep), 2)} node-hours)`);
  }, 120_000);

  test("every shipped trace loads", () => {
    for (const name of ["steady", "diurnal", "spike", "batch", "unplaceable"]) expect(loadTrace(join(TRACES, `${name}.json`)).pods.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(TRACES, "..", "data", "prices.json"), "utf8")).date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
