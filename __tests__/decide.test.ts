import { AgentNode, decide, Observed, ScalerConfig, ScalerState } from "../lambdas/autoscaler/decide";
import { nodeTemplate } from "../lambdas/autoscaler/node-template";
import { binPack } from "../lambdas/autoscaler/scheduling";
import { PodInfo } from "../lambdas/shared/cluster";
import { cpuMillis, memoryBytes, parseQuantity } from "../lambdas/shared/quantity";
import { AGENT_LABELS, CONFIG, FRESH, GiB, MINUTE, node, NOW, observed, pending, pod, TEMPLATE } from "./support/decide-fixtures";

describe("quantities", () => {
  test.each([
    ["100m", 0.1],
    ["2", 2],
    ["1.5", 1.5],
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", GiB],
    ["1G", 1e9],
    ["1e3", 1000],
    // The exponent is a signed number of any length (apimachinery resource.Quantity's grammar).
    ["12e10", 12e10],
    ["1e-3", 0.001],
  ])("%s", (text, value) => expect(parseQuantity(text)).toBeCloseTo(value));

  test("CPU rounds up to whole millicores, absent requests count as zero, garbage is refused", () => {
    expect(cpuMillis("0.0001")).toBe(1);
    expect(cpuMillis(undefined)).toBe(0);
    expect(memoryBytes("128Mi")).toBe(128 * 2 ** 20);
    expect(() => parseQuantity("lots")).toThrow('not a Kubernetes quantity: "lots"');
  });

  // apimachinery resource.ParseQuantity takes the text as is; the API serialises quantities without whitespace.
  test.each([" 1Gi", "1Gi ", "1 Gi"])("%j is not a quantity, as the API server's parser has it", (text) => {
    expect(() => parseQuantity(text)).toThrow(`not a Kubernetes quantity: "${text}"`);
  });
});

describe("scale up", () => {
  test.each<[string, PodInfo[], number]>([
    ["one small pod needs one node", [pending("a", 500, 1)], 1],
    ["pods pack together by requests", [pending("a", 900, 1), pending("b", 900, 1), pending("c", 200, 1)], 1],
    ["CPU-bound pods need a node each", [pending("a", 1500, 1), pending("b", 1500, 1), pending("c", 1500, 1)], 3],
    ["memory-bound pods pack by memory", [pending("a", 100, 5), pending("b", 100, 5), pending("c", 100, 3)], 2],
  ])("%s", (_name, pods, needed) => {
    expect(binPack(pods, CONFIG.nodeTemplate).nodes).toBe(needed);
    expect(decide(observed([node("n1", [pod("busy", 1900, 7)])], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: needed, desired: 1 + needed });
  });

  test("the step limit bounds one run", () => {
    const pods = Array.from({ length: 6 }, (_, i) => pending(`p${i}`, 1500, 1));
    expect(decide(observed([node("n1")], pods), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 3,
      desired: 4,
      reason: "6 unschedulable pod(s) need 6 node(s); adding 3 (step limited to 3)",
    });
  });

  test("the group maximum bounds it too", () => {
    const pods = Array.from({ length: 3 }, (_, i) => pending(`p${i}`, 1500, 1));
    const nine = Array.from({ length: 9 }, (_, i) => node(`n${i}`, [pod(`app${i}`, 1900, 7)]));
    expect(decide(observed(nine, pods, { desired: 9, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 10,
      reason: "3 unschedulable pod(s) need 3 node(s); adding 1 (maximum 10)",
    });
    expect(decide(observed([...nine, node("n9", [pod("app9", 1900, 7)])], pods, { desired: 10, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "none",
      reason: "3 unschedulable pod(s) need 3 node(s); the group is at its maximum of 10",
    });
  });

  test("instances already launching are counted before adding more (cluster-autoscaler clusterstate GetUpcomingNodes)", () => {
    const pods = [pending("a", 1500, 1), pending("b", 1500, 1)];
    expect(decide(observed([node("n1")], pods, { desired: 3, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "none",
      reason: "2 unschedulable pod(s) need 2 node(s), 2 already on their way",
    });
    expect(decide(observed([node("n1")], [...pods, pending("c", 1500, 1)], { desired: 3, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 4 });
  });

  test("a registered agent not Ready is on its way only within 15 min of registering; one that broke later is Unready, not upcoming (clusterstate.go MaxNodeStartupTime, NotStarted vs Unready)", () => {
    const pods = [pending("a", 1500, 1)];
    const starting = node("n2", [], { ready: false, createdAtMs: NOW - 5 * MINUTE });
    expect(decide(observed([node("n1"), starting], pods), FRESH, CONFIG, NOW).decision).toEqual({ action: "none", reason: "1 unschedulable pod(s) need 1 node(s), 1 already on their way" });
    const broken = node("n2", [], { ready: false, createdAtMs: NOW - 3 * 60 * MINUTE });
    expect(decide(observed([node("n1"), broken], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 3 });
  });

  describe("too many unready agents stop scaling (cluster-autoscaler clusterstate.go IsClusterHealthy: Unready above --ok-total-unready-count 3 and --max-total-unready-percentage 45)", () => {
    const pods = [pending("a", 1500, 1)];
    const healthy = (count: number) => Array.from({ length: count }, (_, i) => node(`ok${i}`, [pod(`app${i}`, 1900, 7)]));
    // Registered NotReady 20 min ago and never set up: what a broken image or network makes of every new agent.
    const failed = (count: number) => Array.from({ length: count }, (_, i) => node(`failed${i}`, [], { ready: false, createdAtMs: NOW - 20 * MINUTE }));
    // Ready, but the cloud controller never initialised it (no controller, or one that cannot reach EC2).
    const uninitialised = (count: number) =>
      Array.from({ length: count }, (_, i) => node(`uninit${i}`, [], { createdAtMs: NOW - 20 * MINUTE, taints: [{ key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" }] }));

    test("four of six agents NotReady: no agent is added for the pending pod, and the reason says why", () => {
      expect(decide(observed([...healthy(2), ...failed(4)], pods), FRESH, CONFIG, NOW).decision).toEqual({
        action: "none",
        reason: "4 of 6 agents are unready, more than 3 and 45%: neither adding nor removing agents until fewer are",
      });
    });

    test("agents left with a startup taint past 15 min count as unready; while they are starting they are on their way", () => {
      expect(decide(observed([...healthy(2), ...uninitialised(4)], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "none", reason: expect.stringMatching(/^4 of 6 agents are unready/) });
      const starting = Array.from({ length: 4 }, (_, i) => node(`new${i}`, [], { createdAtMs: NOW - 5 * MINUTE, taints: [{ key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" }] }));
      expect(decide(observed([...healthy(2), ...starting], pods), FRESH, CONFIG, NOW).decision).toEqual({ action: "none", reason: "1 unschedulable pod(s) need 1 node(s), 4 already on their way" });
    });

    test("at the limits scaling goes on: three unready of any number, or more than three but at most 45 %", () => {
      expect(decide(observed([...healthy(1), ...failed(3)], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
      // 4 of 9 is 44 %.
      expect(decide(observed([...healthy(5), ...failed(4)], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
      expect(decide(observed([...healthy(4), ...failed(4)], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "none", reason: expect.stringMatching(/^4 of 8 agents are unready/) });
    });

    test("scale-down waits too, and the idle windows restart (RunOnce clears its unneeded nodes), so no agent goes on the first healthy pass for idling through the trouble", () => {
      const idle = node("idle");
      const state: ScalerState = { underutilizedSince: { idle: NOW - 30 * MINUTE } };
      const held = decide(observed([idle, ...healthy(1), ...failed(4)]), state, CONFIG, NOW);
      expect(held.decision).toMatchObject({ action: "none", reason: expect.stringMatching(/^4 of 6 agents are unready/) });
      expect(held.underutilizedSince).toEqual({});
      expect(decide(observed([idle, ...healthy(1), ...failed(1)]), state, CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
    });

    test("the headroom adds no agent either", () => {
      const withHeadroom = { ...CONFIG, headroom: { cpuMillis: 500, memoryBytes: GiB } };
      expect(decide(observed([...healthy(2), ...failed(4)]), FRESH, withHeadroom, NOW).decision).toMatchObject({ action: "none", reason: expect.stringMatching(/^4 of 6 agents are unready/) });
      expect(decide(observed([...healthy(2), ...failed(1)]), FRESH, withHeadroom, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
    });

    test("cordoned agents are not unready, and agents still starting count in the total but not as unready", () => {
      const cordoned = Array.from({ length: 4 }, (_, i) => node(`cordoned${i}`, [], { unschedulable: true }));
      expect(decide(observed([...healthy(2), ...cordoned], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up" });
      // 4 unready of 9 is 44 %: the pod waits for the three starting agents, not for the agents to heal.
      const starting = Array.from({ length: 3 }, (_, i) => node(`new${i}`, [], { ready: false, createdAtMs: NOW - 5 * MINUTE }));
      expect(decide(observed([...healthy(2), ...failed(4), ...starting], pods), FRESH, CONFIG, NOW).decision).toEqual({ action: "none", reason: "1 unschedulable pod(s) need 1 node(s), 3 already on their way" });
    });
  });

  test("a pod larger than any node does not trigger a scale-up and is reported (cluster-autoscaler FAQ: pods no node group can help)", () => {
    const outcome = decide(observed([node("n1")], [pending("huge", 4000, 1)]), FRESH, CONFIG, NOW);
    expect(outcome.decision).toEqual({
      action: "none",
      reason: "no pod needs a new agent; the group is at its minimum of 1; 1 pod(s) no new agent could take: default/huge (insufficient cpu (requests 4000m, 2000m free))",
    });
    expect(outcome.unplaceable).toEqual([{ pod: "default/huge", reason: "insufficient cpu (requests 4000m, 2000m free)" }]);
  });
});

describe("scale down", () => {
  const busy = (name: string) => node(name, [pod(`${name}-app`, 1500, 2)]);
  const idleSince = (since: number) => ({ underutilizedSince: { idle: since } });
  const idle = node("idle", [pod("small", 200, 1)]);

  test("a node below the threshold for the whole window, whose pods fit elsewhere, is removed", () => {
    const outcome = decide(observed([busy("n1"), busy("n2"), idle], [], { desired: 3, min: 1, max: 10 }), idleSince(NOW - 11 * MINUTE), CONFIG, NOW);
    expect(outcome.decision).toEqual({
      action: "scale-down",
      node: "idle",
      instanceId: "i-idle",
      desired: 2,
      reason: "idle has requested 13% of allocatable for 11 min and its 1 pod(s) fit elsewhere",
    });
  });

  test("underutilization is remembered from the first run that sees it and forgotten when it ends", () => {
    const first = decide(observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), FRESH, CONFIG, NOW);
    expect(first.underutilizedSince).toEqual({ idle: NOW });
    expect(first.decision.action).toBe("none");
    const later = decide(observed([busy("n1"), node("idle", [pod("big", 1800, 1)])], [], { desired: 2, min: 1, max: 10 }), first, CONFIG, NOW + 5 * MINUTE);
    expect(later.underutilizedSince).toEqual({});
  });

  const noScaleDown: [string, Observed, ScalerState, number, string][] = [
    ["not under the threshold long enough", observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 9 * MINUTE), NOW, "no pod needs a new agent; no node below 50% of allocatable for 10 min"],
    ["at the group minimum", observed([busy("n1"), idle], [], { desired: 2, min: 2, max: 10 }), idleSince(NOW - 20 * MINUTE), NOW, "no pod needs a new agent; the group is at its minimum of 2"],
    ["cooling down after a scale-up", observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 4 * MINUTE }, NOW, "no pod needs a new agent; cooling down for 360 s after the last scale-up"],
    [
      "a pod without a controller",
      observed([busy("n1"), node("idle", [pod("bare", 100, 1, { controllerKind: undefined })])], [], { desired: 2, min: 1, max: 10 }),
      idleSince(NOW - 20 * MINUTE),
      NOW,
      "no node can be removed: idle: default/bare has no controller to recreate it",
    ],
    [
      "a pod with local storage",
      observed([busy("n1"), node("idle", [pod("cache", 100, 1, { localVolumeNames: ["scratch"] })])], [], { desired: 2, min: 1, max: 10 }),
      idleSince(NOW - 20 * MINUTE),
      NOW,
      "no node can be removed: idle: default/cache has local storage (scratch) not listed in cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes",
    ],
    [
      "a pod that opted out of eviction",
      observed([busy("n1"), node("idle", [pod("keep", 100, 1, { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } })])], [], { desired: 2, min: 1, max: 10 }),
      idleSince(NOW - 20 * MINUTE),
      NOW,
      'no node can be removed: idle: default/keep is annotated cluster-autoscaler.kubernetes.io/safe-to-evict: "false"',
    ],
    [
      "a PodDisruptionBudget at zero",
      { ...observed([busy("n1"), node("idle", [pod("db-0", 100, 1, { labels: { app: "db" } })])], [], { desired: 2, min: 1, max: 10 }), budgets: [{ namespace: "default", name: "db", selector: { matchLabels: { app: "db" } }, disruptionsAllowed: 0 }] },
      idleSince(NOW - 20 * MINUTE),
      NOW,
      "no node can be removed: idle: default/db-0 is covered by PodDisruptionBudget default/db, which allows no disruption",
    ],
    [
      "pods that do not fit on the other nodes",
      observed([busy("n1"), node("idle", [pod("mid", 900, 1)])], [], { desired: 2, min: 1, max: 10 }),
      idleSince(NOW - 20 * MINUTE),
      NOW,
      "no node can be removed: idle: default/mid fits on no other node (n1: insufficient cpu (requests 900m, 500m free))",
    ],
  ];
  test.each(noScaleDown)("refused: %s", (_name, input, state, now, reason) => {
    expect(decide(input, state, CONFIG, now).decision).toEqual({ action: "none", reason });
  });

  test("DaemonSet and mirror pods neither block nor need room elsewhere", () => {
    const withSystemPods = node("idle", [pod("flannel", 100, 0.1, { controllerKind: "DaemonSet" }), pod("static", 100, 0.1, { mirror: true, controllerKind: undefined })]);
    expect(decide(observed([busy("n1"), withSystemPods], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
  });

  test("finished and long-terminating pods neither block nor need room elsewhere (rules/terminal, rules/longterminating)", () => {
    const leftovers = node("idle", [pod("job-done", 1900, 7, { controllerKind: "Job", phase: "Succeeded" }), pod("stuck", 100, 1, { controllerKind: undefined, deleting: true, deletionTimestampMs: NOW - 5 * MINUTE })]);
    expect(decide(observed([busy("n1"), leftovers], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
  });

  test("the least utilized eligible node goes first, one per run", () => {
    const quieter = node("quieter", [pod("tiny", 100, 0.5)]);
    const outcome = decide(observed([busy("n1"), idle, quieter], [], { desired: 3, min: 1, max: 10 }), { underutilizedSince: { idle: NOW - 30 * MINUTE, quieter: NOW - 30 * MINUTE } }, CONFIG, NOW);
    expect(outcome.decision).toMatchObject({ action: "scale-down", node: "quieter", desired: 2 });
  });

  test("pods a new agent would run block scale-down (cluster-autoscaler scales down only without such pods)", () => {
    expect(decide(observed([busy("n1"), idle], [pending("p", 500, 1)], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 30 * MINUTE), CONFIG, NOW).decision.action).toBe("scale-up");
  });
});

describe("decisions that follow the scheduler and cluster-autoscaler", () => {
  const busy = (name: string) => node(name, [pod(`${name}-app`, 1500, 2)]);
  const idleFor20 = { underutilizedSince: { idle: NOW - 20 * MINUTE } };
  const group = (desired: number) => ({ desired, min: 1, max: 10 });

  test.each<[string, Observed, Partial<ScalerConfig>, { action: string; by?: number }]>([
    ["nodeaffinity: a pod selecting an architecture no agent has never scales up", observed([busy("n1")], [pending("x86", 100, 1, { nodeSelector: { "kubernetes.io/arch": "amd64" } })]), {}, { action: "none" }],
    [
      "nodeaffinity: an unsatisfiable required affinity never scales up",
      observed([busy("n1")], [pending("gpu", 100, 1, { requiredNodeAffinity: [{ matchExpressions: [{ key: "nvidia.com/gpu.present", operator: "Exists" }] }] })]),
      {},
      { action: "none" },
    ],
    ["expendable.go: a pod below the expendable cut-off never scales up", observed([busy("n1")], [pending("batch", 500, 1, { priority: -100 })]), {}, { action: "none" }],
    ["expendable.go: the cut-off is configurable", observed([busy("n1")], [pending("batch", 500, 1, { priority: -100 })]), { expendablePriorityCutoff: -1000 }, { action: "scale-up", by: 1 }],
    ["expendable.go: a pod nominated to an existing node waits for preemption", observed([busy("n1")], [pending("urgent", 500, 1, { nominatedNodeName: "n1" })]), {}, { action: "none" }],
    ["volumebinding: a pod waiting on an unbound claim never scales up", observed([busy("n1")], [pending("db-0", 500, 1, { claimNames: ["data-db-0"] })]), {}, { action: "none" }],
    ["a pod the scheduler has not marked Unschedulable does not scale up yet", observed([busy("n1")], [pending("fresh", 500, 1, { unschedulable: false })]), {}, { action: "none" }],
    [
      "podsExpectedOnFreshNode: a request that fits allocatable but not allocatable minus DaemonSets is not scaled for",
      observed([busy("n1")], [pending("big", 1900, 1)]),
      { nodeTemplate: nodeTemplate({ liveAgent: { labels: AGENT_LABELS, allocatable: { cpuMillis: 2000, memoryBytes: 8 * GiB } }, instance: { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" }, daemonSetPods: [{ requests: { cpuMillis: 200, memoryBytes: 0 } }] }) },
      { action: "none" },
    ],
    ["GetUpcomingNodes: a registered agent that is not Ready yet is capacity on its way", observed([busy("n1"), node("booting", [], { ready: false })], [pending("a", 1500, 1)]), {}, { action: "none" }],
    ["binpacking_estimator.go: the pods-per-node limit is packed, so one run adds enough", observed([busy("n1")], Array.from({ length: 5 }, (_, i) => pending(`p${i}`, 10, 0))), { nodeTemplate: { ...TEMPLATE, podCapacity: 2 } }, { action: "scale-up", by: 3 }],
    [
      "binpacking_estimator.go: pods binding one host port need a node each",
      observed([busy("n1")], Array.from({ length: 3 }, (_, i) => pending(`ingress${i}`, 100, 0, { hostPorts: [{ port: 443, protocol: "TCP" }] }))),
      {},
      { action: "scale-up", by: 3 },
    ],
  ])("%s", (_name, input, config, expected) => {
    expect(decide(input, FRESH, { ...CONFIG, ...config }, NOW).decision).toMatchObject(expected);
  });

  test("pods no new agent could take are reported and do not keep an idle node (cluster-autoscaler FAQ: scale-down is independent of pods it cannot help)", () => {
    const outcome = decide(observed([busy("n1"), node("idle", [pod("small", 200, 1)])], [pending("x86", 100, 1, { nodeSelector: { "kubernetes.io/arch": "amd64" } })], group(2)), idleFor20, CONFIG, NOW);
    expect(outcome.decision).toMatchObject({ action: "scale-down", node: "idle" });
    expect(outcome.decision.reason).toContain("1 pod(s) no new agent could take: default/x86 (node selector kubernetes.io/arch=amd64 does not match)");
    expect(outcome.unplaceable).toEqual([{ pod: "default/x86", reason: "node selector kubernetes.io/arch=amd64 does not match" }]);
  });

  test("ignored pending pods do not keep an idle node either, and are reported", () => {
    const outcome = decide(observed([busy("n1"), node("idle", [pod("small", 200, 1)])], [pending("batch", 100, 1, { priority: -100 })], group(2)), idleFor20, CONFIG, NOW);
    expect(outcome.decision.action).toBe("scale-down");
    expect(outcome.decision.reason).toContain("1 pending pod(s) ignored: default/batch (priority -100 is below the expendable cut-off -10)");
    expect(outcome.ignored).toEqual([{ pod: "default/batch", reason: "priority -100 is below the expendable cut-off -10" }]);
  });

  test.each<[string, AgentNode, AgentNode, string]>([
    [
      "nodeaffinity: a pod whose node selector only the candidate matches",
      node("idle", [pod("pinned", 100, 1, { nodeSelector: { disk: "ssd" } })], { labels: { ...AGENT_LABELS, disk: "ssd" } }),
      busy("n1"),
      "idle: default/pinned fits on no other node (n1: node selector disk=ssd does not match)",
    ],
    ["noderesources/fit.go: the other node is at its pod limit", node("idle", [pod("small", 100, 1)]), { ...busy("n1"), podCapacity: 1 }, "idle: default/small fits on no other node (n1: too many pods (limit 1))"],
    [
      "nodeports: the other node already binds the pod's host port",
      node("idle", [pod("ingress", 100, 1, { hostPorts: [{ port: 443, protocol: "TCP" }] })]),
      node("n1", [pod("n1-ingress", 1500, 2, { hostPorts: [{ port: 443, protocol: "TCP" }] })]),
      "idle: default/ingress fits on no other node (n1: host port 443/TCP is already in use)",
    ],
    [
      "tainttoleration: the other node has a taint the pod does not tolerate",
      node("idle", [pod("small", 100, 1)]),
      { ...busy("n1"), taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] },
      "idle: default/small fits on no other node (n1: taint dedicated=db:NoSchedule is not tolerated)",
    ],
    [
      "interpodaffinity, podtopologyspread: rules these predicates do not evaluate keep the node rather than risk a remove/re-add loop",
      node("idle", [pod("web-1", 100, 1, { interPodConstraints: ["required pod anti-affinity"] })]),
      busy("n1"),
      "idle: default/web-1 has required pod anti-affinity, which the removal simulation does not evaluate",
    ],
  ])("scale-down refused, simulator/cluster.go reschedules with the scheduler's filters: %s", (_name, idle, other, refusal) => {
    expect(decide(observed([other, idle], [], group(2)), idleFor20, CONFIG, NOW).decision).toEqual({ action: "none", reason: `no node can be removed: ${refusal}` });
  });

  test("expendable pods need no place elsewhere when their node goes (--expendable-pods-priority-cutoff)", () => {
    const idle = node("idle", [pod("preemptible", 900, 1, { priority: -100 })]);
    expect(decide(observed([busy("n1"), idle], [], group(2)), idleFor20, CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
  });
});

// Boundaries and messages that `npm run mutate` showed no other test pinned (README, "Mutation testing").
const busy = (name: string) => node(name, [pod(`${name}-app`, 1500, 2)]);
const idleSince = (since: number): ScalerState => ({ underutilizedSince: { idle: since } });

describe("reasons list at most three pods or nodes", () => {
  const huge = (name: string) => pending(name, 4000, 1);
  const why = "insufficient cpu (requests 4000m, 2000m free)";

  test("three pods are all named; from the fourth on, the rest are counted", () => {
    const three = decide(observed([node("n1")], ["a", "b", "c"].map(huge)), FRESH, CONFIG, NOW).decision.reason;
    expect(three).toContain(`3 pod(s) no new agent could take: default/a (${why}), default/b (${why}), default/c (${why})`);
    expect(three).not.toContain("more");
    const five = decide(observed([node("n1")], ["a", "b", "c", "d", "e"].map(huge)), FRESH, CONFIG, NOW).decision.reason;
    expect(five).toBe(
      `no pod needs a new agent; the group is at its minimum of 1; 5 pod(s) no new agent could take: default/a (${why}), default/b (${why}), default/c (${why}) and 2 more`,
    );
  });

  test("a pod that fits nowhere names the first three other nodes and why, or none when there is no other node", () => {
    const stuck = node("idle", [pod("mid", 900, 1)]);
    const others = ["n1", "n2", "n3", "n4"].map(busy);
    expect(decide(observed([...others, stuck]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/mid fits on no other node (n1: insufficient cpu (requests 900m, 500m free), n2: insufficient cpu (requests 900m, 500m free), n3: insufficient cpu (requests 900m, 500m free))",
    );
    // The only agent (a second one still launching keeps desired above the minimum).
    expect(decide(observed([stuck], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/mid fits on no other node",
    );
  });
});

describe("boundaries of the scale-down rules", () => {
  test("a node at exactly the threshold is not underutilized; just below it is", () => {
    const atHalf = node("idle", [pod("half", 1000, 1)]);
    expect(decide(observed([busy("n1"), atHalf]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
    const belowHalf = node("idle", [pod("half", 999, 1)]);
    expect(decide(observed([busy("n1"), belowHalf]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW });
  });

  test("memory counts as much as CPU: a node idle on CPU but busy on memory is not underutilized", () => {
    const memoryBound = node("idle", [pod("cache", 100, 6)]);
    expect(decide(observed([busy("n1"), memoryBound]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
  });

  test("finished pods do not count towards utilization", () => {
    const finished = node("idle", [pod("done", 1900, 7, { controllerKind: "Job", phase: "Failed" })]);
    expect(decide(observed([busy("n1"), finished]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW });
  });

  test("nodes not Ready or cordoned are not tracked as underutilized", () => {
    const notReady = node("idle", [], { ready: false });
    const cordoned = node("idle", [], { unschedulable: true });
    expect(decide(observed([busy("n1"), notReady]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
    expect(decide(observed([busy("n1"), cordoned]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
  });

  test("a node still underutilized keeps the time it was first seen so", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 3 * MINUTE), CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW - 3 * MINUTE });
  });

  test("a node underutilized for exactly the window is removed, and the minutes in the reason are whole minutes", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 10 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 10 * MINUTE + 1), CONFIG, NOW).decision.action).toBe("none");
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 12 * MINUTE + 1000), CONFIG, NOW).decision.reason).toBe(
      "idle has requested 13% of allocatable for 11 min and its 1 pod(s) fit elsewhere",
    );
  });

  test("the cooldown ends exactly cooldownMs after the last scale-up, and the remaining time is rounded up to a second", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    const input = observed([busy("n1"), idle]);
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 10 * MINUTE }, CONFIG, NOW).decision.action).toBe("scale-down");
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 10 * MINUTE + 1 }, CONFIG, NOW).decision.reason).toBe(
      "no pod needs a new agent; cooling down for 1 s after the last scale-up",
    );
  });

  test("a removal that moves pods restarts every window; an empty node's removal restarts none", () => {
    const state = { underutilizedSince: { "idle-a": NOW - 20 * MINUTE, "idle-b": NOW - 20 * MINUTE } };
    const withPod = decide(observed([busy("n1"), node("idle-a", [pod("a", 200, 1)]), node("idle-b", [pod("b", 300, 1)])], [], { desired: 3, min: 1, max: 10 }), state, CONFIG, NOW);
    expect(withPod.decision).toMatchObject({ action: "scale-down", node: "idle-a" });
    expect(withPod.underutilizedSince).toEqual({});
    const empty = decide(observed([busy("n1"), node("idle-a", []), node("idle-b", [pod("b", 300, 1)])], [], { desired: 3, min: 1, max: 10 }), state, CONFIG, NOW);
    expect(empty.decision).toMatchObject({ action: "scale-down", node: "idle-a" });
    expect(empty.underutilizedSince).toEqual(state.underutilizedSince);
    // DaemonSet and mirror pods go with their node; nothing moves.
    const daemons = node("idle-a", [pod("logs", 50, 0.1, { controllerKind: "DaemonSet" }), pod("static", 50, 0.1, { mirror: true, controllerKind: undefined })]);
    const onlyDaemons = decide(observed([busy("n1"), daemons, node("idle-b", [pod("b", 300, 1)])], [], { desired: 3, min: 1, max: 10 }), state, CONFIG, NOW);
    expect(onlyDaemons.decision).toMatchObject({ action: "scale-down", node: "idle-a" });
    expect(onlyDaemons.underutilizedSince).toEqual(state.underutilizedSince);
  });

  test("no scale-down within 3 minutes of a failed one, to the second", () => {
    const input = observed([busy("n1"), node("idle", [pod("small", 200, 1)])]);
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleDownFailureAt: NOW - 3 * MINUTE + 1000 }, CONFIG, NOW).decision).toEqual({
      action: "none",
      reason: "no pod needs a new agent; holding scale-down for 1 s after a failed one",
    });
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleDownFailureAt: NOW - 3 * MINUTE }, CONFIG, NOW).decision.action).toBe("scale-down");
  });

  test("a pod at exactly the expendable cut-off must move; one below it is deleted with its node", () => {
    const atCutoff = node("idle", [pod("batch", 900, 1, { priority: -10 })]);
    expect(decide(observed([busy("n1"), atCutoff]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.action).toBe("none");
    const belowCutoff = node("idle", [pod("batch", 900, 1, { priority: -11 })]);
    expect(decide(observed([busy("n1"), belowCutoff]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({
      action: "scale-down",
      reason: "idle has requested 45% of allocatable for 20 min and its 1 pod(s) fit elsewhere",
    });
  });

  test("the other nodes a pod may move to exclude nodes not Ready or cordoned", () => {
    const idle = node("idle", [pod("mid", 900, 1)]);
    const refused = "no node can be removed: idle: default/mid fits on no other node (n1: insufficient cpu (requests 900m, 500m free))";
    for (const spare of [node("spare", [], { ready: false, createdAtMs: NOW - 60 * MINUTE }), node("spare", [], { unschedulable: true })]) {
      expect(decide(observed([busy("n1"), spare, idle]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(refused);
    }
  });
});

describe("what the removal simulation sees", () => {
  test("finished pods on another node do not take the room a moved pod needs", () => {
    const finishedJob = node("n1", [pod("n1-app", 1000, 2), pod("done", 1000, 6, { controllerKind: "Job", phase: "Succeeded" })]);
    const idle = node("idle", [pod("mid", 900, 1)]);
    expect(decide(observed([finishedJob, idle]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
  });

  test("every constraint the simulation cannot evaluate is named, and every refused node is listed", () => {
    const constrained = node("idle", [pod("web-1", 100, 1, { interPodConstraints: ["required pod anti-affinity", "topology spread constraint"] })]);
    const bare = node("idle2", [pod("bare", 100, 1, { controllerKind: undefined })]);
    expect(decide(observed([busy("n1"), constrained, bare]), { underutilizedSince: { idle: NOW - 20 * MINUTE, idle2: NOW - 20 * MINUTE } }, CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/web-1 has required pod anti-affinity, topology spread constraint, which the removal simulation does not evaluate; " +
        "idle2: default/bare has no controller to recreate it",
    );
  });
});

describe("boundaries of the scale-up rules", () => {
  test("an agent not Ready for exactly MaxNodeStartupTime is no longer on its way", () => {
    const pods = [pending("a", 1500, 1)];
    const atLimit = node("n2", [], { ready: false, createdAtMs: NOW - 15 * MINUTE });
    expect(decide(observed([node("n1"), atLimit], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
    const justInside = node("n2", [], { ready: false, createdAtMs: NOW - 15 * MINUTE + 1 });
    expect(decide(observed([node("n1"), justInside], pods), FRESH, CONFIG, NOW).decision.action).toBe("none");
  });

  test("more registered nodes than desired are not negative capacity on the way", () => {
    const pods = [pending("a", 1500, 1)];
    expect(decide(observed([node("n1"), node("n2")], pods, { desired: 1, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 2,
      reason: "1 unschedulable pod(s) need 1 node(s); adding 1",
    });
  });

  test("demand beyond the maximum is capped by the maximum even when agents are on their way", () => {
    const pods = Array.from({ length: 4 }, (_, i) => pending(`p${i}`, 1500, 1));
    const booting = (name: string) => node(name, [], { ready: false, createdAtMs: NOW - MINUTE });
    expect(decide(observed([booting("b1"), booting("b2")], pods, { desired: 2, min: 1, max: 3 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 3,
      reason: "4 unschedulable pod(s) need more than 3 node(s), 2 already on their way; adding 1 (maximum 3)",
    });
  });

  test("when packing reaches the group maximum, the reason says more than the maximum are needed", () => {
    const pods = Array.from({ length: 4 }, (_, i) => pending(`p${i}`, 1500, 1));
    expect(decide(observed([node("n1")], pods, { desired: 1, min: 1, max: 3 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 2,
      desired: 3,
      reason: "4 unschedulable pod(s) need more than 3 node(s); adding 2 (maximum 3)",
    });
  });
});

// Node overprovisioning (kubernetes.io/docs/tasks/administer-cluster/node-overprovisioning: "By maintaining some unused
// capacity, you ensure that resources are immediately available when new pods are created"), whose example reserves
// 500m and 1Gi in all: here, room for one pod of that size on one Ready agent.
describe("headroom", () => {
  const WITH_HEADROOM: ScalerConfig = { ...CONFIG, headroom: { cpuMillis: 500, memoryBytes: GiB } };
  const ROOM = "headroom for a pod of 500m CPU, 1024Mi memory, which no Ready agent has,";
  const since = (name: string) => ({ underutilizedSince: { [name]: NOW - 11 * MINUTE } });

  test("an agent with 500m and 1Gi free is the headroom; 100m less CPU, or memory short, is not, and one agent is added", () => {
    expect(decide(observed([node("n1", [pod("a", 1500, 7)])]), FRESH, WITH_HEADROOM, NOW).decision).toEqual({
      action: "none",
      reason: "no pod needs a new agent; the group is at its minimum of 1",
    });
    for (const full of [node("n1", [pod("a", 1600, 1)]), node("n1", [pod("a", 100, 7.5)])]) {
      expect(decide(observed([full]), FRESH, WITH_HEADROOM, NOW).decision).toEqual({ action: "scale-up", by: 1, desired: 2, reason: `${ROOM} needs 1 node(s); adding 1` });
    }
    // The same cluster without headroom adds nothing.
    expect(decide(observed([node("n1", [pod("a", 1600, 1)])]), FRESH, CONFIG, NOW).decision.action).toBe("none");
  });

  test("CPU alone or memory alone is a headroom too", () => {
    const cpuOnly: ScalerConfig = { ...CONFIG, headroom: { cpuMillis: 500, memoryBytes: 0 } };
    const memoryOnly: ScalerConfig = { ...CONFIG, headroom: { cpuMillis: 0, memoryBytes: GiB } };
    expect(decide(observed([node("n1", [pod("a", 1600, 1)])]), FRESH, cpuOnly, NOW).decision).toMatchObject({ action: "scale-up", reason: "headroom for a pod of 500m CPU, which no Ready agent has, needs 1 node(s); adding 1" });
    expect(decide(observed([node("n1", [pod("a", 1600, 1)])]), FRESH, memoryOnly, NOW).decision.action).toBe("none");
    expect(decide(observed([node("n1", [pod("a", 100, 7.5)])]), FRESH, memoryOnly, NOW).decision).toMatchObject({ action: "scale-up", reason: "headroom for a pod of 1024Mi memory, which no Ready agent has, needs 1 node(s); adding 1" });
  });

  test("room on an agent not Ready or cordoned is no headroom; an agent on its way is counted once, after the pods that will fill it", () => {
    const full = node("n1", [pod("a", 1600, 1)]);
    for (const unusable of [node("n2", [pod("b", 100, 1)], { ready: false, createdAtMs: NOW - 60 * MINUTE }), node("n2", [], { unschedulable: true })]) {
      expect(decide(observed([full, unusable]), FRESH, WITH_HEADROOM, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 3 });
    }
    expect(decide(observed([full], [], { desired: 2, min: 1, max: 10 }), FRESH, WITH_HEADROOM, NOW).decision).toEqual({ action: "none", reason: `${ROOM} needs 1 node(s), 1 already on their way` });
    // A pending pod will take the agent on its way whole, so the headroom needs one more.
    expect(decide(observed([full], [pending("p", 1900, 1)], { desired: 2, min: 1, max: 10 }), FRESH, WITH_HEADROOM, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 3 });
  });

  test("pods below the expendable cut-off leave their room free, as a pod placed there preempts them: no agent is added for them", () => {
    const expendable = (name: string) => pod(name, 1900, 1, { priority: -100 });
    expect(decide(observed([node("n1", [expendable("filler")])], [pending("more", 1000, 1, { priority: -100 })]), FRESH, WITH_HEADROOM, NOW).decision.action).toBe("none");
    // At the cut-off a pod holds its room.
    expect(decide(observed([node("n1", [pod("filler", 1900, 1, { priority: -10 })])]), FRESH, WITH_HEADROOM, NOW).decision.action).toBe("scale-up");
  });

  test("an agent with no workload that cannot hold it stops the scale-ups, and the reason says why (no run to the maximum)", () => {
    const tainted = node("n2", [pod("exporter", 10, 0.03, { controllerKind: "DaemonSet" })], { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
    const outcome = decide(observed([node("n1", [pod("a", 1600, 1)]), tainted]), FRESH, WITH_HEADROOM, NOW);
    expect(outcome.decision.action).toBe("none");
    expect(outcome.decision.reason).toMatch(/^no pod needs a new agent; no node below 50% of allocatable for 10 min; no headroom kept: a pod of 500m CPU, 1024Mi memory fits not even n2, which runs no workload: .*dedicated/);
    // With a workload pod on it (beside its DaemonSet pod), the taint is that agent's own, and an agent is added.
    const busy = node("n2", [pod("exporter", 10, 0.03, { controllerKind: "DaemonSet" }), pod("gpu-job", 100, 1)], { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
    expect(decide(observed([node("n1", [pod("a", 1600, 1)]), busy]), FRESH, WITH_HEADROOM, NOW).decision.action).toBe("scale-up");
  });

  test.each(["node.kubernetes.io/not-ready", "node.kubernetes.io/network-unavailable"])("Ready with the node lifecycle controller's %s taint left, an agent is on its way too", (key) => {
    const fresh = node("n2", [], { taints: [{ key, effect: "NoSchedule" }], createdAtMs: NOW - MINUTE });
    expect(decide(observed([node("n1", [pod("a", 1600, 1)]), fresh], [pending("p", 1500, 1)]), FRESH, CONFIG, NOW).decision.reason).toBe("1 unschedulable pod(s) need 1 node(s), 1 already on their way");
  });

  test("an agent still starting is not tracked as underutilized: its window begins once it is set up", () => {
    const uninitialized = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" as const };
    const outcome = decide(observed([node("n1", [pod("a", 1600, 1)]), node("n2", [], { taints: [uninitialized], createdAtMs: NOW - MINUTE })]), FRESH, CONFIG, NOW);
    expect(outcome.underutilizedSince).toEqual({});
    expect(decide(observed([node("n1", [pod("a", 1600, 1)]), node("n2", [], { createdAtMs: NOW - MINUTE })]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({ n2: NOW });
  });

  test("a Ready agent with a startup taint left (k3s agents run --cloud-provider=external) is on its way, for the headroom and for pending pods", () => {
    const uninitialized = { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" as const };
    const full = node("n1", [pod("a", 1600, 1)]);
    const fresh = node("n2", [pod("exporter", 10, 0.03, { controllerKind: "DaemonSet" })], { taints: [uninitialized], createdAtMs: NOW - MINUTE });
    expect(decide(observed([full, fresh]), FRESH, WITH_HEADROOM, NOW).decision).toEqual({ action: "none", reason: `${ROOM} needs 1 node(s), 1 already on their way` });
    expect(decide(observed([full, fresh], [pending("p", 1500, 1)]), FRESH, CONFIG, NOW).decision).toEqual({ action: "none", reason: "1 unschedulable pod(s) need 1 node(s), 1 already on their way" });
    // Still tainted after MaxNodeStartupTime it is not starting any more: the pods get an agent, and the headroom stops
    // at the idle agent that cannot hold it.
    const stuck = { ...fresh, createdAtMs: NOW - 20 * MINUTE };
    expect(decide(observed([full, stuck], [pending("p", 1500, 1)]), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
    expect(decide(observed([full, stuck]), FRESH, WITH_HEADROOM, NOW).decision.reason).toMatch(/no headroom kept: .* fits not even n2, which runs no workload: .*uninitialized/);
  });

  test("static (mirror) pods are no workload either", () => {
    const tainted = node("n2", [pod("static-proxy", 10, 0.03, { controllerKind: undefined, mirror: true })], { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
    expect(decide(observed([node("n1", [pod("a", 1600, 1)]), tainted]), FRESH, WITH_HEADROOM, NOW).decision.action).toBe("none");
  });

  test("unschedulable pods and the headroom pack together: a 1500m pod leaves room for it on its new agent, a 1600m pod does not", () => {
    const full = node("n1", [pod("a", 1900, 1)]);
    expect(decide(observed([full], [pending("p", 1500, 1)]), FRESH, WITH_HEADROOM, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 2,
      reason: `1 unschedulable pod(s) and ${ROOM} need 1 node(s); adding 1`,
    });
    expect(decide(observed([full], [pending("p", 1600, 1)]), FRESH, WITH_HEADROOM, NOW).decision).toMatchObject({ action: "scale-up", by: 2, desired: 3 });
    // Room already kept elsewhere is not added again.
    expect(decide(observed([full, node("n2")], [pending("p", 1600, 1)]), FRESH, WITH_HEADROOM, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 3 });
  });

  test("at the group's maximum no agent is added for it, and the reason says so", () => {
    const full = Array.from({ length: 3 }, (_, i) => node(`n${i}`, [pod(`a${i}`, 1600, 1)]));
    expect(decide(observed(full, [], { desired: 3, min: 1, max: 3 }), FRESH, WITH_HEADROOM, NOW).decision).toEqual({
      action: "none",
      reason: `${ROOM} needs 1 node(s); the group is at its maximum of 3`,
    });
  });

  test("an underutilized agent stays when the others would have no room left after taking its pods, and goes when they would", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    expect(decide(observed([node("n1", [pod("a", 1400, 1)]), idle]), since("idle"), WITH_HEADROOM, NOW).decision).toEqual({
      action: "none",
      reason: "no node can be removed: idle: without it no agent would keep room for the headroom's pod of 500m CPU, 1024Mi memory",
    });
    expect(decide(observed([node("n1", [pod("a", 1300, 1)]), idle]), since("idle"), WITH_HEADROOM, NOW).decision).toMatchObject({ action: "scale-down", node: "idle", desired: 1 });
    // One of two remaining agents with the room is enough.
    expect(decide(observed([node("n1", [pod("a", 500, 1)]), node("n2", [pod("b", 1800, 1)]), node("idle", [pod("small", 300, 1)])]), since("idle"), WITH_HEADROOM, NOW).decision).toMatchObject({
      action: "scale-down",
      node: "idle",
    });
    // An agent on its way is not room yet: it may never come.
    const starting = node("new", [], { ready: false, createdAtMs: NOW - MINUTE });
    expect(decide(observed([node("n1", [pod("a", 1400, 1)]), idle, starting]), since("idle"), WITH_HEADROOM, NOW).decision.action).toBe("none");
  });

  test("the moved pods go where kube-scheduler would spread them (LeastAllocated), not where a first fit leaves a gap", () => {
    // A first fit puts both 450m pods on a (2000m used) and leaves b 900m free; the scheduler puts one on each, leaving
    // 450m on both: no room for 500m.
    const twoSmall = node("c", [pod("s1", 450, 0.5), pod("s2", 450, 0.5)]);
    const others = [node("a", [pod("x", 1100, 1)]), node("b", [pod("y", 1100, 1)])];
    expect(decide(observed([...others, twoSmall]), since("c"), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "c" });
    expect(decide(observed([...others, twoSmall]), since("c"), WITH_HEADROOM, NOW).decision).toMatchObject({ action: "none", reason: expect.stringMatching(/^no node can be removed: c: without it no agent would keep room/) });
  });

  test("a tie the scheduler breaks at random is broken against the room: the moved pod is put on the agent that has it", () => {
    // For a 100m, 1Gi pod, a (1450m, 7Gi used: room for 500m and 1Gi) and b (1600m, 7Gi: none) both score 99
    // (LeastAllocated 11 and 7, BalancedAllocation 88 and 92). On a, the room is gone; on b, it stays.
    const a = node("a", [pod("x", 1450, 7)]);
    const b = node("b", [pod("y", 1600, 7)]);
    const small = node("c", [pod("s", 100, 1)]);
    expect(decide(observed([b, a, small]), since("c"), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "c" });
    expect(decide(observed([b, a, small]), since("c"), WITH_HEADROOM, NOW).decision.action).toBe("none");
  });

  test("headroom no new agent could hold is not kept, and every reason says why", () => {
    const tooLarge: ScalerConfig = { ...CONFIG, headroom: { cpuMillis: 2500, memoryBytes: GiB } };
    const outcome = decide(observed([node("n1", [pod("a", 1600, 1)])]), FRESH, tooLarge, NOW);
    expect(outcome.decision).toEqual({
      action: "none",
      reason: "no pod needs a new agent; the group is at its minimum of 1; no headroom kept: a pod of 2500m CPU, 1024Mi memory fits no new agent: insufficient cpu (requests 2500m, 2000m free)",
    });
    expect(decide(observed([node("n1")], [pending("p", 500, 1)]), FRESH, tooLarge, NOW).decision.reason).toMatch(/^1 unschedulable pod\(s\) need 1 node\(s\); adding 1; no headroom kept: /);
  });

  test("zero CPU and zero memory is no headroom at all, not room for an empty pod", () => {
    const none: ScalerConfig = { ...CONFIG, headroom: { cpuMillis: 0, memoryBytes: 0 } };
    // Every pod slot taken: an empty pod would not fit either.
    expect(decide(observed([node("n1", [pod("a", 2000, 8)], { podCapacity: 1 })]), FRESH, none, NOW).decision).toEqual({ action: "none", reason: "no pod needs a new agent; the group is at its minimum of 1" });
  });

  test("a removal whose pods a first fit places but kube-scheduler's spreading would not is refused", () => {
    // A first fit puts the 750m, 2Gi pod on a (exactly full) and the 1000m one on b; the scheduler puts the first on b,
    // which has more free, and then the second fits nowhere.
    const loaded = node("c", [pod("p1", 750, 2), pod("p2", 1000, 0.5)]);
    const others = [node("a", [pod("x", 1250, 6)]), node("b", [pod("y", 1000, 4)])];
    const lenient = { ...CONFIG, scaleDownThreshold: 0.95 };
    expect(decide(observed([...others, loaded]), since("c"), lenient, NOW).decision).toMatchObject({ action: "scale-down", node: "c" });
    expect(decide(observed([...others, loaded]), since("c"), { ...lenient, headroom: { cpuMillis: 500, memoryBytes: GiB } }, NOW).decision).toMatchObject({
      action: "none",
      reason: expect.stringMatching(/^no node can be removed: c: without it no agent would keep room/),
    });
  });
});
