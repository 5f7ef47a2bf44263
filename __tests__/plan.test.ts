import { request } from "http";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { S3BackendSettings } from "../config/backend";
import { resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { buildApp } from "../main";
import { AwsStub, startAwsStub, STUB_ACCOUNT_ID, stubWorld, StubWorld } from "../scripts/aws-stub";
import { awsProviderAliases, createdPerType, endpointsFor, planDiagnostics, planEnvironment, PlanJson, planOverride, PlanResult, planStacks, worldFor } from "../scripts/plan";
import { terraformAvailable } from "../scripts/terraform";

// ---------------------------------------------------------------------------------------------------------------------
// The stub on its own: the wire formats it answers, and what it refuses.

/** A SigV4-shaped Authorization header; the stub reads only the service from its credential scope. */
const signedFor = (service: string) => `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20251105/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=0`;

async function query(stub: AwsStub, service: string, parameters: Record<string, string>) {
  const response = await fetch(stub.endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", Authorization: signedFor(service) },
    body: new URLSearchParams(parameters).toString(),
  });
  return { status: response.status, body: await response.text() };
}

/** The text of every <tag> element, in document order. */
const elements = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, "g"))].map((match) => match[1]);

describe("the AWS stub the offline plan talks to", () => {
  let stub: AwsStub;
  const world = stubWorld("eu-west-1", ["2023.9.20251105.0"]);
  beforeEach(async () => (stub = await startAwsStub(world)));
  afterEach(() => stub.close());

  test("GetCallerIdentity names the stub's account, in STS's XML", async () => {
    const { status, body } = await query(stub, "sts", { Action: "GetCallerIdentity", Version: "2011-06-15" });
    expect(status).toBe(200);
    expect(elements(body, "Account")).toEqual([STUB_ACCOUNT_ID]);
    expect(elements(body, "Arn")).toEqual([`arn:aws:iam::${STUB_ACCOUNT_ID}:user/plan-offline`]);
  });

  test("DescribeAvailabilityZones applies EC2's filters: opt-in-not-required leaves out the opted-in Local Zone", async () => {
    const all = await query(stub, "ec2", { Action: "DescribeAvailabilityZones", Version: "2016-11-15" });
    expect(elements(all.body, "zoneName")).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1-lcl-1a"]);
    const filtered = await query(stub, "ec2", {
      Action: "DescribeAvailabilityZones",
      Version: "2016-11-15",
      "Filter.1.Name": "state",
      "Filter.1.Value.1": "available",
      "Filter.2.Name": "opt-in-status",
      "Filter.2.Value.1": "opt-in-not-required",
    });
    expect(elements(filtered.body, "zoneName")).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
    expect(stub.unexpected).toEqual([]);
  });

  test("DescribeImages finds an Amazon Linux 2023 image by owner alias, name and architecture", async () => {
    const { body } = await query(stub, "ec2", {
      Action: "DescribeImages",
      Version: "2016-11-15",
      "Owner.1": "amazon",
      "Filter.1.Name": "name",
      "Filter.1.Value.1": "al2023-ami-2023.9.*-kernel-6.1-arm64",
      "Filter.2.Name": "architecture",
      "Filter.2.Value.1": "arm64",
    });
    expect(elements(body, "name")).toEqual(["al2023-ami-2023.9.20251105.0-kernel-6.1-arm64"]);
    expect(elements(body, "imageOwnerId")).toEqual(["137112412989"]);
    expect(elements(body, "creationDate")).toEqual(["2025-11-05T00:00:00.000Z"]);
  });

  test("DescribeInstanceTypes answers from the documented table: t4g.large has 2 vCPUs and 8 GiB", async () => {
    const { body } = await query(stub, "ec2", { Action: "DescribeInstanceTypes", Version: "2016-11-15", "InstanceType.1": "t4g.large" });
    expect(elements(body, "defaultVCpus")).toEqual(["2"]);
    expect(elements(body, "sizeInMiB")).toEqual(["8192"]);
  });

  test("DescribeManagedPrefixLists finds CloudFront's origin-facing list by name, with its weight of 55 as max entries", async () => {
    const { body } = await query(stub, "ec2", {
      Action: "DescribeManagedPrefixLists",
      Version: "2016-11-15",
      "Filter.1.Name": "prefix-list-name",
      "Filter.1.Value.1": "com.amazonaws.global.cloudfront.origin-facing",
    });
    expect(elements(body, "prefixListName")).toEqual(["com.amazonaws.global.cloudfront.origin-facing"]);
    expect(elements(body, "maxEntries")).toEqual(["55"]);
    const [id] = elements(body, "prefixListId");
    const entries = await query(stub, "ec2", { Action: "GetManagedPrefixListEntries", Version: "2016-11-15", PrefixListId: id });
    expect(elements(entries.body, "cidr")).toHaveLength(55);
    expect(stub.unexpected).toEqual([]);
  });

  test("an instance type outside the table is refused and recorded, naming the type", async () => {
    const { status } = await query(stub, "ec2", { Action: "DescribeInstanceTypes", Version: "2016-11-15", "InstanceType.1": "x9z.huge" });
    expect(status).toBe(400);
    expect(stub.unexpected.map(({ call, reason }) => ({ call, reason }))).toEqual([
      { call: "ec2:DescribeInstanceTypes", reason: "instance type x9z.huge is not in the stub's INSTANCE_TYPES (scripts/aws-stub.ts)" },
    ]);
  });

  test("an unknown filter is refused rather than ignored", async () => {
    await query(stub, "ec2", { Action: "DescribeAvailabilityZones", Version: "2016-11-15", "Filter.1.Name": "message", "Filter.1.Value.1": "x" });
    expect(stub.unexpected.map(({ reason }) => reason)).toEqual(["filter message is not supported by the stub"]);
  });

  test("any other call, in any protocol, is refused and recorded by name", async () => {
    await query(stub, "ssm", { Action: "GetParameter", Name: "/aws/service/ami" });
    await fetch(stub.endpoint, { method: "POST", headers: { "X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1", Authorization: signedFor("ssm") }, body: '{"Name":"/x"}' });
    await fetch(`${stub.endpoint}/2015-03-31/functions/f`, { headers: { Authorization: signedFor("lambda") } });
    expect(stub.unexpected.map(({ call }) => call)).toEqual(["ssm:GetParameter", "ssm:GetParameter", "lambda:GET /2015-03-31/functions/f"]);
    expect(stub.unexpected[1].parameters).toEqual({ Name: "/x" });
  });

  test("as the proxy, it refuses a tunnel to any other host and names the host", async () => {
    const { port } = new URL(stub.endpoint);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const tunnel = request({ host: "127.0.0.1", port, method: "CONNECT", path: "rds.eu-west-1.amazonaws.com:443" });
      tunnel.on("connect", (response, socket) => {
        socket.destroy();
        resolve(response.statusCode);
      });
      tunnel.on("error", reject);
      tunnel.end();
    });
    expect(status).toBe(403);
    expect(stub.unexpected.map(({ call }) => call)).toEqual(["proxy:CONNECT rds.eu-west-1.amazonaws.com:443"]);
  });
});

describe("the plan's provider set-up", () => {
  test("every AWS type of a stack maps to a provider endpoint; local data sources need none", () => {
    const stack = {
      resource: { aws_vpc_security_group_ingress_rule: {}, aws_route_table_association: {}, aws_lb_listener: {}, aws_sqs_queue_policy: {}, terraform_data: {} },
      data: { aws_partition: {}, aws_caller_identity: {}, aws_iam_policy_document: {} },
    };
    expect(endpointsFor(stack)).toEqual(["ec2", "elbv2", "iam", "sqs", "sts"]);
  });

  test("each aliased aws provider (CloudFront's us-east-1) gets the same fake credentials and endpoints as the default one", () => {
    const override = planOverride(["acm", "ec2"], "http://127.0.0.1:9", awsProviderAliases({ provider: { aws: [{ region: "eu-west-1" }, { alias: "us_east_1", region: "us-east-1" }] } }));
    const [main, usEast1] = override.provider.aws;
    expect(usEast1).toEqual({ alias: "us_east_1", ...main });
    expect(main.endpoints).toEqual([{ acm: "http://127.0.0.1:9", ec2: "http://127.0.0.1:9" }]);
  });

  test("a type with no known endpoint stops the plan, named, before any request could reach AWS", () => {
    expect(() => endpointsFor({ resource: { aws_ecs_cluster: {}, aws_vpc: {} } })).toThrow("no provider endpoint known for aws_ecs_cluster: add it to ENDPOINT_OF_TYPE in scripts/plan.ts");
  });

  test("every AWS provider, the backup copy region's aliased one included, is pointed at the stub", () => {
    const document = { provider: { aws: [{ region: "eu-west-1" }, { alias: "backup_copy", region: "eu-central-1" }] } };
    expect(awsProviderAliases(document)).toEqual(["backup_copy"]);
    const [main, copy] = planOverride(["kms"], "http://127.0.0.1:1", awsProviderAliases(document)).provider.aws;
    expect(main).not.toHaveProperty("alias");
    expect(copy).toEqual({ ...main, alias: "backup_copy" });
    expect(copy.endpoints).toEqual([{ kms: "http://127.0.0.1:1" }]);
    expect(awsProviderAliases({ provider: { aws: [{ region: "eu-west-1" }] } })).toEqual([]);
  });

  test("the terraform process gets none of the caller's AWS settings, no metadata service, and the stub as proxy", () => {
    const env = planEnvironment("http://127.0.0.1:9", {
      PATH: "/usr/bin",
      AWS_PROFILE: "prod",
      AWS_ACCESS_KEY_ID: "AKIA...",
      AWS_ENDPOINT_URL_STS: "https://sts.example",
      aws_region: "us-east-1",
      https_proxy: "http://corp:3128",
      NO_PROXY: "*",
      TF_VAR_x: "1",
      TF_DATA_DIR: "/elsewhere",
    });
    expect(env).toEqual({
      PATH: "/usr/bin",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      HTTP_PROXY: "http://127.0.0.1:9",
      HTTPS_PROXY: "http://127.0.0.1:9",
      TF_CLI_CONFIG_FILE: expect.stringMatching(/terraform\/(offline-mirror|registry)\.tfrc$/),
      TF_IN_AUTOMATION: "1",
      CHECKPOINT_DISABLE: "1",
    });
  });

  test("warnings and errors are read from plan -json's diagnostic messages", () => {
    const stream = [
      '{"@level":"info","@message":"Terraform 1.11.0","type":"version"}',
      '{"@level":"warn","@message":"Warning: Argument is deprecated","type":"diagnostic","diagnostic":{"severity":"warning","summary":"Argument is deprecated","detail":"Use x instead","address":"aws_s3_bucket.b"}}',
      '{"@level":"info","@message":"Plan: 1 to add","type":"change_summary","changes":{"add":1}}',
    ].join("\n");
    expect(planDiagnostics(stream)).toEqual([{ severity: "warning", summary: "Argument is deprecated", detail: "Use x instead", address: "aws_s3_bucket.b" }]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The real plan, with the real provider.

const terraformRequired = Boolean(process.env.CI || process.env.REQUIRE_TERRAFORM);
const haveTerraform = terraformAvailable();

/**
 * What the default configuration (prod, highly available, 3 zones read at plan time, per-zone NAT, pods scaling, no
 * public API, no SSH key, no notification e-mail) creates, per type, each count with where it comes from.
 */
const DEFAULT_CLUSTER: Record<string, [number, string]> = {
  aws_vpc: [1, "one VPC"],
  aws_subnet: [6, "one public and one private subnet per zone"],
  aws_internet_gateway: [1, "public subnets' egress"],
  aws_eip: [3, "one address per NAT gateway"],
  aws_nat_gateway: [3, "natMode per-az, the default when highly available"],
  aws_route_table: [4, "one public table, one private table per zone"],
  aws_route: [4, "the public default route to the gateway, each private table's default route to its NAT"],
  aws_route_table_association: [6, "every subnet to its table"],
  aws_vpc_endpoint: [2, "S3 and DynamoDB gateway endpoints"],
  aws_network_acl: [2, "public and private"],
  aws_default_security_group: [1, "the VPC's default group, stripped of its rules"],
  aws_flow_log: [1, "VPC flow logs"],
  aws_security_group: [7, "server, agent, api-lb, ingress-lb, database, efs, lambda (no public-api-lb)"],
  aws_vpc_security_group_ingress_rule: [25, "README's table: server 3 + 4 + 2 (node exporter, monitoring being on), agent 4 + 2 + 2, api-lb 3, ingress-lb 2, database 1, efs 2"],
  aws_vpc_security_group_egress_rule: [7, "servers and agents out, api-lb to servers, ingress-lb to two NodePorts, lambda to the API and HTTPS"],
  aws_cloudwatch_log_group: [5, "flow logs, PostgreSQL and upgrade logs, one per Lambda (autoscaler, node drainer)"],
  aws_db_instance: [1, "the datastore"],
  aws_db_subnet_group: [1, "private subnets"],
  aws_db_parameter_group: [1, "rds.force_ssl"],
  random_password: [4, "database master password, server token, agent token, Grafana's admin password (monitoring, on in prod)"],
  random_id: [1, "final snapshot suffix, kept outside dev"],
  aws_secretsmanager_secret: [6, "datastore, server token, agent token, kubeconfig, automation access, Grafana's admin"],
  aws_secretsmanager_secret_version: [4, "the values Terraform knows: datastore, server token, agent token, Grafana's admin"],
  aws_efs_file_system: [1, "shared storage"],
  aws_efs_mount_target: [3, "one per private subnet"],
  aws_efs_file_system_policy: [1, "TLS and IAM only"],
  aws_efs_backup_policy: [1, "EFS's automatic backup, off: the cluster's plan covers the file system"],
  aws_lb: [2, "internal API and internet-facing ingress"],
  aws_lb_target_group: [3, "API 6443, ingress 80 and 443"],
  aws_lb_listener: [3, "one per target group"],
  aws_iam_role: [8, "server, agent, flow logs, autoscaler, node drainer, AWS Backup, Alertmanager and Grafana (monitoring, on in prod)"],
  aws_iam_instance_profile: [2, "server and agent"],
  aws_iam_role_policy: [17, "server 7 (Session Manager, cloud controller, cluster secrets, node health, datastore, EFS CSI, issuer publishing), agent 5 (Session Manager, cloud node, cluster secrets, node health, EFS CSI), flow logs, one per Lambda, Alertmanager's, Grafana's"],
  aws_s3_bucket: [1, "the service-account issuer's documents (Alertmanager's role)"],
  aws_s3_bucket_versioning: [1, "the issuer bucket's"],
  aws_s3_bucket_server_side_encryption_configuration: [1, "the issuer bucket's"],
  aws_s3_bucket_public_access_block: [1, "the issuer bucket's"],
  aws_s3_bucket_ownership_controls: [1, "the issuer bucket's"],
  aws_s3_bucket_policy: [1, "the issuer bucket's: TLS only, CloudFront reads"],
  aws_s3_bucket_lifecycle_configuration: [1, "the issuer bucket's: old versions expire"],
  aws_cloudfront_distribution: [1, "serves the issuer's documents"],
  aws_cloudfront_origin_access_control: [1, "CloudFront's access to the issuer bucket"],
  aws_iam_openid_connect_provider: [1, "the service-account issuer"],
  aws_iam_role_policy_attachment: [2, "AWS Backup's backup and restore policies"],
  aws_launch_template: [2, "server and agent"],
  aws_autoscaling_group: [2, "servers and agents"],
  aws_autoscaling_lifecycle_hook: [1, "the agents' termination hook the node drainer completes"],
  aws_kms_key: [2, "encrypts the notification topic; the backup vault"],
  aws_kms_key_policy: [1, "lets the event and alarm services use it"],
  aws_sns_topic: [1, "scale actions, failures, alarms"],
  aws_sns_topic_policy: [1, "who may publish"],
  aws_sqs_queue: [2, "drain queue and its dead-letter queue"],
  aws_sqs_queue_policy: [1, "the drain queue's"],
  aws_cloudwatch_event_rule: [5, "spot interruption, rebalance recommendation, agent termination, autoscaler schedule, backup failures"],
  aws_cloudwatch_event_target: [5, "three rules to the drain queue, the schedule to the autoscaler, backup failures to the topic"],
  aws_cloudwatch_metric_alarm: [13, "errors and throttles of each Lambda, drain dead letters, the autoscaler held; API healthy hosts, datastore CPU, storage and connections, EFS I/O limit and throughput, agents at max"],
  aws_cloudwatch_dashboard: [1, "the cluster dashboard"],
  aws_backup_vault: [1, "the cluster's vault"],
  aws_backup_plan: [1, "daily"],
  aws_backup_selection: [1, "datastore and file system"],
  aws_lambda_function: [2, "autoscaler (pods mode) and node drainer"],
  aws_lambda_event_source_mapping: [1, "drain queue to node drainer"],
  aws_lambda_permission: [1, "the schedule may invoke the autoscaler"],
  aws_lambda_function_event_invoke_config: [1, "no retries of an autoscaler run"],
  aws_dynamodb_table: [1, "autoscaler lock and state"],
};

const STATE_BACKEND: Record<string, [number, string]> = {
  aws_s3_bucket: [1, "the state bucket"],
  aws_s3_bucket_versioning: [1, "versioned"],
  aws_s3_bucket_server_side_encryption_configuration: [1, "KMS-encrypted"],
  aws_s3_bucket_public_access_block: [1, "blocks all public access"],
  aws_s3_bucket_ownership_controls: [1, "bucket owner owns every object"],
  aws_s3_bucket_policy: [1, "refuses non-TLS requests"],
  aws_dynamodb_table: [1, "the lock table"],
};

/**
 * A dev cluster in another region with every option that adds resources (DNS by hosted zone ID, TLS at the load
 * balancer, a CloudFront distribution), and CPU target tracking instead of the autoscaler; synthesised with an S3
 * backend.
 */
const VARIANT: ConfigInput = {
  environment: "dev",
  region: "ap-southeast-2",
  api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] },
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx admin@example",
  automation: { notificationEmail: "ops@example.com" },
  agents: { scalingMode: "cpu" },
  edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com", cloudFront: { enabled: true } },
  // Off by default in dev; on here with a copy region, so the plan covers the aliased provider too.
  backups: { enabled: true, copyRegion: "ap-southeast-4" },
  // The EBS CSI driver and the service-account issuer its controller's role trusts (bucket, CloudFront, OIDC provider).
  storage: { blockStorage: { enabled: true } },
};

/**
 * Agents of three sizes in the default scaling mode: after r7g.large (2 vCPUs, 16 GiB), t4g.xlarge differs in vCPUs
 * alone (4, 16 GiB) and m7g.large in memory alone (2, 8 GiB). cluster-autoscaler's mode reads them the same way.
 */
const MIXED_SIZES: ConfigInput = { agents: { instanceTypes: ["r7g.large", "t4g.xlarge", "m7g.large"] } };

/** The variant's counts that differ from the default cluster's, with why. */
const VARIANT_CHANGES: Record<string, [number, string]> = {
  aws_eip: [1, "dev: a single NAT gateway"],
  aws_nat_gateway: [1, "dev: a single NAT gateway"],
  random_id: [0, "dev: no final snapshot"],
  aws_lb: [3, "+ the public API load balancer, the CloudFront origin; - the ingress load balancer (CloudFront is the only way in)"],
  aws_lb_target_group: [3, "+ the public API's, the origin's; - ingress HTTP and HTTPS (no ingress load balancer behind CloudFront)"],
  aws_lb_listener: [4, "+ the public API's, the origin's HTTPS and HTTP; - the ingress load balancer's 80 and 443"],
  aws_lb_listener_rule: [1, "the origin's forward when the origin header matches"],
  aws_security_group: [8, "+ public-api-lb, cf-origin-lb; - ingress-lb"],
  aws_vpc_security_group_ingress_rule: [
    23,
    "+ the admin CIDR to the public API, the public API to the servers, CloudFront's prefix list and the admin CIDR (80, 443) to the origin, the origin to the agents; - the world to ingress-lb (80, 443), ingress-lb to the agents (two NodePorts)",
  ],
  aws_vpc_security_group_egress_rule: [7, "+ the public API to the servers, the origin to the agents; - ingress-lb to the two NodePorts"],
  aws_acm_certificate: [2, "the regional certificate, CloudFront's in us-east-1"],
  aws_acm_certificate_validation: [2, "one per certificate"],
  aws_route53_record: [3, "one validation record (shared by both certificates), <fqdn>, k3s.<fqdn>"],
  aws_cloudfront_distribution: [2, "the front door, the service-account issuer's"],
  random_password: [4, "+ the origin header's value"],
  aws_secretsmanager_secret: [6, "+ the origin header"],
  aws_secretsmanager_secret_version: [4, "+ the origin header"],
  aws_key_pair: [1, "sshPublicKey"],
  aws_sns_topic_subscription: [1, "notificationEmail"],
  aws_autoscaling_policy: [1, "cpu: target tracking"],
  aws_lambda_function: [1, "cpu: no autoscaler Lambda"],
  aws_cloudwatch_log_group: [4, "- the autoscaler's logs"],
  aws_iam_role: [6, "- the autoscaler's, Alertmanager's and Grafana's roles (dev: no monitoring), + the EBS CSI controller's"],
  aws_iam_role_policy: [15, "- the autoscaler's, Alertmanager's and Grafana's policies, + the EBS CSI controller's"],
  aws_cloudwatch_metric_alarm: [11, "- the autoscaler's errors, throttles and held alarm, + the public API's healthy hosts"],
  aws_kms_key: [3, "+ the copy region's vault key"],
  aws_backup_vault: [2, "+ the copy region's vault"],
  aws_backup_selection: [2, "+ the EBS CSI driver's volumes (block storage)"],
  aws_dynamodb_table: [0, "- the autoscaler's table"],
  aws_cloudwatch_event_rule: [4, "- the autoscaler's schedule"],
  aws_cloudwatch_event_target: [4, "- the schedule's target"],
  aws_lambda_permission: [0, "- the schedule's permission"],
  aws_lambda_function_event_invoke_config: [0, "- the autoscaler's invoke config"],
};

const counts = (table: Record<string, [number, string]>) => Object.fromEntries(Object.entries(table).filter(([, [count]]) => count > 0).map(([type, [count]]) => [type, count]));

/** The logical ID without cdktf's hash: "aws_sqs_queue.Automation_DrainQueue_364E2680" -> "Automation_DrainQueue". */
const idOf = (address: string) => address.replace(/^data\./, "").split(".")[1].replace(/_[0-9A-F]{8}$/, "");

function configured(plan: PlanJson, address: string) {
  const resource = plan.configuration.root_module.resources?.find((candidate) => candidate.address === address);
  if (!resource) throw new Error(`${address} is not in the plan's configuration`);
  return resource;
}

function configuredOfType(plan: PlanJson, type: string) {
  return (plan.configuration.root_module.resources ?? []).filter((resource) => resource.mode === "managed" && resource.type === type);
}

/** "aws_x.Name" or "data.aws_y.Name"; references also list attributes ("aws_x.Name.arn"), and other objects (var., local.). */
const isResourceAddress = (reference: string) => /^(data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+$/.test(reference) && !/^(var|local|module|each|count|path|self)\./.test(reference);

/** Resources an expression (or a nested block of them) refers to, as addresses: "aws_sqs_queue.X", "data.aws_y.Z". */
function referenced(expression: unknown, type?: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key !== "references") visit(value);
        else for (const reference of value as string[]) if (isResourceAddress(reference)) found.add(reference);
      }
    }
  };
  visit(expression);
  return [...found].filter((address) => type === undefined || address.replace(/^data\./, "").split(".")[0] === type).sort();
}

/** The single resource of `type` an expression refers to. */
function theOne(expression: unknown, type: string, what: string): string {
  const addresses = referenced(expression, type);
  if (addresses.length !== 1) throw new Error(`${what}: expected one ${type}, found ${addresses.join(", ") || "none"}`);
  return addresses[0];
}

function plannedValues(plan: PlanJson, address: string) {
  const change = plan.resource_changes?.find((candidate) => candidate.address === address);
  if (!change) throw new Error(`${address} is not in the plan`);
  return change.change.after ?? {};
}

/** Group -> template -> instance profile -> IAM role, and the template's security group, by logical ID. */
function launchChains(plan: PlanJson) {
  return configuredOfType(plan, "aws_autoscaling_group")
    .map((group) => {
      const template = configured(plan, theOne(group.expressions, "aws_launch_template", group.address));
      const profile = configured(plan, theOne(template.expressions.iam_instance_profile, "aws_iam_instance_profile", template.address));
      return {
        group: idOf(group.address),
        template: idOf(template.address),
        role: idOf(theOne(profile.expressions.role, "aws_iam_role", profile.address)),
        securityGroup: idOf(theOne(template.expressions.vpc_security_group_ids, "aws_security_group", template.address)),
      };
    })
    .sort((a, b) => a.group.localeCompare(b.group));
}

/** Every source the database's security group admits, and the groups the database instance is in. */
function databaseAccess(plan: PlanJson) {
  const [instance] = configuredOfType(plan, "aws_db_instance");
  const instanceGroups = referenced(instance.expressions.vpc_security_group_ids, "aws_security_group");
  const [databaseGroup] = instanceGroups;
  const rules = [...configuredOfType(plan, "aws_vpc_security_group_ingress_rule"), ...configuredOfType(plan, "aws_security_group_rule")].filter((rule) =>
    referenced(rule.expressions.security_group_id).includes(databaseGroup),
  );
  return {
    instanceGroups: instanceGroups.map(idOf),
    inlineIngress: configured(plan, databaseGroup).expressions.ingress ?? null,
    admitted: rules.map((rule) => {
      const values = plannedValues(plan, rule.address);
      return {
        from: referenced(rule.expressions.referenced_security_group_id ?? rule.expressions.source_security_group_id).map(idOf),
        cidr: values.cidr_ipv4 ?? values.cidr_ipv6 ?? values.prefix_list_id ?? null,
        protocol: values.ip_protocol,
        ports: [values.from_port, values.to_port],
      };
    }),
  };
}

/** The event rules the drain queue's policy lets send, and the rules whose targets deliver to the queue. */
function drainQueueSenders(plan: PlanJson) {
  const queue = configuredOfType(plan, "aws_sqs_queue").find((candidate) => idOf(candidate.address) === "Automation_DrainQueue");
  if (!queue) throw new Error("no drain queue in the plan");
  const policies = configuredOfType(plan, "aws_sqs_queue_policy").filter((policy) => referenced(policy.expressions.queue_url).includes(queue.address));
  if (policies.length !== 1) throw new Error(`expected one policy on the drain queue, found ${policies.length}`);
  const document = configured(plan, theOne(policies[0].expressions.policy, "aws_iam_policy_document", policies[0].address));
  const statements = document.expressions.statement as Record<string, any>[];
  const allowedRules = statements.flatMap((statement) => {
    expect(statement.effect?.constant_value ?? "Allow").toBe("Allow");
    expect(statement.principals.map((principal: any) => principal.identifiers.constant_value)).toEqual([["events.amazonaws.com"]]);
    expect(referenced(statement.resources)).toEqual([queue.address]);
    const sourceArn = (statement.condition ?? []).filter((condition: any) => condition.variable.constant_value === "aws:SourceArn");
    expect(sourceArn.map((condition: any) => condition.test.constant_value)).toEqual(["ArnEquals"]);
    return referenced(sourceArn[0].values, "aws_cloudwatch_event_rule");
  });
  const targetingRules = configuredOfType(plan, "aws_cloudwatch_event_target")
    .filter((target) => referenced(target.expressions.arn).includes(queue.address))
    .map((target) => theOne(target.expressions.rule, "aws_cloudwatch_event_rule", target.address));
  return { allowed: allowedRules.map(idOf).sort(), targeting: targetingRules.map(idOf).sort() };
}

const callNames = (result: PlanResult) => result.calls.map(({ call }) => call).sort();

function synthesise(input: ConfigInput, backend?: S3BackendSettings) {
  const config = resolveConfig(input);
  const work = mkdtempSync(join(tmpdir(), "k3s-plan-"));
  buildApp(config, backend, join(work, "out")).synth();
  return { config, work, stacksDir: join(work, "out", "stacks"), workdir: join(work, "plan") };
}

if (haveTerraform || terraformRequired) {
  describe("terraform plan with the real AWS provider, offline against the stub", () => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    let cluster: PlanResult;
    let stateBackend: PlanResult;
    let variant: PlanResult;
    let mixedSizes: PlanResult;
    let world: StubWorld;
    let variantWorld: StubWorld;
    let release: string;
    const workdirs: string[] = [];

    beforeAll(async () => {
      expect(haveTerraform).toBe(true); // CI or REQUIRE_TERRAFORM: a missing terraform is a failure, not a skip
      const defaults = synthesise({});
      // An S3 backend, which the plan replaces by an empty local state: no request may reach a bucket.
      const other = synthesise(VARIANT, { bucket: "k3s-tfstate-123456789012-ap-southeast-2", key: "k3s/cluster.tfstate", region: "ap-southeast-2", use_lockfile: true, encrypt: true });
      workdirs.push(defaults.work, other.work);
      world = worldFor(defaults.config);
      variantWorld = worldFor(other.config);
      release = defaults.config.nodeImage.release;
      [cluster, stateBackend] = await planStacks(defaults.stacksDir, world, defaults.workdir, log);
      [variant] = await planStacks(other.stacksDir, variantWorld, other.workdir, log, ["cluster"]);
      const mixed = synthesise(MIXED_SIZES);
      workdirs.push(mixed.work);
      [mixedSizes] = await planStacks(mixed.stacksDir, worldFor(mixed.config), mixed.workdir, log, ["cluster"]);
    }, 600_000);

    afterAll(() => workdirs.forEach((work) => rmSync(work, { recursive: true, force: true })));

    const plans = () => [
      ["default cluster", cluster],
      ["default state-backend", stateBackend],
      ["variant cluster", variant],
    ] as const;

    test("every plan succeeds with no errors or warnings, and makes only calls the stub answers", () => {
      for (const [name, result] of plans()) {
        expect({ name, problems: result.problems, diagnostics: result.diagnostics, unexpected: result.unexpected }).toEqual({ name, problems: [], diagnostics: [], unexpected: [] });
        expect(result.ok).toBe(true);
      }
      for (const [name, result] of plans().filter(([, result]) => result.stubbedProviders.length > 0)) {
        expect([name, lines]).toEqual([name, expect.arrayContaining([expect.stringContaining(`[${result.stack}] provider hashicorp/random cannot be installed here: planning a copy in which`)])]);
      }
    });

    test("the calls a plan makes on an empty state are the data sources' reads", () => {
      // One GetCallerIdentity per aws_caller_identity (networking, storage, compute, automation, the service-account
      // issuer for Alertmanager's role); the zones with a zone
      // count; the node image and, as the provider's aws_ami always does, its UEFI data (refused by EC2 as malformed);
      // each of the agents' three instance types, whose first sizes the autoscaler's node template.
      expect(callNames(cluster)).toEqual([
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstanceTypes",
        "ec2:GetInstanceUefiData",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
      ]);
      expect(callNames(stateBackend)).toEqual(["sts:GetCallerIdentity"]);
      // cpu scaling has no autoscaler, so no instance type is read; CloudFront's origin reads its prefix list and entries;
      // the service-account issuer reads the account (block storage).
      expect(callNames(variant)).toEqual([
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeImages",
        "ec2:DescribeManagedPrefixLists",
        "ec2:GetInstanceUefiData",
        "ec2:GetManagedPrefixListEntries",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
        "sts:GetCallerIdentity",
      ]);
    });

    test("on an empty state every resource is created, and only data sources whose inputs are unknown wait for apply", () => {
      for (const [name, result] of plans()) {
        const changes = result.plan?.resource_changes ?? [];
        expect(changes.length).toBeGreaterThan(0);
        const summary = changes.map((change) => [change.mode, change.change.actions.join(","), change.mode === "data" ? change.action_reason : "-"]);
        expect([name, [...new Set(summary.map((entry) => entry.join(" ")))].sort()]).toEqual([
          name,
          changes.some((change) => change.mode === "data") ? ["data read read_because_config_unknown", "managed create -"] : ["managed create -"],
        ]);
      }
    });

    test("each stack creates the expected number of resources of each type", () => {
      expect(createdPerType(cluster)).toEqual(counts(DEFAULT_CLUSTER));
      expect(createdPerType(stateBackend)).toEqual(counts(STATE_BACKEND));
      expect(createdPerType(variant)).toEqual(counts({ ...DEFAULT_CLUSTER, ...VARIANT_CHANGES }));
    });

    test("each auto scaling group launches from its own role's template: its instance profile's role and its security group", () => {
      const expected = [
        { group: "Compute_Agents_Group", template: "Compute_Agents_LaunchTemplate", role: "Compute_Agents_Role", securityGroup: "Networking_SecurityGroups_Agent" },
        { group: "Compute_Servers_Group", template: "Compute_Servers_LaunchTemplate", role: "Compute_Servers_Role", securityGroup: "Networking_SecurityGroups_Server" },
      ];
      expect(launchChains(cluster.plan!)).toEqual(expected);
      expect(launchChains(variant.plan!)).toEqual(expected);
    });

    test("the database admits only the servers, on 5432/tcp", () => {
      const expected = {
        instanceGroups: ["Networking_SecurityGroups_Database"],
        inlineIngress: null,
        admitted: [{ from: ["Networking_SecurityGroups_Server"], cidr: null, protocol: "tcp", ports: [5432, 5432] }],
      };
      expect(databaseAccess(cluster.plan!)).toEqual(expected);
      expect(databaseAccess(variant.plan!)).toEqual(expected);
    });

    test("the drain queue admits exactly the rules that target it", () => {
      const rules = ["Automation_AgentTerminationRule", "Automation_RebalanceRule", "Automation_SpotInterruptionRule"];
      expect(drainQueueSenders(cluster.plan!)).toEqual({ allowed: rules, targeting: rules });
      expect(drainQueueSenders(variant.plan!)).toEqual({ allowed: rules, targeting: rules });
    });

    test("agent types of other sizes fail the plan, each named with EC2's figures (cluster-autoscaler AWS README: one size per group)", () => {
      // EC2's specifications: r7g.large 2 vCPUs and 16 GiB, t4g.xlarge 4 vCPUs and 16 GiB, m7g.large 2 vCPUs and 8 GiB.
      expect(mixedSizes.ok).toBe(false);
      const errors = mixedSizes.diagnostics.filter((diagnostic) => diagnostic.severity === "error");
      const first = "but r7g.large, the first, has 2 vCPUs and 16384 MiB.";
      expect(errors.map(({ summary, detail }) => ({ summary, detail })).sort((a, b) => (a.detail ?? "").localeCompare(b.detail ?? ""))).toEqual([
        { summary: "Resource postcondition failed", detail: expect.stringMatching(new RegExp(`^agents.instanceTypes: m7g.large has 2 vCPUs and 8192 MiB ${first}`)) },
        { summary: "Resource postcondition failed", detail: expect.stringMatching(new RegExp(`^agents.instanceTypes: t4g.xlarge has 4 vCPUs and 16384 MiB ${first}`)) },
      ]);
      expect(mixedSizes.unexpected).toEqual([]);
    });

    test("the plan uses what AWS reported: subnets in the region's zones without opt-in, nodes on the pinned image", () => {
      for (const [result, region, usedWorld] of [
        [cluster, "eu-west-1", world],
        [variant, "ap-southeast-2", variantWorld],
      ] as const) {
        const subnets = (result.plan!.resource_changes ?? []).filter((change) => change.type === "aws_subnet");
        expect(subnets.map((change) => [idOf(change.address), change.change.after?.availability_zone])).toEqual(
          ["Private", "Public"].flatMap((kind) => ["a", "b", "c"].map((letter) => [`Networking_${kind}Subnet${letter.toUpperCase()}`, `${region}${letter}`])),
        );
        // Graviton is the default architecture; the image is the pinned release's, owned by Amazon.
        const image = usedWorld.images.find((candidate) => candidate.name === `al2023-ami-${release}-kernel-6.1-arm64`);
        const templates = (result.plan!.resource_changes ?? []).filter((change) => change.type === "aws_launch_template");
        expect(templates.map((change) => change.change.after?.image_id)).toEqual([image?.imageId, image?.imageId]);
      }
    });
  });
} else {
  test.skip("terraform plan with the real AWS provider, offline (skipped: terraform is not on PATH; set CI or REQUIRE_TERRAFORM to make this fail)", () => undefined);
}
