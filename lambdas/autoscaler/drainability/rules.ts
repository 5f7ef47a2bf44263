/**
 * cluster-autoscaler's drainability rules, one function each, named after the rule in
 * kubernetes/autoscaler cluster-autoscaler/simulator/drainability/rules/<rule>/rule.go. A rule returns its verdict,
 * or undefined when it has no opinion and the next rule decides (drainability.UndefinedOutcome).
 */
import type { DisruptionBudget, PodInfo } from "../../shared/cluster";
import { isLongTerminating } from "../../shared/drain";
import { matchesLabelSelector } from "../../shared/selectors";

export type DrainOutcome =
  /** Nothing to do: the pod neither needs room elsewhere nor holds the node. */
  | "skip"
  /** Evicted on drain and must fit on another node. */
  | "move"
  /** Keeps the node. */
  | "block";

export interface DrainDecision {
  readonly outcome: DrainOutcome;
  readonly reason: string;
}

export interface DrainContext {
  readonly budgets: DisruptionBudget[];
  /** Epoch milliseconds the pods were observed at. */
  readonly now: number;
  /**
   * Controller kinds trusted to recreate an evicted pod elsewhere; pods of any other controller block, as with
   * cluster-autoscaler's --skip-nodes-with-custom-controller-pods (default true).
   * @default REPLICATED_KINDS
   */
  readonly knownControllerKinds?: readonly string[];
}

export type DrainRule = (pod: PodInfo, context: DrainContext) => DrainDecision | undefined;

export const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
export const SAFE_TO_EVICT_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
/** rules/replicated: the kinds cluster-autoscaler counts as replicated (DaemonSet pods are settled earlier). */
export const REPLICATED_KINDS: readonly string[] = ["ReplicaSet", "ReplicationController", "StatefulSet", "Job"];
const podName = (pod: PodInfo) => `${pod.namespace}/${pod.name}`;
const block = (reason: string): DrainDecision => ({ outcome: "block", reason });
const skip = (reason: string): DrainDecision => ({ outcome: "skip", reason });

/** rules/mirror: static pods belong to the kubelet, not the API; there is nothing to evict. */
export const mirror: DrainRule = (pod) => (pod.mirror ? skip(`${podName(pod)} is a mirror pod`) : undefined);

/** rules/longterminating: the drain's own rule (isLongTerminating), so the choice of a node and its drain agree. */
export const longTerminating: DrainRule = (pod, { now }) =>
  isLongTerminating(pod, now) ? skip(`${podName(pod)} has been terminating for ${Math.floor((now - pod.deletionTimestampMs!) / 1000)} s, past its grace period`) : undefined;

/** rules/daemonset: the DaemonSet runs a copy on every node, so the pod needs no room elsewhere. */
export const daemonSet: DrainRule = (pod) => (pod.controllerKind === "DaemonSet" ? skip(`${podName(pod)} belongs to a DaemonSet`) : undefined);

/**
 * rules/terminal: a finished pod holds nothing. cluster-autoscaler calls it drainable; here it is skipped, because it
 * is never recreated and so needs no room on another node.
 */
export const terminal: DrainRule = (pod) => (pod.phase === "Succeeded" || pod.phase === "Failed" ? skip(`${podName(pod)} has finished (${pod.phase})`) : undefined);

/** rules/safetoevict: the owner's explicit consent overrides the controller, kube-system and local-storage checks. */
export const safeToEvict: DrainRule = (pod) => (pod.annotations?.[SAFE_TO_EVICT] === "true" ? { outcome: "move", reason: `${podName(pod)} is annotated ${SAFE_TO_EVICT}: "true"` } : undefined);

/** rules/replicated: nothing recreates a pod without a controller, or with one cluster-autoscaler does not know. */
export const replicated: DrainRule = (pod, { knownControllerKinds = REPLICATED_KINDS }) => {
  if (!pod.controllerKind) return block(`${podName(pod)} has no controller to recreate it`);
  if (!knownControllerKinds.includes(pod.controllerKind)) return block(`${podName(pod)} is owned by a ${pod.controllerKind}, not a controller known to recreate it (${knownControllerKinds.join(", ")})`);
  return undefined;
};

const coveringBudgets = (pod: PodInfo, budgets: DisruptionBudget[]) => budgets.filter((budget) => budget.namespace === pod.namespace && matchesLabelSelector(pod.labels, budget.selector));
const budgetName = (budget: DisruptionBudget) => `${budget.namespace}/${budget.name ?? "(unnamed)"}`;

/** rules/system (--skip-nodes-with-system-pods, default true): a kube-system pod may move only under a PodDisruptionBudget. */
export const system: DrainRule = (pod, { budgets }) =>
  pod.namespace === "kube-system" && coveringBudgets(pod, budgets).length === 0 ? block(`${podName(pod)} is a kube-system pod without a PodDisruptionBudget`) : undefined;

/** rules/notsafetoevict. */
export const notSafeToEvict: DrainRule = (pod) => (pod.annotations?.[SAFE_TO_EVICT] === "false" ? block(`${podName(pod)} is annotated ${SAFE_TO_EVICT}: "false"`) : undefined);

/**
 * rules/localstorage (--skip-nodes-with-local-storage, default true): hostPath and on-disk emptyDir data dies with the
 * node, unless the pod lists the volume in safe-to-evict-local-volumes (comma-separated names, utils/drain
 * HasBlockingLocalStorage).
 */
export const localStorage: DrainRule = (pod) => {
  const disposable = new Set((pod.annotations?.[SAFE_TO_EVICT_LOCAL_VOLUMES] ?? "").split(","));
  const kept = (pod.localVolumeNames ?? []).filter((volume) => !disposable.has(volume));
  return kept.length > 0 ? block(`${podName(pod)} has local storage (${kept.join(", ")}) not listed in ${SAFE_TO_EVICT_LOCAL_VOLUMES}`) : undefined;
};

/**
 * rules/pdb: every PodDisruptionBudget covering the pod must allow a disruption. A pod covered by more than one is
 * refused by the eviction API itself (500; https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/),
 * so it blocks too.
 */
export const disruptionBudgets: DrainRule = (pod, { budgets }) => {
  const covering = coveringBudgets(pod, budgets);
  const exhausted = covering.find((budget) => budget.disruptionsAllowed < 1);
  if (exhausted) return block(`${podName(pod)} is covered by PodDisruptionBudget ${budgetName(exhausted)}, which allows no disruption`);
  if (covering.length > 1) return block(`${podName(pod)} is covered by ${covering.length} PodDisruptionBudgets (${covering.map(budgetName).join(", ")}), which the eviction API refuses`);
  return undefined;
};
