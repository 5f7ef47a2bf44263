import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { loadConfig } from "../config/load";
import { architectureOf, ConfigError, resolveConfig } from "../config/resolve";

function problemsOf(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("config was accepted");
}

describe("defaults", () => {
  test("production default is highly available over three zones with a NAT gateway per zone", () => {
    const config = resolveConfig({});
    expect(config.region).toBe("eu-west-1");
    expect(config.highAvailability).toBe(true);
    expect(config.servers.count).toBe(3);
    expect(config.network.natMode).toBe("per-az");
    expect(config.network.availabilityZones).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
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

  test("zones follow the region and subnets scale with a smaller VPC", () => {
    const config = resolveConfig({ region: "us-east-2", network: { vpcCidr: "172.20.0.0/20", availabilityZones: ["us-east-2a", "us-east-2b"] } });
    expect(config.network.privateSubnetCidrs).toEqual(["172.20.0.0/23", "172.20.2.0/23"]);
    expect(config.network.publicSubnetCidrs).toEqual(["172.20.14.0/28", "172.20.14.16/28"]);
  });

  test("explicit subnets are kept as given", () => {
    const network = { vpcCidr: "10.1.0.0/24", availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.1.0.0/28", "10.1.0.16/28"], privateSubnetCidrs: ["10.1.0.128/26", "10.1.0.192/26"] };
    expect(resolveConfig({ network }).network).toMatchObject(network);
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
    ["malformed k3s version", { k3sVersion: "1.33.5" }, 'k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"'],
    ["unknown top-level key", { regoin: "eu-west-1" }, '(top level): unknown key "regoin"'],
    ["unknown nested key", { agents: { maxsize: 3 } }, 'agents: unknown key "maxsize"'],
    ["unknown environment", { environment: "production" }, 'environment: Invalid option: expected one of "dev"|"staging"|"prod"'],
    ["bad region", { region: "europe" }, 'region: must be an AWS region such as "eu-west-1"'],
    ["mixed architectures", { agents: { instanceTypes: ["t4g.large", "m7i.large"] } }, 'agents.instanceTypes[1]: "m7i.large" is x86_64 but servers.instanceType "t4g.medium" is arm64; the cluster uses one architecture and one AMI'],
    ["public API without admin networks", { api: { publicAccess: true } }, "api.adminCidrs: at least one CIDR is required when api.publicAccess is true"],
    ["public API open to the world", { api: { publicAccess: true, adminCidrs: ["0.0.0.0/0"] } }, "api.adminCidrs[0]: 0.0.0.0/0 would open the Kubernetes API to the whole internet; list your admin networks"],
    ["cluster name with capitals", { clusterName: "Prod_Cluster" }, "clusterName: must be 2-20 characters of a-z, 0-9 and '-', starting with a letter"],
    ["reserved tag prefix", { tags: { "aws:owner": "me" } }, "tags.aws:owner: tag keys are 1-128 characters and must not start with aws:"],
    ["storage ceiling below allocation", { database: { allocatedStorageGb: 200, maxAllocatedStorageGb: 100 } }, "database.maxAllocatedStorageGb: (100) must not be below database.allocatedStorageGb (200)"],
    ["backups switched off", { database: { backupRetentionDays: 0 } }, "database.backupRetentionDays: must be between 1 and 35 (automated backups stay on)"],
    ["wrong type", { agents: { maxSize: "10" } }, "agents.maxSize: Invalid input: expected number, received string"],
  ];

  test.each(cases)("%s", (_name, input, message) => {
    expect(problemsOf(input)).toContain(message);
  });

  test("every problem is reported at once", () => {
    expect(problemsOf({ agents: { minSize: 5, maxSize: 2 }, k3sVersion: "latest", regoin: "x" })).toHaveLength(2);
    expect(problemsOf({ servers: { count: 1 }, agents: { minSize: 5, maxSize: 2 } })).toHaveLength(2);
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
