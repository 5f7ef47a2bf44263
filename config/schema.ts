import { z } from "zod";

/**
 * The shape of a user's config file. Every field is optional: what is left out takes the documented default,
 * and defaults that depend on other fields (zones, subnets, server count, NAT mode) are derived in resolve.ts.
 */

const cidrBlock = z.string().describe("IPv4 CIDR block");
const percentage = z.number().int().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100");
const count = z.number().int().min(0, "must not be negative");
const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as "t4g.medium"');

export const K3S_VERSION_PATTERN = /^v1\.\d+\.\d+\+k3s\d+$/;

const NetworkSchema = z.strictObject({
  /** VPC address range; /16 to /20 when subnets are derived, /16 to /28 when they are listed. */
  vpcCidr: cidrBlock.default("10.0.0.0/16"),
  /** Zones to spread subnets and nodes over. Default: zones a, b and c of the region. */
  availabilityZones: z.array(z.string()).optional(),
  /** One per zone, in zone order. Default: /24-sized blocks carved from the top of the VPC range. */
  publicSubnetCidrs: z.array(cidrBlock).optional(),
  /** One per zone, in zone order. Default: /19-sized blocks (for a /16 VPC) from the bottom of the VPC range. */
  privateSubnetCidrs: z.array(cidrBlock).optional(),
  /** "per-az" keeps egress up when a zone fails; "single" saves cost. Default: per-az when highly available. */
  natMode: z.enum(["per-az", "single"]).optional(),
  /** Retention of VPC flow logs in CloudWatch Logs. */
  flowLogRetentionDays: z
    .number()
    .int()
    .refine((days) => LOG_RETENTION_DAYS.includes(days), {
      message: "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)",
    })
    .default(90),
});

/** Values CloudWatch Logs accepts for retention_in_days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const ServersSchema = z.strictObject({
  /** k3s servers; 1 for dev, 3 when highly available. */
  count: count.optional(),
  instanceType: instanceType.default("t4g.medium"),
});

const AgentsSchema = z.strictObject({
  /** Instance types the agents may use, all of one architecture; more types give spot more pools. */
  instanceTypes: z.array(instanceType).min(1, "needs at least one instance type").default(["t4g.large", "m7g.large", "m6g.large"]),
  minSize: count.default(1),
  maxSize: count.default(10),
  desiredCapacity: count.default(2),
  /** On-demand agents kept before any spot is used. */
  onDemandBaseCapacity: count.default(1),
  /** Share of on-demand above the base; the rest is spot. */
  onDemandPercentageAboveBaseCapacity: percentage.default(30),
  /** "pods": the autoscaler Lambda sizes the group from unschedulable pods; "cpu": ASG target tracking at 80 % CPU. */
  scalingMode: z
    .enum(["pods", "cpu"], {
      error:
        'must be "pods" or "cpu", one mode per group: a CPU target-tracking policy and the pod-driven autoscaler would fight over desired capacity (cluster-autoscaler FAQ)',
    })
    .default("pods"),
});

const ApiSchema = z.strictObject({
  /** Adds an internet-facing listener for the Kubernetes API, reachable only from adminCidrs. */
  publicAccess: z.boolean().default(false),
  /** Networks allowed to reach the public API listener. */
  adminCidrs: z.array(cidrBlock).default([]),
  /** A DNS domain you point at the API yourself; "k3s.<domain>" becomes a name in the API's certificate. */
  domain: z
    .string()
    .regex(/^(?=.{1,250}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lower-case DNS domain such as "example.com"')
    .optional(),
});

const DatabaseSchema = z.strictObject({
  /** k3s sizes its datastore at 1 vCPU / 2 GB for up to 10 nodes, 2 vCPU / 8 GB for up to 100. */
  instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'must be an RDS instance class such as "db.t4g.small"').default("db.t4g.small"),
  allocatedStorageGb: z.number().int().min(20, "must be at least 20 (GiB, the gp3 minimum)").max(65536).default(20),
  /** Ceiling for storage autoscaling. */
  maxAllocatedStorageGb: z.number().int().min(20).max(65536).default(100),
  backupRetentionDays: z.number().int().min(1, "must be between 1 and 35 (automated backups stay on)").max(35, "must be between 1 and 35 (automated backups stay on)").default(7),
  /** A standby in a second zone. Default: true when environment is "prod". */
  multiAz: z.boolean().optional(),
  performanceInsights: z.boolean().default(false),
});

const AutomationSchema = z.strictObject({
  /** EventBridge schedule of the autoscaler (scaling mode "pods"). */
  scheduleExpression: z.string().regex(/^(rate\(\d+ (minute|minutes|hour|hours)\)|cron\(.+\))$/, 'must be an EventBridge schedule such as "rate(1 minute)"').default("rate(1 minute)"),
  /** Most agents added in one run. */
  maxScaleUpStep: z.number().int().min(1, "must be at least 1").max(50).default(3),
  /** Requested share of allocatable (CPU or memory) below which an agent counts as underutilized. */
  scaleDownUtilizationPercent: z.number().int().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100").default(50),
  /** How long an agent must stay underutilized before it is removed. */
  scaleDownWindowMinutes: z.number().int().min(1).max(1440).default(10),
  /** Quiet time after any scale action before a scale-down. */
  cooldownMinutes: z.number().int().min(0).max(1440).default(10),
  /** Address subscribed to the automation topic: every scale action and failure, and the alarms. */
  notificationEmail: z.email("must be an e-mail address").optional(),
  logRetentionDays: z
    .number()
    .int()
    .refine((days) => LOG_RETENTION_DAYS.includes(days), { message: "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, ...)" })
    .default(30),
});

const TAG_KEY = /^(?!aws:)[\p{L}\p{N}\s_.:/=+\-@]{1,128}$/u;

export const ConfigSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/, 'must be an AWS region such as "eu-west-1"')
    .default("eu-west-1"),
  /** Prefix of every name; lower case, it ends up in IAM, load balancer and database names. */
  clusterName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,18}[a-z0-9]$/, "must be 2-20 characters of a-z, 0-9 and '-', starting with a letter")
    .default("k3s"),
  /** "dev" relaxes deletion protection and defaults to one server and one NAT gateway. */
  environment: z.enum(["dev", "staging", "prod"]).default("prod"),
  /** Several servers over several zones. Default: true unless environment is "dev". */
  highAvailability: z.boolean().optional(),
  /** Pinned k3s release; changing it rolls the servers and agents. */
  k3sVersion: z.string().regex(K3S_VERSION_PATTERN, 'must be a k3s release tag such as "v1.33.5+k3s1"').default("v1.33.5+k3s1"),
  network: NetworkSchema.prefault({}),
  servers: ServersSchema.prefault({}),
  agents: AgentsSchema.prefault({}),
  api: ApiSchema.prefault({}),
  database: DatabaseSchema.prefault({}),
  automation: AutomationSchema.prefault({}),
  /** OpenSSH public key of an EC2 key pair for the nodes; no security group admits SSH, Session Manager is the way in. */
  sshPublicKey: z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line").optional(),
  /** Applied to every resource through the provider's default_tags. */
  tags: z
    .record(z.string().regex(TAG_KEY, "tag keys are 1-128 characters and must not start with aws:"), z.string().max(256))
    .default({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;
