import { createHash } from "crypto";
import { readFileSync } from "fs";
import { parseAutoscalerSettings } from "../lambdas/autoscaler/settings";
import { parseDrainerSettings } from "../lambdas/node-drainer/settings";
import { bundleLambda } from "../modules/automation/bundle";
import { appliedLambdaEnvironment, appliedReference, documentStatements, ref, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

/** The statements of the aws_iam_policy_document a policy attribute ("${data.aws_iam_policy_document.X.json}") names. */

function roleStatements(json: TerraformJson, id: "Autoscaler" | "NodeDrainer"): any[] {
  return documentStatements(json, resourceNamed(json, "aws_iam_role_policy", `Automation_${id}Policy`).policy);
}

describe("functions", () => {
  const { json } = synthCluster();

  // The drainer's timeout follows the hook's heartbeat (asserted with the queue in node-drainer.test.ts).
  test.each([
    ["Autoscaler", "autoscaler"],
    ["NodeDrainer", "node-drainer"],
  ] as const)("%s: Node.js 22 on arm64 from its reproducible bundle, in the private subnets", (id, name) => {
    const fn = resourceNamed(json, "aws_lambda_function", `Automation_${id}`);
    expect(fn).toMatchObject({ function_name: `k3s-${name}`, runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler" });
    expect(fn.filename).toMatch(new RegExp(`^assets/Automation_${id}Code_[A-F0-9]+/[A-F0-9]+/${name}\\.zip$`));
    // What Terraform's filebase64sha256 gives for the uploaded file (AWS provider docs, aws_lambda_function
    // source_code_hash), read back from disk rather than taken from the bundler that computed it.
    expect(fn.source_code_hash).toBe(createHash("sha256").update(readFileSync(bundleLambda(name).zipPath)).digest("base64"));
    expect(fn.vpc_config.subnet_ids).toEqual(["A", "B", "C"].map((zone) => ref(json, "aws_subnet", `Networking_PrivateSubnet${zone}`, "id")));
    expect(fn.vpc_config.security_group_ids).toEqual([ref(json, "aws_security_group", "Networking_SecurityGroups_Lambda", "id")]);
    expect(fn.environment.variables.ACCESS_SECRET_ARN).toBe(ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn"));
    expect(fn.environment.variables.NODE_OPTIONS).toBe("--enable-source-maps");
  });

  test("destroy moves the functions' network interfaces to the rule-less default group first", () => {
    for (const id of ["Autoscaler", "NodeDrainer"]) {
      const fn = resourceNamed(json, "aws_lambda_function", `Automation_${id}`);
      expect(fn.replace_security_groups_on_destroy).toBe(true);
      expect(fn.replacement_security_group_ids).toEqual([ref(json, "aws_default_security_group", "Networking_DefaultSecurityGroup", "id")]);
    }
  });

  test("each function logs to its own group with retention", () => {
    for (const name of ["autoscaler", "node-drainer"]) {
      expect(resourcesOf(json, "aws_cloudwatch_log_group").map(([, group]) => group)).toContainEqual({ name: `/aws/lambda/k3s-${name}`, retention_in_days: 30 });
    }
  });
});

describe("least privilege", () => {
  const { json } = synthCluster();
  const agentGroup = ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "arn");

  test("no function role has a wildcard action", () => {
    for (const id of ["Autoscaler", "NodeDrainer"] as const) {
      expect(roleStatements(json, id).flatMap((statement) => statement.actions).filter((action: string) => action.includes("*"))).toEqual([]);
    }
  });

  test("Auto Scaling changes are limited to the agents' group", () => {
    const changing = (id: "Autoscaler" | "NodeDrainer") => roleStatements(json, id).filter((statement) => statement.actions.some((action: string) => action.startsWith("autoscaling:") && !action.startsWith("autoscaling:Describe")));
    expect(changing("Autoscaler")).toEqual([expect.objectContaining({ actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], resources: [agentGroup] })]);
    expect(changing("NodeDrainer")).toEqual([expect.objectContaining({ actions: ["autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:CompleteLifecycleAction"], resources: [agentGroup] })]);
  });

  test("state, queue, topic and secret permissions name exactly their resources", () => {
    const autoscaler = Object.fromEntries(roleStatements(json, "Autoscaler").map((statement) => [statement.sid, statement]));
    expect(autoscaler.LockAndState).toMatchObject({ actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], resources: [ref(json, "aws_dynamodb_table", "Automation_AutoscalerTable", "arn")] });
    expect(autoscaler.ReadClusterAccess.resources).toEqual([ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn")]);
    expect(autoscaler.Notify.resources).toEqual([ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn")]);
    // Publishing to a KMS-encrypted topic takes these two on its key (SNS developer guide, "Configuring AWS KMS
    // permissions" for publishers).
    expect(autoscaler.EncryptNotifications).toEqual({ sid: "EncryptNotifications", actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [ref(json, "aws_kms_key", "Automation_NotificationKey", "arn")] });
    const drainer = Object.fromEntries(roleStatements(json, "NodeDrainer").map((statement) => [statement.sid, statement]));
    expect(drainer.ConsumeDrainQueue.resources).toEqual([ref(json, "aws_sqs_queue", "Automation_DrainQueue", "arn")]);
    expect(drainer.LockAndState).toBeUndefined();
  });
});

describe("event plumbing", () => {
  const { json } = synthCluster();
  const queueArn = ref(json, "aws_sqs_queue", "Automation_DrainQueue", "arn");

  test("spot, rebalance and agent termination events reach the encrypted queue", () => {
    const patterns = resourcesOf(json, "aws_cloudwatch_event_rule").filter(([, rule]) => rule.event_pattern).map(([, rule]) => rule.event_pattern);
    expect(patterns).toContainEqual(JSON.stringify({ source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] }));
    expect(patterns).toContainEqual(JSON.stringify({ source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] }));
    expect(patterns).toContainEqual(
      `\${jsonencode({"source" = ["aws.autoscaling"], "detail-type" = ["EC2 Instance-terminate Lifecycle Action"], "detail" = {"AutoScalingGroupName" = [${ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name").slice(2, -1)}]}})}`,
    );
    const targets = resourcesOf(json, "aws_cloudwatch_event_target").filter(([, target]) => target.arn === queueArn);
    expect(targets).toHaveLength(3);
  });

  test("the queue is encrypted, dead-letters after three receives, and admits only these rules", () => {
    const queue = resourceNamed(json, "aws_sqs_queue", "Automation_DrainQueue");
    expect(queue.sqs_managed_sse_enabled).toBe(true);
    expect(queue.redrive_policy).toBe(`\${jsonencode({"deadLetterTargetArn" = ${ref(json, "aws_sqs_queue", "Automation_DrainDeadLetterQueue", "arn").slice(2, -1)}, "maxReceiveCount" = 3})}`);
    expect(resourceNamed(json, "aws_sqs_queue", "Automation_DrainDeadLetterQueue").sqs_managed_sse_enabled).toBe(true);
    const document = Object.entries(json.data!.aws_iam_policy_document).find(([id]) => id.startsWith("Automation_DrainQueuePolicyDocument_"))![1];
    expect(document.statement).toEqual([
      expect.objectContaining({
        actions: ["sqs:SendMessage"],
        resources: [queueArn],
        principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
        condition: [{ test: "ArnEquals", variable: "aws:SourceArn", values: ["SpotInterruptionRule", "RebalanceRule", "AgentTerminationRule"].map((rule) => ref(json, "aws_cloudwatch_event_rule", `Automation_${rule}`, "arn")) }],
      }),
    ]);
  });

  test("the drainer consumes the queue in batches with partial failure reporting", () => {
    expect(resourceNamed(json, "aws_lambda_event_source_mapping", "Automation_DrainQueueMapping")).toMatchObject({
      event_source_arn: queueArn,
      function_name: ref(json, "aws_lambda_function", "Automation_NodeDrainer", "arn"),
      function_response_types: ["ReportBatchItemFailures"],
    });
  });

  test("the autoscaler runs on its schedule with permission for exactly that rule, without retries", () => {
    const schedule = resourceNamed(json, "aws_cloudwatch_event_rule", "Automation_AutoscalerSchedule");
    expect(schedule.schedule_expression).toBe("rate(1 minute)");
    expect(resourceNamed(json, "aws_cloudwatch_event_target", "Automation_AutoscalerScheduleTarget").arn).toBe(ref(json, "aws_lambda_function", "Automation_Autoscaler", "arn"));
    expect(resourceNamed(json, "aws_lambda_permission", "Automation_AutoscalerSchedulePermission")).toMatchObject({
      principal: "events.amazonaws.com",
      source_arn: ref(json, "aws_cloudwatch_event_rule", "Automation_AutoscalerSchedule", "arn"),
    });
    expect(resourceNamed(json, "aws_lambda_function_event_invoke_config", "Automation_AutoscalerInvokeConfig").maximum_retry_attempts).toBe(0);
  });
});

describe("state, notifications and alarms", () => {
  test("the state table is on demand, expires old items, and has point-in-time recovery and encryption", () => {
    expect(resourceNamed(synthCluster().json, "aws_dynamodb_table", "Automation_AutoscalerTable")).toMatchObject({
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "pk",
      ttl: { attribute_name: "ttl", enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  test("the topic is KMS-encrypted; an e-mail subscription exists only when configured", () => {
    const { json } = synthCluster();
    expect(resourceNamed(json, "aws_sns_topic", "Automation_NotificationTopic").kms_master_key_id).toBe(ref(json, "aws_kms_key", "Automation_NotificationKey", "arn"));
    expect(resourceNamed(json, "aws_kms_key", "Automation_NotificationKey").enable_key_rotation).toBe(true);
    expect(resourcesOf(json, "aws_sns_topic_subscription")).toEqual([]);
    const withEmail = synthCluster({ automation: { notificationEmail: "ops@example.com" } }).json;
    expect(resourceNamed(withEmail, "aws_sns_topic_subscription", "Automation_NotificationEmail")).toMatchObject({ protocol: "email", endpoint: "ops@example.com" });
  });

  test("errors, throttles, dead letters and a held autoscaler raise alarms to the topic", () => {
    const { json } = synthCluster();
    const topic = ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn");
    // Automation's own alarms; the cluster's others (modules/monitoring) are tested in alarms.test.ts.
    const alarms = resourcesOf(json, "aws_cloudwatch_metric_alarm").filter(([id]) => id.startsWith("Automation_")).map(([, alarm]) => alarm);
    expect(alarms.map((alarm) => `${alarm.namespace} ${alarm.metric_name}`).sort()).toEqual([
      "AWS/Lambda Errors",
      "AWS/Lambda Errors",
      "AWS/Lambda Throttles",
      "AWS/Lambda Throttles",
      "AWS/SQS ApproximateNumberOfMessagesVisible",
      "K3sAutoscaler ScalingHeld",
    ]);
    for (const alarm of alarms) expect(alarm).toMatchObject({ threshold: 0, comparison_operator: "GreaterThanThreshold", alarm_actions: [topic], ok_actions: [topic] });
    // The held passes' metric as the run publishes it: the cluster as its dimension, a pass's 0 or 1 read at its Maximum.
    expect(alarms.find((alarm) => alarm.metric_name === "ScalingHeld")).toMatchObject({ alarm_name: "k3s-autoscaler-held", dimensions: { Cluster: "k3s" }, statistic: "Maximum" });
  });

  test.each(["cpu", "cluster-autoscaler"] as const)("scaling mode %s leaves out the autoscaler, its schedule and table, but keeps the drainer", (scalingMode) => {
    const { json } = synthCluster({ agents: { scalingMode } });
    expect(resourcesOf(json, "aws_lambda_function").map(([, fn]) => fn.function_name)).toEqual(["k3s-node-drainer"]);
    expect(resourcesOf(json, "aws_dynamodb_table")).toEqual([]);
    // The drain rules, and the backup-failure rule of a production cluster's backups.
    expect(resourcesOf(json, "aws_cloudwatch_event_rule").map(([, rule]) => rule.name).sort()).toEqual(["k3s-agent-termination", "k3s-backup-failures", "k3s-rebalance-recommendation", "k3s-spot-interruption"]);
    // The drainer still holds the agents' termination hook, which cluster-autoscaler's scale-down also passes through.
    expect(resourcesOf(json, "aws_lambda_event_source_mapping")).toHaveLength(1);
  });

  test("bad automation settings are refused", () => {
    expect(() => synthCluster({ automation: { scheduleExpression: "every minute" } })).toThrow('automation.scheduleExpression: must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"');
    expect(() => synthCluster({ automation: { notificationEmail: "not-an-address" } })).toThrow("automation.notificationEmail: must be an e-mail address");
  });
});

describe("confused-deputy conditions on service principals", () => {
  const { json } = synthCluster();
  const alarmArns = resourcesOf(json, "aws_cloudwatch_metric_alarm").map(([id]) => `\${aws_cloudwatch_metric_alarm.${id}.arn}`).sort();
  const account = `\${data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("Automation_"))}.account_id}`;
  const partition = `\${data.aws_partition.${Object.keys(json.data!.aws_partition).find((id) => id.startsWith("Automation_"))}.partition}`;
  const onlyOurAlarms = [
    { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
    { test: "ArnEquals", variable: "aws:SourceArn", values: alarmArns },
  ];
  /** A statement with each condition's values in a stable order. */
  const sortedConditions = (statement: any) => ({ ...statement, condition: statement.condition?.map((condition: any) => ({ ...condition, values: [...condition.values].sort() })) });
  const serviceStatements = (statements: any[]) => statements.filter((statement) => statement.principals?.some((principal: { type: string }) => principal.type === "Service"));

  test("the notification key's policy is exactly these statements", () => {
    const policy = resourceNamed(json, "aws_kms_key_policy", "Automation_NotificationKeyPolicy");
    expect(policy.key_id).toBe(ref(json, "aws_kms_key", "Automation_NotificationKey", "id"));
    // One policy owner: a policy on the key itself would fight the separate resource.
    expect(resourceNamed(json, "aws_kms_key", "Automation_NotificationKey").policy).toBeUndefined();
    // Automation's six and the seven of modules/monitoring, admitted through admitAlarms.
    expect(alarmArns).toHaveLength(13);
    expect(documentStatements(json, policy.policy).map(sortedConditions)).toEqual([
      // KMS developer guide, "Default key policy": the account principal with kms:* lets IAM policies grant use of
      // the key; without it nobody, the account root included, could manage the key again.
      {
        sid: "AccountAdministers",
        actions: ["kms:*"],
        resources: ["*"],
        principals: [{ type: "AWS", identifiers: [`arn:${partition}:iam::${account}:root`] }],
      },
      // SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted topics":
      // CloudWatch alarms publish to an encrypted topic only if the key lets cloudwatch.amazonaws.com call
      // kms:Decrypt and kms:GenerateDataKey*. Limited to this account's alarms against the confused deputy.
      {
        sid: "CloudWatchAlarmsEncrypt",
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }],
        condition: onlyOurAlarms,
      },
      // The same for EventBridge, for the backup-failure rule alone (SNS developer guide, same section).
      {
        sid: "BackupFailureRuleEncrypts",
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
        condition: [
          { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
          { test: "ArnEquals", variable: "aws:SourceArn", values: [ref(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule", "arn")] },
        ],
      },
    ]);
  });

  test("the topic admits CloudWatch only for this account's alarms, and EventBridge only for the backup-failure rule", () => {
    const policy = resourceNamed(json, "aws_sns_topic_policy", "Automation_NotificationTopicPolicy");
    const topic = ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn");
    expect(policy.arn).toBe(topic);
    expect(documentStatements(json, policy.policy).map(sortedConditions)).toEqual([
      expect.objectContaining({ principals: [{ type: "Service", identifiers: ["cloudwatch.amazonaws.com"] }], actions: ["sns:Publish"], resources: [topic], condition: onlyOurAlarms }),
      expect.objectContaining({
        principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
        actions: ["sns:Publish"],
        resources: [topic],
        condition: [
          { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
          { test: "ArnEquals", variable: "aws:SourceArn", values: [ref(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule", "arn")] },
        ],
      }),
    ]);
  });

  test("the drain queue admits EventBridge only from its three rules", () => {
    const policy = resourceNamed(json, "aws_sqs_queue_policy", "Automation_DrainQueuePolicy");
    expect(serviceStatements(documentStatements(json, policy.policy))).toEqual([
      expect.objectContaining({
        principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }],
        condition: [{ test: "ArnEquals", variable: "aws:SourceArn", values: ["SpotInterruptionRule", "RebalanceRule", "AgentTerminationRule"].map((rule) => ref(json, "aws_cloudwatch_event_rule", `Automation_${rule}`, "arn")) }],
      }),
    ]);
  });

  test("function roles trust Lambda without source conditions, which Lambda does not set when assuming an execution role", () => {
    for (const id of ["Autoscaler", "NodeDrainer"]) {
      expect(documentStatements(json, resourceNamed(json, "aws_iam_role", `Automation_${id}Role`).assume_role_policy)).toEqual([
        { actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] },
      ]);
    }
  });
});

describe("function settings, from config through the synthesised environment to each handler's parser", () => {
  // Every automation setting off its default, no two alike, so a swapped or unconverted value cannot pass unnoticed;
  // x86 agents, so the architecture and instance type are not the defaults either.
  const changed = {
    scheduleExpression: "rate(2 minutes)",
    maxScaleUpStep: 4,
    pollSeconds: 0,
    scaleDownUtilizationPercent: 35,
    scaleDownWindowMinutes: 7,
    cooldownMinutes: 13,
    notReadyReplaceMinutes: 45,
    expendablePodsPriorityCutoff: 0,
    headroom: { cpuMillis: 0, memoryMiB: 2048 },
    notificationEmail: "ops@example.com",
    logRetentionDays: 14,
  };
  test.each([
    // The defaults, in config units; where cluster-autoscaler has the same setting, its default too (FAQ, "What are the
    // parameters to CA?": scale-down-utilization-threshold 0.5, scale-down-unneeded-time 10m, scale-down-delay-after-add
    // 10m, scale-down-unready-time 20m, expendable-pods-priority-cutoff -10, and scan-interval 10s, the poll interval;
    // the headroom is kubernetes.io's node-overprovisioning example, 500m and 1Gi).
    {
      name: "defaults",
      input: {},
      automation: { scheduleExpression: "rate(1 minute)", maxScaleUpStep: 3, pollSeconds: 10, scaleDownUtilizationPercent: 50, scaleDownWindowMinutes: 10, cooldownMinutes: 10, notReadyReplaceMinutes: 20, expendablePodsPriorityCutoff: -10, headroom: { cpuMillis: 500, memoryMiB: 1024 } },
      agents: { instanceType: "t4g.large", architecture: "arm64" },
    },
    {
      name: "every automation setting changed",
      input: { automation: changed, servers: { instanceType: "t3.medium" }, agents: { instanceTypes: ["m7i.large", "m6i.large"] } },
      automation: changed,
      agents: { instanceType: "m7i.large", architecture: "x86_64" },
    },
  ])("autoscaler, $name: the parsed settings are the config's, in milliseconds and fractions", ({ input, automation, agents }) => {
    const { json } = synthCluster(input);
    const variables = resourceNamed(json, "aws_lambda_function", "Automation_Autoscaler").environment.variables;
    const { lockTtlMs, ...settings } = parseAutoscalerSettings(appliedLambdaEnvironment(json, "Autoscaler"));
    expect(settings).toEqual({
      clusterName: "k3s",
      agentGroupName: appliedReference(ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name")),
      stateTableName: appliedReference(ref(json, "aws_dynamodb_table", "Automation_AutoscalerTable", "name")),
      accessSecretArn: appliedReference(ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn")),
      topicArn: appliedReference(ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn")),
      pollMs: automation.pollSeconds * 1000,
      agentInstance: { instanceType: agents.instanceType, vcpus: 2, memoryMiB: 8192, architecture: agents.architecture },
      config: {
        maxStepUp: automation.maxScaleUpStep,
        scaleDownThreshold: automation.scaleDownUtilizationPercent / 100,
        scaleDownWindowMs: automation.scaleDownWindowMinutes * 60_000,
        cooldownMs: automation.cooldownMinutes * 60_000,
        expendablePriorityCutoff: automation.expendablePodsPriorityCutoff,
        headroom: { cpuMillis: automation.headroom.cpuMillis, memoryBytes: automation.headroom.memoryMiB * 2 ** 20 },
      },
      notReadyReplaceAfterMs: automation.notReadyReplaceMinutes * 60_000,
    });
    // The instance's size comes from the agent group's data source for its first type, the one it launches first.
    const nodeType = Object.entries(json.data!.aws_ec2_instance_type).find(([id]) => id.startsWith("Compute_AgentInstanceType_"))!;
    expect(nodeType[1].instance_type).toBe(agents.instanceType);
    expect([variables.NODE_VCPUS, variables.NODE_MEMORY_MIB]).toEqual([`\${data.aws_ec2_instance_type.${nodeType[0]}.default_vcpus}`, `\${data.aws_ec2_instance_type.${nodeType[0]}.memory_size}`]);
    // A run that times out must not lose its lock to the next run while it could still be acting.
    expect(lockTtlMs).toBeGreaterThan(resourceNamed(json, "aws_lambda_function", "Automation_Autoscaler").timeout * 1000);
    expect(resourceNamed(json, "aws_cloudwatch_event_rule", "Automation_AutoscalerSchedule").schedule_expression).toBe(automation.scheduleExpression);
  });

  test.each([
    ["defaults", {}],
    ["every automation setting changed", { automation: changed }],
  ])("node drainer, %s: the parsed settings name the agents' group, the access secret and the topic, beat at a tenth of the hook's timeout and know the queue's attempts", (_, input) => {
    const { json } = synthCluster(input);
    const hook = resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook");
    expect(parseDrainerSettings(appliedLambdaEnvironment(json, "NodeDrainer"))).toEqual({
      agentGroupName: appliedReference(ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name")),
      accessSecretArn: appliedReference(ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn")),
      topicArn: appliedReference(ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn")),
      // drain-timing.ts: a tenth of the hook's heartbeat timeout, which is in seconds.
      heartbeatIntervalMs: (hook.heartbeat_timeout / 10) * 1000,
      // The drain queue's redrive maxReceiveCount, in its jsonencode() expression.
      attempts: Number(/"maxReceiveCount" = (\d+)/.exec(resourceNamed(json, "aws_sqs_queue", "Automation_DrainQueue").redrive_policy)![1]),
    });
  });

  test("an environment in the wrong unit is refused, naming the variable", () => {
    const { json } = synthCluster();
    expect(() => parseAutoscalerSettings({ ...appliedLambdaEnvironment(json, "Autoscaler"), SCALE_DOWN_THRESHOLD_PERCENT: "0.5" })).toThrow(/^invalid environment: SCALE_DOWN_THRESHOLD_PERCENT: /);
    expect(() => parseDrainerSettings({ ...appliedLambdaEnvironment(json, "NodeDrainer"), HEARTBEAT_INTERVAL_SECONDS: "0.06" })).toThrow(/^invalid environment: HEARTBEAT_INTERVAL_SECONDS: /);
  });
});
