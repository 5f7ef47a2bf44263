import { AgentNode, Observed, ScalerConfig, ScalerState } from "../../lambdas/autoscaler/decide";
import { nodeTemplate } from "../../lambdas/autoscaler/node-template";
import { PodInfo } from "../../lambdas/shared/cluster";

/** Builders shared by the decision tables: t4g.large agents (2 vCPU, 8 GiB) and the defaults of the configuration. */
export const GiB = 2 ** 30;
export const MINUTE = 60_000;
export const NOW = 1_700_000_000_000;
export const AGENT_LABELS = { "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "t4g.large" };

export function pod(name: string, cpu: number, memGiB: number, extra: Partial<PodInfo> = {}): PodInfo {
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

export const pending = (name: string, cpu: number, memGiB: number, extra: Partial<PodInfo> = {}) => pod(name, cpu, memGiB, { phase: "Pending", unschedulable: true, ...extra });

export function node(name: string, pods: PodInfo[] = [], extra: Partial<AgentNode> = {}): AgentNode {
  return { name, instanceId: `i-${name}`, ready: true, unschedulable: false, allocatable: { cpuMillis: 2000, memoryBytes: 8 * GiB }, labels: AGENT_LABELS, pods, ...extra };
}

export const TEMPLATE = nodeTemplate({
  liveAgent: { labels: AGENT_LABELS, allocatable: { cpuMillis: 2000, memoryBytes: 8 * GiB } },
  instance: { instanceType: "t4g.large", vcpus: 2, memoryMiB: 8192, architecture: "arm64" },
  daemonSetPods: [],
});
export const CONFIG: ScalerConfig = { nodeTemplate: TEMPLATE, expendablePriorityCutoff: -10, maxStepUp: 3, scaleDownThreshold: 0.5, scaleDownWindowMs: 10 * MINUTE, cooldownMs: 10 * MINUTE };
export const FRESH: ScalerState = { underutilizedSince: {} };

export const observed = (nodes: AgentNode[], pendingPods: PodInfo[] = [], group = { desired: nodes.length, min: 1, max: 10 }): Observed => ({
  nodes,
  pendingPods,
  budgets: [],
  group,
  nodeNames: new Set(nodes.map((each) => each.name)),
  boundClaims: new Set(),
});
