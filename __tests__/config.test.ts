import { problemsOf } from "./support/config-problems";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
// The AWS SDK's own region-to-partition resolver (its partitions.json), an independent source for partitionOf.
import { partition as sdkPartition } from "@aws-sdk/core/client";
import { loadConfig } from "../config/load";
import { architectureOf, ConfigError, partitionOf, resolveConfig } from "../config/resolve";


describe("defaults", () => {
  test("production default is highly available over three zones with a NAT gateway per zone", () => {
    const config = resolveConfig({});
    expect(config.region).toBe("eu-west-1");
    expect(config.partition).toBe("aws");
    expect(config.highAvailability).toBe(true);
    expect(config.servers.count).toBe(3);
    expect(config.servers.allowWorkloads).toBe(false);
    expect(config.network.natMode).toBe("per-az");
    // Zone letters differ between accounts, so unlisted zones are left to the aws_availability_zones data source.
    expect(config.network.availabilityZones).toBeUndefined();
    expect(config.network.zoneCount).toBe(3);
    expect(config.network.privateSubnetCidrs).toEqual(["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]);
    expect(config.network.publicSubnetCidrs).toEqual(["10.0.224.0/24", "10.0.225.0/24", "10.0.226.0/24"]);
    expect(config.architecture).toBe("arm64");
  });

  test("dev defaults to one server and one NAT gateway", () => {
    const config = resolveConfig({ environment: "dev" });
    expect(config.highAvailability).toBe(false);
    expect(config.servers.count).toBe(1);
    expect(config.network.natMode).toBe("single");
  });

  test("dev keeps no autoscaler headroom unless asked; staging keeps production's; a given one is kept as given", () => {
    expect(resolveConfig({ environment: "dev" }).automation.headroom).toEqual({ cpuMillis: 0, memoryMiB: 0 });
    expect(resolveConfig({ environment: "staging" }).automation.headroom).toEqual({ cpuMillis: 500, memoryMiB: 1024 });
    expect(resolveConfig({ environment: "dev", automation: { headroom: { cpuMillis: 250, memoryMiB: 0 } } }).automation.headroom).toEqual({ cpuMillis: 250, memoryMiB: 0 });
    expect(resolveConfig({ automation: { headroom: { cpuMillis: 0, memoryMiB: 0 } } }).automation.headroom).toEqual({ cpuMillis: 0, memoryMiB: 0 });
  });

  test("zones follow the region and subnets scale with a smaller VPC", () => {
    const config = resolveConfig({ region: "us-east-2", network: { vpcCidr: "172.20.0.0/20", availabilityZones: ["us-east-2a", "us-east-2b"] } });
    expect(config.network.privateSubnetCidrs).toEqual(["172.20.0.0/23", "172.20.2.0/23"]);
    expect(config.network.publicSubnetCidrs).toEqual(["172.20.14.0/28", "172.20.14.16/28"]);
  });

  test("explicit subnets are kept as given", () => {
    const network = { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/28", "10.1.0.16/28"], privateSubnetCidrs: ["10.1.0.128/26", "10.1.0.192/26"] };
    expect(resolveConfig({ network }).network).toMatchObject(network);
  });

  // README, Configuration: the default column, field by field (expendablePodsPriorityCutoff also cluster-autoscaler's
  // --expendable-pods-priority-cutoff default, -10).
  test.each<[string, unknown]>([
    ["region", "eu-west-1"],
    ["clusterName", "k3s"],
    ["environment", "prod"],
    ["k3sVersion", "v1.33.5+k3s1"],
    ["nodeImage.release", "2023.9.20251105.0"],
    ["network.vpcCidr", "10.0.0.0/16"],
    ["network.flowLogRetentionDays", 90],
    ["servers.instanceType", "t4g.medium"],
    ["servers.allowWorkloads", false],
    ["agents.instanceTypes", ["t4g.large", "m7g.large", "m6g.large"]],
    ["agents.minSize", 1],
    ["agents.maxSize", 10],
    ["agents.desiredCapacity", 2],
    ["agents.onDemandBaseCapacity", 1],
    ["agents.onDemandPercentageAboveBaseCapacity", 30],
    ["agents.scalingMode", "pods"],
    ["agents.k3sVersion", "v1.33.5+k3s1"],
    ["api.publicAccess", false],
    ["api.adminCidrs", []],
    ["api.domain", undefined],
    ["sshPublicKey", undefined],
    ["database.instanceClass", "db.t4g.small"],
    ["database.allocatedStorageGb", 20],
    ["database.maxAllocatedStorageGb", 100],
    ["database.backupRetentionDays", 7],
    ["database.performanceInsights", false],
    ["database.logRetentionDays", 30],
    ["automation.scheduleExpression", "rate(1 minute)"],
    ["automation.maxScaleUpStep", 3],
    ["automation.pollSeconds", 10],
    ["automation.scaleDownUtilizationPercent", 50],
    ["automation.scaleDownWindowMinutes", 10],
    ["automation.cooldownMinutes", 10],
    ["automation.notReadyReplaceMinutes", 20],
    ["automation.expendablePodsPriorityCutoff", -10],
    ["automation.headroom", { cpuMillis: 500, memoryMiB: 1024 }],
    ["automation.notificationEmail", undefined],
    ["automation.logRetentionDays", 30],
    ["tags", {}],
  ])("%s defaults to %p", (field, value) => {
    expect(field.split(".").reduce<any>((node, key) => node[key], resolveConfig({}))).toEqual(value);
  });

  test("instance families map to their architecture", () => {
    expect(["t4g.medium", "m7gd.large", "c6gn.xlarge", "a1.large"].map(architectureOf)).toEqual(["arm64", "arm64", "arm64", "arm64"]);
    expect(["t3.medium", "m7i.large", "g5.xlarge", "c5n.large"].map(architectureOf)).toEqual(["x86_64", "x86_64", "x86_64", "x86_64"]);
  });
});

describe("bad configurations are refused with a message naming the field", () => {
  const cases: [string, unknown, string][] = [
    ["malformed CIDR", { network: { vpcCidr: "10.0.0/16" } }, 'network.vpcCidr: "10.0.0/16" is not an IPv4 CIDR block like 10.0.0.0/16'],
    ["host bits set", { network: { vpcCidr: "10.0.0.1/16" } }, 'network.vpcCidr: "10.0.0.1/16" has host bits set; the network address is 10.0.0.0/16'],
    ["VPC too small to derive subnets", { network: { vpcCidr: "10.0.0.0/24" } }, "network.vpcCidr: must be between /16 and /20 when subnets are derived (got /24); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC"],
    [
      "overlapping subnets",
      { network: { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/24", "10.0.1.0/24"], privateSubnetCidrs: ["10.0.0.0/20", "10.0.16.0/20"] } },
      "network.privateSubnetCidrs[0]: 10.0.0.0/20 overlaps network.publicSubnetCidrs[0] (10.0.0.0/24)",
    ],
    [
      "subnet outside the VPC",
      { network: { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/24", "10.1.0.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } },
      "network.publicSubnetCidrs[1]: 10.1.0.0/24 is outside the VPC range 10.0.0.0/16",
    ],
    [
      "subnet count differs from zone count",
      { network: { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } },
      "network.publicSubnetCidrs: needs one CIDR per availability zone (2), got 1",
    ],
    ["zone of another region", { network: { availabilityZones: ["eu-west-1a", "us-east-1b"] } }, 'network.availabilityZones: "us-east-1b" is not an availability zone of eu-west-1 (expected eu-west-1a, eu-west-1b, ...)'],
    ["one zone with high availability", { network: { availabilityZones: ["eu-west-1a"] } }, "network.availabilityZones: highAvailability needs at least 2 availability zones, got 1"],
    ["one zone without high availability", { environment: "dev", network: { availabilityZones: ["eu-west-1a"] } }, "network.availabilityZones: at least 2 availability zones are required (an RDS subnet group spans two or more), got 1"],
    ["duplicate zone", { network: { availabilityZones: ["eu-west-1a", "eu-west-1a"] } }, 'network.availabilityZones: "eu-west-1a" is listed more than once'],
    ["one server with high availability", { servers: { count: 1 } }, "servers.count: highAvailability needs at least 2 servers, got 1; set servers.count to 3 or highAvailability to false"],
    ["min greater than max", { agents: { minSize: 5, maxSize: 2, desiredCapacity: 3 } }, "agents.minSize: (5) is greater than agents.maxSize (2)"],
    ["desired outside bounds", { agents: { minSize: 1, maxSize: 4, desiredCapacity: 6 } }, "agents.desiredCapacity: (6) must lie between agents.minSize (1) and agents.maxSize (4)"],
    ["percentage above 100", { agents: { onDemandPercentageAboveBaseCapacity: 130 } }, "agents.onDemandPercentageAboveBaseCapacity: must be between 0 and 100"],
    ["negative percentage", { agents: { onDemandPercentageAboveBaseCapacity: -1 } }, "agents.onDemandPercentageAboveBaseCapacity: must be between 0 and 100"],
    ["negative headroom", { automation: { headroom: { cpuMillis: -1, memoryMiB: 1024 } } }, "automation.headroom.cpuMillis: must be 0 or more"],
    ["headroom in Kubernetes quantities", { automation: { headroom: { cpuMillis: "500m", memoryMiB: 1024 } } }, 'automation.headroom.cpuMillis: must be a number of millicores (500 for "500m")'],
    ["headroom memory in GiB", { automation: { headroom: { cpuMillis: 500, memoryMiB: 0.5 } } }, 'automation.headroom.memoryMiB: must be a whole number of MiB (1024 for "1Gi")'],
    ["headroom memory negative", { automation: { headroom: { cpuMillis: 500, memoryMiB: -1024 } } }, "automation.headroom.memoryMiB: must be 0 or more"],
    ["headroom with one of its two sizes", { automation: { headroom: { cpuMillis: 500 } } }, 'automation.headroom.memoryMiB: must be a number of MiB (1024 for "1Gi")'],
    ["headroom memory as a quantity", { automation: { headroom: { cpuMillis: 500, memoryMiB: "1Gi" } } }, 'automation.headroom.memoryMiB: must be a number of MiB (1024 for "1Gi")'],
    ["headroom CPU fractional", { automation: { headroom: { cpuMillis: 0.5, memoryMiB: 1024 } } }, 'automation.headroom.cpuMillis: must be a whole number of millicores (500 for "500m")'],
    ["malformed k3s version", { k3sVersion: "1.33.5" }, 'k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"'],
    ["unknown top-level key", { regoin: "eu-west-1" }, '(top level): unknown key "regoin"'],
    ["unknown nested key", { agents: { maxsize: 3 } }, 'agents: unknown key "maxsize"'],
    ["unknown environment", { environment: "production" }, 'environment: Invalid option: expected one of "dev"|"staging"|"prod"'],
    ["bad region", { region: "europe" }, 'region: must be an AWS region such as "eu-west-1"'],
    ["mixed architectures", { agents: { instanceTypes: ["t4g.large", "m7i.large"] } }, 'agents.instanceTypes[1]: "m7i.large" is x86_64 but servers.instanceType "t4g.medium" is arm64; the cluster uses one architecture and one AMI'],
    ["public API without admin networks", { api: { publicAccess: true } }, "api.adminCidrs: at least one CIDR is required when api.publicAccess is true"],
    ["public API open to the world", { api: { publicAccess: true, adminCidrs: ["0.0.0.0/0"] } }, "api.adminCidrs[0]: 0.0.0.0/0 would open the Kubernetes API to the whole internet; list your admin networks (/8 or narrower)"],
    ["public API open to the world in two halves", { api: { publicAccess: true, adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"] } }, "api.adminCidrs[0]: 0.0.0.0/1 would open the Kubernetes API to 2147483648 addresses; list your admin networks (/8 or narrower)"],
    ["cluster name with capitals", { clusterName: "Prod_Cluster" }, "clusterName: must be 2-20 characters of a-z, 0-9 and '-', starting with a letter"],
    [
      "storage ceiling below allocation",
      { database: { allocatedStorageGb: 200, maxAllocatedStorageGb: 100 } },
      "database.maxAllocatedStorageGb: (100) must be at least 10% above database.allocatedStorageGb (200); RDS refuses a lower storage autoscaling ceiling",
    ],
    ["backups switched off", { database: { backupRetentionDays: 0 } }, "database.backupRetentionDays: must be between 1 and 35 (automated backups stay on)"],
    ["wrong type", { agents: { maxSize: "10" } }, "agents.maxSize: Invalid input: expected number, received string"],
    ["NotReady replacement sooner than an agent boots", { automation: { notReadyReplaceMinutes: 2 } }, "automation.notReadyReplaceMinutes: must be at least 5 (a new agent takes minutes to become Ready)"],
  ];

  test.each(cases)("%s", (_name, input, message) => {
    expect(problemsOf(input)).toContain(message);
  });

  test("a malformed region is one problem: isolated-partition text inside it is not read as a partition", () => {
    expect(problemsOf({ region: "ab-cd-isob-east-1" })).toEqual(['region: must be an AWS region such as "eu-west-1"']);
  });

  test("every problem is reported at once", () => {
    expect(problemsOf({ servers: { count: 1 }, agents: { minSize: 5, maxSize: 2 } })).toHaveLength(2);
  });
});

describe("schema and cross-field problems are listed together", () => {
  test("a schema failure does not hide cross-field problems, and unknown keys are listed with them", () => {
    expect(problemsOf({ agents: { minSize: 5, maxSize: 2 }, k3sVersion: "latest", regoin: "x" })).toEqual([
      'k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"',
      '(top level): unknown key "regoin"',
      "agents.minSize: (5) is greater than agents.maxSize (2)",
    ]);
  });

  test("a field's problem is listed once, not again by a rule that reads the default standing in for it", () => {
    // The bad region would otherwise make both listed zones "not a zone of eu-west-1", the default region.
    expect(problemsOf({ region: "europe", network: { availabilityZones: ["europe-a", "europe-b"] } })).toEqual([
      'region: must be an AWS region such as "eu-west-1"',
    ]);
    // A bad entry drops its whole list; the derived list standing in must not be checked against the zones.
    expect(
      problemsOf({
        network: { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/24", 5], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] },
        agents: { maxSize: "10", minSize: 3, desiredCapacity: 1 },
      }),
    ).toEqual(["network.publicSubnetCidrs.1: Invalid input: expected string, received number", "agents.maxSize: Invalid input: expected number, received string"]);
  });

  test.each([
    ["null", null, "(top level): must be a JSON object, got null"],
    ["an array", [], "(top level): must be a JSON object, got an array"],
    ["a string", "prod", "(top level): must be a JSON object, got a string"],
    ["a number", 3, "(top level): must be a JSON object, got a number"],
  ])("a config that is %s is refused, not taken for {}", (_name, input, message) => {
    expect(problemsOf(input)).toEqual([message]);
  });
});

describe("cluster names AWS would refuse are refused with the reason", () => {
  test.each([
    // RDS CreateDBInstance, DBInstanceIdentifier: "Can't end with a hyphen or contain two consecutive hyphens".
    ["prod--eu", ["clusterName: must not contain two consecutive hyphens (RDS identifiers refuse them)"]],
    // S3 general purpose bucket naming rules: "Bucket names must not start with the prefix xn--".
    ["xn--k3s", ["clusterName: must not contain two consecutive hyphens (RDS identifiers refuse them)", 'clusterName: must not start with "xn--" (S3 bucket names refuse it)']],
    // ELBv2 CreateLoadBalancer, Name: "must not begin with "internal-"" - "internal" + "-api" would.
    ["internal", ['clusterName: must not start with "internal" (a load balancer name may not begin with "internal-", as "<clusterName>-api" would)']],
    ["internal-eu", ['clusterName: must not start with "internal" (a load balancer name may not begin with "internal-", as "<clusterName>-api" would)']],
    ["k3s-", ["clusterName: must be 2-20 characters of a-z, 0-9 and '-', starting with a letter"]],
    ["a23456789012345678901", ["clusterName: must be 2-20 characters of a-z, 0-9 and '-', starting with a letter"]],
  ])("%s", (clusterName, messages) => {
    expect(problemsOf({ clusterName })).toEqual(messages);
  });

  test("a 20-character name with single hyphens is accepted", () => {
    expect(resolveConfig({ clusterName: "team-a-prod-eu-west1" }).clusterName).toBe("team-a-prod-eu-west1");
  });
});

describe("tags follow IAM's tag rules, so no user text becomes a Terraform expression", () => {
  // IAM API reference, Tag (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html):
  // Key: length 1-128, pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]+; Value: length 0-256, pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
  const KEY = "tag keys are 1-128 letters, numbers, spaces and _ . : / = + - @";
  const VALUE = "tag values are 0-256 letters, numbers, spaces and _ . : / = + - @";
  const RESERVED = 'tag keys must not start with "aws:" in any letter case (reserved for AWS)';
  const CLUSTER_TAG = 'tag keys "kubernetes.io/cluster/..." and "KubernetesCluster" are the cloud controller\'s; the cluster sets its own';
  const AUTOSCALER_TAG = 'tag keys "k8s.io/cluster-autoscaler/..." are cluster-autoscaler\'s; the cluster sets them on the agents\' group itself';

  test("keys and values made of IAM's characters are accepted", () => {
    const tags = { "Cost Center": "", "team/owner": "ops@example.com", "k8s.io:role=+-_": "Überwachung 2", ["k".repeat(128)]: "v".repeat(256) };
    expect(resolveConfig({ tags }).tags).toEqual(tags);
  });

  test.each([
    ["a Terraform reference as a value", { owner: "${random_password.x.result}" }, `tags.owner: ${VALUE}`],
    ["a cdktf token as a value", { owner: "${TfToken[TOKEN.1]}" }, `tags.owner: ${VALUE}`],
    ["a Terraform template directive as a value", { owner: "%{if true}x%{endif}" }, `tags.owner: ${VALUE}`],
    ["an interpolation as a key", { "${var.x}": "y" }, `tags.\${var.x}: ${KEY}`],
    ["a value over 256 characters", { owner: "v".repeat(257) }, `tags.owner: ${VALUE}`],
    ["a key over 128 characters", { ["k".repeat(129)]: "v" }, `tags.${"k".repeat(129)}: ${KEY}`],
    ["an empty key", { "": "v" }, `tags.: ${KEY}`],
    ["the reserved prefix", { "aws:owner": "me" }, `tags.aws:owner: ${RESERVED}`],
    ["the reserved prefix in upper case", { "AWS:owner": "me" }, `tags.AWS:owner: ${RESERVED}`],
    ["the reserved prefix in mixed case", { "aWs:owner": "me" }, `tags.aWs:owner: ${RESERVED}`],
    // Default tags reach every security group and, through the groups, every node: a cluster tag there would widen
    // the controller's tag-scoped policy to the database group, and a second one stops the controller.
    ["the cloud controller's cluster tag", { "kubernetes.io/cluster/k3s": "owned" }, `tags.kubernetes.io/cluster/k3s: ${CLUSTER_TAG}`],
    ["another cluster's tag", { "kubernetes.io/cluster/other": "shared" }, `tags.kubernetes.io/cluster/other: ${CLUSTER_TAG}`],
    ["the legacy cluster tag", { KubernetesCluster: "k3s" }, `tags.KubernetesCluster: ${CLUSTER_TAG}`],
    // Group tags cluster-autoscaler discovers groups and reads node templates by (cluster-autoscaler
    // cloudprovider/aws/README.md): through the default tags they would reach the servers' group too.
    ["cluster-autoscaler's discovery tag", { "k8s.io/cluster-autoscaler/enabled": "true" }, `tags.k8s.io/cluster-autoscaler/enabled: ${AUTOSCALER_TAG}`],
    [
      "a cluster-autoscaler node template hint",
      { "k8s.io/cluster-autoscaler/node-template/label/team": "a" },
      `tags.k8s.io/cluster-autoscaler/node-template/label/team: ${AUTOSCALER_TAG}`,
    ],
  ])("%s is refused", (_name, tags, message) => {
    expect(problemsOf({ tags })).toEqual([message]);
  });
});

test("an SSH key comment holding a cdktf token marker is refused; one holding ${...} is kept as literal text", () => {
  expect(problemsOf({ sshPublicKey: "ssh-ed25519 AAAAC3Nz ${TfToken[TOKEN.1]}" })).toEqual(["sshPublicKey: must not contain a cdktf token marker (${TfToken[...]}) in its comment"]);
  expect(resolveConfig({ sshPublicKey: "ssh-ed25519 AAAAC3Nz ${var.x}" }).sshPublicKey).toBe("ssh-ed25519 AAAAC3Nz ${var.x}");
});

describe("autoscaler schedules are EventBridge schedule expressions", () => {
  // EventBridge, "Schedule expressions for rules": rate(value unit) with a positive value, the unit singular for 1 and
  // plural above; cron has six fields and exactly one of day-of-month and day-of-week is "?".
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
  test.each([
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(2 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 8 ? * 3#1 *)",
    "cron(0 0 ? * 6L *)",
    "cron(0 0 LW * ? *)",
    "cron(30 14 10,20 JAN,JUL ? 2026-2030)",
  ])("%s is accepted", (scheduleExpression) => {
    expect(resolveConfig({ automation: { scheduleExpression } }).automation.scheduleExpression).toBe(scheduleExpression);
  });

  test.each([
    ["rate(1 minutes)", 'the rate unit must be "minute" when the value is 1'],
    ["rate(1 hours)", 'the rate unit must be "hour" when the value is 1'],
    ["rate(2 minute)", 'the rate unit must be "minutes" when the value is greater than 1'],
    ["rate(5 hour)", 'the rate unit must be "hours" when the value is greater than 1'],
    ["rate(0 minutes)", "the rate value must be a positive whole number, got 0"],
    ["rate(-1 minutes)", "the rate value must be a positive whole number, got -1"],
    ["rate(1 second)", 'the rate unit must be minute(s), hour(s) or day(s), got "second"'],
    // Only a trailing "s" is the plural: a unit that starts with one is still unknown.
    ["rate(2 sday)", 'the rate unit must be minute(s), hour(s) or day(s), got "sday"'],
    ["rate(5minutes)", 'a rate expression is "rate(<value> <unit>)", such as "rate(5 minutes)"'],
    ["cron(0 12 * * ?)", "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got 5"],
    ["cron(0 12 * * ? * *)", "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got 7"],
    ["cron(0 12 * * * *)", 'exactly one of the day-of-month and day-of-week fields must be "?"'],
    ["cron(0 12 1 * MON *)", 'exactly one of the day-of-month and day-of-week fields must be "?"'],
    ["cron(0 12 ? * ? *)", 'exactly one of the day-of-month and day-of-week fields must be "?"'],
    ["cron(60 12 * * ? *)", 'the cron minutes field "60" has a value outside 0-59'],
    ["cron(0 24 * * ? *)", 'the cron hours field "24" has a value outside 0-23'],
    ["cron(0 12 * 13 ? *)", 'the cron month field "13" has a value outside 1-12'],
    ["cron(0 12 ? * 8 *)", 'the cron day-of-week field "8" has a value outside 1-7'],
    ["cron(0 12 * * ? 1969)", 'the cron year field "1969" has a value outside 1970-2199'],
    ["cron(0 12 ?5 * ? *)", 'the cron day-of-month field "?5" may hold only 1-31 and the wildcards , - * ? / L W'],
    ["cron(0 12 * * FUN *)", 'the cron day-of-week field "FUN" may hold only 1-7 or SUN-SAT and the wildcards , - * ? L #'],
    ["every minute", 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"'],
  ])("%s is refused", (scheduleExpression, message) => {
    expect(problemsOf({ automation: { scheduleExpression } })).toEqual([`automation.scheduleExpression: ${message}`]);
  });
});

describe("admin networks are listed once", () => {
  // Each admin network is one security group rule; EC2 refuses a rule that already exists (InvalidPermission.Duplicate,
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
  test.each([
    ["the same text", ["203.0.113.0/24", "198.51.100.0/24", "203.0.113.0/24"], "api.adminCidrs[2]: 203.0.113.0/24 is the same network as api.adminCidrs[0] (203.0.113.0/24)"],
    ["the same network written differently", ["203.0.113.0/24", "203.000.113.000/24"], "api.adminCidrs[1]: 203.000.113.000/24 is the same network as api.adminCidrs[0] (203.0.113.0/24)"],
  ])("%s twice is refused", (_name, adminCidrs, message) => {
    expect(problemsOf({ api: { publicAccess: true, adminCidrs } })).toEqual([message]);
  });

  test("overlapping but different networks are kept", () => {
    expect(resolveConfig({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24", "203.0.113.0/25"] } }).api.adminCidrs).toHaveLength(2);
  });
});

describe("agents follow the Kubernetes version skew policy during upgrades", () => {
  // https://kubernetes.io/releases/version-skew-policy/: "kubelet must not be newer than kube-apiserver" and "may be
  // up to three minor versions older than kube-apiserver (kubelet < 1.25 may only be up to two minor versions older)".
  test("by default agents and servers run the same release", () => {
    const config = resolveConfig({});
    expect(config.agents.k3sVersion).toBe(config.k3sVersion);
  });

  test("a configured server release needs the agents' release named too, so one apply never rolls both groups", () => {
    expect(problemsOf({ k3sVersion: "v1.34.1+k3s1" })).toEqual([
      "agents.k3sVersion: must be set whenever k3sVersion is, so an upgrade rolls the servers in one apply and the agents in the next; set it to the agents' running release (or to k3sVersion for a new cluster)",
    ]);
    const upgrading = resolveConfig({ k3sVersion: "v1.34.1+k3s1", agents: { k3sVersion: "v1.33.5+k3s1" } });
    expect([upgrading.k3sVersion, upgrading.agents.k3sVersion]).toEqual(["v1.34.1+k3s1", "v1.33.5+k3s1"]);
  });

  test.each(["v1.33.5+k3s1", "v1.33.4+k3s1", "v1.32.9+k3s1", "v1.30.0+k3s1"])("agents at %s with servers at v1.33.5+k3s1 are accepted", (agents) => {
    expect(resolveConfig({ k3sVersion: "v1.33.5+k3s1", agents: { k3sVersion: agents } }).agents.k3sVersion).toBe(agents);
  });

  const newer = (agents: string, servers: string) =>
    `agents.k3sVersion: (${agents}) is newer than k3sVersion (${servers}), the servers' release; a kubelet must not be newer than the API server, so upgrade the servers first`;
  test.each([
    ["a newer minor", "v1.33.5+k3s1", "v1.34.0+k3s1", newer("v1.34.0+k3s1", "v1.33.5+k3s1")],
    ["a newer patch", "v1.33.5+k3s1", "v1.33.6+k3s1", newer("v1.33.6+k3s1", "v1.33.5+k3s1")],
    ["a newer k3s revision", "v1.33.5+k3s1", "v1.33.5+k3s2", newer("v1.33.5+k3s2", "v1.33.5+k3s1")],
    [
      "four minors older",
      "v1.33.5+k3s1",
      "v1.29.9+k3s1",
      "agents.k3sVersion: (v1.29.9+k3s1) is 4 minor versions older than k3sVersion (v1.33.5+k3s1); a kubelet may be at most 3 minor versions older than the API server, so upgrade the agents first",
    ],
    [
      "three minors older than 1.25",
      "v1.26.1+k3s1",
      "v1.23.9+k3s1",
      "agents.k3sVersion: (v1.23.9+k3s1) is 3 minor versions older than k3sVersion (v1.26.1+k3s1); a kubelet may be at most 2 minor versions older than the API server, so upgrade the agents first",
    ],
  ])("agents at %s are refused", (_name, servers, agents, message) => {
    expect(problemsOf({ k3sVersion: servers, agents: { k3sVersion: agents } })).toEqual([message]);
  });

  test("a malformed agent release is a field problem, not a skew problem", () => {
    expect(problemsOf({ agents: { k3sVersion: "1.33.5" } })).toEqual(['agents.k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"']);
  });
});

describe("node image", () => {
  // AL2023 "Naming and versioning" (https://docs.aws.amazon.com/linux/al2023/ug/naming-and-versioning.html): AMIs are
  // named al2023-ami-2023.0.20230301.0-kernel-6.1-x86_64, al2023-ami-2023.1.20230601.0-kernel-6.1-x86_64, ...
  test.each(["2023.0.20230301.0", "2023.1.20230601.0", "2023.0.20230520.0", "2023.9.20251105.0"])("release %s is accepted", (release) => {
    expect(resolveConfig({ nodeImage: { release } }).nodeImage.release).toBe(release);
  });

  test("the default is a pinned release listed in the AL2023 release notes (2023.9.20251105)", () => {
    expect(resolveConfig({}).nodeImage.release).toBe("2023.9.20251105.0");
  });

  test.each(["2023.9.20251105", "2022.0.20220301.0", "2023.9.20251305.0", "2023.9.2025110.0", "latest", "al2023-ami-2023.9.20251105.0-kernel-6.1-arm64"])(
    "release %s is refused",
    (release) => {
      expect(problemsOf({ nodeImage: { release } })).toEqual([
        'nodeImage.release: must be an Amazon Linux 2023 release such as "2023.9.20251105.0" (2023.<minor>.<YYYYMMDD>.<n>)',
      ]);
    },
  );
});

describe("scaling modes", () => {
  // cluster-autoscaler FAQ, "Is Cluster Autoscaler compatible with CPU-usage-based node autoscalers?": no; nor are two
  // pod-driven autoscalers on one group.
  const ONE_MODE =
    'agents.scalingMode: must be "pods", "cpu" or "cluster-autoscaler", one mode per group: any two of a CPU target-tracking policy, the pod-driven autoscaler and cluster-autoscaler would fight over desired capacity (cluster-autoscaler FAQ)';

  test.each(["pods", "cpu", "cluster-autoscaler"])("%s is accepted and resolved as written", (scalingMode) => {
    expect(resolveConfig({ agents: { scalingMode } }).agents.scalingMode).toBe(scalingMode);
  });

  test("the Lambda is the default", () => {
    expect(resolveConfig({}).agents.scalingMode).toBe("pods");
  });

  test.each([
    ["an unknown mode", "karpenter"],
    ["two modes at once", ["pods", "cluster-autoscaler"]],
    ["upstream's flag spelling", "cluster_autoscaler"],
  ])("%s is refused", (_name, scalingMode) => {
    expect(problemsOf({ agents: { scalingMode } })).toEqual([ONE_MODE]);
  });

  test("the mode changes nothing else in the resolved config", () => {
    const { agents, ...rest } = resolveConfig({ agents: { scalingMode: "cluster-autoscaler" } });
    const { agents: defaultAgents, ...defaultRest } = resolveConfig({});
    expect(rest).toEqual(defaultRest);
    expect(agents).toEqual({ ...defaultAgents, scalingMode: "cluster-autoscaler" });
  });
});

describe("servers and workloads", () => {
  test("servers keep workloads off by default and may take them in a one-node dev cluster", () => {
    expect(resolveConfig({}).servers.allowWorkloads).toBe(false);
    const dev = resolveConfig({ environment: "dev", servers: { allowWorkloads: true } });
    expect(dev.servers).toMatchObject({ count: 1, allowWorkloads: true });
  });
});

describe("availability zones", () => {
  test("unlisted zones are a count, read at plan time, and subnets are derived for that count", () => {
    const config = resolveConfig({ network: { availabilityZoneCount: 4 } });
    expect(config.network.availabilityZones).toBeUndefined();
    expect(config.network.zoneCount).toBe(4);
    expect(config.network.privateSubnetCidrs).toEqual(["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19", "10.0.96.0/19"]);
    expect(config.network.publicSubnetCidrs).toEqual(["10.0.224.0/24", "10.0.225.0/24", "10.0.226.0/24", "10.0.227.0/24"]);
    expect(config.network).not.toHaveProperty("availabilityZoneCount");
  });

  test("listed zones give the count, and a matching count is accepted", () => {
    const network = resolveConfig({ network: { availabilityZones: ["eu-west-1a", "eu-west-1c"], availabilityZoneCount: 2 } }).network;
    expect(network.availabilityZones).toEqual(["eu-west-1a", "eu-west-1c"]);
    expect(network.zoneCount).toBe(2);
  });

  test.each([
    [
      "a count that conflicts with the listed zones",
      { availabilityZones: ["eu-west-1a", "eu-west-1b"], availabilityZoneCount: 3 },
      "network.availabilityZoneCount: (3) conflicts with the 2 zones listed in network.availabilityZones; leave it out or make them agree",
    ],
    ["one zone", { availabilityZoneCount: 1 }, "network.availabilityZoneCount: must be between 2 and 6 (an RDS subnet group spans two or more zones)"],
    ["seven zones", { availabilityZoneCount: 7 }, "network.availabilityZoneCount: must be between 2 and 6 (an RDS subnet group spans two or more zones)"],
  ])("%s is refused", (_name, network, message) => {
    expect(problemsOf({ network })).toEqual([message]);
  });
});

describe("partitions", () => {
  // Expected partitions come from the AWS SDK's partition resolver, not from partitionOf's own rules.
  test.each(["eu-west-1", "us-east-1", "ap-southeast-3", "il-central-1", "mx-central-1", "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1"])(
    "%s is in the partition the AWS SDK names",
    (region) => {
      expect(partitionOf(region)).toBe(sdkPartition(region).name);
      expect(resolveConfig({ region }).partition).toBe(sdkPartition(region).name);
    },
  );

  test.each(["us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1"])("isolated region %s is refused, naming its partition", (region) => {
    const message = `"${region}" is in the isolated ${sdkPartition(region).name} partition; supported partitions are aws, aws-cn, aws-us-gov`;
    expect(problemsOf({ region })).toEqual([`region: ${message}`]);
    expect(() => partitionOf(region)).toThrow(`region ${message}`);
  });
});

describe("loading", () => {
  const dir = mkdtempSync(join(tmpdir(), "k3s-config-"));

  test("a file named by K3S_AWS_CONFIG overrides the defaults", () => {
    const file = join(dir, "staging.json");
    writeFileSync(file, JSON.stringify({ environment: "staging", agents: { maxSize: 4 } }));
    const config = loadConfig({ K3S_AWS_CONFIG: file });
    expect(config.environment).toBe("staging");
    expect(config.agents.maxSize).toBe(4);
    expect(config.agents.minSize).toBe(1);
  });

  test("a missing file and invalid JSON are named", () => {
    expect(() => loadConfig({ K3S_AWS_CONFIG: join(dir, "absent.json") })).toThrow(`K3S_AWS_CONFIG ${join(dir, "absent.json")}: cannot be read (ENOENT)`);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ region: ");
    expect(() => loadConfig({ K3S_AWS_CONFIG: broken })).toThrow(`K3S_AWS_CONFIG ${broken}: is not valid JSON`);
  });

  test("a file whose JSON is null is refused, not taken for the defaults", () => {
    const file = join(dir, "null.json");
    writeFileSync(file, "null");
    expect(() => loadConfig({ K3S_AWS_CONFIG: file })).toThrow("(top level): must be a JSON object, got null");
  });

  test("synth with a bad config exits non-zero with the message, no stack trace and no output", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ agents: { minSize: 3, maxSize: 1 } }));
    const outdir = join(dir, "out");
    const result = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "..", "main.ts")], {
      encoding: "utf8",
      env: { ...process.env, K3S_AWS_CONFIG: file, CDKTF_OUTDIR: outdir },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid configuration:\n  - agents.minSize: (3) is greater than agents.maxSize (1)");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(outdir)).toBe(false);
  });
});

describe("environment defaults (README, Configuration)", () => {
  test.each([
    // database.multiAz: true in prod, else false; only dev clusters are throwaway.
    ["dev", { protectData: false, multiAz: false }],
    ["staging", { protectData: true, multiAz: false }],
    ["prod", { protectData: true, multiAz: true }],
  ])("%s", (environment, expected) => {
    const config = resolveConfig({ environment });
    expect({ protectData: config.protectData, multiAz: config.database.multiAz }).toEqual(expected);
  });

  test("an explicit database.multiAz wins over the environment's, and the rest of the database settings are kept", () => {
    expect(resolveConfig({ environment: "prod", database: { multiAz: false } }).database.multiAz).toBe(false);
    expect(resolveConfig({ environment: "dev", database: { multiAz: true, allocatedStorageGb: 50 } }).database).toMatchObject({ multiAz: true, allocatedStorageGb: 50, maxAllocatedStorageGb: 100 });
  });
});

describe("limits at their edges", () => {
  // Each bound from the rule's own source: k3s/RDS/EC2 docs, the Kubernetes version skew policy, EventBridge.
  test.each<[string, unknown]>([
    ["two servers are enough for high availability with an external datastore", { servers: { count: 2 } }],
    ["six listed zones", { region: "us-east-1", network: { availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"] } }],
    ["min, desired and max all equal", { agents: { minSize: 3, maxSize: 3, desiredCapacity: 3 } }],
    ["desired at min", { agents: { minSize: 2, maxSize: 4, desiredCapacity: 2 } }],
    ["desired at max", { agents: { minSize: 2, maxSize: 4, desiredCapacity: 4 } }],
    ["on-demand base equal to max", { agents: { maxSize: 4, desiredCapacity: 2, onDemandBaseCapacity: 4 } }],
    ["a storage ceiling exactly 10% above the allocation (RDS)", { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 110 } }],
    ["a 1.25 kubelet three minors behind a 1.28 API server (skew policy: only kubelets before 1.25 are held to two)", { k3sVersion: "v1.28.15+k3s1", agents: { k3sVersion: "v1.25.16+k3s4" } }],
    ["a /28 subnet, the smallest AWS allows", { network: { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/28", "10.1.0.16/28"], privateSubnetCidrs: ["10.1.0.128/26", "10.1.0.192/26"] } }],
    ["a /16 VPC with listed subnets", { network: { vpcCidr: "10.1.0.0/16", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/24", "10.1.1.0/24"], privateSubnetCidrs: ["10.1.16.0/20", "10.1.32.0/20"] } }],
    ["the highest value of every cron field", { automation: { scheduleExpression: "cron(59 23 31 12 ? 2199)" } }],
    ["a rate of several digits", { automation: { scheduleExpression: "rate(10 minutes)" } }],
    ["a tag key holding aws: after its start", { tags: { "team:aws:owner": "ops" } }],
  ])("accepted: %s", (_name, input) => {
    expect(() => resolveConfig(input)).not.toThrow();
  });

  test.each<[string, unknown, string[]]>([
    ["no server at all", { environment: "dev", servers: { count: 0 } }, ["servers.count: at least one k3s server is required"]],
    ["desired below min", { agents: { minSize: 2, maxSize: 4, desiredCapacity: 1 } }, ["agents.desiredCapacity: (1) must lie between agents.minSize (2) and agents.maxSize (4)"]],
    ["on-demand base above max", { agents: { onDemandBaseCapacity: 11 } }, ["agents.onDemandBaseCapacity: (11) is greater than agents.maxSize (10)"]],
    ["an instance type listed twice", { agents: { instanceTypes: ["t4g.large", "m7g.large", "t4g.large"] } }, ['agents.instanceTypes: "t4g.large" is listed more than once']],
    [
      "a storage ceiling less than 10% above the allocation (RDS)",
      { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 109 } },
      ["database.maxAllocatedStorageGb: (109) must be at least 10% above database.allocatedStorageGb (100); RDS refuses a lower storage autoscaling ceiling"],
    ],
    ["a subnet smaller than /28", { network: { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/29", "10.1.0.16/28"], privateSubnetCidrs: ["10.1.0.128/26", "10.1.0.192/26"] } }, ["network.publicSubnetCidrs[0]: 10.1.0.0/29 is smaller than /28, the smallest subnet AWS allows"]],
    ["a malformed subnet", { network: { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0/24", "10.0.1.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } }, ['network.publicSubnetCidrs[0]: "10.0.0/24" is not an IPv4 CIDR block like 10.0.0.0/16']],
    ["a malformed admin network", { api: { publicAccess: true, adminCidrs: ["203.0.113.0/33"] } }, ['api.adminCidrs[0]: "203.0.113.0/33" has a prefix length above 32']],
    // Amazon VPC User Guide, "VPC CIDR blocks": "The allowed block size is between a /16 netmask and /28 netmask".
    ["a VPC larger than /16 with listed subnets", { network: { vpcCidr: "10.0.0.0/15", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/24", "10.0.1.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } }, ["network.vpcCidr: AWS allows VPC blocks from /16 to /28, got /15"]],
    ["a VPC smaller than /28 with listed subnets", { network: { vpcCidr: "10.0.0.0/29", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/30", "10.0.0.4/30"], privateSubnetCidrs: ["10.0.0.0/30", "10.0.0.4/30"] } }, ["network.vpcCidr: AWS allows VPC blocks from /16 to /28, got /29"]],
    ["a VPC larger than /16 with derived subnets", { network: { vpcCidr: "10.0.0.0/15" } }, ["network.vpcCidr: must be between /16 and /20 when subnets are derived (got /15); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC"]],
    [
      "a small VPC with only the public subnets listed: the private ones are derived",
      { network: { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/28", "10.1.0.16/28"] } },
      ["network.vpcCidr: must be between /16 and /20 when subnets are derived (got /24); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC"],
    ],
    [
      "a small VPC with only the private subnets listed: the public ones are derived",
      { network: { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], privateSubnetCidrs: ["10.1.0.128/26", "10.1.0.192/26"] } },
      ["network.vpcCidr: must be between /16 and /20 when subnets are derived (got /24); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC"],
    ],
    ["two unknown keys", { regoin: "eu-west-1", enviroment: "dev" }, ['(top level): unknown keys "regoin", "enviroment"']],
  ])("refused: %s", (_name, input, problems) => {
    expect(problemsOf(input)).toEqual(problems);
  });

  test("seven listed zones are refused", () => {
    const zones = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g"];
    expect(problemsOf({ region: "us-east-1", network: { availabilityZones: zones } })).toContain("network.availabilityZones: at most 6 availability zones are supported, got 7");
  });

  test("Graviton families with a prefix of several letters are arm64 (Hpc7g, Im4gn, Is4gen)", () => {
    expect(["hpc7g.4xlarge", "im4gn.large", "is4gen.medium", "x2gd.large"].map(architectureOf)).toEqual(["arm64", "arm64", "arm64", "arm64"]);
  });

  test("the problems of an invalid config are listed one per line after a heading", () => {
    let error: unknown;
    try {
      resolveConfig({ servers: { count: 1 }, agents: { minSize: 5, maxSize: 2 } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toBe(
      "ConfigError: Invalid configuration:\n" +
        "  - servers.count: highAvailability needs at least 2 servers, got 1; set servers.count to 3 or highAvailability to false\n" +
        "  - agents.minSize: (5) is greater than agents.maxSize (2)",
    );
  });
});

describe("a rule that reads a field the schema refused stays silent: the field's own problem is the one listed", () => {
  const zones = ["eu-west-1a", "eu-west-1b"];
  test.each<[string, unknown, string[]]>([
    ["environment, read for the server count", { environment: "production", servers: { count: 1 } }, ['environment: Invalid option: expected one of "dev"|"staging"|"prod"']],
    ["highAvailability, read for the server count", { highAvailability: "yes", servers: { count: 1 } }, ["highAvailability: Invalid input: expected boolean, received string"]],
    ["agents as a whole, read by the agents' version rule", { k3sVersion: "v1.34.1+k3s1", agents: "latest" }, ["agents: Invalid input: expected object, received string"]],
    ["agents.maxSize, read against minSize", { agents: { minSize: 11, maxSize: "ten" } }, ["agents.maxSize: Invalid input: expected number, received string"]],
    ["agents.maxSize, read against the on-demand base", { agents: { onDemandBaseCapacity: 11, maxSize: "ten" } }, ["agents.maxSize: Invalid input: expected number, received string"]],
    ["agents.minSize, read against desired capacity", { agents: { minSize: -1, desiredCapacity: 0 } }, ["agents.minSize: must not be negative"]],
    ["k3sVersion, read against a newer agents' release", { k3sVersion: "latest", agents: { k3sVersion: "v1.34.0+k3s1" } }, ['k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"']],
    ["k3sVersion, read against a much older agents' release", { k3sVersion: "latest", agents: { k3sVersion: "v1.29.0+k3s1" } }, ['k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"']],
    ["database.allocatedStorageGb, read for the storage ceiling", { database: { allocatedStorageGb: 10, maxAllocatedStorageGb: 21 } }, ["database.allocatedStorageGb: must be at least 20 (GiB, the gp3 minimum)"]],
    ["servers.instanceType, read for the agents' architecture", { servers: { instanceType: "large" }, agents: { instanceTypes: ["m7i.large"] } }, ['servers.instanceType: must be an EC2 instance type such as "t4g.medium"']],
    ["agents.instanceTypes, whose default stands in against the servers' architecture", { servers: { instanceType: "m7i.large" }, agents: { instanceTypes: ["m7i.large", 5] } }, ["agents.instanceTypes.1: Invalid input: expected string, received number"]],
    [
      "network.vpcCidr, read for the subnets' range",
      { network: { vpcCidr: 16, availabilityZones: zones, publicSubnetCidrs: ["172.16.0.0/24", "172.16.1.0/24"], privateSubnetCidrs: ["172.16.16.0/20", "172.16.32.0/20"] } },
      ["network.vpcCidr: Invalid input: expected string, received number"],
    ],
    [
      "network.publicSubnetCidrs, whose derived stand-in overlaps the listed private subnets",
      { network: { availabilityZones: zones, publicSubnetCidrs: ["10.0.0.0/24", 5], privateSubnetCidrs: ["10.0.224.0/20", "10.0.32.0/20"] } },
      ["network.publicSubnetCidrs.1: Invalid input: expected string, received number"],
    ],
    [
      "network.privateSubnetCidrs, whose absence would make a small VPC's subnets derived",
      { network: { vpcCidr: "10.1.0.0/24", availabilityZones: zones, publicSubnetCidrs: ["10.1.0.0/28", "10.1.0.16/28"], privateSubnetCidrs: ["10.1.0.128/26", 7] } },
      ["network.privateSubnetCidrs.1: Invalid input: expected string, received number"],
    ],
    [
      "network.availabilityZones, read for the number of subnets",
      { network: { availabilityZones: ["eu-west-1a", 5], publicSubnetCidrs: ["10.0.0.0/24", "10.0.1.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } },
      ["network.availabilityZones.1: Invalid input: expected string, received number"],
    ],
    [
      "network.availabilityZoneCount, read for the number of subnets",
      { network: { availabilityZoneCount: 7, publicSubnetCidrs: ["10.0.0.0/24", "10.0.1.0/24"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] } },
      ["network.availabilityZoneCount: must be between 2 and 6 (an RDS subnet group spans two or more zones)"],
    ],
  ])("%s", (_name, input, problems) => {
    expect(problemsOf(input)).toEqual(problems);
  });

  test("a refused list entry drops only that list: cross-field rules on the other fields still run", () => {
    expect(problemsOf({ network: { availabilityZones: zones, publicSubnetCidrs: ["10.0.0.0/24", 5], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] }, agents: { minSize: 5, maxSize: 2 } })).toEqual([
      "network.publicSubnetCidrs.1: Invalid input: expected string, received number",
      "agents.minSize: (5) is greater than agents.maxSize (2)",
    ]);
  });
});

describe("schedule expressions are read whole", () => {
  test.each([
    ["xrate(5 minutes)", 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"'],
    ["rate(5 minutes) ", 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"'],
    ["xcron(0 12 * * ? *)", 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"'],
    ["cron(0 12 * * ? *)x", 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"'],
    ["rate(every 5 minutes)", 'a rate expression is "rate(<value> <unit>)", such as "rate(5 minutes)"'],
    ["rate(5 minutes please)", 'a rate expression is "rate(<value> <unit>)", such as "rate(5 minutes)"'],
    ["rate(5x minutes)", "the rate value must be a positive whole number, got 5x"],
  ])("%s is refused", (scheduleExpression, message) => {
    expect(problemsOf({ automation: { scheduleExpression } })).toEqual([`automation.scheduleExpression: ${message}`]);
  });
});

test("a Slack webhook needs a notification address too: the alarms that Slack stopped listening go out through the same topic", () => {
  expect(problemsOf({ automation: { slackWebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf" } })).toEqual([
    "automation.notificationEmail: is required with automation.slackWebhookSecretArn: the alarms that Slack stopped taking messages go out through the same topic, and need a way out that is not Slack",
  ]);
});

describe("Slack webhook secret (automation.slackWebhookSecretArn)", () => {
  const SHAPE =
    'automation.slackWebhookSecretArn: must be the full ARN of a Secrets Manager secret ("arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>", as describe-secret prints it)';

  test("is optional, and a full secret ARN in the cluster's region is kept as written", () => {
    expect(resolveConfig({}).automation.slackWebhookSecretArn).toBeUndefined();
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-webhook-AbCdEf";
    expect(resolveConfig({ automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: arn } }).automation.slackWebhookSecretArn).toBe(arn);
    const govArn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:slack-Ab12Cd";
    expect(resolveConfig({ region: "us-gov-west-1", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: govArn } }).automation.slackWebhookSecretArn).toBe(govArn);
  });

  test.each([
    ["the webhook URL itself", "https://hooks.slack.com/services/T000/B000/XXXX"],
    ["a partial ARN without the random suffix", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-webhook"],
    ["another service's ARN", "arn:aws:ssm:eu-west-1:123456789012:parameter/slack-AbCdEf"],
    ["a short account", "arn:aws:secretsmanager:eu-west-1:1234:secret:slack-AbCdEf"],
    ["an unknown partition", "arn:aws-iso:secretsmanager:us-iso-east-1:123456789012:secret:slack-AbCdEf"],
  ])("%s is refused, naming the shape", (_name, slackWebhookSecretArn) => {
    expect(problemsOf({ automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn } })).toEqual([SHAPE]);
  });

  test("a secret in another region is refused: the forwarder reads its own region's Secrets Manager", () => {
    expect(problemsOf({ region: "eu-west-1", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf" } })).toEqual([
      'automation.slackWebhookSecretArn: is in region "us-east-1" but the cluster is in "eu-west-1"; the forwarder reads its own region\'s Secrets Manager: create (or replicate) the secret in "eu-west-1"',
    ]);
  });

  test("a secret in another partition is refused, the partitions named", () => {
    expect(problemsOf({ region: "cn-north-1", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws:secretsmanager:cn-north-1:123456789012:secret:slack-AbCdEf" } })).toEqual([
      "automation.slackWebhookSecretArn: is in partition aws but region \"cn-north-1\" is in aws-cn; use a secret in the cluster's region",
    ]);
  });

  test("with a region the schema refused, only the region's problem is listed", () => {
    expect(problemsOf({ region: "europe", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf" } })).toEqual([
      'region: must be an AWS region such as "eu-west-1"',
    ]);
  });
});

describe("automation.pollSeconds follows the schedule: an invocation polls for the minute until the next one", () => {
  test("unset, it is 10 s (cluster-autoscaler's --scan-interval) on rate(1 minute) and 0 (one pass) on any longer schedule", () => {
    expect(resolveConfig({}).automation.pollSeconds).toBe(10);
    for (const scheduleExpression of ["rate(2 minutes)", "rate(1 hour)", "cron(0/5 * * * ? *)"]) expect(resolveConfig({ automation: { scheduleExpression } }).automation.pollSeconds).toBe(0);
  });

  test("set, it is kept on rate(1 minute); on a longer schedule only 0 is, since the minutes after the first would go unwatched", () => {
    expect(resolveConfig({ automation: { pollSeconds: 25 } }).automation.pollSeconds).toBe(25);
    expect(resolveConfig({ automation: { pollSeconds: 0 } }).automation.pollSeconds).toBe(0);
    expect(resolveConfig({ automation: { scheduleExpression: "rate(5 minutes)", pollSeconds: 0 } }).automation.pollSeconds).toBe(0);
    expect(problemsOf({ automation: { scheduleExpression: "rate(5 minutes)", pollSeconds: 10 } })).toEqual([
      'automation.pollSeconds: polls through the minute until the next run, so it needs automation.scheduleExpression "rate(1 minute)" (got "rate(5 minutes)"); set it to 0 for one pass per run',
    ]);
    // A schedule the schema refuses is reported alone, not again through the polling rule.
    expect(problemsOf({ automation: { scheduleExpression: "every minute", pollSeconds: 10 } })).toEqual([
      'automation.scheduleExpression: must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"',
    ]);
  });
});
