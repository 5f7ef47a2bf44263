/**
 * The autoscaler's environment, defined once: modules/automation writes it with `autoscalerEnvironment` and the
 * handler reads it with `parseAutoscalerSettings`. Each variable's name carries its unit; the settings are in
 * milliseconds and fractions, the units the decision code uses. No construct code here: this module is bundled.
 */
import * as z from "zod/mini";
import { parseEnvironment, RUNTIME_ENVIRONMENT } from "../shared/env";
import type { ScalerConfig } from "./decide";
import type { AgentInstance } from "./node-template";

/** The autoscaler's tuning, in the units of the config it comes from. */
export interface AutoscalerTuning {
  /** Most agents added in one pass. */
  readonly maxStepUp: number;
  /** Seconds between an invocation's passes (poll.ts); 0: one pass per invocation. */
  readonly pollSeconds: number;
  /** Requested share of allocatable, in percent, under which a node counts as underutilized. */
  readonly scaleDownThresholdPercent: number;
  /** How long a node must stay underutilized before it is removed. */
  readonly scaleDownWindowMinutes: number;
  /** Quiet time after a scale-up before any scale-down (cluster-autoscaler's --scale-down-delay-after-add). */
  readonly cooldownMinutes: number;
  /** How long an agent may stay NotReady before it is terminated and the group launches a replacement. */
  readonly notReadyReplaceMinutes: number;
  /** Pods below this priority are expendable: never scaled up for, deleted rather than moved on scale-down. */
  readonly expendablePodsPriorityCutoff: number;
  /** Room kept free on a Ready agent for one more pod of this size (decide.ts ScalerConfig.headroom); zeros: none. */
  readonly headroom: { readonly cpuMillis: number; readonly memoryMiB: number };
  /** Instance type whose size and labels a new agent is assumed to have until one is measured. */
  readonly nodeInstanceType: string;
  /** Architecture of the agents, for the kubernetes.io/arch label of a new agent. */
  readonly nodeArchitecture: "arm64" | "x86_64";
}

/** What the construct knows when it writes the environment; names and ARNs may be Terraform references. */
export interface AutoscalerEnvironmentProps extends AutoscalerTuning {
  readonly clusterName: string;
  readonly agentGroupName: string;
  readonly stateTableName: string;
  readonly accessSecretArn: string;
  readonly topicArn: string;
  /** vCPUs of `nodeInstanceType`, as text: a Terraform reference to the instance-type data source at synth. */
  readonly nodeVcpus: string;
  /** Memory of `nodeInstanceType` in MiB, as text, like `nodeVcpus`. */
  readonly nodeMemoryMiB: string;
  /** The function's timeout, which the run lock must outlive. */
  readonly functionTimeoutSeconds: number;
}

export interface AutoscalerSettings {
  readonly clusterName: string;
  readonly agentGroupName: string;
  readonly stateTableName: string;
  readonly accessSecretArn: string;
  readonly topicArn: string;
  readonly lockTtlMs: number;
  /** Time between an invocation's passes; 0: one pass. */
  readonly pollMs: number;
  readonly agentInstance: AgentInstance;
  readonly config: Omit<ScalerConfig, "nodeTemplate">;
  readonly notReadyReplaceAfterMs: number;
}

const environmentShape = {
  CLUSTER_NAME: z.string().check(z.minLength(1)),
  AGENT_GROUP_NAME: z.string().check(z.minLength(1)),
  STATE_TABLE: z.string().check(z.minLength(1)),
  ACCESS_SECRET_ARN: z.string().check(z.startsWith("arn:")),
  TOPIC_ARN: z.string().check(z.startsWith("arn:")),
  NODE_VCPUS: z.coerce.number().check(z.positive()),
  NODE_MEMORY_MIB: z.coerce.number().check(z.positive()),
  NODE_INSTANCE_TYPE: z.string().check(z.minLength(1)),
  NODE_ARCHITECTURE: z.enum(["arm64", "x86_64"]),
  MAX_STEP_UP: z.coerce.number().check(z.int(), z.positive()),
  POLL_SECONDS: z.coerce.number().check(z.int(), z.nonnegative()),
  SCALE_DOWN_THRESHOLD_PERCENT: z.coerce.number().check(z.gte(1), z.lte(100)),
  SCALE_DOWN_WINDOW_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  COOLDOWN_SECONDS: z.coerce.number().check(z.int(), z.nonnegative()),
  LOCK_TTL_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  NOT_READY_REPLACE_AFTER_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  EXPENDABLE_PODS_PRIORITY_CUTOFF: z.coerce.number().check(z.int()),
  HEADROOM_CPU_MILLIS: z.coerce.number().check(z.int(), z.nonnegative()),
  HEADROOM_MEMORY_MIB: z.coerce.number().check(z.int(), z.nonnegative()),
};

/**
 * The function's whole environment: the runtime's variables and the settings. The type makes the writer set exactly the
 * variables the reader checks, besides the runtime's.
 */
export function autoscalerEnvironment(props: AutoscalerEnvironmentProps): Record<keyof typeof environmentShape | keyof typeof RUNTIME_ENVIRONMENT, string> {
  return {
    ...RUNTIME_ENVIRONMENT,
    CLUSTER_NAME: props.clusterName,
    AGENT_GROUP_NAME: props.agentGroupName,
    STATE_TABLE: props.stateTableName,
    ACCESS_SECRET_ARN: props.accessSecretArn,
    TOPIC_ARN: props.topicArn,
    NODE_VCPUS: props.nodeVcpus,
    NODE_MEMORY_MIB: props.nodeMemoryMiB,
    NODE_INSTANCE_TYPE: props.nodeInstanceType,
    NODE_ARCHITECTURE: props.nodeArchitecture,
    MAX_STEP_UP: String(props.maxStepUp),
    POLL_SECONDS: String(props.pollSeconds),
    SCALE_DOWN_THRESHOLD_PERCENT: String(props.scaleDownThresholdPercent),
    SCALE_DOWN_WINDOW_SECONDS: String(props.scaleDownWindowMinutes * 60),
    COOLDOWN_SECONDS: String(props.cooldownMinutes * 60),
    // A run that times out keeps the lock until it expires; a minute past the timeout, no live run ever loses it.
    LOCK_TTL_SECONDS: String(props.functionTimeoutSeconds + 60),
    NOT_READY_REPLACE_AFTER_SECONDS: String(props.notReadyReplaceMinutes * 60),
    EXPENDABLE_PODS_PRIORITY_CUTOFF: String(props.expendablePodsPriorityCutoff),
    HEADROOM_CPU_MILLIS: String(props.headroom.cpuMillis),
    HEADROOM_MEMORY_MIB: String(props.headroom.memoryMiB),
  };
}

/** The handler's settings; throws naming every missing or malformed variable. */
export function parseAutoscalerSettings(env: NodeJS.ProcessEnv): AutoscalerSettings {
  const vars = parseEnvironment(environmentShape, env);
  return {
    clusterName: vars.CLUSTER_NAME,
    agentGroupName: vars.AGENT_GROUP_NAME,
    stateTableName: vars.STATE_TABLE,
    accessSecretArn: vars.ACCESS_SECRET_ARN,
    topicArn: vars.TOPIC_ARN,
    lockTtlMs: vars.LOCK_TTL_SECONDS * 1000,
    pollMs: vars.POLL_SECONDS * 1000,
    agentInstance: { instanceType: vars.NODE_INSTANCE_TYPE, vcpus: vars.NODE_VCPUS, memoryMiB: vars.NODE_MEMORY_MIB, architecture: vars.NODE_ARCHITECTURE },
    config: {
      expendablePriorityCutoff: vars.EXPENDABLE_PODS_PRIORITY_CUTOFF,
      maxStepUp: vars.MAX_STEP_UP,
      scaleDownThreshold: vars.SCALE_DOWN_THRESHOLD_PERCENT / 100,
      scaleDownWindowMs: vars.SCALE_DOWN_WINDOW_SECONDS * 1000,
      cooldownMs: vars.COOLDOWN_SECONDS * 1000,
      ...(vars.HEADROOM_CPU_MILLIS > 0 || vars.HEADROOM_MEMORY_MIB > 0 ? { headroom: { cpuMillis: vars.HEADROOM_CPU_MILLIS, memoryBytes: vars.HEADROOM_MEMORY_MIB * 2 ** 20 } } : {}),
    },
    notReadyReplaceAfterMs: vars.NOT_READY_REPLACE_AFTER_SECONDS * 1000,
  };
}
