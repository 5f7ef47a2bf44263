/**
 * Headroom: room kept free on a Ready agent for one more pod of a given size, so such a pod starts at once instead of
 * after an agent's boot. This is node overprovisioning (kubernetes.io, "Overprovision Node Capacity For A Cluster",
 * docs/tasks/administer-cluster/node-overprovisioning) kept by the autoscaler itself rather than by placeholder pods:
 * nothing is preempted but expendable pods, whose room counts as free. Pure functions over the scheduler's view of the
 * agents.
 */
import type { PodSchedulingSpec, Resources } from "../shared/kube-model";
import { cpu, memory, NodeState, schedulingFailure, spreadAsScheduled } from "./scheduling";

/** An agent pods may be placed on now, as room for the headroom. */
export interface AgentRoom {
  /** What its pods take; pods below the expendable cut-off are left out, as a pod placed there preempts them. */
  readonly room: NodeState;
  /** Whether it runs nothing but DaemonSet, static and expendable pods. */
  readonly idle: boolean;
}

export interface HeadroomView {
  /** The headroom as a pod with nothing but requests, while one is kept. */
  readonly pod?: PodSchedulingSpec;
  /** No agent has the room: the pass adds one (packed with any pending pods). */
  readonly missing: boolean;
  /** Why none is kept though one is configured, for the decision's reason; empty otherwise. */
  readonly note: string;
}

export const describeRequests = (requests: Resources) =>
  [requests.cpuMillis > 0 ? `${cpu(requests.cpuMillis)} CPU` : "", requests.memoryBytes > 0 ? `${memory(requests.memoryBytes)} memory` : ""].filter(Boolean).join(", ");

const fits = (pod: PodSchedulingSpec, node: NodeState) => schedulingFailure(pod, node) === undefined;

/**
 * The headroom against the agents that take pods now. An agent on its way is not room yet: the scale-up packs the
 * headroom with the pending pods and subtracts the agents on their way, so one that pending pods will fill counts once.
 */
export function viewHeadroom(requests: Resources | undefined, template: NodeState, agents: AgentRoom[]): HeadroomView {
  if (!requests || (requests.cpuMillis === 0 && requests.memoryBytes === 0)) return { missing: false, note: "" };
  const pod: PodSchedulingSpec = { requests };
  const wanted = `a pod of ${describeRequests(requests)}`;
  const tooLarge = schedulingFailure(pod, template);
  if (tooLarge !== undefined) return { missing: false, note: `; no headroom kept: ${wanted} fits no new agent: ${tooLarge}` };
  if (agents.some((agent) => fits(pod, agent.room))) return { pod, missing: false, note: "" };
  // An agent without workload that cannot hold it shows that more agents like it would not either (a smaller instance
  // type than the template's, a taint that stays): adding them would only run the group up to its maximum.
  const idle = agents.find((agent) => agent.idle);
  if (idle) return { missing: false, note: `; no headroom kept: ${wanted} fits not even ${idle.room.name}, which runs no workload: ${schedulingFailure(pod, idle.room)}` };
  return { pod, missing: true, note: "" };
}

/**
 * Whether an agent keeps the room once a removed node's pods have moved onto the others where kube-scheduler would put
 * them (spread by its default resource scoring, scheduling.ts nodeScore; its other scorers, topology spreading among
 * them, are not modelled), not where a first fit would: spreading can use up the one gap a first fit leaves alone.
 */
export function roomAfterMoving(pod: PodSchedulingSpec, moving: PodSchedulingSpec[], agents: NodeState[]): boolean {
  // A tie the scheduler breaks at random is broken against the room: onto an agent that has it.
  const placed = spreadAsScheduled(moving, agents, (node) => fits(pod, node));
  return placed !== undefined && placed.some((node) => fits(pod, node));
}
