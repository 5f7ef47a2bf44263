import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Context } from "aws-lambda";
import * as z from "zod/mini";
import "../shared/zod-locale";
import { readClusterAccess } from "../shared/access";
import { kubeConfigFor, kubernetesCluster } from "../shared/cluster";
import { parseEnvironment } from "../shared/env";
import { errorMessage, jsonLogger } from "../shared/log";
import { snsNotifier } from "../shared/notify";
import { autoScalingGroup } from "./aws";
import { Decision } from "./decide";
import { runAutoscaler } from "./run";
import { DynamoLock, StateStore } from "./store";

const log = jsonLogger();
const secrets = new SecretsManagerClient({});
const dynamo = new DynamoDBClient({});
const autoScaling = new AutoScalingClient({});
const sns = new SNSClient({});

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
  SCALE_DOWN_THRESHOLD_PERCENT: z.coerce.number().check(z.gte(1), z.lte(100)),
  SCALE_DOWN_WINDOW_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  COOLDOWN_SECONDS: z.coerce.number().check(z.int(), z.nonnegative()),
  LOCK_TTL_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  NOT_READY_REPLACE_AFTER_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  EXPENDABLE_PODS_PRIORITY_CUTOFF: z.coerce.number().check(z.int()),
};

export function autoscalerEnvironment(env: NodeJS.ProcessEnv = process.env) {
  return parseEnvironment(environmentShape, env);
}

export async function handler(_event: unknown, context: Context): Promise<Decision | undefined> {
  let env: ReturnType<typeof autoscalerEnvironment>;
  try {
    env = autoscalerEnvironment();
  } catch (error) {
    // Nothing is scaled without configuration; the error alarm fires on the failed invocation.
    log("error", "function misconfigured", { error: errorMessage(error) });
    throw new Error("autoscaler misconfigured; see the log line before this one");
  }
  return runAutoscaler({
    cluster: async () => kubernetesCluster(kubeConfigFor(await readClusterAccess(secrets, env.ACCESS_SECRET_ARN))),
    group: autoScalingGroup(autoScaling, env.AGENT_GROUP_NAME),
    lock: new DynamoLock(dynamo, env.STATE_TABLE),
    store: new StateStore(dynamo, env.STATE_TABLE),
    notify: snsNotifier(sns, env.TOPIC_ARN),
    log,
    metric: (line) => process.stdout.write(`${line}\n`),
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    invocationId: context.awsRequestId,
    functionDeadline: Date.now() + context.getRemainingTimeInMillis(),
    lockTtlMs: env.LOCK_TTL_SECONDS * 1000,
    clusterName: env.CLUSTER_NAME,
    agentInstance: { instanceType: env.NODE_INSTANCE_TYPE, vcpus: env.NODE_VCPUS, memoryMiB: env.NODE_MEMORY_MIB, architecture: env.NODE_ARCHITECTURE },
    config: {
      expendablePriorityCutoff: env.EXPENDABLE_PODS_PRIORITY_CUTOFF,
      maxStepUp: env.MAX_STEP_UP,
      scaleDownThreshold: env.SCALE_DOWN_THRESHOLD_PERCENT / 100,
      scaleDownWindowMs: env.SCALE_DOWN_WINDOW_SECONDS * 1000,
      cooldownMs: env.COOLDOWN_SECONDS * 1000,
    },
    notReadyReplaceAfterMs: env.NOT_READY_REPLACE_AFTER_SECONDS * 1000,
  });
}
