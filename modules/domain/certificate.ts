import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { TerraformIterator, TerraformProvider, Token } from "cdktf";
import { Construct } from "constructs";

export interface DnsValidatedCertificateProps {
  /** The certificate's first name (its Common Name). */
  readonly domainName: string;
  /**
   * Further names the certificate covers (the add-ons' `<host>.<fqdn>`).
   * @default [] (domainName only)
   */
  readonly subjectAlternativeNames?: string[];
  /** Public hosted zone the validation records go in. */
  readonly zoneId: string;
  /**
   * Provider of the region the certificate lives in (CloudFront's must be in us-east-1).
   * @default the stack's default AWS provider
   */
  readonly provider?: TerraformProvider;
  /**
   * The DNS validation of another certificate for the same name (in another region), whose records this one reuses
   * instead of creating its own, which would fight the first over one record (hashicorp/terraform-provider-aws#9666,
   * #13653). That ACM gives both certificates the same record is observed, not documented by AWS: a postcondition on
   * this certificate fails the apply, naming both records, if they differ.
   * @default undefined (the records are created from this certificate's domain_validation_options)
   */
  readonly reuseValidation?: DnsValidation;
}

/** A certificate's DNS validation, for a certificate of the same name in another region to reuse. */
export interface DnsValidation {
  /** The validation records' names. */
  readonly recordFqdns: string[];
  /** The certificate's domain_validation_options (a Terraform reference): the names and values the records hold. */
  readonly domainValidationOptions: string;
}

/** Each validation record as "<name> <value>", from a domain_validation_options expression. */
const validationRecords = (options: string) => `toset([for option in ${options} : format("%s %s", option.resource_record_name, option.resource_record_value)])`;

/**
 * An ACM certificate validated through DNS: its validation records in Route 53, and the wait for issue
 * (aws_acm_certificate_validation), so nothing attaches it before ACM has issued it.
 */
export class DnsValidatedCertificate extends Construct {
  /** ARN of the issued certificate: read from the validation, so a consumer waits for issue. */
  public readonly certificateArn: string;
  /** The validation records and what they hold, for a certificate for the same name in another region. */
  public readonly validation: DnsValidation;

  constructor(scope: Construct, id: string, props: DnsValidatedCertificateProps) {
    super(scope, id);
    const { reuseValidation } = props;
    const certificate = new AcmCertificate(this, "Certificate", {
      provider: props.provider,
      domainName: props.domainName,
      ...(props.subjectAlternativeNames?.length ? { subjectAlternativeNames: props.subjectAlternativeNames } : {}),
      validationMethod: "DNS",
      lifecycle: {
        // A listener holds the certificate: its replacement must exist before it is deleted.
        createBeforeDestroy: true,
        ...(reuseValidation && {
          postcondition: [
            {
              condition: `\${${validationRecords("self.domain_validation_options")} == ${validationRecords(reuseValidation.domainValidationOptions)}}`,
              errorMessage: `ACM asked this certificate for ${props.domainName} to be validated by other DNS records than the certificate it reuses the validation records of (\${join(", ", ${validationRecords("self.domain_validation_options")})} instead of \${join(", ", ${validationRecords(reuseValidation.domainValidationOptions)})}): the records are the same in every region only by observation, not by AWS documentation. Create this certificate's records as well.`,
            },
          ],
        }),
      },
    });
    const domainValidationOptions = Token.asString(certificate.domainValidationOptions);
    let recordFqdns: string[];
    if (reuseValidation) {
      recordFqdns = reuseValidation.recordFqdns;
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
        // ACM has been seen to give every certificate of this name in the account the same CNAME (see
        // reuseValidation): one left by an earlier certificate, or made by hand, is taken over rather than failing.
        allowOverwrite: true,
      });
      recordFqdns = Token.asList(TerraformIterator.fromResources(records).pluckProperty("fqdn"));
    }
    this.validation = { recordFqdns, domainValidationOptions };
    const validation = new AcmCertificateValidation(this, "Validation", {
      provider: props.provider,
      certificateArn: certificate.arn,
      validationRecordFqdns: recordFqdns,
    });
    this.certificateArn = validation.certificateArn;
  }
}
