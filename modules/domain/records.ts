import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import { Construct } from "constructs";

/** What an alias record points at: a load balancer's or distribution's DNS name and the Route 53 zone of that name. */
export interface AliasTarget {
  readonly dnsName: string;
  readonly zoneId: string;
}

export interface DnsRecordsProps {
  /** Public hosted zone of `fqdn`. */
  readonly zoneId: string;
  /** Name of the applications. */
  readonly fqdn: string;
  /** Where the applications' name points: the ingress load balancer, or the CloudFront distribution. */
  readonly applications: AliasTarget;
  /**
   * Further names that point where the applications' name does: the add-ons' `<host>.<fqdn>`, routed by Traefik.
   */
  readonly extraNames: string[];
  /** The Kubernetes API's name, k3s.<fqdn>. */
  readonly apiHostName: string;
  /**
   * The API's public load balancer: a record in the public zone. Without it the name resolves only inside the VPC,
   * to the internal load balancer, from a private zone of its own.
   * @default undefined (private record)
   */
  readonly publicApi?: AliasTarget;
  /** The internal API load balancer, used when there is no public one. */
  readonly internalApi: AliasTarget;
  /** VPC the private zone answers in. */
  readonly vpcId: string;
}

/** Alias records for the applications and the Kubernetes API. */
export class DnsRecords extends Construct {
  constructor(scope: Construct, id: string, props: DnsRecordsProps) {
    super(scope, id);
    const alias = (recordId: string, zoneId: string, name: string, target: AliasTarget) =>
      // A and AAAA would both be needed for IPv6; the load balancers are IPv4 only.
      new Route53Record(this, recordId, { zoneId, name, type: "A", alias: { name: target.dnsName, zoneId: target.zoneId, evaluateTargetHealth: false } });

    alias("ApplicationRecord", props.zoneId, props.fqdn, props.applications);
    // One record per name, its ID from the name's first label ("grafana"), so adding an add-on never renames another's.
    for (const name of props.extraNames) alias(`ApplicationRecord-${name.split(".")[0]}`, props.zoneId, name, props.applications);
    if (props.publicApi) {
      alias("ApiRecord", props.zoneId, props.apiHostName, props.publicApi);
    } else {
      // A zone for the one name: a private zone for the whole domain would hide the domain's public records from the VPC.
      const privateZone = new Route53Zone(this, "PrivateApiZone", {
        name: props.apiHostName,
        comment: "Kubernetes API name inside the VPC",
        vpc: [{ vpcId: props.vpcId }],
      });
      alias("PrivateApiRecord", privateZone.zoneId, props.apiHostName, props.internalApi);
    }
  }
}
