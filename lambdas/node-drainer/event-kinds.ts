/**
 * The EventBridge events the node drainer acts on, defined once: modules/automation builds its rules' event patterns
 * from these and events.ts recognises events by them. No SDK or schema here: the construct imports it at synth.
 * Sources and detail types from the EC2 User Guide ("Spot Instance interruption notices", "EC2 instance rebalance
 * recommendations") and the EC2 Auto Scaling User Guide ("Amazon EC2 Auto Scaling event reference").
 */
export const DRAIN_EVENTS = {
  "spot-interruption": { source: "aws.ec2", detailType: "EC2 Spot Instance Interruption Warning" },
  "rebalance-recommendation": { source: "aws.ec2", detailType: "EC2 Instance Rebalance Recommendation" },
  "lifecycle-termination": { source: "aws.autoscaling", detailType: "EC2 Instance-terminate Lifecycle Action" },
} as const;

export type DrainEventKind = keyof typeof DRAIN_EVENTS;

/** The kind an event's source and detail type name, if the drainer acts on it. */
export function drainEventKind(source: string, detailType: string): DrainEventKind | undefined {
  return (Object.keys(DRAIN_EVENTS) as DrainEventKind[]).find((kind) => DRAIN_EVENTS[kind].source === source && DRAIN_EVENTS[kind].detailType === detailType);
}

/**
 * The event pattern of the rule that brings events of `kind` to the drain queue: exact values of source and detail type
 * and, for lifecycle actions, only the agents' group (which may be a Terraform reference at synth).
 */
export function drainEventPattern(kind: DrainEventKind, agentGroupName: string): Record<string, unknown> {
  const { source, detailType } = DRAIN_EVENTS[kind];
  const pattern = { source: [source], "detail-type": [detailType] };
  return kind === "lifecycle-termination" ? { ...pattern, detail: { AutoScalingGroupName: [agentGroupName] } } : pattern;
}
