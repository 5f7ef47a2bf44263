// The schema's single-field rules at their edges: each numeric bound just inside and just outside, each pattern with
// junk before and after a valid value, each enum member, with the exact message the user sees. Every bound and list
// below is written out from its source (AWS API references, RFC 1035, the AWS SDK's partition table, the README's
// Configuration table), never imported from config/schema.ts, so a wrong bound there fails here.
import { problemsOf } from "./support/config-problems";
import { resolveConfig } from "../config/resolve";


/** `{ a: { b: value } }` for the field "a.b". */
function configWith(field: string, value: unknown): Record<string, unknown> {
  return field
    .split(".")
    .reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/** The resolved value of the field "a.b". */
function resolvedAt(field: string, input: unknown): unknown {
  return field.split(".").reduce<any>((node, key) => node[key], resolveConfig(input));
}

describe("numeric bounds: the value at each edge is kept, the one beyond it refused with its message", () => {
  // [field, lowest accepted, highest accepted, message below, message above, source]
  const bounds: [string, number, number, string, string, string][] = [
    // README, Configuration: agents added per run at most, 1-50.
    ["automation.maxScaleUpStep", 1, 50, "must be at least 1", "Too big: expected number to be <=50", "README"],
    // README, Configuration: a requested share of allocatable, 1-100 %.
    ["automation.scaleDownUtilizationPercent", 1, 100, "must be between 1 and 100", "must be between 1 and 100", "README"],
    // README, Configuration: 1 minute to one day (1440 minutes).
    ["automation.scaleDownWindowMinutes", 1, 1440, "Too small: expected number to be >=1", "Too big: expected number to be <=1440", "README"],
    // README, Configuration: no cooldown to one day.
    ["automation.cooldownMinutes", 0, 1440, "Too small: expected number to be >=0", "Too big: expected number to be <=1440", "README"],
    // README, Configuration: at least 5 (a new agent takes minutes to become Ready), at most one day.
    [
      "automation.notReadyReplaceMinutes",
      5,
      1440,
      "must be at least 5 (a new agent takes minutes to become Ready)",
      "Too big: expected number to be <=1440",
      "README",
    ],
    // RDS CreateDBInstance, BackupRetentionPeriod: "Must be a value from 0 to 35"; "Setting this parameter to 0
    // disables automated backups", which the cluster never does.
    ["database.backupRetentionDays", 1, 35, "must be between 1 and 35 (automated backups stay on)", "must be between 1 and 35 (automated backups stay on)", "RDS API"],
    // EC2 Auto Scaling InstancesDistribution, OnDemandPercentageAboveBaseCapacity: 0-100.
    ["agents.onDemandPercentageAboveBaseCapacity", 0, 100, "must be between 0 and 100", "must be between 0 and 100", "EC2 Auto Scaling API"],
  ];

  describe.each(bounds)("%s", (field, lowest, highest, below, above) => {
    test.each([lowest, highest])("%d is accepted", (value) => {
      expect(resolvedAt(field, configWith(field, value))).toBe(value);
    });

    test.each([
      [lowest - 1, below],
      [highest + 1, above],
    ])("%d is refused", (value, message) => {
      expect(problemsOf(configWith(field, value))).toEqual([`${field}: ${message}`]);
    });
  });
});

describe("automation.pollSeconds: off (0) or a pass every 5 to 30 seconds", () => {
  // README, Configuration; cluster-autoscaler's --scan-interval (10s by default) is inside the range.
  test.each([0, 5, 10, 30])("%d is accepted", (seconds) => {
    expect(resolvedAt("automation.pollSeconds", configWith("automation.pollSeconds", seconds))).toBe(seconds);
  });
  test.each([-1, 1, 4, 31, 60, 7.5])("%d is refused", (seconds) => {
    const expected = Number.isInteger(seconds) ? "must be 0 (one pass per run) or between 5 and 30" : "Invalid input: expected int, received number";
    expect(problemsOf(configWith("automation.pollSeconds", seconds))).toEqual([`automation.pollSeconds: ${expected}`]);
  });
});

describe("CloudWatch Logs retention periods are the values PutRetentionPolicy accepts", () => {
  // CloudWatch Logs API reference, PutRetentionPolicy, retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, 60,
  // 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653."
  const DOCUMENTED = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
  // Next to a documented value, and a day out for the values (1096, 3653) that are whole years plus a leap day.
  const UNDOCUMENTED = [0, 2, 4, 6, 8, 13, 15, 29, 31, 364, 366, 730, 732, 1095, 1097, 1826, 3652, 3654, -1];
  const fields: [string, string][] = [
    ["network.flowLogRetentionDays", "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)"],
    ["database.logRetentionDays", "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, ...)"],
    ["automation.logRetentionDays", "must be a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, ...)"],
  ];

  describe.each(fields)("%s", (field, message) => {
    test.each(DOCUMENTED)("%d days is accepted", (days) => {
      expect(resolvedAt(field, configWith(field, days))).toBe(days);
    });

    test.each(UNDOCUMENTED)("%d days is refused", (days) => {
      expect(problemsOf(configWith(field, days))).toEqual([`${field}: ${message}`]);
    });
  });
});

describe("enum members are each accepted and resolved as written", () => {
  // "single" in a highly available cluster and "per-az" in dev are each the non-default choice.
  test.each([
    ["prod", "single"],
    ["prod", "per-az"],
    ["dev", "per-az"],
    ["dev", "single"],
  ])("network.natMode %s in %s", (environment, natMode) => {
    expect(resolveConfig({ environment, network: { natMode } }).network.natMode).toBe(natMode);
  });

  test.each(["none", "per-AZ", "", "Single"])("network.natMode %j is refused", (natMode) => {
    expect(problemsOf({ network: { natMode } })).toEqual(['network.natMode: Invalid option: expected one of "per-az"|"single"']);
  });
});

describe("patterns are matched whole: a valid value with anything before or after it is refused", () => {
  const INSTANCE_TYPE = 'must be an EC2 instance type such as "t4g.medium"';
  // EC2 instance types are <family>.<size>; the high-memory families carry a hyphen (u-6tb1.metal).
  test.each(["t4g.medium", "m7gd.16xlarge", "c6gn.xlarge", "u-6tb1.metal", "m7i.large"])("instance type %s is accepted", (type) => {
    const config = resolveConfig({ servers: { instanceType: type }, agents: { instanceTypes: [type] } });
    expect([config.servers.instanceType, config.agents.instanceTypes]).toEqual([type, [type]]);
  });

  test.each([" t4g.medium", "T4g.medium", "ec2:t4g.medium", "t4g.medium ", "t4g.medium\n", "t4g.medium,m7g.large", "t4g.medium/2", "t4g", "t4g."])(
    "instance type %j is refused",
    (type) => {
      expect(problemsOf({ servers: { instanceType: type } })).toEqual([`servers.instanceType: ${INSTANCE_TYPE}`]);
      expect(problemsOf({ agents: { instanceTypes: ["t4g.large", type] } })).toEqual([`agents.instanceTypes.1: ${INSTANCE_TYPE}`]);
    },
  );

  test("an empty agents' instance type list is refused", () => {
    expect(problemsOf({ agents: { instanceTypes: [] } })).toEqual(["agents.instanceTypes: needs at least one instance type"]);
  });

  // k3s release tags are v<Kubernetes version>+k3s<revision> (github.com/k3s-io/k3s/releases); the revision is a
  // number, compared as one: k3s10 is newer than k3s9.
  test("a k3s revision of two digits is accepted and compared as a number", () => {
    const config = resolveConfig({ k3sVersion: "v1.33.5+k3s10", agents: { k3sVersion: "v1.33.5+k3s9" } });
    expect([config.k3sVersion, config.agents.k3sVersion]).toEqual(["v1.33.5+k3s10", "v1.33.5+k3s9"]);
    expect(problemsOf({ k3sVersion: "v1.33.5+k3s9", agents: { k3sVersion: "v1.33.5+k3s10" } })).toEqual([
      "agents.k3sVersion: (v1.33.5+k3s10) is newer than k3sVersion (v1.33.5+k3s9), the servers' release; a kubelet must not be newer than the API server, so upgrade the servers first",
    ]);
  });

  test.each([" v1.33.5+k3s1", "k3s-v1.33.5+k3s1", "v1.33.5+k3s1 ", "v1.33.5+k3s1\n", "v1.33.5+k3s1-rc1", "v1.33.5+k3s"])("k3s release %j is refused", (version) => {
    expect(problemsOf({ agents: { k3sVersion: version } })).toEqual(['agents.k3sVersion: must be a k3s release tag such as "v1.33.5+k3s1"']);
  });

  const REGION = 'region: must be an AWS region such as "eu-west-1"';
  // The AWS SDK's partitions.json matches regions of the aws partition with ^(us|eu|ap|...)\-\w+\-\d+$ and those of
  // aws-us-gov with ^us\-gov\-\w+\-\d+$: the number is one or more digits.
  test.each(["eu-west-10", "us-gov-west-12"])("region %s, with a number of two digits, is accepted", (region) => {
    expect(resolveConfig({ region }).region).toBe(region);
  });

  test.each(["eu-west-1a", "eu-west-1 ", "eu-west-1\n", "eu-west-1,us-east-1", " eu-west-1", "aws:eu-west-1"])("region %j is refused", (region) => {
    expect(problemsOf({ region })).toEqual([REGION]);
  });

  // The DNS name the certificate gets is "k3s.<domain>". RFC 1035 (2.3.4): labels of at most 63 octets; a name of at
  // most 255 octets on the wire, which is 253 characters written out (ACM RequestCertificate: "The maximum length of
  // a DNS name is 253 octets"). So the domain has at most 253 - "k3s.".length = 249 characters.
  const DOMAIN = 'api.domain: must be a lower-case DNS domain such as "example.com"';
  const label = (letter: string, length: number) => letter.repeat(length);
  const domainOf = (length: number) => {
    const fixed = `${label("a", 63)}.${label("b", 63)}.${label("c", 63)}.`;
    return `${fixed}${label("d", length - fixed.length - ".com".length)}.com`;
  };

  test("the longest domain whose k3s name is still a DNS name (249 characters) is accepted, one more is refused", () => {
    expect(domainOf(249)).toHaveLength(249);
    expect(`k3s.${domainOf(249)}`).toHaveLength(253);
    expect(resolveConfig({ api: { domain: domainOf(249) } }).api.domain).toBe(domainOf(249));
    expect(problemsOf({ api: { domain: domainOf(250) } })).toEqual([DOMAIN]);
  });

  test.each([
    "example.com",
    "k3s-api.example.co.uk",
    "x.example.com",
    "123.example.com",
    `${label("a", 63)}.example.com`,
    `example.${label("z", 63)}`,
    "a-b.io",
  ])("domain %s is accepted", (domain) => {
    expect(resolveConfig({ api: { domain } }).api.domain).toBe(domain);
  });

  test.each([
    "Example.com",
    "EXAMPLE.COM",
    " example.com",
    "https://example.com",
    "*.example.com",
    "-example.com",
    "example-.com",
    "exa_mple.com",
    "example..com",
    "example.com.",
    "example.com ",
    "example.com:443",
    "example.com/api",
    "example",
    "example.c",
    "example.c0m",
    `${label("a", 64)}.example.com`,
    `example.${label("z", 64)}`,
  ])("domain %j is refused", (domain) => {
    expect(problemsOf({ api: { domain } })).toEqual([DOMAIN]);
  });

  // RDS DB instance classes are db.<class>.<size> (RDS User Guide, "DB instance classes").
  const INSTANCE_CLASS = 'database.instanceClass: must be an RDS instance class such as "db.t4g.small"';
  test.each(["db.t4g.small", "db.t3.micro", "db.m7g.16xlarge", "db.r6gd.xlarge", "db.x2g.large"])("instance class %s is accepted", (instanceClass) => {
    expect(resolveConfig({ database: { instanceClass } }).database.instanceClass).toBe(instanceClass);
  });

  test.each(["t4g.small", "rds.db.t4g.small", " db.t4g.small", "db.t4g.small ", "db.t4g.small\n", "db.t4g.small,db.t4g.large", "db.t4g", "db..small", "db.t4g.", "DB.T4G.SMALL"])(
    "instance class %j is refused",
    (instanceClass) => {
      expect(problemsOf({ database: { instanceClass } })).toEqual([INSTANCE_CLASS]);
    },
  );

  // AL2023 "Naming and versioning": releases are 2023.<minor>.<YYYYMMDD>, the minor "an increment from 0 to N", and
  // AMIs al2023-ami-<release>.<n>-kernel-6.1-<arch>; a user may paste the AMI name, or a part of it, instead.
  const RELEASE = 'nodeImage.release: must be an Amazon Linux 2023 release such as "2023.9.20251105.0" (2023.<minor>.<YYYYMMDD>.<n>)';
  test.each(["2023.10.20260105.0", "2023.3.20240131.0", "2023.9.20251105.12", "2023.2.20231018.2"])("release %s is accepted", (release) => {
    expect(resolveConfig({ nodeImage: { release } }).nodeImage.release).toBe(release);
  });

  test.each(["al2023-ami-2023.9.20251105.0", "2023.9.20251105.0-kernel-6.1-arm64", " 2023.9.20251105.0", "2023.9.20251105.0 ", "2023.9.20251132.0", "2023.9.20251100.0", "2023.9.20251135.0"])(
    "release %j is refused",
    (release) => {
      expect(problemsOf({ nodeImage: { release } })).toEqual([RELEASE]);
    },
  );

  // An EC2 key pair imports one OpenSSH public key line: "<type> <base64 key> [comment]" (EC2 ImportKeyPair; the
  // authorized_keys options that may precede a key there are not part of a public key).
  const KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIC+8C0hCdw2TKU7XU+raN4lFLOW3yd1QvwI+cb976+WD";
  const SSH = "sshPublicKey: must be an OpenSSH public key line";
  test.each([`ssh-ed25519 ${KEY}`, `ssh-ed25519 ${KEY} ops@example.com`, `ssh-ed25519 ${KEY} ops laptop 2026`, `ecdsa-sha2-nistp384 ${KEY}`, `ssh-rsa ${KEY}=`])(
    "key %j is accepted",
    (sshPublicKey) => {
      expect(resolveConfig({ sshPublicKey }).sshPublicKey).toBe(sshPublicKey);
    },
  );

  test.each([
    `from="10.0.0.0/8" ssh-ed25519 ${KEY}`,
    ` ssh-ed25519 ${KEY}`,
    `ssh-ed25519 ${KEY}\n`,
    `ssh-ed25519 ${KEY}\nssh-ed25519 ${KEY}`,
    `ssh-ed25519 ${KEY} ops\nssh-rsa ${KEY}`,
    `ssh-ed25519 ${KEY}!`,
    `ssh-ed25519 ${KEY}\tops`,
    `ssh-dss ${KEY}`,
    `ssh-ed25519  ${KEY}`,
    "ssh-ed25519",
  ])("key %j is refused", (sshPublicKey) => {
    expect(problemsOf({ sshPublicKey })).toEqual([SSH]);
  });
});

describe("messages of the remaining single-field rules", () => {
  test.each(["ops", "ops@", "@example.com", "ops example.com"])("notification address %j is refused", (notificationEmail) => {
    expect(problemsOf({ automation: { notificationEmail } })).toEqual(["automation.notificationEmail: must be an e-mail address"]);
  });

  test("a notification address is kept", () => {
    expect(resolveConfig({ automation: { notificationEmail: "ops@example.com" } }).automation.notificationEmail).toBe("ops@example.com");
  });
});

describe("admin networks up to a /8 are accepted", () => {
  // README, Configuration: api.adminCidrs are admin networks, "/8 or narrower".
  test("a /8 is accepted and a /7 refused", () => {
    expect(resolveConfig({ api: { publicAccess: true, adminCidrs: ["10.0.0.0/8"] } }).api.adminCidrs).toEqual(["10.0.0.0/8"]);
    expect(problemsOf({ api: { publicAccess: true, adminCidrs: ["10.0.0.0/7"] } })).toEqual([
      "api.adminCidrs[0]: 10.0.0.0/7 would open the Kubernetes API to 33554432 addresses; list your admin networks (/8 or narrower)",
    ]);
  });
});
