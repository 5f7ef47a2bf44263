import { ConfigInput } from "../config/schema";
import { synthCluster, TerraformJson } from "./helpers";
import { EDGE_EVERYTHING } from "./support/example-configs";

/**
 * Every name the cluster gives AWS must fit AWS's limits for the longest cluster name the config accepts, with every
 * option that adds resources turned on. Limits and character rules come from each service's API reference.
 */

/** The longest cluster name config accepts (2-20 characters). */
const LONGEST_CLUSTER_NAME = "abcdefghij-klmnopqrs";
const EVERY_OPTION: ConfigInput = {
  clusterName: LONGEST_CLUSTER_NAME,
  api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"], domain: "example.com" },
  automation: { notificationEmail: "ops@example.com", slackWebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:abcdefghij-klmnopqrs/slack-webhook-AbCdEf" },
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5vJ7oYz ops@example.com",
  backups: { copyRegion: "ap-southeast-4" },
};
/** Scaling modes are exclusive: "cpu" swaps the autoscaler Lambda for a scaling policy. */
const CONFIGS: [string, ConfigInput][] = [
  ["every option, pods scaling", EVERY_OPTION],
  ["every option, cpu scaling", { ...EVERY_OPTION, agents: { scalingMode: "cpu" } }],
  // The CloudFront origin adds an Application Load Balancer and its target group, and DNS adds records and a zone.
  ["every edge option", EDGE_EVERYTHING],
  ["every edge option, private API", { ...EDGE_EVERYTHING, api: { publicAccess: false, adminCidrs: ["203.0.113.0/24"] } }],
];

interface NameRule {
  readonly max: number;
  readonly min?: number;
  /** Allowed characters and shape of the whole name. */
  readonly pattern?: RegExp;
  /** Further rules, each a problem description when broken. */
  readonly forbid?: [RegExp, string][];
}

const LB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const IAM_NAME = /^[\w+=,.@-]+$/;
const RDS_IDENTIFIER = /^[a-z][a-z0-9-]*$/;
const RDS_IDENTIFIER_RULES: [RegExp, string][] = [
  [/--/, "two consecutive hyphens"],
  [/-$/, "a trailing hyphen"],
];

/** AWS limits by resource type and argument. The name_prefix rows describe prefix plus Terraform's suffix. */
const LIMITS: Record<string, Record<string, NameRule>> = {
  // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
  // Name: at most 32 alphanumerics or hyphens, not beginning or ending with a hyphen, not beginning with "internal-".
  aws_lb: { name: { max: 32, pattern: LB_NAME, forbid: [[/^internal-/, 'the prefix "internal-"']] } },
  // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
  aws_lb_target_group: { name: { max: 32, pattern: LB_NAME } },
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html: RoleName 1-64, [\w+=,.@-]+ (no ":").
  aws_iam_role: { name: { max: 64, pattern: IAM_NAME }, name_prefix: { max: 64, pattern: IAM_NAME } },
  // https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginAccessControlConfig.html: Name, up to 64 characters.
  aws_cloudfront_origin_access_control: { name: { max: 64, pattern: /^[\x20-\x7e]+$/ } },
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html: 1-128, [\w+=,.@-]+.
  aws_iam_instance_profile: { name: { max: 128, pattern: IAM_NAME }, name_prefix: { max: 128, pattern: IAM_NAME } },
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html: PolicyName 1-128, [\w+=,.@-]+.
  aws_iam_policy: { name: { max: 128, pattern: IAM_NAME }, name_prefix: { max: 128, pattern: IAM_NAME } },
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html: PolicyName 1-128, [\w+=,.@-]+.
  aws_iam_role_policy: { name: { max: 128, pattern: IAM_NAME }, name_prefix: { max: 128, pattern: IAM_NAME } },
  // https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html: a function name is 1-64 [a-zA-Z0-9-_].
  aws_lambda_function: { function_name: { max: 64, pattern: /^[a-zA-Z0-9_-]+$/ } },
  // https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html: StatementId 1-100, ([a-zA-Z0-9-_]+).
  aws_lambda_permission: { statement_id: { max: 100, pattern: /^[a-zA-Z0-9_-]+$/ }, statement_id_prefix: { max: 100, pattern: /^[a-zA-Z0-9_-]+$/ } },
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html: DBInstanceIdentifier 1-63
  // letters, digits or hyphens, a letter first, no two consecutive hyphens, no trailing hyphen (stored lower case).
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html: FinalDBSnapshotIdentifier
  // 1-255 with the same character rules.
  aws_db_instance: {
    identifier: { max: 63, pattern: RDS_IDENTIFIER, forbid: RDS_IDENTIFIER_RULES },
    identifier_prefix: { max: 63, pattern: RDS_IDENTIFIER, forbid: RDS_IDENTIFIER_RULES },
    final_snapshot_identifier: { max: 255, pattern: RDS_IDENTIFIER, forbid: RDS_IDENTIFIER_RULES },
  },
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html: at most 255 letters,
  // numbers, periods, underscores, spaces or hyphens, not "default" (the provider also requires lower case).
  aws_db_subnet_group: {
    name: { max: 255, pattern: /^[a-z0-9 ._-]+$/, forbid: [[/^default$/, 'the reserved name "default"']] },
    name_prefix: { max: 255, pattern: /^[a-z0-9 ._-]+$/ },
  },
  // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html: 1-255 letters, digits
  // or hyphens, a letter first, no trailing hyphen or two consecutive hyphens (stored lower case).
  aws_db_parameter_group: {
    name: { max: 255, pattern: RDS_IDENTIFIER, forbid: RDS_IDENTIFIER_RULES },
    name_prefix: { max: 255, pattern: RDS_IDENTIFIER, forbid: RDS_IDENTIFIER_RULES },
  },
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html: QueueName up to 80
  // alphanumerics, hyphens and underscores.
  aws_sqs_queue: { name: { max: 80, pattern: /^[A-Za-z0-9_-]+$/ }, name_prefix: { max: 80, pattern: /^[A-Za-z0-9_-]+$/ } },
  // https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html: 1-256 alphanumerics, hyphens and underscores.
  aws_sns_topic: { name: { max: 256, pattern: /^[A-Za-z0-9_-]+$/ }, name_prefix: { max: 256, pattern: /^[A-Za-z0-9_-]+$/ } },
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html:
  // table names are 3-255 characters of a-z, A-Z, 0-9, "_", "-" and ".".
  aws_dynamodb_table: { name: { min: 3, max: 255, pattern: /^[A-Za-z0-9_.-]+$/ } },
  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html: Name 1-64, [\.\-_A-Za-z0-9]+.
  aws_cloudwatch_event_rule: { name: { max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ }, name_prefix: { max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ } },
  // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html: Id 1-64, [\.\-_A-Za-z0-9]+.
  aws_cloudwatch_event_target: { target_id: { max: 64, pattern: /^[.\-_A-Za-z0-9]+$/ } },
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html: AlarmName 1-255,
  // UTF-8 without ASCII control characters.
  aws_cloudwatch_metric_alarm: { alarm_name: { max: 255, pattern: /^[^\x00-\x1f\x7f]+$/ } },
  // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html: 1-512,
  // [\.\-_/#A-Za-z0-9]+.
  aws_cloudwatch_log_group: { name: { max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/ }, name_prefix: { max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/ } },
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html: AliasName 1-256, ^alias/[a-zA-Z0-9/_-]+$,
  // and "alias/aws/" is reserved for AWS managed keys.
  aws_kms_alias: {
    name: { max: 256, pattern: /^alias\/[a-zA-Z0-9/_-]+$/, forbid: [[/^alias\/aws\//, 'the reserved prefix "alias/aws/"']] },
    name_prefix: { max: 256, pattern: /^alias\/[a-zA-Z0-9/_-]+$/, forbid: [[/^alias\/aws\//, 'the reserved prefix "alias/aws/"']] },
  },
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html: GroupName up to 255 of
  // a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* in a VPC; it cannot start with "sg-".
  aws_security_group: {
    name: { max: 255, pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/, forbid: [[/^sg-/, 'the prefix "sg-"']] },
    name_prefix: { max: 255, pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/, forbid: [[/^sg-/, 'the prefix "sg-"']] },
  },
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html: LaunchTemplateName 3-128,
  // [a-zA-Z0-9\(\)\.\-/_]+.
  aws_launch_template: {
    name: { min: 3, max: 128, pattern: /^[a-zA-Z0-9().\-/_]+$/ },
    name_prefix: { min: 3, max: 128, pattern: /^[a-zA-Z0-9().\-/_]+$/ },
  },
  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html: AutoScalingGroupName 1-255.
  aws_autoscaling_group: { name: { max: 255 }, name_prefix: { max: 255 } },
  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutLifecycleHook.html: LifecycleHookName 1-255,
  // [A-Za-z0-9\-_\/]+.
  aws_autoscaling_lifecycle_hook: { name: { max: 255, pattern: /^[A-Za-z0-9\-_/]+$/ } },
  // https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutScalingPolicy.html: PolicyName 1-255.
  aws_autoscaling_policy: { name: { max: 255 } },
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ImportKeyPair.html and CreateKeyPair: KeyName up to
  // 255 ASCII characters.
  aws_key_pair: { key_name: { max: 255, pattern: /^[\x20-\x7e]+$/ }, key_name_prefix: { max: 255, pattern: /^[\x20-\x7e]+$/ } },
  // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html: Name 1-512 of ASCII letters,
  // digits and /_+=.@-; a name ending in a hyphen and six characters is confused with an ARN suffix.
  aws_secretsmanager_secret: {
    name: { max: 512, pattern: /^[A-Za-z0-9/_+=.@-]+$/, forbid: [[/-[A-Za-z0-9]{6}$/, "a hyphen and six characters at the end"]] },
    name_prefix: { max: 512, pattern: /^[A-Za-z0-9/_+=.@-]+$/ },
  },
  // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html: Name at most 1024; DNS itself
  // allows 253 characters in a name of labels of at most 63 (RFC 1035, 2.3.4), the stricter limit checked here.
  // (Labels of at most 63 are not checked on records: a name ACM supplies is measured as one run of letters; the names
  // this project writes come from edge.fqdn, whose labels the config already holds to 63.)
  aws_route53_record: { name: { max: 253, pattern: /^[a-z0-9_.-]+$/ } },
  // https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html: Name at most 1024; DNS as above.
  aws_route53_zone: { name: { max: 253, pattern: /^(?!.*[^.]{64})[a-z0-9.-]+$/ } },
  // https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html: CreationToken 1-64.
  aws_efs_file_system: { creation_token: { max: 64 } },
  // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html: backupVaultName
  // ^[a-zA-Z0-9\-\_]{2,50}$.
  aws_backup_vault: { name: { min: 2, max: 50, pattern: /^[a-zA-Z0-9_-]+$/ } },
  // AWS Backup's plan and selection names (CreateBackupPlan BackupPlanName, CreateBackupSelection SelectionName): 1-50
  // alphanumerics or "-_." (the AWS CLI's backup model: ^[a-zA-Z0-9\-\_\.]{1,50}$).
  aws_backup_plan: { name: { max: 50, pattern: /^[a-zA-Z0-9_.-]+$/ } },
  aws_backup_selection: { name: { max: 50, pattern: /^[a-zA-Z0-9_.-]+$/ } },
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html: DashboardName up to 255
  // alphanumerics, "-" and "_".
  aws_cloudwatch_dashboard: { dashboard_name: { max: 255, pattern: /^[A-Za-z0-9_-]+$/ } },
};

/** Arguments that name a resource (or, on other types, refer to another resource's name). */
const NAME_ARGUMENTS = new Set(Object.values(LIMITS).flatMap((rules) => Object.keys(rules)));

/**
 * Terraform appends a 26-character unique ID (a timestamp and a counter) to a name_prefix; the provider documents
 * this by capping prefixes at the limit minus 26, such as 38 for an IAM role.
 */
const PREFIX_SUFFIX = "20250101000000000000000001";

/** Longest region code of any partition the config accepts: us-isof-south-1. */
const LONGEST_REGION = 15;

/** The longest value a reference can take, with where that length comes from. */
function referenceLength(reference: string, json: TerraformJson): number {
  // random_id.hex is two hex digits per byte of byte_length (registry.terraform.io/providers/hashicorp/random, random_id).
  const randomId = /^random_id\.([A-Za-z0-9_]+)\.hex$/.exec(reference);
  if (randomId) return 2 * json.resource.random_id[randomId[1]].byte_length;
  // An availability zone name is its region code and one letter (EC2 DescribeAvailabilityZones, ZoneName).
  if (/^element\(data\.aws_availability_zones\.[A-Za-z0-9_]+\.names, \d+\)$/.test(reference)) return LONGEST_REGION + 1;
  if (/^data\.aws_region\.[A-Za-z0-9_]+\.(name|region)$/.test(reference)) return LONGEST_REGION;
  // "aws-us-gov" is the longest partition name.
  if (/^data\.aws_partition\.[A-Za-z0-9_]+\.partition$/.test(reference)) return "aws-us-gov".length;
  if (/^data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id$/.test(reference)) return 12;
  // An ACM validation record's name (ACM API reference, ResourceRecord.Name) is a DNS name: at most 253 characters.
  if (reference === "each.value.resource_record_name") return 253;
  throw new Error(`no documented maximum length for the reference \${${reference}}; add it to referenceLength`);
}

/** The name at its longest: each reference replaced by lower-case letters of its maximum length. */
function longestForm(value: string, json: TerraformJson): string {
  return value.replace(/\$\{([^}]+)\}/g, (_match, reference: string) => "a".repeat(referenceLength(reference, json)));
}

function isWholeReference(value: string): boolean {
  return /^\$\{[^}]+\}$/.test(value);
}

/** Problems with one name, empty when it is valid. */
function nameProblems(rule: NameRule, name: string): string[] {
  const problems: string[] = [];
  if (name.length > rule.max) problems.push(`${name.length} characters, more than ${rule.max}`);
  if (name.length < (rule.min ?? 1)) problems.push(`${name.length} characters, fewer than ${rule.min ?? 1}`);
  if (rule.pattern && !rule.pattern.test(name)) problems.push(`characters or shape outside ${rule.pattern}`);
  for (const [pattern, description] of rule.forbid ?? []) if (pattern.test(name)) problems.push(`contains ${description}`);
  return problems;
}

/** Every name-like argument of every resource, checked against LIMITS; "type.id.argument: problem" lines. */
function checkNames(json: TerraformJson): { checked: string[]; problems: string[] } {
  const checked: string[] = [];
  const problems: string[] = [];
  for (const [type, resources] of Object.entries(json.resource)) {
    for (const [id, body] of Object.entries(resources)) {
      for (const [argument, value] of Object.entries(body)) {
        if (!NAME_ARGUMENTS.has(argument) || typeof value !== "string") continue;
        const rule = LIMITS[type]?.[argument];
        const address = `${type}.${id}.${argument}`;
        if (!rule) {
          // On other types these arguments point at another resource's name, which is checked there.
          if (!isWholeReference(value)) problems.push(`${address}: no AWS limit recorded for this argument; add it to LIMITS`);
          continue;
        }
        const longest = longestForm(value, json) + (argument.endsWith("_prefix") ? PREFIX_SUFFIX : "");
        checked.push(address);
        for (const problem of nameProblems(rule, longest)) problems.push(`${address} = "${longest}": ${problem}`);
      }
      // Tag values are at most 256 characters (docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
      for (const [key, tagValue] of Object.entries((body.tags ?? {}) as Record<string, string>)) {
        const longest = longestForm(tagValue, json);
        if (longest.length > 256) problems.push(`${type}.${id}.tags["${key}"]: ${longest.length} characters, more than 256`);
      }
    }
  }
  return { checked, problems };
}

describe.each(CONFIGS)("names with the longest cluster name (%s)", (_label, config) => {
  const { json } = synthCluster(config);
  const { checked, problems } = checkNames(json);

  test("every name-like argument of every resource fits its AWS limits and character rules", () => {
    expect(problems).toEqual([]);
  });

  test("the check covers the names this project sets", () => {
    const types = new Set(checked.map((address) => address.split(".")[0]));
    for (const type of ["aws_lb", "aws_lb_target_group", "aws_iam_role", "aws_db_instance", "aws_secretsmanager_secret", "aws_efs_file_system", "aws_security_group", "aws_cloudwatch_log_group"]) {
      expect(types).toContain(type);
    }
    expect(checked).toContainEqual(expect.stringMatching(/^aws_db_instance\..+\.final_snapshot_identifier$/));
  });
});

describe("the name check itself", () => {
  test.each([
    ["a 33-character target group name", LIMITS.aws_lb_target_group.name, "abcdefghij-klmnopqrs-api-public-6", ["33 characters, more than 32"]],
    ["a target group name ending in a hyphen", LIMITS.aws_lb_target_group.name, "k3s-api-", [`characters or shape outside ${LB_NAME}`]],
    ["a load balancer named internal-*", LIMITS.aws_lb.name, "internal-k3s", ['contains the prefix "internal-"']],
    ["an RDS identifier with two hyphens", LIMITS.aws_db_instance.identifier, "k3s--datastore", ["contains two consecutive hyphens"]],
    ["an RDS identifier starting with a digit", LIMITS.aws_db_instance.identifier, "3ks-datastore", [`characters or shape outside ${RDS_IDENTIFIER}`]],
    ["an IAM role name with the region's colon", LIMITS.aws_iam_role.name, "k3s:eu-west-1", [`characters or shape outside ${IAM_NAME}`]],
    ["a valid IAM role name", LIMITS.aws_iam_role.name, "abcdefghij-klmnopqrs-eu-west-1-server", []],
  ])("%s", (_label, rule, name, expected) => {
    expect(nameProblems(rule, name)).toEqual(expected);
  });

  test("a name with a reference is checked at the reference's longest value", () => {
    const json = { terraform: {}, resource: { random_id: { Suffix: { byte_length: 4 } } } } as TerraformJson;
    expect(longestForm("k3s-datastore-final-${random_id.Suffix.hex}", json)).toBe("k3s-datastore-final-aaaaaaaa");
    expect(() => longestForm("k3s-${aws_vpc.Vpc.id}", json)).toThrow("no documented maximum length for the reference ${aws_vpc.Vpc.id}");
  });
});
