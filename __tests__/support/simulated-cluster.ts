import { AgentGroup, AgentGroupView } from "../../lambdas/autoscaler/aws";
import { NodeState, place, schedulingFailure } from "../../lambdas/autoscaler/scheduling";
import { Cluster, DaemonSetInfo, DisruptionBudget, EvictionOutcome, NodeInfo, PersistentVolumeClaimInfo, PodInfo } from "../../lambdas/shared/cluster";
import type { Resources, Taint } from "../../lambdas/shared/kube-model";
import { matchesLabelSelector } from "../../lambdas/shared/selectors";

const MINUTE = 60_000;

interface SimNode {
  info: NodeInfo;
  instanceId: string;
}

/** A pod as a controller would create it, pending until the simulated scheduler binds it. */
export function simPod(name: string, requests: Resources, extra: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "default",
    name,
    phase: "Pending",
    labels: { app: name.replace(/-\d+$/, "") },
    requests,
    controllerKind: "ReplicaSet",
    mirror: false,
    deleting: false,
    unschedulable: false,
    ...extra,
  };
}

/**
 * A cluster in memory: nodes of an auto scaling group that boot a few minutes after desired capacity rises, a
 * scheduler that binds pending pods with the autoscaler's own predicates (lambdas/autoscaler/scheduling.ts), and an
 * eviction API that honours PodDisruptionBudgets. Time is the test's; every call the autoscaler makes is counted.
 */
export class SimulatedCluster implements Cluster, AgentGroup {
  now = 1_700_000_000_000;
  readonly nodes = new Map<string, SimNode>();
  pods: PodInfo[] = [];
  budgets: DisruptionBudget[] = [];
  readonly calls: string[] = [];
  /** Pods whose eviction the API answers with an error (as a 500 would surface through the client). */
  readonly failingEvictions = new Set<string>();
  private desired: number;
  private launching: { instanceId: string; readyAt: number }[] = [];
  private serial = 0;
  private joined = 0;

  constructor(
    private readonly group: { min: number; max: number; desired: number },
    private readonly nodeShape: { allocatable: Resources; labels: Record<string, string>; taints?: Taint[]; podCapacity?: number },
    private readonly bootMinutes = 3,
  ) {
    this.desired = group.desired;
    for (let i = 0; i < group.desired; i++) this.addNode();
  }

  // --- the simulated world, advanced by the test one minute at a time

  /** One minute passes: launched instances join, then the scheduler binds what fits. */
  tick(): void {
    this.now += MINUTE;
    const ready = this.launching.filter((launch) => launch.readyAt <= this.now);
    this.launching = this.launching.filter((launch) => launch.readyAt > this.now);
    for (const launch of ready) this.addNode(launch.instanceId);
    this.schedule();
  }

  schedule(): void {
    for (const pod of this.pods.filter((candidate) => !candidate.nodeName)) {
      const target = [...this.nodes.values()].find((node) => node.info.ready && !node.info.unschedulable && schedulingFailure(pod, this.stateOf(node.info.name)) === undefined && !this.antiAffine(pod, node.info.name));
      this.replacePod(pod, target ? { ...pod, nodeName: target.info.name, phase: "Running", unschedulable: false } : { ...pod, unschedulable: true });
    }
  }

  /**
   * The scheduler's InterPodAffinity filter for the one rule scenarios use: required anti-affinity to the pod's own
   * app on kubernetes.io/hostname, so no two replicas share a node.
   */
  private antiAffine(pod: PodInfo, nodeName: string): boolean {
    if (!pod.interPodConstraints?.includes("required pod anti-affinity")) return false;
    return this.pods.some((other) => other !== pod && other.nodeName === nodeName && other.labels.app === pod.labels.app);
  }

  stateOf(nodeName: string): NodeState {
    const node = this.nodes.get(nodeName)!.info;
    let state: NodeState = { name: node.name, labels: node.labels, taints: node.taints, allocatable: node.allocatable, podCapacity: node.podCapacity ?? 110, used: { cpuMillis: 0, memoryBytes: 0 }, podCount: 0, usedHostPorts: [] };
    for (const pod of this.pods.filter((candidate) => candidate.nodeName === nodeName)) state = place(pod, state);
    return state;
  }

  private addNode(instanceId = `i-${(++this.serial).toString(16).padStart(17, "0")}`): void {
    const name = `ip-10-0-0-${++this.joined}.eu-west-1.compute.internal`;
    this.nodes.set(name, {
      instanceId,
      info: {
        name,
        providerId: `aws:///eu-west-1a/${instanceId}`,
        ready: true,
        unschedulable: false,
        allocatable: this.nodeShape.allocatable,
        labels: { ...this.nodeShape.labels, "kubernetes.io/hostname": name },
        taints: this.nodeShape.taints,
        podCapacity: this.nodeShape.podCapacity ?? 110,
      },
    });
  }

  private replacePod(old: PodInfo, next: PodInfo | undefined): void {
    this.pods = next ? this.pods.map((pod) => (pod === old ? next : pod)) : this.pods.filter((pod) => pod !== old);
  }

  /** Node names in the order they joined. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** A pod already running on a given node, as if placed before the simulation started. */
  bind(pod: PodInfo, nodeName: string): void {
    this.pods.push({ ...pod, nodeName, phase: "Running" });
  }

  /** The node stops reporting Ready now. */
  breakNode(nodeName: string): void {
    this.setNode(nodeName, { ready: false, notReadySinceMs: this.now });
  }

  node(nodeName: string): NodeInfo | undefined {
    return this.nodes.get(nodeName)?.info;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  // --- AgentGroup

  async describe(): Promise<AgentGroupView> {
    return { desired: this.desired, min: this.group.min, max: this.group.max, instanceIds: [...[...this.nodes.values()].map((node) => node.instanceId), ...this.launching.map((launch) => launch.instanceId)] };
  }

  async setDesired(desired: number): Promise<void> {
    this.calls.push(`setDesired ${desired}`);
    for (let i = this.desired; i < desired; i++) this.launching.push({ instanceId: `i-${(++this.serial).toString(16).padStart(17, "0")}`, readyAt: this.now + this.bootMinutes * MINUTE });
    this.desired = desired;
  }

  async terminate(instanceId: string): Promise<void> {
    this.calls.push(`terminate ${instanceId}`);
    this.remove(instanceId);
    this.desired -= 1;
  }

  async replace(instanceId: string): Promise<void> {
    this.calls.push(`replace ${instanceId}`);
    this.remove(instanceId);
    this.launching.push({ instanceId: `i-${(++this.serial).toString(16).padStart(17, "0")}`, readyAt: this.now + this.bootMinutes * MINUTE });
  }

  private remove(instanceId: string): void {
    const node = [...this.nodes.values()].find((candidate) => candidate.instanceId === instanceId);
    if (!node) return;
    this.nodes.delete(node.info.name);
    // What ran there comes back pending through its controller.
    this.pods = this.pods.flatMap((pod) => (pod.nodeName !== node.info.name ? [pod] : pod.controllerKind && pod.controllerKind !== "DaemonSet" ? [{ ...pod, nodeName: undefined, phase: "Pending" }] : []));
  }

  // --- Cluster

  async listNodes(): Promise<NodeInfo[]> {
    return [...this.nodes.values()].map((node) => node.info);
  }

  async listPods(nodeName?: string): Promise<PodInfo[]> {
    return nodeName ? this.pods.filter((pod) => pod.nodeName === nodeName) : this.pods;
  }

  async listDisruptionBudgets(): Promise<DisruptionBudget[]> {
    return this.budgets;
  }

  async listPersistentVolumeClaims(): Promise<PersistentVolumeClaimInfo[]> {
    return [];
  }

  async listDaemonSets(): Promise<DaemonSetInfo[]> {
    return [];
  }

  async annotateNode(nodeName: string, annotations: Record<string, string | null>): Promise<void> {
    const node = this.nodes.get(nodeName);
    if (!node) return;
    const merged: Record<string, string> = { ...node.info.annotations };
    for (const [key, value] of Object.entries(annotations)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    node.info = { ...node.info, annotations: merged };
  }

  async cordon(nodeName: string): Promise<void> {
    this.calls.push(`cordon ${nodeName}`);
    this.setNode(nodeName, { unschedulable: true });
  }

  async uncordon(nodeName: string): Promise<void> {
    this.calls.push(`uncordon ${nodeName}`);
    this.setNode(nodeName, { unschedulable: false });
  }

  async evict(target: Pick<PodInfo, "namespace" | "name">): Promise<EvictionOutcome> {
    const pod = this.pods.find((candidate) => candidate.namespace === target.namespace && candidate.name === target.name);
    if (!pod) return "gone";
    if (this.failingEvictions.has(pod.name)) throw new Error(`eviction of ${pod.name} failed: HTTP 500`);
    // The eviction API refuses with 429 while a covering budget allows no disruption.
    if (this.budgets.some((budget) => budget.namespace === pod.namespace && matchesLabelSelector(pod.labels, budget.selector) && budget.disruptionsAllowed < 1)) return "blocked";
    this.calls.push(`evict ${pod.name}`);
    this.replacePod(pod, pod.controllerKind ? { ...pod, nodeName: undefined, phase: "Pending" } : undefined);
    return "evicted";
  }

  private setNode(nodeName: string, change: Partial<NodeInfo>): void {
    const node = this.nodes.get(nodeName);
    if (node) node.info = { ...node.info, ...change };
  }
}
