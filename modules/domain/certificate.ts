import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { TerraformIterator, TerraformProvider, Token } from "cdktf";
import { Construct } from "constructs";

export interface DnsValidatedCertificateProps {
  /** The one name the certificate is for. */
  readonly domainName: string;
  /** Public hosted zone the validation records go in. */
  readonly zoneId: string;
  /**
   * Provider of the region the certificate lives in (CloudFront's must be in us-east-1).
   * @default the stack's default AWS provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Validation records another certificate for the same name already created. ACM gives an account the same
   * validation CNAME for a name in every region, so a second certificate that created its own would fight the first
   * over one record (hashicorp/terraform-provider-aws#9666, #13653).
   * @default undefined (the records are created from this certificate's domain_validation_options)
   */
  readonly validationRecordFqdns?: string[];
}

/**
 * An ACM certificate validated through DNS: its validation records in Route 53, and the wait for issue
 * (aws_acm_certificate_validation), so nothing attaches it before ACM has issued it.
 */
export class DnsValidatedCertificate extends Construct {
  /** ARN of the issued certificate: read from the validation, so a consumer waits for issue. */
  public readonly certificateArn: string;
  /** The validation records' names, for a certificate for the same name in another region. */
  public readonly validationRecordFqdns: string[];

  constructor(scope: Construct, id: string, props: DnsValidatedCertificateProps) {
    super(scope, id);
    const certificate = new AcmCertificate(this, "Certificate", {
      provider: props.provider,
      domainName: props.domainName,
      validationMethod: "DNS",
      // A listener holds the certificate: its replacement must exist before it is deleted.
      lifecycle: { createBeforeDestroy: true },
    });
    if (props.validationRecordFqdns) {
      this.validationRecordFqdns = props.validationRecordFqdns;
    } else {
      // One record per name, keyed by the name, as the provider's documentation loops over domain_validation_options.
      const options = TerraformIterator.fromComplexList(certificate.domainValidationOptions, "domain_name");
      const records = new Route53Record(this, "ValidationRecord", {
        forEach: options,
        zoneId: props.zoneId,
        name: options.getString("resource_record_name"),
        type: options.getString("resource_record_type"),
        records: [options.getString("resource_record_value")],
        ttl: 300,
        // The CNAME is the same for every certificate of this name in the account (see validationRecordFqdns): one
        // left by an earlier certificate, or made by hand, is taken over rather than failing the apply.
        allowOverwrite: true,
      });
      this.validationRecordFqdns = Token.asList(TerraformIterator.fromResources(records).pluckProperty("fqdn"));
    }
    const validation = new AcmCertificateValidation(this, "Validation", {
      provider: props.provider,
      certificateArn: certificate.arn,
      validationRecordFqdns: this.validationRecordFqdns,
    });
    this.certificateArn = validation.certificateArn;
  }
}
