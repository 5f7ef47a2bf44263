/**
 * What the autoscaler repairs before it decides: nodes an earlier run cordoned and never finished with, and agents
 * that stopped being Ready. Pure, like decide.ts: observed nodes, configuration and time in, actions out.
 */
import type { NodeInfo } from "../shared/cluster";
import { REBALANCE_CORDON_LIMIT_MS, REBALANCE_CORDON_MARK } from "../shared/node-marks";

/**
 * The autoscaler's own mark, set before it cordons a node to remove it (value: ISO time). Only a node carrying it is
 * ever uncordoned by recovery; a cordon without it is someone else's.
 */
export const SCALE_DOWN_MARK = "k3s-aws.autoscaler/scale-down";

/** cluster-autoscaler's --ok-total-unready-count and --max-total-unready-percentage defaults (FAQ.md). */
const OK_TOTAL_UNREADY_COUNT = 3;
const MAX_TOTAL_UNREADY_FRACTION = 0.45;

/**
 * Whether so many agents are unready that the cause is likely the servers, the network or every new agent, not one
 * agent: cluster-autoscaler then takes the cluster for unhealthy and stops acting (clusterstate.go IsClusterHealthy).
 * Undefined when not; otherwise why, for a reason, with `unready` saying what was counted.
 */
export function tooManyUnready(count: number, total: number, unready: string): string | undefined {
  if (count > OK_TOTAL_UNREADY_COUNT && count > MAX_TOTAL_UNREADY_FRACTION * total) {
    return `${count} of ${total} agents are ${unready}, more than ${OK_TOTAL_UNREADY_COUNT} and ${MAX_TOTAL_UNREADY_FRACTION * 100}%`;
  }
  return undefined;
}

export type RecoveryAction =
  /** Uncordon a node and remove `mark`: one a dead run left cordoned, or one a rebalance recommendation cordoned for too long. */
  | { readonly action: "release"; readonly node: string; readonly mark: string; readonly reason: string }
  /** Terminate an agent whose group launches another in its place. */
  | { readonly action: "replace"; readonly node: string; readonly instanceId: string; readonly reason: string };

export interface RecoveryPlan {
  readonly actions: RecoveryAction[];
  /** Why long-NotReady agents are left alone this run, when they are. */
  readonly held?: string;
}

/** An agent of the group as observed: nodes of instances already terminating are not in it. */
export type ObservedAgent = Pick<NodeInfo, "name" | "ready" | "unschedulable" | "annotations" | "notReadySinceMs"> & { readonly instanceId: string };

/**
 * Holding the run's lock means no other run is live (the lease outlasts the function's timeout), so every mark
 * found is a dead run's.
 */
export function planRecovery(agents: ObservedAgent[], config: { readonly notReadyReplaceAfterMs: number }, now: number): RecoveryPlan {
  const releases: RecoveryAction[] = agents
    .filter((agent) => agent.annotations?.[SCALE_DOWN_MARK] !== undefined)
    .map((agent) => ({ action: "release", node: agent.name, mark: SCALE_DOWN_MARK, reason: `${agent.name} was marked for scale-down at ${agent.annotations?.[SCALE_DOWN_MARK]} by a run that did not finish` }));
  // The agent is still in the group and not terminating (ObservedAgent): its replacement never came.
  for (const agent of agents) {
    const marked = agent.annotations?.[REBALANCE_CORDON_MARK] ?? "";
    // An unreadable time is NaN, which is never past the limit: such a mark is left alone.
    if (!(now - Date.parse(marked) >= REBALANCE_CORDON_LIMIT_MS)) continue;
    const reason = `${agent.name} was cordoned on a rebalance recommendation at ${marked}, and no replacement has taken its place in ${REBALANCE_CORDON_LIMIT_MS / 60000} min`;
    releases.push({ action: "release", node: agent.name, mark: REBALANCE_CORDON_MARK, reason });
  }

  // Like cluster-autoscaler's --scale-down-unready-time (default 20 min), but the group keeps its size: the agent is
  // broken, not unneeded.
  const stuck = agents.filter((agent) => !agent.ready && agent.notReadySinceMs !== undefined && now - agent.notReadySinceMs >= config.notReadyReplaceAfterMs);
  const unhealthy = tooManyUnready(agents.filter((agent) => !agent.ready).length, agents.length, "NotReady");
  if (stuck.length > 0 && unhealthy) return { actions: releases, held: `${unhealthy}; not replacing any while they are` };
  const replacements: RecoveryAction[] = stuck.map((agent) => ({
    action: "replace",
    node: agent.name,
    instanceId: agent.instanceId,
    reason: `${agent.name} has been NotReady for ${Math.floor((now - agent.notReadySinceMs!) / 60000)} min (limit ${config.notReadyReplaceAfterMs / 60000} min)`,
  }));
  return { actions: [...releases, ...replacements] };
}
