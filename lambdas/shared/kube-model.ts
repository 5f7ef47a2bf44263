/**
 * The scheduling-relevant parts of Kubernetes objects, as plain data: what the adapters (cluster.ts) read from the
 * API and what the pure decision code (autoscaler) reasons about. Field semantics follow the Kubernetes API
 * (core/v1 Pod, Node; policy/v1 PodDisruptionBudget; meta/v1 LabelSelector). Optional fields mean "none".
 */

export interface Resources {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
}

/** meta/v1 LabelSelectorRequirement. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  readonly values?: string[];
}

/**
 * meta/v1 LabelSelector. An empty selector ({}) selects everything in scope; policy/v1 PodDisruptionBudget reads an
 * empty selector as every pod of its namespace, and a missing (null) one as none.
 */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: LabelSelectorRequirement[];
}

/** core/v1 NodeSelectorRequirement (Gt and Lt compare integers). */
export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  readonly values?: string[];
}

/** core/v1 NodeSelectorTerm: its requirements are ANDed; a pod's terms are ORed. */
export interface NodeSelectorTerm {
  readonly matchExpressions?: NodeSelectorRequirement[];
  readonly matchFields?: NodeSelectorRequirement[];
}

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: TaintEffect;
}

/** core/v1 Toleration: an empty key with Exists tolerates everything; an empty effect matches every effect. */
export interface Toleration {
  readonly key?: string;
  readonly operator?: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: TaintEffect;
}

/** A container port bound on the node (hostPort), which two pods on one node cannot share. */
export interface HostPort {
  readonly port: number;
  readonly protocol: "TCP" | "UDP" | "SCTP";
  /** Empty or "0.0.0.0" means every address. */
  readonly hostIP?: string;
}

/** What the scheduler needs to place a pod (kube-scheduler's default filter plugins). */
export interface PodSchedulingSpec {
  /**
   * Effective requests: max(sum of regular containers + sum of native sidecars (restartPolicy Always init
   * containers), each ordinary init container plus the sidecars started before it) + pod overhead.
   */
  readonly requests: Resources;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** requiredDuringSchedulingIgnoredDuringExecution terms, ORed; absent means no requirement. */
  readonly requiredNodeAffinity?: NodeSelectorTerm[];
  readonly tolerations?: Toleration[];
  readonly hostPorts?: HostPort[];
}

export interface NodeSchedulingSpec {
  readonly labels: Readonly<Record<string, string>>;
  readonly taints?: Taint[];
  readonly allocatable: Resources;
  /** status.allocatable.pods; k3s's kubelet default is 110. */
  readonly podCapacity: number;
}
