import { AgentNode, decide, nodesNeeded, Observed, ScalerConfig, ScalerState } from "../lambdas/autoscaler/decide";
import { PodInfo } from "../lambdas/shared/cluster";
import { cpuMillis, memoryBytes, parseQuantity } from "../lambdas/shared/quantity";

const GiB = 2 ** 30;
const MINUTE = 60_000;
const NOW = 1_700_000_000_000;

function pod(name: string, cpu: number, memGiB: number, extra: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "default",
    name,
    phase: "Running",
    labels: {},
    requests: { cpuMillis: cpu, memoryBytes: memGiB * GiB },
    controllerKind: "ReplicaSet",
    mirror: false,
    deleting: false,
    unschedulable: false,
    ...extra,
  };
}

const pending = (name: string, cpu: number, memGiB: number) => pod(name, cpu, memGiB, { phase: "Pending", unschedulable: true });

function node(name: string, pods: PodInfo[] = [], extra: Partial<AgentNode> = {}): AgentNode {
  return { name, instanceId: `i-${name}`, ready: true, unschedulable: false, allocatable: { cpuMillis: 2000, memoryBytes: 8 * GiB }, pods, ...extra };
}

const CONFIG: ScalerConfig = { nodeTemplate: { cpuMillis: 2000, memoryBytes: 8 * GiB }, maxStepUp: 3, scaleDownThreshold: 0.5, scaleDownWindowMs: 10 * MINUTE, cooldownMs: 10 * MINUTE };
const FRESH: ScalerState = { underutilizedSince: {} };
const observed = (nodes: AgentNode[], pendingPods: PodInfo[] = [], group = { desired: nodes.length, min: 1, max: 10 }): Observed => ({ nodes, pendingPods, budgets: [], group });

describe("quantities", () => {
  test.each([
    ["100m", 0.1],
    ["2", 2],
    ["1.5", 1.5],
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", GiB],
    ["1G", 1e9],
    ["1e3", 1000],
  ])("%s", (text, value) => expect(parseQuantity(text)).toBeCloseTo(value));

  test("CPU rounds up to whole millicores, absent requests count as zero, garbage is refused", () => {
    expect(cpuMillis("0.0001")).toBe(1);
    expect(cpuMillis(undefined)).toBe(0);
    expect(memoryBytes("128Mi")).toBe(128 * 2 ** 20);
    expect(() => parseQuantity("lots")).toThrow('not a Kubernetes quantity: "lots"');
  });
});

describe("scale up", () => {
  test.each<[string, PodInfo[], number]>([
    ["one small pod needs one node", [pending("a", 500, 1)], 1],
    ["pods pack together by requests", [pending("a", 900, 1), pending("b", 900, 1), pending("c", 200, 1)], 1],
    ["CPU-bound pods need a node each", [pending("a", 1500, 1), pending("b", 1500, 1), pending("c", 1500, 1)], 3],
    ["memory-bound pods pack by memory", [pending("a", 100, 5), pending("b", 100, 5), pending("c", 100, 3)], 2],
  ])("%s", (_name, pods, needed) => {
    expect(nodesNeeded(pods, CONFIG.nodeTemplate)).toBe(needed);
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

  test("instances already launching are counted before adding more", () => {
    const pods = [pending("a", 1500, 1), pending("b", 1500, 1)];
    expect(decide(observed([node("n1")], pods, { desired: 3, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "none",
      reason: "2 unschedulable pod(s) need 2 node(s), 2 already launching",
    });
    expect(decide(observed([node("n1")], [...pods, pending("c", 1500, 1)], { desired: 3, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1, desired: 4 });
  });

  test("a pod larger than any node does not trigger a scale-up", () => {
    expect(decide(observed([node("n1")], [pending("huge", 4000, 1)]), FRESH, CONFIG, NOW).decision).toEqual({
      action: "none",
      reason: "1 pod(s) unschedulable, none would fit a new node; 1 pod(s) request more than a whole node and are ignored",
    });
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
    ["not under the threshold long enough", observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 9 * MINUTE), NOW, "no unschedulable pods; no node below 50% of allocatable for 10 min"],
    ["at the group minimum", observed([busy("n1"), idle], [], { desired: 2, min: 2, max: 10 }), idleSince(NOW - 20 * MINUTE), NOW, "no unschedulable pods; the group is at its minimum of 2"],
    ["cooling down after a scale-up", observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 4 * MINUTE }, NOW, "no unschedulable pods; cooling down for 360 s after the last scale action"],
    ["cooling down after a scale-down", observed([busy("n1"), idle], [], { desired: 2, min: 1, max: 10 }), { ...idleSince(NOW - 20 * MINUTE), lastScaleDownAt: NOW - 9 * MINUTE }, NOW, "no unschedulable pods; cooling down for 60 s after the last scale action"],
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
      "no node can be removed: idle: its pods do not fit on the other nodes",
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

  test("pending pods always win over scale-down", () => {
    expect(decide(observed([busy("n1"), idle], [pending("p", 500, 1)], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 30 * MINUTE), CONFIG, NOW).decision.action).toBe("scale-up");
  });
});
