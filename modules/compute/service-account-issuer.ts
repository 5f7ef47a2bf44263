import { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { ISSUER_DOCUMENTS } from "../workload-identity";

/** The issuer the servers sign service-account tokens as, and where they publish its documents (modules/workload-identity). */
export interface ServiceAccountIssuer {
  readonly url: string;
  readonly bucketName: string;
  readonly publishStatements: DataAwsIamPolicyDocumentStatement[];
}

/**
 * kube-apiserver's flags for an issuer outside the cluster. k3s sets --service-account-issuer to
 * https://kubernetes.default.svc.<domain> itself; a trailing "-" on the key prepends ours to that default instead of
 * replacing it (k3s pkg/util/args.go GetArgs), and the API server signs with the first issuer and accepts all of them
 * (kube-apiserver reference, --service-account-issuer), so tokens issued before keep working. k3s sets
 * --api-audiences explicitly, so the audiences the cluster's own tokens carry do not change with the issuer. The key
 * set's URL goes in the discovery document the servers publish (--service-account-jwks-uri).
 */
export function serviceAccountIssuerArgs(url: string): string[] {
  return [`service-account-issuer-=${url}`, `service-account-jwks-uri=${url}/${ISSUER_DOCUMENTS.keys}`];
}

/** The server script's values: the issuer and its bucket (both empty: nothing to publish) and the two documents' paths. */
export function serviceAccountIssuerValues(issuer: ServiceAccountIssuer | undefined): Record<string, string> {
  return {
    SERVICE_ACCOUNT_ISSUER_URL: issuer?.url ?? "",
    SERVICE_ACCOUNT_ISSUER_BUCKET: issuer?.bucketName ?? "",
    ISSUER_DISCOVERY_PATH: ISSUER_DOCUMENTS.discovery,
    ISSUER_KEYS_PATH: ISSUER_DOCUMENTS.keys,
  };
}
