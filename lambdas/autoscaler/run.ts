import { Cluster, NodeInfo, Resources } from "../shared/cluster";
import { drainNode } from "../shared/drain";
import { errorMessage, Logger, metricLine } from "../shared/log";
import { AgentGroup } from "./aws";
import { AgentNode, decide, Decision, ScalerConfig } from "./decide";
import { DynamoLock, StateStore } from "./store";

export interface RunDeps {
  readonly cluster: () => Promise<Cluster>;
  readonly group: AgentGroup;
  readonly lock: DynamoLock;
  readonly store: StateStore;
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
  /** Allocatable of a new agent when no agent is running to measure. */
  readonly fallbackNodeTemplate: Resources;
  readonly config: Omit<ScalerConfig, "nodeTemplate">;
}

const instanceIdOf = (node: NodeInfo) => node.providerId?.split("/").pop() ?? "";

/** One scheduled run: lock, observe, decide, act, remember, report. Returns the decision, or undefined when skipped. */
export async function runAutoscaler(deps: RunDeps): Promise<Decision | undefined> {
  const { log } = deps;
  if (!(await deps.lock.acquire(deps.invocationId, deps.now(), deps.lockTtlMs))) {
    log("info", "skipped: another run holds the lock");
    return undefined;
  }
  try {
    const cluster = await deps.cluster();
    const [nodes, pods, budgets, group, state] = await Promise.all([cluster.listNodes(), cluster.listPods(), cluster.listDisruptionBudgets(), deps.group.describe(), deps.store.load()]);
    const groupInstances = new Set(group.instanceIds);
    const agents: AgentNode[] = nodes
      .filter((node) => groupInstances.has(instanceIdOf(node)))
      .map((node) => ({ ...node, instanceId: instanceIdOf(node), pods: pods.filter((pod) => pod.nodeName === node.name) }));
    const measured = agents.filter((node) => node.ready);
    const nodeTemplate = measured.length > 0 ? measured.reduce((largest, node) => (node.allocatable.cpuMillis > largest.cpuMillis ? node.allocatable : largest), measured[0].allocatable) : deps.fallbackNodeTemplate;

    const now = deps.now();
    const outcome = decide({ nodes: agents, pendingPods: pods.filter((pod) => pod.unschedulable && !pod.nodeName), budgets, group }, state, { ...deps.config, nodeTemplate }, now);
    let decision = outcome.decision;
    let underutilizedSince = outcome.underutilizedSince;
    log("info", "decision", { decision, agents: agents.length, groupDesired: group.desired });

    if (decision.action === "scale-up") {
      await deps.group.setDesired(decision.desired);
    } else if (decision.action === "scale-down") {
      const drain = await drainNode(cluster, decision.node, { deadline: deps.functionDeadline - 20_000, retryDelayMs: 5000, now: deps.now, sleep: deps.sleep, log });
      if (drain.completed) {
        await deps.group.terminate(decision.instanceId);
        const { [decision.node]: _removed, ...rest } = underutilizedSince;
        underutilizedSince = rest;
      } else {
        // Pods could not all move: give the node back to the scheduler rather than leave it cordoned.
        await cluster.uncordon(decision.node);
        decision = { action: "none", reason: `scale-down of ${decision.node} abandoned: ${drain.remaining.length} pod(s) could not be moved in time` };
      }
    }

    await deps.store.save({
      lastScaleUpAt: decision.action === "scale-up" ? now : state.lastScaleUpAt,
      lastScaleDownAt: decision.action === "scale-down" ? now : state.lastScaleDownAt,
      underutilizedSince,
    });
    await deps.store.recordDecision(decision, now, deps.invocationId);
    deps.metric(metricLine("K3sAutoscaler", { Cluster: deps.clusterName }, { ScaleUp: decision.action === "scale-up" ? decision.by : 0, ScaleDown: decision.action === "scale-down" ? 1 : 0, PendingPods: pods.filter((pod) => pod.unschedulable && !pod.nodeName).length }, now));
    if (decision.action !== "none") await deps.notify(`k3s autoscaler: ${decision.action}`, { cluster: deps.clusterName, ...decision });
    return decision;
  } catch (error) {
    log("error", "autoscaler run failed", { error: errorMessage(error) });
    await deps.notify("k3s autoscaler: run failed", { cluster: deps.clusterName, error: errorMessage(error) }).catch((notifyError) => log("error", "failure notification failed", { error: errorMessage(notifyError) }));
    throw error;
  } finally {
    await deps.lock.release(deps.invocationId).catch((error) => log("warn", "lock release failed; it expires on its own", { error: errorMessage(error) }));
  }
}
