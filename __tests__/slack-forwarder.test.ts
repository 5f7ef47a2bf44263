import { readFileSync } from "fs";
import { join } from "path";
import type { SNSEvent } from "aws-lambda";
import { DrainFailedNotification, RecoveryNotification, RunFailedNotification, ScaleNotification, SUBJECTS } from "../lambdas/shared/notifications";
import { escapeMrkdwn, formatNotification, VERBATIM_LIMIT } from "../lambdas/slack-forwarder/format";
import { ALERT_SUBJECT_TEMPLATE } from "../lambdas/shared/notifications";
import { forwardEvent, ForwarderDeps } from "../lambdas/slack-forwarder/forward";
import { parseSlackForwarderSettings, slackForwarderEnvironment } from "../lambdas/slack-forwarder/settings";
import type { PostOutcome } from "../lambdas/slack-forwarder/webhook";

/**
 * The forwarder's pure core: each kind of notification the topic carries, as its Slack text, and what a record comes to
 * (posted, refused by Slack and thrown, skipped). The bodies are typed with the publishers' own notification types, so a field the
 * autoscaler or drainer renames fails to compile here; the alarm messages are CloudWatch's, from real samples.
 */

const EVENTS = join(__dirname, "support", "aws-events", "sns");
const alarmEvent = JSON.parse(readFileSync(join(EVENTS, "aws-lambda-go-cloudwatch-alarm-sns-single-metric.json"), "utf8")) as SNSEvent;
const okNotification = JSON.parse(readFileSync(join(EVENTS, "sns-cloudwatch-alarm-ok-notification.json"), "utf8")) as { Subject: string; Message: string };

const BACKUP_EVENTS = join(__dirname, "support", "aws-events", "backup");
/** What SNS delivers for an EventBridge rule's event: the whole event as the message, no subject. */
const backupEvent = (file: string) => readFileSync(join(BACKUP_EVENTS, file), "utf8");

const format = (subject: string | null | undefined, body: unknown) => formatNotification({ subject, message: typeof body === "string" ? body : JSON.stringify(body, null, 2) }, "k3s-prod").text;

describe("formatting", () => {
  test("a scale-up names the cluster, the agents' desired capacity before and after, and the reason", () => {
    const body: ScaleNotification = { cluster: "k3s-prod", action: "scale-up", by: 2, previousDesired: 3, desired: 5, reason: "4 pod(s) need a new agent; adding 2" };
    expect(format(SUBJECTS.scaleUp, body)).toBe(":arrow_up: *k3s-prod: scaled up* the agents from 3 to 5 (+2)\n*Reason:* 4 pod(s) need a new agent; adding 2");
  });

  test("a scale-down names the sizes, the node removed and its instance, and the reason", () => {
    const body: ScaleNotification = {
      cluster: "k3s-prod",
      action: "scale-down",
      node: "ip-10-0-1-23.eu-west-1.compute.internal",
      instanceId: "i-0123456789abcdef0",
      previousDesired: 4,
      desired: 3,
      reason: "ip-10-0-1-23 has requested 12% of allocatable for 10 min and its 3 pod(s) fit elsewhere",
    };
    expect(format(SUBJECTS.scaleDown, body)).toBe(
      ":arrow_down: *k3s-prod: scaled down* the agents from 4 to 3, removing ip-10-0-1-23.eu-west-1.compute.internal (i-0123456789abcdef0)\n" +
        "*Reason:* ip-10-0-1-23 has requested 12% of allocatable for 10 min and its 3 pod(s) fit elsewhere",
    );
  });

  test("a failed run, recovery results and a failed drain say what happened and the error", () => {
    const failed: RunFailedNotification = { cluster: "k3s-prod", error: "auto scaling group k3s-agents not found" };
    expect(format(SUBJECTS.runFailed, failed)).toBe(":x: *k3s-prod: autoscaler run failed*\n*Error:* auto scaling group k3s-agents not found");

    const recovery: RecoveryNotification = {
      cluster: "k3s-prod",
      done: [{ action: "release", node: "agent-b", mark: "k3s-aws.autoscaler/scale-down", reason: "agent-b was marked for scale-down by a run that did not finish" }],
      failed: [{ action: "replace", node: "agent-c", instanceId: "i-0ccccccccccccccc0", reason: "agent-c NotReady for 25 min", error: "Throttling" }],
    };
    expect(format(SUBJECTS.recovery, recovery).split("\n")).toEqual([
      ":wrench: *k3s-prod: autoscaler recovery*",
      "• released agent-b: agent-b was marked for scale-down by a run that did not finish",
      "• *failed:* replaced agent-c (i-0ccccccccccccccc0): Throttling (agent-c NotReady for 25 min)",
    ]);

    const drain: DrainFailedNotification = { messageId: "m-1", kind: "spot-interruption", instanceId: "i-0123456789abcdef0", error: "connect ECONNREFUSED 10.0.0.10:6443" };
    expect(format(SUBJECTS.drainFailed, drain).split("\n")).toEqual([
      ":warning: *k3s-prod: node drain failed* for i-0123456789abcdef0 on a spot-interruption event; the drainer retries it",
      "*Error:* connect ECONNREFUSED 10.0.0.10:6443",
      "Message m-1",
    ]);
  });

  test("a CloudWatch alarm going to ALARM shows its name, the state change, description and reason (aws-lambda-go sample)", () => {
    const { Subject, Message } = alarmEvent.Records[0].Sns;
    expect(format(Subject, Message).split("\n")).toEqual([
      ":red_circle: *k3s-prod: ALARM: EXAMPLE* (INSUFFICIENT_DATA → ALARM)",
      "EXAMPLE",
      "*Reason:* Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -&gt; ALARM transition).",
      "At 2015-06-03T17:43:27.123+0000",
    ]);
  });

  test("a CloudWatch alarm without enough data shows so (CloudWatch's third state, INSUFFICIENT_DATA)", () => {
    const message = { ...JSON.parse(okNotification.Message), NewStateValue: "INSUFFICIENT_DATA", OldStateValue: "OK" };
    expect(format(okNotification.Subject, JSON.stringify(message)).split("\n")[0]).toBe(":white_circle: *k3s-prod: INSUFFICIENT_DATA: alarm-test* (OK → INSUFFICIENT_DATA)");
  });

  test("a CloudWatch alarm back to OK, without a description (a real OK notification)", () => {
    expect(format(okNotification.Subject, okNotification.Message).split("\n")).toEqual([
      ":large_green_circle: *k3s-prod: OK: alarm-test* (INSUFFICIENT_DATA → OK)",
      "*Reason:* Threshold Crossed: 1 datapoint (1.0) was not greater than or equal to the threshold (2.0).",
      "At 2012-03-23T00:01:43.726+0000",
    ]);
  });

  test("Alertmanager's alerts: the subject its template renders as a headline, the message in a code block", () => {
    // The template's actions evaluated as Go's text/template would for one group (modules/compute/addons.ts).
    const render = (status: "firing" | "resolved", firing: number, alertname: string, namespace: string) =>
      ALERT_SUBJECT_TEMPLATE.replace('{{ .Status | toUpper }}', status.toUpperCase())
        .replace('{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}', status === "firing" ? `:${firing}` : "")
        .replace('{{ printf "%.40s" .CommonLabels.alertname }}', alertname.slice(0, 40))
        .replace('{{ printf "%.40s" .GroupLabels.namespace }}', namespace.slice(0, 40));
    // Alertmanager's default SNS message (template/default.tmpl, sns.default.message): annotations, then the alerts.
    const message = "Pod default/web-1 is crash looping.\nAlerts Firing:\nLabels:\n - alertname = KubePodCrashLooping\n - namespace = default\n - severity = warning";
    const firing = format(render("firing", 2, "KubePodCrashLooping", "default"), message).split("\n");
    expect(firing[0]).toBe(":rotating_light: *k3s-prod: 2 alerts firing:* KubePodCrashLooping default");
    expect(firing.slice(1).join("\n")).toBe("```" + message + "```");
    expect(format(render("firing", 1, "KubePodCrashLooping", "default"), message).split("\n")[0]).toBe(":rotating_light: *k3s-prod: 1 alert firing:* KubePodCrashLooping default");
    expect(format(render("resolved", 0, "KubePodCrashLooping", "default"), message).split("\n")[0]).toBe(":white_check_mark: *k3s-prod: resolved:* KubePodCrashLooping default");
    // A subject without the count (another template) still reads.
    expect(format("[FIRING] KubePodCrashLooping default", message).split("\n")[0]).toBe(":rotating_light: *k3s-prod: an alert firing:* KubePodCrashLooping default");
    // Anything an alert carries is escaped like every other text.
    expect(format(render("firing", 1, "Disk<full>", "a&b"), "x").split("\n")[0]).toBe(":rotating_light: *k3s-prod: 1 alert firing:* Disk&lt;full&gt; a&amp;b");
  });

  test("AWS Backup's failed, aborted and partial jobs (the developer guide's example events) name the job, the resource and AWS Backup's reason", () => {
    expect(format(undefined, backupEvent("backup-job-failed.json")).split("\n")).toEqual([
      ":x: *k3s-prod: AWS Backup backup job FAILED* for type arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
      '*Reason:* "Backup job failed because backup vault arn:aws:backup:us-west-2:1112233445566:backup-vault:9ab3e749-82c6-4342-9320-5edbf4918b86 does not exist."',
      "Backup job 34176239-e96d-4e1d-9fad-529dbb3c3556 in vault 9ab3e749-82c6-4342-9320-5edbf4918b86, at 2020-07-29T20:15:26Z",
    ]);
    expect(format(null, backupEvent("copy-job-failed.json")).split("\n")).toEqual([
      ":x: *k3s-prod: AWS Backup copy job FAILED* for EC2 arn:aws:ec2:us-west-2:1112233445566:instance/i-0515aee7de03f58e1",
      "*Reason:* Access denied exception while trying to list tags",
      "Copy job 47C8EF56-74D8-059D-1301-C5BE1D5C926E to arn:aws:backup:us-west-2:1112233445566:backup-vault:55aa945e-c46a-421b-aa27-f94b074e31b7, at 2020-07-15T20:37:34Z",
    ]);
    expect(format(undefined, backupEvent("backup-job-aborted.json")).split("\n")[1]).toBe('*Reason:* "Backup job was stopped by user."');
    // PARTIAL (the API's BackupJobState) is a warning, not a failure; a job without a message or resource leaves those out.
    const partial = JSON.parse(backupEvent("backup-job-completed.json"));
    partial.detail = { ...partial.detail, state: "PARTIAL", resourceType: undefined, resourceArn: undefined };
    expect(format(undefined, partial).split("\n")).toEqual([
      ":warning: *k3s-prod: AWS Backup backup job PARTIAL*",
      "Backup job a827233a-d405-4a86-a440-759fa94f34dd in vault 9732c1b4-1091-472a-9d9f-52e0565ee39a, at 2020-07-15T21:41:17Z",
    ]);
  });

  test("a backup job COMPLETED with a status message (AWS Backup's \"Completed with issues\") is a warning with the message", () => {
    const withIssues = JSON.parse(backupEvent("backup-job-completed.json"));
    withIssues.detail.statusMessage = "Windows VSS backup attempt failed because the instance lacks the required role";
    expect(format(undefined, withIssues).split("\n").slice(0, 2)).toEqual([
      ":warning: *k3s-prod: AWS Backup backup job COMPLETED with issues* for type arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
      "*Reason:* Windows VSS backup attempt failed because the instance lacks the required role",
    ]);
    // The rule sends no COMPLETED job without a message, but one published to the topic reads as the success it is.
    expect(format(undefined, backupEvent("backup-job-completed.json")).split("\n")[0]).toBe(
      ":white_check_mark: *k3s-prod: AWS Backup backup job COMPLETED* for type arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
    );
    expect(format(undefined, backupEvent("backup-job-expired.json")).split("\n")[0]).toBe(
      ":x: *k3s-prod: AWS Backup backup job EXPIRED* for type arn:aws:service:us-west-2:1112233445566:resource-type/resource-id",
    );
  });

  test("an AWS Backup job event missing its id, vault, time or resource type says so rather than printing blanks", () => {
    const bare = JSON.parse(backupEvent("copy-job-failed.json"));
    delete bare.time;
    bare.detail = { state: "FAILED", resourceType: "", resourceArn: "arn:aws:elasticfilesystem:us-west-2:1112233445566:file-system/fs-1" };
    expect(format(undefined, bare).split("\n")).toEqual([
      ":x: *k3s-prod: AWS Backup copy job FAILED* for arn:aws:elasticfilesystem:us-west-2:1112233445566:file-system/fs-1",
      "Copy job (no id)",
    ]);
    expect(format(undefined, { ...bare, "detail-type": "Backup Job State Change" }).split("\n")[1]).toBe("Backup job (no id)");
  });

  test("an AWS Backup event of another kind (a restore job reports `status`, not `state`) is posted as received", () => {
    expect(format(undefined, backupEvent("restore-job-failed.json"))).toContain("not a kind this forwarder formats");
  });

  test("an unknown message is posted as received in a code block, with a note, never dropped", () => {
    expect(format("hello", "plain text from someone publishing to the topic").split("\n")).toEqual([
      ':grey_question: *k3s-prod: notification* "hello" (not a kind this forwarder formats; as received):',
      "```plain text from someone publishing to the topic```",
    ]);
    // A known subject whose body does not have the publisher's fields, or is not JSON, is not guessed at either.
    for (const subject of Object.values(SUBJECTS)) {
      expect(format(subject, { cluster: "k3s-prod", action: "scale-up" })).toContain("not a kind this forwarder formats");
      expect(format(subject, "not json")).toBe(`:grey_question: *k3s-prod: notification* "${subject}" (not a kind this forwarder formats; as received):\n\`\`\`not json\`\`\``);
    }
    expect(format(undefined, "{}")).toContain("*k3s-prod: notification* without a subject");
  });

  test("an unknown message longer than the limit is cut, and the note says how much was kept", () => {
    const long = "x".repeat(VERBATIM_LIMIT + 500);
    const text = format("big", long);
    expect(text).toContain(`first ${VERBATIM_LIMIT} of ${VERBATIM_LIMIT + 500} characters`);
    expect(text).toContain("```" + "x".repeat(VERBATIM_LIMIT) + "…```");
    // 3000 characters exactly are posted whole, without a note.
    expect(format("edge", "y".repeat(3000)).split("\n")).toEqual([':grey_question: *k3s-prod: notification* "edge" (not a kind this forwarder formats; as received):', "```" + "y".repeat(3000) + "```"]);
  });

  test("an alarm without a previous state or a time leaves those parts out; a replacement without its instance is not guessed at", () => {
    const recovery = { cluster: "k3s-prod", done: [{ action: "replace", node: "agent-d", reason: "NotReady for 25 min" }], failed: [] };
    expect(format(SUBJECTS.recovery, recovery)).toContain("not a kind this forwarder formats");
    // A failure without its error is not one the autoscaler publishes (RecoveryNotification), so it is shown as received.
    for (const failure of [
      { action: "replace", node: "agent-c", instanceId: "i-0ccccccccccccccc0", reason: "NotReady for 25 min" },
      { action: "release", node: "agent-c", reason: "agent-c was marked for scale-down" },
    ]) {
      expect(format(SUBJECTS.recovery, { cluster: "k3s-prod", done: [], failed: [failure] })).toContain("not a kind this forwarder formats");
    }
    const alarm = { AlarmName: "k3s-agents-at-max", NewStateValue: "ALARM", NewStateReason: "Threshold Crossed" };
    expect(format("ALARM: k3s-agents-at-max", alarm).split("\n")).toEqual([":red_circle: *k3s-prod: ALARM: k3s-agents-at-max*", "*Reason:* Threshold Crossed"]);
  });

  test("&, < and > in any text from a notification are escaped, so it cannot link or mention", () => {
    expect(escapeMrkdwn("a & b <!channel> <https://evil.example|click> >")).toBe("a &amp; b &lt;!channel&gt; &lt;https://evil.example|click&gt; &gt;");
    const body: RunFailedNotification = { cluster: "k3s-prod", error: "pod <!here> & <@U123>" };
    expect(format(SUBJECTS.runFailed, body)).toBe(":x: *k3s-prod: autoscaler run failed*\n*Error:* pod &lt;!here&gt; &amp; &lt;@U123&gt;");
    expect(format("<!channel>", "<b>")).toBe(':grey_question: *k3s-prod: notification* "&lt;!channel&gt;" (not a kind this forwarder formats; as received):\n```&lt;b&gt;```');
    // A backtick run inside would close Slack's code block early; a zero-width space after its first backtick keeps it in.
    expect(format("edge", "a```b").split("\n")[1]).toBe("```a`\u200b``b```");
    expect(formatNotification({ subject: "x", message: "y" }, "a<b").text.startsWith(":grey_question: *a&lt;b: notification*")).toBe(true);
  });
});

describe("forwarding an SNS event", () => {
  function harness(outcome: PostOutcome | Error) {
    const posts: [string, string][] = [];
    const logs: [string, string, Record<string, unknown> | undefined][] = [];
    let forgotten = 0;
    let reads = 0;
    const deps: ForwarderDeps = {
      clusterName: "k3s-prod",
      webhookUrl: {
        get: async () => {
          reads += 1;
          return "https://hooks.slack.com/services/T000/B000/XXXX";
        },
        forget: () => void (forgotten += 1),
      },
      post: async (url, message) => {
        posts.push([url, message.text]);
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
      log: (level, message, fields) => void logs.push([level, message, fields]),
    };
    return { deps, posts, logs, counts: () => ({ forgotten, reads }) };
  }

  test("a notification is formatted and posted to the secret's URL, and the post logged without the URL", async () => {
    const { deps, posts, logs } = harness({ posted: true });
    expect(await forwardEvent(alarmEvent, deps)).toEqual(["posted"]);
    expect(posts).toEqual([["https://hooks.slack.com/services/T000/B000/XXXX", expect.stringContaining("ALARM: EXAMPLE")]]);
    expect(logs).toEqual([["info", "posted to Slack", { messageId: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", subject: "TestInvoke" }]]);
    expect(JSON.stringify(logs)).not.toContain("hooks.slack.com");
  });

  test("Slack refusing the message (4xx) is logged and thrown, so the event reaches the failure queue and its alarm; the cached URL is dropped", async () => {
    const { deps, logs, counts } = harness({ posted: false, status: 404, error: "no_service" });
    // Lambda records the error's name as the failure destination's errorType.
    await expect(forwardEvent(alarmEvent, deps)).rejects.toMatchObject({ name: "SlackRefusedError", message: "Slack refused the message: 404 no_service", status: 404, slackError: "no_service" });
    expect(logs).toEqual([["error", "Slack refused the message", { messageId: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", subject: "TestInvoke", status: 404, slackError: "no_service" }]]);
    expect(counts().forgotten).toBe(1);
  });

  test("a failure worth retrying propagates, so Lambda retries the event", async () => {
    const { deps } = harness(new Error("Slack answered 503 (upstream); retried by Lambda"));
    await expect(forwardEvent(alarmEvent, deps)).rejects.toThrow("Slack answered 503");
  });

  const notAnEvent = "event skipped: not an SNS event (no Records list)";
  const notANotification = "record skipped: not an SNS notification";
  test.each([
    ["an EventBridge event (no Records list)", { detail: {} }, notAnEvent, { eventKeys: ["detail"] }],
    ["a null event", null, notAnEvent, { eventKeys: "object" }],
    ["a text event", "ping", notAnEvent, { eventKeys: "string" }],
    ["a null record", { Records: [null] }, notANotification, { reason: "no Sns object" }],
    ["an SQS record (no Sns)", { Records: [{ body: "{}" }] }, notANotification, { reason: "no Sns object" }],
    ["a null Sns", { Records: [{ Sns: null }] }, notANotification, { reason: "no Sns object" }],
    ["a message that is not text", { Records: [{ Sns: { Message: { a: 1 } } }] }, notANotification, { reason: "Sns.Message is not a string" }],
    ["a subject that is not text", { Records: [{ Sns: { Message: "m", Subject: 5 } }] }, notANotification, { reason: "Sns.Subject is not a string" }],
  ])("%s is a logged skip, with why: no secret read, no post, no throw", async (_name, event, message, fields) => {
    const { deps, posts, logs, counts } = harness({ posted: true });
    expect(await forwardEvent(event, deps)).toEqual(["skipped"]);
    expect(posts).toEqual([]);
    expect(counts().reads).toBe(0);
    expect(logs).toEqual([["warn", message, fields]]);
  });

  test("a message without a subject or with a MessageId that is not text is still forwarded", async () => {
    const { deps, posts, logs } = harness({ posted: true });
    expect(await forwardEvent({ Records: [{ Sns: { Message: "raw", MessageId: 7 } }] }, deps)).toEqual(["posted"]);
    expect(posts).toHaveLength(1);
    expect(logs).toEqual([["info", "posted to Slack", { messageId: undefined, subject: null }]]);
  });

  test("a null subject (a message published without one) is forwarded", async () => {
    const { deps, posts } = harness({ posted: true });
    await forwardEvent({ Records: [{ Sns: { Message: "raw", Subject: null, MessageId: "m" } }] }, deps);
    expect(posts[0][1]).toContain("without a subject");
  });
});

describe("settings", () => {
  test("the environment the construct writes is the one the handler parses", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-AbCdEf";
    expect(parseSlackForwarderSettings(slackForwarderEnvironment({ clusterName: "k3s", webhookSecretArn: arn }))).toEqual({ clusterName: "k3s", webhookSecretArn: arn });
  });

  test("a missing or malformed variable is named", () => {
    expect(() => parseSlackForwarderSettings({ CLUSTER_NAME: "k3s", SLACK_WEBHOOK_SECRET_ARN: "https://hooks.slack.com/services/x" })).toThrow(
      "invalid environment: SLACK_WEBHOOK_SECRET_ARN: is not a Secrets Manager secret ARN",
    );
    expect(() => parseSlackForwarderSettings({ SLACK_WEBHOOK_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x" })).toThrow("CLUSTER_NAME");
    expect(() => parseSlackForwarderSettings({ CLUSTER_NAME: "k3s", SLACK_WEBHOOK_SECRET_ARN: "x-arn:aws:secretsmanager:eu-west-1:123456789012:secret:x" })).toThrow(
      "invalid environment: SLACK_WEBHOOK_SECRET_ARN: is not a Secrets Manager secret ARN",
    );
  });
});
