import { Cluster, DaemonSetInfo, NodeInfo, PodInfo } from "../shared/cluster";
import { drainNode, evictionFailures } from "../shared/drain";
import { errorMessage, Logger, metricLine } from "../shared/log";
import { RecoveryNotification, RunFailedNotification, ScaleNotification, scaleSubject, SUBJECTS } from "../shared/notifications";
import { AUTOSCALER_METRIC_DIMENSION, AUTOSCALER_METRIC_NAMESPACE, AutoscalerMetricName } from "./metrics";
import { AgentGroup } from "./aws";
import { AgentNode, decide, Decision, ScalerConfig } from "./decide";
import { AgentInstance, nodeTemplate } from "./node-template";
import { planRecovery, RecoveryAction, SCALE_DOWN_MARK } from "./recovery";
import type { RunLock, ScalerStateStore } from "./store";

export interface RunDeps {
  readonly cluster: () => Promise<Cluster>;
  readonly group: AgentGroup;
  /** DynamoLock in the Lambda; any lease with the same guarantee elsewhere (the simulator keeps one in memory). */
  readonly lock: RunLock;
  readonly store: ScalerStateStore;
  readonly notify: (subject: string, message: Record<string, unknown>) => Promise<void>;
  readonly log: Logger;
  /** Writes one embedded-metric-format line. */
  readonly metric: (line: string) => void;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Unique per invocation: the lock's owner. */
  readonly invocationId: string;
  /** Epoch milliseconds at which the function times out. */
  readonly functionDeadline: number;
  readonly lockTtlMs: number;
  readonly clusterName: string;
  /** The agents' instance, from which a new agent is derived when no agent runs to measure. */
  readonly agentInstance: AgentInstance;
  readonly config: Omit<ScalerConfig, "nodeTemplate">;
  /** How long an agent may stay NotReady before it is replaced. */
  readonly notReadyReplaceAfterMs: number;
}

/** Time a drain leaves before the function's deadline, to uncordon and report a node it could not empty. */
export const DRAIN_DEADLINE_RESERVE_MS = 20_000;

const instanceIdOf = (node: NodeInfo) => node.providerId?.split("/").pop() ?? "";
/** Pods a fresh agent runs too: DaemonSet and static (mirror) pods, not those on their way out (podsExpectedOnFreshNode). */
const runsOnEveryAgent = (pod: PodInfo) => (pod.controllerKind === "DaemonSet" || pod.mirror) && !pod.deleting && pod.phase !== "Succeeded" && pod.phase !== "Failed";

/**
 * A new agent: measured from the largest Ready, schedulable agent with the DaemonSet pods it runs (cluster-autoscaler
 * builds its template from a live node of the group the same way), or derived from the instance type with one pod of
 * every DaemonSet seen in the cluster, the template keeping those that would run on it.
 */
function newAgent(agents: AgentNode[], daemonSets: DaemonSetInfo[], instance: AgentInstance) {
  const live = agents
    .filter((node) => node.ready && !node.unschedulable)
    .sort((a, b) => b.allocatable.cpuMillis - a.allocatable.cpuMillis || b.allocatable.memoryBytes - a.allocatable.memoryBytes)[0];
  if (live) return nodeTemplate({ liveAgent: live, instance, daemonSetPods: live.pods.filter(runsOnEveryAgent) });
  return nodeTemplate({ instance, daemonSetPods: daemonSets.map((daemonSet) => daemonSet.pod) });
}

/** One scheduled run: lock, observe, decide, act, remember, report. Returns the decision, or undefined when skipped. */
export async function runAutoscaler(deps: RunDeps): Promise<Decision | undefined> {
  const { log } = deps;
  if (!(await deps.lock.acquire(deps.invocationId, deps.now(), deps.lockTtlMs))) {
    log("info", "skipped: another run holds the lock");
    return undefined;
  }
  try {
    const cluster = await deps.cluster();
    const [nodes, pods, budgets, claims, daemonSets, group, state] = await Promise.all([
      cluster.listNodes(),
      cluster.listPods(),
      cluster.listDisruptionBudgets(),
      cluster.listPersistentVolumeClaims(),
      cluster.listDaemonSets(),
      deps.group.describe(),
      deps.store.load(),
    ]);
    const groupInstances = new Set(group.instanceIds);
    const now = deps.now();
    const inGroup = nodes.filter((node) => groupInstances.has(instanceIdOf(node))).map((node) => ({ ...node, instanceId: instanceIdOf(node) }));

    const recovery = planRecovery(inGroup, { notReadyReplaceAfterMs: deps.notReadyReplaceAfterMs }, now);
    if (recovery.held) log("warn", "agent replacement held", { reason: recovery.held });
    const recovered = await recover(cluster, deps, recovery.actions);
    const replaced = new Set(recovered.filter((action) => action.action === "replace").map((action) => action.node));

    // A released node still counts as cordoned in this run's view, so its underutilization window starts again
    // before another attempt; a replaced one is leaving, and its replacement counts as launching.
    const agents: AgentNode[] = inGroup.filter((node) => !replaced.has(node.name)).map((node) => ({ ...node, pods: pods.filter((pod) => pod.nodeName === node.name) }));
    const pendingPods = pods.filter((pod) => !pod.nodeName && pod.phase === "Pending");
    // A pod whose Immediate claim is not Bound waits for its volume, not for a node: the scheduler's VolumeBinding
    // fails it on every node. A WaitForFirstConsumer claim binds only once its pod has a node (an EBS gp3 class, say),
    // so its pod is real demand; treating it as waiting would never scale for it.
    const boundClaims = new Set(claims.filter((claim) => claim.bound || claim.waitsForFirstConsumer).map((claim) => `${claim.namespace}/${claim.name}`));

    const outcome = decide(
      { nodes: agents, pendingPods, budgets, group, nodeNames: new Set(nodes.map((node) => node.name)), boundClaims },
      state,
      { ...deps.config, nodeTemplate: newAgent(agents, daemonSets, deps.agentInstance) },
      now,
    );
    let decision = outcome.decision;
    let underutilizedSince = outcome.underutilizedSince;
    log("info", "decision", { decision, agents: agents.length, groupDesired: group.desired, unplaceable: outcome.unplaceable, ignored: outcome.ignored });

    if (decision.action === "scale-up") {
      await deps.group.setDesired(decision.desired);
    } else if (decision.action === "scale-down") {
      // Removed or not, the node leaves the tracking: a drain that did not finish restarts the node's window, so it
      // is tried again after another full window, not every minute, and no node is tried for the next few minutes
      // (decide.ts SCALE_DOWN_DELAY_AFTER_FAILURE_MS, cluster-autoscaler's --scale-down-delay-after-failure).
      const { [decision.node]: _attempted, ...rest } = underutilizedSince;
      underutilizedSince = rest;
      try {
        decision = await removeNode(cluster, decision, deps, now);
      } catch (error) {
        await deps.store.save({ ...state, lastScaleDownFailureAt: now, underutilizedSince }).catch((saveError) => log("error", "state not saved after a failed drain", { error: errorMessage(saveError) }));
        throw error;
      }
    }

    const scaleDownFailed = outcome.decision.action === "scale-down" && decision.action !== "scale-down";
    await deps.store.save({
      lastScaleUpAt: decision.action === "scale-up" ? now : state.lastScaleUpAt,
      lastScaleDownFailureAt: scaleDownFailed ? now : state.lastScaleDownFailureAt,
      underutilizedSince,
    });
    await deps.store.recordDecision(decision, now, deps.invocationId);
    const count = (kind: RecoveryAction["action"]) => recovered.filter((action) => action.action === kind).length;
    const counts: Record<AutoscalerMetricName, number> = {
      ScaleUp: decision.action === "scale-up" ? decision.by : 0,
      ScaleDown: decision.action === "scale-down" ? 1 : 0,
      PendingPods: pendingPods.filter((pod) => pod.unschedulable).length,
      UnplaceablePods: outcome.unplaceable.length,
      ReleasedNodes: count("release"),
      ReplacedNodes: count("replace"),
      ScalingHeld: outcome.held ? 1 : 0,
    };
    deps.metric(metricLine(AUTOSCALER_METRIC_NAMESPACE, { [AUTOSCALER_METRIC_DIMENSION]: deps.clusterName }, counts, now));
    if (decision.action !== "none") {
      const notification: ScaleNotification = { cluster: deps.clusterName, previousDesired: group.desired, ...decision };
      await deps.notify(scaleSubject(decision.action), { ...notification });
    }
    return decision;
  } catch (error) {
    log("error", "autoscaler run failed", { error: errorMessage(error) });
    const notification: RunFailedNotification = { cluster: deps.clusterName, error: errorMessage(error) };
    await deps.notify(SUBJECTS.runFailed, { ...notification }).catch((notifyError) => log("error", "failure notification failed", { error: errorMessage(notifyError) }));
    throw error;
  } finally {
    await deps.lock.release(deps.invocationId).catch((error) => log("warn", "lock release failed; it expires on its own", { error: errorMessage(error) }));
  }
}

/**
 * Marks, drains and terminates. Any way out short of termination (deadline, refused or failing evictions, an API error) gives
 * the node back to the scheduler and removes the mark; an error still propagates afterwards. A terminated node keeps
 * its cordon and mark: its instance is terminating, so no later run counts it as an agent.
 */
async function removeNode(cluster: Cluster, decision: Extract<Decision, { action: "scale-down" }>, deps: RunDeps, now: number): Promise<Decision> {
  // Marked before the cordon, so a run that dies in between leaves a mark and never an anonymous cordon.
  await cluster.annotateNode(decision.node, { [SCALE_DOWN_MARK]: new Date(now).toISOString() });
  let terminated = false;
  try {
    const drain = await drainNode(cluster, decision.node, { deadline: deps.functionDeadline - DRAIN_DEADLINE_RESERVE_MS, retryDelayMs: 5000, now: deps.now, sleep: deps.sleep, log: deps.log });
    const failures = evictionFailures(drain);
    // An eviction error is the run's failure, so it is notified and counted (Errors alarm) like any other.
    if (failures) throw new Error(`scale-down of ${decision.node} failed: ${failures}`);
    if (!drain.completed) return { action: "none", reason: `scale-down of ${decision.node} abandoned: ${drain.remaining.length} pod(s) could not be moved in time` };
    await deps.group.terminate(decision.instanceId);
    terminated = true;
    return decision;
  } finally {
    if (!terminated) await release(cluster, decision.node, SCALE_DOWN_MARK, deps.log);
  }
}

/** Uncordons a node and removes its mark; a failure is logged, not thrown over the error that led here, and the mark stays for the next run's recovery. */
async function release(cluster: Cluster, nodeName: string, mark: string, log: Logger): Promise<boolean> {
  try {
    await cluster.uncordon(nodeName);
    await cluster.annotateNode(nodeName, { [mark]: null });
    return true;
  } catch (error) {
    log("error", "could not uncordon a marked node; the next run retries", { node: nodeName, mark, error: errorMessage(error) });
    return false;
  }
}

/**
 * Carries out the recovery plan. Each action stands alone: one that fails is logged and reported, and neither stops
 * the others nor this run's scaling. Returns the actions that were done.
 */
async function recover(cluster: Cluster, deps: RunDeps, actions: RecoveryAction[]): Promise<RecoveryAction[]> {
  const done: RecoveryAction[] = [];
  const failed: (RecoveryAction & { error: string })[] = [];
  for (const action of actions) {
    if (action.action === "release") {
      if (await release(cluster, action.node, action.mark, deps.log)) done.push(action);
      else failed.push({ ...action, error: "uncordon failed" });
      continue;
    }
    try {
      await deps.group.replace(action.instanceId);
      done.push(action);
    } catch (error) {
      deps.log("error", "agent replacement failed", { ...action, error: errorMessage(error) });
      failed.push({ ...action, error: errorMessage(error) });
    }
  }
  for (const action of done) deps.log("info", "recovery", { ...action });
  if (done.length + failed.length > 0) {
    const notification: RecoveryNotification = { cluster: deps.clusterName, done, failed };
    await deps.notify(SUBJECTS.recovery, { ...notification });
  }
  return done;
}
