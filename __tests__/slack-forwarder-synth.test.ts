import { parseSlackForwarderSettings, SLACK_WEBHOOK_TIMEOUT_MS } from "../lambdas/slack-forwarder/settings";
import { appliedLambdaEnvironment, documentStatements, ref, resourceNamed, resourcesOf, synthCluster } from "./helpers";

/**
 * The Slack forwarder in the synthesised stack: absent without automation.slackWebhookSecretArn; with it, subscribed to
 * the automation topic, invocable only by SNS for that topic, its role limited to the one secret (and a key only as
 * Secrets Manager decrypts that secret), its failures kept in a queue that alarms.
 */

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-webhook-AbCdEf";

test("without a webhook secret there is no forwarder, subscription, permission or failure queue", () => {
  const { json } = synthCluster();
  expect(resourcesOf(json, "aws_lambda_function").map(([, fn]) => fn.function_name)).not.toContain("k3s-slack-forwarder");
  expect(resourcesOf(json, "aws_sns_topic_subscription")).toEqual([]);
  expect(resourcesOf(json, "aws_lambda_permission").filter(([, permission]) => permission.principal === "sns.amazonaws.com")).toEqual([]);
  expect(resourcesOf(json, "aws_sqs_queue").map(([, queue]) => queue.name)).not.toContain("k3s-slack-forwarder-failures");
});

describe("with a webhook secret", () => {
  const { json } = synthCluster({ automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: SECRET_ARN } });
  const fn = resourceNamed(json, "aws_lambda_function", "Automation_SlackForwarder");
  const topic = ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn");
  const failures = ref(json, "aws_sqs_queue", "Automation_SlackForwarderFailures", "arn");

  test("the function runs its own bundle outside the VPC, with no reserved concurrency (an account at the default quota of 10 could not reserve any)", () => {
    expect(fn).toMatchObject({ function_name: "k3s-slack-forwarder", runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", timeout: 30 });
    expect(fn.filename).toMatch(/^assets\/Automation_SlackForwarderCode_[A-F0-9]+\/[A-F0-9]+\/slack-forwarder\.zip$/);
    expect(fn.vpc_config).toBeUndefined();
    expect(fn.reserved_concurrent_executions).toBeUndefined();
  });

  test("the webhook call gives up well inside the function's timeout, leaving time for the secret read, so a hung Slack is retried", () => {
    expect(fn.timeout * 1000).toBeGreaterThanOrEqual(2 * SLACK_WEBHOOK_TIMEOUT_MS + 5_000);
  });

  test("its environment, as applied, is what the handler's own settings parser reads: the secret's ARN, never a URL", () => {
    const environment = appliedLambdaEnvironment(json, "SlackForwarder");
    expect(parseSlackForwarderSettings(environment)).toEqual({ clusterName: "k3s", webhookSecretArn: SECRET_ARN });
    expect(JSON.stringify(json)).not.toContain("hooks.slack.com");
  });

  test("it is subscribed to the automation topic, and only SNS for that topic may invoke it", () => {
    expect(resourceNamed(json, "aws_sns_topic_subscription", "Automation_SlackForwarderSubscription")).toMatchObject({
      topic_arn: topic,
      protocol: "lambda",
      endpoint: ref(json, "aws_lambda_function", "Automation_SlackForwarder", "arn"),
    });
    expect(resourceNamed(json, "aws_lambda_permission", "Automation_SlackForwarderTopicPermission")).toEqual({
      action: "lambda:InvokeFunction",
      function_name: ref(json, "aws_lambda_function", "Automation_SlackForwarder", "function_name"),
      principal: "sns.amazonaws.com",
      source_arn: topic,
    });
  });

  test("its role reads only that secret, decrypts only through Secrets Manager for that secret, and writes its logs and failures", () => {
    const statements = documentStatements(json, resourceNamed(json, "aws_iam_role_policy", "Automation_SlackForwarderPolicy").policy);
    expect(statements).toEqual([
      { sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [`${ref(json, "aws_cloudwatch_log_group", "Automation_SlackForwarderLogs", "arn")}:*`] },
      { sid: "ReadSlackWebhook", actions: ["secretsmanager:GetSecretValue"], resources: [SECRET_ARN] },
      {
        sid: "DecryptSlackWebhookViaSecretsManager",
        actions: ["kms:Decrypt"],
        resources: ["arn:aws:kms:eu-west-1:123456789012:key/*"],
        condition: [
          { test: "StringEquals", variable: "kms:EncryptionContext:SecretARN", values: [SECRET_ARN] },
        ],
      },
      { sid: "KeepFailedNotifications", actions: ["sqs:SendMessage"], resources: [failures] },
    ]);
    // Nothing to publish, no cluster access, no network interfaces.
    expect(statements.flatMap((statement) => statement.actions)).not.toEqual(expect.arrayContaining(["sns:Publish"]));
  });

  test("failed events are retried twice, then kept in an encrypted queue for 14 days, whose depth alarms on the topic", () => {
    expect(resourceNamed(json, "aws_lambda_function_event_invoke_config", "Automation_SlackForwarderInvokeConfig")).toEqual({
      function_name: ref(json, "aws_lambda_function", "Automation_SlackForwarder", "function_name"),
      maximum_retry_attempts: 2,
      maximum_event_age_in_seconds: 3600,
      destination_config: { on_failure: { destination: failures } },
    });
    expect(resourceNamed(json, "aws_sqs_queue", "Automation_SlackForwarderFailures")).toMatchObject({ name: "k3s-slack-forwarder-failures", sqs_managed_sse_enabled: true, message_retention_seconds: 1209600 });
    expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Automation_SlackForwarderFailuresAlarm")).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: ref(json, "aws_sqs_queue", "Automation_SlackForwarderFailures", "name") },
      alarm_actions: [topic],
    });
  });

  test("the other functions are unchanged by it: still in the VPC, with no reserved concurrency", () => {
    for (const id of ["Autoscaler", "NodeDrainer"]) {
      const other = resourceNamed(json, "aws_lambda_function", `Automation_${id}`);
      expect(other.vpc_config).toBeDefined();
      expect(other.reserved_concurrent_executions).toBeUndefined();
    }
  });
});
