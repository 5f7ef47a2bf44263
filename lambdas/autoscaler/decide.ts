/**
 * The autoscaler's decisions: pure functions of what was observed, the remembered state, the configuration and the
 * time. No I/O and no clock, so every rule is tested as a table.
 */
import type { DisruptionBudget, PodInfo, Resources } from "../shared/cluster";
import { drainDecision } from "./drainability";

export interface AgentNode {
  readonly name: string;
  readonly instanceId: string;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly allocatable: Resources;
  /** Pods bound to the node. */
  readonly pods: PodInfo[];
}

export interface Observed {
  /** Nodes of the agents' auto scaling group only; servers are never scaled here. */
  readonly nodes: AgentNode[];
  /** Pods the scheduler found no room for. */
  readonly pendingPods: PodInfo[];
  readonly budgets: DisruptionBudget[];
  readonly group: { readonly desired: number; readonly min: number; readonly max: number };
}

export interface ScalerState {
  readonly lastScaleUpAt?: number;
  readonly lastScaleDownAt?: number;
  /** Epoch milliseconds since which each node's requests have stayed below the threshold. */
  readonly underutilizedSince: Readonly<Record<string, number>>;
}

export interface ScalerConfig {
  /** Allocatable resources of a new agent. */
  readonly nodeTemplate: Resources;
  /** Most nodes added in one run. */
  readonly maxStepUp: number;
  /** Requested share of allocatable (CPU or memory, whichever is higher) below which a node is underutilized. */
  readonly scaleDownThreshold: number;
  /** How long a node must stay underutilized before it is removed. */
  readonly scaleDownWindowMs: number;
  /** Quiet time after any scale action before a scale-down. */
  readonly cooldownMs: number;
}

export type Decision =
  | { readonly action: "none"; readonly reason: string }
  | { readonly action: "scale-up"; readonly by: number; readonly desired: number; readonly reason: string }
  | { readonly action: "scale-down"; readonly node: string; readonly instanceId: string; readonly desired: number; readonly reason: string };

export interface Outcome {
  readonly decision: Decision;
  readonly underutilizedSince: Record<string, number>;
}

const ZERO: Resources = { cpuMillis: 0, memoryBytes: 0 };
const add = (a: Resources, b: Resources): Resources => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes });
const fits = (request: Resources, free: Resources) => request.cpuMillis <= free.cpuMillis && request.memoryBytes <= free.memoryBytes;
const share = (request: Resources, capacity: Resources) =>
  Math.max(capacity.cpuMillis > 0 ? request.cpuMillis / capacity.cpuMillis : Infinity, capacity.memoryBytes > 0 ? request.memoryBytes / capacity.memoryBytes : Infinity);
const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

export function decide(observed: Observed, state: ScalerState, config: ScalerConfig, now: number): Outcome {
  const underutilizedSince = trackUnderutilization(observed.nodes, state, config, now);
  const decision = observed.pendingPods.length > 0 ? decideScaleUp(observed, config) : decideScaleDown(observed, state, config, now, underutilizedSince);
  return { decision, underutilizedSince };
}

/** First-fit decreasing: how many template nodes the pods' requests need. */
export function nodesNeeded(pods: PodInfo[], template: Resources): number {
  const bins: Resources[] = [];
  const sorted = [...pods].sort((a, b) => share(b.requests, template) - share(a.requests, template));
  for (const pod of sorted) {
    const bin = bins.findIndex((used) => fits(add(used, pod.requests), template));
    if (bin >= 0) bins[bin] = add(bins[bin], pod.requests);
    else bins.push(pod.requests);
  }
  return bins.length;
}

function decideScaleUp(observed: Observed, config: ScalerConfig): Decision {
  const { group } = observed;
  const placeable = observed.pendingPods.filter((pod) => fits(pod.requests, config.nodeTemplate));
  const tooLarge = observed.pendingPods.length - placeable.length;
  const tooLargeNote = tooLarge > 0 ? `; ${tooLarge} pod(s) request more than a whole node and are ignored` : "";
  if (placeable.length === 0) return { action: "none", reason: `${observed.pendingPods.length} pod(s) unschedulable, none would fit a new node${tooLargeNote}` };

  const needed = nodesNeeded(placeable, config.nodeTemplate);
  // Instances the group is already launching will take pending pods once they join.
  const launching = Math.max(0, group.desired - observed.nodes.length);
  const missing = needed - launching;
  const demand = `${placeable.length} unschedulable pod(s) need ${needed} node(s)${launching > 0 ? `, ${launching} already launching` : ""}${tooLargeNote}`;
  if (missing <= 0) return { action: "none", reason: demand };
  const room = group.max - group.desired;
  if (room <= 0) return { action: "none", reason: `${demand}; the group is at its maximum of ${group.max}` };
  const by = Math.min(missing, config.maxStepUp, room);
  const bound = by < missing ? (by === config.maxStepUp ? ` (step limited to ${config.maxStepUp})` : ` (maximum ${group.max})`) : "";
  return { action: "scale-up", by, desired: group.desired + by, reason: `${demand}; adding ${by}${bound}` };
}

function requested(node: AgentNode): Resources {
  return node.pods.filter((pod) => pod.phase !== "Succeeded" && pod.phase !== "Failed").reduce((sum, pod) => add(sum, pod.requests), ZERO);
}

function trackUnderutilization(nodes: AgentNode[], state: ScalerState, config: ScalerConfig, now: number): Record<string, number> {
  const tracked: Record<string, number> = {};
  for (const node of nodes) {
    if (node.ready && !node.unschedulable && share(requested(node), node.allocatable) < config.scaleDownThreshold) {
      tracked[node.name] = state.underutilizedSince[node.name] ?? now;
    }
  }
  return tracked;
}

/** Whether the pods fit in the free room of the other schedulable nodes (first fit, largest first). */
function fitsElsewhere(pods: PodInfo[], others: AgentNode[]): boolean {
  const free = others.map((node) => {
    const used = requested(node);
    return { cpuMillis: node.allocatable.cpuMillis - used.cpuMillis, memoryBytes: node.allocatable.memoryBytes - used.memoryBytes };
  });
  const sorted = [...pods].sort((a, b) => b.requests.cpuMillis + b.requests.memoryBytes / 2 ** 20 - (a.requests.cpuMillis + a.requests.memoryBytes / 2 ** 20));
  for (const pod of sorted) {
    const target = free.findIndex((room) => fits(pod.requests, room));
    if (target < 0) return false;
    free[target] = { cpuMillis: free[target].cpuMillis - pod.requests.cpuMillis, memoryBytes: free[target].memoryBytes - pod.requests.memoryBytes };
  }
  return true;
}

function decideScaleDown(observed: Observed, state: ScalerState, config: ScalerConfig, now: number, underutilizedSince: Record<string, number>): Decision {
  const { group } = observed;
  if (group.desired <= group.min) return { action: "none", reason: `no unschedulable pods; the group is at its minimum of ${group.min}` };
  const lastAction = Math.max(state.lastScaleUpAt ?? -Infinity, state.lastScaleDownAt ?? -Infinity);
  if (now - lastAction < config.cooldownMs) {
    return { action: "none", reason: `no unschedulable pods; cooling down for ${Math.ceil((config.cooldownMs - (now - lastAction)) / 1000)} s after the last scale action` };
  }
  const candidates = observed.nodes
    .filter((node) => underutilizedSince[node.name] !== undefined && now - underutilizedSince[node.name] >= config.scaleDownWindowMs)
    .sort((a, b) => share(requested(a), a.allocatable) - share(requested(b), b.allocatable));
  if (candidates.length === 0) {
    return { action: "none", reason: `no unschedulable pods; no node below ${percent(config.scaleDownThreshold)} of allocatable for ${config.scaleDownWindowMs / 60000} min` };
  }

  const refusals: string[] = [];
  for (const node of candidates) {
    const verdicts = node.pods.map((pod) => ({ pod, ...drainDecision(pod, { budgets: observed.budgets, now }) }));
    const blocker = verdicts.find((verdict) => verdict.outcome === "block");
    if (blocker) {
      refusals.push(`${node.name}: ${blocker.reason}`);
      continue;
    }
    const movable = verdicts.filter((verdict) => verdict.outcome === "move").map((verdict) => verdict.pod);
    const others = observed.nodes.filter((other) => other.name !== node.name && other.ready && !other.unschedulable);
    if (!fitsElsewhere(movable, others)) {
      refusals.push(`${node.name}: its pods do not fit on the other nodes`);
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
