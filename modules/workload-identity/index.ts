import { CloudfrontDistribution } from "@cdktf/provider-aws/lib/cloudfront-distribution";
import { CloudfrontOriginAccessControl } from "@cdktf/provider-aws/lib/cloudfront-origin-access-control";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { CACHING_DISABLED_POLICY_ID } from "../front-door";
import { denyInsecureTransport } from "../policy-statements";

/**
 * The audience of the tokens pods trade for AWS credentials: what AssumeRoleWithWebIdentity expects in `aud`, the
 * client ID registered with the IAM OIDC provider, and what EKS's pod identity webhook requests
 * (aws/amazon-eks-pod-identity-webhook README, "--token-audience", default "sts.amazonaws.com").
 */
export const STS_AUDIENCE = "sts.amazonaws.com";

/**
 * Where a pod's web identity token is mounted, and the environment that makes the AWS SDKs use it: AWS_ROLE_ARN and
 * AWS_WEB_IDENTITY_TOKEN_FILE are the "assume role with web identity" settings of every AWS SDK (AWS SDKs and Tools
 * Reference Guide, "Assume role credential provider"), the same the pod identity webhook injects on EKS. An hour's
 * token: the kubelet replaces a projected token at 80 % of its life (pkg/kubelet/token/token_manager.go), so one a
 * server signed before it knew the issuer (a rolling change) is gone within 48 minutes, not a day.
 */
export const WEB_IDENTITY_TOKEN = { directory: "/var/run/secrets/sts.amazonaws.com/serviceaccount", file: "token", expirationSeconds: 3600 } as const;

/**
 * What a pod's container needs to act as `roleArn`: the environment the SDKs read and the projected token they read it
 * from. Kubernetes objects, for chart values (the EBS CSI controller's, Alertmanager's, Grafana's).
 */
export function webIdentityPodParts(roleArn: string, volumeName = "aws-iam-token") {
  return {
    env: [
      { name: "AWS_ROLE_ARN", value: roleArn },
      { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: `${WEB_IDENTITY_TOKEN.directory}/${WEB_IDENTITY_TOKEN.file}` },
    ],
    volume: {
      name: volumeName,
      projected: { sources: [{ serviceAccountToken: { audience: STS_AUDIENCE, expirationSeconds: WEB_IDENTITY_TOKEN.expirationSeconds, path: WEB_IDENTITY_TOKEN.file } }] },
    },
    volumeMount: { name: volumeName, mountPath: WEB_IDENTITY_TOKEN.directory, readOnly: true },
  };
}

/**
 * Paths of the service-account issuer's discovery documents under the issuer URL: the OpenID discovery document
 * (OpenID Connect Discovery 1.0, section 4) and the key set kube-apiserver serves and names in it (Kubernetes docs,
 * "Service account issuer discovery": /.well-known/openid-configuration and /openid/v1/jwks).
 */
export const ISSUER_DOCUMENTS = { discovery: ".well-known/openid-configuration", keys: "openid/v1/jwks" } as const;

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

export interface WorkloadIdentityProps {
  readonly clusterName: string;
  readonly region: string;
  readonly partition: string;
}

/**
 * IAM roles for Kubernetes service accounts on a self-managed cluster (the "IRSA" of EKS without the EKS parts): the
 * servers sign service-account tokens as an issuer whose discovery documents are served from a private bucket through
 * CloudFront, an IAM OIDC provider trusts that issuer, and a pod with a projected token of audience sts.amazonaws.com
 * assumes the role whose trust names its service account. Needed because pods cannot reach instance metadata (one
 * hop), and a chart that cannot use the host network (the EBS CSI controller) has no other credentials.
 * The servers publish the documents at boot (templates/server.sh), with `publishStatements`.
 */
export class WorkloadIdentity extends Construct {
  /** The issuer URL the servers sign with (kube-apiserver --service-account-issuer). */
  public readonly issuerUrl: string;
  /** Bucket the servers write the discovery documents to. */
  public readonly bucketName: string;
  /** The account the provider and roles live in. */
  public readonly accountId: string;
  /** What a server needs to publish the documents: write the two objects, nothing else. */
  public readonly publishStatements: DataAwsIamPolicyDocumentStatement[];
  private readonly provider: IamOpenidConnectProvider;
  private readonly issuerHost: string;
  private readonly props: WorkloadIdentityProps;

  constructor(scope: Construct, id: string, props: WorkloadIdentityProps) {
    super(scope, id);
    this.props = props;
    const account = new DataAwsCallerIdentity(this, "Account");
    this.accountId = account.accountId;
    const bucket = new S3Bucket(this, "IssuerBucket", { bucket: `${props.clusterName}-oidc-${account.accountId}-${props.region}`, forceDestroy: true });
    new S3BucketVersioningA(this, "IssuerBucketVersioning", { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
    // SSE-S3: CloudFront's origin access control reads it without a KMS grant.
    new S3BucketServerSideEncryptionConfigurationA(this, "IssuerBucketEncryption", { bucket: bucket.id, rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
    new S3BucketPublicAccessBlock(this, "IssuerBucketPublicAccessBlock", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    new S3BucketOwnershipControls(this, "IssuerBucketOwnership", { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    // Every server boot writes both documents again: old versions go after a month.
    new S3BucketLifecycleConfiguration(this, "IssuerBucketLifecycle", {
      bucket: bucket.id,
      rule: [{ id: "expire-old-versions", status: "Enabled", filter: [{ prefix: "" }], noncurrentVersionExpiration: [{ noncurrentDays: 30 }] }],
    });
    this.bucketName = bucket.bucket;

    const accessControl = new CloudfrontOriginAccessControl(this, "IssuerAccessControl", {
      // Names are unique per account: the region keeps one cluster name usable in several regions.
      name: `${props.clusterName}-${props.region}-oidc`,
      description: `${props.clusterName} service-account issuer documents`,
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
    const originId = "issuer-documents";
    // STS fetches the documents over HTTPS from a name with a publicly trusted certificate: CloudFront's own.
    const distribution = new CloudfrontDistribution(this, "IssuerDistribution", {
      enabled: true,
      comment: `${props.clusterName} service-account issuer`,
      priceClass: "PriceClass_100",
      origin: [{ originId, domainName: bucket.bucketRegionalDomainName, originAccessControlId: accessControl.id }],
      defaultCacheBehavior: {
        targetOriginId: originId,
        viewerProtocolPolicy: "https-only",
        allowedMethods: ["GET", "HEAD"],
        cachedMethods: ["GET", "HEAD"],
        // Uncached: a rebuilt cluster's new keys are served at once, not after a day of failing token exchanges.
        cachePolicyId: CACHING_DISABLED_POLICY_ID,
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
    });
    this.issuerHost = distribution.domainName;
    this.issuerUrl = `https://${distribution.domainName}`;

    // CloudFront reads the objects for this distribution only (Amazon CloudFront Developer Guide, "Restrict access to an
    // Amazon S3 origin": the policy's AWS:SourceArn condition).
    const bucketPolicy = new DataAwsIamPolicyDocument(this, "IssuerBucketPolicyDocument", {
      statement: [
        denyInsecureTransport(["s3:*"], [bucket.arn, `${bucket.arn}/*`]),
        {
          sid: "CloudFrontReadsIssuerDocuments",
          actions: ["s3:GetObject"],
          principals: [{ type: "Service", identifiers: ["cloudfront.amazonaws.com"] }],
          resources: [`${bucket.arn}/*`],
          condition: [{ test: "StringEquals", variable: "AWS:SourceArn", values: [distribution.arn] }],
        },
      ],
    });
    new S3BucketPolicy(this, "IssuerBucketPolicy", { bucket: bucket.id, policy: bucketPolicy.json });

    // No thumbprint: IAM verifies an issuer whose certificate chains to a trusted root CA itself (IAM User Guide,
    // "Create an OpenID Connect (OIDC) identity provider in IAM"; the provider's thumbprint_list is optional).
    this.provider = new IamOpenidConnectProvider(this, "IssuerProvider", { url: this.issuerUrl, clientIdList: [STS_AUDIENCE] });

    this.publishStatements = [
      {
        sid: "PublishIssuerDocuments",
        actions: ["s3:PutObject"],
        resources: Object.values(ISSUER_DOCUMENTS).map((path) => `${bucket.arn}/${path}`),
      },
    ];
  }

  /** The ARN of the role `roleFor` creates under this name, for values written before the role exists. */
  roleArn(name: string): string {
    return `arn:${this.props.partition}:iam::${this.accountId}:role/${this.roleName(name)}`;
  }

  private roleName(name: string): string {
    return `${this.props.clusterName}-${this.props.region}-${name}`;
  }

  /**
   * A role only pods running as `serviceAccount` can assume, with a token of the STS audience from this cluster's
   * issuer (IAM User Guide, "Available keys for AWS web identity federation": `<issuer>:sub` and `<issuer>:aud`).
   * Named like the Lambdas' roles: IAM names are global, so the region is in it.
   */
  roleFor(id: string, role: { readonly name: string; readonly serviceAccount: ServiceAccountRef; readonly policyJson: string }): IamRole {
    const { namespace, name } = role.serviceAccount;
    const trust = new DataAwsIamPolicyDocument(this, `${id}Trust`, {
      statement: [
        {
          sid: "ServiceAccountWebIdentity",
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [this.provider.arn] }],
          condition: [
            { test: "StringEquals", variable: `${this.issuerHost}:sub`, values: [`system:serviceaccount:${namespace}:${name}`] },
            { test: "StringEquals", variable: `${this.issuerHost}:aud`, values: [STS_AUDIENCE] },
          ],
        },
      ],
    });
    const iamRole = new IamRole(this, id, {
      name: this.roleName(role.name),
      description: `k3s cluster ${this.props.clusterName}: pods of ${namespace}/${name}`,
      assumeRolePolicy: trust.json,
    });
    new IamRolePolicy(this, `${id}Policy`, { role: iamRole.id, name: role.name, policy: role.policyJson });
    return iamRole;
  }
}
