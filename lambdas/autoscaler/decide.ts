/**
 * The autoscaler's decisions: pure functions of what was observed, the remembered state, the configuration and the
 * time. No I/O and no clock, so every rule is tested as a table.
 */
import type { DisruptionBudget, NodeInfo, PodInfo, Resources } from "../shared/cluster";
import type { PodSchedulingSpec } from "../shared/kube-model";
import { drainDecision } from "./drainability";
import { AgentRoom, describeRequests, roomAfterMoving, viewHeadroom } from "./headroom";
import { DEFAULT_POD_CAPACITY } from "./node-template";
import { classifyPendingPods, isExpendable, PendingPods, PodVerdict } from "./pending";
import { tooManyUnready } from "./recovery";
import { binPack, largestFirst, NodeState, nodeWith, place, schedulingFailure } from "./scheduling";

export interface AgentNode extends Pick<NodeInfo, "name" | "ready" | "unschedulable" | "allocatable" | "labels" | "taints" | "podCapacity" | "createdAtMs"> {
  readonly instanceId: string;
  /** Pods bound to the node. */
  readonly pods: PodInfo[];
}

export interface Observed {
  /** Nodes of the agents' auto scaling group only; servers are never scaled here. */
  readonly nodes: AgentNode[];
  /** Pods bound to no node yet. */
  readonly pendingPods: PodInfo[];
  readonly budgets: DisruptionBudget[];
  readonly group: { readonly desired: number; readonly min: number; readonly max: number };
  /** Every node of the cluster, servers included: pods may be nominated to any of them. */
  readonly nodeNames: ReadonlySet<string>;
  /** Claims ("namespace/name") that do not hold a pod back (see PendingContext.boundClaims). */
  readonly boundClaims: ReadonlySet<string>;
}

export interface ScalerState {
  readonly lastScaleUpAt?: number;
  /** When a scale-down last failed (a drain that did not finish, or an error). */
  readonly lastScaleDownFailureAt?: number;
  /** Epoch milliseconds since which each node's requests have stayed below the threshold. */
  readonly underutilizedSince: Readonly<Record<string, number>>;
}

export interface ScalerConfig {
  /** A new agent, with its DaemonSet pods bound (node-template.ts). */
  readonly nodeTemplate: NodeState;
  /** Pods with a priority below it neither cause a scale-up nor need a place when their node is removed. */
  readonly expendablePriorityCutoff: number;
  /** Most nodes added in one run. */
  readonly maxStepUp: number;
  /** Requested share of allocatable (CPU or memory, whichever is higher) below which a node is underutilized. */
  readonly scaleDownThreshold: number;
  /** How long a node must stay underutilized before it is removed. */
  readonly scaleDownWindowMs: number;
  /**
   * Quiet time after a scale-up before any scale-down (cluster-autoscaler's --scale-down-delay-after-add). A
   * scale-down holds back none: the next node may go at the next run, as --scale-down-delay-after-delete defaults to
   * the scan interval (cluster-autoscaler main.go: "How long after node deletion that scale down evaluation resumes,
   * defaults to scanInterval"). Waiting after each removal would take an hour to shed six idle agents.
   */
  readonly cooldownMs: number;
  /** Room kept free on a Ready agent for one more pod of this size (headroom.ts). Absent: none kept. */
  readonly headroom?: Resources;
}

export type Decision =
  | { readonly action: "none"; readonly reason: string }
  | { readonly action: "scale-up"; readonly by: number; readonly desired: number; readonly reason: string }
  | { readonly action: "scale-down"; readonly node: string; readonly instanceId: string; readonly desired: number; readonly reason: string };

export interface Outcome {
  readonly decision: Decision;
  readonly underutilizedSince: Record<string, number>;
  /** Pending pods no new agent could take; reported, never scaled for. */
  readonly unplaceable: PodVerdict[];
  /** Pending pods a scale-up does not count (cluster-autoscaler's pod list processors). */
  readonly ignored: PodVerdict[];
  /** Whether too many unready agents kept this pass from scaling (unhealthyAgents). */
  readonly held: boolean;
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0 };
const add = (a: Resources, b: Resources): Resources => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });
const isActive = (pod: PodInfo) => pod.phase !== "Succeeded" && pod.phase !== "Failed";
const share = (request: Resources, capacity: Resources) =>
  Math.max(capacity.cpuMillis > 0 ? request.cpuMillis / capacity.cpuMillis : Infinity, capacity.memoryBytes > 0 ? request.memoryBytes / capacity.memoryBytes : Infinity);
const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

export function decide(observed: Observed, state: ScalerState, config: ScalerConfig, now: number): Outcome {
  const underutilizedSince = trackUnderutilization(observed.nodes, state, config, now);
  const pending = classifyPendingPods(observed.pendingPods, {
    template: config.nodeTemplate,
    boundClaims: observed.boundClaims,
    nodeNames: observed.nodeNames,
    expendablePriorityCutoff: config.expendablePriorityCutoff,
  });
  const headroom = viewHeadroom(config.headroom, config.nodeTemplate, readyAgents(observed, now).map((node) => agentRoom(node, config)));
  const unhealthy = unhealthyAgents(observed, now);
  // Only pods a new agent would run block scale-down, as in cluster-autoscaler; the others wait for something no
  // node count can change. Missing headroom is demand too: a pass that finds none adds an agent for it.
  const undecided: Decision = unhealthy
    ? { action: "none", reason: `${unhealthy}: neither adding nor removing agents until fewer are${pendingNote(pending)}` }
    : pending.schedulable.length > 0 || headroom.missing
      ? decideScaleUp(observed, config, pending, now, headroom.missing ? headroom.pod : undefined)
      : decideScaleDown(observed, state, config, now, underutilizedSince, pending, headroom.pod);
  const decision = { ...undecided, reason: `${undecided.reason}${headroom.note}` };
  // A removed node's pods may land on any other node (kube-scheduler prefers the least allocated, which is the next
  // candidate), so every window restarts, as cluster-autoscaler restarts those of the nodes its simulation moved them
  // to (simulator/tracker.go, RemoveNodeFromTracker): no pod is evicted twice in two runs. An empty node moves nothing.
  // While the agents are unhealthy the windows restart too (cluster-autoscaler's RunOnce clears its unneeded nodes),
  // so no agent is removed on the first healthy pass for having been idle through the trouble.
  const held = unhealthy !== undefined;
  const restart = held || movesPods(decision, observed, now);
  return { decision, underutilizedSince: restart ? {} : underutilizedSince, unplaceable: pending.unplaceable, ignored: pending.ignored, held };
}

/** Whether the decision removes a node with pods that their controllers recreate elsewhere. */
function movesPods(decision: Decision, observed: Observed, now: number): boolean {
  if (decision.action !== "scale-down") return false;
  const removed = observed.nodes.find((node) => node.name === decision.node)!;
  return removed.pods.some((pod) => drainDecision(pod, { budgets: observed.budgets, now }).outcome === "move");
}

/**
 * How long scale-down waits after one failed: cluster-autoscaler's --scale-down-delay-after-failure default (main.go,
 * 3 minutes). The failed node's own window restarts too (run.ts), so it is not the next one tried.
 */
export const SCALE_DOWN_DELAY_AFTER_FAILURE_MS = 3 * 60_000;

const SHOWN = 3;
function listed(verdicts: PodVerdict[]): string {
  const shown = verdicts.slice(0, SHOWN).map(({ pod, reason }) => `${pod} (${reason})`);
  return verdicts.length > SHOWN ? `${shown.join(", ")} and ${verdicts.length - SHOWN} more` : shown.join(", ");
}

/** What the decision leaves aside, for its reason. */
function pendingNote(pending: PendingPods): string {
  const unplaceable = pending.unplaceable.length > 0 ? `; ${pending.unplaceable.length} pod(s) no new agent could take: ${listed(pending.unplaceable)}` : "";
  const ignored = pending.ignored.length > 0 ? `; ${pending.ignored.length} pending pod(s) ignored: ${listed(pending.ignored)}` : "";
  return unplaceable + ignored;
}

/** An agent the scheduler may place pods on now: Ready, not cordoned, set up. */
const isReadyAgent = (node: AgentNode, now: number) => node.ready && !node.unschedulable && !isStarting(node, now);
const readyAgents = (observed: Observed, now: number) => observed.nodes.filter((node) => isReadyAgent(node, now));

/** An agent as room for the headroom: a pod placed there would preempt its expendable pods. */
function agentRoom(node: AgentNode, config: ScalerConfig): AgentRoom {
  const holding = node.pods.filter((pod) => isActive(pod) && !isExpendable(pod, config.expendablePriorityCutoff));
  return { room: nodeState(node, holding), idle: holding.every((pod) => pod.controllerKind === "DaemonSet" || pod.mirror) };
}

/** cluster-autoscaler clusterstate MaxNodeStartupTime: a node not Ready this long after registering is not starting. */
const MAX_NODE_STARTUP_MS = 15 * 60_000;

/**
 * Taints a new agent carries until it is set up, which keep every pod off it: the kubelet's under an external cloud
 * provider until the cloud controller has initialised the node (kubernetes.io, "Cloud Controller Manager
 * Administration"; k3s agents here run with --cloud-provider=external), and the node lifecycle controller's while the
 * node or its network is not ready (kubernetes.io, "Well-Known Labels, Annotations and Taints").
 */
const STARTUP_TAINTS = ["node.cloudprovider.kubernetes.io/uninitialized", "node.kubernetes.io/not-ready", "node.kubernetes.io/network-unavailable"];

/** Not Ready yet, or Ready with a startup taint left. */
const notSetUp = (node: AgentNode) => !node.ready || (node.taints ?? []).some((taint) => STARTUP_TAINTS.includes(taint.key));
const withinStartupTime = (node: AgentNode, now: number) => node.createdAtMs === undefined || now - node.createdAtMs < MAX_NODE_STARTUP_MS;

/** Not set up, registered less than MaxNodeStartupTime ago. */
const isStarting = (node: AgentNode, now: number) => notSetUp(node) && withinStartupTime(node, now);

/**
 * Why the agents are too unhealthy to scale, or undefined: more than three and 45 % of them are unready, that is
 * NotReady or still carrying a startup taint 15 minutes after registering. cluster-autoscaler then stops its scale-ups
 * and scale-downs (clusterstate.go IsClusterHealthy, which counts its Unready nodes: not Ready or with the not-ready or
 * network-unavailable taint, registered MaxNodeStartupTime ago or more). Counting the uninitialized taint too is what
 * it does with that taint in --startup-taint; counting agents only, not the servers, trips the limit sooner. New agents
 * would likely fail as these did (a broken image, network or cloud controller) and only be added to them.
 */
function unhealthyAgents(observed: Observed, now: number): string | undefined {
  const unready = observed.nodes.filter((node) => notSetUp(node) && !withinStartupTime(node, now));
  return tooManyUnready(unready.length, observed.nodes.length, "unready");
}

/**
 * Agents on their way: instances launched but not registered, and agents starting (isStarting). Like
 * cluster-autoscaler's upcoming nodes (clusterstate.go: target minus Ready, Unready and LongUnregistered; only
 * NotStarted nodes count, and its readiness check takes the not-ready and network-unavailable taints for not Ready),
 * they will take pending pods once set up. An agent that broke after starting is Unready, not upcoming: counting it would hold back the scale-up its pods
 * need until it is replaced.
 */
function upcomingAgents(observed: Observed, now: number): number {
  const launching = Math.max(0, observed.group.desired - observed.nodes.length);
  return launching + observed.nodes.filter((node) => isStarting(node, now)).length;
}

/** A scale-up for the unschedulable pods, and for the headroom when it is given (no agent has room for it). */
function decideScaleUp(observed: Observed, config: ScalerConfig, pending: PendingPods, now: number, headroom?: PodSchedulingSpec): Decision {
  const { group } = observed;
  const note = pendingNote(pending);
  // Packing stops at the group's maximum: nodes beyond it could never be added.
  const packing = binPack<PodSchedulingSpec>(headroom ? [...pending.schedulable, headroom] : pending.schedulable, config.nodeTemplate, group.max);
  const needed = packing.unpacked.length > 0 ? `more than ${group.max}` : `${packing.nodes}`;
  const upcoming = upcomingAgents(observed, now);
  const missing = (packing.unpacked.length > 0 ? Infinity : packing.nodes) - upcoming;
  const pods = pending.schedulable.length > 0 ? `${pending.schedulable.length} unschedulable pod(s)` : "";
  const room = headroom ? `headroom for a pod of ${describeRequests(headroom.requests)}, which no Ready agent has,` : "";
  const demand = `${[pods, room].filter(Boolean).join(" and ")} ${pods ? "need" : "needs"} ${needed} node(s)${upcoming > 0 ? `, ${upcoming} already on their way` : ""}`;
  if (missing <= 0) return { action: "none", reason: `${demand}${note}` };
  const space = group.max - group.desired;
  if (space <= 0) return { action: "none", reason: `${demand}; the group is at its maximum of ${group.max}${note}` };
  const by = Math.min(missing, config.maxStepUp, space);
  const bound = by < missing ? (by === config.maxStepUp ? ` (step limited to ${config.maxStepUp})` : ` (maximum ${group.max})`) : "";
  return { action: "scale-up", by, desired: group.desired + by, reason: `${demand}; adding ${by}${bound}${note}` };
}

function requested(node: AgentNode): Resources {
  return node.pods.filter(isActive).reduce((sum, pod) => add(sum, pod.requests), ZERO);
}

function trackUnderutilization(nodes: AgentNode[], state: ScalerState, config: ScalerConfig, now: number): Record<string, number> {
  const tracked: Record<string, number> = {};
  for (const node of nodes) {
    if (isReadyAgent(node, now) && share(requested(node), node.allocatable) < config.scaleDownThreshold) {
      tracked[node.name] = state.underutilizedSince[node.name] ?? now;
    }
  }
  return tracked;
}

/** The node as the scheduler sees it, with these pods holding its resources. */
function nodeState(node: AgentNode, pods: PodInfo[]): NodeState {
  return nodeWith({ name: node.name, labels: node.labels, taints: node.taints, allocatable: node.allocatable, podCapacity: node.podCapacity ?? DEFAULT_POD_CAPACITY }, pods);
}

/** The node as the scheduler sees it, with the pods that hold its resources. */
const schedulingState = (node: AgentNode) => nodeState(node, node.pods.filter(isActive));

/**
 * Why the pods cannot all move to the other nodes, or undefined when they can: each pod, largest first, goes to the
 * first node whose scheduler predicates pass, as cluster-autoscaler's removal simulation reschedules a node's pods
 * (simulator/cluster.go).
 */
function rescheduleFailure(pods: PodInfo[], from: AgentNode, others: NodeState[]): string | undefined {
  const nodes = [...others];
  for (const pod of largestFirst(pods, from)) {
    const target = nodes.findIndex((node) => schedulingFailure(pod, node) === undefined);
    if (target < 0) {
      const why = nodes.slice(0, SHOWN).map((node) => `${node.name}: ${schedulingFailure(pod, node)}`);
      return `${pod.namespace}/${pod.name} fits on no other node${why.length > 0 ? ` (${why.join(", ")})` : ""}`;
    }
    nodes[target] = place(pod, nodes[target]);
  }
  return undefined;
}

function decideScaleDown(observed: Observed, state: ScalerState, config: ScalerConfig, now: number, underutilizedSince: Record<string, number>, pending: PendingPods, headroom?: PodSchedulingSpec): Decision {
  const decision = decideNodeRemoval(observed, state, config, now, underutilizedSince, headroom);
  return { ...decision, reason: `${decision.reason}${pendingNote(pending)}` };
}

function decideNodeRemoval(observed: Observed, state: ScalerState, config: ScalerConfig, now: number, underutilizedSince: Record<string, number>, headroom?: PodSchedulingSpec): Decision {
  const { group } = observed;
  if (group.desired <= group.min) return { action: "none", reason: `no pod needs a new agent; the group is at its minimum of ${group.min}` };
  const sinceFailure = now - (state.lastScaleDownFailureAt ?? -Infinity);
  if (sinceFailure < SCALE_DOWN_DELAY_AFTER_FAILURE_MS) {
    return { action: "none", reason: `no pod needs a new agent; holding scale-down for ${Math.ceil((SCALE_DOWN_DELAY_AFTER_FAILURE_MS - sinceFailure) / 1000)} s after a failed one` };
  }
  const sinceScaleUp = now - (state.lastScaleUpAt ?? -Infinity);
  if (sinceScaleUp < config.cooldownMs) {
    return { action: "none", reason: `no pod needs a new agent; cooling down for ${Math.ceil((config.cooldownMs - sinceScaleUp) / 1000)} s after the last scale-up` };
  }
  const candidates = observed.nodes
    .filter((node) => underutilizedSince[node.name] !== undefined && now - underutilizedSince[node.name] >= config.scaleDownWindowMs)
    .sort((a, b) => share(requested(a), a.allocatable) - share(requested(b), b.allocatable));
  if (candidates.length === 0) {
    return { action: "none", reason: `no pod needs a new agent; no node below ${percent(config.scaleDownThreshold)} of allocatable for ${config.scaleDownWindowMs / 60000} min` };
  }

  const refusals: string[] = [];
  const ready = readyAgents(observed, now);
  const schedulable = ready.map(schedulingState);
  for (const node of candidates) {
    const verdicts = node.pods.map((pod) => ({ pod, ...drainDecision(pod, { budgets: observed.budgets, now }) }));
    const blocker = verdicts.find((verdict) => verdict.outcome === "block");
    if (blocker) {
      refusals.push(`${node.name}: ${blocker.reason}`);
      continue;
    }
    const movable = verdicts.filter((verdict) => verdict.outcome === "move").map((verdict) => verdict.pod);
    // Expendable pods are deleted with their node rather than moved (cluster-autoscaler --expendable-pods-priority-cutoff).
    const mustMove = movable.filter((pod) => !isExpendable(pod, config.expendablePriorityCutoff));
    // cluster-autoscaler's removal simulation runs the scheduler's InterPodAffinity and PodTopologySpread filters;
    // these predicates do not. Moving such a pod on their word could evict it onto no node at all, and its new
    // Unschedulable copy fits an empty template, so the node would come back: removed and re-added in a loop.
    const constrained = mustMove.find((pod) => (pod.interPodConstraints ?? []).length > 0);
    if (constrained) {
      refusals.push(`${node.name}: ${constrained.namespace}/${constrained.name} has ${constrained.interPodConstraints!.join(", ")}, which the removal simulation does not evaluate`);
      continue;
    }
    const stuck = rescheduleFailure(mustMove, node, schedulable.filter((other) => other.name !== node.name));
    if (stuck) {
      refusals.push(`${node.name}: ${stuck}`);
      continue;
    }
    // Only Ready agents count: one on its way may never come, and pods pending now may fill it.
    const othersRoom = ready.filter((other) => other.name !== node.name).map((other) => agentRoom(other, config).room);
    if (headroom && !roomAfterMoving(headroom, mustMove, othersRoom)) {
      refusals.push(`${node.name}: without it no agent would keep room for the headroom's pod of ${describeRequests(headroom.requests)}`);
      continue;
    }
    const utilization = share(requested(node), node.allocatable);
    return {
      action: "scale-down",
      node: node.name,
      instanceId: node.instanceId,
      desired: group.desired - 1,
      reason: `${node.name} has requested ${percent(utilization)} of allocatable for ${Math.floor((now - underutilizedSince[node.name]) / 60000)} min and its ${movable.length} pod(s) fit elsewhere`,
    };
  }
  return { action: "none", reason: `no node can be removed: ${refusals.join("; ")}` };
}
