import { DataAwsRoute53Zone } from "@cdktf/provider-aws/lib/data-aws-route53-zone";
import { Construct } from "constructs";
import { DnsValidatedCertificate } from "./certificate";

export { DnsValidatedCertificate } from "./certificate";
export type { DnsValidatedCertificateProps, DnsValidation } from "./certificate";
export { DnsRecords } from "./records";
export type { AliasTarget, DnsRecordsProps } from "./records";

export interface DomainProps {
  /** The public hosted zone: its ID, used as given, or its domain name, looked up at plan time. */
  readonly hostedZone: { readonly id: string } | { readonly name: string };
  /** Name of the applications; the regional certificate is for it. */
  readonly fqdn: string;
  /** The Kubernetes API's name in the zone, k3s.<fqdn>, for its record (not in this certificate: k3s serves its own). */
  readonly apiHostName: string;
  /** Further names under it the regional certificate covers: the add-ons' `<host>.<fqdn>`. */
  readonly extraNames: string[];
}

/** The public hosted zone and the regional ACM certificate for the applications' name. */
export class Domain extends Construct {
  public readonly zoneId: string;
  public readonly fqdn: string;
  public readonly apiHostName: string;
  public readonly extraNames: string[];
  /** Issued certificate for `fqdn` in the stack's region (load balancer listeners). */
  public readonly certificate: DnsValidatedCertificate;

  constructor(scope: Construct, id: string, props: DomainProps) {
    super(scope, id);
    this.fqdn = props.fqdn;
    this.apiHostName = props.apiHostName;
    this.extraNames = props.extraNames;
    // A private zone of the same name would be ambiguous; the records are public ones.
    this.zoneId = "id" in props.hostedZone ? props.hostedZone.id : new DataAwsRoute53Zone(this, "Zone", { name: props.hostedZone.name, privateZone: false }).zoneId;
    this.certificate = new DnsValidatedCertificate(this, "Certificate", { domainName: props.fqdn, subjectAlternativeNames: props.extraNames, zoneId: this.zoneId });
  }
}
