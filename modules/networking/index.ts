import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsAvailabilityZones } from "@cdktf/provider-aws/lib/data-aws-availability-zones";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { NetworkAcl, NetworkAclIngress } from "@cdktf/provider-aws/lib/network-acl";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { Fn, ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { HTTP_PORT, HTTPS_PORT } from "../ports";
import { ANYWHERE, ClusterSecurityGroups } from "./security-groups";
import { clusterTag } from "../cluster-tag";

export interface NetworkingProps {
  /** Names resources and forms the `kubernetes.io/cluster/<name>` tag. */
  readonly clusterName: string;
  /** Region of the gateway endpoints' service names. */
  readonly region: string;
  readonly vpcCidr: string;
  /**
   * Zones in order; subnets are created in this order. Exactly one of availabilityZones and zoneCount.
   * @default undefined (zoneCount decides)
   */
  readonly availabilityZones?: string[];
  /**
   * Use the region's first N zones (by name) that every account has, looked up at plan time.
   * Exactly one of availabilityZones and zoneCount.
   * @default undefined (availabilityZones decides)
   */
  readonly zoneCount?: number;
  /** One per zone, in zone order. */
  readonly publicSubnetCidrs: string[];
  /** One per zone, in zone order. */
  readonly privateSubnetCidrs: string[];
  /** "per-az": a NAT gateway in each zone; "single": one, in the first zone. */
  readonly natMode: "per-az" | "single";
  /** Retention of the VPC flow log group, in days. */
  readonly flowLogRetentionDays: number;
  /** Networks allowed to the public Kubernetes API listener; no public API security group when empty. */
  readonly adminCidrs: string[];
  /**
   * A security group for the CloudFront origin load balancer, admitting CloudFront and these admin networks.
   * @default undefined (no CloudFront origin)
   */
  readonly cloudFrontOrigin?: { readonly adminCidrs: string[] };
  /** Node exporter's port open between the nodes (the monitoring add-on). */
  readonly nodeMetrics: boolean;
}

/** VPC, subnets per zone, gateways, routes, endpoints, flow logs, network ACLs and the cluster's security groups. */
export class Networking extends Construct {
  public readonly vpcId: string;
  public readonly publicSubnetIds: string[];
  public readonly privateSubnetIds: string[];
  /** The private subnets' default routes and route-table associations: nodes have no way out before these exist. */
  public readonly privateEgress: ITerraformDependable[] = [];
  public readonly securityGroups: ClusterSecurityGroups;
  /** The VPC's default group, stripped of every rule: a safe parking place for interfaces during destroy. */
  public readonly defaultSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: NetworkingProps) {
    super(scope, id);
    const { clusterName } = props;
    const zones = this.zones(props);
    const sharedWithCluster = clusterTag(clusterName, "shared");

    const vpc = new Vpc(this, "Vpc", {
      cidrBlock: props.vpcCidr,
      enableDnsSupport: true,
      // The cloud provider names nodes by their private DNS names.
      enableDnsHostnames: true,
      tags: { Name: clusterName },
    });
    this.vpcId = vpc.id;

    // The VPC's default group allows all traffic between its members; nothing should use it, so strip its rules.
    this.defaultSecurityGroupId = new DefaultSecurityGroup(this, "DefaultSecurityGroup", { vpcId: vpc.id, tags: { Name: `${clusterName}-default-unused` } }).id;

    const internetGateway = new InternetGateway(this, "InternetGateway", { vpcId: vpc.id, tags: { Name: clusterName } });

    const publicSubnets = zones.map(
      ({ zone, index, suffix }) =>
        new Subnet(this, `PublicSubnet${suffix}`, {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: props.publicSubnetCidrs[index],
          // Only load balancers and NAT gateways live here, and they get their own addresses.
          mapPublicIpOnLaunch: false,
          tags: { Name: `${clusterName}-public-${zone}`, ...sharedWithCluster, "kubernetes.io/role/elb": "1" },
        }),
    );
    const privateSubnets = zones.map(
      ({ zone, index, suffix }) =>
        new Subnet(this, `PrivateSubnet${suffix}`, {
          vpcId: vpc.id,
          availabilityZone: zone,
          cidrBlock: props.privateSubnetCidrs[index],
          tags: { Name: `${clusterName}-private-${zone}`, ...sharedWithCluster, "kubernetes.io/role/internal-elb": "1" },
        }),
    );
    this.publicSubnetIds = publicSubnets.map((subnet) => subnet.id);
    this.privateSubnetIds = privateSubnets.map((subnet) => subnet.id);

    const publicRouteTable = new RouteTable(this, "PublicRouteTable", { vpcId: vpc.id, tags: { Name: `${clusterName}-public` } });
    new Route(this, "PublicDefaultRoute", { routeTableId: publicRouteTable.id, destinationCidrBlock: ANYWHERE, gatewayId: internetGateway.id });
    zones.forEach(({ suffix, index }) => {
      new RouteTableAssociation(this, `PublicRouteTableAssociation${suffix}`, { routeTableId: publicRouteTable.id, subnetId: publicSubnets[index].id });
    });

    const natZones = props.natMode === "per-az" ? zones : zones.slice(0, 1);
    const natGateways = natZones.map(({ zone, suffix, index }) => {
      const address = new Eip(this, `NatAddress${suffix}`, { domain: "vpc", tags: { Name: `${clusterName}-nat-${zone}` } });
      return new NatGateway(this, `NatGateway${suffix}`, {
        allocationId: address.allocationId,
        subnetId: publicSubnets[index].id,
        tags: { Name: `${clusterName}-${zone}` },
        dependsOn: [internetGateway],
      });
    });

    // One private route table per zone, whatever the NAT mode, so switching modes only changes routes.
    const privateRouteTables = zones.map(({ zone, suffix, index }) => {
      const table = new RouteTable(this, `PrivateRouteTable${suffix}`, { vpcId: vpc.id, tags: { Name: `${clusterName}-private-${zone}` } });
      this.privateEgress.push(
        new Route(this, `PrivateDefaultRoute${suffix}`, {
          routeTableId: table.id,
          destinationCidrBlock: ANYWHERE,
          natGatewayId: natGateways[Math.min(index, natGateways.length - 1)].id,
        }),
        new RouteTableAssociation(this, `PrivateRouteTableAssociation${suffix}`, { routeTableId: table.id, subnetId: privateSubnets[index].id }),
      );
      return table;
    });
    const privateRouteTableIds = privateRouteTables.map((table) => table.id);

    // Gateway endpoints keep S3 (images, backups, state) and DynamoDB (autoscaler lock) traffic off the NAT gateways.
    for (const service of ["s3", "dynamodb"]) {
      new VpcEndpoint(this, `${service === "s3" ? "S3" : "DynamoDb"}Endpoint`, {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTableIds,
        tags: { Name: `${clusterName}-${service}` },
      });
    }

    this.createFlowLogs(vpc, clusterName, props.region, props.flowLogRetentionDays);
    this.createNetworkAcls(vpc, props.vpcCidr, publicSubnets, privateSubnets, clusterName);

    this.securityGroups = new ClusterSecurityGroups(this, "SecurityGroups", {
      clusterName,
      vpcId: vpc.id,
      adminCidrs: props.adminCidrs,
      cloudFrontOrigin: props.cloudFrontOrigin,
      nodeMetrics: props.nodeMetrics,
    });
  }

  /** Zone name (literal or plan-time reference), position, and the letter that names its resources. */
  private zones(props: NetworkingProps): { zone: string; index: number; suffix: string }[] {
    const { availabilityZones, zoneCount } = props;
    if ((availabilityZones === undefined) === (zoneCount === undefined)) {
      throw new Error("Networking: set exactly one of availabilityZones (explicit zone names) and zoneCount (the region's first N zones)");
    }
    if (availabilityZones) return availabilityZones.map((zone, index) => ({ zone, index, suffix: zone.slice(-1).toUpperCase() }));

    // Which letters exist differs between accounts (some have no "<region>a"), so the names come from this account's
    // list; local and wavelength zones are left out: they need opt-in and offer only some services.
    const available = new DataAwsAvailabilityZones(this, "AvailabilityZones", {
      state: "available",
      filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
      lifecycle: {
        // element() wraps around, so with too few zones two subnets would silently share one; fail the plan instead.
        postcondition: [
          {
            condition: `\${length(self.names) >= ${zoneCount}}`,
            errorMessage: `The cluster needs ${zoneCount} availability zones, but ${props.region} has only \${length(self.names)} available without opt-in (\${join(", ", self.names)}). Lower the zone count or list availabilityZones explicitly.`,
          },
        ],
      },
    });
    // The provider returns the names sorted, so "first N" is the same on every plan while every zone reports available.
    return Array.from({ length: zoneCount! }, (_, index) => ({ zone: Fn.element(available.names, index), index, suffix: String.fromCharCode(65 + index) }));
  }

  private createFlowLogs(vpc: Vpc, clusterName: string, region: string, retentionDays: number) {
    const logGroup = new CloudwatchLogGroup(this, "FlowLogGroup", { name: `/aws/vpc/${clusterName}/flow-logs`, retentionInDays: retentionDays });
    const account = new DataAwsCallerIdentity(this, "Account").accountId;
    const partition = new DataAwsPartition(this, "Partition").partition;
    // Only flow logs of this account and region may use the role (VPC user guide, "IAM role for publishing flow logs
    // to CloudWatch Logs", which recommends both keys against the confused deputy).
    const assumeRole = new DataAwsIamPolicyDocument(this, "FlowLogAssumeRole", {
      statement: [
        {
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["vpc-flow-logs.amazonaws.com"] }],
          condition: [
            { test: "StringEquals", variable: "aws:SourceAccount", values: [account] },
            { test: "ArnLike", variable: "aws:SourceArn", values: [`arn:${partition}:ec2:${region}:${account}:vpc-flow-log/*`] },
          ],
        },
      ],
    });
    // IAM names are account-global: the region keeps two regions' clusters of one name apart.
    const role = new IamRole(this, "FlowLogRole", { name: `${clusterName}-${region}-vpc-flow-logs`, assumeRolePolicy: assumeRole.json });
    const writeLogs = new DataAwsIamPolicyDocument(this, "FlowLogWritePolicy", {
      statement: [
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
          resources: [logGroup.arn, `${logGroup.arn}:*`],
        },
      ],
    });
    new IamRolePolicy(this, "FlowLogRolePolicy", { role: role.id, name: "write-flow-logs", policy: writeLogs.json });
    new FlowLog(this, "FlowLog", {
      vpcId: vpc.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 60,
      tags: { Name: clusterName },
    });
  }

  /**
   * Stateless second layer under the security groups: from the internet only the ingress ports and the ephemeral
   * range (replies to NAT and to nodes' own connections) get in, so SSH, RDP and friends stop at the subnet edge.
   */
  private createNetworkAcls(vpc: Vpc, vpcCidr: string, publicSubnets: Subnet[], privateSubnets: Subnet[], clusterName: string) {
    const allow = (ruleNo: number, protocol: string, cidrBlock: string, fromPort = 0, toPort = 0): NetworkAclIngress => ({
      ruleNo,
      action: "allow",
      protocol,
      cidrBlock,
      fromPort,
      toPort,
    });
    const fromVpc = allow(100, "-1", vpcCidr);
    const replies = [allow(200, "tcp", ANYWHERE, 1024, 65535), allow(210, "udp", ANYWHERE, 1024, 65535)];
    const egress = [allow(100, "-1", ANYWHERE)];

    new NetworkAcl(this, "PublicNetworkAcl", {
      vpcId: vpc.id,
      subnetIds: publicSubnets.map((subnet) => subnet.id),
      ingress: [fromVpc, allow(110, "tcp", ANYWHERE, HTTP_PORT, HTTP_PORT), allow(120, "tcp", ANYWHERE, HTTPS_PORT, HTTPS_PORT), ...replies],
      egress,
      tags: { Name: `${clusterName}-public` },
    });
    new NetworkAcl(this, "PrivateNetworkAcl", {
      vpcId: vpc.id,
      subnetIds: privateSubnets.map((subnet) => subnet.id),
      ingress: [fromVpc, ...replies],
      egress,
      tags: { Name: `${clusterName}-private` },
    });
  }
}
