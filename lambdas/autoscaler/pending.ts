/**
 * Which pending pods a new agent would help, as cluster-autoscaler's pod list processors decide before it estimates
 * (core/podlistprocessor/*): pods it must not scale for are ignored with a reason, and pods no new agent could run are
 * reported, never acted on, so they cannot hold the group at its maximum.
 */
import type { PodInfo } from "../shared/cluster";
import { NodeState, schedulingFailure } from "./scheduling";


/** A pod ("namespace/name") and why it was set aside. */
export interface PodVerdict {
  readonly pod: string;
  readonly reason: string;
}

export interface PendingContext {
  /** A new agent, with its DaemonSet pods bound. */
  readonly template: NodeState;
  /**
   * Claims ("namespace/name") that do not hold a pod back: Bound ones, and unbound ones of a WaitForFirstConsumer
   * class, which bind only once the pod has a node.
   */
  readonly boundClaims: ReadonlySet<string>;
  /** Every node of the cluster: a nomination to a node that is gone no longer holds the pod. */
  readonly nodeNames: ReadonlySet<string>;
  /** Pods with a priority below it never cause a scale-up. */
  readonly expendablePriorityCutoff: number;
}

export interface PendingPods {
  /** Pods a new agent would run: the demand for scale-up. */
  readonly schedulable: PodInfo[];
  /** Pods no new agent could take, with the predicate that fails on the template. */
  readonly unplaceable: PodVerdict[];
  /** Pods a scale-up must not count. */
  readonly ignored: PodVerdict[];
}

const keyOf = (pod: Pick<PodInfo, "namespace" | "name">) => `${pod.namespace}/${pod.name}`;

/**
 * Whether the pod is expendable: below the cut-off, never scaled up for, deleted rather than moved on scale-down. A pod
 * without a priority is not (cluster-autoscaler's IsExpendablePod).
 */
export const isExpendable = (pod: PodInfo, cutoff: number) => pod.priority !== undefined && pod.priority < cutoff;

/** Why scale-up must not count the pod, or undefined when it is real demand. */
function ignoreReason(pod: PodInfo, context: PendingContext): string | undefined {
  // Only the scheduler's verdict says the cluster lacks room; a pod it has not tried yet may fit where it is.
  if (!pod.unschedulable) return "not marked Unschedulable by the scheduler";
  // core/podlistprocessor/filter_out_daemon_sets.go: a DaemonSet pod is tied to one node, which a new node is not.
  if (pod.controllerKind === "DaemonSet") return "a DaemonSet pod, tied to its node";
  // core/utils/expendable.go FilterOutExpendableAndSplit: expendable first, then nominations to nodes that still exist.
  if (isExpendable(pod, context.expendablePriorityCutoff)) return `priority ${pod.priority} is below the expendable cut-off ${context.expendablePriorityCutoff}`;
  if (pod.nominatedNodeName && context.nodeNames.has(pod.nominatedNodeName)) return `nominated to ${pod.nominatedNodeName}, where lower-priority pods are being preempted`;
  // The scheduler's VolumeBinding plugin fails such a pod on every node ("pod has unbound immediate
  // PersistentVolumeClaims"); only the claim's binding, never a node, unblocks it.
  const unbound = (pod.claimNames ?? []).find((claim) => !context.boundClaims.has(`${pod.namespace}/${claim}`));
  if (unbound) return `waiting for PersistentVolumeClaim ${unbound} to be bound`;
  return undefined;
}

/** Sorts pods without a node into demand, pods no new agent could take, and pods to ignore. */
export function classifyPendingPods(pods: PodInfo[], context: PendingContext): PendingPods {
  const schedulable: PodInfo[] = [];
  const unplaceable: PodVerdict[] = [];
  const ignored: PodVerdict[] = [];
  for (const pod of pods) {
    const ignore = ignoreReason(pod, context);
    if (ignore) {
      ignored.push({ pod: keyOf(pod), reason: ignore });
      continue;
    }
    const failure = schedulingFailure(pod, context.template);
    if (failure) unplaceable.push({ pod: keyOf(pod), reason: failure });
    else schedulable.push(pod);
  }
  return { schedulable, unplaceable, ignored };
}
