import type { Logger } from "../shared/log";
import { formatNotification, SlackMessage, TopicNotification } from "./format";
import type { WebhookUrlSource } from "./secret";
import type { PostOutcome } from "./webhook";

export interface ForwarderDeps {
  readonly clusterName: string;
  readonly webhookUrl: WebhookUrlSource;
  readonly post: (url: string, message: SlackMessage) => Promise<PostOutcome>;
  readonly log: Logger;
}

/** What one record came to; a skipped record is logged, never thrown (a retry would fail the same way). */
export type ForwardResult = "posted" | "skipped";

/** Slack refused the message (a revoked, archived or prohibited webhook, a malformed payload). */
export class SlackRefusedError extends Error {
  constructor(
    public readonly status: number,
    public readonly slackError: string,
  ) {
    super(`Slack refused the message: ${status} ${slackError}`);
    this.name = "SlackRefusedError";
  }
}

/**
 * Forwards the notifications of one SNS event (Lambda's SNS event: Records[].Sns with Subject, Message, MessageId,
 * TopicArn; Lambda developer guide, "Using AWS Lambda with Amazon SNS"). A record that is not an SNS notification is
 * skipped with a log line. A missing or wrong secret, Slack throttling or failing, and the network throw, so Lambda
 * retries the event and then hands it to the on-failure destination.
 */
export async function forwardEvent(event: unknown, deps: ForwarderDeps): Promise<ForwardResult[]> {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) {
    deps.log("warn", "event skipped: not an SNS event (no Records list)", { eventKeys: typeof event === "object" && event ? Object.keys(event) : typeof event });
    return ["skipped"];
  }
  const results: ForwardResult[] = [];
  for (const record of records) results.push(await forwardRecord(record, deps));
  return results;
}

async function forwardRecord(record: unknown, deps: ForwarderDeps): Promise<ForwardResult> {
  const notification = snsNotification(record);
  if (typeof notification === "string") {
    deps.log("warn", "record skipped: not an SNS notification", { reason: notification });
    return "skipped";
  }
  const context = { messageId: notification.messageId, subject: notification.subject ?? null };
  const url = await deps.webhookUrl.get();
  const outcome = await deps.post(url, formatNotification(notification, deps.clusterName));
  if (outcome.posted) {
    deps.log("info", "posted to Slack", context);
    return "posted";
  }
  // Gone, archived, prohibited or malformed. Thrown all the same: Lambda's retries read the secret again (it may have been
  // rotated), and then the event lands in the failure queue, whose alarm is the only sign that Slack stopped listening.
  deps.webhookUrl.forget();
  deps.log("error", "Slack refused the message", { ...context, status: outcome.status, slackError: outcome.error });
  throw new SlackRefusedError(outcome.status, outcome.error);
}

/** The record's SNS notification, or why it is none. */
function snsNotification(record: unknown): (TopicNotification & { readonly messageId?: string }) | string {
  const sns = (record as { Sns?: unknown } | null)?.Sns as Record<string, unknown> | undefined;
  if (typeof sns !== "object" || sns === null) return "no Sns object";
  if (typeof sns.Message !== "string") return "Sns.Message is not a string";
  if (sns.Subject !== undefined && sns.Subject !== null && typeof sns.Subject !== "string") return "Sns.Subject is not a string";
  return { message: sns.Message, subject: sns.Subject as string | null | undefined, messageId: typeof sns.MessageId === "string" ? sns.MessageId : undefined };
}
