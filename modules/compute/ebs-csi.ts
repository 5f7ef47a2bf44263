import { fillPlaceholders, readTemplate } from "./user-data";

/**
 * The EBS CSI driver's HelmChart and its gp3 StorageClass, the default class unless the EFS one is. The
 * driver tags its volumes with the cluster's ID, which scopes its IAM permissions (modules/block-storage), and with the
 * tags every instance carries.
 */
export function ebsCsiManifest(clusterName: string, region: string, clusterTags: Record<string, string>, isDefaultClass: boolean): string {
  return fillPlaceholders(
    readTemplate("manifests/aws-ebs-csi-driver.yaml").trimEnd(),
    {
      AWS_REGION: region,
      CLUSTER_NAME: clusterName,
      // JSON is YAML's flow style, and quotes whatever a tag holds.
      EXTRA_VOLUME_TAGS: JSON.stringify(clusterTags),
      GP3_IS_DEFAULT_CLASS: String(isDefaultClass),
    },
    "manifests/aws-ebs-csi-driver.yaml",
  );
}
