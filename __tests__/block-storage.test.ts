import { load } from "js-yaml";
import { resolveConfig } from "../config/resolve";
import { defaultStorageClasses, documentOf, localNamed, resourceNamed, resourcesOf, synthCluster, TerraformJson, writtenManifests } from "./helpers";

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

describe("off by default", () => {
  const { json } = synthCluster({});
  const defaults = writtenManifests(localNamed(json, "Compute_Servers_UserData"));

  test("no chart, no StorageClass, no permissions; EFS stays the default class", () => {
    expect(defaults["aws-ebs-csi-driver"]).toEqual([]);
    expect(inlineStatements(json, "Servers", "ebs-csi")).toEqual([]);
    expect(inlineStatements(json, "Agents", "ebs-csi")).toEqual([]);
    expect(defaultStorageClasses(defaults)).toEqual(["efs"]);
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
      // controller.region: "If not specified then the region will be looked up via the AWS EC2 metadata service".
      // controller.k8sTagClusterId: "ID of the Kubernetes cluster used for tagging provisioned EBS volumes".
      // controller.extraVolumeTags: "Extra volume tags to attach to each dynamically provisioned volume".
      controller: { region: "eu-west-1", k8sTagClusterId: "shop", extraVolumeTags: { Cluster: "shop", Environment: "prod", ManagedBy: "cdktf", CostCenter: "platform" } },
      // node.metadataSources: "Valid sources include 'imds', 'kubernetes'".
      node: { metadataSources: "kubernetes" },
    });
  });

  test("holds no credentials: no static keys in values (awsAccessSecret) or anywhere in the manifest", () => {
    expect(values.awsAccessSecret).toBeUndefined();
    expect(JSON.stringify(manifests["aws-ebs-csi-driver"])).not.toMatch(/AKIA|aws_secret_access_key|secret_string|random_password/i);
  });

  test("tags volumes with the cluster ID its IAM conditions name", () => {
    for (const group of ["Servers", "Agents"] as const) {
      const conditions = inlineStatements(enabled.json, group, "ebs-csi").flatMap((statement) => statement.condition ?? []);
      const clusterNames = conditions.filter((condition: any) => condition.variable.endsWith(`/${CLUSTER_NAME_TAG}`)).flatMap((condition: any) => condition.values);
      expect(new Set(clusterNames)).toEqual(new Set([values.controller.k8sTagClusterId]));
    }
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
  const statements = inlineStatements(enabled.json, "Agents", "ebs-csi");
  const bySid = (sid: string) => statements.find((statement) => statement.sid === sid);
  const clusterCondition = (key: string) => ({ test: "StringEquals", variable: `${key}/${CLUSTER_NAME_TAG}`, values: ["shop"] });

  test("both node roles carry the same policy: the controller may run on any node", () => {
    expect(inlineStatements(enabled.json, "Servers", "ebs-csi")).toEqual(statements);
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
