import { z } from "zod";
import { cidrSubnet, contains, formatCidr, Ipv4Cidr, overlaps, parseCidr } from "./cidr";
import { ConfigSchema, ParsedConfig } from "./schema";

/** Raised for any problem in the user's configuration; main.ts prints it without a stack trace. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type Architecture = "arm64" | "x86_64";

/** Configuration with every default derived and every cross-field rule checked. */
export interface ClusterConfig extends Omit<ParsedConfig, "network" | "servers" | "highAvailability" | "database"> {
  readonly highAvailability: boolean;
  readonly architecture: Architecture;
  readonly network: ParsedConfig["network"] & {
    readonly availabilityZones: string[];
    readonly publicSubnetCidrs: string[];
    readonly privateSubnetCidrs: string[];
    readonly natMode: "per-az" | "single";
  };
  readonly servers: ParsedConfig["servers"] & { readonly count: number };
  readonly database: ParsedConfig["database"] & { readonly multiAz: boolean };
}

const MAX_ZONES = 6;

/** Parses and checks a user config (already JSON-decoded); throws ConfigError listing every problem found. */
export function resolveConfig(input: unknown): ClusterConfig {
  const parsed = ConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(describeIssue));
  const config = parsed.data;
  const problems: string[] = [];
  const report = (field: string, message: string) => problems.push(`${field}: ${message}`);

  const highAvailability = config.highAvailability ?? config.environment !== "dev";
  const zones = config.network.availabilityZones ?? ["a", "b", "c"].map((letter) => `${config.region}${letter}`);
  checkZones(zones, config.region, highAvailability, report);

  const serverCount = config.servers.count ?? (highAvailability ? 3 : 1);
  if (serverCount < 1) report("servers.count", "at least one k3s server is required");
  if (highAvailability && serverCount < 2) {
    report("servers.count", `highAvailability needs at least 2 servers, got ${serverCount}; set servers.count to 3 or highAvailability to false`);
  }

  const subnets = checkSubnets(config.network, zones.length, report);
  checkAgents(config.agents, report);
  checkApi(config.api, report);
  if (config.database.maxAllocatedStorageGb < config.database.allocatedStorageGb) {
    report("database.maxAllocatedStorageGb", `(${config.database.maxAllocatedStorageGb}) must not be below database.allocatedStorageGb (${config.database.allocatedStorageGb})`);
  }
  const architecture = checkArchitecture(config.servers.instanceType, config.agents.instanceTypes, report);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...config,
    highAvailability,
    architecture,
    network: {
      ...config.network,
      availabilityZones: zones,
      ...subnets,
      natMode: config.network.natMode ?? (highAvailability ? "per-az" : "single"),
    },
    servers: { ...config.servers, count: serverCount },
    database: { ...config.database, multiAz: config.database.multiAz ?? config.environment === "prod" },
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    return `${field}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
  }
  if (issue.code === "invalid_key") return `${field}: ${issue.issues[0]?.message ?? issue.message}`;
  return `${field}: ${issue.message}`;
}

type Report = (field: string, message: string) => void;

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
    if (!zonePattern.test(zone)) report("network.availabilityZones", `"${zone}" is not an availability zone of ${region} (expected ${region}a, ${region}b, ...)`);
  }
  const duplicates = zones.filter((zone, index) => zones.indexOf(zone) !== index);
  if (duplicates.length > 0) report("network.availabilityZones", `"${duplicates[0]}" is listed more than once`);
}

function checkSubnets(network: ParsedConfig["network"], zoneCount: number, report: Report) {
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
    );
    return { publicSubnetCidrs: [], privateSubnetCidrs: [] };
  }

  // Private subnets hold the nodes and pods, so they get the large blocks; public ones hold only NAT and load balancers.
  const derivedPrivate = Array.from({ length: Math.min(zoneCount, MAX_ZONES) }, (_, i) => formatCidr(cidrSubnet(vpc, 3, i)));
  const publicRange = cidrSubnet(vpc, 3, 7);
  const derivedPublic = Array.from({ length: Math.min(zoneCount, MAX_ZONES) }, (_, i) => formatCidr(cidrSubnet(publicRange, 5, i)));
  const publicSubnetCidrs = network.publicSubnetCidrs ?? derivedPublic;
  const privateSubnetCidrs = network.privateSubnetCidrs ?? derivedPrivate;

  const seen: { field: string; text: string; cidr: Ipv4Cidr }[] = [];
  const lists: [string, string[]][] = [
    ["network.publicSubnetCidrs", publicSubnetCidrs],
    ["network.privateSubnetCidrs", privateSubnetCidrs],
  ];
  for (const [field, list] of lists) {
    if (list.length !== zoneCount) report(field, `needs one CIDR per availability zone (${zoneCount}), got ${list.length}`);
    list.forEach((text, index) => {
      const cidr = parseCidr(text);
      const name = `${field}[${index}]`;
      if (typeof cidr === "string") return report(name, cidr);
      if (!contains(vpc, cidr)) return report(name, `${text} is outside the VPC range ${network.vpcCidr}`);
      if (cidr.prefix > 28) return report(name, `${text} is smaller than /28, the smallest subnet AWS allows`);
      const clash = seen.find((other) => overlaps(other.cidr, cidr));
      if (clash) return report(name, `${text} overlaps ${clash.field} (${clash.text})`);
      seen.push({ field: name, text, cidr });
    });
  }
  return { publicSubnetCidrs, privateSubnetCidrs };
}

function checkAgents(agents: ParsedConfig["agents"], report: Report) {
  if (agents.minSize > agents.maxSize) {
    report("agents.minSize", `(${agents.minSize}) is greater than agents.maxSize (${agents.maxSize})`);
  } else if (agents.desiredCapacity < agents.minSize || agents.desiredCapacity > agents.maxSize) {
    report("agents.desiredCapacity", `(${agents.desiredCapacity}) must lie between agents.minSize (${agents.minSize}) and agents.maxSize (${agents.maxSize})`);
  }
  if (agents.onDemandBaseCapacity > agents.maxSize) {
    report("agents.onDemandBaseCapacity", `(${agents.onDemandBaseCapacity}) is greater than agents.maxSize (${agents.maxSize})`);
  }
  const duplicates = agents.instanceTypes.filter((type, index) => agents.instanceTypes.indexOf(type) !== index);
  if (duplicates.length > 0) report("agents.instanceTypes", `"${duplicates[0]}" is listed more than once`);
}

function checkApi(api: ParsedConfig["api"], report: Report) {
  api.adminCidrs.forEach((text, index) => {
    const cidr = parseCidr(text);
    if (typeof cidr === "string") return report(`api.adminCidrs[${index}]`, cidr);
    if (cidr.prefix === 0) report(`api.adminCidrs[${index}]`, `${text} would open the Kubernetes API to the whole internet; list your admin networks`);
  });
  if (api.publicAccess && api.adminCidrs.length === 0) {
    report("api.adminCidrs", "at least one CIDR is required when api.publicAccess is true");
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
      );
    }
  }
  return architecture;
}
