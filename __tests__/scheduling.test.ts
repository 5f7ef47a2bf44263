import { nodeTemplate } from "../lambdas/autoscaler/node-template";
import { classifyPendingPods, PendingContext } from "../lambdas/autoscaler/pending";
import { bestScoredNode, binPack, largestFirst, NodeState, nodeScore, nodeWith, place, schedulingFailure, spreadAsScheduled } from "../lambdas/autoscaler/scheduling";
import { PodInfo } from "../lambdas/shared/cluster";
import { LabelSelector, NodeSelectorTerm, PodSchedulingSpec, Resources } from "../lambdas/shared/kube-model";
import { matchesLabelSelector, matchesNodeSelectorTerms } from "../lambdas/shared/selectors";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const r = (cpuMillis: number, memoryMiB = 0): Resources => ({ cpuMillis, memoryBytes: memoryMiB * MiB });
const spec = (cpu: number, memoryMiB = 0, extra: Partial<PodSchedulingSpec> = {}): PodSchedulingSpec => ({ requests: r(cpu, memoryMiB), ...extra });
const agent = (extra: Partial<NodeState> = {}): NodeState => ({
  ...nodeWith({ name: "agent-1", labels: { "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", tier: "web" }, allocatable: r(2000, 8192), podCapacity: 110 }, []),
  ...extra,
});

describe("label selectors (apimachinery labels.Selector; policy/v1 PodDisruptionBudget reads null as none)", () => {
  const labels = { app: "db", tier: "backend", version: "3" };
  test.each<[string, LabelSelector | null | undefined, boolean]>([
    ["an empty selector selects everything", {}, true],
    ["a null selector selects nothing", null, false],
    ["matchLabels must all hold", { matchLabels: { app: "db", tier: "backend" } }, true],
    ["one wrong matchLabels pair fails", { matchLabels: { app: "db", tier: "frontend" } }, false],
    ["In", { matchExpressions: [{ key: "app", operator: "In", values: ["db", "cache"] }] }, true],
    ["In on a missing key fails", { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, false],
    ["In with a value not listed fails", { matchExpressions: [{ key: "app", operator: "In", values: ["cache", "queue"] }] }, false],
    ["NotIn holds for a missing key", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, true],
    ["NotIn", { matchExpressions: [{ key: "app", operator: "NotIn", values: ["db"] }] }, false],
    ["NotIn holds for a value not listed", { matchExpressions: [{ key: "app", operator: "NotIn", values: ["cache"] }] }, true],
    ["Exists", { matchExpressions: [{ key: "tier", operator: "Exists" }] }, true],
    ["DoesNotExist", { matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, false],
    ["DoesNotExist holds for a missing key", { matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, true],
    ["labels and expressions are ANDed", { matchLabels: { app: "db" }, matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, false],
  ])("%s", (_name, selector, matches) => expect(matchesLabelSelector(labels, selector)).toBe(matches));
});

describe("node selector terms (core/v1 NodeSelectorTerm: terms ORed, requirements ANDed)", () => {
  const node = { name: "agent-1", labels: { "kubernetes.io/arch": "arm64", cores: "4", disks: "16", signed: "+5", scientific: "1e3" } };
  test.each<[string, NodeSelectorTerm[] | undefined, boolean]>([
    ["no affinity places anywhere", undefined, true],
    ["an empty term matches no node", [{}], false],
    ["one matching term is enough", [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }] }, { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }] }], true],
    ["requirements of one term are ANDed", [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }, { key: "gpu", operator: "Exists" }] }], false],
    ["Gt compares integers", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["2"] }] }], true],
    ["Lt compares integers", [{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["2"] }] }], false],
    ["Gt with a non-integer never matches", [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "Gt", values: ["2"] }] }], false],
    // apimachinery labels.Requirement.Matches: both sides through strconv.ParseInt(s, 10, 64), one value only, strict
    // comparison.
    ["Gt is strict", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] }], false],
    ["Lt holds for a smaller value", [{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["8"] }] }], true],
    ["Lt is strict", [{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["4"] }] }], false],
    ["Gt compares numbers of several digits", [{ matchExpressions: [{ key: "disks", operator: "Gt", values: ["10"] }] }], true],
    ["Gt needs exactly one value", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["2", "3"] }] }], false],
    ["Gt with no values never matches", [{ matchExpressions: [{ key: "cores", operator: "Gt" }] }], false],
    ["Gt on a missing label never matches", [{ matchExpressions: [{ key: "gpus", operator: "Gt", values: ["-1"] }] }], false],
    ["a signed label is an integer to ParseInt", [{ matchExpressions: [{ key: "signed", operator: "Gt", values: ["2"] }] }], true],
    ["a signed value is an integer to ParseInt", [{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["+5"] }] }], true],
    ["a label in exponent form is not an integer to ParseInt", [{ matchExpressions: [{ key: "scientific", operator: "Gt", values: ["2"] }] }], false],
    ["a value in exponent form is not an integer to ParseInt", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["1e0"] }] }], false],
    ["matchFields metadata.name", [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["agent-1"] }] }], true],
  ])("%s", (_name, terms, matches) => expect(matchesNodeSelectorTerms(node, terms)).toBe(matches));

  test("a node that does not exist yet matches no metadata.name", () => {
    expect(matchesNodeSelectorTerms({ labels: {} }, [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["agent-1"] }] }])).toBe(false);
  });
});

describe("scheduling predicates (kube-scheduler default filter plugins)", () => {
  test.each<[string, PodSchedulingSpec, NodeState, string | undefined]>([
    ["noderesources/fit.go: a pod within free cpu and memory fits", spec(1500, 4096), agent(), undefined],
    ["noderesources/fit.go: cpu beyond what is free", spec(1500), agent({ used: r(1000) }), "insufficient cpu (requests 1500m, 1000m free)"],
    ["noderesources/fit.go: memory beyond what is free", spec(100, 4096), agent({ used: r(0, 6144) }), "insufficient memory (requests 4096Mi, 2048Mi free)"],
    ["noderesources/fit.go: a zero request fits an over-committed node", spec(0), agent({ used: r(2500, 9000) }), undefined],
    ["noderesources/fit.go: the pods-per-node limit", spec(10), agent({ podCount: 110 }), "too many pods (limit 110)"],
    ["nodeaffinity: nodeSelector matches labels", spec(10, 0, { nodeSelector: { "kubernetes.io/arch": "arm64" } }), agent(), undefined],
    ["nodeaffinity: nodeSelector that does not match", spec(10, 0, { nodeSelector: { "kubernetes.io/arch": "amd64" } }), agent(), "node selector kubernetes.io/arch=amd64 does not match"],
    [
      "nodeaffinity: required affinity that does not match",
      spec(10, 0, { requiredNodeAffinity: [{ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] }] }),
      agent(),
      "required node affinity does not match",
    ],
    ["tainttoleration: NoSchedule must be tolerated", spec(10), agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }), "taint dedicated=gpu:NoSchedule is not tolerated"],
    ["tainttoleration: NoExecute must be tolerated", spec(10), agent({ taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }), "taint node.kubernetes.io/not-ready:NoExecute is not tolerated"],
    ["tainttoleration: PreferNoSchedule never blocks", spec(10), agent({ taints: [{ key: "spot", effect: "PreferNoSchedule" }] }), undefined],
    [
      "tainttoleration: Equal needs the same value",
      spec(10, 0, { tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }] }),
      agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
      "taint dedicated=gpu:NoSchedule is not tolerated",
    ],
    [
      "tainttoleration: Equal with the same key, value and effect tolerates",
      spec(10, 0, { tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }] }),
      agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
      undefined,
    ],
    [
      "tainttoleration: an empty value equals an empty value (the operator defaults to Equal)",
      spec(10, 0, { tolerations: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }),
      agent({ taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }),
      undefined,
    ],
    [
      "tainttoleration: a toleration without an effect tolerates every effect of its key",
      spec(10, 0, { tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu" }] }),
      agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }, { key: "dedicated", value: "gpu", effect: "NoExecute" }] }),
      undefined,
    ],
    [
      "tainttoleration: a toleration for another key does not apply",
      spec(10, 0, { tolerations: [{ key: "spot", operator: "Exists", effect: "NoSchedule" }] }),
      agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
      "taint dedicated=gpu:NoSchedule is not tolerated",
    ],
    ["tainttoleration: Exists tolerates any value", spec(10, 0, { tolerations: [{ key: "dedicated", operator: "Exists" }] }), agent({ taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }), undefined],
    ["tainttoleration: an empty key with Exists tolerates everything", spec(10, 0, { tolerations: [{ operator: "Exists" }] }), agent({ taints: [{ key: "a", effect: "NoExecute" }, { key: "b", effect: "NoSchedule" }] }), undefined],
    [
      "tainttoleration: a toleration for another effect does not apply",
      spec(10, 0, { tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoExecute" }] }),
      agent({ taints: [{ key: "dedicated", effect: "NoSchedule" }] }),
      "taint dedicated:NoSchedule is not tolerated",
    ],
    ["nodeports: same port and protocol on every address conflicts", spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP" }] }), "host port 80/TCP is already in use"],
    ["nodeports: another port does not conflict", spec(10, 0, { hostPorts: [{ port: 8080, protocol: "TCP" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP" }] }), undefined],
    ["nodeports: a specific address conflicts with the port bound on every address", spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.5" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP" }] }), "host port 10.0.1.5:80/TCP is already in use"],
    ["nodeports: another protocol does not conflict", spec(10, 0, { hostPorts: [{ port: 53, protocol: "UDP" }] }), agent({ usedHostPorts: [{ port: 53, protocol: "TCP" }] }), undefined],
    ["nodeports: 0.0.0.0 conflicts with a specific address", spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP", hostIP: "0.0.0.0" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.5" }] }), "host port 0.0.0.0:80/TCP is already in use"],
    ["nodeports: two different specific addresses do not conflict", spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.6" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.5" }] }), undefined],
    ["nodeports: the same specific address conflicts", spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.5" }] }), agent({ usedHostPorts: [{ port: 80, protocol: "TCP", hostIP: "10.0.1.5" }] }), "host port 10.0.1.5:80/TCP is already in use"],
  ])("%s", (_name, pod, node, failure) => expect(schedulingFailure(pod, node)).toBe(failure));

  test("placing a pod takes its requests, a pod slot and its host ports", () => {
    const placed = place(spec(300, 256, { hostPorts: [{ port: 9100, protocol: "TCP" }, { port: 0, protocol: "TCP" }] }), agent());
    expect(placed).toMatchObject({ used: r(300, 256), podCount: 1, usedHostPorts: [{ port: 9100, protocol: "TCP" }] });
    expect(schedulingFailure(spec(10, 0, { hostPorts: [{ port: 9100, protocol: "TCP" }] }), placed)).toBe("host port 9100/TCP is already in use");
  });
});

describe("bin packing (cluster-autoscaler estimator/binpacking_estimator.go, first fit decreasing)", () => {
  const template = agent({ name: undefined });
  test.each<[string, PodSchedulingSpec[], NodeState, number]>([
    ["small pods share a node", [spec(900), spec(900), spec(200)], template, 1],
    ["largest first packs tighter than arrival order", [spec(600), spec(600), spec(1400), spec(1400)], template, 2],
    ["the pods-per-node limit opens nodes even with room to spare", Array.from({ length: 5 }, () => spec(10)), { ...template, podCapacity: 2 }, 3],
    ["a host port opens a node per pod that binds it", Array.from({ length: 3 }, () => spec(10, 0, { hostPorts: [{ port: 80, protocol: "TCP" }] })), template, 3],
  ])("%s", (_name, pods, node, nodes) => expect(binPack(pods, node).nodes).toBe(nodes));

  test("pods are packed largest first by their share of CPU plus their share of memory (decreasing_pod_orderer.go)", () => {
    // Shares of a 2000m / 8 GiB template: cpu-heavy 0.5 + 0.125, memory-heavy 0.05 + 0.75.
    const cpuHeavy = spec(1000, 1024);
    const memoryHeavy = spec(100, 6144);
    expect(binPack([cpuHeavy, memoryHeavy], template).packed).toEqual([memoryHeavy, cpuHeavy]);
    // 0.75 + 0.125 against 0.05 + 0.5.
    const busy = spec(1500, 1024);
    const roomy = spec(100, 4096);
    expect(binPack([roomy, busy], template).packed).toEqual([busy, roomy]);
    // Same CPU: memory decides.
    expect(binPack([spec(500, 512), spec(500, 2048)], template).packed).toEqual([spec(500, 2048), spec(500, 512)]);
  });

  test("a pod no empty template could take opens no node and is reported unpacked", () => {
    const huge = spec(4000);
    expect(binPack([spec(100), huge], template)).toEqual({ nodes: 1, packed: [spec(100)], unpacked: [huge] });
  });

  test("no more than maxNodes are opened (cluster-autoscaler's estimation limiter)", () => {
    const packing = binPack(Array.from({ length: 4 }, () => spec(1500)), template, 2);
    expect(packing.nodes).toBe(2);
    expect(packing.unpacked).toHaveLength(2);
  });
});

describe("node template (cluster-autoscaler simulator/node_info_utils.go SanitizedTemplateNodeInfoFromNodeInfo)", () => {
  const instance = { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" } as const;

  test("derived from the instance type: kubelet and cloud-controller labels, whole CPU, 90% of nominal memory, 110 pods, no taints", () => {
    const template = nodeTemplate({ instance: { ...instance, architecture: "x86_64", instanceType: "m7i.large" }, daemonSetPods: [] });
    expect(template).toEqual({
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m7i.large",
        "beta.kubernetes.io/instance-type": "m7i.large",
      },
      taints: [],
      allocatable: { cpuMillis: 2000, memoryBytes: Math.floor(8192 * MiB * 0.9) },
      podCapacity: 110,
      used: r(0),
      podCount: 0,
      usedHostPorts: [],
    });
  });

  test("an arm64 instance is labelled with Go's name for it, arm64", () => {
    const labels = nodeTemplate({ instance, daemonSetPods: [] }).labels;
    expect([labels["kubernetes.io/arch"], labels["beta.kubernetes.io/arch"]]).toEqual(["arm64", "arm64"]);
  });

  test("measured from a live agent: its allocatable and pod capacity; hostname, zone and capacity type dropped (compare_nodegroups.go BasicIgnoredLabels)", () => {
    const liveAgent = {
      labels: {
        "kubernetes.io/hostname": "ip-10-0-1-5",
        "kubernetes.io/arch": "arm64",
        "topology.kubernetes.io/zone": "eu-west-1a",
        "topology.kubernetes.io/region": "eu-west-1",
        "node.kubernetes.io/capacity-type": "spot",
        "node.kubernetes.io/instance-type": "m7g.large",
      },
      allocatable: { cpuMillis: 2000, memoryBytes: 7.6 * GiB },
      podCapacity: 58,
    };
    const template = nodeTemplate({ liveAgent, instance, daemonSetPods: [] });
    expect(template.labels).toEqual({ "kubernetes.io/arch": "arm64", "topology.kubernetes.io/region": "eu-west-1", "node.kubernetes.io/instance-type": "m7g.large" });
    expect(template).toMatchObject({ allocatable: liveAgent.allocatable, podCapacity: 58, taints: [] });
    expect(nodeTemplate({ liveAgent: { ...liveAgent, podCapacity: undefined }, instance, daemonSetPods: [] }).podCapacity).toBe(110);
  });

  test("DaemonSet pods that would run on a new agent take their requests, pod slots and host ports (podsExpectedOnFreshNode)", () => {
    const exporter = spec(100, 128, { hostPorts: [{ port: 9100, protocol: "TCP" }] });
    const amd64Only = spec(500, 512, { nodeSelector: { "kubernetes.io/arch": "amd64" } });
    const serversOnly = spec(500, 512, { requiredNodeAffinity: [{ matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] }] });
    const template = nodeTemplate({ instance, daemonSetPods: [exporter, amd64Only, serversOnly] });
    expect(template).toMatchObject({ used: r(100, 128), podCount: 1, usedHostPorts: [{ port: 9100, protocol: "TCP" }] });
  });

  test("a live agent's DaemonSet pods all count, though the DaemonSet controller pins each to that agent's name (podsExpectedOnFreshNode; ReplaceDaemonSetPodNodeNameNodeAffinity)", () => {
    const pinned = (cpu: number) => spec(cpu, 128, { requiredNodeAffinity: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["ip-10-0-1-5"] }] }] });
    const liveAgent = { labels: { "kubernetes.io/arch": "arm64" }, allocatable: r(2000, 8192), podCapacity: 110 };
    const template = nodeTemplate({ liveAgent, instance, daemonSetPods: [pinned(100), pinned(250)] });
    expect(template).toMatchObject({ used: r(350, 256), podCount: 2 });
    // So a pod that fits allocatable but not allocatable minus the DaemonSets is not promised a new agent.
    expect(schedulingFailure(spec(1800), template)).toBe("insufficient cpu (requests 1800m, 1650m free)");
  });
});

describe("pending pods (cluster-autoscaler core/podlistprocessor)", () => {
  const template = nodeTemplate({ instance: { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" }, daemonSetPods: [] });
  const context: PendingContext = { template, boundClaims: new Set(["default/data-0"]), nodeNames: new Set(["agent-1", "server-1"]), expendablePriorityCutoff: -10 };
  const pending = (name: string, extra: Partial<PodInfo> = {}): PodInfo => ({
    namespace: "default",
    name,
    phase: "Pending",
    labels: {},
    requests: r(500, 512),
    controllerKind: "ReplicaSet",
    mirror: false,
    deleting: false,
    unschedulable: true,
    ...extra,
  });

  test.each<[string, PodInfo, "schedulable" | "unplaceable" | "ignored", string | undefined]>([
    ["an Unschedulable pod that fits the template is demand", pending("web"), "schedulable", undefined],
    ["not yet marked Unschedulable: the scheduler has not given up on existing nodes", pending("new", { unschedulable: false }), "ignored", "not marked Unschedulable by the scheduler"],
    ["filter_out_daemon_sets.go: a DaemonSet pod needs its own node, not a new one", pending("exporter", { controllerKind: "DaemonSet" }), "ignored", "a DaemonSet pod, tied to its node"],
    ["expendable.go: priority below the cut-off", pending("batch", { priority: -11 }), "ignored", "priority -11 is below the expendable cut-off -10"],
    ["expendable.go: priority at the cut-off is not expendable", pending("batch", { priority: -10 }), "schedulable", undefined],
    ["expendable.go: nominated to an existing node for preemption", pending("urgent", { nominatedNodeName: "server-1" }), "ignored", "nominated to server-1, where lower-priority pods are being preempted"],
    ["expendable.go: nominated to a node that is gone", pending("urgent", { nominatedNodeName: "agent-9" }), "schedulable", undefined],
    ["volumebinding: waiting on an unbound claim", pending("db-1", { claimNames: ["data-1"] }), "ignored", "waiting for PersistentVolumeClaim data-1 to be bound"],
    ["volumebinding: a bound claim does not hold the pod", pending("db-0", { claimNames: ["data-0"] }), "schedulable", undefined],
    ["a node selector no new agent has", pending("x86", { nodeSelector: { "kubernetes.io/arch": "amd64" } }), "unplaceable", "node selector kubernetes.io/arch=amd64 does not match"],
    ["a request larger than a new agent", pending("huge", { requests: r(4000) }), "unplaceable", "insufficient cpu (requests 4000m, 2000m free)"],
  ])("%s", (_name, pod, bucket, reason) => {
    const sorted = classifyPendingPods([pod], context);
    if (bucket === "schedulable") expect(sorted.schedulable).toEqual([pod]);
    else expect(sorted[bucket]).toEqual([{ pod: `default/${pod.name}`, reason }]);
  });
});

describe("largest first (cluster-autoscaler estimator/decreasing_pod_orderer.go)", () => {
  const pod = (name: string, cpuMillis: number, memoryBytes: number) => ({ name, requests: { cpuMillis, memoryBytes } }) as unknown as PodSchedulingSpec & { name: string };
  test("orders by the share of CPU plus the share of memory", () => {
    const pods = [pod("small", 100, 2 ** 28), pod("cpu-heavy", 1500, 2 ** 28), pod("memory-heavy", 100, 6 * 2 ** 30)];
    // memory-heavy 0.05 + 0.75 = 0.8, cpu-heavy 0.75 + 0.03125 = 0.78125, small 0.05 + 0.03125.
    expect(largestFirst(pods, { allocatable: { cpuMillis: 2000, memoryBytes: 8 * 2 ** 30 } }).map((p) => p.name)).toEqual(["memory-heavy", "cpu-heavy", "small"]);
  });

  test("a resource the node has none of counts for nothing, so memory alone orders the pods", () => {
    const pods = [pod("a", 500, 2 ** 30), pod("b", 100, 4 * 2 ** 30), pod("c", 900, 2 * 2 ** 30)];
    expect(largestFirst(pods, { allocatable: { cpuMillis: 0, memoryBytes: 8 * 2 ** 30 } }).map((p) => p.name)).toEqual(["b", "c", "a"]);
    expect(largestFirst(pods, { allocatable: { cpuMillis: 2000, memoryBytes: 0 } }).map((p) => p.name)).toEqual(["c", "a", "b"]);
  });
});

describe("kube-scheduler's default resource scoring (pkg/scheduler/framework/plugins/noderesources, Kubernetes 1.33)", () => {
  // least_allocated.go: per resource (capacity - requested) * 100 / capacity in whole points, 0 past capacity, the mean
  // over the resources with a capacity (integer division); balanced_allocation.go: int64((1 - std) * 100), std =
  // |cpu fraction - memory fraction| / 2 with fractions capped at 1. Each plugin weight 1, so the score is their sum.
  test("the sum of LeastAllocated and BalancedAllocation, worked by hand from the upstream formulas", () => {
    const node = place(spec(1000, 2048), agent());
    // Placing 500m and 2048Mi: CPU 1500/2000 -> 25, memory 4096/8192 -> 50, mean 37; fractions 0.75 and 0.5 -> 87.
    expect(nodeScore(spec(500, 2048), node)).toBe(37 + 87);
    // Past the CPU capacity: CPU scores 0, memory (its request of none counted as 200Mi, below) 2248/8192 -> 72, mean
    // 36; the CPU fraction capped at 1 against 0.25 -> 62.
    expect(nodeScore(spec(3000, 0), node)).toBe(36 + 62);
    // A resource the node has none of is left out of both: CPU alone, 75, and one fraction has no deviation, 100.
    expect(nodeScore(spec(500, 0), agent({ allocatable: r(2000, 0) }))).toBe(75 + 100);
    // A pod that requests nothing: LeastAllocated counts 100m and 200Mi (pod_resources.go DefaultMilliCPURequest,
    // DefaultMemoryRequest): CPU 1100/2000 -> 45, memory 2248/8192 -> 72, mean 58; BalancedAllocation skips it (1.33).
    expect(nodeScore(spec(0, 0), node)).toBe(58);
    // Memory alone requested: CPU counts 100m for LeastAllocated (45, memory 4096/8192 -> 50, mean 47), but not for
    // the balance, whose fractions are 0.5 and 0.5 -> 100.
    expect(nodeScore(spec(0, 2048), node)).toBe(47 + 100);
    // A node with nothing allocatable scores nothing.
    expect(nodeScore(spec(500, 512), agent({ allocatable: r(0, 0) }))).toBe(0);
  });

  test("balance can outweigh free room: a node busy on CPU but idle on memory loses to one busy on memory", () => {
    // a: 1650m and 512Mi used, b: 1250m and 6144Mi; for a 300m, 102Mi pod, LeastAllocated alone prefers a (47 to 22),
    // BalancedAllocation prefers b (99 to 54): b, 121 to 101.
    const a = place(spec(1650, 512), agent({ name: "a" }));
    const b = place(spec(1250, 6144), agent({ name: "b" }));
    expect([nodeScore(spec(300, 102), a), nodeScore(spec(300, 102), b)]).toEqual([101, 121]);
    expect(spreadAsScheduled([spec(300, 102)], [a, b])!.map((node) => node.used.cpuMillis)).toEqual([1650, 1550]);
  });

  test("spreading puts each pod, largest first, on the feasible node it scores highest, the first of equals; none when one fits nowhere", () => {
    const named = (name: string, usedCpu: number) => place(spec(usedCpu, 1024), agent({ name }));
    // Equal nodes: the first takes the first pod, the other the second.
    expect(spreadAsScheduled([spec(450, 512), spec(450, 512)], [named("a", 1100), named("b", 1100)])!.map((node) => node.used.cpuMillis)).toEqual([1550, 1550]);
    expect(spreadAsScheduled([spec(450, 512)], [named("a", 1100), named("b", 1100)])!.map((node) => node.used.cpuMillis)).toEqual([1550, 1100]);
    // Not a first fit: the emptier second node takes the pod.
    expect(spreadAsScheduled([spec(300, 0)], [named("a", 1200), named("b", 500)])!.map((node) => node.used.cpuMillis)).toEqual([1200, 800]);
    // Largest first: the 900m pod takes a before the 500m one could; in the order given, 500m would take a and 900m fit
    // nowhere.
    expect(spreadAsScheduled([spec(500, 0), spec(900, 0)], [named("a", 1000), named("b", 1400)])!.map((node) => node.used.cpuMillis)).toEqual([1900, 1900]);
    expect(spreadAsScheduled([spec(100), spec(200)], [])).toBeUndefined();
    // A preferred node does not beat a higher score, wherever it comes.
    expect(spreadAsScheduled([spec(300, 0)], [named("b", 500), named("a", 1200)], (node) => node.name === "a")!.map((node) => node.used.cpuMillis)).toEqual([800, 1200]);
    // Among equals, a preferred node first.
    expect(spreadAsScheduled([spec(450, 512)], [named("a", 1100), named("b", 1100)], (node) => node.name === "b")!.map((node) => node.used.cpuMillis)).toEqual([1100, 1550]);
    expect(spreadAsScheduled([spec(1000)], [named("a", 1500)])).toBeUndefined();
    expect(spreadAsScheduled([], [])).toEqual([]);
  });

  test("the simulator's scheduler, with no preferred node: the feasible node scored highest, the first of equals, -1 when none fits", () => {
    const named = (name: string, usedCpu: number) => place(spec(usedCpu, 1024), agent({ name }));
    expect(bestScoredNode(spec(300, 0), [named("a", 1200), named("b", 500)])).toBe(1);
    // The emptiest node cannot hold the pod: it is not feasible, whatever its score.
    expect(bestScoredNode(spec(300, 0), [named("a", 1200), place(spec(0, 1024), agent({ name: "full", podCapacity: 1 }))])).toBe(0);
    expect(bestScoredNode(spec(450, 512), [named("a", 1100), named("b", 1100)])).toBe(0);
    expect(bestScoredNode(spec(1000), [named("a", 1500)])).toBe(-1);
    expect(bestScoredNode(spec(100), [])).toBe(-1);
  });
});
