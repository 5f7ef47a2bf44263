import { EBS_CSI_CONTROLLER_SERVICE_ACCOUNT } from "../block-storage";
import { webIdentityPodParts } from "../workload-identity";
import { fillPlaceholders, readTemplate } from "./user-data";

export interface EbsCsiManifestProps {
  readonly clusterName: string;
  readonly region: string;
  readonly clusterTags: Record<string, string>;
  readonly isDefaultClass: boolean;
}

/**
 * The EBS CSI driver's HelmChart and its gp3 StorageClass, the default class unless the EFS one is. The
 * driver tags its volumes with the cluster's ID, which scopes its IAM permissions (modules/block-storage), and with the
 * tags every instance carries. The controller's role is a Terraform reference, so {{ EBS_CSI_CONTROLLER_ROLE_ARN }} is left
 * for the server script's values (an included file is escaped for Terraform, its values are not).
 */
export function ebsCsiManifest(props: EbsCsiManifestProps): string {
  const identity = webIdentityPodParts("{{ EBS_CSI_CONTROLLER_ROLE_ARN }}");
  return fillPlaceholders(
    readTemplate("manifests/aws-ebs-csi-driver.yaml").trimEnd(),
    {
      AWS_REGION: props.region,
      CLUSTER_NAME: props.clusterName,
      // JSON is YAML's flow style, and quotes whatever a tag holds.
      EXTRA_VOLUME_TAGS: JSON.stringify(props.clusterTags),
      GP3_IS_DEFAULT_CLASS: String(props.isDefaultClass),
      SERVICE_ACCOUNT: EBS_CSI_CONTROLLER_SERVICE_ACCOUNT.name,
      // JSON is YAML's flow style; the role stays a placeholder for the server script's values.
      CONTROLLER_ENV: JSON.stringify(identity.env),
      CONTROLLER_VOLUMES: JSON.stringify([identity.volume]),
      CONTROLLER_VOLUME_MOUNTS: JSON.stringify([identity.volumeMount]),
    },
    "manifests/aws-ebs-csi-driver.yaml",
  );
}
