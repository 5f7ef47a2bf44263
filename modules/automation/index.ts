import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { KmsKeyPolicy } from "@cdktf/provider-aws/lib/kms-key-policy";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { AssetType, Fn, Lazy, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";
import type { AgentSize } from "../compute";
import { autoscalerEnvironment, AutoscalerTuning } from "../../lambdas/autoscaler/settings";
import { drainEventPattern } from "../../lambdas/node-drainer/event-kinds";
import { drainerEnvironment } from "../../lambdas/node-drainer/settings";
import { slackForwarderEnvironment } from "../../lambdas/slack-forwarder/settings";
import { STATE_TABLE_PARTITION_KEY, STATE_TABLE_TTL_ATTRIBUTE } from "../../lambdas/autoscaler/table";
import { AUTOSCALER_METRIC_DIMENSION, AUTOSCALER_METRIC_NAMESPACE, AUTOSCALER_METRIC_STATISTICS } from "../../lambdas/autoscaler/metrics";
import { bundleLambda, LambdaName } from "./bundle";
import { drainTiming } from "./drain-timing";
import { AUTOSCALER_TIMEOUT_SECONDS, SLACK_FORWARDER_TIMEOUT_SECONDS } from "./tuning";

export interface AutoscalerProps extends AutoscalerTuning {
  /** EventBridge schedule of the scaling runs. */
  readonly scheduleExpression: string;
  /** Size of `nodeInstanceType`, read by the agent group (Compute's agentSize), which checks every type has it. */
  readonly agentSize: AgentSize;
}

export interface AutomationProps {
  readonly clusterName: string;
  /** IAM role names are account-global: they carry the region so one account can run the cluster in two regions. */
  readonly region: string;
  /** Private subnets the functions run in; they reach AWS APIs through NAT and the cluster through the API NLB. */
  readonly subnetIds: string[];
  readonly securityGroupId: string;
  /** A rule-less group the functions' network interfaces move to on destroy, so the Lambda group can be deleted. */
  readonly replacementSecurityGroupId: string;
  readonly agentGroupName: string;
  readonly agentGroupArn: string;
  /**
   * Heartbeat timeout of the agents' termination hook, in seconds; the drain function's timeout, its queue's
   * visibility timeout and its heartbeat interval are derived from it (see `drainTiming`).
   */
  readonly drainHeartbeatSeconds: number;
  /** Secret the servers fill with the automation service account's API address, CA and token. */
  readonly accessSecretArn: string;
  /**
   * The pod-driven autoscaler; left out when the agents scale on CPU or through cluster-autoscaler.
   * @default undefined (no autoscaler)
   */
  readonly autoscaler?: AutoscalerProps;
  /**
   * Address subscribed to the notification topic (the subscription must be confirmed from the mail).
   * @default undefined
   */
  readonly notificationEmail?: string;
  /**
   * Secrets Manager secret (full ARN, in this region) holding a Slack incoming-webhook URL; when set, a forwarder
   * function posts every notification of the topic to Slack.
   * @default undefined (no Slack forwarding)
   */
  readonly slackWebhookSecretArn?: string;
  /** Retention of the functions' log groups, in days. */
  readonly logRetentionDays: number;
  /**
   * The cluster's backup vault (backups.enabled): its failed, aborted, expired, partial and "completed with issues"
   * backup jobs, and the failed copies of its recovery points, are published to the topic.
   * @default undefined (no backups, no rule)
   */
  readonly backupVault?: BackupVaultReference;
}

export interface BackupVaultReference {
  readonly name: string;
  readonly arn: string;
}

/** BackupJobState and CopyJobState values (AWS Backup API reference) that end a job short of success. */
const UNSUCCESSFUL_JOB_STATES = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"];

/**
 * AWS Backup's job events about `vault` that need someone's attention (AWS Backup developer guide, "Monitoring AWS Backup
 * events using Amazon EventBridge": detail types "Backup Job State Change", whose detail names the job's vault, and
 * "Copy Job State Change", whose detail names the vault copied from; the job's `state`; "Completed with issues" is a
 * COMPLETED backup job with a status message). Jobs of other vaults in the account (another cluster's, an
 * organisation's plan, EFS automatic backups) are not this cluster's and are left out. AWS Backup emits the events best
 * effort, every 5 minutes.
 */
export function backupFailurePattern(vault: BackupVaultReference) {
  return {
    source: ["aws.backup"],
    $or: [
      { "detail-type": ["Backup Job State Change"], detail: { backupVaultName: [vault.name], state: UNSUCCESSFUL_JOB_STATES } },
      { "detail-type": ["Backup Job State Change"], detail: { backupVaultName: [vault.name], state: ["COMPLETED"], statusMessage: [{ "anything-but": [""] }] } },
      { "detail-type": ["Copy Job State Change"], detail: { sourceBackupVaultArn: [vault.arn], state: UNSUCCESSFUL_JOB_STATES } },
    ],
  };
}

interface FunctionOptions {
  /** Construct ID prefix of the function's resources. */
  readonly id: string;
  /** The bundle under lambdas/, and the function's name after the cluster's. */
  readonly name: LambdaName;
  readonly timeoutSeconds: number;
  /** The whole environment, produced by the function's own settings module, which its handler parses. */
  readonly environment: Record<string, string>;
  /** Statements beyond logs and VPC network interfaces. */
  readonly statements: DataAwsIamPolicyDocumentStatement[];
  /** In the private subnets with the Lambda security group, or outside the VPC (a function that reaches only public endpoints). */
  readonly vpc: boolean;
}

interface AlarmOptions {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly metric: { readonly namespace: string; readonly metricName: string; readonly dimensions: Record<string, string>; readonly statistic: string };
}

/**
 * The cluster's automation: the pod-driven autoscaler on a schedule and the node drainer on spot, rebalance and
 * termination events, with their queue, state table, notifications and alarms.
 */
/** The automation topic's name: its ARN is known before the topic exists (the servers' Alertmanager values name it). */
export function notificationTopicName(clusterName: string): string {
  return `${clusterName}-automation`;
}

export class Automation extends Construct {
  /** SNS topic of every scale action, failure and alarm; alarms elsewhere publish here once admitted (`admitAlarms`). */
  public readonly topicArn: string;
  /** What a publisher in this account needs: publish to the topic and use its key (SNS encrypts with it). */
  public readonly publishStatements: DataAwsIamPolicyDocumentStatement[];
  private readonly partition: string;
  private readonly account: string;
  /** Every alarm publishing to the topic: the only sources CloudWatch may publish and encrypt for. */
  private readonly alarmArns: string[] = [];

  constructor(scope: Construct, id: string, private readonly props: AutomationProps) {
    super(scope, id);
    const { clusterName } = props;
    this.partition = new DataAwsPartition(this, "Partition").partition;
    this.account = new DataAwsCallerIdentity(this, "Account").accountId;

    // Alarms publish through CloudWatch, which needs a customer-managed key (an AWS-managed one is not usable by it).
    // Its policy is a separate resource: it names the alarms, which name the topic, which names the key.
    const key = new KmsKey(this, "NotificationKey", { description: `${clusterName} automation notifications`, enableKeyRotation: true, deletionWindowInDays: 30 });
    const topic = new SnsTopic(this, "NotificationTopic", { name: notificationTopicName(clusterName), kmsMasterKeyId: key.arn });
    if (props.notificationEmail) new SnsTopicSubscription(this, "NotificationEmail", { topicArn: topic.arn, protocol: "email", endpoint: props.notificationEmail });
    this.topicArn = topic.arn;
    this.publishStatements = [
      { sid: "Notify", actions: ["sns:Publish"], resources: [topic.arn] },
      { sid: "EncryptNotifications", actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [key.arn] },
    ];
    const publish: DataAwsIamPolicyDocumentStatement[] = [
      ...this.publishStatements,
      { sid: "ReadClusterAccess", actions: ["secretsmanager:GetSecretValue"], resources: [props.accessSecretArn] },
    ];

    // Drainer: events -> queue (retries, dead letters) -> function.
    const timing = drainTiming(props.drainHeartbeatSeconds);
    const deadLetters = new SqsQueue(this, "DrainDeadLetterQueue", { name: `${clusterName}-node-drain-dlq`, sqsManagedSseEnabled: true, messageRetentionSeconds: 1209600 });
    const queue = new SqsQueue(this, "DrainQueue", {
      name: `${clusterName}-node-drain`,
      sqsManagedSseEnabled: true,
      visibilityTimeoutSeconds: timing.visibilityTimeoutSeconds,
      messageRetentionSeconds: 4 * 3600,
      redrivePolicy: Fn.jsonencode({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount: timing.attempts }),
    });
    const rules = [
      new CloudwatchEventRule(this, "SpotInterruptionRule", {
        name: `${clusterName}-spot-interruption`,
        description: "Two-minute spot interruption warnings",
        eventPattern: JSON.stringify(drainEventPattern("spot-interruption", props.agentGroupName)),
      }),
      new CloudwatchEventRule(this, "RebalanceRule", {
        name: `${clusterName}-rebalance-recommendation`,
        description: "Spot rebalance recommendations",
        eventPattern: JSON.stringify(drainEventPattern("rebalance-recommendation", props.agentGroupName)),
      }),
      new CloudwatchEventRule(this, "AgentTerminationRule", {
        name: `${clusterName}-agent-termination`,
        description: "Termination lifecycle actions of the agents' group",
        // jsonencode, not JSON.stringify: the group's name is a Terraform reference.
        eventPattern: Fn.jsonencode(drainEventPattern("lifecycle-termination", props.agentGroupName)),
      }),
    ];
    rules.forEach((rule, index) => new CloudwatchEventTarget(this, `DrainQueueTarget${index}`, { rule: rule.name, arn: queue.arn }));
    new SqsQueuePolicy(this, "DrainQueuePolicy", {
      queueUrl: queue.url,
      policy: new DataAwsIamPolicyDocument(this, "DrainQueuePolicyDocument", {
        statement: [
          {
            sid: "EventBridgeRulesSend",
            actions: ["sqs:SendMessage"],
            resources: [queue.arn],
            principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
            // EventBridge's own SQS example conditions on the rule ARN, which already names this account
            // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
            condition: [{ test: "ArnEquals", variable: "aws:SourceArn", values: rules.map((rule) => rule.arn) }],
          },
        ],
      }).json,
    });

    const drainerVariables = drainerEnvironment({
      agentGroupName: props.agentGroupName,
      accessSecretArn: props.accessSecretArn,
      topicArn: topic.arn,
      heartbeatIntervalSeconds: timing.heartbeatIntervalSeconds,
      attempts: timing.attempts,
    });
    const drainer = this.lambda({
      id: "NodeDrainer",
      name: "node-drainer",
      timeoutSeconds: timing.functionTimeoutSeconds,
      environment: drainerVariables,
      vpc: true,
      statements: [
        ...publish,
        { sid: "ConsumeDrainQueue", actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"], resources: [queue.arn] },
        { sid: "HoldAndCompleteAgentLifecycleActions", actions: ["autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:CompleteLifecycleAction"], resources: [props.agentGroupArn] },
      ],
    });
    new LambdaEventSourceMapping(this, "DrainQueueMapping", {
      eventSourceArn: queue.arn,
      functionName: drainer.arn,
      batchSize: 5,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 5 },
    });
    this.alarm({
      id: "DrainDeadLetters",
      name: `${clusterName}-node-drain-dead-letters`,
      description: "Drain events that failed three times",
      // A queue depth is a level, not a count of events: any message visible in the period breaches.
      metric: { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: deadLetters.name }, statistic: "Maximum" },
    });

    if (props.autoscaler) this.createAutoscaler(props.autoscaler, publish);
    if (props.slackWebhookSecretArn) this.createSlackForwarder(topic, props.slackWebhookSecretArn);

    // A failed daily backup is otherwise seen only when a restore is needed.
    const backupFailures = props.backupVault
      ? new CloudwatchEventRule(this, "BackupFailureRule", {
          name: `${clusterName}-backup-failures`,
          description: "The cluster vault's backup jobs that failed, were aborted, expired or completed partly or with issues, and its failed copies",
          eventPattern: JSON.stringify(backupFailurePattern(props.backupVault)),
        })
      : undefined;
    if (backupFailures) new CloudwatchEventTarget(this, "BackupFailureTarget", { rule: backupFailures.name, arn: topic.arn });
    // EventBridge publishes to an encrypted topic as its service principal, naming the rule as aws:SourceArn (SNS
    // developer guide, "Encryption at rest": compatibility with AWS services, and EventBridge user guide, "Amazon SNS
    // permissions").
    const eventBridge = [{ type: "Service", identifiers: ["events.amazonaws.com"] }];
    const fromOurRule = backupFailures
      ? [
          { test: "StringEquals", variable: "aws:SourceAccount", values: [this.account] },
          { test: "ArnEquals", variable: "aws:SourceArn", values: [backupFailures.arn] },
        ]
      : [];

    // CloudWatch publishes (and has SNS encrypt) as its service principal, naming the alarm as aws:SourceArn and its
    // account as aws:SourceAccount; without them any account's alarm could use this topic and key
    // (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger,
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    // Read at synth, so alarms other constructs create after this one (admitAlarms) are named too.
    const fromOurAlarms = [
      { test: "StringEquals", variable: "aws:SourceAccount", values: [this.account] },
      { test: "ArnEquals", variable: "aws:SourceArn", values: Lazy.listValue({ produce: () => this.alarmArns }) },
    ];
    const cloudWatch = [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }];
    const keyPolicy = new DataAwsIamPolicyDocument(this, "NotificationKeyPolicyDocument", {
      statement: [
        { sid: "AccountAdministers", actions: ["kms:*"], resources: ["*"], principals: [{ type: "AWS", identifiers: [`arn:${this.partition}:iam::${this.account}:root`] }] },
        { sid: "CloudWatchAlarmsEncrypt", actions: ["kms:Decrypt", "kms:GenerateDataKey*"], resources: ["*"], principals: cloudWatch, condition: fromOurAlarms },
        ...(backupFailures ? [{ sid: "BackupFailureRuleEncrypts", actions: ["kms:Decrypt", "kms:GenerateDataKey*"], resources: ["*"], principals: eventBridge, condition: fromOurRule }] : []),
      ],
    });
    PolicyExemption.of(keyPolicy).exempt(
      "iam-wildcard-action",
      "Statement AccountAdministers is KMS's default key policy statement (KMS developer guide, \"Default key policy\"): the " +
        "account gets kms:* on this key so that IAM policies in the account decide who uses and manages it, and the key can never " +
        "become unmanageable. It names no principal outside the account.",
      { statements: ["AccountAdministers"] },
    );
    new KmsKeyPolicy(this, "NotificationKeyPolicy", { keyId: key.id, policy: keyPolicy.json });
    // Functions in this account publish through their roles' policies; the topic policy only has to admit CloudWatch and
    // the backup rule.
    new SnsTopicPolicy(this, "NotificationTopicPolicy", {
      arn: topic.arn,
      policy: new DataAwsIamPolicyDocument(this, "NotificationTopicPolicyDocument", {
        statement: [
          { sid: "CloudWatchAlarmsPublish", actions: ["sns:Publish"], resources: [topic.arn], principals: cloudWatch, condition: fromOurAlarms },
          ...(backupFailures ? [{ sid: "BackupFailureRulePublishes", actions: ["sns:Publish"], resources: [topic.arn], principals: eventBridge, condition: fromOurRule }] : []),
        ],
      }).json,
    });
  }

  /**
   * Lets these alarms publish to the topic and use its key: the topic and key policies admit CloudWatch only for the
   * alarms they name.
   */
  public admitAlarms(alarmArns: string[]): void {
    this.alarmArns.push(...alarmArns);
  }

  private createAutoscaler(autoscaler: AutoscalerProps, publish: DataAwsIamPolicyDocumentStatement[]) {
    const { clusterName } = this.props;
    const table = new DynamodbTable(this, "AutoscalerTable", {
      name: `${clusterName}-autoscaler`,
      billingMode: "PAY_PER_REQUEST",
      hashKey: STATE_TABLE_PARTITION_KEY,
      attribute: [{ name: STATE_TABLE_PARTITION_KEY, type: "S" }],
      ttl: { attributeName: STATE_TABLE_TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    const autoscalerVariables = autoscalerEnvironment({
      ...autoscaler,
      clusterName,
      agentGroupName: this.props.agentGroupName,
      stateTableName: table.name,
      accessSecretArn: this.props.accessSecretArn,
      topicArn: this.topicArn,
      nodeVcpus: autoscaler.agentSize.vcpus,
      nodeMemoryMiB: autoscaler.agentSize.memoryMiB,
      functionTimeoutSeconds: AUTOSCALER_TIMEOUT_SECONDS,
    });
    const fn = this.lambda({
      id: "Autoscaler",
      name: "autoscaler",
      timeoutSeconds: AUTOSCALER_TIMEOUT_SECONDS,
      environment: autoscalerVariables,
      vpc: true,
      statements: [
        ...publish,
        { sid: "LockAndState", actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], resources: [table.arn] },
        // Describe calls take no resource; the changing calls are limited to the agents' group.
        { sid: "DescribeGroups", actions: ["autoscaling:DescribeAutoScalingGroups"], resources: ["*"] },
        { sid: "ScaleAgents", actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], resources: [this.props.agentGroupArn] },
      ],
    });
    // A run that fails is not retried: the next scheduled run a minute later observes afresh.
    new LambdaFunctionEventInvokeConfig(this, "AutoscalerInvokeConfig", { functionName: fn.functionName, maximumRetryAttempts: 0 });
    PolicyExemption.of(fn).exempt(
      "lambda-async-failure",
      "Its only events are the schedule's ticks, which carry nothing to replay: the next run observes the cluster afresh. Failed runs " +
        "are counted by the Errors alarm, which notifies the SNS topic; an on-failure destination there would mail every failed run.",
    );
    const schedule = new CloudwatchEventRule(this, "AutoscalerSchedule", { name: `${clusterName}-autoscaler`, description: "Autoscaler runs", scheduleExpression: autoscaler.scheduleExpression });
    new CloudwatchEventTarget(this, "AutoscalerScheduleTarget", { rule: schedule.name, arn: fn.arn });
    new LambdaPermission(this, "AutoscalerSchedulePermission", { action: "lambda:InvokeFunction", functionName: fn.functionName, principal: "events.amazonaws.com", sourceArn: schedule.arn });
    // A held pass decides "none", which notifies nothing; held passes are the one sign that scaling has stopped.
    this.alarm({
      id: "AutoscalerHeld",
      name: `${clusterName}-autoscaler-held`,
      description: "The autoscaler neither adds nor removes agents: more than 3 and 45 % of them are unready (NotReady, or not set up 15 minutes after registering); its decisions' reasons name how many",
      metric: { namespace: AUTOSCALER_METRIC_NAMESPACE, metricName: "ScalingHeld", dimensions: { [AUTOSCALER_METRIC_DIMENSION]: clusterName }, statistic: AUTOSCALER_METRIC_STATISTICS.ScalingHeld },
    });
  }

  /**
   * Slack: the topic -> a forwarder function -> the incoming webhook. Outside the VPC: it reaches only Secrets Manager
   * and hooks.slack.com, so it needs no network-interface permissions and no NAT gateway, and alarms about the network
   * itself still get through.
   */
  private createSlackForwarder(topic: SnsTopic, secretArn: string) {
    const { clusterName } = this.props;
    // The ARN is a literal of the config (config/schema.ts checks its shape, config/resolve.ts its partition and region).
    const [, partition, , region, account] = secretArn.split(":");
    const failures = new SqsQueue(this, "SlackForwarderFailures", { name: `${clusterName}-slack-forwarder-failures`, sqsManagedSseEnabled: true, messageRetentionSeconds: 1209600 });
    const fn = this.lambda({
      id: "SlackForwarder",
      name: "slack-forwarder",
      timeoutSeconds: SLACK_FORWARDER_TIMEOUT_SECONDS,
      environment: slackForwarderEnvironment({ clusterName, webhookSecretArn: secretArn }),
      vpc: false,
      statements: [
        { sid: "ReadSlackWebhook", actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] },
        // Needed only when the secret is encrypted with a customer-managed key (GetSecretValue needs kms:Decrypt then, and
        // none with aws/secretsmanager), whose ARN the config does not know: any key of the secret's account, but only as
        // Secrets Manager decrypts this secret, whose ARN it passes as encryption context (Secrets Manager User Guide,
        // "Secret encryption and decryption": the SecretARN encryption context). No kms:ViaService: its endpoint name
        // differs by partition, and the encryption context already names this secret.
        {
          sid: "DecryptSlackWebhookViaSecretsManager",
          actions: ["kms:Decrypt"],
          resources: [`arn:${partition}:kms:${region}:${account}:key/*`],
          condition: [
            { test: "StringEquals", variable: "kms:EncryptionContext:SecretARN", values: [secretArn] },
          ],
        },
        // Lambda sends failed events to the destination with the function's execution role.
        { sid: "KeepFailedNotifications", actions: ["sqs:SendMessage"], resources: [failures.arn] },
      ],
    });
    // SNS invokes the function asynchronously: Lambda retries a failed event twice (Slack throttling or down, the secret
    // unreadable), then sends it, with the error, to the failure queue, which alarms; no notification is lost silently.
    // An hour is long enough for a Slack outage to pass and short enough that what reaches Slack is still news.
    new LambdaFunctionEventInvokeConfig(this, "SlackForwarderInvokeConfig", {
      functionName: fn.functionName,
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 3600,
      destinationConfig: { onFailure: { destination: failures.arn } },
    });
    new LambdaPermission(this, "SlackForwarderTopicPermission", { action: "lambda:InvokeFunction", functionName: fn.functionName, principal: "sns.amazonaws.com", sourceArn: topic.arn });
    new SnsTopicSubscription(this, "SlackForwarderSubscription", { topicArn: topic.arn, protocol: "lambda", endpoint: fn.arn });
    this.alarm({
      id: "SlackForwarderFailures",
      name: `${clusterName}-slack-forwarder-failures`,
      description: "Notifications the Slack forwarder could not post after its retries",
      metric: { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: failures.name }, statistic: "Maximum" },
    });
  }

  private lambda({ id, name, timeoutSeconds, environment, statements, vpc }: FunctionOptions): LambdaFunction {
    const { clusterName } = this.props;
    const functionName = `${clusterName}-${name}`;
    const bundle = bundleLambda(name);
    const code = new TerraformAsset(this, `${id}Code`, { path: bundle.zipPath, type: AssetType.FILE });
    const logGroup = new CloudwatchLogGroup(this, `${id}Logs`, { name: `/aws/lambda/${functionName}`, retentionInDays: this.props.logRetentionDays });

    const assumeRole = new DataAwsIamPolicyDocument(this, `${id}AssumeRole`, {
      statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] }],
    });
    PolicyExemption.of(assumeRole).exempt(
      "iam-service-source",
      "Lambda documents aws:SourceAccount and aws:SourceArn only for policies on the function itself, not as set when it assumes " +
        "an execution role, and a key the service never sends would stop it assuming the role. Passing this role to a function " +
        "takes iam:PassRole in this account, which is what guards it.",
    );
    const role = new IamRole(this, `${id}Role`, { name: `${this.props.clusterName}-${this.props.region}-${name}`, assumeRolePolicy: assumeRole.json });
    const policyDocument = new DataAwsIamPolicyDocument(this, `${id}PolicyDocument`, {
      statement: [
        { sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [`${logGroup.arn}:*`] },
        // Network interfaces for the VPC, which Lambda creates and deletes with the execution role.
        ...(vpc
          ? [
              {
                sid: "VpcNetworkInterfaces",
                actions: ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                resources: ["*"],
              },
            ]
          : []),
        ...statements,
      ],
    });
    if (vpc) PolicyExemption.of(policyDocument).exempt(
      "iam-wildcard-resource",
      "Statement VpcNetworkInterfaces: Lambda itself calls these EC2 actions with the execution role, on network interfaces it " +
        "creates at run time in the function's subnets; AWS's own AWSLambdaVPCAccessExecutionRole grants them on \"*\" " +
        "(Lambda developer guide, \"Giving Lambda functions access to resources in an Amazon VPC\").",
      { statements: ["VpcNetworkInterfaces"] },
    );
    const policy = new IamRolePolicy(this, `${id}Policy`, { role: role.id, name: name, policy: policyDocument.json });

    const fn = new LambdaFunction(this, id, {
      functionName,
      description: `k3s cluster ${clusterName}: ${name}`,
      role: role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      filename: code.path,
      sourceCodeHash: bundle.sourceCodeHash,
      memorySize: 256,
      timeout: timeoutSeconds,
      environment: { variables: environment },
      ...(vpc
        ? {
            vpcConfig: { subnetIds: this.props.subnetIds, securityGroupIds: [this.props.securityGroupId] },
            // A VPC function's network interfaces outlive it and block deleting its security group; on destroy the
            // provider moves them to a rule-less group first (hashicorp/terraform-provider-aws#10329).
            replaceSecurityGroupsOnDestroy: true,
            replacementSecurityGroupIds: [this.props.replacementSecurityGroupId],
          }
        : {}),
      dependsOn: [logGroup, policy],
    });
    // Counts of failed and throttled invocations: any in the period breaches.
    const invocations = (metricName: string) => ({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: fn.functionName }, statistic: "Sum" });
    this.alarm({ id: `${id}Errors`, name: `${functionName}-errors`, description: `${name} invocations that failed`, metric: invocations("Errors") });
    this.alarm({ id: `${id}Throttles`, name: `${functionName}-throttles`, description: `${name} invocations that were throttled`, metric: invocations("Throttles") });
    return fn;
  }

  /** An alarm on any non-zero value in five minutes, notifying the topic when it breaches and when it clears. */
  private alarm({ id, name, description, metric }: AlarmOptions) {
    const topicArn = this.topicArn;
    const alarm = new CloudwatchMetricAlarm(this, `${id}Alarm`, {
      alarmName: name,
      alarmDescription: description,
      ...metric,
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [topicArn],
      okActions: [topicArn],
    });
    this.alarmArns.push(alarm.arn);
  }
}
