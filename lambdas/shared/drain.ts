import { Cluster, PodInfo } from "./cluster";
import { errorMessage, Logger } from "./log";

export interface DrainOptions {
  /** Epoch milliseconds by which the drain gives up; shorter than the spot warning or the lifecycle heartbeat. */
  readonly deadline: number;
  /** Pause between retries of evictions a PodDisruptionBudget refused, and between checks that pods are gone. */
  readonly retryDelayMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Logger;
}

export interface DrainResult {
  readonly node: string;
  /** Pods whose eviction the API accepted (or that were already gone). */
  readonly evicted: string[];
  /** Pods already being deleted when the drain began: not evicted again, but waited for like the evicted ones. */
  readonly alreadyDeleting: string[];
  /** DaemonSet, mirror and finished pods, which a drain leaves alone. */
  readonly skipped: string[];
  /** Pods still refused, still failing or still terminating at the deadline. */
  readonly remaining: string[];
  /** Pods whose eviction was still failing, other than by a disruption budget's refusal (429), when the drain stopped: the last error of each. */
  readonly evictionErrors: Record<string, string>;
  readonly completed: boolean;
}

const podKey = (pod: Pick<PodInfo, "namespace" | "name">) => `${pod.namespace}/${pod.name}`;

/** kubectl drain's filters: DaemonSet pods come back anyway, mirror pods belong to the kubelet, finished pods hold nothing. */
export function leftByDrain(pod: PodInfo): boolean {
  return pod.controllerKind === "DaemonSet" || pod.mirror || pod.phase === "Succeeded" || pod.phase === "Failed";
}

/**
 * Cordons a node and evicts its pods through the eviction API, which honours PodDisruptionBudgets and grace periods;
 * evictions refused (429) or failed are retried until the deadline, then it waits for the pods to leave. Pods
 * already being deleted are waited for, not evicted: kubectl drain waits for them too (drain/filters.go skips one
 * only past --skip-wait-for-delete-timeout, off by default). One pod's failing eviction (a 500 for a pod under two
 * budgets, a webhook's error) does not stop the others', as kubectl evicts each pod on its own; like
 * cluster-autoscaler's evictor, it is retried until the deadline, as the error may pass.
 * Safe to repeat: cordoning twice is a no-op and evicting a pod that is gone counts as done.
 */
export async function drainNode(cluster: Cluster, nodeName: string, options: DrainOptions): Promise<DrainResult> {
  const { log } = options;
  await cluster.cordon(nodeName);
  const pods = await cluster.listPods(nodeName);
  const skipped = pods.filter(leftByDrain).map(podKey);
  const movable = pods.filter((pod) => !leftByDrain(pod));
  const alreadyDeleting = movable.filter((pod) => pod.deleting).map(podKey);
  let pending = movable.filter((pod) => !pod.deleting);
  const evicted: string[] = [];
  const evictionErrors: Record<string, string> = {};

  while (pending.length > 0) {
    const refused: PodInfo[] = [];
    const failed: PodInfo[] = [];
    for (const pod of pending) {
      try {
        const outcome = await cluster.evict(pod);
        if (outcome === "blocked") refused.push(pod);
        else evicted.push(podKey(pod));
        delete evictionErrors[podKey(pod)];
      } catch (error) {
        evictionErrors[podKey(pod)] = errorMessage(error);
        failed.push(pod);
      }
    }
    pending = [...refused, ...failed];
    if (pending.length === 0) break;
    const left = { node: nodeName, refused: refused.map(podKey), ...(failed.length > 0 ? { failed: Object.fromEntries(failed.map((pod) => [podKey(pod), evictionErrors[podKey(pod)]])) } : {}) };
    if (options.now() + options.retryDelayMs >= options.deadline) {
      log("warn", "drain deadline reached with evictions still refused or failing", left);
      return { node: nodeName, evicted, alreadyDeleting, skipped, remaining: pending.map(podKey), evictionErrors, completed: false };
    }
    log(failed.length > 0 ? "warn" : "info", "evictions refused by disruption budgets or failed; retrying", left);
    await options.sleep(options.retryDelayMs);
  }

  // Accepted evictions still run the pods' grace periods; wait for them, and for those already leaving, while time allows.
  let remaining = [...alreadyDeleting, ...evicted];
  while (remaining.length > 0 && options.now() + options.retryDelayMs < options.deadline) {
    await options.sleep(options.retryDelayMs);
    const onNode = new Set((await cluster.listPods(nodeName)).map(podKey));
    remaining = remaining.filter((key) => onNode.has(key));
  }
  const completed = remaining.length === 0;
  if (!completed) log("warn", "drain deadline reached with pods still terminating", { node: nodeName, terminating: remaining });
  return { node: nodeName, evicted, alreadyDeleting, skipped, remaining, evictionErrors, completed };
}
