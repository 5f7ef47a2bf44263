import { Token } from "cdktf/lib/tokens/token";
import { z } from "zod";

/**
 * The shape of a user's config file. Every field is optional: what is left out takes the documented default,
 * and defaults that depend on other fields (zones, subnets, server count, NAT mode, agent version) are derived in
 * resolve.ts.
 */

const cidrBlock = z.string();
const percentage = z.number().int().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100");
const count = z.number().int().min(0, "must not be negative");
const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as "t4g.medium"');

/** A k3s release tag; the groups are the Kubernetes minor and patch versions and the k3s revision. */
export const K3S_VERSION_PATTERN = /^v1\.(\d+)\.(\d+)\+k3s(\d+)$/;
const k3sVersion = z.string().regex(K3S_VERSION_PATTERN, 'must be a k3s release tag such as "v1.33.5+k3s1"');

/** Most zones a cluster spreads over; the derived layout carves at most six private blocks from the VPC range. */
export const MAX_ZONES = 6;

const NetworkSchema = z.strictObject({
  /** VPC address range; /16 to /20 when subnets are derived, /16 to /28 when they are listed. */
  vpcCidr: cidrBlock.default("10.0.0.0/16"),
  /** Zones to spread subnets and nodes over. Default: availabilityZoneCount zones, read at plan time. */
  availabilityZones: z.array(z.string()).optional(),
  /**
   * How many zones to use when availabilityZones is not listed; zone letters differ between accounts, so the zones
   * themselves come from the aws_availability_zones data source. Default: 3.
   */
  availabilityZoneCount: z
    .number()
    .int()
    .min(2, `must be between 2 and ${MAX_ZONES} (an RDS subnet group spans two or more zones)`)
    .max(MAX_ZONES, `must be between 2 and ${MAX_ZONES} (an RDS subnet group spans two or more zones)`)
    .optional(),
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
  /**
   * Lets ordinary pods run on the servers, meant for a one-node dev cluster. When false the servers carry the
   * CriticalAddonsOnly=true:NoExecute taint, so only critical add-ons run beside the control plane.
   */
  allowWorkloads: z.boolean().default(false),
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
  /**
   * "pods": the autoscaler Lambda sizes the group from unschedulable pods; "cpu": ASG target tracking at 80 % CPU;
   * "cluster-autoscaler": upstream cluster-autoscaler, deployed by the servers, sizes it from unschedulable pods.
   */
  scalingMode: z
    .enum(["pods", "cpu", "cluster-autoscaler"], {
      error:
        'must be "pods", "cpu" or "cluster-autoscaler", one mode per group: any two of a CPU target-tracking policy, the pod-driven autoscaler and cluster-autoscaler would fight over desired capacity (cluster-autoscaler FAQ)',
    })
    .default("pods"),
  /**
   * k3s release of the agents, so an upgrade can move the servers first. At most three minor versions older than
   * k3sVersion and never newer (Kubernetes version skew policy). Default: k3sVersion.
   */
  k3sVersion: k3sVersion.optional(),
});

/** A lower-case DNS name of at least two labels, as Route 53 and ACM take it (no trailing dot, no wildcard). */
// At most 249 characters, so that "k3s.<name>" stays within a DNS name's 253 (RFC 1035, 2.3.4).
export const DNS_NAME_PATTERN = /^(?=.{1,249}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const dnsName = z.string().regex(DNS_NAME_PATTERN, 'must be a lower-case DNS name such as "apps.example.com"');

/**
 * A Route 53 hosted zone ID ("Z" and upper-case letters and digits, at most 32 characters: Route 53 API reference,
 * HostedZone.Id). Anything else in edge.hostedZone is read as the zone's domain name.
 */
export const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,31}$/;

/** edge.hostedZone as the construct needs it: an ID is used as given, a domain name is looked up at plan time. */
export function hostedZoneReference(hostedZone: string): { readonly id: string } | { readonly name: string } {
  return HOSTED_ZONE_ID_PATTERN.test(hostedZone) ? { id: hostedZone } : { name: hostedZone };
}

const CloudFrontSchema = z.strictObject({
  /**
   * An internet-facing Application Load Balancer that only CloudFront (and api.adminCidrs) can reach, with a secret
   * origin header, and a CloudFront distribution in front of it for edge.fqdn.
   */
  enabled: z.boolean().default(false),
  /** ARN of a WAF web ACL (scope CLOUDFRONT, so in us-east-1) for the distribution. */
  webAclArn: z
    .string()
    .regex(/^arn:aws:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]{1,128}\/[0-9a-f-]{36}$/, 'must be the ARN of a WAFv2 web ACL with scope CLOUDFRONT ("arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>")')
    .optional(),
  /**
   * Domain name of a distribution you manage ("d111111abcdef8.cloudfront.net"); then none is created, and edge.fqdn
   * points at this one. Give it the origin load balancer and the origin header from the outputs.
   */
  existingDistributionDomainName: z.string().regex(/^[a-z0-9]+\.cloudfront\.net$/, 'must be a CloudFront domain name such as "d111111abcdef8.cloudfront.net"').optional(),
});

const EdgeSchema = z.strictObject({
  /** Public Route 53 hosted zone the names go in: its ID ("Z0123456789ABCDEFGHIJ") or its domain name (looked up). */
  hostedZone: z.string().regex(new RegExp(`${HOSTED_ZONE_ID_PATTERN.source}|${DNS_NAME_PATTERN.source}`), 'must be a Route 53 hosted zone ID such as "Z0123456789ABCDEFGHIJ" or a domain such as "example.com"').optional(),
  /** Name of the applications (ingress); the Kubernetes API becomes k3s.<fqdn>. Inside edge.hostedZone. */
  fqdn: dnsName.optional(),
  /**
   * Where application TLS ends: "load-balancer" (the ingress NLB's 443 listener is TLS with the ACM certificate and
   * forwards plain HTTP to Traefik) or "passthrough" (TCP 443 to Traefik, which holds the certificates).
   */
  applicationTls: z.enum(["load-balancer", "passthrough"]).default("load-balancer"),
  cloudFront: CloudFrontSchema.prefault({}),
});

const ApiSchema = z.strictObject({
  /** Adds an internet-facing listener for the Kubernetes API, reachable only from adminCidrs. */
  publicAccess: z.boolean().default(false),
  /** Networks allowed to reach the public API listener; each once, as each becomes a security group rule. */
  adminCidrs: z.array(cidrBlock).default([]),
  /**
   * A DNS domain you point at the API yourself; "k3s.<domain>" becomes a name in the API's certificate. With
   * edge.fqdn set, the API's name is k3s.<edge.fqdn> and its record is created: leave this out.
   */
  domain: z.string().regex(DNS_NAME_PATTERN, 'must be a lower-case DNS domain such as "example.com"').optional(),
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
  /** Retention of the PostgreSQL and upgrade logs in CloudWatch Logs. */
  logRetentionDays: z
    .number()
    .int()
    .refine((days) => LOG_RETENTION_DAYS.includes(days), { message: "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, ...)" })
    .default(30),
});

/** Why EventBridge would refuse a schedule expression ("Schedule expressions for rules"), or undefined. */
function scheduleProblem(expression: string): string | undefined {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return rateProblem(rate[1]);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return cronProblem(cron[1]);
  return 'must be an EventBridge schedule such as "rate(5 minutes)" or "cron(0 12 * * ? *)"';
}

function rateProblem(body: string): string | undefined {
  const match = /^(\S+) (\S+)$/.exec(body);
  if (!match) return 'a rate expression is "rate(<value> <unit>)", such as "rate(5 minutes)"';
  const [, value, unit] = match;
  if (!/^\d+$/.test(value) || Number(value) === 0) return `the rate value must be a positive whole number, got ${value}`;
  const singular = unit.replace(/s$/, "");
  if (!["minute", "hour", "day"].includes(singular)) return `the rate unit must be minute(s), hour(s) or day(s), got "${unit}"`;
  if (Number(value) === 1 && unit !== singular) return `the rate unit must be "${singular}" when the value is 1`;
  if (Number(value) > 1 && unit === singular) return `the rate unit must be "${singular}s" when the value is greater than 1`;
  return undefined;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** EventBridge's six cron fields with their values and wildcards, in order. */
const CRON_FIELDS: { name: string; min: number; max: number; wildcards: string; names?: string[] }[] = [
  { name: "minutes", min: 0, max: 59, wildcards: ",-*/" },
  { name: "hours", min: 0, max: 23, wildcards: ",-*/" },
  { name: "day-of-month", min: 1, max: 31, wildcards: ",-*?/LW" },
  { name: "month", min: 1, max: 12, wildcards: ",-*/", names: MONTHS },
  { name: "day-of-week", min: 1, max: 7, wildcards: ",-*?L#", names: WEEKDAYS },
  { name: "year", min: 1970, max: 2199, wildcards: ",-*/" },
];

function cronProblem(body: string): string | undefined {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) {
    return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
  }
  for (const [index, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[index], field);
    if (problem) return problem;
  }
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) return 'exactly one of the day-of-month and day-of-week fields must be "?"';
  return undefined;
}

function cronFieldProblem(text: string, field: (typeof CRON_FIELDS)[number]): string | undefined {
  // Month and weekday names stand for their numbers (JAN = 1, SUN = 1).
  const numeric = (field.names ?? []).reduce((acc, name, index) => acc.replaceAll(name, String(index + 1)), text.toUpperCase());
  const allowed = new RegExp(`^[0-9${field.wildcards.replace(/[-/\\^\]]/g, "\\$&")}]+$`);
  if (!allowed.test(numeric) || (numeric.includes("?") && numeric !== "?")) {
    return `the cron ${field.name} field "${text}" may hold only ${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ""} and the wildcards ${field.wildcards.split("").join(" ")}`;
  }
  // Increments (after "/") and weekday instances (after "#") are counts, not values of the field.
  const values = numeric.split(",").flatMap((item) => item.split(/[/#]/)[0].match(/\d+/g) ?? []).map(Number);
  if (values.some((value) => value < field.min || value > field.max)) {
    return `the cron ${field.name} field "${text}" has a value outside ${field.min}-${field.max}`;
  }
  return undefined;
}

/**
 * A Secrets Manager secret's full ARN: the name (1-512 of letters, digits and /_+=.@-) and the "-" plus six random
 * characters Secrets Manager appends (Secrets Manager User Guide, "Secret names and ARNs"; CreateSecret's Name).
 */
export const SECRET_ARN_PATTERN = /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z]{2}(-gov)?-[a-z]+-\d+):(\d{12}):secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}$/;

/** The default schedule, and the one schedule an invocation's polling fills (its passes cover the minute to the next). */
export const EVERY_MINUTE = "rate(1 minute)";

const AutomationSchema = z.strictObject({
  /** EventBridge schedule of the autoscaler (scaling mode "pods"). */
  scheduleExpression: z
    .string()
    .superRefine((expression, context) => {
      const problem = scheduleProblem(expression);
      if (problem) context.addIssue({ code: "custom", message: problem });
    })
    .default(EVERY_MINUTE),
  /** Most agents added in one pass (several a minute with pollSeconds). */
  maxScaleUpStep: z.number().int().min(1, "must be at least 1").max(50).default(3),
  /**
   * Seconds between the passes one invocation runs over its minute (lambdas/autoscaler/poll.ts), like
   * cluster-autoscaler's --scan-interval (10 seconds by default). 0 runs one pass per invocation; under 5, every pod
   * would be listed more than twelve times a minute for little gain against a node's minutes of boot. Resolved from
   * the schedule when unset (resolve.ts).
   */
  pollSeconds: z
    .number()
    .int()
    .refine((seconds) => seconds === 0 || (seconds >= 5 && seconds <= 30), "must be 0 (one pass per run) or between 5 and 30")
    .optional(),
  /**
   * Room the autoscaler keeps free on a Ready agent for one more pod of this size, so such a pod starts at once rather
   * than after an agent's boot (node overprovisioning; lambdas/autoscaler/headroom.ts). Both 0: none. Default: 500m
   * CPU and 1024 MiB unless environment is "dev", whose clusters are throwaway (config/resolve.ts).
   */
  headroom: z
    .strictObject({
      cpuMillis: z.number({ error: 'must be a number of millicores (500 for "500m")' }).int('must be a whole number of millicores (500 for "500m")').min(0, "must be 0 or more"),
      memoryMiB: z.number({ error: 'must be a number of MiB (1024 for "1Gi")' }).int('must be a whole number of MiB (1024 for "1Gi")').min(0, "must be 0 or more"),
    })
    .optional(),
  /** Requested share of allocatable (CPU or memory) below which an agent counts as underutilized. */
  scaleDownUtilizationPercent: z.number().int().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100").default(50),
  /** How long an agent must stay underutilized before it is removed. */
  scaleDownWindowMinutes: z.number().int().min(1).max(1440).default(10),
  /** Quiet time after a scale-up before any scale-down (cluster-autoscaler's --scale-down-delay-after-add). */
  cooldownMinutes: z.number().int().min(0).max(1440).default(10),
  /**
   * How long an agent may stay NotReady before the autoscaler replaces it; cluster-autoscaler's
   * --scale-down-unready-time defaults to 20 minutes too. A new agent takes minutes to become Ready.
   */
  notReadyReplaceMinutes: z.number().int().min(5, "must be at least 5 (a new agent takes minutes to become Ready)").max(1440).default(20),
  /**
   * Pending pods with a priority below this are expendable: no agent is added for them, and a scale-down deletes rather
   * than moves them (cluster-autoscaler's --expendable-pods-priority-cutoff, also -10 by default).
   */
  expendablePodsPriorityCutoff: z.number().int().default(-10),
  /** Address subscribed to the automation topic: every scale action and failure, and the alarms. */
  notificationEmail: z.email("must be an e-mail address").optional(),
  /**
   * Full ARN of a Secrets Manager secret whose value is a Slack incoming-webhook URL; the automation topic is then
   * forwarded to Slack. The whole ARN, with the 6-character suffix Secrets Manager appends to the name, so the
   * forwarder's role names this one secret; in the cluster's region (config/resolve.ts).
   */
  slackWebhookSecretArn: z
    .string()
    .regex(
      SECRET_ARN_PATTERN,
      'must be the full ARN of a Secrets Manager secret ("arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>", as describe-secret prints it)',
    )
    .optional(),
  logRetentionDays: z
    .number()
    .int()
    .refine((days) => LOG_RETENTION_DAYS.includes(days), { message: "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, ...)" })
    .default(30),
});

const BackupsSchema = z.strictObject({
  /**
   * A daily AWS Backup plan for the datastore and the file system, in its own KMS-encrypted vault.
   * Default: true unless environment is "dev", whose clusters are throwaway.
   */
  enabled: z.boolean().optional(),
  /**
   * Days each daily recovery point is kept, in the vault and in the copy. At least 7: below that the datastore's own
   * automated backups (database.backupRetentionDays, 7 by default) already reach further back. At most 3650, a guard
   * against a typo: keeping backups for longer is a compliance matter for a locked vault, not this setting.
   */
  retentionDays: z
    .number()
    .int()
    .min(7, "must be between 7 and 3650 (days of daily recovery points)")
    .max(3650, "must be between 7 and 3650 (days of daily recovery points)")
    .default(35),
  /** A second region each recovery point is copied to, into a vault of its own there; in the cluster's partition. */
  copyRegion: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d+$/, 'must be an AWS region such as "eu-central-1"')
    .optional(),
});

const MonitoringSchema = z.strictObject({
  /** CloudWatch alarms on the load balancers, datastore, file system and agents, notifying the automation topic. */
  alarms: z.boolean().default(true),
  /** One CloudWatch dashboard for the cluster. */
  dashboard: z.boolean().default(true),
  /** Datastore CPU (average over 15 minutes) that raises an alarm. */
  databaseCpuPercent: z.number().int().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100").default(80),
  /** Free datastore storage, as a share of database.allocatedStorageGb, below which an alarm is raised. */
  databaseFreeStoragePercent: z.number().int().min(1, "must be between 1 and 50").max(50, "must be between 1 and 50").default(10),
  /**
   * Connections, as a share of max_connections, that raise an alarm. max_connections is derived from the instance
   * class's nominal memory, which overstates what RDS counts (see README, Alarms), hence a default well below 100.
   */
  databaseConnectionsPercent: z.number().int().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100").default(60),
  /**
   * The datastore's max_connections, when the parameter group sets it or config/rds-max-connections.ts does not know
   * the instance class's memory. Default: derived from database.instanceClass as RDS's default parameter group does.
   */
  databaseMaxConnections: z.number().int().min(1, "must be at least 1").max(262143, "must be at most 262143 (PostgreSQL's limit)").optional(),
  /** How long the agents may stay at agents.maxSize before an alarm is raised. */
  agentsAtMaxMinutes: z.number().int().min(5, "must be between 5 and 1440").max(1440, "must be between 5 and 1440").default(30),
});

const NodeImageSchema = z.strictObject({
  /**
   * Amazon Linux 2023 release of the node AMI, "al2023-ami-<release>-kernel-6.1-<arch>"; pinned so nodes change
   * only when this does.
   */
  release: z
    .string()
    .regex(
      /^2023\.\d+\.20\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\.\d+$/,
      'must be an Amazon Linux 2023 release such as "2023.9.20251105.0" (2023.<minor>.<YYYYMMDD>.<n>)',
    )
    .default("2023.9.20251105.0"),
});

/** Pod Security Standards levels, least to most restrictive (Kubernetes docs, "Pod Security Standards"). */
const podSecurityLevel = z.enum(["privileged", "baseline", "restricted"], { error: 'must be "privileged", "baseline" or "restricted" (a Pod Security Standards level)' });

/** A namespace name: an RFC 1123 label (Kubernetes docs, "Namespaces" and "Object Names and IDs"). */
const namespaceName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a namespace name: at most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit");

const PodSecuritySchema = z.strictObject({
  /** Pods violating this level are refused in every namespace without its own pod-security.kubernetes.io/enforce label. */
  enforce: podSecurityLevel.default("baseline"),
  /** Violations of this level are recorded in the API server's audit log. */
  audit: podSecurityLevel.default("restricted"),
  /** Violations of this level are returned to kubectl and other clients as warnings. */
  warn: podSecurityLevel.default("restricted"),
  /**
   * Namespaces no level applies to. kube-system must stay: the cloud controller, the CSI drivers, cluster-autoscaler
   * and k3s's packaged components run there with host networking or privileged containers, which baseline refuses.
   */
  exemptNamespaces: z
    .array(namespaceName)
    .refine((namespaces) => namespaces.includes("kube-system"), {
      message: "must include kube-system, where the cloud controller, the CSI drivers and k3s's own components run with host access that baseline refuses",
    })
    .refine((namespaces) => new Set(namespaces).size === namespaces.length, { message: "must not list a namespace twice" })
    .default(["kube-system"]),
});

const AuditLogSchema = z.strictObject({
  /** kube-apiserver writes an audit log on each server (metadata only, see README "Cluster policy"). */
  enabled: z.boolean().default(true),
  /** Days a rotated audit log file is kept; 30 in the k3s CIS Hardening Guide. */
  maxAgeDays: z.number().int().min(1, "must be between 1 and 365").max(365, "must be between 1 and 365").default(30),
  /** Rotated audit log files kept; 10 in the k3s CIS Hardening Guide. */
  maxBackups: z.number().int().min(1, "must be between 1 and 100").max(100, "must be between 1 and 100").default(10),
  /** Size in MB at which the audit log rotates; 100 in the k3s CIS Hardening Guide. At most (maxBackups + 1) x this stays on a server's disk. */
  maxSizeMb: z.number().int().min(1, "must be between 1 and 1024").max(1024, "must be between 1 and 1024").default(100),
});

const ClusterPolicySchema = z.strictObject({
  /** Pod Security Admission defaults for namespaces without their own pod-security.kubernetes.io labels. */
  podSecurity: PodSecuritySchema.prefault({}),
  /** kube-apiserver's audit log and its rotation on each server's disk. */
  auditLog: AuditLogSchema.prefault({}),
});

const StorageSchema = z.strictObject({
  /**
   * The AWS EBS CSI driver and an encrypted gp3 StorageClass for ReadWriteOnce volumes (databases, Prometheus): block
   * storage in one zone, where EFS is NFS shared across zones.
   */
  blockStorage: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
  /** The StorageClass of claims that name none. Default: "gp3" with block storage, else "efs". */
  defaultStorageClass: z.enum(["efs", "gp3"], { error: 'must be "efs" or "gp3"' }).optional(),
});

const MonitoringAddonSchema = z.strictObject({
  /**
   * kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics, node exporter), deployed by the
   * servers. Default: true unless environment is "dev".
   */
  enabled: z.boolean().optional(),
  /** Days Prometheus keeps metrics on its gp3 volume (storage.blockStorage); without block storage it keeps one day. */
  retentionDays: z.number().int().min(1, "must be between 1 and 365").max(365, "must be between 1 and 365").default(15),
  /** Size of Prometheus's gp3 volume (storage.blockStorage); retention by size stops at 80 % of it. */
  storageGb: z.number().int().min(5, "must be between 5 and 1000").max(1000, "must be between 5 and 1000").default(20),
});

const AddonsSchema = z.strictObject({
  /** Prometheus, Alertmanager and Grafana with three dashboards; see README "Add-ons". */
  monitoring: MonitoringAddonSchema.prefault({}),
  /** Argo CD, deployed by the servers, admin password in Secrets Manager. */
  argoCd: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
  /** Jenkins, deployed by the servers, admin credentials in Secrets Manager. */
  jenkins: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
});

/** Partitions whose endpoints, ARNs and AMIs the project is built for. */
export const SUPPORTED_PARTITIONS = ["aws", "aws-cn", "aws-us-gov"] as const;

/** Why a region's partition is unsupported (us-iso-east-1 is in aws-iso, us-isob-east-1 in aws-iso-b, ...), or undefined. */
export function unsupportedPartitionProblem(region: string): string | undefined {
  const isolated = /^[a-z]+-iso([a-z]?)-/.exec(region);
  if (!isolated) return undefined;
  const partition = isolated[1] ? `aws-iso-${isolated[1]}` : "aws-iso";
  return `"${region}" is in the isolated ${partition} partition; supported partitions are ${SUPPORTED_PARTITIONS.join(", ")}`;
}

// IAM's tag patterns: default tags reach the IAM roles, and these characters also keep "${...}" and cdktf token
// strings out of the Terraform JSON.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

export const ConfigSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/, 'must be an AWS region such as "eu-west-1"')
    .superRefine((region, context) => {
      const problem = unsupportedPartitionProblem(region);
      if (problem) context.addIssue({ code: "custom", message: problem });
    })
    .default("eu-west-1"),
  /** Prefix of every name; lower case, it ends up in IAM, load balancer, database and bucket names. */
  clusterName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,18}[a-z0-9]$/, "must be 2-20 characters of a-z, 0-9 and '-', starting with a letter")
    .refine((name) => !name.includes("--"), "must not contain two consecutive hyphens (RDS identifiers refuse them)")
    .refine((name) => !name.startsWith("xn--"), 'must not start with "xn--" (S3 bucket names refuse it)')
    .refine((name) => !name.startsWith("internal"), 'must not start with "internal" (a load balancer name may not begin with "internal-", as "<clusterName>-api" would)')
    .default("k3s"),
  /** "dev" relaxes deletion protection and defaults to one server and one NAT gateway. */
  environment: z.enum(["dev", "staging", "prod"]).default("prod"),
  /** Several servers over several zones. Default: true unless environment is "dev". */
  highAvailability: z.boolean().optional(),
  /** Pinned k3s release of the servers (and of the agents unless agents.k3sVersion is set); a change rolls them. */
  k3sVersion: k3sVersion.default("v1.33.5+k3s1"),
  nodeImage: NodeImageSchema.prefault({}),
  network: NetworkSchema.prefault({}),
  servers: ServersSchema.prefault({}),
  agents: AgentsSchema.prefault({}),
  api: ApiSchema.prefault({}),
  database: DatabaseSchema.prefault({}),
  automation: AutomationSchema.prefault({}),
  /** DNS, TLS and an optional CloudFront front door; all off unless edge.hostedZone and edge.fqdn are set. */
  edge: EdgeSchema.prefault({}),
  /** Pod Security Admission defaults and the API server's audit log. */
  clusterPolicy: ClusterPolicySchema.prefault({}),
  /** Volumes for pods: EFS (always) and EBS block storage (optional), and which class is the default. */
  storage: StorageSchema.prefault({}),
  backups: BackupsSchema.prefault({}),
  monitoring: MonitoringSchema.prefault({}),
  /** Cluster add-ons the servers deploy as pinned k3s HelmCharts. */
  addons: AddonsSchema.prefault({}),
  /** OpenSSH public key of an EC2 key pair for the nodes; no security group admits SSH, Session Manager is the way in. */
  sshPublicKey: z
    .string()
    .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line")
    // cdktf would read its own token marker in the comment as a reference to another resource's value.
    .refine((key) => !Token.isUnresolved(key), { message: "must not contain a cdktf token marker (${TfToken[...]}) in its comment" })
    .optional(),
  /** Applied to every resource through the provider's default_tags. */
  tags: z
    .record(
      z
        .string()
        .regex(TAG_KEY, "tag keys are 1-128 letters, numbers, spaces and _ . : / = + - @")
        .refine((key) => !/^aws:/i.test(key), 'tag keys must not start with "aws:" in any letter case (reserved for AWS)')
        // These tags reach every node (ASG tags) and every security group: the cloud controller reads its cluster from
        // them and fails on a second cluster tag or a different KubernetesCluster value
        // (cloud-provider-aws pkg/providers/v1/tags.go, findClusterIDs), and its policy trusts the cluster tag.
        .refine(
          (key) => !key.startsWith("kubernetes.io/cluster/") && key !== "KubernetesCluster",
          'tag keys "kubernetes.io/cluster/..." and "KubernetesCluster" are the cloud controller\'s; the cluster sets its own',
        )
        // On both groups, these would let cluster-autoscaler discover the servers' group or describe nodes wrongly
        // (cluster-autoscaler cloudprovider/aws/README.md, "Auto-Discovery Setup").
        .refine(
          (key) => !key.startsWith("k8s.io/cluster-autoscaler/"),
          'tag keys "k8s.io/cluster-autoscaler/..." are cluster-autoscaler\'s; the cluster sets them on the agents\' group itself',
        ),
      z.string().regex(TAG_VALUE, "tag values are 0-256 letters, numbers, spaces and _ . : / = + - @"),
    )
    .default({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type ParsedConfig = z.output<typeof ConfigSchema>;
