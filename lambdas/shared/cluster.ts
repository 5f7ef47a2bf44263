import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, PolicyV1Api, setHeaderOptions, V1Node, V1Pod } from "@kubernetes/client-node";
import type { LabelSelector, NodeSchedulingSpec, PodSchedulingSpec, Resources } from "./kube-model";
import { cpuMillis, memoryBytes } from "./quantity";

export type { Resources } from "./kube-model";

/** What the servers publish for the Lambdas: the API address, its CA (base64 PEM) and a service-account token. */
export interface ClusterAccess {
  readonly server: string;
  readonly caData: string;
  readonly token: string;
}

export interface NodeInfo extends Partial<Pick<NodeSchedulingSpec, "taints" | "podCapacity">> {
  readonly name: string;
  /** "aws:///<zone>/<instance-id>", set by the bootstrap scripts. */
  readonly providerId?: string;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly allocatable: Resources;
  readonly labels: Record<string, string>;
}

export interface PodInfo extends Omit<PodSchedulingSpec, "requests"> {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly phase: string;
  readonly labels: Record<string, string>;
  /** Sum of the containers' requests (init containers run before them, so their maximum counts if larger). */
  readonly requests: Resources;
  readonly controllerKind?: string;
  readonly mirror: boolean;
  readonly deleting: boolean;
  /** emptyDir on disk or hostPath: data that dies with the node. */
  readonly localStorage: boolean;
  /** cluster-autoscaler.kubernetes.io/safe-to-evict: "false". */
  readonly evictionOptOut: boolean;
  /** PodScheduled=False with reason Unschedulable. */
  readonly unschedulable: boolean;
}

export interface DisruptionBudget {
  readonly namespace: string;
  readonly name?: string;
  /** spec.selector: empty selects every pod of the namespace, null selects none (policy/v1). */
  readonly selector: LabelSelector | null;
  readonly disruptionsAllowed: number;
}

export type EvictionOutcome = "evicted" | "blocked" | "gone";

/** The subset of the Kubernetes API the Lambdas use. */
export interface Cluster {
  listNodes(): Promise<NodeInfo[]>;
  /** Every pod, or those bound to one node. */
  listPods(nodeName?: string): Promise<PodInfo[]>;
  listDisruptionBudgets(): Promise<DisruptionBudget[]>;
  cordon(nodeName: string): Promise<void>;
  uncordon(nodeName: string): Promise<void>;
  /** "blocked": a PodDisruptionBudget refuses it now (HTTP 429); "gone": the pod no longer exists. */
  evict(pod: Pick<PodInfo, "namespace" | "name">): Promise<EvictionOutcome>;
}

export function kubeConfigFor(access: ClusterAccess): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "cluster", server: access.server, caData: access.caData, skipTLSVerify: false }],
    users: [{ name: "automation", token: access.token }],
    contexts: [{ name: "automation", cluster: "cluster", user: "automation" }],
    currentContext: "automation",
  });
  return kubeConfig;
}

const PAGE_SIZE = 500;

export function kubernetesCluster(kubeConfig: KubeConfig): Cluster {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const policy = kubeConfig.makeApiClient(PolicyV1Api);
  return {
    async listNodes() {
      const nodes: V1Node[] = [];
      let next: string | undefined;
      do {
        const page = await core.listNode({ limit: PAGE_SIZE, _continue: next });
        nodes.push(...page.items);
        next = page.metadata?._continue || undefined;
      } while (next);
      return nodes.map(toNodeInfo);
    },
    async listPods(nodeName) {
      const pods: V1Pod[] = [];
      let next: string | undefined;
      do {
        const page = await core.listPodForAllNamespaces({ fieldSelector: nodeName ? `spec.nodeName=${nodeName}` : undefined, limit: PAGE_SIZE, _continue: next });
        pods.push(...page.items);
        next = page.metadata?._continue || undefined;
      } while (next);
      return pods.map(toPodInfo);
    },
    async listDisruptionBudgets() {
      const budgets = await policy.listPodDisruptionBudgetForAllNamespaces();
      return budgets.items.map((budget) => ({
        namespace: budget.metadata?.namespace ?? "",
        name: budget.metadata?.name,
        selector: (budget.spec?.selector as LabelSelector | undefined) ?? null,
        disruptionsAllowed: budget.status?.disruptionsAllowed ?? 0,
      }));
    },
    async cordon(nodeName) {
      await core.patchNode({ name: nodeName, body: { spec: { unschedulable: true } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    },
    async uncordon(nodeName) {
      await core.patchNode({ name: nodeName, body: { spec: { unschedulable: null } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    },
    async evict(pod) {
      try {
        await core.createNamespacedPodEviction({
          name: pod.name,
          namespace: pod.namespace,
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod.name, namespace: pod.namespace } },
        });
        return "evicted";
      } catch (error) {
        if (error instanceof ApiException && error.code === 429) return "blocked";
        if (error instanceof ApiException && error.code === 404) return "gone";
        throw error;
      }
    },
  };
}

function toNodeInfo(node: V1Node): NodeInfo {
  const allocatable = node.status?.allocatable ?? {};
  return {
    name: node.metadata?.name ?? "",
    providerId: node.spec?.providerID,
    ready: (node.status?.conditions ?? []).some((condition) => condition.type === "Ready" && condition.status === "True"),
    unschedulable: node.spec?.unschedulable === true,
    allocatable: { cpuMillis: cpuMillis(allocatable.cpu), memoryBytes: memoryBytes(allocatable.memory) },
    labels: node.metadata?.labels ?? {},
  };
}

function toPodInfo(pod: V1Pod): PodInfo {
  const sum = (containers: { resources?: { requests?: Record<string, string> } }[] = []): Resources => ({
    cpuMillis: containers.reduce((total, container) => total + cpuMillis(container.resources?.requests?.cpu), 0),
    memoryBytes: containers.reduce((total, container) => total + memoryBytes(container.resources?.requests?.memory), 0),
  });
  const main = sum(pod.spec?.containers);
  const init = (pod.spec?.initContainers ?? []).map((container) => sum([container]));
  const controller = pod.metadata?.ownerReferences?.find((owner) => owner.controller);
  const annotations = pod.metadata?.annotations ?? {};
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    nodeName: pod.spec?.nodeName,
    phase: pod.status?.phase ?? "Unknown",
    labels: pod.metadata?.labels ?? {},
    requests: {
      cpuMillis: Math.max(main.cpuMillis, ...init.map((resources) => resources.cpuMillis)),
      memoryBytes: Math.max(main.memoryBytes, ...init.map((resources) => resources.memoryBytes)),
    },
    controllerKind: controller?.kind,
    mirror: "kubernetes.io/config.mirror" in annotations,
    deleting: Boolean(pod.metadata?.deletionTimestamp),
    localStorage: (pod.spec?.volumes ?? []).some((volume) => volume.hostPath || (volume.emptyDir && volume.emptyDir.medium !== "Memory")),
    evictionOptOut: annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] === "false",
    unschedulable: (pod.status?.conditions ?? []).some((condition) => condition.type === "PodScheduled" && condition.status === "False" && condition.reason === "Unschedulable"),
  };
}
