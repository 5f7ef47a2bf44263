/**
 * The node drainer's mark (value: ISO time) on an agent it cordoned for a rebalance recommendation. Capacity
 * rebalancing then launches a replacement and terminates the agent through the lifecycle hook, which drains it; but
 * the group may launch none (at its maximum, or with no better Spot pool: "at or near maximum capacity could impede
 * or completely halt rebalancing", EC2 Auto Scaling User Guide, "Capacity Rebalancing"), and the cordon would then
 * keep the agent's room from the scheduler for good. The autoscaler's recovery uncordons an agent still carrying it
 * REBALANCE_CORDON_LIMIT_MS after; a cordon without it is someone else's.
 */
export const REBALANCE_CORDON_MARK = "k3s-aws.node-drainer/rebalance-cordon";

/** Time for the replacement to launch, bootstrap and pass its health checks, and for the agent's drain to begin. */
export const REBALANCE_CORDON_LIMIT_MS = 30 * 60_000;
