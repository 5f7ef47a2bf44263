/**
 * The three ways of sizing the agents' group the simulator compares. Each evaluates on its own period and acts on
 * the simulated group the way it would on AWS.
 */
import { nextPassAt } from "../lambdas/autoscaler/poll";
import { runAutoscaler } from "../lambdas/autoscaler/run";
import type { Decision, ScalerState } from "../lambdas/autoscaler/decide";
import type { AutoscalerSettings } from "../lambdas/autoscaler/settings";
import type { RunLock, ScalerStateStore } from "../lambdas/autoscaler/store";
import type { SimulatedCluster } from "./cluster";

const MINUTE = 60_000;

export interface Policy {
  readonly name: string;
  /** Time between scheduled evaluations: alarm periods, rule evaluations, the autoscaler's invocations. */
  readonly periodMs: number;
  /** Evaluates at `now`; returns when the next evaluation is. */
  evaluate(now: number): Promise<number>;
}

// --- (a) EC2 Auto Scaling target tracking on ASGAverageCPUUtilization

export interface TargetTrackingSettings {
  /** Percent. */
  readonly targetValue: number;
  readonly scaleOutDatapoints: number;
  readonly scaleInDatapoints: number;
  readonly alarmPeriodMs: number;
  /** AlarmLow's threshold as a share of the target. */
  readonly scaleInThresholdFraction: number;
  /** The instances' CPUUtilization period: 5 minutes with basic monitoring, 1 with detailed. */
  readonly metricPeriodMs: number;
  /** Time after InService before an instance counts in the group's metric and capacity. */
  readonly instanceWarmupMs: number;
}

/**
 * Target tracking as AWS documents it (docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html):
 * two CloudWatch alarms on the group's average CPU, AlarmHigh (above the target for `scaleOutDatapoints` one-minute
 * datapoints) and AlarmLow (below a lower threshold for `scaleInDatapoints`); scale-out proportional to the metric,
 * rounded up ("we round up and add two instances"), with instances still warming up neither counted in the metric nor
 * as current capacity; scale-in rounded so it never removes too many, counting terminating instances, and never while
 * a scale-out is in progress ("A scale-in activity can't start while a scale-out activity is in progress"). With basic
 * monitoring each instance's CPUUtilization is a 5-minute average, so each one-minute alarm period sees the latest
 * complete 5-minute datapoint.
 */
export class TargetTrackingPolicy implements Policy {
  readonly name = "(a) ASG target tracking, CPU 80 %";
  readonly periodMs: number;
  private readonly samples = new Map<string, { at: number; cpu: number }[]>();
  private high = 0;
  private low = 0;

  constructor(private readonly cluster: SimulatedCluster, private readonly settings: TargetTrackingSettings) {
    this.periodMs = settings.alarmPeriodMs;
  }

  /** Instances InService (node Ready) and past their warm-up. */
  private warmed(now: number) {
    return this.cluster.runningInstances.filter((instance) => instance.readyAt + this.settings.instanceWarmupMs <= now && this.cluster.nodeNameOf(instance.id));
  }

  /** The group's average CPU in percent over the last complete metric period, or undefined without data. */
  metric(now: number): number | undefined {
    const end = Math.floor(now / this.settings.metricPeriodMs) * this.settings.metricPeriodMs;
    const averages: number[] = [];
    for (const instance of this.warmed(now)) {
      const inWindow = (this.samples.get(instance.id) ?? []).filter((sample) => sample.at >= end - this.settings.metricPeriodMs && sample.at < end);
      if (inWindow.length > 0) averages.push(inWindow.reduce((sum, sample) => sum + sample.cpu, 0) / inWindow.length);
    }
    return averages.length === 0 ? undefined : (100 * averages.reduce((a, b) => a + b, 0)) / averages.length;
  }

  async evaluate(now: number): Promise<number> {
    await this.alarms(now);
    return now + this.periodMs;
  }

  private async alarms(now: number): Promise<void> {
    for (const instance of this.warmed(now)) {
      const series = this.samples.get(instance.id) ?? [];
      series.push({ at: now, cpu: this.cluster.cpuUtilization(this.cluster.nodeNameOf(instance.id)!) });
      // Only the current and the previous metric period are ever read.
      this.samples.set(instance.id, series.filter((sample) => sample.at > now - 2 * this.settings.metricPeriodMs));
    }
    const metric = this.metric(now);
    if (metric === undefined) return; // INSUFFICIENT_DATA: neither alarm changes state
    const { targetValue } = this.settings;
    this.high = metric > targetValue ? this.high + 1 : 0;
    this.low = metric < targetValue * this.settings.scaleInThresholdFraction ? this.low + 1 : 0;
    const { desired, max } = this.cluster.capacity;
    if (this.high >= this.settings.scaleOutDatapoints) {
      const wanted = Math.min(max, Math.ceil((this.warmed(now).length * metric) / targetValue));
      if (wanted > desired) await this.cluster.setDesired(wanted);
      return;
    }
    const scalingOut = this.cluster.runningInstances.some((instance) => instance.readyAt + this.settings.instanceWarmupMs > now);
    if (this.low >= this.settings.scaleInDatapoints && !scalingOut) {
      const current = this.cluster.runningInstances.length;
      const wanted = Math.max(1, Math.ceil((current * metric) / targetValue));
      if (wanted < desired) {
        this.cluster.scaleInTo(wanted);
        // The metric moves with the new capacity; AlarmLow needs its datapoints again (an estimate of how soon
        // AWS scales in again: it documents only that scale-in is gradual).
        this.low = 0;
      }
    }
  }
}

// --- (b) the original brief's threshold rules

export interface ThresholdSettings {
  readonly periodMs: number;
  readonly scaleUpCpu: number;
  readonly pendingForMs: number;
  readonly maxStepUp: number;
  readonly scaleDownCpu: number;
  readonly scaleDownForMs: number;
  readonly scaleUpCooldownMs: number;
  readonly scaleDownCooldownMs: number;
}

/** The original autoscaler brief's numbers. */
export const THRESHOLD_RULES: ThresholdSettings = {
  periodMs: 2 * MINUTE,
  scaleUpCpu: 0.7,
  pendingForMs: 3 * MINUTE,
  maxStepUp: 2,
  scaleDownCpu: 0.3,
  scaleDownForMs: 10 * MINUTE,
  scaleUpCooldownMs: 5 * MINUTE,
  scaleDownCooldownMs: 10 * MINUTE,
};

/**
 * The original brief's rules: every 2 minutes, scale up by up to 2 nodes (never above max) when the agents' average
 * CPU is over 70 % or a pod has been pending for more than 3 minutes, at most once per 5 minutes; scale down by one
 * node when the average CPU has stayed under 30 % for 10 minutes with nothing pending, at most once per 10 minutes
 * after any scale action. The node removed is the one with the least requested CPU; it is drained, then terminated.
 * CPU is the Ready agents' current average (the brief read it from the cluster, not from CloudWatch).
 */
export class ThresholdPolicy implements Policy {
  readonly name = "(b) threshold rules (original brief)";
  readonly periodMs: number;
  private lastUp = -Infinity;
  private lastAction = -Infinity;
  private lowSince: number | undefined;

  constructor(private readonly cluster: SimulatedCluster, private readonly rules: ThresholdSettings = THRESHOLD_RULES) {
    this.periodMs = rules.periodMs;
  }

  async evaluate(now: number): Promise<number> {
    await this.apply(now);
    return now + this.periodMs;
  }

  private async apply(now: number): Promise<void> {
    const ready = [...this.cluster.nodes.values()].filter((node) => node.info.ready && !node.info.unschedulable).map((node) => node.info.name);
    const cpu = ready.length === 0 ? 0 : ready.reduce((sum, name) => sum + this.cluster.cpuUtilization(name), 0) / ready.length;
    const pending = this.cluster.pods.filter((pod) => !pod.nodeName);
    const waitedLong = pending.some((pod) => now - (this.cluster.lives.get(`${pod.namespace}/${pod.name}`)?.pendingSince ?? now) > this.rules.pendingForMs);
    this.lowSince = cpu < this.rules.scaleDownCpu && pending.length === 0 ? (this.lowSince ?? now) : undefined;
    const { desired, min, max } = this.cluster.capacity;

    if ((cpu > this.rules.scaleUpCpu || waitedLong) && now - this.lastUp >= this.rules.scaleUpCooldownMs && desired < max) {
      await this.cluster.setDesired(Math.min(max, desired + this.rules.maxStepUp));
      this.lastUp = now;
      this.lastAction = now;
      return;
    }
    if (this.lowSince !== undefined && now - this.lowSince >= this.rules.scaleDownForMs && now - this.lastAction >= this.rules.scaleDownCooldownMs && desired > min && ready.length > 0) {
      const requested = (name: string) => this.cluster.pods.filter((pod) => pod.nodeName === name).reduce((sum, pod) => sum + pod.requests.cpuMillis, 0);
      const victim = [...ready].sort((a, b) => requested(a) - requested(b))[0];
      const instanceId = this.cluster.nodes.get(victim)!.instanceId;
      await this.cluster.cordon(victim);
      // As kubectl drain --ignore-daemonsets: a DaemonSet's or a static pod goes with its node.
      for (const pod of await this.cluster.listPods(victim)) if (pod.controllerKind !== "DaemonSet" && !pod.mirror) await this.cluster.evict(pod);
      await this.cluster.terminate(instanceId);
      this.lastAction = now;
    }
  }
}

// --- (c) this project's autoscaler, its own code

/** The DynamoDB lease's contract, in memory: one holder until release or expiry. */
export class MemoryLock implements RunLock {
  private holder?: { owner: string; expiresAt: number };
  async acquire(owner: string, now: number, ttlMs: number): Promise<boolean> {
    if (this.holder && this.holder.expiresAt >= now) return false;
    this.holder = { owner, expiresAt: now + ttlMs };
    return true;
  }
  async release(owner: string): Promise<void> {
    if (this.holder?.owner === owner) this.holder = undefined;
  }
}

export class MemoryStateStore implements ScalerStateStore {
  private state: ScalerState = { underutilizedSince: {} };
  readonly decisions: { at: number; decision: Decision }[] = [];
  async load(): Promise<ScalerState> {
    return structuredClone(this.state);
  }
  async save(state: ScalerState): Promise<void> {
    this.state = structuredClone(state);
  }
  async recordDecision(decision: Decision, now: number): Promise<void> {
    if (decision.action !== "none") this.decisions.push({ at: now, decision });
  }
}

/**
 * The autoscaler Lambda's invocations (lambdas/autoscaler/handler.ts) on the schedule, each running its passes
 * (poll.ts) with the settings its handler would parse from the environment the construct writes. Each pass is the
 * function's own run (run.ts); when the next one starts is poll.ts's `nextPassAt`. A pass's clock starts at its
 * evaluation and moves on while it sleeps (drain retries), as a real pass's would.
 */
export class ProjectAutoscalerPolicy implements Policy {
  readonly name = "(c) this project's autoscaler";
  private readonly lock = new MemoryLock();
  readonly store = new MemoryStateStore();
  private invocation?: { readonly id: string; readonly startedAt: number };
  private invocations = 0;
  /**
   * When the last pass's clock stopped. A pass acts at its evaluation while its own clock runs on through its sleeps
   * (a drain's retries); a pass due before that clock stops would, on AWS, have found the lease held and skipped, as
   * run.ts skips.
   */
  private leaseHeldUntil = -Infinity;

  constructor(
    private readonly cluster: SimulatedCluster,
    private readonly settings: AutoscalerSettings,
    readonly periodMs: number,
    private readonly functionTimeoutMs: number,
  ) {}

  async evaluate(now: number): Promise<number> {
    // A scheduled tick starts an invocation; EventBridge's ticks come every period whatever the last one did.
    if (!this.invocation || now >= this.invocation.startedAt + this.periodMs) this.invocation = { id: `invocation-${++this.invocations}`, startedAt: now };
    const { id, startedAt } = this.invocation;
    const functionDeadline = startedAt + this.functionTimeoutMs;
    const nextTick = startedAt + this.periodMs;
    // The invocation's next pass after its clock reaches `clock`, or the next invocation.
    const nextAfter = (clock: number) => Math.min(nextPassAt(startedAt, clock, this.settings.pollMs, functionDeadline) ?? nextTick, nextTick);
    if (now < this.leaseHeldUntil) return nextAfter(now);
    let slept = 0;
    let failed = false;
    const cluster = this.cluster;
    await runAutoscaler({
      cluster: async () => cluster,
      group: cluster,
      lock: this.lock,
      store: this.store,
      notify: async () => undefined,
      log: () => undefined,
      metric: () => undefined,
      now: () => now + slept,
      sleep: async (ms) => void (slept += ms),
      invocationId: id,
      functionDeadline,
      lockTtlMs: this.settings.lockTtlMs,
      clusterName: this.settings.clusterName,
      agentInstance: this.settings.agentInstance,
      config: this.settings.config,
      notReadyReplaceAfterMs: this.settings.notReadyReplaceAfterMs,
    }).catch(() => void (failed = true));
    this.leaseHeldUntil = now + slept;
    // A failed pass ends its invocation (pollAutoscaler rethrows); the next scheduled one follows, as on AWS.
    if (failed) return nextTick;
    return nextAfter(now + slept);
  }
}
