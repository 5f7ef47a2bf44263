// The cross-field rules of the edge, storage, cluster policy, backups and monitoring settings, through resolveConfig
// alone (no synthesis, so `npm run mutate` runs this suite for every mutant of config/resolve.ts). Expected messages
// and values are written out with their sources (ACM, Route 53, ELB, VPC and RDS documentation, the EBS CSI driver's
// validation), never imported from the modules under test.
import { problemsOf } from "./support/config-problems";
import { resolveConfig } from "../config/resolve";
import { instanceMemoryGib } from "../config/rds-max-connections";
import { hostedZoneReference } from "../config/schema";

const zone = "example.com";
const edge = (extra: Record<string, unknown> = {}) => ({ hostedZone: zone, fqdn: `apps.${zone}`, ...extra });
const webAclArn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0123abcd-0123-4567-89ab-0123456789ab";

describe("edge: the DNS pair, the API's one name, ACM's name length", () => {
  test("a hosted zone without a name, and a name without a zone, are each refused", () => {
    expect(problemsOf({ edge: { hostedZone: zone } })).toEqual(["edge.fqdn: is required with edge.hostedZone: the name the applications are served at"]);
    expect(problemsOf({ edge: { fqdn: `apps.${zone}` } })).toEqual(["edge.hostedZone: is required with edge.fqdn: the public Route 53 hosted zone its records go in"]);
  });

  test.each([
    ["the zone's apex", zone],
    ["a name inside the zone", `apps.${zone}`],
    ["a name two labels down", `a.b.${zone}`],
  ])("%s is inside the hosted zone named by its domain", (_case, fqdn) => {
    expect(resolveConfig({ edge: { hostedZone: zone, fqdn } }).edge.fqdn).toBe(fqdn);
  });

  test.each([
    ["another domain", "apps.example.org"],
    // Ends with the zone's text but not at a label boundary: Route 53 would refuse the record in that zone.
    ["a look-alike suffix", "appsexample.com"],
    ["a parent of the zone", "com.example"],
  ])("%s is refused when the zone is named by its domain", (_case, fqdn) => {
    expect(problemsOf({ edge: { hostedZone: zone, fqdn } })).toEqual([`edge.fqdn: "${fqdn}" is not inside the hosted zone "${zone}"; use a name ending in ".${zone}"`]);
  });

  test("a zone given by ID cannot be compared with the name at synth, so any name is taken", () => {
    expect(resolveConfig({ edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.org" } }).edge.hostedZone).toBe("Z0123456789ABCDEFGHIJ");
  });

  test("the API is k3s.<fqdn> with the edge on, k3s.<api.domain> without it, and nameless with neither", () => {
    expect(resolveConfig({ edge: edge() }).apiHostName).toBe("k3s.apps.example.com");
    expect(resolveConfig({ edge: edge(), api: { domain: "apps.example.com" } }).apiHostName).toBe("k3s.apps.example.com");
    expect(resolveConfig({ api: { domain: "corp.example.net" } }).apiHostName).toBe("k3s.corp.example.net");
    expect("apiHostName" in resolveConfig({})).toBe(false);
  });

  test("the site (zone, applications' name, API's name) exists exactly when both edge.hostedZone and edge.fqdn are set", () => {
    expect(resolveConfig({ edge: edge() }).site).toEqual({ hostedZone: "example.com", fqdn: "apps.example.com", apiHostName: "k3s.apps.example.com" });
    // api.domain names the API in its certificate only: no zone, so no site.
    expect("site" in resolveConfig({ api: { domain: "corp.example.net" } })).toBe(false);
    expect("site" in resolveConfig({})).toBe(false);
  });

  test("api.domain naming another name than edge.fqdn is refused: the API has one name", () => {
    expect(problemsOf({ edge: edge(), api: { domain: "corp.example.net" } })).toEqual([
      'api.domain: ("corp.example.net") contradicts edge.fqdn ("apps.example.com"): the API\'s name is k3s.<edge.fqdn> ("k3s.apps.example.com"), which this project creates; remove api.domain',
    ]);
  });

  test("ACM's 64-character limit on a certificate's domain name (ACM API reference, RequestCertificate)", () => {
    const at64 = `${"a".repeat(52)}.${zone}`;
    const at65 = `${"a".repeat(53)}.${zone}`;
    expect(at64).toHaveLength(64);
    expect(resolveConfig({ edge: { hostedZone: zone, fqdn: at64 } }).edge.fqdn).toBe(at64);
    expect(problemsOf({ edge: { hostedZone: zone, fqdn: at65 } })).toEqual([
      "edge.fqdn: is 65 characters; ACM issues a certificate for a name of at most 64 (its Common Name), so choose a shorter name",
    ]);
  });

  test("a refused hosted zone silences the rules that read it; its own problem is listed", () => {
    expect(problemsOf({ edge: { hostedZone: "Example.com", fqdn: "apps.example.org" } })).toEqual([
      'edge.hostedZone: must be a Route 53 hosted zone ID such as "Z0123456789ABCDEFGHIJ" or a domain such as "example.com"',
    ]);
  });
});

describe("edge.cloudFront", () => {
  test("a web ACL or an existing distribution without CloudFront on is refused, not silently ignored", () => {
    expect(problemsOf({ edge: edge({ cloudFront: { webAclArn } }) })).toEqual(["edge.cloudFront.webAclArn: is set but edge.cloudFront.enabled is false; enable CloudFront or remove it"]);
    expect(problemsOf({ edge: edge({ cloudFront: { existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } }) })).toEqual([
      "edge.cloudFront.existingDistributionDomainName: is set but edge.cloudFront.enabled is false; enable CloudFront or remove it",
    ]);
  });

  test("CloudFront needs a name to serve", () => {
    expect(problemsOf({ edge: { cloudFront: { enabled: true } } })).toEqual([
      "edge.cloudFront.enabled: needs edge.hostedZone and edge.fqdn: the distribution and its origin serve edge.fqdn with an ACM certificate",
    ]);
  });

  test("a web ACL and an existing distribution are taken one at a time, and each alone is accepted", () => {
    expect(problemsOf({ edge: edge({ cloudFront: { enabled: true, webAclArn, existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } }) })).toEqual([
      "edge.cloudFront.webAclArn: applies to the distribution this project creates; with edge.cloudFront.existingDistributionDomainName attach the web ACL to your distribution instead",
    ]);
    expect(resolveConfig({ edge: edge({ cloudFront: { enabled: true, webAclArn } }) }).edge.cloudFront.webAclArn).toBe(webAclArn);
    expect(resolveConfig({ edge: edge({ cloudFront: { enabled: true, existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } }) }).edge.cloudFront.enabled).toBe(true);
  });

  // CloudFront and its us-east-1 certificates are not offered in the China or GovCloud (US) partitions.
  test.each([
    ["cn-north-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"],
  ])("in %s (%s) CloudFront is refused", (region, partition) => {
    expect(problemsOf({ region, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      `edge.cloudFront.enabled: CloudFront with a us-east-1 certificate is not available in the ${partition} partition (region ${region})`,
    ]);
  });

  // Block storage's controller role trusts an issuer served from CloudFront's own domain (modules/workload-identity).
  test.each([
    ["cn-north-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"],
  ])("in %s (%s) block storage is refused; in the aws partition it is not", (region, partition) => {
    expect(problemsOf({ region, storage: { blockStorage: { enabled: true } } })).toEqual([
      `storage.blockStorage.enabled: needs CloudFront's default domain for the service-account issuer the EBS CSI controller's role trusts, which the ${partition} partition (region ${region}) does not offer`,
    ]);
    expect(resolveConfig({ region: "eu-west-1", storage: { blockStorage: { enabled: true } } }).storage.blockStorage.enabled).toBe(true);
  });

  // ELB: an Application Load Balancer's subnets need "at least a /27 bitmask". A /20 VPC derives /28 public subnets
  // (the top eighth of the VPC, split 32 ways), a /19 VPC /27 ones.
  test("the origin load balancer needs /27 public subnets: a /19 VPC gives them, a /20 does not", () => {
    expect(resolveConfig({ network: { vpcCidr: "10.0.0.0/19" }, edge: edge({ cloudFront: { enabled: true } }) }).network.publicSubnetCidrs).toEqual(["10.0.28.0/27", "10.0.28.32/27", "10.0.28.64/27"]);
    expect(problemsOf({ network: { vpcCidr: "10.0.0.0/20" }, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      "edge.cloudFront.enabled: needs public subnets of at least /27 for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but the public subnets derived from network.vpcCidr (10.0.0.0/20) are 10.0.14.0/28, 10.0.14.16/28, 10.0.14.32/28; use a /19 or larger VPC, or list network.publicSubnetCidrs of /27 or larger",
    ]);
    // The same VPC is fine without CloudFront: network load balancers take any subnet.
    expect(resolveConfig({ network: { vpcCidr: "10.0.0.0/20" } }).network.publicSubnetCidrs).toEqual(["10.0.14.0/28", "10.0.14.16/28", "10.0.14.32/28"]);
  });

  test("listed public subnets smaller than /27 are named", () => {
    const network = { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/27", "10.0.0.32/28"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] };
    expect(problemsOf({ network, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      "edge.cloudFront.enabled: needs public subnets of at least /27 for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but network.publicSubnetCidrs has 10.0.0.32/28; list subnets of /27 or larger",
    ]);
  });

  // Amazon VPC quotas: 60 inbound rules per group; the CloudFront origin-facing prefix list weighs 55. Each admin
  // network takes 2 (ports 80 and 443), so 2 networks fit (59) and 3 do not (61).
  test("admin networks beyond the origin security group's rule quota are refused", () => {
    const two = ["203.0.113.0/24", "198.51.100.0/24"];
    expect(resolveConfig({ api: { adminCidrs: two }, edge: edge({ cloudFront: { enabled: true } }) }).api.adminCidrs).toEqual(two);
    expect(problemsOf({ api: { adminCidrs: [...two, "192.0.2.0/24"] }, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      "api.adminCidrs: 3 networks are too many with edge.cloudFront.enabled: the origin load balancer's security group would need 61 rules (the CloudFront prefix list counts 55, each network 2), more than the 60 a group may hold; list at most 2",
    ]);
    // Without CloudFront no group holds the prefix list.
    expect(resolveConfig({ api: { adminCidrs: [...two, "192.0.2.0/24"] }, edge: edge() }).api.adminCidrs).toHaveLength(3);
  });
});

describe("storage", () => {
  test("the default class is gp3 with block storage and efs without; an explicit efs is kept", () => {
    expect(resolveConfig({}).storage.defaultStorageClass).toBe("efs");
    expect(resolveConfig({ storage: { blockStorage: { enabled: true } } }).storage.defaultStorageClass).toBe("gp3");
    expect(resolveConfig({ storage: { blockStorage: { enabled: true }, defaultStorageClass: "efs" } }).storage.defaultStorageClass).toBe("efs");
  });

  test("gp3 as the default class needs the driver that makes it", () => {
    expect(problemsOf({ storage: { defaultStorageClass: "gp3" } })).toEqual([
      'storage.defaultStorageClass: "gp3" needs storage.blockStorage.enabled, which deploys the EBS CSI driver and the gp3 StorageClass',
    ]);
  });

  // aws-ebs-csi-driver pkg/driver/validation.go (validateExtraTags): keys with the kubernetes.io/ or ebs.csi.aws.com/
  // prefix, CSIVolumeName and CSIVolumeSnapshotName are refused as extra tags.
  test.each(["kubernetes.io/created-for/pvc/name", "ebs.csi.aws.com/cluster", "CSIVolumeName", "CSIVolumeSnapshotName"])("with block storage the reserved tag key %s is refused", (key) => {
    expect(problemsOf({ storage: { blockStorage: { enabled: true } }, tags: { [key]: "x" } })).toEqual([
      `tags: "${key}" is a tag key the EBS CSI driver reserves ("kubernetes.io/...", "ebs.csi.aws.com/...", CSIVolumeName, CSIVolumeSnapshotName); with storage.blockStorage.enabled it would refuse every volume`,
    ]);
    expect(resolveConfig({ tags: { [key]: "x" } }).tags[key]).toBe("x");
  });

  test("tag keys that only resemble the reserved ones are kept", () => {
    const tags = { "team/kubernetes.io": "x", "ebs.csi.aws.com": "x", CSIVolumeNames: "x", Owner: "x" };
    expect(resolveConfig({ storage: { blockStorage: { enabled: true } }, tags }).tags).toEqual(tags);
  });
});

describe("clusterPolicy.auditLog: what stays on a server's disk", () => {
  // README, Cluster policy: (maxBackups + 1) x maxSizeMb at most 10240 MB, a quarter of the 40 GiB root volume.
  test("10240 MB is kept, one MB more refused", () => {
    expect(resolveConfig({ clusterPolicy: { auditLog: { maxBackups: 9, maxSizeMb: 1024 } } }).clusterPolicy.auditLog).toMatchObject({ maxBackups: 9, maxSizeMb: 1024 });
    expect(problemsOf({ clusterPolicy: { auditLog: { maxBackups: 10, maxSizeMb: 931 } } })).toEqual([
      "clusterPolicy.auditLog.maxSizeMb: (931) with clusterPolicy.auditLog.maxBackups (10) keeps up to 10241 MB of audit log on each server; at most 10240 MB fit beside k3s on its disk",
    ]);
  });

  test("with the audit log off, its rotation settings take no disk and are not checked", () => {
    expect(resolveConfig({ clusterPolicy: { auditLog: { enabled: false, maxBackups: 100, maxSizeMb: 1024 } } }).clusterPolicy.auditLog.enabled).toBe(false);
  });

  test("a refused maxBackups silences the disk rule", () => {
    expect(problemsOf({ clusterPolicy: { auditLog: { maxBackups: 0, maxSizeMb: 1024 } } })).toEqual(["clusterPolicy.auditLog.maxBackups: must be between 1 and 100"]);
  });
});

describe("backups", () => {
  test.each([
    ["dev", false],
    ["staging", true],
    ["prod", true],
  ])("in %s backups default to %s, and an explicit setting wins", (environment, enabled) => {
    expect(resolveConfig({ environment }).backups.enabled).toBe(enabled);
    expect(resolveConfig({ environment, backups: { enabled: !enabled } }).backups.enabled).toBe(!enabled);
  });

  test("a copy in the cluster's own region is refused", () => {
    expect(problemsOf({ region: "eu-west-1", backups: { copyRegion: "eu-west-1" } })).toEqual([
      "backups.copyRegion: must differ from region (eu-west-1); a copy in the same region does not survive the region's loss",
    ]);
  });

  // AWS Backup: cross-region copy is not supported between partitions (AWS Backup feature availability).
  test.each([
    ["eu-west-1", "cn-north-1", "aws-cn", "aws"],
    ["us-gov-west-1", "us-east-1", "aws", "aws-us-gov"],
  ])("from %s a copy to %s is refused: another partition", (region, copyRegion, copyPartition, partition) => {
    expect(problemsOf({ region, backups: { copyRegion } })).toEqual([
      `backups.copyRegion: "${copyRegion}" is in partition ${copyPartition} but region "${region}" is in ${partition}; AWS Backup copies within one partition`,
    ]);
  });

  test.each([
    ["eu-west-1", "eu-central-1"],
    ["us-gov-west-1", "us-gov-east-1"],
    ["cn-north-1", "cn-northwest-1"],
  ])("from %s a copy to %s is kept", (region, copyRegion) => {
    expect(resolveConfig({ region, backups: { copyRegion } }).backups.copyRegion).toBe(copyRegion);
  });
});

describe("monitoring.databaseMaxConnections: RDS PostgreSQL's LEAST({DBInstanceClassMemory/9531392},5000)", () => {
  // Memory per class from the RDS User Guide, "Hardware specifications for DB instance classes"; the quotient
  // worked out by hand: floor(GiB x 1073741824 / 9531392).
  test.each([
    ["db.t4g.micro", 112], // 1 GiB
    ["db.t3.small", 225], // 2 GiB
    ["db.t4g.small", 225], // 2 GiB
    ["db.t3.2xlarge", 3604], // 32 GiB
    ["db.m5.large", 901], // 2 vCPU, 8 GiB
    ["db.m4.xlarge", 1802], // 4 vCPU, 16 GiB
    ["db.m7g.2xlarge", 3604], // 8 vCPU, 32 GiB
    ["db.r6g.large", 1802], // 2 vCPU, 16 GiB
    ["db.r5b.xlarge", 3604], // 4 vCPU, 32 GiB
    ["db.r7g.2xlarge", 5000], // 64 GiB: 7208, capped at 5000
    ["db.x2g.large", 3604], // 2 vCPU, 32 GiB
  ])("%s defaults to %d", (instanceClass, maxConnections) => {
    expect(resolveConfig({ database: { instanceClass } }).monitoring.databaseMaxConnections).toBe(maxConnections);
  });

  test("a class name not of the form db.<family>.<size> has no known memory", () => {
    for (const instanceClass of ["m5.large", "db.m5", "db.m5.large.x", "db.M5.large"]) expect(instanceMemoryGib(instanceClass)).toBeUndefined();
    expect(instanceMemoryGib("db.m5.large")).toBe(8);
  });

  test("a configured value wins over the derived one", () => {
    expect(resolveConfig({ database: { instanceClass: "db.m5.large" }, monitoring: { databaseMaxConnections: 400 } }).monitoring.databaseMaxConnections).toBe(400);
  });

  // r4 (15.25 GiB per large), m3, x2gd, t2 and metal sizes follow no rule the table knows.
  test.each(["db.r4.large", "db.m3.large", "db.x2gd.large", "db.t2.micro", "db.m5.metal", "db.t3.nano"])("%s needs it set while alarms are on", (instanceClass) => {
    expect(problemsOf({ database: { instanceClass } })).toEqual([
      `monitoring.databaseMaxConnections: is required with monitoring.alarms when database.instanceClass ("${instanceClass}") has no known memory size (config/rds-max-connections.ts knows t3, t4g, m4 and later, r5 and later, x2g); set it to the instance's max_connections (SHOW max_connections)`,
    ]);
    expect(resolveConfig({ database: { instanceClass }, monitoring: { databaseMaxConnections: 300 } }).monitoring.databaseMaxConnections).toBe(300);
    const withoutAlarms = resolveConfig({ database: { instanceClass }, monitoring: { alarms: false } });
    expect(withoutAlarms.monitoring.databaseMaxConnections).toBeUndefined();
  });
});

// k3s-io/docs docs/release-notes: v1.30.0+k3s1 ships Traefik v2.10.7 (v1.30.X.md), v1.28.2+k3s1 Traefik 2.9.10; the
// traefik.io API group of the origin header's Middleware is served from Traefik 2.10 on (Traefik migration docs, v2.9 to v2.10).
describe("CloudFront's origin-header Middleware needs a k3s whose Traefik is 2.10 or later", () => {
  const behindCloudFront = (k3sVersion: string) => ({ k3sVersion, agents: { k3sVersion }, edge: edge({ cloudFront: { enabled: true } }) });

  test.each(["v1.29.15+k3s1", "v1.28.2+k3s1"])("%s is refused with CloudFront", (k3sVersion) => {
    expect(problemsOf(behindCloudFront(k3sVersion))).toEqual([
      `k3sVersion: (${k3sVersion}) may ship a Traefik older than 2.10, which refuses the traefik.io Middleware that removes the CloudFront origin header, leaving every application unreachable; with edge.cloudFront.enabled use v1.30.0+k3s1 or later`,
    ]);
  });

  test.each(["v1.30.0+k3s1", "v1.31.4+k3s1", "v1.35.2+k3s1"])("%s is accepted with CloudFront", (k3sVersion) => {
    expect(resolveConfig(behindCloudFront(k3sVersion)).k3sVersion).toBe(k3sVersion);
  });

  test("without CloudFront an older release is accepted: TLS at the load balancer redirects with Traefik's own arguments, read alike by Traefik 2 and 3", () => {
    expect(resolveConfig({ k3sVersion: "v1.29.15+k3s1", agents: { k3sVersion: "v1.29.15+k3s1" }, edge: edge() }).k3sVersion).toBe("v1.29.15+k3s1");
  });
});

describe("a rule that reads a refused field stays silent when the default standing in would trip it", () => {
  const zones = ["eu-west-1a", "eu-west-1b"];
  const privateSubnetCidrs = ["10.0.0.0/23", "10.0.2.0/23"];
  test.each<[string, unknown, string[]]>([
    ["monitoring.alarms, read for the connections alarm's max_connections", { database: { instanceClass: "db.r4.large" }, monitoring: { alarms: "no" } }, ["monitoring.alarms: Invalid input: expected boolean, received string"]],
    ["addons.monitoring.enabled, read for Prometheus's volume settings", { addons: { monitoring: { enabled: "yes", retentionDays: 30 } } }, ["addons.monitoring.enabled: Invalid input: expected boolean, received string"]],
    ["environment, read for Prometheus's volume settings (monitoring's default)", { environment: "qa", addons: { monitoring: { retentionDays: 30 } } }, ['environment: Invalid option: expected one of "dev"|"staging"|"prod"']],
    ["storage.blockStorage.enabled, read for a gp3 default", { storage: { defaultStorageClass: "gp3", blockStorage: { enabled: "yes" } } }, ["storage.blockStorage.enabled: Invalid input: expected boolean, received string"]],
    ["region, read against a copy in the same region", { region: "EU-WEST-1", backups: { copyRegion: "eu-west-1" } }, ['region: must be an AWS region such as "eu-west-1"']],
    ["region, read against a copy in another partition", { region: "EU-WEST-1", backups: { copyRegion: "cn-north-1" } }, ['region: must be an AWS region such as "eu-west-1"']],
    ["edge.cloudFront.enabled, read for a web ACL", { edge: edge({ cloudFront: { enabled: "yes", webAclArn } }) }, ["edge.cloudFront.enabled: Invalid input: expected boolean, received string"]],
    [
      "edge.cloudFront.enabled, read for an existing distribution",
      { edge: edge({ cloudFront: { enabled: "yes", existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } }) },
      ["edge.cloudFront.enabled: Invalid input: expected boolean, received string"],
    ],
    [
      "edge.fqdn, read by CloudFront",
      { edge: { hostedZone: zone, fqdn: "Apps.example.com", cloudFront: { enabled: true } } },
      ['edge.fqdn: must be a lower-case DNS name such as "apps.example.com"'],
    ],
    [
      "network.publicSubnetCidrs, whose derived stand-in is too small for the origin load balancer",
      { network: { vpcCidr: "10.0.0.0/20", availabilityZones: zones, publicSubnetCidrs: ["10.0.14.0/27", 5], privateSubnetCidrs }, edge: edge({ cloudFront: { enabled: true } }) },
      ["network.publicSubnetCidrs.1: Invalid input: expected string, received number"],
    ],
    // A tag the schema refuses drops that key alone; the reserved-key rule then reads a tag map that is not what the
    // user wrote, and stays silent.
    ["tags, read for keys the EBS CSI driver reserves", { storage: { blockStorage: { enabled: true } }, tags: { "kubernetes.io/role": "x", "aws:team": "x" } }, ['tags.aws:team: tag keys must not start with "aws:" in any letter case (reserved for AWS)']],
    ["region, read against the Slack webhook secret's region", { region: "EU-WEST-1", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf" } }, ['region: must be an AWS region such as "eu-west-1"']],
    ["region, read against the Slack webhook secret's partition", { region: "EU-WEST-1", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:slack-AbCdEf" } }, ['region: must be an AWS region such as "eu-west-1"']],
  ])("%s", (_name, input, problems) => {
    expect(problemsOf(input)).toEqual(problems);
  });

  test("a VPC range that is not a network address is named once, even with CloudFront reading the subnets derived from it", () => {
    expect(problemsOf({ network: { vpcCidr: "10.0.0.1/16" }, edge: edge({ cloudFront: { enabled: true } }) })).toEqual(['network.vpcCidr: "10.0.0.1/16" has host bits set; the network address is 10.0.0.0/16']);
    expect(problemsOf({ network: { vpcCidr: "10.0.0.0/24" }, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      "network.vpcCidr: must be between /16 and /20 when subnets are derived (got /24); list publicSubnetCidrs and privateSubnetCidrs for a smaller VPC",
    ]);
  });

  test("every listed public subnet too small for the origin load balancer is named", () => {
    const network = { availabilityZones: ["eu-west-1a", "eu-west-1b"], publicSubnetCidrs: ["10.0.0.0/28", "10.0.0.16/28"], privateSubnetCidrs: ["10.0.16.0/20", "10.0.32.0/20"] };
    expect(problemsOf({ network, edge: edge({ cloudFront: { enabled: true } }) })).toEqual([
      "edge.cloudFront.enabled: needs public subnets of at least /27 for the origin Application Load Balancer (AWS requires a /27 with 8 free addresses per subnet), but network.publicSubnetCidrs has 10.0.0.0/28, 10.0.0.16/28; list subnets of /27 or larger",
    ]);
  });
});

describe("addons.monitoring's volume settings", () => {
  test.each(["retentionDays", "storageGb"])("%s without block storage is refused, not silently replaced by the emptyDir's fixed day", (setting) => {
    expect(problemsOf({ addons: { monitoring: { [setting]: 30 } } })).toEqual([
      `addons.monitoring.${setting}: applies to Prometheus's gp3 volume, which needs storage.blockStorage.enabled; without it Prometheus keeps one day on an emptyDir`,
    ]);
  });

  test("with block storage they are kept; with monitoring off (set, or dev's default) they are not read", () => {
    expect(resolveConfig({ environment: "dev", addons: { monitoring: { storageGb: 50 } } }).addons.monitoring.storageGb).toBe(50);
    expect(resolveConfig({ storage: { blockStorage: { enabled: true } }, addons: { monitoring: { retentionDays: 30, storageGb: 50 } } }).addons.monitoring).toMatchObject({ retentionDays: 30, storageGb: 50 });
    expect(resolveConfig({ addons: { monitoring: { enabled: false, retentionDays: 30 } } }).addons.monitoring.retentionDays).toBe(30);
  });

  test("a refused block-storage switch silences the rule", () => {
    expect(problemsOf({ storage: { blockStorage: { enabled: "yes" } }, addons: { monitoring: { retentionDays: 30 } } })).toEqual(["storage.blockStorage.enabled: Invalid input: expected boolean, received string"]);
  });
});

describe("edge.hostedZone as the construct reads it", () => {
  // Route 53 API reference, HostedZone.Id: "Z" and upper-case letters and digits; anything else is the zone's domain.
  test("an ID is used as given, a domain name is looked up", () => {
    expect(hostedZoneReference("Z0123456789ABCDEFGHIJ")).toEqual({ id: "Z0123456789ABCDEFGHIJ" });
    expect(hostedZoneReference("example.com")).toEqual({ name: "example.com" });
  });
});

describe("clusterPolicy.podSecurity.exemptNamespaces", () => {
  test("kube-system must stay exempt, and no namespace may be listed twice", () => {
    expect(problemsOf({ clusterPolicy: { podSecurity: { exemptNamespaces: ["ci"] } } })).toEqual([
      "clusterPolicy.podSecurity.exemptNamespaces: must include kube-system, where the cloud controller, the CSI drivers and k3s's own components run with host access that baseline refuses",
    ]);
    expect(problemsOf({ clusterPolicy: { podSecurity: { exemptNamespaces: ["kube-system", "ci", "ci"] } } })).toEqual(["clusterPolicy.podSecurity.exemptNamespaces: must not list a namespace twice"]);
    expect(resolveConfig({ clusterPolicy: { podSecurity: { exemptNamespaces: ["kube-system", "ci"] } } }).clusterPolicy.podSecurity.exemptNamespaces).toEqual(["kube-system", "ci"]);
  });
});
