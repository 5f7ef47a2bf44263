import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement, DataAwsIamPolicyDocumentStatementCondition } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DbInstance, DbInstanceConfig } from "@cdktf/provider-aws/lib/db-instance";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { IamUserPolicyAttachment } from "@cdktf/provider-aws/lib/iam-user-policy-attachment";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { LambdaFunction, LambdaFunctionConfig } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { LaunchTemplate, LaunchTemplateConfig } from "@cdktf/provider-aws/lib/launch-template";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Password } from "@cdktf/provider-random/lib/password";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { App, Fn, TerraformOutput, TerraformStack, Testing } from "cdktf";
import { Construct } from "constructs";
import { existsSync, mkdtempSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { resolveConfig } from "../config/resolve";
import { ClusterStack, policyExemptions, StateBackendStack } from "../main";
import { Policy, PolicyExemption, PolicyOptions, PolicyViolationError } from "../modules/policy";
import { EXAMPLE_CONFIGS } from "./support/example-configs";

/** A bare stack with the AWS provider and the policy; `build` adds what a test is about and may set options. */
function policyStack(build: (stack: TerraformStack) => Partial<PolicyOptions> | void): TerraformStack {
  const stack = new TerraformStack(Testing.app(), "test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const options = build(stack) ?? {};
  Policy.applyTo(stack, { environment: "prod", ...options });
  return stack;
}

/** The violation lines a synth of the stack prints, or [] when it synthesises. */
function violations(stack: TerraformStack): string[] {
  try {
    Testing.synth(stack);
    return [];
  } catch (error) {
    if (!(error instanceof PolicyViolationError)) throw error;
    // The violations, not the exemptions listed after them.
    const [violationLines] = error.message.split(/\nPolicy exemptions in stack /);
    return violationLines.split("\n").filter((line) => line.startsWith("  - ")).map((line) => line.slice(4));
  }
}

const onlyRule = (rule: string, lines: string[]) => lines.filter((line) => line.startsWith(`[${rule}] `));

describe("storage-encryption", () => {
  const encryptedRoot = [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 20 } }];
  const template = (config: Partial<LaunchTemplateConfig>) => (stack: TerraformStack) => {
    new LaunchTemplate(stack, "Template", { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 }, ...config });
  };
  const cases: [string, (stack: TerraformStack) => Partial<PolicyOptions> | void, string][] = [
    [
      "a launch template block device without encryption",
      template({ blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "false", volumeSize: 20 } }] }),
      "[storage-encryption] test/Template (aws_launch_template.Template): block device /dev/xvda is not encrypted. Fix: set ebs.encrypted = true.",
    ],
    [
      "a launch template without block device mappings",
      template({}),
      "[storage-encryption] test/Template (aws_launch_template.Template): no block device mapping sets EBS encryption, so the root volume is encrypted only if the AMI's snapshot or the account's EBS default is. Fix: add block_device_mappings for the root device with ebs.encrypted = true.",
    ],
    [
      "an RDS instance without storage encryption",
      (stack) => void new DbInstance(stack, "Database", { instanceClass: "db.t4g.small", storageEncrypted: false, deletionProtection: true, backupRetentionPeriod: 7 }),
      "[storage-encryption] test/Database (aws_db_instance.Database): storage_encrypted is not true. Fix: set storage_encrypted = true.",
    ],
    ["an unencrypted EFS file system", (stack) => void new EfsFileSystem(stack, "Files", { encrypted: false }), "[storage-encryption] test/Files (aws_efs_file_system.Files): encrypted is not true. Fix: set encrypted = true."],
    [
      "an SQS queue without server-side encryption",
      (stack) => void new SqsQueue(stack, "Queue", { sqsManagedSseEnabled: false }),
      "[storage-encryption] test/Queue (aws_sqs_queue.Queue): neither sqs_managed_sse_enabled nor kms_master_key_id is set. Fix: set sqs_managed_sse_enabled = true or kms_master_key_id.",
    ],
    [
      "an SNS topic without a KMS key",
      (stack) => void new SnsTopic(stack, "Topic", {}),
      "[storage-encryption] test/Topic (aws_sns_topic.Topic): kms_master_key_id is not set. Fix: set kms_master_key_id to a KMS key (CloudWatch alarms need a customer-managed one).",
    ],
    [
      "a DynamoDB table without server-side encryption",
      (stack) => void new DynamodbTable(stack, "Table", { name: "t", hashKey: "pk", attribute: [{ name: "pk", type: "S" }], billingMode: "PAY_PER_REQUEST" }),
      "[storage-encryption] test/Table (aws_dynamodb_table.Table): server_side_encryption is not enabled (the table falls back to an AWS-owned key). Fix: set server_side_encryption { enabled = true }.",
    ],
    [
      "a log group without a key when the stack configures a logs key",
      (stack) => {
        new CloudwatchLogGroup(stack, "Logs", { retentionInDays: 30 });
        return { logGroupKmsKey: true };
      },
      "[storage-encryption] test/Logs (aws_cloudwatch_log_group.Logs): kms_key_id is not set, and this stack configures a KMS key for logs. Fix: set kms_key_id to the logs key.",
    ],
  ];
  test.each(cases)("refuses %s", (_name, build, message) => {
    expect(violations(policyStack(build))).toEqual([message]);
  });

  test("passes encrypted storage of every kind", () => {
    const stack = policyStack((scope) => {
      template({ blockDeviceMappings: encryptedRoot })(scope);
      new DbInstance(scope, "Database", { instanceClass: "db.t4g.small", storageEncrypted: true, deletionProtection: true, backupRetentionPeriod: 7 });
      new EfsFileSystem(scope, "Files", { encrypted: true });
      new SqsQueue(scope, "ManagedQueue", { sqsManagedSseEnabled: true });
      const key = new KmsKey(scope, "Key", { enableKeyRotation: true });
      new SqsQueue(scope, "KmsQueue", { kmsMasterKeyId: key.arn });
      new SnsTopic(scope, "Topic", { kmsMasterKeyId: key.arn });
      new DynamodbTable(scope, "Table", { name: "t", hashKey: "pk", attribute: [{ name: "pk", type: "S" }], billingMode: "PAY_PER_REQUEST", serverSideEncryption: { enabled: true } });
      new CloudwatchLogGroup(scope, "Logs", { retentionInDays: 30, kmsKeyId: key.arn });
      return { logGroupKmsKey: true };
    });
    expect(violations(stack)).toEqual([]);
  });

  test("a log group needs no key of its own when the stack configures none (CloudWatch Logs encrypts it)", () => {
    expect(violations(policyStack((stack) => void new CloudwatchLogGroup(stack, "Logs", { retentionInDays: 30 })))).toEqual([]);
  });
});

describe("imds-v2-required and imds-hop-limit", () => {
  const blockDeviceMappings = [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }];
  const withMetadata = (metadataOptions: LaunchTemplateConfig["metadataOptions"]) => policyStack((stack) => void new LaunchTemplate(stack, "Template", { blockDeviceMappings, metadataOptions }));

  test("refuses a template that answers IMDSv1", () => {
    expect(violations(withMetadata({ httpTokens: "optional", httpPutResponseHopLimit: 1 }))).toEqual([
      '[imds-v2-required] test/Template (aws_launch_template.Template): metadata_options.http_tokens is not "required", so IMDSv1 answers without a session token. Fix: set metadata_options.http_tokens = "required".',
    ]);
  });

  test("refuses a hop limit above 1, and a template that leaves it to the AMI", () => {
    expect(violations(withMetadata({ httpTokens: "required", httpPutResponseHopLimit: 2 }))).toEqual([
      "[imds-hop-limit] test/Template (aws_launch_template.Template): metadata_options.http_put_response_hop_limit is 2. Fix: set metadata_options.http_put_response_hop_limit = 1 (give components that need metadata host networking).",
    ]);
    expect(violations(withMetadata({ httpTokens: "required" }))).toEqual([
      "[imds-hop-limit] test/Template (aws_launch_template.Template): metadata_options.http_put_response_hop_limit is not set, so instances get the AMI's default (2 for ImdsSupport v2.0 AMIs). Fix: set metadata_options.http_put_response_hop_limit = 1 (give components that need metadata host networking).",
    ]);
  });

  test("passes IMDSv2 with one hop, and a template with the metadata endpoint off", () => {
    expect(violations(withMetadata({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 }))).toEqual([]);
    expect(violations(withMetadata({ httpEndpoint: "disabled" }))).toEqual([]);
  });
});

describe("rds-not-public, rds-deletion-protection, rds-backups", () => {
  const safe: DbInstanceConfig = { instanceClass: "db.t4g.small", storageEncrypted: true, deletionProtection: true, backupRetentionPeriod: 7 };
  const database = (config: Partial<DbInstanceConfig>, environment = "prod") =>
    policyStack((stack) => {
      new DbInstance(stack, "Database", { ...safe, ...config });
      return { environment };
    });

  test("refuses a publicly accessible instance", () => {
    expect(violations(database({ publiclyAccessible: true }))).toEqual([
      "[rds-not-public] test/Database (aws_db_instance.Database): publicly_accessible is true. Fix: set publicly_accessible = false and keep the instance in private subnets.",
    ]);
  });

  test("refuses an instance without deletion protection outside dev, and allows it in dev", () => {
    expect(violations(database({ deletionProtection: false }, "staging"))).toEqual([
      "[rds-deletion-protection] test/Database (aws_db_instance.Database): deletion_protection is not true in environment staging. Fix: set deletion_protection = true (only environment dev may leave it off).",
    ]);
    expect(violations(database({ deletionProtection: false }, "dev"))).toEqual([]);
  });

  test("refuses an instance without automated backups", () => {
    expect(violations(database({ backupRetentionPeriod: 0 }))).toEqual([
      "[rds-backups] test/Database (aws_db_instance.Database): backup_retention_period is 0. Fix: set backup_retention_period to 1-35 days.",
    ]);
    expect(violations(database({ backupRetentionPeriod: undefined }))).toEqual([
      "[rds-backups] test/Database (aws_db_instance.Database): backup_retention_period is not set. Fix: set backup_retention_period to 1-35 days.",
    ]);
  });

  test("passes a private, protected, backed-up instance", () => {
    expect(violations(database({ publiclyAccessible: false }))).toEqual([]);
  });
});

describe("sg-public-ingress and sg-egress-reach", () => {
  /** Two groups; the "Public" one may take 443 from anywhere and send 443 anywhere. */
  function network(rules: (groups: { publicGroup: SecurityGroup; privateGroup: SecurityGroup }, stack: TerraformStack) => void) {
    return policyStack((stack) => {
      const publicGroup = new SecurityGroup(stack, "Public", { name: "public" });
      const privateGroup = new SecurityGroup(stack, "Private", { name: "private" });
      rules({ publicGroup, privateGroup }, stack);
      return {
        networkReach: {
          publicIngress: [{ securityGroup: publicGroup, protocol: "tcp", ports: [443], why: "public listener" }],
          egress: [{ securityGroup: publicGroup, protocol: "tcp", port: 443, cidr: "0.0.0.0/0", why: "AWS APIs" }],
        },
      };
    });
  }

  test("refuses world-open ingress outside the table, on either address family and in inline rules", () => {
    const stack = network(({ publicGroup, privateGroup }, scope) => {
      new VpcSecurityGroupIngressRule(scope, "Ssh", { securityGroupId: publicGroup.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" });
      new VpcSecurityGroupIngressRule(scope, "HttpsV6", { securityGroupId: privateGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv6: "::/0" });
      new SecurityGroup(scope, "Inline", { name: "inline", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] });
    });
    expect(onlyRule("sg-public-ingress", violations(stack))).toEqual([
      "[sg-public-ingress] test/Ssh (aws_vpc_security_group_ingress_rule.Ssh): ingress of tcp 22 from 0.0.0.0/0 into test/Public. Fix: admit the traffic from a security group or a narrower CIDR; only the documented public listeners may be open to the world.",
      "[sg-public-ingress] test/HttpsV6 (aws_vpc_security_group_ingress_rule.HttpsV6): ingress of tcp 443 from ::/0 into test/Private. Fix: admit the traffic from a security group or a narrower CIDR; only the documented public listeners may be open to the world.",
      "[sg-public-ingress] test/Inline (aws_security_group.Inline): ingress of all traffic from 0.0.0.0/0 into test/Inline. Fix: admit the traffic from a security group or a narrower CIDR; only the documented public listeners may be open to the world.",
    ]);
  });

  test("refuses egress to addresses the table does not list for the group", () => {
    const stack = network(({ publicGroup, privateGroup }, scope) => {
      new VpcSecurityGroupEgressRule(scope, "PublicSsh", { securityGroupId: publicGroup.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" });
      new VpcSecurityGroupEgressRule(scope, "PrivateAll", { securityGroupId: privateGroup.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
    });
    expect(violations(stack)).toEqual([
      "[sg-egress-reach] test/PublicSsh (aws_vpc_security_group_egress_rule.PublicSsh): egress of tcp 22 to 0.0.0.0/0 from test/Public is not in the documented table (it lists tcp 443 to 0.0.0.0/0). Fix: send the traffic to a security group, or add the reach with its reason to the documented egress table (and the README).",
      "[sg-egress-reach] test/PrivateAll (aws_vpc_security_group_egress_rule.PrivateAll): egress of all traffic to 0.0.0.0/0 from test/Private is not in the documented table (it lists no egress to addresses for this group). Fix: send the traffic to a security group, or add the reach with its reason to the documented egress table (and the README).",
    ]);
  });

  test("passes the documented listener and egress, and traffic between security groups", () => {
    const stack = network(({ publicGroup, privateGroup }, scope) => {
      new VpcSecurityGroupIngressRule(scope, "Https", { securityGroupId: publicGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" });
      new VpcSecurityGroupIngressRule(scope, "FromPublic", { securityGroupId: privateGroup.id, ipProtocol: "tcp", fromPort: 8443, toPort: 8443, referencedSecurityGroupId: publicGroup.id });
      new VpcSecurityGroupEgressRule(scope, "HttpsOut", { securityGroupId: publicGroup.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" });
      new VpcSecurityGroupEgressRule(scope, "ToPrivate", { securityGroupId: publicGroup.id, ipProtocol: "tcp", fromPort: 8443, toPort: 8443, referencedSecurityGroupId: privateGroup.id });
    });
    expect(violations(stack)).toEqual([]);
  });
});

/** An inline role policy from one statement, whose document is the construct "Document". */
function rolePolicy(stack: TerraformStack, statement: DataAwsIamPolicyDocumentStatement) {
  const trust = new DataAwsIamPolicyDocument(stack, "Trust", {
    statement: [{ actions: ["sts:AssumeRole"], principals: [{ type: "AWS", identifiers: ["arn:aws:iam::111122223333:root"] }] }],
  });
  const role = new IamRole(stack, "Role", { name: "role", assumeRolePolicy: trust.json });
  const document = new DataAwsIamPolicyDocument(stack, "Document", { statement: [statement] });
  new IamRolePolicy(stack, "Policy", { role: role.id, policy: document.json });
  return document;
}

describe("iam-wildcard-action", () => {
  test('refuses "*", "<service>:*", wildcards anywhere but ending a named action, and NotAction in an Allow', () => {
    const stack = policyStack((scope) => {
      rolePolicy(scope, { sid: "Everything", actions: ["*", "s3:*", "iam:*Role*", "kms:**", "s3:Get?bject"], resources: ["arn:aws:s3:::bucket/*"] });
      new DataAwsIamPolicyDocument(scope, "AllBut", { statement: [{ notActions: ["iam:*"], resources: ["arn:aws:s3:::bucket"] }] });
    });
    expect(onlyRule("iam-wildcard-action", violations(stack))).toEqual([
      '[iam-wildcard-action] test/Document (data.aws_iam_policy_document.Document): statement "Everything" allows "*", "s3:*", "iam:*Role*", "kms:**", "s3:Get?bject". Fix: list the actions the principal needs.',
      "[iam-wildcard-action] test/AllBut (data.aws_iam_policy_document.AllBut): statement 1 allows every action but iam:* (NotAction). Fix: list the actions the principal needs.",
    ]);
  });

  test("passes listed actions, prefixed wildcards and a Deny of everything", () => {
    const stack = policyStack((scope) => {
      rolePolicy(scope, { actions: ["s3:GetObject", "kms:GenerateDataKey*"], resources: ["arn:aws:s3:::bucket/*"] });
      new DataAwsIamPolicyDocument(scope, "DenyAll", { statement: [{ effect: "Deny", actions: ["*"], resources: ["*"], principals: [{ type: "*", identifiers: ["*"] }] }] });
    });
    expect(violations(stack)).toEqual([]);
  });

  test("reads policy JSON written as text, not only policy documents", () => {
    const stack = policyStack((scope) => {
      const role = new IamRole(scope, "Role", { name: "role", assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { AWS: "arn:aws:iam::111122223333:root" } }] }) });
      new IamRolePolicy(scope, "Policy", { role: role.id, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::bucket" }] }) });
    });
    expect(violations(stack)).toEqual([
      '[iam-wildcard-action] test/Policy (aws_iam_role_policy.Policy): statement 1 allows "*". Fix: list the actions the principal needs.',
    ]);
  });
});

describe("iam-wildcard-resource", () => {
  test('refuses "*" for actions that take resources in an identity policy', () => {
    const stack = policyStack((scope) => void rolePolicy(scope, { sid: "ReadObjects", actions: ["s3:GetObject", "ec2:DescribeInstances"], resources: ["*"] }));
    expect(violations(stack)).toEqual([
      '[iam-wildcard-resource] test/Document (data.aws_iam_policy_document.Document): statement "ReadObjects" grants s3:GetObject on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
    ]);
  });

  test('passes "*" for calls without resource types, under a tag condition, and in resource policies', () => {
    const stack = policyStack((scope) => {
      rolePolicy(scope, { actions: ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeLoadBalancers"], resources: ["*"] });
      const tagged = new DataAwsIamPolicyDocument(scope, "Tagged", {
        statement: [{ actions: ["ec2:DeleteSecurityGroup"], resources: ["*"], condition: [{ test: "StringEquals", variable: "aws:ResourceTag/owner", values: ["me"] }] }],
      });
      new IamRolePolicy(scope, "TaggedPolicy", { role: "role", policy: tagged.json });
      // In a key policy "*" is the key itself.
      new KmsKey(scope, "Key", {
        enableKeyRotation: true,
        policy: new DataAwsIamPolicyDocument(scope, "KeyPolicy", {
          statement: [{ actions: ["kms:Decrypt"], resources: ["*"], principals: [{ type: "AWS", identifiers: ["arn:aws:iam::111122223333:role/reader"] }] }],
        }).json,
      });
    });
    expect(violations(stack)).toEqual([]);
  });

  test("a tag condition that does not hold the tag to values scopes nothing: Null, a set operator on the single-valued key (ForAllValues is true when it is absent), a value of wildcards only", () => {
    const stack = policyStack((scope) => {
      rolePolicy(scope, { sid: "Untagged", actions: ["ec2:DeleteSecurityGroup"], resources: ["*"], condition: [{ test: "Null", variable: "aws:ResourceTag/owner", values: ["true"] }] });
      const conditions: [string, DataAwsIamPolicyDocumentStatementCondition][] = [
        ["ForAllValues", { test: "ForAllValues:StringEquals", variable: "aws:ResourceTag/owner", values: ["me"] }],
        ["AnyValue", { test: "StringLike", variable: "aws:ResourceTag/owner", values: ["*"] }],
        ["ForAnyValue", { test: "ForAnyValue:StringEquals", variable: "aws:ResourceTag/owner", values: ["me"] }],
      ];
      for (const [sid, condition] of conditions) {
        const document = new DataAwsIamPolicyDocument(scope, sid, { statement: [{ sid, actions: ["secretsmanager:GetSecretValue"], resources: ["*"], condition: [condition] }] });
        new IamRolePolicy(scope, `${sid}Policy`, { role: "role", policy: document.json });
      }
    });
    expect(onlyRule("iam-wildcard-resource", violations(stack))).toEqual([
      '[iam-wildcard-resource] test/Document (data.aws_iam_policy_document.Document): statement "Untagged" grants ec2:DeleteSecurityGroup on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
      '[iam-wildcard-resource] test/ForAllValues (data.aws_iam_policy_document.ForAllValues): statement "ForAllValues" grants secretsmanager:GetSecretValue on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
      '[iam-wildcard-resource] test/AnyValue (data.aws_iam_policy_document.AnyValue): statement "AnyValue" grants secretsmanager:GetSecretValue on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
      '[iam-wildcard-resource] test/ForAnyValue (data.aws_iam_policy_document.ForAnyValue): statement "ForAnyValue" grants secretsmanager:GetSecretValue on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
    ]);
  });
});

describe("iam-service-source", () => {
  const queuePolicy = (stack: TerraformStack, condition: DataAwsIamPolicyDocumentStatement["condition"]) => {
    const queue = new SqsQueue(stack, "Queue", { sqsManagedSseEnabled: true });
    const document = new DataAwsIamPolicyDocument(stack, "QueuePolicyDocument", {
      statement: [{ sid: "EventsSend", actions: ["sqs:SendMessage"], resources: [queue.arn], principals: [{ type: "Service", identifiers: ["events.amazonaws.com"] }], condition }],
    });
    new SqsQueuePolicy(stack, "QueuePolicy", { queueUrl: queue.url, policy: document.json });
  };

  test("refuses a service principal without a source condition, in documents and in Lambda permissions", () => {
    const stack = policyStack((scope) => {
      queuePolicy(scope, undefined);
      new LambdaPermission(scope, "Invoke", { action: "lambda:InvokeFunction", functionName: "fn", principal: "events.amazonaws.com" });
    });
    expect(violations(stack)).toEqual([
      '[iam-service-source] test/QueuePolicyDocument (data.aws_iam_policy_document.QueuePolicyDocument): statement "EventsSend" admits events.amazonaws.com without a source condition. Fix: add an aws:SourceArn or aws:SourceAccount condition naming the resources that may act (confused-deputy prevention).',
      "[iam-service-source] test/Invoke (aws_lambda_permission.Invoke): lets events.amazonaws.com invoke the function without source_arn or source_account. Fix: set source_arn (or source_account).",
    ]);
  });

  test.each([
    ["may be absent (IfExists)", { test: "ArnEqualsIfExists", variable: "aws:SourceArn", values: ["arn:aws:events:eu-west-1:111122223333:rule/r"] }],
    ["holds when absent (ForAllValues)", { test: "ForAllValues:StringEquals", variable: "aws:SourceAccount", values: ["111122223333"] }],
    ["matches any value", { test: "StringLike", variable: "aws:SourceAccount", values: ["*"] }],
    ["uses a set operator on a single-valued key", { test: "ForAnyValue:StringEquals", variable: "aws:SourceAccount", values: ["111122223333"] }],
  ])("a source condition that %s does not hold the service to it", (_, condition) => {
    const stack = policyStack((scope) => queuePolicy(scope, [condition]));
    expect(onlyRule("iam-service-source", violations(stack))).toHaveLength(1);
  });

  test("passes a service principal held to its organization's paths with ForAnyValue (aws:SourceOrgPaths is multivalued)", () => {
    const stack = policyStack((scope) => queuePolicy(scope, [{ test: "ForAnyValue:StringLike", variable: "aws:SourceOrgPaths", values: ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"] }]));
    expect(onlyRule("iam-service-source", violations(stack))).toEqual([]);
  });

  test("passes a service principal held to its source", () => {
    const stack = policyStack((scope) => {
      queuePolicy(scope, [{ test: "ArnEquals", variable: "aws:SourceArn", values: ["arn:aws:events:eu-west-1:111122223333:rule/r"] }]);
      new LambdaPermission(scope, "Invoke", { action: "lambda:InvokeFunction", functionName: "fn", principal: "s3.amazonaws.com", sourceAccount: "111122223333" });
    });
    expect(onlyRule("iam-service-source", violations(stack))).toEqual([]);
  });
});

describe("iam-policy-readable", () => {
  test("refuses a policy the check cannot read", () => {
    const stack = policyStack((scope) => {
      new IamRolePolicy(scope, "Policy", { role: "role", policy: Fn.jsonencode({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) });
      new DataAwsIamPolicyDocument(scope, "Merged", { sourcePolicyDocuments: ["{}"], statement: [{ actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"] }] });
    });
    expect(violations(stack)).toEqual([
      "[iam-policy-readable] test/Merged (data.aws_iam_policy_document.Merged): the IAM rules cannot read this policy: it merges other documents (source_policy_documents), known only at plan time. Fix: write the policy as an aws_iam_policy_document data source (or JSON text) without source or override documents.",
      "[iam-policy-readable] test/Policy (aws_iam_role_policy.Policy): the IAM rules cannot read this policy: policy is neither a reference to an aws_iam_policy_document nor policy JSON. Fix: write the policy as an aws_iam_policy_document data source (or JSON text) without source or override documents.",
    ]);
  });
});

describe("iam-managed-policy", () => {
  const FIX = "Fix: grant what the principal needs in a policy of this stack the IAM rules can read, or exempt the attachment with why the outside policy is the right grant.";

  test("refuses an AWS-managed policy attached by ARN, wherever it is attached, and names it", () => {
    const stack = policyStack((scope) => {
      new IamRolePolicyAttachment(scope, "Attachment", { role: "role", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
      new IamRole(scope, "Role", { assumeRolePolicy: "{}", managedPolicyArns: ["arn:${data.aws_partition.p.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"] });
      new IamUserPolicyAttachment(scope, "UserAttachment", { user: "someone", policyArn: "arn:aws-cn:iam::aws:policy/AdministratorAccess" });
    });
    expect(onlyRule("iam-managed-policy", violations(stack))).toEqual([
      `[iam-managed-policy] test/Attachment (aws_iam_role_policy_attachment.Attachment): attaches the AWS-managed policy AmazonSSMManagedInstanceCore, whose grants the synthesised JSON does not show. ${FIX}`,
      `[iam-managed-policy] test/UserAttachment (aws_iam_user_policy_attachment.UserAttachment): attaches the AWS-managed policy AdministratorAccess, whose grants the synthesised JSON does not show. ${FIX}`,
      `[iam-managed-policy] test/Role (aws_iam_role.Role): attaches the AWS-managed policy service-role/AWSBackupServiceRolePolicyForBackup, whose grants the synthesised JSON does not show. ${FIX}`,
    ]);
  });

  test("refuses a policy from outside the stack however it is named: an account's ARN, a data source, a variable", () => {
    const stack = policyStack((scope) => {
      new IamRolePolicyAttachment(scope, "ByArn", { role: "role", policyArn: "arn:aws:iam::123456789012:policy/nodes" });
      new IamRolePolicyAttachment(scope, "ByLookup", { role: "role", policyArn: "${data.aws_iam_policy.core.arn}" });
      new IamRolePolicyAttachment(scope, "ByVariable", { role: "role", policyArn: "${var.policy_arn}" });
    });
    expect(onlyRule("iam-managed-policy", violations(stack))).toEqual([
      `[iam-managed-policy] test/ByArn (aws_iam_role_policy_attachment.ByArn): attaches arn:aws:iam::123456789012:policy/nodes, a policy defined outside this stack, whose grants the synthesised JSON does not show. ${FIX}`,
      `[iam-managed-policy] test/ByLookup (aws_iam_role_policy_attachment.ByLookup): attaches \${data.aws_iam_policy.core.arn}, a policy defined outside this stack, whose grants the synthesised JSON does not show. ${FIX}`,
      `[iam-managed-policy] test/ByVariable (aws_iam_role_policy_attachment.ByVariable): attaches \${var.policy_arn}, a policy defined outside this stack, whose grants the synthesised JSON does not show. ${FIX}`,
    ]);
  });

  test("passes a policy of this stack attached by reference: its document is read by the other IAM rules", () => {
    const stack = policyStack((scope) => {
      const document = new DataAwsIamPolicyDocument(scope, "Nodes", { statement: [{ actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"] }] });
      const policy = new IamPolicy(scope, "NodesPolicy", { policy: document.json });
      new IamRolePolicyAttachment(scope, "Attachment", { role: "role", policyArn: policy.arn });
    });
    expect(onlyRule("iam-managed-policy", violations(stack))).toEqual([]);
  });
});

describe("S3 buckets: storage-encryption, s3-public-access-block, s3-versioning, s3-tls-only", () => {
  type Part = "encryption" | "publicAccessBlock" | "versioning" | "tlsOnly";
  function bucketWithout(...missing: Part[]) {
    return policyStack((stack) => {
      const bucket = new S3Bucket(stack, "Bucket", { bucket: "state" });
      if (!missing.includes("encryption")) {
        new S3BucketServerSideEncryptionConfigurationA(stack, "Encryption", { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] });
      }
      if (!missing.includes("publicAccessBlock")) {
        new S3BucketPublicAccessBlock(stack, "PublicAccessBlock", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      }
      if (!missing.includes("versioning")) new S3BucketVersioningA(stack, "Versioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
      const tlsOnly: DataAwsIamPolicyDocumentStatement = {
        effect: "Deny",
        principals: [{ type: "*", identifiers: ["*"] }],
        actions: ["s3:*"],
        resources: [bucket.arn, `${bucket.arn}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      };
      const readers: DataAwsIamPolicyDocumentStatement = { actions: ["s3:GetObject"], resources: [`${bucket.arn}/*`], principals: [{ type: "AWS", identifiers: ["arn:aws:iam::111122223333:root"] }] };
      const policy = new DataAwsIamPolicyDocument(stack, "BucketPolicyDocument", { statement: missing.includes("tlsOnly") ? [readers] : [tlsOnly, readers] });
      new S3BucketPolicy(stack, "BucketPolicy", { bucket: bucket.id, policy: policy.json });
    });
  }

  test("refuses a bare bucket on every count", () => {
    expect(violations(bucketWithout("encryption", "publicAccessBlock", "versioning", "tlsOnly"))).toEqual([
      "[storage-encryption] test/Bucket (aws_s3_bucket.Bucket): no aws_s3_bucket_server_side_encryption_configuration with a default algorithm names this bucket. Fix: add one (sse_algorithm aws:kms or AES256).",
      "[s3-public-access-block] test/Bucket (aws_s3_bucket.Bucket): no aws_s3_bucket_public_access_block names this bucket. Fix: add an aws_s3_bucket_public_access_block for the bucket with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets true.",
      "[s3-versioning] test/Bucket (aws_s3_bucket.Bucket): versioning is not enabled. Fix: add an aws_s3_bucket_versioning for the bucket with status \"Enabled\".",
      '[s3-tls-only] test/Bucket (aws_s3_bucket.Bucket): no bucket policy denies requests made without TLS. Fix: add to the bucket policy a Deny of "s3:*" for principal "*" on the bucket and its objects when aws:SecureTransport is "false".',
    ]);
  });

  test.each<[Part, string]>([
    ["publicAccessBlock", "s3-public-access-block"],
    ["versioning", "s3-versioning"],
    ["tlsOnly", "s3-tls-only"],
  ])("refuses a bucket that only lacks its %s", (part, rule) => {
    expect(violations(bucketWithout(part)).map((line) => line.split("]")[0].slice(1))).toEqual([rule]);
  });

  test("refuses a public access block with a setting off", () => {
    const stack = policyStack((scope) => {
      const bucket = new S3Bucket(scope, "Bucket", { bucket: "b" });
      new S3BucketPublicAccessBlock(scope, "PublicAccessBlock", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true, restrictPublicBuckets: true });
    });
    expect(onlyRule("s3-public-access-block", violations(stack))).toEqual([
      "[s3-public-access-block] test/Bucket (aws_s3_bucket.Bucket): its public access block leaves block_public_policy off. Fix: add an aws_s3_bucket_public_access_block for the bucket with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets true.",
    ]);
  });

  test("passes an encrypted, private, versioned, TLS-only bucket", () => {
    expect(violations(bucketWithout())).toEqual([]);
  });
});

describe("log-retention", () => {
  test("refuses a log group that keeps events for ever", () => {
    expect(violations(policyStack((stack) => void new CloudwatchLogGroup(stack, "Logs", {})))).toEqual([
      "[log-retention] test/Logs (aws_cloudwatch_log_group.Logs): retention_in_days is not set, so its events never expire. Fix: set retention_in_days to a CloudWatch Logs retention value.",
    ]);
  });

  test("passes a log group with a retention", () => {
    expect(violations(policyStack((stack) => void new CloudwatchLogGroup(stack, "Logs", { retentionInDays: 14 })))).toEqual([]);
  });
});

describe("lambda-async-failure", () => {
  const fn = (stack: TerraformStack, config: Partial<LambdaFunctionConfig> = {}) =>
    new LambdaFunction(stack, "Function", { functionName: "fn", role: "arn:aws:iam::111122223333:role/fn", filename: "fn.zip", handler: "index.handler", runtime: "nodejs22.x", ...config });
  const invokedBySns = (stack: TerraformStack, function_: LambdaFunction) =>
    new LambdaPermission(stack, "FromSns", { action: "lambda:InvokeFunction", functionName: function_.functionName, principal: "sns.amazonaws.com", sourceArn: "arn:aws:sns:eu-west-1:111122223333:t" });

  test("refuses an asynchronously invoked function that drops the events it fails on", () => {
    const stack = policyStack((scope) => void invokedBySns(scope, fn(scope)));
    expect(violations(stack)).toEqual([
      "[lambda-async-failure] test/Function (aws_lambda_function.Function): invoked asynchronously (by sns.amazonaws.com) with neither a dead-letter queue nor an on-failure destination. Fix: set dead_letter_config.target_arn, or an aws_lambda_function_event_invoke_config with destination_config.on_failure.",
    ]);
  });

  test("passes an on-failure destination, a dead-letter queue, and a function fed through an event source mapping", () => {
    const withDestination = policyStack((scope) => {
      const function_ = fn(scope);
      invokedBySns(scope, function_);
      const failures = new SqsQueue(scope, "Failures", { sqsManagedSseEnabled: true });
      new LambdaFunctionEventInvokeConfig(scope, "InvokeConfig", { functionName: function_.functionName, destinationConfig: { onFailure: { destination: failures.arn } } });
    });
    const withDeadLetters = policyStack((scope) => {
      const deadLetters = new SqsQueue(scope, "DeadLetters", { sqsManagedSseEnabled: true });
      invokedBySns(scope, fn(scope, { deadLetterConfig: { targetArn: deadLetters.arn } }));
    });
    const polled = policyStack((scope) => {
      const queue = new SqsQueue(scope, "Queue", { sqsManagedSseEnabled: true });
      new LambdaEventSourceMapping(scope, "Mapping", { eventSourceArn: queue.arn, functionName: fn(scope).arn });
    });
    expect([withDestination, withDeadLetters, polled].map(violations)).toEqual([[], [], []]);
  });
});

describe("secret-literal", () => {
  test("refuses secrets written as literals, naming where but not the value", () => {
    const stack = policyStack((scope) => {
      new LambdaFunction(scope, "Function", {
        functionName: "fn",
        role: "arn:aws:iam::111122223333:role/fn",
        filename: "fn.zip",
        handler: "index.handler",
        runtime: "nodejs22.x",
        environment: { variables: { DB_PASSWORD: "hunter2-hunter2", SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:s" } },
      });
      new DbInstance(scope, "Database", { instanceClass: "db.t4g.small", password: "correct-horse", storageEncrypted: true, deletionProtection: true, backupRetentionPeriod: 7 });
      new LaunchTemplate(scope, "Template", {
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true" } }],
        metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
        userData: Fn.base64encode("#!/bin/bash\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\ncurl https://admin:s3cr3t@example.com/\nexport DB_PASSWORD=pa55word\ntoken=$(cat /run/token); API_TOKEN=$token\n"),
      });
      new SecretsmanagerSecretVersion(scope, "Credentials", { secretId: "s", secretString: Fn.jsonencode({ username: "app", password: "tr0ub4dor" }) });
    });
    const lines = violations(stack);
    expect(lines).toEqual([
      "[secret-literal] test/Function (aws_lambda_function.Function): environment.variables.DB_PASSWORD is a literal. Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
      "[secret-literal] test/Database (aws_db_instance.Database): password is a literal. Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
      "[secret-literal] test/Template (aws_launch_template.Template): user_data contains an AWS access key ID (CKV_SECRET_2). Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
      "[secret-literal] test/Template (aws_launch_template.Template): user_data contains credentials in a URL (CKV_SECRET_4). Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
      "[secret-literal] test/Template (aws_launch_template.Template): user_data assigns DB_PASSWORD a literal. Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
      '[secret-literal] test/Credentials (aws_secretsmanager_secret_version.Credentials): secret_string sets "password" to a literal. Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.',
    ]);
    for (const secret of ["hunter2", "correct-horse", "AKIAIOSFODNN7EXAMPLE", "s3cr3t", "tr0ub4dor", "pa55word"]) expect(lines.join("\n")).not.toContain(secret);
  });

  test("passes secrets passed by reference, and names that only look like credentials", () => {
    const stack = policyStack((scope) => {
      new RandomProvider(scope, "random");
      const password = new Password(scope, "Password", { length: 32 });
      new DbInstance(scope, "Database", { instanceClass: "db.t4g.small", password: password.result, storageEncrypted: true, deletionProtection: true, backupRetentionPeriod: 7 });
      new EfsFileSystem(scope, "Files", { encrypted: true, creationToken: "k3s-shared" });
    });
    expect(violations(stack)).toEqual([]);
  });
});

describe("random-result-reference", () => {
  test("refuses a random result outside the resources that must hold it", () => {
    const stack = policyStack((scope) => {
      new RandomProvider(scope, "random");
      const password = new Password(scope, "Password", { length: 32 });
      const secret = new SecretsmanagerSecret(scope, "Secret", { namePrefix: "db-" });
      new SecretsmanagerSecretVersion(scope, "SecretValue", { secretId: secret.id, secretString: password.result });
      new TerraformOutput(scope, "password", { value: password.result, sensitive: true });
    });
    expect(violations(stack)).toEqual([
      "[random-result-reference] test/password (output.password): value refers to random_password.Password.result. Fix: reference the secret (its ARN) and read the value at run time; only aws_db_instance.password, aws_rds_cluster.master_password, aws_secretsmanager_secret_version.secret_string may hold it.",
    ]);
  });

  test("an escaped \"$${\" is literal text: neither a reference to a random result nor an expression hiding a literal", () => {
    const stack = policyStack((scope) => {
      new TerraformOutput(scope, "note", { value: "see $${random_password.Password.result}" });
      new DbInstance(scope, "Database", { instanceClass: "db.t4g.small", password: "$${not-a-reference}", storageEncrypted: true, deletionProtection: true, backupRetentionPeriod: 7 });
    });
    expect(violations(stack)).toEqual([
      "[secret-literal] test/Database (aws_db_instance.Database): password is a literal. Fix: generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference.",
    ]);
  });
});

describe("exemptions", () => {
  const openQueue = (stack: TerraformStack) => new SqsQueue(stack, "Queue", { sqsManagedSseEnabled: false });

  test("an exemption waives one rule on one resource and is reported with its reason", () => {
    const stack = policyStack((scope) => {
      PolicyExemption.of(openQueue(scope)).exempt("storage-encryption", "holds only public data");
    });
    expect(violations(stack)).toEqual([]);
    expect(Policy.of(stack)!.report.exemptions).toEqual([
      { rule: "storage-encryption", path: "test/Queue", address: "aws_sqs_queue.Queue", reason: "holds only public data", waived: ["neither sqs_managed_sse_enabled nor kms_master_key_id is set"] },
    ]);
  });

  test("an exemption from another rule waives nothing, and is itself a violation", () => {
    const stack = policyStack((scope) => {
      PolicyExemption.of(openQueue(scope)).exempt("log-retention", "not a log group");
    });
    expect(violations(stack)).toEqual([
      "[storage-encryption] test/Queue (aws_sqs_queue.Queue): neither sqs_managed_sse_enabled nor kms_master_key_id is set. Fix: set sqs_managed_sse_enabled = true or kms_master_key_id.",
      "[unused-exemption] test/Queue: the exemption from rule log-retention waives nothing. Fix: remove the exemption.",
    ]);
  });

  test("an exemption on a scope does not reach the resources inside it", () => {
    const stack = policyStack((scope) => {
      const group = new Construct(scope, "Group");
      new SqsQueue(group, "Queue", { sqsManagedSseEnabled: false });
      PolicyExemption.of(group).exempt("storage-encryption", "everything here is public");
    });
    expect(violations(stack)).toEqual([
      "[storage-encryption] test/Group/Queue (aws_sqs_queue.Group_Queue_4AD70803): neither sqs_managed_sse_enabled nor kms_master_key_id is set. Fix: set sqs_managed_sse_enabled = true or kms_master_key_id.",
      "[unused-exemption] test/Group: the exemption from rule storage-encryption is on a construct that synthesises no Terraform block, so it waives nothing. Fix: put the exemption on the resource, data source, output or local the rule reports.",
    ]);
  });

  test("an exemption needs a known rule and a reason", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const queue = new SqsQueue(stack, "Queue", {});
    expect(() => PolicyExemption.of(queue).exempt("storage-encryption", "  ")).toThrow(
      'PolicyExemption: test/Queue: the exemption from rule "storage-encryption" needs a reason (why the rule does not apply here)',
    );
    // The rules as the README's policy table lists them, in order.
    expect(() => PolicyExemption.of(queue).exempt("encryption" as never, "why")).toThrow(
      'PolicyExemption: test/Queue: unknown rule "encryption"; the rules are storage-encryption, imds-v2-required, imds-hop-limit, rds-not-public, ' +
        "rds-deletion-protection, rds-backups, sg-public-ingress, sg-egress-reach, iam-wildcard-action, iam-wildcard-resource, iam-service-source, " +
        "iam-policy-readable, iam-managed-policy, s3-public-access-block, s3-versioning, s3-tls-only, log-retention, lambda-async-failure, secret-literal, random-result-reference",
    );
    PolicyExemption.of(queue).exempt("storage-encryption", "why");
    expect(() => PolicyExemption.of(queue).exempt("storage-encryption", "again")).toThrow('PolicyExemption: test/Queue is already exempt from rule "storage-encryption"; give one reason');
  });

  test("an exemption naming statements waives only those: a statement added to the same document is still checked", () => {
    const stack = policyStack((scope) => {
      const document = new DataAwsIamPolicyDocument(scope, "Document", {
        statement: [
          { sid: "Interfaces", actions: ["ec2:CreateNetworkInterface"], resources: ["*"] },
          { sid: "ReadAll", actions: ["s3:GetObject"], resources: ["*"] },
        ],
      });
      new IamRolePolicy(scope, "Policy", { role: "role", policy: document.json });
      PolicyExemption.of(document).exempt("iam-wildcard-resource", "the service creates them at run time", { statements: ["Interfaces", "Gone"] });
    });
    expect(violations(stack)).toEqual([
      '[iam-wildcard-resource] test/Document (data.aws_iam_policy_document.Document): statement "ReadAll" grants s3:GetObject on "*". Fix: name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition.',
      '[unused-exemption] test/Document: the exemption from rule iam-wildcard-resource names statement "Gone", which the rule does not report. Fix: remove "Gone" from the exemption\'s statements.',
    ]);
    expect(Policy.of(stack)!.report.exemptions.map((exemption) => exemption.waived)).toEqual([['statement "Interfaces" grants ec2:CreateNetworkInterface on "*"']]);
    const queue = new SqsQueue(new TerraformStack(Testing.app(), "other"), "Queue", {});
    expect(() => PolicyExemption.of(queue).exempt("storage-encryption", "why", { statements: [] })).toThrow(
      'PolicyExemption: other/Queue: the exemption from rule "storage-encryption" names its statements by sid; leave out statements to cover the whole block',
    );
  });

  test("a refused synth lists every violation and the exemptions in effect", () => {
    const stack = policyStack((scope) => {
      PolicyExemption.of(openQueue(scope)).exempt("storage-encryption", "holds only public data");
      new CloudwatchLogGroup(scope, "Logs", {});
    });
    expect(() => Testing.synth(stack)).toThrow(
      [
        'Policy check of stack "test" failed with 1 violation:',
        "  - [log-retention] test/Logs (aws_cloudwatch_log_group.Logs): retention_in_days is not set, so its events never expire. Fix: set retention_in_days to a CloudWatch Logs retention value.",
        'Policy exemptions in stack "test" (1):',
        "  - [storage-encryption] test/Queue (aws_sqs_queue.Queue): holds only public data",
        "      waives: neither sqs_managed_sse_enabled nor kms_master_key_id is set",
      ].join("\n"),
    );
  });
});

describe("the policy on the project's stacks", () => {
  test("an app with a violation writes no stack and throws the policy's error", () => {
    const outdir = mkdtempSync(join(tmpdir(), "k3s-policy-"));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "bad");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new CloudwatchLogGroup(stack, "Logs", {});
    Policy.applyTo(stack, { environment: "prod" });
    expect(() => app.synth()).toThrow(PolicyViolationError);
    expect(existsSync(join(outdir, "stacks", "bad", "cdk.tf.json"))).toBe(false);
  });

  /** Exemptions the default cluster carries, each reasoned next to the construct it is on. */
  const DEFAULT_CLUSTER_EXEMPTIONS = [
    ["iam-service-source", "cluster/Automation/AutoscalerAssumeRole"],
    ["iam-service-source", "cluster/Automation/NodeDrainerAssumeRole"],
    ["iam-service-source", "cluster/Backup/AssumeRole"],
    ["iam-managed-policy", "cluster/Backup/RoleForBackup"],
    ["iam-managed-policy", "cluster/Backup/RoleForRestores"],
    ["iam-service-source", "cluster/Compute/Agents/Role/AssumeRole"],
    ["iam-service-source", "cluster/Compute/Servers/Role/AssumeRole"],
    ["iam-wildcard-action", "cluster/Automation/NotificationKeyPolicyDocument"],
    ["iam-wildcard-resource", "cluster/Automation/AutoscalerPolicyDocument"],
    ["iam-wildcard-resource", "cluster/Automation/NodeDrainerPolicyDocument"],
    ["iam-wildcard-resource", "cluster/Compute/CloudControllerPolicy"],
    ["iam-wildcard-resource", "cluster/Compute/SessionManagerPolicy"],
    ["iam-wildcard-resource", "cluster/Storage/CsiDriverPolicy"],
    ["lambda-async-failure", "cluster/Automation/Autoscaler"],
  ];

  test.each(EXAMPLE_CONFIGS)("both stacks of the %s config pass", (name, input) => {
    const config = resolveConfig(input);
    const cluster = new ClusterStack(Testing.app(), "cluster", config);
    const stateBackend = new StateBackendStack(Testing.app(), "state-backend", config);
    expect(violations(cluster)).toEqual([]);
    expect(violations(stateBackend)).toEqual([]);
    expect(Policy.of(stateBackend)!.report.exemptions).toEqual([]);
    const exemptions = Policy.of(cluster)!.report.exemptions.map((exemption) => [exemption.rule, exemption.path]).sort();
    // Without the autoscaler Lambda (scaling modes other than "pods") its three exemptions go with it.
    const autoscaler = config.agents.scalingMode === "pods" ? DEFAULT_CLUSTER_EXEMPTIONS : DEFAULT_CLUSTER_EXEMPTIONS.filter(([, path]) => !path.startsWith("cluster/Automation/Autoscaler"));
    // A created CloudFront distribution and the origin's listener rule hold the origin header secret (modules/front-door).
    const frontDoor =
      config.edge.cloudFront.enabled && !config.edge.cloudFront.existingDistributionDomainName
        ? [
            ["random-result-reference", "cluster/FrontDoor/Distribution"],
            ["random-result-reference", "cluster/FrontDoor/FromCloudFront"],
          ]
        : [];
    // Without backups (dev) the AWS Backup role's trust-policy exemption goes with them.
    const withBackups = config.backups.enabled ? autoscaler : autoscaler.filter(([, path]) => !path.startsWith("cluster/Backup/"));
    // The Slack forwarder's trust policy, like the other functions'; outside the VPC it has no network-interface statement.
    const slack = config.automation.slackWebhookSecretArn ? [["iam-service-source", "cluster/Automation/SlackForwarderAssumeRole"]] : [];
    // Grafana's CloudWatch reads name no resource (monitoring, with the aws partition's service-account issuer).
    const grafana = config.addons.monitoring.enabled && config.partition === "aws" ? [["iam-wildcard-resource", "cluster/GrafanaCloudWatchPolicy"]] : [];
    expect({ name, exemptions }).toEqual({ name, exemptions: [...withBackups, ...frontDoor, ...slack, ...grafana].sort() });
  });

  test("every exemption's reason is printed with the synth output", () => {
    const outdir = mkdtempSync(join(tmpdir(), "k3s-policy-"));
    const app = new App({ outdir });
    new StateBackendStack(app, "state-backend", resolveConfig({}));
    const stack = new TerraformStack(app, "exempted");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    PolicyExemption.of(new CloudwatchLogGroup(stack, "Logs", {})).exempt("log-retention", "kept for ever on purpose");
    Policy.applyTo(stack, { environment: "prod" });
    app.synth();
    expect(policyExemptions(app)).toEqual([
      'Policy exemptions in stack "state-backend": none',
      [
        'Policy exemptions in stack "exempted" (1):',
        "  - [log-retention] exempted/Logs (aws_cloudwatch_log_group.Logs): kept for ever on purpose",
        "      waives: retention_in_days is not set, so its events never expire",
      ].join("\n"),
    ]);
  });
});
