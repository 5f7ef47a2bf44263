/**
 * kube-scheduler's default filters, as pure predicates over the scheduling model, and cluster-autoscaler's
 * first-fit-decreasing estimate of how many new nodes a set of pods needs. The autoscaler asks the same questions the
 * scheduler will, so it neither adds a node a pod cannot use nor removes one whose pods have nowhere to go.
 */
import type { HostPort, NodeSchedulingSpec, PodSchedulingSpec, Resources, Taint, Toleration } from "../shared/kube-model";
import { matchesNodeSelectorTerms } from "../shared/selectors";

/** A node as the scheduler sees it: what it offers and what its pods already take. */
export interface NodeState extends NodeSchedulingSpec {
  /** Absent on a node that does not exist yet (a template), so affinity to a node name never matches it. */
  readonly name?: string;
  /** Sum of the effective requests of the pods bound to it. */
  readonly used: Resources;
  readonly podCount: number;
  readonly usedHostPorts: HostPort[];
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0 };
const plus = (a: Resources, b: Resources): Resources => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });

export const cpu = (millis: number) => `${millis}m`;
export const memory = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`;

/** Whether a toleration tolerates a taint (core/v1 Toleration.ToleratesTaint). */
function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  // An empty key matches every key; the API only allows it with Exists.
  if (toleration.key && toleration.key !== taint.key) return false;
  if (toleration.operator === "Exists") return true;
  return (toleration.value ?? "") === (taint.value ?? "");
}

const ANY_ADDRESS = "0.0.0.0";
const addressOf = (port: HostPort) => (port.hostIP ? port.hostIP : ANY_ADDRESS);

/** Host ports collide on the same port and protocol when either binds every address or both bind the same one (scheduler framework HostPortInfo.CheckConflict). */
function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return addressOf(a) === ANY_ADDRESS || addressOf(b) === ANY_ADDRESS || addressOf(a) === addressOf(b);
}

const describePort = (port: HostPort) => `${port.hostIP ? `${port.hostIP}:` : ""}${port.port}/${port.protocol}`;

/**
 * Why the scheduler would refuse the pod on the node, or undefined when it fits. The checks follow kube-scheduler's
 * default filter plugins in their order (TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit), so the reason is
 * the one the scheduler would report first; NodeUnschedulable is the caller's, which leaves cordoned nodes out.
 */
export function schedulingFailure(pod: PodSchedulingSpec, node: NodeState): string | undefined {
  // pkg/scheduler/framework/plugins/tainttoleration: only NoSchedule and NoExecute taints filter; PreferNoSchedule scores.
  const untolerated = (node.taints ?? []).find((taint) => taint.effect !== "PreferNoSchedule" && !(pod.tolerations ?? []).some((toleration) => tolerates(toleration, taint)));
  if (untolerated) return `taint ${untolerated.key}${untolerated.value ? `=${untolerated.value}` : ""}:${untolerated.effect} is not tolerated`;
  // pkg/scheduler/framework/plugins/nodeaffinity: every nodeSelector pair must be a label of the node, and one
  // required term must match.
  for (const [key, value] of Object.entries(pod.nodeSelector ?? {})) {
    if (node.labels[key] !== value) return `node selector ${key}=${value} does not match`;
  }
  if (!matchesNodeSelectorTerms(node, pod.requiredNodeAffinity)) return "required node affinity does not match";
  // pkg/scheduler/framework/plugins/nodeports. A hostPort of 0 binds nothing: place() records none, so none conflicts.
  for (const wanted of pod.hostPorts ?? []) {
    if (node.usedHostPorts.some((used) => portsConflict(wanted, used))) return `host port ${describePort(wanted)} is already in use`;
  }
  // pkg/scheduler/framework/plugins/noderesources/fit.go: the pod limit first, then each requested resource; a zero
  // request never fails, even on a node already over-committed.
  if (node.podCount + 1 > node.podCapacity) return `too many pods (limit ${node.podCapacity})`;
  const free = { cpuMillis: node.allocatable.cpuMillis - node.used.cpuMillis, memoryBytes: node.allocatable.memoryBytes - node.used.memoryBytes };
  if (pod.requests.cpuMillis > 0 && pod.requests.cpuMillis > free.cpuMillis) return `insufficient cpu (requests ${cpu(pod.requests.cpuMillis)}, ${cpu(Math.max(0, free.cpuMillis))} free)`;
  if (pod.requests.memoryBytes > 0 && pod.requests.memoryBytes > free.memoryBytes) return `insufficient memory (requests ${memory(pod.requests.memoryBytes)}, ${memory(Math.max(0, free.memoryBytes))} free)`;
  return undefined;
}

/** The node with the pod bound to it. */
export function place(pod: PodSchedulingSpec, node: NodeState): NodeState {
  return {
    ...node,
    used: plus(node.used, pod.requests),
    podCount: node.podCount + 1,
    usedHostPorts: [...node.usedHostPorts, ...(pod.hostPorts ?? []).filter((port) => port.port > 0)],
  };
}

/** An empty node with the given pods bound to it. */
export function nodeWith(spec: NodeSchedulingSpec & { readonly name?: string }, pods: PodSchedulingSpec[]): NodeState {
  const empty: NodeState = { ...spec, used: ZERO, podCount: 0, usedHostPorts: [] };
  return pods.reduce((node, pod) => place(pod, node), empty);
}

/**
 * Largest first, by the pod's share of the node's CPU plus its share of memory (cluster-autoscaler
 * estimator/decreasing_pod_orderer.go), so first fit packs close to optimal.
 */
export function largestFirst<P extends PodSchedulingSpec>(pods: P[], node: Pick<NodeSchedulingSpec, "allocatable">): P[] {
  const score = (pod: P) =>
    (node.allocatable.cpuMillis > 0 ? pod.requests.cpuMillis / node.allocatable.cpuMillis : 0) + (node.allocatable.memoryBytes > 0 ? pod.requests.memoryBytes / node.allocatable.memoryBytes : 0);
  return [...pods].sort((a, b) => score(b) - score(a));
}

export interface Packing<P> {
  /** New nodes that received at least one pod. */
  readonly nodes: number;
  /** Pods given a place, in packing order. */
  readonly packed: P[];
  /** Pods left without one: they fit no empty template, or the node limit was reached. */
  readonly unpacked: P[];
}

/**
 * How many copies of the template the pods need (cluster-autoscaler estimator/binpacking_estimator.go): pods largest
 * first, each onto the first new node whose predicates pass, else onto a fresh node. A pod that does not fit an empty
 * template would not fit a fresh node either, so it opens none; no more than maxNodes are opened.
 */
export function binPack<P extends PodSchedulingSpec>(pods: P[], template: NodeState, maxNodes = Infinity): Packing<P> {
  const nodes: NodeState[] = [];
  const packed: P[] = [];
  const unpacked: P[] = [];
  for (const pod of largestFirst(pods, template)) {
    const target = nodes.findIndex((node) => schedulingFailure(pod, node) === undefined);
    if (target >= 0) {
      nodes[target] = place(pod, nodes[target]);
      packed.push(pod);
    } else if (nodes.length < maxNodes && schedulingFailure(pod, template) === undefined) {
      nodes.push(place(pod, template));
      packed.push(pod);
    } else {
      unpacked.push(pod);
    }
  }
  return { nodes: nodes.length, packed, unpacked };
}

const MAX_NODE_SCORE = 100;
/** pkg/scheduler/util/pod_resources.go DefaultMilliCPURequest and DefaultMemoryRequest. */
const DEFAULT_CPU_REQUEST_MILLIS = 100;
const DEFAULT_MEMORY_REQUEST_BYTES = 200 * 2 ** 20;

/**
 * kube-scheduler's default score of a node for a pod from its two resource plugins, weight 1 each, in their whole
 * points (pkg/scheduler/framework/plugins/noderesources): NodeResourcesFit's LeastAllocated strategy, the mean over CPU
 * and memory (weight 1 each, resources the node has none of left out) of (capacity - requested) x 100 / capacity,
 * 0 past capacity (least_allocated.go), plus NodeResourcesBalancedAllocation, (1 - |cpu fraction - memory fraction|
 * / 2) x 100 with each fraction of allocatable capped at 1 (balanced_allocation.go, the form of Kubernetes 1.33, k3s's
 * release here, which skips pods that request nothing). Higher is preferred; the scheduler breaks ties at random.
 * LeastAllocated counts a request of none as 100m CPU and 200Mi memory (resource_allocation.go, non-zero requests); the
 * pod's are applied so, those of the pods on the node only as their sum, which cannot show which had none.
 */
export function nodeScore(pod: PodSchedulingSpec, node: NodeState): number {
  const nonZero = { cpuMillis: pod.requests.cpuMillis || DEFAULT_CPU_REQUEST_MILLIS, memoryBytes: pod.requests.memoryBytes || DEFAULT_MEMORY_REQUEST_BYTES };
  const shares = (requests: Resources) =>
    [
      [node.used.cpuMillis + requests.cpuMillis, node.allocatable.cpuMillis],
      [node.used.memoryBytes + requests.memoryBytes, node.allocatable.memoryBytes],
    ].filter(([, capacity]) => capacity > 0);
  const least = shares(nonZero).map(([requested, capacity]) => (requested > capacity ? 0 : Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity)));
  if (least.length === 0) return 0;
  const leastAllocated = Math.floor(least.reduce((sum, score) => sum + score, 0) / least.length);
  if (pod.requests.cpuMillis === 0 && pod.requests.memoryBytes === 0) return leastAllocated;
  const fractions = shares(pod.requests).map(([requested, capacity]) => Math.min(1, requested / capacity));
  const deviation = fractions.length === 2 ? Math.abs(fractions[0] - fractions[1]) / 2 : 0;
  return leastAllocated + Math.floor((1 - deviation) * MAX_NODE_SCORE);
}

/**
 * The nodes with the pods placed where kube-scheduler would put them, largest first, each on the feasible node it
 * scores highest (nodeScore); among equals, which the scheduler picks at random, the first `preferred` one, else the
 * first. Undefined when a pod fits nowhere.
 */
export function spreadAsScheduled(pods: PodSchedulingSpec[], nodes: NodeState[], preferred: (node: NodeState) => boolean = () => false): NodeState[] | undefined {
  const placed = [...nodes];
  for (const pod of nodes.length > 0 ? largestFirst(pods, nodes[0]) : pods) {
    const best = bestScoredNode(pod, placed, preferred);
    if (best < 0) return undefined;
    placed[best] = place(pod, placed[best]);
  }
  return placed;
}

/** The index of the feasible node kube-scheduler's resource scoring prefers for the pod (ties as spreadAsScheduled), -1 for none. */
export function bestScoredNode(pod: PodSchedulingSpec, nodes: NodeState[], preferred: (node: NodeState) => boolean = () => false): number {
  let best = -1;
  nodes.forEach((node, index) => {
    if (schedulingFailure(pod, node) !== undefined) return;
    const [score, bestScore] = [nodeScore(pod, node), best < 0 ? -Infinity : nodeScore(pod, nodes[best])];
    if (score > bestScore || (score === bestScore && preferred(node) && !preferred(nodes[best]))) best = index;
  });
  return best;
}
