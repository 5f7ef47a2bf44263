/**
 * A cluster in memory: the agents' auto scaling group (instances that boot for a while after desired capacity rises,
 * on-demand or spot by the group's instances distribution, spot ones interrupted with a two-minute warning), a
 * scheduler that binds pending pods with the autoscaler's own predicates (lambdas/autoscaler/scheduling.ts), and an
 * eviction API that honours PodDisruptionBudgets. It implements the autoscaler's `Cluster` and `AgentGroup`, so the
 * autoscaler's own code runs against it. Time is the caller's: the simulator (engine.ts) or a test moves `now`.
 */
import { AgentGroup, AgentGroupView } from "../lambdas/autoscaler/aws";
import { bestScoredNode, NodeState, place, schedulingFailure } from "../lambdas/autoscaler/scheduling";
import { Cluster, DaemonSetInfo, DisruptionBudget, EvictionOutcome, NodeInfo, PersistentVolumeClaimInfo, PodInfo } from "../lambdas/shared/cluster";
import type { Resources, Taint } from "../lambdas/shared/kube-model";
import { matchesLabelSelector } from "../lambdas/shared/selectors";

const MINUTE = 60_000;

interface SimNode {
  info: NodeInfo;
  instanceId: string;
}

export type Lifecycle = "on-demand" | "spot";

/** One EC2 instance of the group, from launch to termination: what node-hours and cost are counted from. */
export interface Instance {
  readonly id: string;
  readonly lifecycle: Lifecycle;
  readonly instanceType: string;
  readonly launchedAt: number;
  /** When its node registers Ready (the launch hook completes and the instance is InService). */
  readonly readyAt: number;
  /** When the two-minute spot warning comes, if it comes before the end of the simulation. */
  interruptAt?: number;
  terminatedAt?: number;
}

/** What happens to a pod besides its spec: how much CPU it uses and how long it runs. */
export interface PodLife {
  /** Share of its CPU request it uses while running (with every replica of its service running, when it has one). */
  readonly cpuUsage: number;
  /**
   * The load-balanced Service whose requests the pod serves. A Service sends requests to ready endpoints only
   * (kubernetes.io/docs/concepts/services-networking/service), so the load of replicas that wait for a node falls on
   * those that run: the service's load is spread evenly over its running pods, as kube-proxy picks an endpoint at
   * random ("Virtual IPs and Service Proxies"). A pod counts as ready once bound (no readiness delay is modelled).
   */
  readonly service?: string;
  /** How long it runs once started; absent: until the end. A pod evicted before it finishes starts over. */
  readonly runMs?: number;
  /** Whether an empty agent would take it; pods no agent can run are reported apart. */
  readonly placeable: boolean;
  /**
   * An add-on's pod, not the trace's: it takes room, uses CPU, waits and moves like any pod; of the report, only the
   * evictions column and the chart's pending line count it.
   */
  readonly addon?: boolean;
  /** Since when it waits for a node: its creation, or its re-creation by its controller after an eviction. */
  pendingSince: number;
  finishAt?: number;
}

export interface ClusterOptions {
  /** The clock's start. */
  readonly start?: number;
  /** Boot time of each launched instance, in ms; default: a fixed number of minutes. */
  readonly bootTimeMs?: () => number;
  /**
   * How a node joining now registers, for the failures that leave it unusable for good: NotReady (a broken image,
   * network or join), or Ready with a taint nothing removes (a cloud controller that never initialises it). Default:
   * Ready, with the node shape's taints.
   */
  readonly joinAs?: () => { readonly ready: boolean; readonly taints?: Taint[] };
  /** Time from a spot instance's launch to its interruption warning, in ms (Infinity: never). */
  readonly spotInterruptionAfterMs?: () => number;
  /** Spot warning to termination. */
  readonly spotWarningMs?: number;
  /** The group's instances distribution; default: all on-demand. */
  readonly onDemandBaseCapacity?: number;
  readonly onDemandPercentageAboveBaseCapacity?: number;
  /** Instance type launched for a lifecycle; default: the node shape's instance type label. */
  readonly instanceTypeFor?: (lifecycle: Lifecycle) => string;
  /**
   * How the scheduler chooses among nodes that pass its filters: "first-fit" takes the first in join order; "scored"
   * takes the one kube-scheduler's default resource scoring prefers (scheduling.ts nodeScore: the most free CPU and
   * memory, balanced), the first of equals.
   */
  readonly placement?: "first-fit" | "scored";
  /** Picks among instances the group may terminate on a scale-in (default termination policy ends at random). */
  readonly random?: () => number;
  /**
   * One pod of each lands on every node that joins and passes its predicates, before any workload pod (the DaemonSet
   * controller pins it there by node affinity, and it tolerates a new node's not-ready taints), so their requests take
   * room on every agent and count in its utilization, as in cluster-autoscaler's ("DaemonSet pods and Mirror pods are
   * included by default", FAQ). They use their requests in CPU and go with their node.
   */
  readonly daemonSets?: DaemonSetInfo[];
}

/** Counts the simulator reports per policy. */
export interface ClusterCounters {
  /** Running pods put back to pending: evictions by a drain, spot interruptions, scale-in. */
  evictions: number;
  scaleUps: number;
  scaleDowns: number;
  spotInterruptions: number;
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

const keyOf = (pod: Pick<PodInfo, "namespace" | "name">) => `${pod.namespace}/${pod.name}`;

export class SimulatedCluster implements Cluster, AgentGroup {
  now: number;
  readonly nodes = new Map<string, SimNode>();
  pods: PodInfo[] = [];
  budgets: DisruptionBudget[] = [];
  readonly calls: string[] = [];
  /** Pods whose eviction the API answers with an error (as a 500 would surface through the client). */
  readonly failingEvictions = new Set<string>();
  /** Every instance ever launched, in launch order. */
  readonly instances: Instance[] = [];
  /** Pod lives, by "namespace/name"; pods added without one (DaemonSet pods) run forever and use their requests in CPU. */
  readonly lives = new Map<string, PodLife>();
  /** Time from pending to running of every pod start, with whether the pod was placeable. */
  readonly startLatencies: { readonly ms: number; readonly placeable: boolean }[] = [];
  readonly counters: ClusterCounters = { evictions: 0, scaleUps: 0, scaleDowns: 0, spotInterruptions: 0 };
  private desired: number;
  private launching: Instance[] = [];
  private serial = 0;
  private joined = 0;
  private readonly options: ClusterOptions;

  constructor(
    private readonly group: { min: number; max: number; desired: number },
    private readonly nodeShape: { allocatable: Resources; labels: Record<string, string>; taints?: Taint[]; podCapacity?: number },
    bootMinutesOrOptions: number | ClusterOptions = 3,
  ) {
    this.options = typeof bootMinutesOrOptions === "number" ? { bootTimeMs: () => bootMinutesOrOptions * MINUTE } : bootMinutesOrOptions;
    this.now = this.options.start ?? 1_700_000_000_000;
    this.desired = group.desired;
    for (let i = 0; i < group.desired; i++) this.join(this.launch(0));
  }

  // --- the simulated world, advanced by its caller

  /** One minute passes: launched instances join, then the scheduler binds what fits. */
  tick(): void {
    this.now += MINUTE;
    this.processDue();
    this.schedule();
  }

  /** The next time something happens on its own: a node joins, a spot warning or termination, a pod finishes. */
  nextEventAt(): number {
    let next = Infinity;
    for (const launch of this.launching) next = Math.min(next, launch.readyAt);
    for (const instance of this.instances) {
      if (instance.terminatedAt !== undefined) continue;
      if (instance.interruptAt !== undefined) next = Math.min(next, instance.interruptAt > this.now ? instance.interruptAt : instance.interruptAt + this.spotWarningMs);
    }
    for (const life of this.lives.values()) if (life.finishAt !== undefined) next = Math.min(next, life.finishAt);
    return next;
  }

  private get spotWarningMs(): number {
    return this.options.spotWarningMs ?? 2 * MINUTE;
  }

  /** Everything due by now: nodes join, spot warnings drain, interrupted instances end, finished pods leave. */
  processDue(): void {
    const ready = this.launching.filter((launch) => launch.readyAt <= this.now);
    this.launching = this.launching.filter((launch) => launch.readyAt > this.now);
    for (const launch of ready) this.join(launch);
    for (const instance of this.instances) {
      if (instance.terminatedAt !== undefined || instance.interruptAt === undefined) continue;
      if (instance.interruptAt + this.spotWarningMs <= this.now) {
        this.endInstance(instance.id);
      } else if (instance.interruptAt <= this.now && !this.warned.has(instance.id)) {
        this.warned.add(instance.id);
        this.counters.spotInterruptions += 1;
        this.calls.push(`spot warning ${instance.id}`);
        // The node-drainer cordons and evicts at the warning; with capacity rebalancing the group launches the
        // replacement now, and the interrupted instance no longer counts towards desired capacity.
        const node = this.nodeOf(instance.id);
        if (node) {
          this.setNode(node.info.name, { unschedulable: true });
          this.displacePods(node.info.name);
        }
        this.launchingOrJoined(this.launch());
      }
    }
    for (const [key, life] of this.lives) {
      if (life.finishAt === undefined || life.finishAt > this.now) continue;
      this.pods = this.pods.filter((pod) => keyOf(pod) !== key);
      this.lives.delete(key);
    }
  }

  private readonly warned = new Set<string>();

  /** A pod is created now, pending; its life says how it uses CPU and when it ends. */
  addPod(pod: PodInfo, life: Omit<PodLife, "pendingSince" | "finishAt">): void {
    this.pods.push(pod);
    this.lives.set(keyOf(pod), { ...life, pendingSince: this.now });
  }

  schedule(): void {
    const states = new Map<string, NodeState>();
    for (const node of this.nodes.values()) states.set(node.info.name, this.emptyState(node.info));
    for (const pod of this.pods) {
      const state = pod.nodeName ? states.get(pod.nodeName) : undefined;
      if (state) states.set(pod.nodeName!, place(pod, state));
    }
    const candidates = [...this.nodes.values()].filter((node) => node.info.ready && !node.info.unschedulable);
    for (const pod of this.pods.filter((candidate) => !candidate.nodeName)) {
      const feasible = candidates.filter((node) => schedulingFailure(pod, states.get(node.info.name)!) === undefined && !this.antiAffine(pod, node.info.name));
      const target = this.options.placement === "scored" ? this.bestScored(pod, feasible, states) : feasible[0];
      if (target) {
        states.set(target.info.name, place(pod, states.get(target.info.name)!));
        this.replacePod(pod, { ...pod, nodeName: target.info.name, phase: "Running", unschedulable: false });
        this.started(pod);
      } else if (!pod.unschedulable) {
        this.replacePod(pod, { ...pod, unschedulable: true });
      }
    }
  }

  private bestScored(pod: PodInfo, feasible: SimNode[], states: Map<string, NodeState>): SimNode | undefined {
    return feasible[bestScoredNode(pod, feasible.map((node) => states.get(node.info.name)!))];
  }

  private started(pod: PodInfo): void {
    const life = this.lives.get(keyOf(pod));
    if (!life) return;
    if (!life.addon) this.startLatencies.push({ ms: this.now - life.pendingSince, placeable: life.placeable });
    life.finishAt = life.runMs === undefined ? undefined : this.now + life.runMs;
  }

  /**
   * The scheduler's InterPodAffinity filter for the one rule scenarios use: required anti-affinity to the pod's own
   * app on kubernetes.io/hostname, so no two replicas share a node.
   */
  private antiAffine(pod: PodInfo, nodeName: string): boolean {
    if (!pod.interPodConstraints?.includes("required pod anti-affinity")) return false;
    return this.pods.some((other) => other !== pod && other.nodeName === nodeName && other.labels.app === pod.labels.app);
  }

  private emptyState(node: NodeInfo): NodeState {
    return { name: node.name, labels: node.labels, taints: node.taints, allocatable: node.allocatable, podCapacity: node.podCapacity ?? 110, used: { cpuMillis: 0, memoryBytes: 0 }, podCount: 0, usedHostPorts: [] };
  }

  stateOf(nodeName: string): NodeState {
    let state = this.emptyState(this.nodes.get(nodeName)!.info);
    for (const pod of this.pods.filter((candidate) => candidate.nodeName === nodeName)) state = place(pod, state);
    return state;
  }

  /**
   * CPU in use on a node as a share of its allocatable, at most 1: each running pod's request times its usage, or for
   * a pod of a service an even share of the service's load (every replica's request times usage, running or not); a
   * DaemonSet pod, which has no life, its request (the values size it to what it uses idle).
   */
  cpuUtilization(nodeName: string): number {
    const node = this.nodes.get(nodeName);
    if (!node || node.info.allocatable.cpuMillis <= 0) return 0;
    const services = new Map<string, { load: number; running: number }>();
    for (const pod of this.pods) {
      const life = this.lives.get(keyOf(pod));
      if (!life?.service) continue;
      const service = services.get(life.service) ?? { load: 0, running: 0 };
      service.load += pod.requests.cpuMillis * life.cpuUsage;
      if (pod.nodeName) service.running += 1;
      services.set(life.service, service);
    }
    let used = 0;
    for (const pod of this.pods) {
      if (pod.nodeName !== nodeName) continue;
      const life = this.lives.get(keyOf(pod));
      if (!life) {
        used += pod.requests.cpuMillis;
        continue;
      }
      const service = life.service ? services.get(life.service) : undefined;
      used += service ? service.load / service.running : pod.requests.cpuMillis * life.cpuUsage;
    }
    return Math.min(1, used / node.info.allocatable.cpuMillis);
  }

  // --- instances

  private onDemandWanted(total: number): number {
    const base = this.options.onDemandBaseCapacity ?? Infinity;
    const percent = this.options.onDemandPercentageAboveBaseCapacity ?? 100;
    if (total <= base) return total;
    return base + Math.ceil(((total - base) * percent) / 100);
  }

  private live(): Instance[] {
    return this.instances.filter((instance) => instance.terminatedAt === undefined && !this.warned.has(instance.id));
  }

  /** A new instance, on-demand while the distribution wants more of them, spot otherwise. */
  private launch(bootMs: number | undefined = undefined): Instance {
    const live = this.live();
    const onDemand = live.filter((instance) => instance.lifecycle === "on-demand").length;
    const lifecycle: Lifecycle = onDemand < this.onDemandWanted(live.length + 1) ? "on-demand" : "spot";
    const boot = bootMs ?? this.options.bootTimeMs?.() ?? 3 * MINUTE;
    const id = `i-${(++this.serial).toString(16).padStart(17, "0")}`;
    const interruptAfter = lifecycle === "spot" ? (this.options.spotInterruptionAfterMs?.() ?? Infinity) : Infinity;
    const instance: Instance = {
      id,
      lifecycle,
      instanceType: this.options.instanceTypeFor?.(lifecycle) ?? this.nodeShape.labels["node.kubernetes.io/instance-type"] ?? "unknown",
      launchedAt: this.now,
      readyAt: this.now + boot,
      interruptAt: Number.isFinite(interruptAfter) ? this.now + interruptAfter : undefined,
    };
    this.instances.push(instance);
    return instance;
  }

  private launchingOrJoined(instance: Instance): void {
    if (instance.readyAt <= this.now) this.join(instance);
    else this.launching.push(instance);
  }

  private join(instance: Instance): void {
    const name = `ip-10-0-0-${++this.joined}.eu-west-1.compute.internal`;
    const { ready, taints } = this.options.joinAs?.() ?? { ready: true, taints: this.nodeShape.taints };
    this.nodes.set(name, {
      instanceId: instance.id,
      info: {
        name,
        providerId: `aws:///eu-west-1a/${instance.id}`,
        ready,
        ...(ready ? {} : { notReadySinceMs: this.now }),
        unschedulable: false,
        allocatable: this.nodeShape.allocatable,
        labels: { ...this.nodeShape.labels, "kubernetes.io/hostname": name },
        taints,
        podCapacity: this.nodeShape.podCapacity ?? 110,
        createdAtMs: this.now,
      },
    });
    let state = this.emptyState(this.nodes.get(name)!.info);
    for (const daemonSet of this.options.daemonSets ?? []) {
      const pod = simPod(`${daemonSet.name}-${this.joined}`, daemonSet.pod.requests, { ...daemonSet.pod, namespace: daemonSet.namespace, labels: { app: daemonSet.name }, controllerKind: "DaemonSet" });
      if (schedulingFailure(pod, state) !== undefined) continue;
      this.bind(pod, name);
      state = place(pod, state);
    }
  }

  private nodeOf(instanceId: string): SimNode | undefined {
    return [...this.nodes.values()].find((candidate) => candidate.instanceId === instanceId);
  }

  /** Node name of an instance, once it has joined. */
  nodeNameOf(instanceId: string): string | undefined {
    return this.nodeOf(instanceId)?.info.name;
  }

  private replacePod(old: PodInfo, next: PodInfo | undefined): void {
    this.pods = next ? this.pods.map((pod) => (pod === old ? next : pod)) : this.pods.filter((pod) => pod !== old);
  }

  /** What ran on the node comes back pending through its controller (and starts over); DaemonSet and bare pods are gone. */
  private displacePods(nodeName: string): void {
    this.pods = this.pods.flatMap((pod) => {
      if (pod.nodeName !== nodeName) return [pod];
      if (!pod.controllerKind || pod.controllerKind === "DaemonSet") return [];
      this.repend(pod);
      return [{ ...pod, nodeName: undefined, phase: "Pending", unschedulable: false }];
    });
  }

  private repend(pod: PodInfo): void {
    this.counters.evictions += 1;
    const life = this.lives.get(keyOf(pod));
    if (life) {
      life.pendingSince = this.now;
      life.finishAt = undefined;
    }
  }

  private endInstance(instanceId: string): void {
    const instance = this.instances.find((candidate) => candidate.id === instanceId);
    if (instance && instance.terminatedAt === undefined) instance.terminatedAt = this.now;
    this.launching = this.launching.filter((launch) => launch.id !== instanceId);
    const node = this.nodeOf(instanceId);
    if (!node) return;
    this.displacePods(node.info.name);
    this.nodes.delete(node.info.name);
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

  /** Desired capacity and the group's bounds. */
  get capacity(): { desired: number; min: number; max: number } {
    return { desired: this.desired, min: this.group.min, max: this.group.max };
  }

  /** Instances launched and not terminated, spot ones under warning included (they still bill). */
  get runningInstances(): Instance[] {
    return this.instances.filter((instance) => instance.terminatedAt === undefined);
  }

  /**
   * The group's own scale-in (a lower desired capacity from a scaling policy): the default termination policy picks
   * instances, keeping the on-demand/spot distribution, then at random; the termination lifecycle hook lets the
   * node-drainer drain each node first, so its pods go back to pending.
   */
  scaleInTo(desired: number): void {
    const target = Math.max(this.group.min, desired);
    while (this.desired > target) {
      const live = this.live();
      const onDemandWanted = this.onDemandWanted(live.length - 1);
      const onDemand = live.filter((instance) => instance.lifecycle === "on-demand");
      const pool = onDemand.length > onDemandWanted ? onDemand : live.filter((instance) => instance.lifecycle === "spot");
      const candidates = pool.length > 0 ? pool : live;
      if (candidates.length === 0) break;
      const victim = candidates[Math.floor((this.options.random?.() ?? 0) * candidates.length)];
      this.calls.push(`scale-in ${victim.id}`);
      this.endInstance(victim.id);
      this.desired -= 1;
      this.counters.scaleDowns += 1;
    }
  }

  // --- AgentGroup

  async describe(): Promise<AgentGroupView> {
    return { desired: this.desired, min: this.group.min, max: this.group.max, instanceIds: this.live().map((instance) => instance.id) };
  }

  async setDesired(desired: number): Promise<void> {
    this.calls.push(`setDesired ${desired}`);
    if (desired < this.desired) {
      this.scaleInTo(desired);
      return;
    }
    if (desired > this.desired) this.counters.scaleUps += 1;
    for (let i = this.desired; i < desired; i++) this.launchingOrJoined(this.launch());
    this.desired = desired;
  }

  async terminate(instanceId: string): Promise<void> {
    this.calls.push(`terminate ${instanceId}`);
    this.endInstance(instanceId);
    this.desired -= 1;
    this.counters.scaleDowns += 1;
  }

  async replace(instanceId: string): Promise<void> {
    this.calls.push(`replace ${instanceId}`);
    this.endInstance(instanceId);
    this.launchingOrJoined(this.launch());
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
    return this.options.daemonSets ?? [];
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
    if (pod.controllerKind) this.repend(pod);
    this.replacePod(pod, pod.controllerKind ? { ...pod, nodeName: undefined, phase: "Pending", unschedulable: false } : undefined);
    return "evicted";
  }

  private setNode(nodeName: string, change: Partial<NodeInfo>): void {
    const node = this.nodes.get(nodeName);
    if (node) node.info = { ...node.info, ...change };
  }
}
