/** All policies over one trace, and the report: the table, and whether the target relations hold. */
import { loadPrices, POLICY_KINDS, PriceData, RunResult, simulate, SimulationOptions } from "./engine";
import { Summary, summarize } from "./metrics";
import type { Trace } from "./trace";

export interface TraceComparison {
  readonly trace: Trace;
  readonly runs: (RunResult & { readonly summary: Summary })[];
}

export async function compareTrace(trace: Trace, options: SimulationOptions): Promise<TraceComparison> {
  const prices: PriceData = options.prices ?? loadPrices();
  const runs = [];
  for (const kind of POLICY_KINDS) {
    const run = await simulate(trace, kind, { ...options, prices });
    runs.push({ ...run, summary: summarize(run.record, prices) });
  }
  return { trace, runs };
}

/**
 * The target: this project's autoscaler (c) has at most half the pending-pod-minutes of target tracking (a)
 * at no more node-hours, and fewer pending-pod-minutes and no more node-hours than the threshold rules (b). Zero
 * against zero counts as met.
 */
export function targetChecks(comparison: TraceComparison): { readonly check: string; readonly met: boolean }[] {
  const by = (kind: string) => comparison.runs.find((run) => run.policy === kind)!.summary;
  const a = by("target-tracking");
  const b = by("threshold");
  const c = by("project");
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return [
    { check: "(c) pending-pod-minutes <= half of (a)", met: round(c.pendingPodMinutes) <= round(a.pendingPodMinutes / 2) },
    { check: "(c) node-hours <= (a)", met: round(c.nodeHours) <= round(a.nodeHours) },
    { check: "(c) pending-pod-minutes < (b) (or both 0)", met: round(c.pendingPodMinutes) < round(b.pendingPodMinutes) || (round(b.pendingPodMinutes) === 0 && round(c.pendingPodMinutes) === 0) },
    { check: "(c) node-hours <= (b)", met: round(c.nodeHours) <= round(b.nodeHours) },
  ];
}

export interface SeedSweep {
  readonly trace: string;
  /** Per seed, the target checks. */
  readonly checks: { readonly check: string; readonly met: boolean }[][];
  /** Per seed, each policy's summary, by policy kind. */
  readonly summaries: Record<string, Summary>[];
}

/** The target checks of every trace on seeds 1 to `seeds`: boot times and spot luck move the close comparisons. */
export async function seedSweep(traces: Trace[], seeds: number, options: Omit<SimulationOptions, "seed">): Promise<SeedSweep[]> {
  const sweep: SeedSweep[] = [];
  for (const trace of traces) {
    const checks = [];
    const summaries = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const comparison = await compareTrace(trace, { ...options, seed });
      checks.push(targetChecks(comparison));
      summaries.push(Object.fromEntries(comparison.runs.map((run) => [run.policy, run.summary])));
    }
    sweep.push({ trace: trace.name, checks, summaries });
  }
  return sweep;
}

/** How many of the seeds met each target check, per trace: a Markdown table ("met on k of n seeds"). */
export function formatSeedSweep(sweep: SeedSweep[]): string {
  const checks = sweep[0]?.checks[0]?.map((entry) => entry.check) ?? [];
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rows = sweep.map(({ trace, checks: perSeed }) => [trace, ...checks.map((_, index) => `${perSeed.filter((seed) => seed[index].met).length}/${perSeed.length}`)]);
  return [line(["trace", ...checks]), line(["---", ...checks.map(() => "---")]), ...rows.map(line)].join("\n");
}

/**
 * How (c) compares with (a) and (b) over the seeds, per trace: the lowest and highest node-hours difference and
 * pending-pod-minutes ratio, so prose about the sweep can cite ranges the command prints.
 */
export function formatSeedRanges(sweep: SeedSweep[]): string {
  const range = (values: number[], format: (value: number) => string) => {
    const finite = values.filter(Number.isFinite);
    if (finite.length === 0) return "-";
    const [low, high] = [format(Math.min(...finite)), format(Math.max(...finite))];
    return low === high ? low : `${low} to ${high}`;
  };
  const signed = (value: number) => `${value > 0 ? "+" : ""}${value.toFixed(2)}`;
  const ratio = (value: number) => `${value.toFixed(2)}x`;
  const header = ["trace", "node-hours (c) minus (a)", "node-hours (c) minus (b)", "pending pod-min (c) / (a)", "pending pod-min (c) / (b)", "evictions (a)", "evictions (c)"];
  const rows = sweep.map(({ trace, summaries }) => {
    const of = (kind: string, pick: (summary: Summary) => number) => summaries.map((byPolicy) => pick(byPolicy[kind]));
    const ratios = (other: string) => summaries.map((byPolicy) => (byPolicy[other].pendingPodMinutes > 0 ? byPolicy.project.pendingPodMinutes / byPolicy[other].pendingPodMinutes : NaN));
    return [
      trace,
      range(summaries.map((byPolicy) => byPolicy.project.nodeHours - byPolicy["target-tracking"].nodeHours), signed),
      range(summaries.map((byPolicy) => byPolicy.project.nodeHours - byPolicy.threshold.nodeHours), signed),
      range(ratios("target-tracking"), ratio),
      range(ratios("threshold"), ratio),
      range(of("target-tracking", (summary) => summary.evictions), String),
      range(of("project", (summary) => summary.evictions), String),
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const fixed = (value: number, digits: number) => value.toFixed(digits);

/** A Markdown table, one row per trace and policy. */
export function formatTable(comparisons: TraceComparison[], priceDate: string): string {
  const header = ["trace", "policy", "pending pod-min", "p50 min", "p95 min", "max min", "node-hours", "pod-hours run", `cost USD (${priceDate})`, "evictions", "scale actions"];
  const rows = comparisons.flatMap(({ trace, runs }) =>
    runs.map(({ policyName, summary: s }) => [
      trace.name,
      policyName,
      fixed(s.pendingPodMinutes, 1),
      fixed(s.p50Minutes, 1),
      fixed(s.p95Minutes, 1),
      fixed(s.maxMinutes, 1),
      fixed(s.nodeHours, 2),
      fixed(s.podHours, 2),
      fixed(s.costUsd, 3),
      String(s.evictions),
      String(s.scaleActions),
    ]),
  );
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
