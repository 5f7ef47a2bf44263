import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { errorMessage } from "../shared/log";
import { webhookUrlProblem } from "./webhook";

/**
 * How long a container keeps the webhook URL before reading the secret again: a rotated URL is used within this long
 * (and at once after Slack refuses the old one, see `forget`), and a burst of alarms reads the secret once.
 */
export const WEBHOOK_URL_TTL_MS = 5 * 60_000;

export interface WebhookUrlSource {
  /** The URL, from the cache while it is fresh; throws a clear error if the secret is missing or not a webhook URL. */
  get(): Promise<string>;
  /** Drops the cached URL, so the next call reads the secret again. */
  forget(): void;
}

/** Reads the webhook URL from the secret, at most once per `ttlMs` per container. */
export function cachedWebhookUrl(secrets: SecretsManagerClient, secretArn: string, now: () => number, ttlMs = WEBHOOK_URL_TTL_MS): WebhookUrlSource {
  let cached: { readonly url: string; readonly readAt: number } | undefined;
  return {
    async get() {
      if (cached && now() - cached.readAt < ttlMs) return cached.url;
      cached = undefined;
      const url = await readWebhookUrl(secrets, secretArn);
      cached = { url, readAt: now() };
      return url;
    },
    forget() {
      cached = undefined;
    },
  };
}

/** The secret's value, checked to be an incoming-webhook URL; errors name the secret and the fix, never the value. */
export async function readWebhookUrl(secrets: SecretsManagerClient, secretArn: string): Promise<string> {
  let value: string | undefined;
  try {
    value = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    // ResourceNotFoundException: no such secret, or no AWSCURRENT value yet (Secrets Manager API reference, GetSecretValue).
    const name = error instanceof Error ? error.name : "";
    if (name === "ResourceNotFoundException") throw new Error(`Slack webhook secret ${secretArn} has no value: store the incoming-webhook URL in it (${errorMessage(error)})`);
    throw new Error(`Slack webhook secret ${secretArn} could not be read: ${errorMessage(error)}`);
  }
  if (!value) throw new Error(`Slack webhook secret ${secretArn} has no text value: store the incoming-webhook URL as its secret string`);
  const problem = webhookUrlProblem(value);
  if (problem) throw new Error(`Slack webhook secret ${secretArn} ${problem}: store the incoming-webhook URL (https://hooks.slack.com/services/...) as its whole value`);
  return value.trim();
}
