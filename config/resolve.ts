import { z } from "zod";
import { cidrSubnet, contains, formatCidr, Ipv4Cidr, overlaps, parseCidr } from "./cidr";
import { defaultMaxConnections } from "./rds-max-connections";
import { ConfigSchema, EVERY_MINUTE, HOSTED_ZONE_ID_PATTERN, K3S_VERSION_PATTERN, MAX_ZONES, ParsedConfig, SUPPORTED_PARTITIONS, unsupportedPartitionProblem } from "./schema";

/** Raised for any problem in the user's configuration; main.ts prints it without a stack trace. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type Architecture = "arm64" | "x86_64";
export type Partition = (typeof SUPPORTED_PARTITIONS)[number];

/** Configuration with every default derived and every cross-field rule checked. */
export interface ClusterConfig extends Omit<ParsedConfig, "network" | "servers" | "agents" | "highAvailability" | "database" | "storage" | "backups" | "monitoring" | "addons" | "automation"> {
  readonly highAvailability: boolean;
  /**
   * Deletion protection, prevent_destroy, final snapshots and secret recovery windows on everything holding cluster
   * data; off only in "dev", whose clusters are throwaway.
   */
  readonly protectData: boolean;
  readonly architecture: Architecture;
  readonly partition: Partition;
  readonly network: Omit<ParsedConfig["network"], "availabilityZoneCount"> & {
    /** The zones the user listed; undefined means the first zoneCount zones of aws_availability_zones at plan time. */
    readonly availabilityZones: string[] | undefined;
    /** How many zones subnets, NAT gateways and nodes are spread over; the length of availabilityZones when listed. */
    readonly zoneCount: number;
    readonly publicSubnetCidrs: string[];
    readonly privateSubnetCidrs: string[];
    readonly natMode: "per-az" | "single";
  };
  readonly servers: ParsedConfig["servers"] & { readonly count: number };
  /** k3sVersion here is the agents' release; the top-level k3sVersion is the servers'. */
  readonly agents: ParsedConfig["agents"] & { readonly k3sVersion: string };
  readonly database: ParsedConfig["database"] & { readonly multiAz: boolean };
  /**
   * The Kubernetes API's DNS name, "k3s.<edge.fqdn>" or "k3s.<api.domain>": a name in the API's certificate from
   * first boot, and with edge.fqdn a Route 53 record. Undefined when neither is set.
   */
  readonly apiHostName?: string;
  /**
   * The DNS edge, present exactly when edge.hostedZone and edge.fqdn are both set (one without the other is refused):
   * the zone, the applications' name and the API's name in it.
   */
  readonly site?: Site;
  readonly storage: ParsedConfig["storage"] & { readonly defaultStorageClass: "efs" | "gp3" };
  readonly backups: ParsedConfig["backups"] & { readonly enabled: boolean };
  /** databaseMaxConnections is the configured value or the one derived from database.instanceClass. */
  readonly monitoring: ParsedConfig["monitoring"];
  readonly addons: ParsedConfig["addons"] & { readonly monitoring: ParsedConfig["addons"]["monitoring"] & { readonly enabled: boolean } };
  readonly automation: ParsedConfig["automation"] & { readonly pollSeconds: number; readonly headroom: Headroom };
}

type Headroom = NonNullable<ParsedConfig["automation"]["headroom"]>;

/**
 * Room for one 500m, 1 GiB pod: the reservation kubernetes.io's "Overprovision Node Capacity For A Cluster" uses as
 * its example, a quarter of a default agent's CPU. It costs at most one agent, and only while no agent has that room.
 */
const DEFAULT_HEADROOM: Headroom = { cpuMillis: 500, memoryMiB: 1024 };

/** Seconds between passes on that schedule: cluster-autoscaler's --scan-interval default. */
const DEFAULT_POLL_SECONDS = 10;

export interface Site {
  readonly hostedZone: string;
  readonly fqdn: string;
  /** k3s.<fqdn>. */
  readonly apiHostName: string;
}

const DEFAULT_ZONE_COUNT = 3;

/** Most audit log, live and rotated, a server keeps: a quarter of its 40 GiB root volume. */
const MAX_AUDIT_LOG_MB = 10240;

/**
 * Reports a cross-field problem unless the field, or another field the rule reads, already failed the schema: that
 * field has its own problem listed, and the default standing in for it is not what the user wrote.
 */
type Report = (field: string, message: string, alsoReads?: string[]) => void;

/** Parses and checks a user config (already JSON-decoded); throws ConfigError listing every problem found. */
export function resolveConfig(input: unknown): ClusterConfig {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError([`(top level): must be a JSON object, got ${input === null ? "null" : Array.isArray(input) ? "an array" : `a ${typeof input}`}`]);
  }
  const { config, problems, failedFields } = parseWithDefaults(input as Record<string, unknown>);
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  const report: Report = (field, message, alsoReads = []) => {
    const reads = [field, ...alsoReads].map((name) => name.replace(/\[\d+\]$/, ""));
    if (!reads.some((name) => failedFields.some((failed) => related(name, failed)))) problems.push(`${field}: ${message}`);
  };
  const haReads = ["environment", "highAvailability"];

  const highAvailability = config.highAvailability ?? config.environment !== "dev";
  const { availabilityZones, availabilityZoneCount, ...network } = config.network;
  if (availabilityZones) {
    checkZones(availabilityZones, config.region, highAvailability, report);
    if (availabilityZoneCount !== undefined && availabilityZoneCount !== availabilityZones.length) {
      report(
        "network.availabilityZoneCount",
        `(${availabilityZoneCount}) conflicts with the ${availabilityZones.length} zones listed in network.availabilityZones; leave it out or make them agree`,
      );
    }
  }
  const zoneCount = availabilityZones?.length ?? availabilityZoneCount ?? DEFAULT_ZONE_COUNT;

  const serverCount = config.servers.count ?? (highAvailability ? 3 : 1);
  if (serverCount < 1) report("servers.count", "at least one k3s server is required");
  if (highAvailability && serverCount < 2) {
    report("servers.count", `highAvailability needs at least 2 servers, got ${serverCount}; set servers.count to 3 or highAvailability to false`, haReads);
  }

  const subnets = checkSubnets(config.network, zoneCount, report);
  checkAgents(config.agents, report);
  const agentsK3sVersion = config.agents.k3sVersion ?? config.k3sVersion;
  checkVersionSkew(config.k3sVersion, agentsK3sVersion, report);
  // Were the agents to follow k3sVersion, one apply would roll both groups at once and new agents could join before
  // the servers they must not outrun; naming both makes an upgrade two applies: servers, then agents.
  if ((input as { k3sVersion?: unknown }).k3sVersion !== undefined && config.agents.k3sVersion === undefined) {
    report(
      "agents.k3sVersion",
      "must be set whenever k3sVersion is, so an upgrade rolls the servers in one apply and the agents in the next; set it to the agents' running release (or to k3sVersion for a new cluster)",
      ["k3sVersion"],
    );
  }
  checkApi(config.api, report);
  const partition = partitionOf(config.region);
  const { apiHostName, site } = checkEdge(config, partition, subnets.publicSubnetCidrs, report);
  // RDS storage autoscaling: "You must set the maximum storage threshold to at least 10% more than the current
  // allocated storage" (RDS User Guide, USER_PIOPS.Autoscaling). Whole GiB, so compared without floating point.
  if (config.database.maxAllocatedStorageGb * 10 < config.database.allocatedStorageGb * 11) {
    report(
      "database.maxAllocatedStorageGb",
      `(${config.database.maxAllocatedStorageGb}) must be at least 10% above database.allocatedStorageGb (${config.database.allocatedStorageGb}); RDS refuses a lower storage autoscaling ceiling`,
      ["database.allocatedStorageGb"],
    );
  }
  checkBackups(config.backups, config.region, report);
  checkSlackWebhookSecret(config.automation.slackWebhookSecretArn, config.region, report);
  // The forwarder's failure alarms publish to the topic it forwards: without a second subscriber, a broken Slack path
  // would swallow the alarms saying so.
  if (config.automation.slackWebhookSecretArn !== undefined && config.automation.notificationEmail === undefined) {
    report(
      "automation.notificationEmail",
      "is required with automation.slackWebhookSecretArn: the alarms that Slack stopped taking messages go out through the same topic, and need a way out that is not Slack",
    );
  }
  // An invocation polls for one minute; on a longer schedule the rest of each period would go unwatched, so polling
  // there is refused rather than half done. (A schedule the schema refused has the default standing in, which polls.)
  const everyMinute = config.automation.scheduleExpression === EVERY_MINUTE;
  if (!everyMinute && (config.automation.pollSeconds ?? 0) > 0) {
    report(
      "automation.pollSeconds",
      `polls through the minute until the next run, so it needs automation.scheduleExpression "${EVERY_MINUTE}" (got "${config.automation.scheduleExpression}"); set it to 0 for one pass per run`,
    );
  }
  const databaseMaxConnections = config.monitoring.databaseMaxConnections ?? defaultMaxConnections(config.database.instanceClass);
  if (config.monitoring.alarms && databaseMaxConnections === undefined) {
    report(
      "monitoring.databaseMaxConnections",
      `is required with monitoring.alarms when database.instanceClass ("${config.database.instanceClass}") has no known memory size (config/rds-max-connections.ts knows t3, t4g, m4 and later, r5 and later, x2g); set it to the instance's max_connections (SHOW max_connections)`,
      ["monitoring.alarms"],
    );
  }
  const architecture = checkArchitecture(config.servers.instanceType, config.agents.instanceTypes, report);
  const { storage } = config;
  if (storage.defaultStorageClass === "gp3" && !storage.blockStorage.enabled) {
    report("storage.defaultStorageClass", '"gp3" needs storage.blockStorage.enabled, which deploys the EBS CSI driver and the gp3 StorageClass', ["storage.blockStorage.enabled"]);
  }
  if (storage.blockStorage.enabled) {
    checkVolumeTags(config.tags, report);
    // The EBS CSI controller's role is assumed through an issuer served by CloudFront's own domain
    // (modules/workload-identity): CloudFront is not offered in GovCloud, and in China its default domain serves nothing.
    if (partition !== "aws") {
      report("storage.blockStorage.enabled", `needs CloudFront's default domain for the service-account issuer the EBS CSI controller's role trusts, which the ${partition} partition (region ${config.region}) does not offer`);
    }
  }
  // Without block storage Prometheus keeps a fixed day on an emptyDir; a retention or size set for its volume would be
  // silently ignored.
  const monitoringInput = (input as { addons?: { monitoring?: Record<string, unknown> } }).addons?.monitoring;
  const monitoringEnabled = config.addons.monitoring.enabled ?? config.environment !== "dev";
  if (!storage.blockStorage.enabled && monitoringEnabled) {
    for (const setting of ["retentionDays", "storageGb"]) {
      if (monitoringInput?.[setting] !== undefined) {
        report(`addons.monitoring.${setting}`, "applies to Prometheus's gp3 volume, which needs storage.blockStorage.enabled; without it Prometheus keeps one day on an emptyDir", ["storage.blockStorage.enabled", "addons.monitoring.enabled", "environment"]);
      }
    }
  }
  // The live audit log and its rotated files share a server's 40 GiB root volume with k3s, images and pod logs.
  const { auditLog } = config.clusterPolicy;
  if (auditLog.enabled && (auditLog.maxBackups + 1) * auditLog.maxSizeMb > MAX_AUDIT_LOG_MB) {
    report(
      "clusterPolicy.auditLog.maxSizeMb",
      `(${auditLog.maxSizeMb}) with clusterPolicy.auditLog.maxBackups (${auditLog.maxBackups}) keeps up to ${(auditLog.maxBackups + 1) * auditLog.maxSizeMb} MB of audit log on each server; at most ${MAX_AUDIT_LOG_MB} MB fit beside k3s on its disk`,
      ["clusterPolicy.auditLog.maxBackups"],
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...config,
    highAvailability,
    protectData: config.environment !== "dev",
    architecture,
    partition,
    network: {
      ...network,
      availabilityZones,
      zoneCount,
      ...subnets,
      natMode: config.network.natMode ?? (highAvailability ? "per-az" : "single"),
    },
    servers: { ...config.servers, count: serverCount },
    agents: { ...config.agents, k3sVersion: agentsK3sVersion },
    database: { ...config.database, multiAz: config.database.multiAz ?? config.environment === "prod" },
    ...(apiHostName ? { apiHostName } : {}),
    ...(site ? { site } : {}),
    storage: { ...storage, defaultStorageClass: storage.defaultStorageClass ?? (storage.blockStorage.enabled ? "gp3" : "efs") },
    // Dev clusters are throwaway (no deletion protection either); every other environment keeps daily recovery points.
    backups: { ...config.backups, enabled: config.backups.enabled ?? config.environment !== "dev" },
    monitoring: { ...config.monitoring, databaseMaxConnections },
    // A production cluster without metrics and alerts is flying blind; dev clusters are throwaway and small.
    addons: { ...config.addons, monitoring: { ...config.addons.monitoring, enabled: monitoringEnabled } },
    automation: {
      ...config.automation,
      pollSeconds: config.automation.pollSeconds ?? (everyMinute ? DEFAULT_POLL_SECONDS : 0),
      // Dev clusters are throwaway: a pod there may wait for an agent's boot.
      headroom: config.automation.headroom ?? (config.environment === "dev" ? { cpuMillis: 0, memoryMiB: 0 } : DEFAULT_HEADROOM),
    },
  };
}

/**
 * Parses the input; when the schema refuses values, parses again without them so their defaults stand in and the
 * cross-field rules can still run. Returns the schema's problems and the fields that failed.
 */
function parseWithDefaults(input: Record<string, unknown>): { config: ParsedConfig; problems: string[]; failedFields: string[] } {
  const first = ConfigSchema.safeParse(input);
  if (first.success) return { config: first.data, problems: [], failedFields: [] };

  const problems = first.error.issues.map(describeIssue);
  const pruned = structuredClone(input);
  const failedFields: string[] = [];
  for (const issue of first.error.issues) {
    if (issue.code === "unrecognized_keys") {
      const owner = valueAt(pruned, issue.path);
      for (const key of issue.keys) delete owner[key];
      continue;
    }
    // A list is dropped whole: its order carries meaning (subnets follow zones), so removing one entry would shift the rest.
    const firstIndex = issue.path.findIndex((segment) => typeof segment === "number");
    const path = (firstIndex === -1 ? issue.path : issue.path.slice(0, firstIndex)).map(String);
    if (path.length === 0) throw new ConfigError(problems);
    delete valueAt(pruned, path.slice(0, -1))[path[path.length - 1]];
    failedFields.push(path.join("."));
  }
  const second = ConfigSchema.safeParse(pruned);
  if (!second.success) throw new ConfigError(problems);
  return { config: second.data, problems, failedFields };
}

/** The object at `path` inside a JSON value; the schema's issue paths only lead through objects here. */
function valueAt(root: Record<string, unknown>, path: readonly PropertyKey[]): Record<string, unknown> {
  return path.reduce<Record<string, unknown>>((node, key) => node[key as string] as Record<string, unknown>, root);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    return `${field}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
  }
  if (issue.code === "invalid_key") return `${field}: ${issue.issues[0]?.message ?? issue.message}`;
  return `${field}: ${issue.message}`;
}

function checkZones(zones: string[], region: string, highAvailability: boolean, report: Report) {
  if (zones.length < 2) {
    report(
      "network.availabilityZones",
      highAvailability
        ? `highAvailability needs at least 2 availability zones, got ${zones.length}`
        : `at least 2 availability zones are required (an RDS subnet group spans two or more), got ${zones.length}`,
    );
  }
  if (zones.length > MAX_ZONES) report("network.availabilityZones", `at most ${MAX_ZONES} availability zones are supported, got ${zones.length}`);
  const zonePattern = new RegExp(`^${region}[a-z]$`);
  for (const zone of zones) {
    if (!zonePattern.test(zone)) {
      report("network.availabilityZones", `"${zone}" is not an availability zone of ${region} (expected ${region}a, ${region}b, ...)`, ["region"]);
    }
  }
  const duplicates = zones.filter((zone, index) => zones.indexOf(zone) !== index);
  if (duplicates.length > 0) report("network.availabilityZones", `"${duplicates[0]}" is listed more than once`);
}

function checkSubnets(network: ParsedConfig["network"], zoneCount: number, report: Report) {
  const layoutReads = ["network.vpcCidr", "network.publicSubnetCidrs", "network.privateSubnetCidrs"];
  const vpc = parseCidr(network.vpcCidr);
  if (typeof vpc === "string") {
    report("network.vpcCidr", vpc);
    return { publicSubnetCidrs: [], privateSubnetCidrs: [] };
  }
  const derived = network.publicSubnetCidrs === undefined || network.privateSubnetCidrs === undefined;
  const largestPrefix = derived ? 20 : 28;
  if (vpc.prefix < 16 || vpc.prefix > largestPrefix) {
    report(
      "network.vpcCidr",
      derived
        ? `must be between /16 and /20 when subnets are derived (got /${vpc.prefix}); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC`
        : `AWS allows VPC blocks from /16 to /28, got /${vpc.prefix}`,
      layoutReads,
    );
    return { publicSubnetCidrs: [], privateSubnetCidrs: [] };
  }

  // Private subnets hold the nodes and pods, so they get the large blocks; public ones hold only NAT and load balancers.
  const derivedCount = Math.min(zoneCount, MAX_ZONES);
  const derivedPrivate = Array.from({ length: derivedCount }, (_, i) => formatCidr(cidrSubnet(vpc, 3, i)));
  const publicRange = cidrSubnet(vpc, 3, 7);
  const derivedPublic = Array.from({ length: derivedCount }, (_, i) => formatCidr(cidrSubnet(publicRange, 5, i)));
  const publicSubnetCidrs = network.publicSubnetCidrs ?? derivedPublic;
  const privateSubnetCidrs = network.privateSubnetCidrs ?? derivedPrivate;

  const seen: { field: string; text: string; cidr: Ipv4Cidr }[] = [];
  const lists: [string, string[]][] = [
    ["network.publicSubnetCidrs", publicSubnetCidrs],
    ["network.privateSubnetCidrs", privateSubnetCidrs],
  ];
  for (const [field, list] of lists) {
    if (list.length !== zoneCount) {
      report(field, `needs one CIDR per availability zone (${zoneCount}), got ${list.length}`, ["network.availabilityZones", "network.availabilityZoneCount"]);
    }
    list.forEach((text, index) => {
      const cidr = parseCidr(text);
      const name = `${field}[${index}]`;
      if (typeof cidr === "string") return report(name, cidr);
      if (!contains(vpc, cidr)) return report(name, `${text} is outside the VPC range ${network.vpcCidr}`, layoutReads);
      if (cidr.prefix > 28) return report(name, `${text} is smaller than /28, the smallest subnet AWS allows`);
      const clash = seen.find((other) => overlaps(other.cidr, cidr));
      if (clash) return report(name, `${text} overlaps ${clash.field} (${clash.text})`, layoutReads);
      seen.push({ field: name, text, cidr });
    });
  }
  return { publicSubnetCidrs, privateSubnetCidrs };
}

function checkAgents(agents: ParsedConfig["agents"], report: Report) {
  if (agents.minSize > agents.maxSize) {
    report("agents.minSize", `(${agents.minSize}) is greater than agents.maxSize (${agents.maxSize})`, ["agents.maxSize"]);
  } else if (agents.desiredCapacity < agents.minSize || agents.desiredCapacity > agents.maxSize) {
    report(
      "agents.desiredCapacity",
      `(${agents.desiredCapacity}) must lie between agents.minSize (${agents.minSize}) and agents.maxSize (${agents.maxSize})`,
      ["agents.minSize", "agents.maxSize"],
    );
  }
  if (agents.onDemandBaseCapacity > agents.maxSize) {
    report("agents.onDemandBaseCapacity", `(${agents.onDemandBaseCapacity}) is greater than agents.maxSize (${agents.maxSize})`, ["agents.maxSize"]);
  }
  const duplicates = agents.instanceTypes.filter((type, index) => agents.instanceTypes.indexOf(type) !== index);
  if (duplicates.length > 0) report("agents.instanceTypes", `"${duplicates[0]}" is listed more than once`);
}

/**
 * The EBS CSI driver puts the cluster's tags on its volumes (--extra-tags) and refuses to create any volume when one of
 * them has a key it reserves (kubernetes-sigs/aws-ebs-csi-driver pkg/driver/validation.go, validateExtraTags).
 */
function checkVolumeTags(tags: Record<string, string>, report: Report) {
  for (const key of Object.keys(tags)) {
    if (key.startsWith("kubernetes.io/") || key.startsWith("ebs.csi.aws.com/") || key === "CSIVolumeName" || key === "CSIVolumeSnapshotName") {
      report(`tags`, `"${key}" is a tag key the EBS CSI driver reserves ("kubernetes.io/...", "ebs.csi.aws.com/...", CSIVolumeName, CSIVolumeSnapshotName); with storage.blockStorage.enabled it would refuse every volume`);
    }
  }
}

/** Kubernetes minor, patch and k3s revision of a release tag the schema accepted. */
function versionOf(tag: string): [number, number, number] {
  const [, minor, patch, revision] = K3S_VERSION_PATTERN.exec(tag) ?? [];
  return [Number(minor), Number(patch), Number(revision)];
}

/** Kubernetes minor, patch and k3s revision of v1.30.0+k3s1, the first of the k3s lines shipping only Traefik 2.10 or later. */
const FIRST_RELEASE_LINE_WITH_TRAEFIK_2_10: [number, number, number] = [30, 0, 1];

/** Whether release a comes before release b. */
function isOlder(a: [number, number, number], b: [number, number, number]): boolean {
  const difference = a.map((part, index) => part - b[index]).find((part) => part !== 0) ?? 0;
  return difference < 0;
}

/** Kubernetes version skew policy: a kubelet must not be newer than kube-apiserver, and at most three minors older. */
function checkVersionSkew(serverVersion: string, agentVersion: string, report: Report) {
  const server = versionOf(serverVersion);
  const agent = versionOf(agentVersion);
  if (isOlder(server, agent)) {
    report(
      "agents.k3sVersion",
      `(${agentVersion}) is newer than k3sVersion (${serverVersion}), the servers' release; a kubelet must not be newer than the API server, so upgrade the servers first`,
      ["k3sVersion"],
    );
    return;
  }
  // Kubelets before 1.25 may only be two minors older.
  const maxSkew = agent[0] < 25 ? 2 : 3;
  const skew = server[0] - agent[0];
  if (skew > maxSkew) {
    report(
      "agents.k3sVersion",
      `(${agentVersion}) is ${skew} minor versions older than k3sVersion (${serverVersion}); a kubelet may be at most ${maxSkew} minor versions older than the API server, so upgrade the agents first`,
      ["k3sVersion"],
    );
  }
}

function checkBackups(backups: ParsedConfig["backups"], region: string, report: Report) {
  const { copyRegion } = backups;
  if (copyRegion === undefined) return;
  if (copyRegion === region) {
    report("backups.copyRegion", `must differ from region (${region}); a copy in the same region does not survive the region's loss`, ["region"]);
    return;
  }
  // AWS Backup copies between regions of one partition only (the schema already refuses the isolated ones).
  if (partitionOf(copyRegion) !== partitionOf(region)) {
    report("backups.copyRegion", `"${copyRegion}" is in partition ${partitionOf(copyRegion)} but region "${region}" is in ${partitionOf(region)}; AWS Backup copies within one partition`, ["region"]);
  }
}

/** The widest network accepted as an administrators' network. */
const MIN_ADMIN_PREFIX = 8;

function checkApi(api: ParsedConfig["api"], report: Report) {
  // Each admin network becomes one security group rule, and EC2 refuses the same rule twice (InvalidPermission.Duplicate).
  const seen: { index: number; text: string; network: string }[] = [];
  api.adminCidrs.forEach((text, index) => {
    const cidr = parseCidr(text);
    const name = `api.adminCidrs[${index}]`;
    if (typeof cidr === "string") return report(name, cidr);
    // Anything wider than a /8 is no one's admin network, and two /1s are the whole internet in two rules.
    if (cidr.prefix < MIN_ADMIN_PREFIX) {
      return report(name, `${text} would open the Kubernetes API to ${cidr.prefix === 0 ? "the whole internet" : `${2 ** (32 - cidr.prefix)} addresses`}; list your admin networks (/${MIN_ADMIN_PREFIX} or narrower)`);
    }
    const network = formatCidr(cidr);
    const same = seen.find((other) => other.network === network);
    if (same) return report(name, `${text} is the same network as api.adminCidrs[${same.index}] (${same.text})`);
    seen.push({ index, text, network });
  });
  if (api.publicAccess && api.adminCidrs.length === 0) {
    report("api.adminCidrs", "at least one CIDR is required when api.publicAccess is true");
  }
}

/** Longest DomainName ACM's RequestCertificate takes (ACM API reference, RequestCertificate). */
export const ACM_DOMAIN_NAME_MAX_LENGTH = 64;

/** Rules per security group unless the quota is raised (Amazon VPC quotas, "Inbound or outbound rules per security group"). */
export const SECURITY_GROUP_RULE_QUOTA = 60;
/**
 * What a rule referencing the CloudFront origin-facing prefix list counts against that quota: its weight, 55 (Amazon
 * VPC User Guide, "AWS-managed prefix lists", AWS-managed prefix list weight).
 */
export const CLOUDFRONT_PREFIX_LIST_WEIGHT = 55;

/**
 * The edge settings: all or nothing of the DNS pair, CloudFront only with a name to serve, one owner of the API's
 * name. Returns that name, "k3s.<edge.fqdn>" or "k3s.<api.domain>", and the site when the DNS pair is set.
 */
function checkEdge(config: ParsedConfig, partition: Partition, publicSubnetCidrs: string[], report: Report): { apiHostName?: string; site?: Site } {
  const { hostedZone, fqdn, cloudFront } = config.edge;
  if (hostedZone !== undefined && fqdn === undefined) report("edge.fqdn", "is required with edge.hostedZone: the name the applications are served at");
  if (fqdn !== undefined && hostedZone === undefined) report("edge.hostedZone", "is required with edge.fqdn: the public Route 53 hosted zone its records go in");
  if (hostedZone !== undefined && fqdn !== undefined && !HOSTED_ZONE_ID_PATTERN.test(hostedZone) && fqdn !== hostedZone && !fqdn.endsWith(`.${hostedZone}`)) {
    report("edge.fqdn", `"${fqdn}" is not inside the hosted zone "${hostedZone}"; use a name ending in ".${hostedZone}"`);
  }
  // One owner for the API's name: k3s.<edge.fqdn> when the edge is on; api.domain may only say the same.
  const { domain } = config.api;
  if (fqdn !== undefined && domain !== undefined && domain !== fqdn) {
    report(
      "api.domain",
      `("${domain}") contradicts edge.fqdn ("${fqdn}"): the API's name is k3s.<edge.fqdn> ("k3s.${fqdn}"), which this project creates; remove api.domain`,
    );
  }
  // The certificate's DomainName is its Common Name: "cannot exceed 64 octets (characters), including periods" (ACM API
  // reference, RequestCertificate; RFC 5280's ub-common-name).
  if (fqdn !== undefined && fqdn.length > ACM_DOMAIN_NAME_MAX_LENGTH) {
    report("edge.fqdn", `is ${fqdn.length} characters; ACM issues a certificate for a name of at most ${ACM_DOMAIN_NAME_MAX_LENGTH} (its Common Name), so choose a shorter name`);
  }

  if (!cloudFront.enabled) {
    if (cloudFront.webAclArn !== undefined) report("edge.cloudFront.webAclArn", "is set but edge.cloudFront.enabled is false; enable CloudFront or remove it", ["edge.cloudFront.enabled"]);
    if (cloudFront.existingDistributionDomainName !== undefined) {
      report("edge.cloudFront.existingDistributionDomainName", "is set but edge.cloudFront.enabled is false; enable CloudFront or remove it", ["edge.cloudFront.enabled"]);
    }
  } else {
    if (fqdn === undefined) report("edge.cloudFront.enabled", "needs edge.hostedZone and edge.fqdn: the distribution and its origin serve edge.fqdn with an ACM certificate", ["edge.fqdn"]);
    if (cloudFront.webAclArn !== undefined && cloudFront.existingDistributionDomainName !== undefined) {
      report("edge.cloudFront.webAclArn", "applies to the distribution this project creates; with edge.cloudFront.existingDistributionDomainName attach the web ACL to your distribution instead");
    }
    // CloudFront with ACM certificates in us-east-1 is a service of the aws partition only.
    if (partition !== "aws") report("edge.cloudFront.enabled", `CloudFront with a us-east-1 certificate is not available in the ${partition} partition (region ${config.region})`);
    checkOriginSubnets(config.network, publicSubnetCidrs, report);
    // The origin's group admits the prefix list on 443 and each admin network on 80 and 443.
    const rules = CLOUDFRONT_PREFIX_LIST_WEIGHT + 2 * config.api.adminCidrs.length;
    if (rules > SECURITY_GROUP_RULE_QUOTA) {
      report(
        "api.adminCidrs",
        `${config.api.adminCidrs.length} networks are too many with edge.cloudFront.enabled: the origin load balancer's security group would need ${rules} rules (the CloudFront prefix list counts ${CLOUDFRONT_PREFIX_LIST_WEIGHT}, each network 2), more than the ${SECURITY_GROUP_RULE_QUOTA} a group may hold; list at most ${Math.floor((SECURITY_GROUP_RULE_QUOTA - CLOUDFRONT_PREFIX_LIST_WEIGHT) / 2)}`,
      );
    }
  }
  // Behind CloudFront websecure removes the origin header with a Middleware of the traefik.io API group, which Traefik
  // serves from 2.10 on (Traefik docs, migration v2.9 to v2.10); an older Traefik refuses it and every route on websecure
  // answers 404. k3s-io/docs release-notes: every v1.30 release ships Traefik 2.10.7 or later (v1.30.0+k3s1: v2.10.7);
  // some older releases still ship 2.9 (v1.28.2+k3s1: v2.9.10).
  if (cloudFront.enabled && isOlder(versionOf(config.k3sVersion), FIRST_RELEASE_LINE_WITH_TRAEFIK_2_10)) {
    report(
      "k3sVersion",
      `(${config.k3sVersion}) may ship a Traefik older than 2.10, which refuses the traefik.io Middleware that removes the CloudFront origin header, leaving every application unreachable; with edge.cloudFront.enabled use v1.30.0+k3s1 or later`,
    );
  }
  if (hostedZone === undefined || fqdn === undefined) return { apiHostName: domain === undefined ? undefined : `k3s.${domain}` };
  const apiHostName = `k3s.${fqdn}`;
  return { apiHostName, site: { hostedZone, fqdn, apiHostName } };
}

/**
 * The smallest subnet an Application Load Balancer scales in: "at least a /27 bitmask ... and at least 8 free IP
 * addresses" per subnet (Elastic Load Balancing, Application Load Balancers, "Subnets for your load balancer").
 */
export const ALB_SUBNET_LARGEST_PREFIX = 27;

/**
 * The CloudFront origin is an Application Load Balancer in the public subnets, each /27 or larger. (Its other subnet
 * rule, two zones or more, network.availabilityZoneCount's minimum already holds.)
 */
function checkOriginSubnets(network: ParsedConfig["network"], publicSubnetCidrs: string[], report: Report) {
  const small = publicSubnetCidrs.filter((text) => {
    const cidr = parseCidr(text);
    return typeof cidr !== "string" && cidr.prefix > ALB_SUBNET_LARGEST_PREFIX;
  });
  if (small.length === 0) return;
  const fix =
    network.publicSubnetCidrs === undefined
      ? `the public subnets derived from network.vpcCidr (${network.vpcCidr}) are ${small.join(", ")}; use a /19 or larger VPC, or list network.publicSubnetCidrs of /27 or larger`
      : `network.publicSubnetCidrs has ${small.join(", ")}; list subnets of /27 or larger`;
  report(
    "edge.cloudFront.enabled",
    `needs public subnets of at least /${ALB_SUBNET_LARGEST_PREFIX} for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but ${fix}`,
    ["network.publicSubnetCidrs"],
  );
}

/**
 * The forwarder reads the secret from Secrets Manager in its own region, which holds only that region's secrets; a
 * secret elsewhere would fail at run time, so it is refused here.
 */
function checkSlackWebhookSecret(arn: string | undefined, region: string, report: Report) {
  if (arn === undefined) return;
  const [, partition, , secretRegion] = arn.split(":");
  // region passed the schema, which refuses the isolated partitions, so partitionOf knows it.
  if (partition !== partitionOf(region)) {
    report("automation.slackWebhookSecretArn", `is in partition ${partition} but region "${region}" is in ${partitionOf(region)}; use a secret in the cluster's region`, ["region"]);
  } else if (secretRegion !== region) {
    report("automation.slackWebhookSecretArn", `is in region "${secretRegion}" but the cluster is in "${region}"; the forwarder reads its own region's Secrets Manager: create (or replicate) the secret in "${region}"`, ["region"]);
  }
}

/** Graviton families carry a "g" right after the generation number (t4g, m7gd, c6gn); a1 is the first Graviton. */
export function architectureOf(type: string): Architecture {
  const family = type.split(".")[0];
  return /^[a-z]+\d+g[a-z]*$/.test(family) || family === "a1" ? "arm64" : "x86_64";
}

function checkArchitecture(serverType: string, agentTypes: string[], report: Report): Architecture {
  const architecture = architectureOf(serverType);
  for (const [index, type] of agentTypes.entries()) {
    if (architectureOf(type) !== architecture) {
      report(
        `agents.instanceTypes[${index}]`,
        `"${type}" is ${architectureOf(type)} but servers.instanceType "${serverType}" is ${architecture}; the cluster uses one architecture and one AMI`,
        ["servers.instanceType"],
      );
    }
  }
  return architecture;
}

/** The partition of a region, which ARNs and service principals name; the isolated partitions are not supported. */
export function partitionOf(region: string): Partition {
  const problem = unsupportedPartitionProblem(region);
  if (problem) throw new Error(`region ${problem}`);
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
