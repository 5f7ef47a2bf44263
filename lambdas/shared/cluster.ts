import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  StorageV1Api,
  V1Container,
  V1LabelSelector,
  V1ListMeta,
  V1Node,
  V1NodeSelectorRequirement,
  V1Pod,
  V1PodSpec,
  V1Toleration,
} from "@kubernetes/client-node";
import type { HostPort, LabelSelector, LabelSelectorRequirement, NodeSchedulingSpec, NodeSelectorRequirement, NodeSelectorTerm, PodSchedulingSpec, Resources, TaintEffect, Toleration } from "./kube-model";
import { EvictionError } from "./eviction-error";
import { errorMessage } from "./log";
import { effectiveRequests } from "./pod-requests";
import { cpuMillis, memoryBytes, parseQuantity } from "./quantity";

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
  readonly annotations?: Record<string, string>;
  /** Epoch ms of the Ready condition's last transition while it is not True; registration time if it has none yet. */
  readonly notReadySinceMs?: number;
  /** Epoch ms of metadata.creationTimestamp: when the node registered. */
  readonly createdAtMs?: number;
}

export interface PodInfo extends PodSchedulingSpec {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly phase: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly controllerKind?: string;
  readonly controllerName?: string;
  readonly mirror: boolean;
  readonly deleting: boolean;
  readonly deletionTimestampMs?: number;
  readonly terminationGracePeriodSeconds?: number;
  /** Volumes whose data dies with the node: emptyDir on disk and hostPath. */
  readonly localVolumeNames?: string[];
  /** PodScheduled=False with reason Unschedulable. */
  readonly unschedulable: boolean;
  /** spec.priority, resolved from the PriorityClass at admission; absent means 0. */
  readonly priority?: number;
  /** Set by the scheduler when it preempted pods to make room on that node. */
  readonly nominatedNodeName?: string;
  /** PersistentVolumeClaims the pod mounts, including those its generic ephemeral volumes create. */
  readonly claimNames?: string[];
  /**
   * Hard placement rules that depend on other pods (required pod affinity or anti-affinity, DoNotSchedule topology
   * spread), which the autoscaler's predicates do not evaluate; named for the decision's reason.
   */
  readonly interPodConstraints?: string[];
}

export interface DisruptionBudget {
  readonly namespace: string;
  readonly name?: string;
  /** spec.selector: empty selects every pod of the namespace, null selects none (policy/v1). */
  readonly selector: LabelSelector | null;
  readonly disruptionsAllowed: number;
}

export interface PersistentVolumeClaimInfo {
  readonly namespace: string;
  readonly name: string;
  /** status.phase Bound: a volume is attached to the claim. */
  readonly bound: boolean;
  /**
   * Its StorageClass has volumeBindingMode WaitForFirstConsumer: the claim binds only after its pod is given a node,
   * so while unbound it does not hold the pod back (kube-scheduler VolumeBinding fails only unbound Immediate claims).
   */
  readonly waitsForFirstConsumer: boolean;
}

export interface DaemonSetInfo {
  readonly namespace: string;
  readonly name: string;
  /** What each of its pods needs, with the tolerations the DaemonSet controller adds to them. */
  readonly pod: PodSchedulingSpec;
}

export type EvictionOutcome = "evicted" | "blocked" | "gone";

/** The subset of the Kubernetes API the Lambdas use. */
export interface Cluster {
  listNodes(): Promise<NodeInfo[]>;
  /** Every pod, or those bound to one node. */
  listPods(nodeName?: string): Promise<PodInfo[]>;
  listDisruptionBudgets(): Promise<DisruptionBudget[]>;
  listPersistentVolumeClaims(): Promise<PersistentVolumeClaimInfo[]>;
  listDaemonSets(): Promise<DaemonSetInfo[]>;
  cordon(nodeName: string): Promise<void>;
  uncordon(nodeName: string): Promise<void>;
  /** Merges annotations into the node's; a null value removes that annotation. */
  annotateNode(nodeName: string, annotations: Record<string, string | null>): Promise<void>;
  /**
   * "blocked": a PodDisruptionBudget refuses it now (HTTP 429); "gone": the pod no longer exists. Any other answer
   * throws an EvictionError saying whether a retry can succeed.
   */
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

/** Follows metadata.continue until the server has no more: it may return fewer items than the limit, even none. */
async function listAll<T>(page: (options: { limit: number; _continue?: string }) => Promise<{ items: T[]; metadata?: V1ListMeta }>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const result = await page({ limit: PAGE_SIZE, _continue: next });
    items.push(...result.items);
    next = result.metadata?._continue || undefined;
  } while (next);
  return items;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function kubernetesCluster(kubeConfig: KubeConfig): Cluster {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const policy = kubeConfig.makeApiClient(PolicyV1Api);
  const storage = kubeConfig.makeApiClient(StorageV1Api);
  return {
    async listNodes() {
      return (await listAll((options) => core.listNode(options))).map(toNodeInfo);
    },
    async listPods(nodeName) {
      const fieldSelector = nodeName ? `spec.nodeName=${nodeName}` : undefined;
      return (await listAll((options) => core.listPodForAllNamespaces({ ...options, fieldSelector }))).map(toPodInfo);
    },
    async listDisruptionBudgets() {
      const budgets = await listAll((options) => policy.listPodDisruptionBudgetForAllNamespaces(options));
      return budgets.map((budget) => ({
        namespace: budget.metadata?.namespace ?? "",
        name: budget.metadata?.name,
        selector: budget.spec?.selector ? toLabelSelector(budget.spec.selector) : null,
        disruptionsAllowed: budget.status?.disruptionsAllowed ?? 0,
      }));
    },
    async listPersistentVolumeClaims() {
      const [claims, classes] = await Promise.all([listAll((options) => core.listPersistentVolumeClaimForAllNamespaces(options)), listAll((options) => storage.listStorageClass(options))]);
      const waiting = new Set(classes.filter((storageClass) => storageClass.volumeBindingMode === "WaitForFirstConsumer").map((storageClass) => storageClass.metadata?.name));
      // A claim without a class name got none at admission (no default then): it binds statically, immediately.
      return claims.map((claim) => ({
        namespace: claim.metadata?.namespace ?? "",
        name: claim.metadata?.name ?? "",
        bound: claim.status?.phase === "Bound",
        waitsForFirstConsumer: claim.spec?.storageClassName !== undefined && waiting.has(claim.spec.storageClassName),
      }));
    },
    async listDaemonSets() {
      const daemonSets = await listAll((options) => apps.listDaemonSetForAllNamespaces(options));
      return daemonSets.map((daemonSet) => {
        const spec = daemonSet.spec?.template.spec;
        const pod = toSchedulingSpec(spec);
        return { namespace: daemonSet.metadata?.namespace ?? "", name: daemonSet.metadata?.name ?? "", pod: { ...pod, tolerations: withDaemonSetTolerations(pod.tolerations, spec?.hostNetwork === true) } };
      });
    },
    async cordon(nodeName) {
      await core.patchNode({ name: nodeName, body: { spec: { unschedulable: true } } }, mergePatch);
    },
    async uncordon(nodeName) {
      await core.patchNode({ name: nodeName, body: { spec: { unschedulable: null } } }, mergePatch);
    },
    async annotateNode(nodeName, annotations) {
      // RFC 7386: null deletes a key, other keys of the map are left as they are.
      await core.patchNode({ name: nodeName, body: { metadata: { annotations } } }, mergePatch);
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
        // The client's message carries the whole response, headers included; the API's Status message says why.
        if (error instanceof ApiException) {
          const status = parseStatus(error.body);
          throw new EvictionError(`eviction answered ${error.code}: ${status?.message ?? "no Status message"}`, evictionRetryable(error.code, status));
        }
        throw new EvictionError(errorMessage(error), true);
      }
    },
  };
}

interface Status {
  readonly message?: string;
  readonly details?: { readonly causes?: { readonly type?: string }[] };
}

/** A Kubernetes Status body (a JSON string or already parsed), if it is one. */
function parseStatus(body: unknown): Status | undefined {
  try {
    const status = (typeof body === "string" ? JSON.parse(body) : body) as Status | null;
    return status && typeof status === "object" ? { ...status, message: typeof status.message === "string" ? status.message : undefined } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kubectl drain (drain.go evictPods) gives up on a pod at once for any answer but 429 and the 403 of a namespace being
 * deleted (cause NamespaceTerminating), which it retries until the pod goes; server errors (5xx) may pass, as
 * cluster-autoscaler's evictor retries every error.
 */
function evictionRetryable(code: number, status: Status | undefined): boolean {
  if (code === 403) return (status?.details?.causes ?? []).some((cause) => cause.type === "NamespaceTerminating");
  return code >= 500;
}

const resourcesOf = (list: Record<string, string> | undefined): Resources => ({ cpuMillis: cpuMillis(list?.cpu), memoryBytes: memoryBytes(list?.memory) });

/** The requests the scheduler reserves for a pod (pod-requests.ts); a native sidecar is an init container with restartPolicy Always. */
function podEffectiveRequests(spec: V1PodSpec | undefined): Resources {
  const requestsOf = (container: V1Container) => ({ requests: resourcesOf(container.resources?.requests), sidecar: container.restartPolicy === "Always" });
  const podLevel = spec?.resources?.requests;
  return effectiveRequests((spec?.containers ?? []).map(requestsOf), (spec?.initContainers ?? []).map(requestsOf), resourcesOf(spec?.overhead), {
    ...(podLevel?.cpu !== undefined ? { cpuMillis: cpuMillis(podLevel.cpu) } : {}),
    ...(podLevel?.memory !== undefined ? { memoryBytes: memoryBytes(podLevel.memory) } : {}),
  });
}

/** Host ports as kube-scheduler's NodePorts filter reads them: regular containers' ports with a hostPort. */
function hostPortsOf(containers: V1Container[] = []): HostPort[] {
  return containers.flatMap((container) =>
    (container.ports ?? [])
      .filter((port) => (port.hostPort ?? 0) > 0)
      .map((port) => ({ port: port.hostPort!, protocol: (port.protocol ?? "TCP") as HostPort["protocol"], ...(port.hostIP ? { hostIP: port.hostIP } : {}) })),
  );
}

const toRequirement = (requirement: V1NodeSelectorRequirement): NodeSelectorRequirement => ({
  key: requirement.key,
  operator: requirement.operator as NodeSelectorRequirement["operator"],
  ...(requirement.values ? { values: requirement.values } : {}),
});

const toToleration = (toleration: V1Toleration): Toleration => ({
  ...(toleration.key !== undefined ? { key: toleration.key } : {}),
  ...(toleration.operator !== undefined ? { operator: toleration.operator as Toleration["operator"] } : {}),
  ...(toleration.value !== undefined ? { value: toleration.value } : {}),
  ...(toleration.effect ? { effect: toleration.effect as TaintEffect } : {}),
});

function toLabelSelector(selector: V1LabelSelector): LabelSelector {
  return {
    ...(selector.matchLabels ? { matchLabels: selector.matchLabels } : {}),
    ...(selector.matchExpressions
      ? { matchExpressions: selector.matchExpressions.map((requirement) => ({ key: requirement.key, operator: requirement.operator as LabelSelectorRequirement["operator"], ...(requirement.values ? { values: requirement.values } : {}) })) }
      : {}),
  };
}

function toSchedulingSpec(spec: V1PodSpec | undefined): PodSchedulingSpec {
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const hostPorts = hostPortsOf(spec?.containers);
  return {
    requests: podEffectiveRequests(spec),
    ...(spec?.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
    ...(terms
      ? {
          requiredNodeAffinity: terms.map(
            (term): NodeSelectorTerm => ({
              ...(term.matchExpressions ? { matchExpressions: term.matchExpressions.map(toRequirement) } : {}),
              ...(term.matchFields ? { matchFields: term.matchFields.map(toRequirement) } : {}),
            }),
          ),
        }
      : {}),
    ...(spec?.tolerations ? { tolerations: spec.tolerations.map(toToleration) } : {}),
    ...(hostPorts.length > 0 ? { hostPorts } : {}),
  };
}

/**
 * The DaemonSet controller adds these to every pod it creates (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations),
 * so its pods run on nodes that are cordoned, under pressure or not yet ready.
 */
function withDaemonSetTolerations(tolerations: Toleration[] = [], hostNetwork: boolean): Toleration[] {
  const added: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    ...(hostNetwork ? [{ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" } as const] : []),
  ];
  // The controller replaces a toleration of the same key and effect rather than adding a second one.
  return [...tolerations.filter((own) => !added.some((toleration) => toleration.key === own.key && toleration.effect === own.effect)), ...added];
}

function toNodeInfo(node: V1Node): NodeInfo {
  const allocatable = node.status?.allocatable ?? {};
  const readyCondition = (node.status?.conditions ?? []).find((condition) => condition.type === "Ready");
  const ready = readyCondition?.status === "True";
  const createdAtMs = node.metadata?.creationTimestamp?.getTime();
  return {
    name: node.metadata?.name ?? "",
    providerId: node.spec?.providerID,
    ready,
    unschedulable: node.spec?.unschedulable === true,
    allocatable: resourcesOf(allocatable),
    labels: node.metadata?.labels ?? {},
    annotations: node.metadata?.annotations ?? {},
    taints: (node.spec?.taints ?? []).map((taint) => ({ key: taint.key, ...(taint.value !== undefined ? { value: taint.value } : {}), effect: taint.effect as TaintEffect })),
    ...(allocatable.pods !== undefined ? { podCapacity: Math.floor(parseQuantity(allocatable.pods)) } : {}),
    // A node that has not reported a Ready condition yet has been unready since it registered.
    ...(ready ? {} : { notReadySinceMs: readyCondition?.lastTransitionTime?.getTime() ?? createdAtMs }),
    createdAtMs,
  };
}

function toPodInfo(pod: V1Pod): PodInfo {
  const controller = pod.metadata?.ownerReferences?.find((owner) => owner.controller);
  const annotations = pod.metadata?.annotations ?? {};
  const volumes = pod.spec?.volumes ?? [];
  // cluster-autoscaler's drainability treats these as local storage (utils/drain HasLocalStorage).
  const localVolumeNames = volumes.filter((volume) => volume.hostPath || (volume.emptyDir && volume.emptyDir.medium !== "Memory")).map((volume) => volume.name);
  const podName = pod.metadata?.name ?? "";
  const claimNames = volumes.flatMap((volume) => {
    if (volume.persistentVolumeClaim) return [volume.persistentVolumeClaim.claimName];
    // A generic ephemeral volume's claim is named <pod name>-<volume name> (core/v1 EphemeralVolumeSource).
    if (volume.ephemeral) return [`${podName}-${volume.name}`];
    return [];
  });
  return {
    ...toSchedulingSpec(pod.spec),
    namespace: pod.metadata?.namespace ?? "",
    name: podName,
    nodeName: pod.spec?.nodeName,
    phase: pod.status?.phase ?? "Unknown",
    labels: pod.metadata?.labels ?? {},
    annotations,
    controllerKind: controller?.kind,
    controllerName: controller?.name,
    mirror: "kubernetes.io/config.mirror" in annotations,
    deleting: Boolean(pod.metadata?.deletionTimestamp),
    deletionTimestampMs: pod.metadata?.deletionTimestamp?.getTime(),
    terminationGracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds,
    localVolumeNames,
    unschedulable: (pod.status?.conditions ?? []).some((condition) => condition.type === "PodScheduled" && condition.status === "False" && condition.reason === "Unschedulable"),
    priority: pod.spec?.priority,
    nominatedNodeName: pod.status?.nominatedNodeName || undefined,
    claimNames,
    ...interPodConstraintsOf(pod.spec),
  };
}

/** kube-scheduler's InterPodAffinity and PodTopologySpread filters: the hard rules only; preferences never fail a node. */
function interPodConstraintsOf(spec: V1PodSpec | undefined): Pick<PodInfo, "interPodConstraints"> {
  const constraints = [
    ...((spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0 ? ["required pod affinity"] : []),
    ...((spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0 ? ["required pod anti-affinity"] : []),
    ...((spec?.topologySpreadConstraints ?? []).some((constraint) => constraint.whenUnsatisfiable === "DoNotSchedule") ? ["topology spread (DoNotSchedule)"] : []),
  ];
  return constraints.length > 0 ? { interPodConstraints: constraints } : {};
}
