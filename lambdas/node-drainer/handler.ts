import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import * as z from "zod/mini";
import "../shared/zod-locale";
import { readClusterAccess } from "../shared/access";
import { Cluster, kubeConfigFor, kubernetesCluster } from "../shared/cluster";
import { parseEnvironment } from "../shared/env";
import { errorMessage, jsonLogger } from "../shared/log";
import { snsNotifier } from "../shared/notify";
import { autoScalingLifecycle } from "./aws";
import { processBatch } from "./drainer";

const log = jsonLogger();
const secrets = new SecretsManagerClient({});
const lifecycle = autoScalingLifecycle(new AutoScalingClient({}));
const sns = new SNSClient({});

const environmentShape = {
  AGENT_GROUP_NAME: z.string().check(z.minLength(1)),
  ACCESS_SECRET_ARN: z.string().check(z.startsWith("arn:")),
  TOPIC_ARN: z.string().check(z.startsWith("arn:")),
  HEARTBEAT_INTERVAL_SECONDS: z.coerce.number().check(z.int(), z.positive()),
};

/** The function's settings from its environment, which modules/automation writes. */
export function drainerEnvironment(env: NodeJS.ProcessEnv = process.env) {
  return parseEnvironment(environmentShape, env);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  let env: ReturnType<typeof drainerEnvironment>;
  try {
    env = drainerEnvironment();
  } catch (error) {
    // Nothing can be drained without configuration; SQS keeps the messages and the dead-letter queue catches them.
    log("error", "function misconfigured", { error: errorMessage(error) });
    return { batchItemFailures: (event.Records ?? []).map((record) => ({ itemIdentifier: record.messageId })) };
  }
  let cluster: Promise<Cluster> | undefined;
  return processBatch(event.Records ?? [], {
    agentGroupName: env.AGENT_GROUP_NAME,
    heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_SECONDS * 1000,
    // One connection per batch, made only when some message needs the cluster.
    cluster: () => (cluster ??= readClusterAccess(secrets, env.ACCESS_SECRET_ARN).then((access) => kubernetesCluster(kubeConfigFor(access)))),
    lifecycle,
    notify: snsNotifier(sns, env.TOPIC_ARN),
    log,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    every: (ms, tick) => {
      const timer = setInterval(() => void tick(), ms);
      return () => clearInterval(timer);
    },
    functionDeadline: Date.now() + context.getRemainingTimeInMillis(),
    retryDelayMs: 5000,
  });
}
