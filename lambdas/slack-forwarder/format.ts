/**
 * Pure: one SNS notification of the automation topic -> one Slack message. The project's own notifications are read
 * with the publishers' subjects and body types (lambdas/shared/notifications.ts); CloudWatch alarm notifications with
 * the fields CloudWatch sends (AlarmName, NewStateValue, OldStateValue, NewStateReason, ...: the sample in aws/aws-lambda-go
 * events/testdata/cloudwatch-alarm-sns-payload-single-metric.json); AWS Backup's job events, which EventBridge publishes
 * as the whole event without a subject (the fields of the AWS Backup developer guide's examples, "Monitoring AWS Backup
 * events using Amazon EventBridge"). Anything else is posted as received, truncated, with a note: a notification is
 * never dropped for its shape.
 */
import * as z from "zod/mini";
import { ALERT_SUBJECT_PATTERN, SUBJECTS } from "../shared/notifications";

/** The body of an incoming-webhook POST: `text` is rendered as mrkdwn. */
export interface SlackMessage {
  readonly text: string;
}

/** What SNS delivers: the subject (none for a message published without one) and the message text. */
export interface TopicNotification {
  readonly subject?: string | null;
  readonly message: string;
}

/** Most characters of an unrecognised message posted verbatim; Slack itself cuts `text` at 40,000. */
export const VERBATIM_LIMIT = 3000;

/**
 * Slack's three control characters, the only ones to escape in text (slackhq/slack-api-docs page_formatting.md, "How to
 * escape characters": "There are three characters you must convert to HTML entities and only three: &, <, and >"), so a pod or node name cannot
 * become a link or an @channel mention.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const count = z.number().check(z.int(), z.nonnegative());
const text = z.string();
const ScaleUp = z.object({ cluster: text, action: z.literal("scale-up"), by: count, previousDesired: count, desired: count, reason: text });
const ScaleDown = z.object({ cluster: text, action: z.literal("scale-down"), node: text, instanceId: text, previousDesired: count, desired: count, reason: text });
const RunFailed = z.object({ cluster: text, error: text });
const Release = z.object({ action: z.literal("release"), node: text, reason: text });
const Replace = z.object({ action: z.literal("replace"), node: text, instanceId: text, reason: text });
const RecoveryAction = z.union([Release, Replace]);
const Recovery = z.object({ cluster: text, done: z.array(RecoveryAction), failed: z.array(z.union([z.extend(Release, { error: text }), z.extend(Replace, { error: text })])) });
const DrainFailed = z.object({ messageId: text, kind: text, instanceId: text, error: text });
// CloudWatch's alarm notification; AlarmDescription is null when the alarm has none (the OK sample), and
// composite alarms carry no Trigger, so it is not read.
const Alarm = z.object({
  AlarmName: text,
  AlarmDescription: z.optional(z.nullable(text)),
  NewStateValue: z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]),
  OldStateValue: z.optional(z.nullable(text)),
  NewStateReason: text,
  StateChangeTime: z.optional(text),
  Region: z.optional(text),
});
// A backup or copy job's event as EventBridge delivers it. A failed copy's destinationRecoveryPointArn is an empty
// object, so it is not read.
const BackupJobEvent = z.object({
  source: z.literal("aws.backup"),
  "detail-type": z.enum(["Backup Job State Change", "Copy Job State Change"]),
  time: z.optional(text),
  detail: z.object({
    state: text,
    statusMessage: z.optional(text),
    resourceType: z.optional(text),
    resourceArn: z.optional(text),
    backupJobId: z.optional(text),
    backupVaultName: z.optional(text),
    copyJobId: z.optional(text),
    destinationBackupVaultArn: z.optional(text),
  }),
});

const STATE_ICON: Record<z.infer<typeof Alarm>["NewStateValue"], string> = { ALARM: ":red_circle:", OK: ":large_green_circle:", INSUFFICIENT_DATA: ":white_circle:" };

/** The Slack message for one notification of `clusterName`'s topic. */
export function formatNotification(notification: TopicNotification, clusterName: string): SlackMessage {
  const cluster = escapeMrkdwn(clusterName);
  const lines = alertLines(notification, cluster) ?? recognised(notification.subject ?? undefined, parseJson(notification.message), cluster);
  return { text: (lines ?? verbatim(notification, cluster)).join("\n") };
}

/** Alertmanager's alerts: the subject as a headline, its message (text, its default SNS template) in a code block. */
function alertLines(notification: TopicNotification, cluster: string): string[] | undefined {
  const alert = ALERT_SUBJECT_PATTERN.exec(notification.subject ?? "");
  if (!alert) return undefined;
  const [, status, count, about] = alert;
  const headline =
    status === "FIRING" ? `:rotating_light: *${cluster}: ${count ?? "an"} alert${count === "1" || count === undefined ? "" : "s"} firing:* ${escapeMrkdwn(about)}` : `:white_check_mark: *${cluster}: resolved:* ${escapeMrkdwn(about)}`;
  return [headline, ...codeBlock(notification.message)];
}

function recognised(subject: string | undefined, body: unknown, cluster: string): string[] | undefined {
  const e = escapeMrkdwn;
  switch (subject) {
    case SUBJECTS.scaleUp: {
      const up = ScaleUp.safeParse(body);
      if (!up.success) return undefined;
      const { by, previousDesired, desired, reason } = up.data;
      return [`:arrow_up: *${cluster}: scaled up* the agents from ${previousDesired} to ${desired} (+${by})`, `*Reason:* ${e(reason)}`];
    }
    case SUBJECTS.scaleDown: {
      const down = ScaleDown.safeParse(body);
      if (!down.success) return undefined;
      const { node, instanceId, previousDesired, desired, reason } = down.data;
      return [`:arrow_down: *${cluster}: scaled down* the agents from ${previousDesired} to ${desired}, removing ${e(node)} (${e(instanceId)})`, `*Reason:* ${e(reason)}`];
    }
    case SUBJECTS.runFailed: {
      const failed = RunFailed.safeParse(body);
      if (!failed.success) return undefined;
      return [`:x: *${cluster}: autoscaler run failed*`, `*Error:* ${e(failed.data.error)}`];
    }
    case SUBJECTS.recovery: {
      const recovery = Recovery.safeParse(body);
      if (!recovery.success) return undefined;
      const what = (action: z.infer<typeof RecoveryAction>) =>
        action.action === "release" ? `released ${e(action.node)}` : `replaced ${e(action.node)} (${e(action.instanceId)})`;
      return [
        `:wrench: *${cluster}: autoscaler recovery*`,
        ...recovery.data.done.map((action) => `• ${what(action)}: ${e(action.reason)}`),
        ...recovery.data.failed.map((action) => `• *failed:* ${what(action)}: ${e(action.error)} (${e(action.reason)})`),
      ];
    }
    case SUBJECTS.drainFailed: {
      const drain = DrainFailed.safeParse(body);
      if (!drain.success) return undefined;
      const { instanceId, kind, messageId, error } = drain.data;
      return [`:warning: *${cluster}: node drain failed* for ${e(instanceId)} on a ${e(kind)} event; the drainer retries it`, `*Error:* ${e(error)}`, `Message ${e(messageId)}`];
    }
  }
  const backupJob = BackupJobEvent.safeParse(body);
  if (backupJob.success) return backupJobLines(backupJob.data, cluster);
  const alarm = Alarm.safeParse(body);
  if (!alarm.success) return undefined;
  const { AlarmName, AlarmDescription, NewStateValue, OldStateValue, NewStateReason, StateChangeTime } = alarm.data;
  const change = OldStateValue ? ` (${e(OldStateValue)} → ${NewStateValue})` : "";
  return [
    `${STATE_ICON[NewStateValue]} *${cluster}: ${NewStateValue}: ${e(AlarmName)}*${change}`,
    ...(AlarmDescription ? [e(AlarmDescription)] : []),
    `*Reason:* ${e(NewStateReason)}`,
    ...(StateChangeTime ? [`At ${e(StateChangeTime)}`] : []),
  ];
}

/** What went wrong with which resource, AWS Backup's reason, and the job to look up. */
function backupJobLines(event: z.infer<typeof BackupJobEvent>, cluster: string): string[] {
  const e = escapeMrkdwn;
  const { state, statusMessage, resourceType, resourceArn, backupJobId, backupVaultName, copyJobId, destinationBackupVaultArn } = event.detail;
  const copy = event["detail-type"] === "Copy Job State Change";
  const resource = [resourceType, resourceArn].filter((part) => part !== undefined && part !== "").join(" ");
  const job = copy
    ? [`Copy job ${e(copyJobId ?? "(no id)")}`, ...(destinationBackupVaultArn ? [`to ${e(destinationBackupVaultArn)}`] : [])]
    : [`Backup job ${e(backupJobId ?? "(no id)")}`, ...(backupVaultName ? [`in vault ${e(backupVaultName)}`] : [])];
  // A COMPLETED job with a status message is what AWS Backup's console calls "Completed with issues".
  const withIssues = state === "COMPLETED" && Boolean(statusMessage);
  const outcome = withIssues ? "COMPLETED with issues" : state;
  const icon = withIssues || state === "PARTIAL" ? ":warning:" : state === "COMPLETED" ? ":white_check_mark:" : ":x:";
  return [
    `${icon} *${cluster}: AWS Backup ${copy ? "copy" : "backup"} job ${e(outcome)}*${resource ? ` for ${e(resource)}` : ""}`,
    ...(statusMessage ? [`*Reason:* ${e(statusMessage)}`] : []),
    `${job.join(" ")}${event.time ? `, at ${e(event.time)}` : ""}`,
  ];
}

/** Anything not recognised, posted as received in a code block. */
function verbatim(notification: TopicNotification, cluster: string): string[] {
  const { message, subject } = notification;
  const note = message.length > VERBATIM_LIMIT ? `, first ${VERBATIM_LIMIT} of ${message.length} characters` : "";
  return [
    `:grey_question: *${cluster}: notification* ${subject ? `"${escapeMrkdwn(subject)}"` : "without a subject"} (not a kind this forwarder formats; as received${note}):`,
    ...codeBlock(message),
  ];
}

/** Text in a code block, cut at VERBATIM_LIMIT characters. */
function codeBlock(message: string): string[] {
  const cut = message.length > VERBATIM_LIMIT ? `${message.slice(0, VERBATIM_LIMIT)}…` : message;
  // A backtick run in the message would end the code block early; a zero-width space keeps it in.
  return ["```" + escapeMrkdwn(cut).replace(/```/g, "`\u200b``") + "```"];
}

/** The message as JSON, or undefined when it is not JSON (then no kind matches, and it is posted verbatim). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON.
  }
  return undefined;
}
