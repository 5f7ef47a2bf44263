import { IConstruct } from "constructs";
import { PolicyStatement, policyStatements, readPolicies, statementName } from "./iam";
import { PolicyOptions } from "./options";
import { RuleId } from "./rule-ids";
import { Block, expressions, isLiteral, isSet, isTrue, list, strings, SynthesisedStack } from "./synthesised";

/** One thing a rule found wrong with one block. */
export interface Finding {
  readonly block: Block;
  /** What is wrong, naming the attribute or statement. Never the value of a secret. */
  readonly detail: string;
  /** How to fix this finding, when it differs from the rule's general fix. */
  readonly fix?: string;
  /** The sid of the policy statement the finding is about, if it has one. */
  readonly statement?: string;
}

export interface Rule {
  readonly id: RuleId;
  readonly title: string;
  /** How to fix a violation. */
  readonly fix: string;
  readonly check: (stack: SynthesisedStack, options: PolicyOptions) => Finding[];
}

const ANYWHERE = ["0.0.0.0/0", "::/0"];

/**
 * Storage encrypted at rest: EBS volumes of launch templates, RDS, EFS, S3, SQS, SNS, DynamoDB, and CloudWatch log
 * groups when a logs key is configured (`logGroupKmsKey`; CloudWatch Logs encrypts every group itself otherwise).
 * checkov: CKV_AWS_16 (RDS), CKV_AWS_42 (EFS), CKV_AWS_19 (S3), CKV_AWS_27 (SQS), CKV_AWS_26 (SNS), CKV_AWS_158 (log
 * groups), CKV_AWS_119 (DynamoDB, which also demands a customer-managed key; this rule accepts the AWS-managed one);
 * for launch-template EBS no matching check found (CKV_AWS_8 covers launch configurations and instances).
 * tfsec/trivy: AVD-AWS-0080 aws-rds-encrypt-instance-storage-data, AVD-AWS-0037 aws-efs-enable-at-rest-encryption,
 * AVD-AWS-0088 aws-s3-enable-bucket-encryption, AVD-AWS-0096 aws-sqs-enable-queue-encryption, AVD-AWS-0095
 * aws-sns-enable-topic-encryption, AVD-AWS-0025 aws-dynamodb-table-customer-key (customer-managed key),
 * AVD-AWS-0017 aws-cloudwatch-log-group-customer-key; for launch-template EBS no matching check found
 * (AVD-AWS-0008 aws-ec2-enable-launch-config-at-rest-encryption covers launch configurations).
 */
const storageEncryption: Rule = {
  id: "storage-encryption",
  title: "storage is encrypted at rest",
  fix: "turn on encryption at rest",
  check(stack, options) {
    const findings: Finding[] = [];
    const flag = (block: Block, detail: string, fix: string) => findings.push({ block, detail, fix });
    for (const block of stack.resources("aws_launch_template")) {
      const mappings = list(body(block).block_device_mappings).filter((mapping) => list(mapping.ebs).length > 0);
      if (mappings.length === 0) {
        flag(block, "no block device mapping sets EBS encryption, so the root volume is encrypted only if the AMI's snapshot or the account's EBS default is", "add block_device_mappings for the root device with ebs.encrypted = true");
      }
      for (const mapping of mappings.filter((candidate) => !isTrue(list(candidate.ebs)[0].encrypted))) {
        flag(block, `block device ${mapping.device_name ?? "(unnamed)"} is not encrypted`, "set ebs.encrypted = true");
      }
    }
    for (const type of ["aws_db_instance", "aws_rds_cluster"]) {
      for (const block of stack.resources(type).filter((candidate) => !isTrue(body(candidate).storage_encrypted))) {
        flag(block, "storage_encrypted is not true", "set storage_encrypted = true");
      }
    }
    for (const block of stack.resources("aws_efs_file_system").filter((candidate) => !isTrue(body(candidate).encrypted))) {
      flag(block, "encrypted is not true", "set encrypted = true");
    }
    const encryptionConfigs = stack.resources("aws_s3_bucket_server_side_encryption_configuration").filter((config) =>
      list(body(config).rule).some((rule) => list(rule.apply_server_side_encryption_by_default).some((byDefault) => isSet(byDefault.sse_algorithm))),
    );
    for (const bucket of stack.resources("aws_s3_bucket")) {
      const inline = list(body(bucket).server_side_encryption_configuration).length > 0;
      if (!inline && !encryptionConfigs.some((config) => stack.refersTo(body(config).bucket, bucket))) {
        flag(bucket, "no aws_s3_bucket_server_side_encryption_configuration with a default algorithm names this bucket", "add one (sse_algorithm aws:kms or AES256)");
      }
    }
    for (const block of stack.resources("aws_sqs_queue")) {
      if (!isTrue(body(block).sqs_managed_sse_enabled) && !isSet(body(block).kms_master_key_id)) {
        flag(block, "neither sqs_managed_sse_enabled nor kms_master_key_id is set", "set sqs_managed_sse_enabled = true or kms_master_key_id");
      }
    }
    for (const block of stack.resources("aws_sns_topic").filter((candidate) => !isSet(body(candidate).kms_master_key_id))) {
      flag(block, "kms_master_key_id is not set", "set kms_master_key_id to a KMS key (CloudWatch alarms need a customer-managed one)");
    }
    for (const block of stack.resources("aws_dynamodb_table")) {
      if (!list(body(block).server_side_encryption).some((encryption) => isTrue(encryption.enabled))) {
        flag(block, "server_side_encryption is not enabled (the table falls back to an AWS-owned key)", "set server_side_encryption { enabled = true }");
      }
    }
    if (options.logGroupKmsKey) {
      for (const block of stack.resources("aws_cloudwatch_log_group").filter((candidate) => !isSet(body(candidate).kms_key_id))) {
        flag(block, "kms_key_id is not set, and this stack configures a KMS key for logs", "set kms_key_id to the logs key");
      }
    }
    return findings;
  },
};

/**
 * Launch templates require IMDSv2 (session tokens), or turn the metadata endpoint off.
 * checkov: CKV_AWS_79. tfsec/trivy: AVD-AWS-0130 aws-ec2-enforce-launch-config-http-token-imds.
 */
const imdsV2Required: Rule = {
  id: "imds-v2-required",
  title: "launch templates require IMDSv2",
  fix: 'set metadata_options.http_tokens = "required"',
  check(stack) {
    return stack
      .resources("aws_launch_template")
      .filter((block) => {
        const metadata = list(body(block).metadata_options)[0] ?? {};
        return metadata.http_endpoint !== "disabled" && metadata.http_tokens !== "required";
      })
      .map((block) => ({ block, detail: "metadata_options.http_tokens is not \"required\", so IMDSv1 answers without a session token" }));
  },
};

/**
 * Launch templates keep the metadata response hop limit at 1, so no container on the pod network can take the node
 * role's credentials. Stricter than checkov, which passes a template without the setting: the launch then takes the
 * AMI's default, which is 2 for AMIs registered with ImdsSupport v2.0, as Amazon Linux 2023's are.
 * checkov: CKV_AWS_341. tfsec/trivy: no matching check found.
 */
const imdsHopLimit: Rule = {
  id: "imds-hop-limit",
  title: "launch templates keep the metadata hop limit at 1",
  fix: "set metadata_options.http_put_response_hop_limit = 1 (give components that need metadata host networking)",
  check(stack) {
    const findings: Finding[] = [];
    for (const block of stack.resources("aws_launch_template")) {
      const metadata = list(body(block).metadata_options)[0] ?? {};
      if (metadata.http_endpoint === "disabled") continue;
      const hops = metadata.http_put_response_hop_limit;
      if (hops === undefined) findings.push({ block, detail: "metadata_options.http_put_response_hop_limit is not set, so instances get the AMI's default (2 for ImdsSupport v2.0 AMIs)" });
      else if (!(typeof hops === "number" && hops <= 1)) findings.push({ block, detail: `metadata_options.http_put_response_hop_limit is ${JSON.stringify(hops)}` });
    }
    return findings;
  },
};

/** RDS instances are not publicly accessible. checkov: CKV_AWS_17. tfsec/trivy: AVD-AWS-0180 aws-rds-enable-public-access. */
const rdsNotPublic: Rule = {
  id: "rds-not-public",
  title: "RDS instances are not publicly accessible",
  fix: "set publicly_accessible = false and keep the instance in private subnets",
  check(stack) {
    return stack.resources("aws_db_instance").filter((block) => isTrue(body(block).publicly_accessible)).map((block) => ({ block, detail: "publicly_accessible is true" }));
  },
};

/**
 * RDS instances have deletion protection outside `dev`.
 * checkov: CKV_AWS_293. tfsec/trivy: AVD-AWS-0177 aws-rds-enable-deletion-protection.
 */
const rdsDeletionProtection: Rule = {
  id: "rds-deletion-protection",
  title: "RDS instances have deletion protection outside dev",
  fix: "set deletion_protection = true (only environment dev may leave it off)",
  check(stack, options) {
    if (options.environment === "dev") return [];
    return stack
      .resources("aws_db_instance")
      .filter((block) => !isTrue(body(block).deletion_protection))
      .map((block) => ({ block, detail: `deletion_protection is not true in environment ${options.environment}` }));
  },
};

/**
 * RDS instances keep automated backups. trivy asks for more than the one day this rule accepts.
 * checkov: CKV_AWS_133. tfsec/trivy: AVD-AWS-0077 aws-rds-specify-backup-retention.
 */
const rdsBackups: Rule = {
  id: "rds-backups",
  title: "RDS instances keep automated backups",
  fix: "set backup_retention_period to 1-35 days",
  check(stack) {
    return stack
      .resources("aws_db_instance")
      .filter((block) => !(typeof body(block).backup_retention_period === "number" && body(block).backup_retention_period >= 1))
      .map((block) => ({
        block,
        detail: body(block).backup_retention_period === undefined ? "backup_retention_period is not set" : `backup_retention_period is ${JSON.stringify(body(block).backup_retention_period)}`,
      }));
  },
};

/** One security-group rule, whichever resource or block wrote it. */
interface GroupRule {
  readonly block: Block;
  readonly direction: "ingress" | "egress";
  /** The security group the rule belongs to. */
  readonly group?: Block;
  /** "tcp", "udp", "icmp", "-1" (all) or a protocol number. */
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  /** CIDRs and prefix lists: the addresses the rule reaches, as opposed to security groups. */
  readonly addresses: string[];
}

function groupRules(stack: SynthesisedStack): GroupRule[] {
  const rules: GroupRule[] = [];
  const protocol = (value: unknown) => {
    const text = String(value ?? "-1").toLowerCase();
    return ({ "6": "tcp", "17": "udp", all: "-1" } as Record<string, string>)[text] ?? text;
  };
  const port = (value: unknown) => (value === undefined || value === null ? undefined : Number(value));
  const groupOf = (reference: unknown) => stack.referencedBlocks(reference, "aws_security_group")[0];
  for (const direction of ["ingress", "egress"] as const) {
    for (const block of stack.resources(`aws_vpc_security_group_${direction}_rule`)) {
      const rule = body(block);
      const addresses = [rule.cidr_ipv4, rule.cidr_ipv6, rule.prefix_list_id].filter(isSet).map(String);
      rules.push({ block, direction, group: groupOf(rule.security_group_id), protocol: protocol(rule.ip_protocol), fromPort: port(rule.from_port), toPort: port(rule.to_port), addresses });
    }
    for (const block of stack.resources("aws_security_group_rule").filter((candidate) => body(candidate).type === direction)) {
      const rule = body(block);
      const addresses = [...stringList(rule.cidr_blocks), ...stringList(rule.ipv6_cidr_blocks), ...stringList(rule.prefix_list_ids)];
      rules.push({ block, direction, group: groupOf(rule.security_group_id), protocol: protocol(rule.protocol), fromPort: port(rule.from_port), toPort: port(rule.to_port), addresses });
    }
    for (const block of [...stack.resources("aws_security_group"), ...stack.resources("aws_default_security_group")]) {
      for (const rule of list(body(block)[direction])) {
        const addresses = [...stringList(rule.cidr_blocks), ...stringList(rule.ipv6_cidr_blocks), ...stringList(rule.prefix_list_ids)];
        rules.push({ block, direction, group: block, protocol: protocol(rule.protocol), fromPort: port(rule.from_port), toPort: port(rule.to_port), addresses });
      }
    }
  }
  return rules;
}

function describeTraffic(rule: GroupRule): string {
  if (rule.protocol === "-1") return "all traffic";
  if (rule.fromPort === undefined) return rule.protocol;
  return `${rule.protocol} ${rule.fromPort === rule.toPort ? rule.fromPort : `${rule.fromPort}-${rule.toPort}`}`;
}

const groupName = (rule: GroupRule) => rule.group?.path ?? "(a security group this check cannot resolve)";
const isGroup = (construct: IConstruct, rule: GroupRule) => rule.group?.element !== undefined && rule.group.element === construct;

/**
 * No ingress from 0.0.0.0/0 or ::/0, except the listener ports of the public ingress load balancer (the documented
 * table, `networkReach.publicIngress`).
 * checkov: CKV_AWS_24 (22), CKV_AWS_25 (3389), CKV_AWS_260 (80), CKV_AWS_277 (all ports).
 * tfsec: aws-ec2-no-public-ingress-sgr (AVD-AWS-0107; current trivy checks only SSH and RDP under that ID).
 */
const sgPublicIngress: Rule = {
  id: "sg-public-ingress",
  title: "no world-open ingress beyond the public ingress listeners",
  fix: "admit the traffic from a security group or a narrower CIDR; only the documented public listeners may be open to the world",
  check(stack, options) {
    const allowed = options.networkReach?.publicIngress ?? [];
    const documented = (rule: GroupRule) =>
      allowed.some((entry) => isGroup(entry.securityGroup, rule) && entry.protocol === rule.protocol && rule.fromPort !== undefined && rule.fromPort === rule.toPort && entry.ports.includes(rule.fromPort));
    return groupRules(stack)
      .filter((rule) => rule.direction === "ingress" && !documented(rule))
      .flatMap((rule) =>
        rule.addresses.filter((address) => ANYWHERE.includes(address)).map((address) => ({ block: rule.block, detail: `ingress of ${describeTraffic(rule)} from ${address} into ${groupName(rule)}` })),
      );
  },
};

/**
 * Egress goes to security groups, or to the addresses the documented table (`networkReach.egress`) lists for the group.
 * checkov: CKV_AWS_382 (all ports to 0.0.0.0/0). tfsec/trivy: AVD-AWS-0104 aws-ec2-no-public-egress-sgr.
 */
const sgEgressReach: Rule = {
  id: "sg-egress-reach",
  title: "egress reaches no further than the documented table",
  fix: "send the traffic to a security group, or add the reach with its reason to the documented egress table (and the README)",
  check(stack, options) {
    const allowed = options.networkReach?.egress ?? [];
    return groupRules(stack)
      .filter((rule) => rule.direction === "egress")
      .flatMap((rule) =>
        rule.addresses
          .filter(
            (address) =>
              !allowed.some(
                (entry) =>
                  isGroup(entry.securityGroup, rule) &&
                  entry.cidr === address &&
                  (entry.protocol === "-1" || (entry.protocol === rule.protocol && rule.fromPort === entry.port && rule.toPort === entry.port)),
              ),
          )
          .map((address) => {
            const documented = allowed.filter((entry) => isGroup(entry.securityGroup, rule)).map((entry) => `${entry.protocol === "-1" ? "all traffic" : `${entry.protocol} ${entry.port}`} to ${entry.cidr}`);
            return {
              block: rule.block,
              detail: `egress of ${describeTraffic(rule)} to ${address} from ${groupName(rule)} is not in the documented table (it lists ${documented.length > 0 ? documented.join(", ") : "no egress to addresses for this group"})`,
            };
          }),
      );
  },
};

/** Any wildcard but one "*" ending a named action ("kms:GenerateDataKey*", the form AWS's own examples use). */
const isWildcardAction = (action: string) => /[*?]/.test(action) && !/^[A-Za-z0-9-]+:[A-Za-z0-9]+\*$/.test(action);

/**
 * No Allow statement grants every action, every action of a service ("*", "kms:*"), actions matched anywhere but at
 * the end ("iam:*Role*", "kms:**"), or uses NotAction.
 * Stricter than checkov's CKV_AWS_49, which flags only a bare "*".
 * checkov: CKV_AWS_49 (and CKV_AWS_1 for "*" on "*"). tfsec: aws-iam-no-policy-wildcards (AVD-AWS-0057).
 */
const iamWildcardAction: Rule = {
  id: "iam-wildcard-action",
  title: "no wildcard actions in an Allow",
  fix: "list the actions the principal needs",
  check(stack) {
    return readPolicies(stack).documents.flatMap((document) =>
      document.statements.flatMap((statement, index) => {
        if (statement.effect !== "Allow") return [];
        const wildcards = statement.actions.filter(isWildcardAction);
        const details = [
          ...(wildcards.length > 0 ? [`${statementName(statement, index)} allows ${wildcards.map((action) => `"${action}"`).join(", ")}`] : []),
          ...(statement.notActions.length > 0 ? [`${statementName(statement, index)} allows every action but ${statement.notActions.join(", ")} (NotAction)`] : []),
        ];
        return details.map((detail) => ({ block: document.block, detail, statement: statement.sid }));
      }),
    );
  },
};

/**
 * Actions whose entry in the Service Authorization Reference lists no resource type: IAM authorizes them against "*"
 * only, so a narrower Resource would deny them. The allow-list is exact (no patterns) and holds only what this project
 * grants. EC2's, Auto Scaling's and Elastic Load Balancing's Describe calls take no resource ARN
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html,
 * .../list_amazonec2autoscaling.html, .../list_awselasticloadbalancingv2.html; the EC2 API reference's "Granting
 * required permissions for Amazon EC2 resources" says the same of EC2's Describe actions).
 */
export const ACTIONS_WITHOUT_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeScalingActivities",
  "autoscaling:DescribeTags",
  "ec2:DescribeAvailabilityZones",
  "ec2:DescribeInstanceTopology",
  "ec2:DescribeInstanceTypes",
  "ec2:DescribeInstances",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeRegions",
  "ec2:DescribeRouteTables",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSubnets",
  "ec2:DescribeVolumeStatus",
  "ec2:DescribeVolumes",
  "ec2:DescribeVolumesModifications",
  "ec2:DescribeVpcs",
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancerAttributes",
  "elasticloadbalancing:DescribeLoadBalancerPolicies",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeTargetGroupAttributes",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
]);

/** Operators that hold a request to the listed values and fail it when the key is absent. */
const MATCHING_OPERATOR = /^(StringEquals|StringEqualsIgnoreCase|StringLike|ArnEquals|ArnLike)$/;

/** The multivalued keys among those checked; the others (a tag's value, aws:SourceArn, ...) are single-valued. */
const MULTIVALUED_KEYS = ["aws:sourceorgpaths"];

/**
 * A condition that holds the key to the listed values: a matching operator, values other than only wildcards, and
 * a set operator only where the key is multivalued, and then ForAnyValue (false when the key is absent). AWS: "Do not
 * use ForAllValues or ForAnyValue with single-valued context keys"; ForAllValues is also true when the key is absent
 * (IAM User Guide, "Single-valued vs. multivalued context keys").
 */
function holdsTo(condition: PolicyStatement["conditions"][number]): boolean {
  const [qualifier, operator] = condition.test.includes(":") ? condition.test.split(":", 2) : [undefined, condition.test];
  const qualified = qualifier === undefined || (qualifier === "ForAnyValue" && MULTIVALUED_KEYS.includes(condition.variable.toLowerCase()));
  return qualified && MATCHING_OPERATOR.test(operator) && condition.values.length > 0 && condition.values.every((value) => !/^[*?]+$/.test(value));
}

/**
 * A condition that the resource's or the request's tags match (attribute-based access control) scopes a "*" resource
 * to what carries the tag: IAM's documented way to scope actions on resources whose ARNs are not known in advance.
 */
const isTagScoped = (statement: PolicyStatement) =>
  statement.conditions.some((condition) => holdsTo(condition) && /^[a-z0-9-]+:(ResourceTag|RequestTag)\//i.test(condition.variable));

/**
 * Identity policies grant "*" resources only for actions that take no resource (the allow-list above) or under a tag
 * condition. Resource policies are not checked: there "*" means the resource the policy is attached to.
 * checkov: CKV_AWS_356. tfsec: aws-iam-no-policy-wildcards (AVD-AWS-0057).
 */
const iamWildcardResource: Rule = {
  id: "iam-wildcard-resource",
  title: 'no "*" resources in identity policies where the actions take narrower ones',
  fix: "name the resources (ARNs or ARN patterns), or scope the statement with an aws:ResourceTag/aws:RequestTag condition",
  check(stack) {
    return readPolicies(stack)
      .documents.filter((document) => document.uses.has("identity"))
      .flatMap((document) =>
        document.statements.flatMap((statement, index) => {
          if (statement.effect !== "Allow" || isTagScoped(statement)) return [];
          if (!statement.resources.includes("*") && statement.notResources.length === 0) return [];
          const restrictable = statement.actions.filter((action) => !ACTIONS_WITHOUT_RESOURCE_TYPES.has(action));
          if (restrictable.length === 0 && statement.notActions.length === 0) return [];
          const where = statement.notResources.length > 0 ? "every resource but those in NotResource" : '"*"';
          return [{ block: document.block, statement: statement.sid, detail: `${statementName(statement, index)} grants ${[...restrictable, ...statement.notActions.map((action) => `NotAction ${action}`)].join(", ")} on ${where}` }];
        }),
      );
  },
};

/** Condition keys that tie a service principal's request to this account's resources (confused-deputy prevention). */
const SOURCE_KEYS = ["aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"];

/**
 * A service principal is allowed only with aws:SourceArn, aws:SourceAccount, aws:SourceOrgID or aws:SourceOrgPaths,
 * in every policy (trust, resource, key policies) and in Lambda permissions.
 * checkov: CKV_AWS_364 (Lambda permissions); for policy documents no matching check found.
 * tfsec/trivy: AVD-AWS-0067 aws-lambda-restrict-source-arn (Lambda permissions); for policy documents no matching
 * check found.
 */
const iamServiceSource: Rule = {
  id: "iam-service-source",
  title: "service principals are held to their source",
  fix: "add an aws:SourceArn or aws:SourceAccount condition naming the resources that may act (confused-deputy prevention)",
  check(stack) {
    const findings: Finding[] = readPolicies(stack).documents.flatMap((document) =>
      document.statements.flatMap((statement, index) => {
        const services = statement.principals.filter((principal) => principal.type === "Service").flatMap((principal) => principal.identifiers);
        if (statement.effect !== "Allow" || services.length === 0) return [];
        if (statement.conditions.some((condition) => holdsTo(condition) && SOURCE_KEYS.includes(condition.variable.toLowerCase()))) return [];
        return [{ block: document.block, statement: statement.sid, detail: `${statementName(statement, index)} admits ${services.join(", ")} without a source condition` }];
      }),
    );
    for (const block of stack.resources("aws_lambda_permission")) {
      const permission = body(block);
      if (/\.amazonaws\.com(\.cn)?$/.test(String(permission.principal)) && !isSet(permission.source_arn) && !isSet(permission.source_account)) {
        findings.push({ block, detail: `lets ${permission.principal} invoke the function without source_arn or source_account`, fix: "set source_arn (or source_account)" });
      }
    }
    return findings;
  },
};

/**
 * Every IAM policy is readable by this check: an `aws_iam_policy_document` (without merged documents) or JSON text.
 * A policy the other IAM rules cannot read is one they cannot pass. checkov/tfsec: no matching check found.
 */
const iamPolicyReadable: Rule = {
  id: "iam-policy-readable",
  title: "IAM policies are readable at synth",
  fix: "write the policy as an aws_iam_policy_document data source (or JSON text) without source or override documents",
  check(stack) {
    return readPolicies(stack).unreadable.map(({ block, reason }) => ({ block, detail: `the IAM rules cannot read this policy: ${reason}` }));
  },
};

/** Where a policy is attached by ARN, and the arguments that hold the ARNs. */
const POLICY_ATTACHMENTS: readonly (readonly [type: string, argument: string])[] = [
  ["aws_iam_role_policy_attachment", "policy_arn"],
  ["aws_iam_user_policy_attachment", "policy_arn"],
  ["aws_iam_group_policy_attachment", "policy_arn"],
  ["aws_iam_policy_attachment", "policy_arn"],
  ["aws_iam_role", "managed_policy_arns"],
  ["aws_iam_role_policy_attachments_exclusive", "policy_arns"],
];

/**
 * A policy is attached only from this stack (an `aws_iam_policy` the IAM rules read) unless exempted with a reason. An
 * AWS-managed policy, or one defined elsewhere (an ARN, a `data.aws_iam_policy`, a variable), has grants the
 * synthesised JSON does not show, so neither these rules nor a reviewer see them, and they change without a plan
 * (AmazonSSMManagedInstanceCore, the usual node policy, grants ssm:GetParameter on every parameter of the account).
 * Stricter than the scanners' checks found, which flag only AdministratorAccess (prowler's
 * iam_role_administratoraccess_policy, cfn_nag's rule from stelligent/cfn_nag#293); checkov/tfsec: no matching check found.
 */
const iamManagedPolicy: Rule = {
  id: "iam-managed-policy",
  title: "no policies attached from outside the stack without a reason",
  fix: "grant what the principal needs in a policy of this stack the IAM rules can read, or exempt the attachment with why the outside policy is the right grant",
  check(stack) {
    return POLICY_ATTACHMENTS.flatMap(([type, argument]) =>
      stack.resources(type).flatMap((block) =>
        strings(body(block)[argument])
          .map(({ value }) => value)
          .filter((arn) => stack.referencedBlocks(arn, "aws_iam_policy").length === 0)
          .map((arn) => {
            const awsManaged = /:iam::aws:policy\/(.+)$/.exec(arn);
            const what = awsManaged ? `the AWS-managed policy ${awsManaged[1]}` : `${arn}, a policy defined outside this stack`;
            return { block, detail: `attaches ${what}, whose grants the synthesised JSON does not show` };
          }),
      ),
    );
  },
};

/** The resources of `type` whose `bucket` argument names `bucket`. */
const bucketConfigs = (stack: SynthesisedStack, type: string, bucket: Block) => stack.resources(type).filter((config) => stack.refersTo(body(config).bucket, bucket));

/**
 * Every S3 bucket has a public access block with all four settings on.
 * checkov: CKV2_AWS_6 (and CKV_AWS_53, CKV_AWS_54, CKV_AWS_55, CKV_AWS_56 for the settings).
 * tfsec/trivy: AVD-AWS-0094 aws-s3-specify-public-access-block (and AVD-AWS-0086, -0087, -0091, -0093).
 */
const s3PublicAccessBlock: Rule = {
  id: "s3-public-access-block",
  title: "S3 buckets block public access",
  fix: "add an aws_s3_bucket_public_access_block for the bucket with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets true",
  check(stack) {
    const settings = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];
    return stack.resources("aws_s3_bucket").flatMap((bucket) => {
      const blocks = bucketConfigs(stack, "aws_s3_bucket_public_access_block", bucket);
      if (blocks.length === 0) return [{ block: bucket, detail: "no aws_s3_bucket_public_access_block names this bucket" }];
      const off = settings.filter((setting) => !blocks.some((block) => isTrue(body(block)[setting])));
      return off.length > 0 ? [{ block: bucket, detail: `its public access block leaves ${off.join(", ")} off` }] : [];
    });
  },
};

/** Every S3 bucket is versioned. checkov: CKV_AWS_21. tfsec/trivy: AVD-AWS-0090 aws-s3-enable-versioning. */
const s3Versioning: Rule = {
  id: "s3-versioning",
  title: "S3 buckets are versioned",
  fix: 'add an aws_s3_bucket_versioning for the bucket with status "Enabled"',
  check(stack) {
    return stack
      .resources("aws_s3_bucket")
      .filter((bucket) => {
        const inline = list(body(bucket).versioning).some((versioning) => isTrue(versioning.enabled));
        const separate = bucketConfigs(stack, "aws_s3_bucket_versioning", bucket).some((config) =>
          list(body(config).versioning_configuration).some((versioning) => versioning.status === "Enabled"),
        );
        return !inline && !separate;
      })
      .map((bucket) => ({ block: bucket, detail: "versioning is not enabled" }));
  },
};

/**
 * Every S3 bucket's policy denies requests that do not use TLS (AWS Config's s3-bucket-ssl-requests-only).
 * checkov: no matching check found for every bucket (CKV_AWS_379 asks it only of buckets with a public ACL).
 * tfsec/trivy: no matching check found.
 */
const s3TlsOnly: Rule = {
  id: "s3-tls-only",
  title: "S3 buckets refuse requests without TLS",
  fix: 'add to the bucket policy a Deny of "s3:*" for principal "*" on the bucket and its objects when aws:SecureTransport is "false"',
  check(stack) {
    const deniesPlainHttp = (statement: PolicyStatement) =>
      statement.effect === "Deny" &&
      statement.principals.some((principal) => principal.identifiers.includes("*")) &&
      statement.actions.some((action) => action === "*" || action === "s3:*") &&
      statement.conditions.some((condition) => condition.test === "Bool" && condition.variable === "aws:SecureTransport" && condition.values.includes("false"));
    return stack
      .resources("aws_s3_bucket")
      .filter((bucket) => {
        const policies = [body(bucket).policy, ...bucketConfigs(stack, "aws_s3_bucket_policy", bucket).map((config) => body(config).policy)];
        return !policies.some((policy) => (policyStatements(stack, policy) ?? []).some(deniesPlainHttp));
      })
      .map((bucket) => ({ block: bucket, detail: "no bucket policy denies requests made without TLS" }));
  },
};

/** Log groups expire their events. checkov: CKV_AWS_66. tfsec/trivy: no matching check found. */
const logRetention: Rule = {
  id: "log-retention",
  title: "log groups have a retention",
  fix: "set retention_in_days to a CloudWatch Logs retention value",
  check(stack) {
    return stack
      .resources("aws_cloudwatch_log_group")
      .filter((block) => !(typeof body(block).retention_in_days === "number" && body(block).retention_in_days > 0))
      .map((block) => ({ block, detail: "retention_in_days is not set, so its events never expire" }));
  },
};

/**
 * Services that invoke Lambda asynchronously (Lambda developer guide, "Invoking Lambda with events from other AWS
 * services" and "Invoking a Lambda function asynchronously"), by the first label of their principal. SQS, Kinesis and
 * DynamoDB streams are polled through event source mappings, synchronously, and have failure handling of their own.
 */
const ASYNCHRONOUS_INVOKERS = new Set(["cloudformation", "codecommit", "config", "events", "iot", "iotevents", "logs", "s3", "scheduler", "ses", "sns"]);

/**
 * A function invoked asynchronously keeps the events it fails on: a dead-letter queue or an on-failure destination.
 * checkov: CKV_AWS_116 (asks a dead-letter queue of every function). tfsec/trivy: no matching check found.
 */
const lambdaAsyncFailure: Rule = {
  id: "lambda-async-failure",
  title: "asynchronously invoked Lambdas have a dead-letter queue or on-failure destination",
  fix: "set dead_letter_config.target_arn, or an aws_lambda_function_event_invoke_config with destination_config.on_failure",
  check(stack) {
    const functions = stack.resources("aws_lambda_function");
    // By reference, or by the function's literal name.
    const functionsIn = (value: unknown) => [...stack.referencedBlocks(value, "aws_lambda_function"), ...functions.filter((fn) => isLiteral(value) && body(fn).function_name === value)];
    const asynchronous = new Map<Block, string>();
    const note = (functions: Block[], by: string) => {
      for (const fn of functions.filter((candidate) => !asynchronous.has(candidate))) asynchronous.set(fn, by);
    };
    for (const permission of stack.resources("aws_lambda_permission")) {
      const principal = String(body(permission).principal ?? "");
      if (ASYNCHRONOUS_INVOKERS.has(principal.split(".")[0]) || principal === "lambda.alarms.cloudwatch.amazonaws.com") note(functionsIn(body(permission).function_name), principal);
    }
    for (const target of stack.resources("aws_cloudwatch_event_target")) note(functionsIn(body(target).arn), "an EventBridge rule");
    for (const schedule of stack.resources("aws_scheduler_schedule")) note(list(body(schedule).target).flatMap((target) => functionsIn(target.arn)), "an EventBridge Scheduler schedule");
    for (const subscription of stack.resources("aws_sns_topic_subscription").filter((candidate) => body(candidate).protocol === "lambda")) note(functionsIn(body(subscription).endpoint), "an SNS subscription");
    for (const notification of stack.resources("aws_s3_bucket_notification")) note(functionsIn(JSON.stringify(body(notification).lambda_function ?? [])), "an S3 notification");

    const onFailure = stack
      .resources("aws_lambda_function_event_invoke_config")
      .filter((config) => list(body(config).destination_config).some((destinations) => list(destinations.on_failure).some((failure) => isSet(failure.destination))))
      .flatMap((config) => functionsIn(body(config).function_name));
    return [...asynchronous]
      .filter(([fn]) => !onFailure.includes(fn) && !list(body(fn).dead_letter_config).some((dlq) => isSet(dlq.target_arn)))
      .map(([fn, by]) => ({ block: fn, detail: `invoked asynchronously (by ${by}) with neither a dead-letter queue nor an on-failure destination` }));
  },
};

/** Attribute names that hold a credential whenever they are set. */
const SECRET_ATTRIBUTES = new Set(["access_key", "api_key", "auth_token", "client_secret", "master_password", "passphrase", "password", "private_key", "secret_binary", "secret_key", "secret_string", "token"]);
/** Keys whose name says credential (environment variables, map keys, JSON keys in a string). */
const SECRET_NAME = /(password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credentials?)$/i;
/** Names that look like credentials but are not: idempotency tokens, the IMDS token setting. */
const NOT_SECRET_NAMES = new Set(["client_token", "creation_token", "http_tokens", "idempotency_token"]);
/** Credential formats found anywhere in a string, with the checkov secrets check each mirrors. */
const SECRET_FORMATS: { readonly name: string; readonly pattern: RegExp }[] = [
  { name: "an AWS access key ID (CKV_SECRET_2)", pattern: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { name: "a private key (CKV_SECRET_13)", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { name: "credentials in a URL (CKV_SECRET_4)", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/$%{}"'<>]+:[^\s@/$%{}"'<>]+@/i },
  { name: "a JSON web token (CKV_SECRET_9)", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { name: "a k3s secure token", pattern: /\bK10[0-9a-f]{64}::/ },
];
/** `"password": "..."` or `"password" = "..."` with a literal value, inside a JSON or HCL expression string. */
const QUOTED_SECRET = /"([A-Za-z0-9_.-]+)"\s*[:=]\s*"([^"]*)"/g;
/** `NAME=value` or `export NAME="value"` in a shell script (user data) whose value is a literal, not `$VAR` or `$(...)`. */
const SHELL_SECRET = /(?:^|[\s;])(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(["']?)([^\s"'`$;)]+)\2(?=$|[\s;])/gm;

const isSecretName = (name: string) => !NOT_SECRET_NAMES.has(name.toLowerCase()) && (SECRET_ATTRIBUTES.has(name.toLowerCase()) || SECRET_NAME.test(name));
const placeholder = (value: string) => value === "" || /[$%{]/.test(value);
const keyPath = (keys: (string | number)[]) => (keys.length === 0 ? "its value" : keys.map((key) => (typeof key === "number" ? `[${key}]` : `.${key}`)).join("").replace(/^\./, ""));

/**
 * No secret or password is a literal anywhere in the JSON: not in credential attributes, environment variables, user
 * data, locals or outputs. The finding names where, never the value.
 * checkov: CKV_AWS_41 (provider keys), CKV_AWS_45 (Lambda environment), CKV_AWS_46 (user data), and the secrets checks
 * named with each format above. tfsec/trivy: AVD-AWS-0129 aws-ec2-no-secrets-in-launch-template-user-data.
 */
const secretLiteral: Rule = {
  id: "secret-literal",
  title: "no secrets as literals",
  fix: "generate the secret (random_password) into Secrets Manager and read it at run time, or pass a reference",
  check(stack) {
    const findings: Finding[] = [];
    for (const block of stack.blocks) {
      for (const { keys, value } of strings(block.body)) {
        const name = [...keys].reverse().find((key): key is string => typeof key === "string");
        if (name !== undefined && isSecretName(name) && isLiteral(value) && value !== "") findings.push({ block, detail: `${keyPath(keys)} is a literal` });
        for (const format of SECRET_FORMATS.filter(({ pattern }) => pattern.test(value))) findings.push({ block, detail: `${keyPath(keys)} contains ${format.name}` });
        for (const [, quotedKey, quotedValue] of value.matchAll(QUOTED_SECRET)) {
          if (isSecretName(quotedKey) && !placeholder(quotedValue)) findings.push({ block, detail: `${keyPath(keys)} sets "${quotedKey}" to a literal` });
        }
        // A script inside an expression (`${base64encode("...")}`) has its newlines and quotes escaped.
        for (const [, variable, , assigned] of value.replace(/\\n/g, "\n").replace(/\\"/g, '"').matchAll(SHELL_SECRET)) {
          if (isSecretName(variable) && !placeholder(assigned)) findings.push({ block, detail: `${keyPath(keys)} assigns ${variable} a literal` });
        }
      }
    }
    return findings;
  },
};

/**
 * The resources that must hold a generated secret: the service that checks it, and the secret the consumers read it
 * from. Anything else (user data, environment variables, outputs, tags, locals) would copy it where it is readable.
 */
export const RANDOM_RESULT_HOLDERS: { readonly type: string; readonly attribute: string }[] = [
  { type: "aws_db_instance", attribute: "password" },
  { type: "aws_rds_cluster", attribute: "master_password" },
  { type: "aws_secretsmanager_secret_version", attribute: "secret_string" },
];

const RANDOM_RESULT = /\b(random_[a-z_]+\.[A-Za-z0-9_-]+)\.(result|bcrypt_hash)\b/g;

/**
 * A `random_*` result is referenced only by the resources that must hold it (the list above).
 * checkov/tfsec: no matching check found.
 */
const randomResultReference: Rule = {
  id: "random-result-reference",
  title: "random results stay in the resources that hold them",
  fix: `reference the secret (its ARN) and read the value at run time; only ${RANDOM_RESULT_HOLDERS.map((holder) => `${holder.type}.${holder.attribute}`).join(", ")} may hold it`,
  check(stack) {
    const findings: Finding[] = [];
    for (const block of stack.blocks) {
      for (const { keys, value } of strings(block.body)) {
        const holds = block.kind === "resource" && RANDOM_RESULT_HOLDERS.some((holder) => holder.type === block.type && holder.attribute === keys[0]);
        if (holds) continue;
        for (const [reference] of expressions(value).join("\n").matchAll(RANDOM_RESULT)) findings.push({ block, detail: `${keyPath(keys)} refers to ${reference}` });
      }
    }
    return findings;
  },
};

/** The rules, in the order of RULE_IDS. */
export const RULES: readonly Rule[] = [
  storageEncryption,
  imdsV2Required,
  imdsHopLimit,
  rdsNotPublic,
  rdsDeletionProtection,
  rdsBackups,
  sgPublicIngress,
  sgEgressReach,
  iamWildcardAction,
  iamWildcardResource,
  iamServiceSource,
  iamPolicyReadable,
  iamManagedPolicy,
  s3PublicAccessBlock,
  s3Versioning,
  s3TlsOnly,
  logRetention,
  lambdaAsyncFailure,
  secretLiteral,
  randomResultReference,
];

function body(block: Block): Record<string, any> {
  return (block.body ?? {}) as Record<string, any>;
}

/** A list argument as strings (CIDR blocks, prefix lists). */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter(isSet).map(String) : [];
}
