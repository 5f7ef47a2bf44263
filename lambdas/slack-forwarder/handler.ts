import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { errorMessage, jsonLogger } from "../shared/log";
import { ForwardResult, forwardEvent } from "./forward";
import { cachedWebhookUrl, WebhookUrlSource } from "./secret";
import { parseSlackForwarderSettings, SLACK_WEBHOOK_TIMEOUT_MS, SlackForwarderSettings } from "./settings";
import { postToSlack } from "./webhook";

const log = jsonLogger();
const secrets = new SecretsManagerClient({});
/** Per container: warm invocations reuse the URL until its TTL. */
let webhookUrl: WebhookUrlSource | undefined;

export async function handler(event: unknown): Promise<ForwardResult[]> {
  let settings: SlackForwarderSettings;
  try {
    settings = parseSlackForwarderSettings(process.env);
  } catch (error) {
    // Thrown: Lambda retries the event and then hands it to the on-failure queue, so the notification is kept.
    log("error", "function misconfigured", { error: errorMessage(error) });
    throw new Error("slack-forwarder misconfigured; see the log line before this one");
  }
  webhookUrl ??= cachedWebhookUrl(secrets, settings.webhookSecretArn, Date.now);
  return forwardEvent(event, { clusterName: settings.clusterName, webhookUrl, post: (url, message) => postToSlack(url, message, { timeoutMs: SLACK_WEBHOOK_TIMEOUT_MS }), log });
}
