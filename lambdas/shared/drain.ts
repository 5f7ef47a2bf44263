import { Cluster, PodInfo } from "./cluster";
import { Logger } from "./log";

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
  /** DaemonSet, mirror and finished pods, which a drain leaves alone. */
  readonly skipped: string[];
  /** Pods still refused or still terminating at the deadline. */
  readonly remaining: string[];
  readonly completed: boolean;
}

const podKey = (pod: Pick<PodInfo, "namespace" | "name">) => `${pod.namespace}/${pod.name}`;

/** kubectl drain's filters: DaemonSet pods come back anyway, mirror pods belong to the kubelet, finished pods hold nothing. */
export function leftByDrain(pod: PodInfo): boolean {
  return pod.controllerKind === "DaemonSet" || pod.mirror || pod.phase === "Succeeded" || pod.phase === "Failed";
}

/**
 * Cordons a node and evicts its pods through the eviction API, which honours PodDisruptionBudgets and grace periods;
 * evictions refused with 429 are retried until the deadline, then it waits for the evicted pods to leave.
 * Safe to repeat: cordoning twice is a no-op and evicting a pod that is gone counts as done.
 */
export async function drainNode(cluster: Cluster, nodeName: string, options: DrainOptions): Promise<DrainResult> {
  const { log } = options;
  await cluster.cordon(nodeName);
  const pods = await cluster.listPods(nodeName);
  const skipped = pods.filter(leftByDrain).map(podKey);
  let pending = pods.filter((pod) => !leftByDrain(pod) && !pod.deleting);
  const evicted: string[] = [];

  while (pending.length > 0) {
    const refused: PodInfo[] = [];
    for (const pod of pending) {
      const outcome = await cluster.evict(pod);
      if (outcome === "blocked") refused.push(pod);
      else evicted.push(podKey(pod));
    }
    pending = refused;
    if (pending.length === 0) break;
    if (options.now() + options.retryDelayMs >= options.deadline) {
      log("warn", "drain deadline reached with evictions still refused by disruption budgets", { node: nodeName, refused: pending.map(podKey) });
      return { node: nodeName, evicted, skipped, remaining: pending.map(podKey), completed: false };
    }
    log("info", "evictions refused by disruption budgets; retrying", { node: nodeName, refused: pending.map(podKey) });
    await options.sleep(options.retryDelayMs);
  }

  // Accepted evictions still run the pods' grace periods; wait for them to leave while time allows.
  const leaving = new Set(evicted);
  let remaining = [...leaving];
  while (remaining.length > 0 && options.now() + options.retryDelayMs < options.deadline) {
    await options.sleep(options.retryDelayMs);
    const onNode = new Set((await cluster.listPods(nodeName)).map(podKey));
    remaining = remaining.filter((key) => onNode.has(key));
  }
  const completed = remaining.length === 0;
  if (!completed) log("warn", "drain deadline reached with pods still terminating", { node: nodeName, terminating: remaining });
  return { node: nodeName, evicted, skipped, remaining, completed };
}
