import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Context } from "aws-lambda";
import { readClusterAccess } from "../shared/access";
import { kubeConfigFor, kubernetesCluster } from "../shared/cluster";
import { errorMessage, jsonLogger } from "../shared/log";
import { snsNotifier } from "../shared/notify";
import { autoScalingGroup } from "./aws";
import { Decision } from "./decide";
import { pollAutoscaler } from "./poll";
import { AutoscalerSettings, parseAutoscalerSettings } from "./settings";
import { DynamoLock, StateStore } from "./store";

const log = jsonLogger();
const secrets = new SecretsManagerClient({});
const dynamo = new DynamoDBClient({});
const autoScaling = new AutoScalingClient({});
const sns = new SNSClient({});

export async function handler(_event: unknown, context: Context): Promise<(Decision | undefined)[]> {
  let settings: AutoscalerSettings;
  try {
    settings = parseAutoscalerSettings(process.env);
  } catch (error) {
    // Nothing is scaled without configuration; the error alarm fires on the failed invocation.
    log("error", "function misconfigured", { error: errorMessage(error) });
    throw new Error("autoscaler misconfigured; see the log line before this one");
  }
  return pollAutoscaler({
    cluster: async () => kubernetesCluster(kubeConfigFor(await readClusterAccess(secrets, settings.accessSecretArn))),
    group: autoScalingGroup(autoScaling, settings.agentGroupName),
    lock: new DynamoLock(dynamo, settings.stateTableName),
    store: new StateStore(dynamo, settings.stateTableName),
    notify: snsNotifier(sns, settings.topicArn),
    log,
    metric: (line) => process.stdout.write(`${line}\n`),
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    invocationId: context.awsRequestId,
    functionDeadline: Date.now() + context.getRemainingTimeInMillis(),
    lockTtlMs: settings.lockTtlMs,
    clusterName: settings.clusterName,
    agentInstance: settings.agentInstance,
    config: settings.config,
    notReadyReplaceAfterMs: settings.notReadyReplaceAfterMs,
  }, settings.pollMs);
}
