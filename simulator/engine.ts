/**
 * The discrete-event loop: time jumps from one event to the next (a pod created or finished, a node Ready, a spot
 * warning or termination, a policy's evaluation), the scheduler binds what fits after each, and the record integrates
 * pending pods and instances between events. Everything random comes from streams of one seed (random.ts).
 */
import { readFileSync } from "fs";
import { join } from "path";
import { resolveConfig, ClusterConfig } from "../config/resolve";
import { nodeTemplate } from "../lambdas/autoscaler/node-template";
import { schedulingFailure } from "../lambdas/autoscaler/scheduling";
import { autoscalerEnvironment, AutoscalerSettings, parseAutoscalerSettings } from "../lambdas/autoscaler/settings";
import type { DaemonSetInfo, PodInfo } from "../lambdas/shared/cluster";
import { AUTOSCALER_TIMEOUT_SECONDS, autoscalerProps } from "../modules/automation/tuning";
import { AGENT_CPU_TARGET_PERCENT } from "../modules/compute/cpu-target";
import { SimulatedCluster, simPod } from "./cluster";
import { PriceTable, RunRecord } from "./metrics";
import { Policy, ProjectAutoscalerPolicy, TargetTrackingPolicy, ThresholdPolicy } from "./policies";
import { DurationDistribution, drawDurationMs, exponential, seededRandom } from "./random";
import { Trace } from "./trace";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MIB = 2 ** 20;
/** The simulated clock's origin: a Monday, 00:00 UTC. */
export const SIMULATION_START = Date.UTC(2025, 0, 6);

export type PolicyKind = "target-tracking" | "threshold" | "project";
export const POLICY_KINDS: PolicyKind[] = ["target-tracking", "threshold", "project"];

export interface Assumptions {
  readonly bootTime: { readonly distribution: DurationDistribution };
  readonly spotInterruption: { readonly ratePerInstanceHour: number; readonly warningSeconds: number };
  readonly targetTracking: {
    readonly scaleOutDatapoints: number;
    readonly scaleInDatapoints: number;
    readonly alarmPeriodSeconds: number;
    readonly scaleInThresholdFraction: number;
    readonly metricPeriodSeconds: number;
    readonly instanceWarmupSeconds: number;
  };
  readonly daemonSets: { readonly pods: readonly AgentDaemonSet[] };
  readonly addonPods: { readonly pods: readonly AddonPod[] };
}

/** A pod of an add-on's Deployment or StatefulSet that runs on an agent. */
interface AddonPod {
  readonly namespace: string;
  readonly name: string;
  readonly controllerKind: "ReplicaSet" | "StatefulSet";
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  /** Its volumes on the node's disk. */
  readonly localVolumes: readonly string[];
  /** With storage.blockStorage those volumes are gp3 claims instead. */
  readonly claimsWithBlockStorage?: boolean;
  /** The pod's annotations as the servers set them (safe-to-evict-local-volumes). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly addon: "monitoring";
  /** Where in the chart's values its requests are, for the wiring test. */
  readonly values: string;
  readonly source: string;
}

/** A DaemonSet every agent runs, with its pod's requests; `addon` names the add-on it comes with, if any. */
interface AgentDaemonSet {
  readonly namespace: string;
  readonly name: string;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly addon?: "monitoring";
  /** Where the requests come from. */
  readonly source: string;
}

/** The DaemonSets of the data file that the config installs, as the autoscaler lists them. */
export function agentDaemonSets(config: ClusterConfig, assumptions: Assumptions): DaemonSetInfo[] {
  return assumptions.daemonSets.pods
    .filter((daemonSet) => daemonSet.addon === undefined || config.addons[daemonSet.addon].enabled)
    .map(({ namespace, name, cpuMillis, memoryMiB }) => ({ namespace, name, pod: { requests: { cpuMillis, memoryBytes: memoryMiB * MIB } } }));
}

/**
 * The add-on pods of the data file that the config installs on the agents, pending, as the scheduler first sees them:
 * none when the servers take workloads too (no taint keeps the add-ons off them, and where they land is not modelled).
 */
export function agentAddonPods(config: ClusterConfig, assumptions: Assumptions): PodInfo[] {
  if (config.servers.allowWorkloads) return [];
  return assumptions.addonPods.pods
    .filter((pod) => config.addons[pod.addon].enabled)
    .map(({ namespace, name, controllerKind, cpuMillis, memoryMiB, localVolumes, claimsWithBlockStorage, annotations }) =>
      simPod(
        name,
        { cpuMillis, memoryBytes: memoryMiB * MIB },
        { namespace, controllerKind, controllerName: name, localVolumeNames: claimsWithBlockStorage && config.storage.blockStorage.enabled ? [] : [...localVolumes], ...(annotations ? { annotations: { ...annotations } } : {}) },
      ),
    );
}

export interface PriceData extends PriceTable {
  readonly instanceTypes: Readonly<Record<string, { readonly onDemand: number; readonly spot: number; readonly vcpus: number; readonly memoryMiB: number }>>;
}

const DATA = join(__dirname, "data");
export const loadAssumptions = (): Assumptions => JSON.parse(readFileSync(join(DATA, "assumptions.json"), "utf8"));
export const loadPrices = (): PriceData => JSON.parse(readFileSync(join(DATA, "prices.json"), "utf8"));

export interface SimulationOptions {
  readonly seed: number;
  /** A resolved cluster config; default: every default (`resolveConfig({})`). */
  readonly config?: ClusterConfig;
  readonly assumptions?: Assumptions;
  readonly prices?: PriceData;
  /** Overrides the data file's spot interruption rate. */
  readonly spotRatePerInstanceHour?: number;
}

/** A point of the chart: instances in the group and pods waiting, from this time on. */
export interface TimelinePoint {
  readonly minute: number;
  readonly nodes: number;
  readonly pending: number;
}

export interface RunResult {
  readonly policy: PolicyKind;
  readonly policyName: string;
  readonly record: RunRecord;
  readonly timeline: TimelinePoint[];
}

/** The period of an EventBridge rate expression; the simulator runs the autoscaler on a fixed period, so no cron. */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) throw new Error(`the simulator runs the autoscaler on a rate() schedule; "${expression}" is not one (pass --schedule "rate(<n> minutes)")`);
  const unit = { minute: MINUTE, hour: HOUR, day: 24 * HOUR }[match[2].replace(/s$/, "") as "minute" | "hour" | "day"];
  return Number(match[1]) * unit;
}

/** The Lambda's settings, through the same functions the construct and the handler use (settings.ts). */
export function projectSettings(config: ClusterConfig, prices: PriceData): AutoscalerSettings {
  const props = autoscalerProps(config);
  const shape = prices.instanceTypes[props.nodeInstanceType];
  if (!shape) throw new Error(`no size for ${props.nodeInstanceType} in simulator/data/prices.json`);
  return parseAutoscalerSettings(
    autoscalerEnvironment({
      ...props,
      clusterName: config.clusterName,
      agentGroupName: `${config.clusterName}-agents`,
      stateTableName: `${config.clusterName}-autoscaler`,
      accessSecretArn: "arn:aws:secretsmanager:eu-west-1:000000000000:secret:simulated",
      topicArn: "arn:aws:sns:eu-west-1:000000000000:simulated",
      nodeVcpus: String(shape.vcpus),
      nodeMemoryMiB: String(shape.memoryMiB),
      functionTimeoutSeconds: AUTOSCALER_TIMEOUT_SECONDS,
    }),
  );
}

/** Runs one policy over one trace. */
export async function simulate(trace: Trace, kind: PolicyKind, options: SimulationOptions): Promise<RunResult> {
  const config = options.config ?? resolveConfig({});
  const assumptions = options.assumptions ?? loadAssumptions();
  const prices = options.prices ?? loadPrices();
  const settings = projectSettings(config, prices);
  const daemonSets = agentDaemonSets(config, assumptions);
  const template = nodeTemplate({ instance: settings.agentInstance, daemonSetPods: daemonSets.map((daemonSet) => daemonSet.pod) });

  // One stream per purpose, shared by the policies, so each sees the same n-th boot time and the same spot luck.
  const bootRandom = seededRandom(options.seed, `boot/${trace.name}`);
  const spotRandom = seededRandom(options.seed, `spot/${trace.name}`);
  const spotRate = options.spotRatePerInstanceHour ?? assumptions.spotInterruption.ratePerInstanceHour;
  const types = config.agents.instanceTypes;
  const cheapestSpot = [...types].sort((a, b) => (prices.instanceTypes[a]?.spot ?? Infinity) - (prices.instanceTypes[b]?.spot ?? Infinity))[0];
  const start = SIMULATION_START;
  const end = start + trace.durationMinutes * MINUTE;
  const cluster = new SimulatedCluster(
    { min: config.agents.minSize, max: config.agents.maxSize, desired: trace.initialNodes ?? config.agents.desiredCapacity },
    { allocatable: template.allocatable, labels: { ...template.labels }, podCapacity: template.podCapacity },
    {
      start,
      bootTimeMs: () => drawDurationMs(assumptions.bootTime.distribution, bootRandom),
      spotInterruptionAfterMs: () => (spotRate > 0 ? exponential(spotRandom, HOUR / spotRate) : Infinity),
      spotWarningMs: assumptions.spotInterruption.warningSeconds * 1000,
      onDemandBaseCapacity: config.agents.onDemandBaseCapacity,
      onDemandPercentageAboveBaseCapacity: config.agents.onDemandPercentageAboveBaseCapacity,
      // On-demand: "prioritized", the first type listed; spot: "price-capacity-optimized", here the cheapest (capacity
      // pools are not simulated).
      instanceTypeFor: (lifecycle) => (lifecycle === "on-demand" ? types[0] : cheapestSpot),
      placement: "scored",
      random: seededRandom(options.seed, `scale-in/${trace.name}`),
      daemonSets,
    },
  );
  const tt = assumptions.targetTracking;
  const policy: Policy =
    kind === "target-tracking"
      ? new TargetTrackingPolicy(cluster, {
          targetValue: AGENT_CPU_TARGET_PERCENT,
          scaleOutDatapoints: tt.scaleOutDatapoints,
          scaleInDatapoints: tt.scaleInDatapoints,
          alarmPeriodMs: tt.alarmPeriodSeconds * 1000,
          scaleInThresholdFraction: tt.scaleInThresholdFraction,
          metricPeriodMs: tt.metricPeriodSeconds * 1000,
          instanceWarmupMs: tt.instanceWarmupSeconds * 1000,
        })
      : kind === "threshold"
        ? new ThresholdPolicy(cluster)
        : new ProjectAutoscalerPolicy(cluster, settings, ratePeriodMs(autoscalerProps(config).scheduleExpression), AUTOSCALER_TIMEOUT_SECONDS * 1000);

  const arrivals = trace.pods
    .flatMap((group, groupIndex) =>
      Array.from({ length: group.count }, (_, i) => ({
        at: start + group.atMinute * MINUTE,
        pod: simPod(`${group.name}-${groupIndex}-${i}`, { cpuMillis: group.cpuMillis, memoryBytes: group.memoryMiB * MIB }, { labels: { app: group.name }, nodeSelector: group.nodeSelector }),
        group,
      })),
    )
    .sort((a, b) => a.at - b.at);
  let nextArrival = 0;
  // A schedule's ticks fall anywhere in the minute relative to when pods are created; the traces create them on whole
  // minutes, so a first tick at a whole period would see every arrival at once and hide the detection delay. The same
  // share of the period for every policy of a trace and seed, so they are compared on the same luck.
  let nextEvaluation = start + Math.floor(seededRandom(options.seed, `phase/${trace.name}`)() * policy.periodMs);
  let pendingPodMs = 0;
  let runningPodMs = 0;
  const timeline: TimelinePoint[] = [];
  const podCounts = () => {
    let placeable = 0;
    let all = 0;
    let running = 0;
    for (const pod of cluster.pods) {
      const life = cluster.lives.get(`${pod.namespace}/${pod.name}`);
      // The add-ons' pods count in the chart's pending line only; DaemonSet pods, which come with every node, have no life.
      const traced = life !== undefined && !life.addon;
      if (pod.nodeName) {
        if (traced) running += 1;
        continue;
      }
      all += 1;
      if (traced && life.placeable) placeable += 1;
    }
    return { placeable, all, running };
  };
  const note = () => {
    const point = { minute: (cluster.now - start) / MINUTE, nodes: cluster.runningInstances.length, pending: podCounts().all };
    const last = timeline[timeline.length - 1];
    if (last && last.nodes === point.nodes && last.pending === point.pending) return;
    if (last && last.minute === point.minute) timeline.pop();
    timeline.push(point);
  };

  // The add-ons run when the trace starts, each using what it requests (the values size requests to what idles).
  for (const pod of agentAddonPods(config, assumptions)) cluster.addPod(pod, { cpuUsage: 1, placeable: true, addon: true });
  cluster.schedule();
  note();
  while (cluster.now < end) {
    const next = Math.min(end, arrivals[nextArrival]?.at ?? Infinity, cluster.nextEventAt(), nextEvaluation);
    const counts = podCounts();
    pendingPodMs += counts.placeable * (next - cluster.now);
    runningPodMs += counts.running * (next - cluster.now);
    cluster.now = next;
    if (next >= end) break;
    cluster.processDue();
    while (nextArrival < arrivals.length && arrivals[nextArrival].at <= next) {
      const { pod, group } = arrivals[nextArrival++];
      cluster.addPod(pod, { cpuUsage: group.cpuUsage, service: group.service, runMs: group.runMinutes === undefined ? undefined : group.runMinutes * MINUTE, placeable: schedulingFailure(pod, template) === undefined });
    }
    cluster.schedule();
    if (next >= nextEvaluation) {
      nextEvaluation = await policy.evaluate(next);
      cluster.schedule();
    }
    note();
  }
  note();

  const stillPending = cluster.pods.filter((pod) => !pod.nodeName).map((pod) => cluster.lives.get(`${pod.namespace}/${pod.name}`)).filter((life) => life?.placeable && !life.addon);
  return {
    policy: kind,
    policyName: policy.name,
    timeline,
    record: {
      start,
      end,
      pendingPodMs,
      runningPodMs,
      startLatenciesMs: [...cluster.startLatencies.filter((sample) => sample.placeable).map((sample) => sample.ms), ...stillPending.map((life) => end - life!.pendingSince)],
      instances: cluster.instances.map((instance) => ({ lifecycle: instance.lifecycle, instanceType: instance.instanceType, launchedAt: instance.launchedAt, readyAt: instance.readyAt, terminatedAt: instance.terminatedAt })),
      evictions: cluster.counters.evictions,
      scaleActions: cluster.counters.scaleUps + cluster.counters.scaleDowns,
    },
  };
}
