/**
 * The autoscaler's CloudWatch metrics: the run loop writes them as embedded-metric-format lines (run.ts), and the
 * cluster dashboard (modules/monitoring) graphs them. One owner, so a renamed metric cannot leave an empty graph.
 */

/** Custom namespace of the autoscaler's metrics. */
export const AUTOSCALER_METRIC_NAMESPACE = "K3sAutoscaler";

/** The one dimension every autoscaler metric carries; its value is the cluster name. */
export const AUTOSCALER_METRIC_DIMENSION = "Cluster";

/** Counts each run publishes, in the order the dashboard lists them. */
export const AUTOSCALER_METRIC_NAMES = ["ScaleUp", "ScaleDown", "PendingPods", "UnplaceablePods", "ReleasedNodes", "ReplacedNodes", "ScalingHeld"] as const;

export type AutoscalerMetricName = (typeof AUTOSCALER_METRIC_NAMES)[number];

/**
 * The statistic that reads each metric right over a period of several passes (poll.ts runs six a minute by default):
 * actions add up, so their Sum; a pod pending is counted again by every pass that sees it, so the pods pending are
 * the Maximum of one pass.
 */
export const AUTOSCALER_METRIC_STATISTICS: Record<AutoscalerMetricName, "Sum" | "Maximum"> = {
  ScaleUp: "Sum",
  ScaleDown: "Sum",
  PendingPods: "Maximum",
  UnplaceablePods: "Maximum",
  ReleasedNodes: "Sum",
  ReplacedNodes: "Sum",
  // 1 for a pass that too many unready agents kept from scaling (decide.ts unhealthyAgents), 0 otherwise.
  ScalingHeld: "Maximum",
};
