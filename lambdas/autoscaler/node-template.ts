/**
 * What a new agent will look like to the scheduler, so scale-up adds only nodes pending pods can use. Measured from a
 * live agent when one runs, derived from the instance type otherwise, as cluster-autoscaler builds its template
 * NodeInfo (simulator/node_info_utils.go SanitizedTemplateNodeInfoFromNodeInfo).
 */
import type { NodeSchedulingSpec, PodSchedulingSpec, Resources } from "../shared/kube-model";
import { CAPACITY_TYPE_LABEL, kubernetesArchitecture } from "../shared/node-labels";
import { NodeState, nodeWith, place, schedulingFailure } from "./scheduling";

/** k3s leaves the kubelet's --max-pods at its default. */
export const DEFAULT_POD_CAPACITY = 110;

/**
 * Labels one agent has and the next cannot be known to have: its name, and where and how EC2 placed it. The group
 * spans zones and mixes spot with on-demand, so a new agent's zone and capacity type are decided at launch; keeping
 * one agent's values would promise them to pods that select them. cluster-autoscaler treats hostname and zone as
 * per-node too (processors/nodegroupset/compare_nodegroups.go BasicIgnoredLabels; createSanitizedNode rewrites the
 * hostname). The region is the same for every agent, so it stays.
 */
const PER_NODE_LABELS = [
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.k8s.aws/zone-id",
  CAPACITY_TYPE_LABEL,
];

/**
 * Share of an instance's nominal memory the kubelet reports allocatable. The kernel keeps part of nominal memory out
 * of MemTotal, and the kubelet subtracts its 100Mi hard-eviction threshold; k3s sets no kube-reserved or
 * system-reserved, so CPU is allocatable whole. Only used until an agent can be measured, which replaces it.
 */
const ALLOCATABLE_MEMORY_SHARE = 0.9;

export interface AgentInstance {
  /** EC2 instance type the group launches first (cluster-autoscaler's AWS template takes the first override too). */
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** EC2's name for it; the kubelet labels nodes with Go's (arm64, amd64). */
  readonly architecture: "arm64" | "x86_64";
}

export interface NodeTemplateInput {
  /** A Ready agent of the group, when one runs: its labels, allocatable and pod capacity are measured, not guessed. */
  readonly liveAgent?: Pick<NodeSchedulingSpec, "labels" | "allocatable"> & { readonly podCapacity?: number };
  /** The agents' instance, for when no agent runs. */
  readonly instance: AgentInstance;
  /**
   * With a live agent: the DaemonSet and static pods bound to it, all of which a new agent runs too. Without one: one
   * pod per DaemonSet, of which those whose selectors, affinity and tolerations accept the new agent run on it.
   */
  readonly daemonSetPods: PodSchedulingSpec[];
}

/** Allocatable of an agent of this instance, before it can be measured. */
function derivedAllocatable(instance: AgentInstance): Resources {
  return { cpuMillis: instance.vcpus * 1000, memoryBytes: Math.floor(instance.memoryMiB * 2 ** 20 * ALLOCATABLE_MEMORY_SHARE) };
}

function derivedLabels(instance: AgentInstance): Record<string, string> {
  const arch = kubernetesArchitecture(instance.architecture);
  // The kubelet sets the stable and the deprecated beta labels; the AWS cloud controller sets the instance type.
  return {
    "kubernetes.io/arch": arch,
    "kubernetes.io/os": "linux",
    "beta.kubernetes.io/arch": arch,
    "beta.kubernetes.io/os": "linux",
    "node.kubernetes.io/instance-type": instance.instanceType,
    "beta.kubernetes.io/instance-type": instance.instanceType,
  };
}

/**
 * A new agent as a node with its DaemonSet pods already bound (their requests, pod slots and host ports are taken),
 * as cluster-autoscaler's podsExpectedOnFreshNode does. It has no taints: the agents register none (templates/agent.sh),
 * so every taint a live agent carries is transient (not-ready, uninitialized, unschedulable, the drainer's), which
 * cluster-autoscaler also strips from templates (utils/taints/taints.go SanitizeTaints).
 */
export function nodeTemplate(input: NodeTemplateInput): NodeState {
  const { liveAgent, instance } = input;
  const labels = liveAgent ? Object.fromEntries(Object.entries(liveAgent.labels).filter(([key]) => !PER_NODE_LABELS.includes(key))) : derivedLabels(instance);
  const empty = nodeWith({ labels, taints: [], allocatable: liveAgent?.allocatable ?? derivedAllocatable(instance), podCapacity: liveAgent?.podCapacity ?? DEFAULT_POD_CAPACITY }, []);
  // A live agent's DaemonSet pods are kept as they are, not filtered again (podsExpectedOnFreshNode adds them
  // unchecked): the DaemonSet controller pins each to its node with required affinity on metadata.name
  // (pkg/controller/daemon/util ReplaceDaemonSetPodNodeNameNodeAffinity), which a nameless template never matches.
  if (liveAgent) return input.daemonSetPods.reduce((node, pod) => place(pod, node), empty);
  return input.daemonSetPods.reduce((node, pod) => (schedulingFailure(pod, node) === undefined ? place(pod, node) : node), empty);
}
