import { load } from "js-yaml";
import { resolveConfig } from "../config/resolve";
import { defaultStorageClasses, documentOf, documentStatements, localNamed, ref, resourceNamed, resourcesOf, synthCluster, TerraformJson, tf, writtenConfig, writtenManifests } from "./helpers";

// The AWS EBS CSI driver (storage.blockStorage.enabled): its pinned chart, the gp3 StorageClass and the node roles'
// permissions. Expectations from kubernetes-sigs/aws-ebs-csi-driver at helm-chart-aws-ebs-csi-driver-2.64.0:
// charts/aws-ebs-csi-driver/{Chart.yaml,values.yaml}, docs/install.md, docs/parameters.md, docs/tagging.md,
// docs/example-iam-policy.json and docs/AmazonEBSCSIDriverEKSClusterScopedPolicy.json.

/** The tag the driver puts on every volume when k8s-tag-cluster-id is set (docs/tagging.md). */
const CLUSTER_NAME_TAG = "ebs.csi.aws.com/cluster-name";

const enabled = synthCluster({ clusterName: "shop", storage: { blockStorage: { enabled: true } }, tags: { CostCenter: "platform" } });
const manifests = writtenManifests(localNamed(enabled.json, "Compute_Servers_UserData"));

/** The statements of a node role's inline policy, as the provider renders the aws_iam_policy_document. */
function inlineStatements(json: TerraformJson, group: "Servers" | "Agents", name: string): any[] {
  const policy = resourcesOf(json, "aws_iam_role_policy").find(([id, body]) => id.startsWith(`Compute_${group}_Role_Policy-`) && body.name === name);
  if (!policy) return [];
  const document = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json\}$/.exec(policy[1].policy);
  if (!document) throw new Error(`${group}'s ${name} policy is not a policy document: ${policy[1].policy}`);
  return json.data!.aws_iam_policy_document[document[1]].statement;
}

/** The statements of the EBS CSI controller role's inline policy. */
function controllerStatements(json: TerraformJson): any[] {
  const [, policy] = resourcesOf(json, "aws_iam_role_policy").find(([id]) => id.startsWith("WorkloadIdentity_EbsCsiControllerRolePolicy")) ?? [];
  if (!policy) return [];
  return documentStatements(json, policy.policy);
}

/** Every statement of the node roles' inline policies. */
function nodeRoleStatements(json: TerraformJson): any[] {
  return resourcesOf(json, "aws_iam_role_policy")
    .filter(([id]) => id.startsWith("Compute_"))
    .flatMap(([, body]) => (body.policy.startsWith("${data.aws_iam_policy_document.") ? documentStatements(json, body.policy) : JSON.parse(body.policy).Statement.map((statement: any) => ({ actions: [statement.Action].flat(), resources: [statement.Resource].flat() }))));
}

describe("off by default", () => {
  const { json } = synthCluster({});
  const defaults = writtenManifests(localNamed(json, "Compute_Servers_UserData"));

  test("no chart, no StorageClass, no permissions; EFS stays the default class", () => {
    expect(defaults["aws-ebs-csi-driver"]).toEqual([]);
    expect(controllerStatements(json)).toEqual([]);
    expect(resourcesOf(json, "aws_iam_role").filter(([id]) => id.includes("EbsCsi"))).toEqual([]);
    expect(defaultStorageClasses(defaults)).toEqual(["efs"]);
    // Monitoring's alerts use the service-account issuer by default; with neither, there is none: the servers keep
    // k3s's own, and nothing is published.
    const neither = synthCluster({ addons: { monitoring: { enabled: false } } }).json;
    expect(resourcesOf(neither, "aws_iam_openid_connect_provider")).toEqual([]);
    expect(JSON.stringify(writtenConfig(localNamed(neither, "Compute_Servers_UserData"))["kube-apiserver-arg"])).not.toContain("service-account");
  });
});

describe("the driver", () => {
  const chart = documentOf(manifests["aws-ebs-csi-driver"], "HelmChart");
  const values = load(chart.spec.valuesContent) as any;

  test("is a pinned chart from the kubernetes-sigs/aws-ebs-csi-driver repository in kube-system", () => {
    // docs/install.md, "Helm": repository and chart name; Chart.yaml version 2.64.0 (appVersion 1.64.0).
    expect(chart).toEqual({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "aws-ebs-csi-driver", namespace: "kube-system" },
      spec: { repo: "https://kubernetes-sigs.github.io/aws-ebs-csi-driver", chart: "aws-ebs-csi-driver", version: "2.64.0", targetNamespace: "kube-system", valuesContent: expect.any(String) },
    });
  });

  test("sets only values chart 2.64.0 has: the region, the cluster ID that tags volumes, extra tags and the node metadata source", () => {
    expect(values).toEqual({
      // awsAccessSecret defaults to {name: aws-secret, keyId: key_id, accessKey: access_key} in values.yaml, and the
      // controller's template turns it into AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from that optional Secret, which
      // the SDK would prefer to the role; null deletes the default (Helm's values merge).
      awsAccessSecret: null,
      // controller.region: "If not specified then the region will be looked up via the AWS EC2 metadata service".
      // controller.k8sTagClusterId: "ID of the Kubernetes cluster used for tagging provisioned EBS volumes".
      // controller.extraVolumeTags: "Extra volume tags to attach to each dynamically provisioned volume".
      // controller.serviceAccount.name, controller.env, controller.volumes and controller.volumeMounts: the token and
      // role the controller's AWS SDK assumes (templates/controller.yaml adds env and volumeMounts to the ebs-plugin
      // container, volumes to the pod); checked against the role's trust below.
      controller: {
        region: "eu-west-1",
        k8sTagClusterId: "shop",
        extraVolumeTags: { Cluster: "shop", Environment: "prod", ManagedBy: "cdktf", CostCenter: "platform" },
        serviceAccount: { name: expect.any(String) },
        env: expect.any(Array),
        volumes: expect.any(Array),
        volumeMounts: expect.any(Array),
      },
      // node.metadataSources: "Valid sources include 'imds', 'kubernetes'".
      node: { metadataSources: "kubernetes" },
    });
  });

  test("holds no credentials: no static keys in values (awsAccessSecret deleted) or anywhere in the manifest", () => {
    expect(Object.keys(values)).toContain("awsAccessSecret");
    expect(values.awsAccessSecret).toBeNull();
    expect(JSON.stringify(manifests["aws-ebs-csi-driver"])).not.toMatch(/AKIA|aws_secret_access_key|secret_string|random_password/i);
  });

  test("the volumes it creates are in the daily backup: EBS volumes carrying the cluster ID it tags them with", () => {
    const selection = resourceNamed(enabled.json, "aws_backup_selection", "Backup_VolumeSelection");
    expect(selection).toMatchObject({
      name: "shop-volumes",
      plan_id: ref(enabled.json, "aws_backup_plan", "Backup_Plan", "id"),
      iam_role_arn: ref(enabled.json, "aws_iam_role", "Backup_Role", "arn"),
      resources: [expect.stringMatching(/^arn:\$\{data\.aws_partition\.[A-Za-z0-9_]+\.partition\}:ec2:\*:\*:volume\/\*$/)],
      condition: [{ string_equals: [{ key: `aws:ResourceTag/${CLUSTER_NAME_TAG}`, value: values.controller.k8sTagClusterId }] }],
    });
    // A selection_tag (ListOfTags) would add every volume so tagged instead of narrowing the volumes to them.
    expect(selection.selection_tag).toBeUndefined();
    expect(selection.not_resources).toBeUndefined();
    expect(selection.condition[0]).toEqual({ string_equals: expect.any(Array) });
    const withoutBlockStorage = synthCluster({ clusterName: "shop" }).json;
    expect(resourcesOf(withoutBlockStorage, "aws_backup_selection").map(([id]) => id.replace(/_[A-F0-9]+$/, ""))).toEqual(["Backup_Selection"]);
  });

  test("tags volumes with the cluster ID its IAM conditions name", () => {
    const conditions = controllerStatements(enabled.json).flatMap((statement) => statement.condition ?? []);
    const clusterNames = conditions.filter((condition: any) => condition.variable.endsWith(`/${CLUSTER_NAME_TAG}`)).flatMap((condition: any) => condition.values);
    expect(new Set(clusterNames)).toEqual(new Set([values.controller.k8sTagClusterId]));
  });
});

describe("credentials: the controller's own role, through the cluster's service-account issuer", () => {
  // Pods cannot reach instance metadata (one hop) and chart 2.64.0 has no host network for the controller, so it
  // trades a projected service-account token for its role: AssumeRoleWithWebIdentity, as EKS's IRSA does
  // (aws/amazon-eks-pod-identity-webhook README: AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and a serviceAccountToken
  // volume of audience sts.amazonaws.com; IAM User Guide, "Available keys for AWS web identity federation").
  const chart = documentOf(manifests["aws-ebs-csi-driver"], "HelmChart");
  const { controller } = load(chart.spec.valuesContent) as any;
  const json = enabled.json;
  const role = resourceNamed(json, "aws_iam_role", "WorkloadIdentity_EbsCsiControllerRole");
  const trust = documentStatements(json, role.assume_role_policy);
  const provider = resourceNamed(json, "aws_iam_openid_connect_provider", "WorkloadIdentity_IssuerProvider");
  const distributionDomain = ref(json, "aws_cloudfront_distribution", "WorkloadIdentity_IssuerDistribution", "domain_name");
  const env = Object.fromEntries(controller.env.map((variable: { name: string; value: string }) => [variable.name, variable.value]));

  test("the controller's AWS SDK assumes the controller role with the token mounted from its service account", () => {
    expect(env.AWS_ROLE_ARN).toBe(tf(json, "aws_iam_role", "WorkloadIdentity_EbsCsiControllerRole", "arn"));
    const [volume] = controller.volumes;
    const [mount] = controller.volumeMounts;
    expect(mount).toEqual({ name: volume.name, mountPath: expect.stringMatching(/^\//), readOnly: true });
    const [source] = volume.projected.sources;
    expect(env.AWS_WEB_IDENTITY_TOKEN_FILE).toBe(`${mount.mountPath}/${source.serviceAccountToken.path}`);
    // The kubelet refuses a projected token valid for less than 10 minutes, and replaces it at 80 % of its life
    // (pkg/kubelet/token/token_manager.go): a token a server signed before it had the issuer (a roll) lives under an hour.
    expect(source.serviceAccountToken.expirationSeconds).toBeGreaterThanOrEqual(600);
    expect(source.serviceAccountToken.expirationSeconds * 0.8).toBeLessThanOrEqual(3600);
  });

  test("only that service account's pods, with a token for STS from this cluster's issuer, may assume the role", () => {
    expect(trust).toEqual([
      {
        sid: "ServiceAccountWebIdentity",
        effect: undefined,
        actions: ["sts:AssumeRoleWithWebIdentity"],
        principals: [{ type: "Federated", identifiers: [ref(json, "aws_iam_openid_connect_provider", "WorkloadIdentity_IssuerProvider", "arn")] }],
        condition: [
          { test: "StringEquals", variable: `${distributionDomain}:sub`, values: [`system:serviceaccount:${chart.spec.targetNamespace}:${controller.serviceAccount.name}`] },
          { test: "StringEquals", variable: `${distributionDomain}:aud`, values: [controller.volumes[0].projected.sources[0].serviceAccountToken.audience] },
        ],
      },
    ].map(({ effect: _effect, ...statement }) => expect.objectContaining(statement)));
    // The provider trusts that issuer, for that audience.
    expect(provider.url).toBe(`https://${distributionDomain}`);
    expect(provider.client_id_list).toEqual(["sts.amazonaws.com"]);
    expect(controller.volumes[0].projected.sources[0].serviceAccountToken.audience).toBe("sts.amazonaws.com");
  });

  test("the servers sign tokens as that issuer, keeping k3s's own accepted, and name the key set they publish", () => {
    const args: string[] = writtenConfig(localNamed(json, "Compute_Servers_UserData"))["kube-apiserver-arg"];
    const issuer = `https://tf:${distributionDomain.slice(2, -1)}`;
    // "key-=value" prepends to k3s's default (k3s pkg/util/args.go GetArgs): the first issuer signs, all are accepted.
    expect(args).toContain(`service-account-issuer-=${issuer}`);
    expect(args).toContain(`service-account-jwks-uri=${issuer}/openid/v1/jwks`);
    expect(args.filter((arg) => arg.startsWith("service-account-issuer"))).toHaveLength(1);
  });

  test("the issuer's documents: a private bucket read by CloudFront for this distribution only, over HTTPS", () => {
    const bucketId = ref(json, "aws_s3_bucket", "WorkloadIdentity_IssuerBucket", "id");
    const block = resourcesOf(json, "aws_s3_bucket_public_access_block").find(([, body]) => body.bucket === bucketId)![1];
    expect(block).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    const distribution = resourceNamed(json, "aws_cloudfront_distribution", "WorkloadIdentity_IssuerDistribution");
    expect(distribution.origin).toEqual([
      expect.objectContaining({
        domain_name: ref(json, "aws_s3_bucket", "WorkloadIdentity_IssuerBucket", "bucket_regional_domain_name"),
        origin_access_control_id: ref(json, "aws_cloudfront_origin_access_control", "WorkloadIdentity_IssuerAccessControl", "id"),
      }),
    ]);
    expect(distribution.default_cache_behavior).toMatchObject({ viewer_protocol_policy: "https-only", allowed_methods: ["GET", "HEAD"] });
    expect(resourceNamed(json, "aws_cloudfront_origin_access_control", "WorkloadIdentity_IssuerAccessControl")).toMatchObject({ origin_access_control_origin_type: "s3", signing_behavior: "always", signing_protocol: "sigv4" });
    const policy = resourcesOf(json, "aws_s3_bucket_policy").find(([, body]) => body.bucket === bucketId)![1];
    const read = documentStatements(json, policy.policy).find((statement) => statement.sid === "CloudFrontReadsIssuerDocuments");
    expect(read).toMatchObject({
      actions: ["s3:GetObject"],
      principals: [{ type: "Service", identifiers: ["cloudfront.amazonaws.com"] }],
      condition: [{ test: "StringEquals", variable: "AWS:SourceArn", values: [ref(json, "aws_cloudfront_distribution", "WorkloadIdentity_IssuerDistribution", "arn")] }],
    });
  });

  test("the bucket keeps old document versions a month; the access control's account-wide name holds the region", () => {
    const bucketId = ref(json, "aws_s3_bucket", "WorkloadIdentity_IssuerBucket", "id");
    const lifecycle = resourcesOf(json, "aws_s3_bucket_lifecycle_configuration").find(([, body]) => body.bucket === bucketId)![1];
    expect(lifecycle.rule).toEqual([expect.objectContaining({ status: "Enabled", noncurrent_version_expiration: [{ noncurrent_days: 30 }] })]);
    expect(resourceNamed(json, "aws_cloudfront_origin_access_control", "WorkloadIdentity_IssuerAccessControl").name).toBe("shop-eu-west-1-oidc");
  });

  test("only where CloudFront's default domain serves: the config refuses block storage in aws-us-gov and aws-cn", () => {
    for (const region of ["us-gov-west-1", "cn-north-1"]) {
      expect(() => resolveConfig({ region, storage: { blockStorage: { enabled: true } } })).toThrow(/storage\.blockStorage\.enabled: needs CloudFront's default domain/);
      expect(() => resolveConfig({ region })).not.toThrow();
    }
  });

  test("the servers may write the two documents and nothing else to the bucket; the agents nothing", () => {
    const bucketArn = ref(json, "aws_s3_bucket", "WorkloadIdentity_IssuerBucket", "arn");
    expect(inlineStatements(json, "Servers", "service-account-issuer")).toEqual([
      expect.objectContaining({ actions: ["s3:PutObject"], resources: [`${bucketArn}/.well-known/openid-configuration`, `${bucketArn}/openid/v1/jwks`] }),
    ]);
    expect(inlineStatements(json, "Agents", "service-account-issuer")).toEqual([]);
  });
});

describe("the gp3 StorageClass", () => {
  const storageClass = documentOf(manifests["aws-ebs-csi-driver"], "StorageClass");

  test("provisions encrypted gp3 volumes in the zone of their first pod, expandable, retained when the claim goes", () => {
    // docs/parameters.md: type, encrypted ("true" or "false"), csi.storage.k8s.io/fstype; "The WaitForFirstConsumer
    // binding mode is recommended whenever possible for dynamic provisioning".
    expect(storageClass).toEqual({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
      volumeBindingMode: "WaitForFirstConsumer",
      allowVolumeExpansion: true,
      reclaimPolicy: "Retain",
    });
  });

  test("is the one default class with block storage on, unless the config keeps efs", () => {
    expect(defaultStorageClasses(manifests)).toEqual(["gp3"]);
    const keepEfs = synthCluster({ storage: { blockStorage: { enabled: true }, defaultStorageClass: "efs" } });
    expect(defaultStorageClasses(writtenManifests(localNamed(keepEfs.json, "Compute_Servers_UserData")))).toEqual(["efs"]);
  });

  test("the config refuses gp3 as the default without the driver, and tag keys the driver reserves", () => {
    expect(() => resolveConfig({ storage: { defaultStorageClass: "gp3" } })).toThrow(
      'storage.defaultStorageClass: "gp3" needs storage.blockStorage.enabled, which deploys the EBS CSI driver and the gp3 StorageClass',
    );
    // pkg/driver/validation.go, validateExtraTags: these keys and prefixes are refused, and with them every volume.
    for (const key of ["kubernetes.io/role", "ebs.csi.aws.com/owner", "CSIVolumeName"]) {
      expect(() => resolveConfig({ storage: { blockStorage: { enabled: true } }, tags: { [key]: "x" } })).toThrow(`tags: "${key}" is a tag key the EBS CSI driver reserves`);
      expect(() => resolveConfig({ tags: { [key]: "x" } })).not.toThrow();
    }
  });
});

describe("IAM: the cluster's volumes only", () => {
  const statements = controllerStatements(enabled.json);
  const bySid = (sid: string) => statements.find((statement) => statement.sid === sid);
  const clusterCondition = (key: string) => ({ test: "StringEquals", variable: `${key}/${CLUSTER_NAME_TAG}`, values: ["shop"] });

  test("only the controller's role may touch volumes: no node role holds a volume action, nor tags on volumes", () => {
    const volumeActions = statements.flatMap((statement) => statement.actions).filter((action: string) => !action.startsWith("ec2:Describe"));
    expect(volumeActions).toEqual(expect.arrayContaining(["ec2:CreateVolume", "ec2:AttachVolume", "ec2:DeleteVolume", "ec2:CreateTags"]));
    const nodeStatements = nodeRoleStatements(enabled.json);
    expect(nodeStatements.length).toBeGreaterThan(0);
    expect(nodeStatements.flatMap((statement) => statement.actions).filter((action: string) => volumeActions.includes(action) && action !== "ec2:CreateTags")).toEqual([]);
    // The cloud controller tags its security groups (CreateTags on security-group/*); nothing tags a volume or "*".
    const tagging = nodeStatements.filter((statement) => statement.actions.includes("ec2:CreateTags"));
    expect(tagging.flatMap((statement) => statement.resources).filter((resource: string) => resource === "*" || resource.includes(":volume/"))).toEqual([]);
  });

  test('"*" only for describe calls, which take no resource', () => {
    const wildcard = statements.filter((statement) => statement.resources.includes("*"));
    expect(wildcard.flatMap((statement) => statement.actions).every((action: string) => action.startsWith("ec2:Describe"))).toBe(true);
  });

  test("volumes are created only with this cluster's tag in the request, and tagged only as they are created", () => {
    expect(bySid("CreateClusterVolumes")).toMatchObject({ actions: ["ec2:CreateVolume"], condition: [clusterCondition("aws:RequestTag")] });
    // docs/example-iam-policy.json: CreateTags only with ec2:CreateAction CreateVolume.
    expect(bySid("TagVolumesOnCreate")).toMatchObject({ actions: ["ec2:CreateTags"], condition: [{ test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateVolume"] }] });
  });

  test("attach, detach, resize and delete only volumes carrying this cluster's tag", () => {
    expect(bySid("ManageClusterVolumes")).toMatchObject({ condition: [clusterCondition("aws:ResourceTag")] });
    expect([...bySid("ManageClusterVolumes").actions].sort()).toEqual(["ec2:AttachVolume", "ec2:DeleteVolume", "ec2:DetachVolume", "ec2:ModifyVolume"]);
  });

  test("attach and detach only on the cluster's instances", () => {
    expect(bySid("AttachToClusterInstances")).toMatchObject({
      actions: ["ec2:AttachVolume", "ec2:DetachVolume"],
      condition: [{ test: "StringEquals", variable: "aws:ResourceTag/kubernetes.io/cluster/shop", values: ["owned"] }],
    });
  });

  test("every volume action is conditioned, and volumes are named in the cluster's account and region", () => {
    const volumeActions = ["ec2:CreateVolume", "ec2:CreateTags", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"];
    for (const statement of statements.filter((candidate) => candidate.actions.some((action: string) => volumeActions.includes(action)))) {
      expect({ sid: statement.sid, conditions: statement.condition?.length ?? 0 }).toEqual({ sid: statement.sid, conditions: 1 });
      expect(statement.resources).not.toContain("*");
      for (const resource of statement.resources) expect(resource).toMatch(/^arn:aws:ec2:eu-west-1:\$\{data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id\}:(volume|instance)\/\*$/);
    }
  });

  test("the nodes' root volumes never carry the driver's cluster tag, so it can delete none of them", () => {
    for (const group of ["Servers", "Agents"]) {
      const template = resourceNamed(enabled.json, "aws_launch_template", `Compute_${group}_LaunchTemplate`);
      const volumeTags = template.tag_specifications.find((specification: any) => specification.resource_type === "volume").tags;
      expect(Object.keys(volumeTags)).not.toContain(CLUSTER_NAME_TAG);
    }
  });
});
