/** What the comparison reports per policy and trace, computed from a run's raw record. Pure, so tests work it by hand. */

export interface PriceTable {
  readonly date: string;
  readonly instanceTypes: Readonly<Record<string, { readonly onDemand: number; readonly spot: number }>>;
}

export interface InstanceRecord {
  readonly lifecycle: "on-demand" | "spot";
  readonly instanceType: string;
  readonly launchedAt: number;
  /** When its node became Ready. */
  readonly readyAt?: number;
  readonly terminatedAt?: number;
}

export interface RunRecord {
  readonly start: number;
  readonly end: number;
  /** Integral of the number of pending placeable pods over time, in ms. */
  readonly pendingPodMs: number;
  /** Integral of the number of the trace's pods running over time, in ms: the work done, against which node-hours read. */
  readonly runningPodMs: number;
  /** Pending to running of each start of a placeable pod, plus the wait so far of those still pending at the end. */
  readonly startLatenciesMs: number[];
  readonly instances: InstanceRecord[];
  readonly evictions: number;
  readonly scaleActions: number;
}

export interface Summary {
  readonly pendingPodMinutes: number;
  readonly p50Minutes: number;
  readonly p95Minutes: number;
  readonly maxMinutes: number;
  readonly nodeHours: number;
  /** Pod-hours of the trace's pods that ran: a policy that leaves pods pending spends fewer node-hours on less work. */
  readonly podHours: number;
  readonly costUsd: number;
  readonly evictions: number;
  readonly scaleActions: number;
}

/** Nearest-rank percentile: the smallest value with at least p of the values at or below it; 0 for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** EC2 bills Linux instances per second with a 60-second minimum (aws.amazon.com/ec2/pricing/on-demand/). */
const MIN_BILLED_MS = 60_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

export function summarize(record: RunRecord, prices: PriceTable): Summary {
  let nodeMs = 0;
  let cost = 0;
  for (const instance of record.instances) {
    const lived = Math.max(0, Math.min(record.end, instance.terminatedAt ?? record.end) - instance.launchedAt);
    nodeMs += lived;
    const price = prices.instanceTypes[instance.instanceType];
    if (!price) throw new Error(`no price for instance type ${instance.instanceType} in the price table of ${prices.date}`);
    cost += (Math.max(lived, MIN_BILLED_MS) / HOUR) * (instance.lifecycle === "spot" ? price.spot : price.onDemand);
  }
  return {
    pendingPodMinutes: record.pendingPodMs / MINUTE,
    p50Minutes: percentile(record.startLatenciesMs, 0.5) / MINUTE,
    p95Minutes: percentile(record.startLatenciesMs, 0.95) / MINUTE,
    maxMinutes: Math.max(0, ...record.startLatenciesMs) / MINUTE,
    nodeHours: nodeMs / HOUR,
    podHours: record.runningPodMs / HOUR,
    costUsd: cost,
    evictions: record.evictions,
    scaleActions: record.scaleActions,
  };
}
