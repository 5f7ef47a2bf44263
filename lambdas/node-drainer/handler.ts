import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { readClusterAccess } from "../shared/access";
import { Cluster, kubeConfigFor, kubernetesCluster } from "../shared/cluster";
import { errorMessage, jsonLogger } from "../shared/log";
import { snsNotifier } from "../shared/notify";
import { autoScalingLifecycle } from "./aws";
import { processBatch } from "./drainer";
import { DrainerSettings, parseDrainerSettings } from "./settings";

const log = jsonLogger();
const secrets = new SecretsManagerClient({});
const lifecycle = autoScalingLifecycle(new AutoScalingClient({}));
const sns = new SNSClient({});

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  let settings: DrainerSettings;
  try {
    settings = parseDrainerSettings(process.env);
  } catch (error) {
    // Nothing can be drained without configuration; SQS keeps the messages and the dead-letter queue catches them.
    log("error", "function misconfigured", { error: errorMessage(error) });
    return { batchItemFailures: (event.Records ?? []).map((record) => ({ itemIdentifier: record.messageId })) };
  }
  let cluster: Promise<Cluster> | undefined;
  return processBatch(event.Records ?? [], {
    agentGroupName: settings.agentGroupName,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    attempts: settings.attempts,
    // One connection per batch, made only when some message needs the cluster.
    cluster: () => (cluster ??= readClusterAccess(secrets, settings.accessSecretArn).then((access) => kubernetesCluster(kubeConfigFor(access)))),
    lifecycle,
    notify: snsNotifier(sns, settings.topicArn),
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
