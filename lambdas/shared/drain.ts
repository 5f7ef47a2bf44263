import type { Cluster, PodInfo } from "./cluster";
import { EvictionError } from "./eviction-error";
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
  /** DaemonSet, mirror and finished pods, which a drain leaves alone, and pods terminating past their grace period. */
  readonly skipped: string[];
  /** Pods still refused, failing or terminating when the drain stopped. */
  readonly remaining: string[];
  /** Pods whose eviction was failing, other than by a disruption budget's refusal (429), when the drain stopped: the last error of each. */
  readonly evictionErrors: Record<string, string>;
  readonly completed: boolean;
}

const podKey = (pod: Pick<PodInfo, "namespace" | "name">) => `${pod.namespace}/${pod.name}`;

/** core/v1 default of spec.terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;
/** cluster-autoscaler utils/drain PodLongTerminatingExtraThreshold: slack past the grace period before a terminating pod is ignored. */
const LONG_TERMINATING_SLACK_MS = 30_000;

/**
 * A pod deleted longer ago than its grace period plus 30 s is treated as gone (cluster-autoscaler utils/drain
 * IsPodLongTerminating; kubectl's --skip-wait-for-delete-timeout does the same with a fixed time), so a kubelet that
 * never confirms the deletion (a dead node, a stuck finalizer) does not hold the node. The deletion timestamp already
 * lies a grace period after the request (ObjectMeta: "time at which this resource will be deleted"), so, as upstream,
 * this waits two grace periods and 30 s.
 */
export function isLongTerminating(pod: Pick<PodInfo, "deletionTimestampMs" | "terminationGracePeriodSeconds">, now: number): boolean {
  if (pod.deletionTimestampMs === undefined) return false;
  return pod.deletionTimestampMs + (pod.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000 + LONG_TERMINATING_SLACK_MS < now;
}

/** kubectl drain's filters: DaemonSet pods come back anyway, mirror pods belong to the kubelet, finished pods hold nothing. */
export function leftByDrain(pod: PodInfo): boolean {
  return pod.controllerKind === "DaemonSet" || pod.mirror || pod.phase === "Succeeded" || pod.phase === "Failed";
}

/** The eviction errors of a drain in one line, for a notification; undefined when there were none. */
export function evictionFailures(result: Pick<DrainResult, "evictionErrors">): string | undefined {
  const errors = Object.entries(result.evictionErrors).map(([pod, error]) => `${pod}: ${error}`);
  return errors.length > 0 ? `eviction failing for ${errors.join("; ")}` : undefined;
}

/**
 * The node's pods by key, or undefined when the list fails: a drain goes on without it (kubectl's drain ignores a
 * failed re-read and "let[s] eviction sort it out"), and the next round lists again.
 */
async function podsOn(cluster: Cluster, nodeName: string, log: Logger): Promise<Map<string, PodInfo> | undefined> {
  try {
    return new Map((await cluster.listPods(nodeName)).map((pod) => [podKey(pod), pod]));
  } catch (error) {
    log("warn", "listing the node's pods failed; the drain goes on and lists them again", { node: nodeName, error: errorMessage(error) });
    return undefined;
  }
}

/**
 * Cordons a node and evicts its pods through the eviction API, which honours PodDisruptionBudgets and grace periods,
 * then waits for them to leave. Pods already being deleted are waited for, not evicted, as kubectl drain waits for
 * them; pods terminating past their grace period are not (isLongTerminating). A refusal (429) and an error that may
 * pass (a 5xx: a pod under two budgets, a failing webhook; a lost connection) are retried until the deadline, as
 * cluster-autoscaler's evictor retries; a refused request (403, 422, ...) is not retried, as kubectl gives up on it.
 * One pod's failure never stops the others' evictions: kubectl evicts each pod on its own.
 * Safe to repeat: cordoning twice is a no-op and evicting a pod that is gone counts as done.
 */
export async function drainNode(cluster: Cluster, nodeName: string, options: DrainOptions): Promise<DrainResult> {
  const { log } = options;
  await cluster.cordon(nodeName);
  const pods = await cluster.listPods(nodeName);
  const started = options.now();
  const settled = (pod: PodInfo) => leftByDrain(pod) || isLongTerminating(pod, started);
  const skipped = pods.filter(settled).map(podKey);
  const movable = pods.filter((pod) => !settled(pod));
  const alreadyDeleting = movable.filter((pod) => pod.deleting).map(podKey);
  let pending = movable.filter((pod) => !pod.deleting);
  const evicted: string[] = [];
  /** Pods another hand deleted while the drain retried: waited for like the evicted ones. */
  const leaving: string[] = [];
  const givenUp: string[] = [];
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
        if (error instanceof EvictionError && !error.retryable) givenUp.push(podKey(pod));
        else failed.push(pod);
      }
    }
    pending = [...refused, ...failed];
    if (pending.length === 0) break;
    const left = { node: nodeName, refused: refused.map(podKey), ...(failed.length > 0 ? { failed: Object.fromEntries(failed.map((pod) => [podKey(pod), evictionErrors[podKey(pod)]])) } : {}) };
    if (options.now() + options.retryDelayMs >= options.deadline) {
      log("warn", "drain deadline reached with evictions still refused or failing", left);
      return { node: nodeName, evicted, alreadyDeleting, skipped, remaining: [...pending.map(podKey), ...givenUp], evictionErrors, completed: false };
    }
    log(failed.length > 0 ? "warn" : "info", "evictions refused by disruption budgets or failed; retrying", left);
    await options.sleep(options.retryDelayMs);
    // As kubectl re-reads each pod before it asks again: one gone needs no eviction, and one someone else deleted is
    // waited for (a namespace being deleted refuses every eviction in it with 403 while its pods go).
    const current = await podsOn(cluster, nodeName, log);
    if (!current) continue;
    const stillRunning: PodInfo[] = [];
    for (const pod of pending) {
      const now = current.get(podKey(pod));
      if (now && !now.deleting) {
        stillRunning.push(pod);
        continue;
      }
      delete evictionErrors[podKey(pod)];
      if (now) leaving.push(podKey(pod));
      else evicted.push(podKey(pod));
    }
    pending = stillRunning;
  }

  // Accepted evictions still run the pods' grace periods; wait for them, and for those already leaving, while time allows.
  let terminating = [...alreadyDeleting, ...leaving, ...evicted];
  while (terminating.length > 0 && options.now() + options.retryDelayMs < options.deadline) {
    await options.sleep(options.retryDelayMs);
    const now = options.now();
    const onNode = await podsOn(cluster, nodeName, log);
    if (!onNode) continue;
    terminating = terminating.filter((key) => {
      const pod = onNode.get(key);
      return pod !== undefined && !isLongTerminating(pod, now);
    });
  }
  if (terminating.length > 0) log("warn", "drain deadline reached with pods still terminating", { node: nodeName, terminating });
  const remaining = [...terminating, ...givenUp];
  return { node: nodeName, evicted, alreadyDeleting, skipped, remaining, evictionErrors, completed: remaining.length === 0 };
}
