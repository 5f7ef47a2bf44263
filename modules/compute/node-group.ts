import { AutoscalingGroup, AutoscalingGroupConfig } from "@cdktf/provider-aws/lib/autoscaling-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { Fn, ITerraformDependable, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { autoScalingGroupArnPattern, NodeRole } from "./iam";
import { renderUserData } from "./user-data";
import { CLUSTER_OWNED, clusterTag } from "../cluster-tag";

export type NodeKind = "server" | "agent";

/**
 * How long a launch lifecycle hook holds a new node out of service for its bootstrap, which ends the hold itself
 * (CONTINUE when k3s works, ABANDON when it fails). It bounds the bootstrap as a whole: the script's longest wait, for
 * a datastore still being created, takes about 55 minutes. At the limit the hook abandons the launch.
 */
const BOOTSTRAP_TIMEOUT_SECONDS = 3600;

/**
 * Group metrics published to AWS/AutoScaling each minute (collection is off unless enabled; "EnableMetricsCollection",
 * Amazon EC2 Auto Scaling API Reference, whose only granularity is 1Minute). The agents-at-max alarm compares
 * GroupInServiceInstances with the maximum; the dashboard graphs the rest.
 */
export const GROUP_METRICS = ["GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances"];

/** The launch hook's name, which the bootstrap script completes. */
const BOOTSTRAP_HOOK_NAME = "bootstrap";

/** A kind's group name: IAM policies name a group before it exists (its ARN attribute would make them wait for it). */
export function nodeGroupName(clusterName: string, kind: NodeKind): string {
  return `${clusterName}-${kind}s`;
}

/** Spot and on-demand instances of several types, for a group whose nodes may be replaced at any time. */
export interface MixedInstances {
  /** Instance types of one architecture; the first is preferred for on-demand capacity. */
  readonly instanceTypes: string[];
  readonly onDemandBaseCapacity: number;
  /** Percentage of on-demand above the base; the rest is spot. */
  readonly onDemandPercentageAboveBaseCapacity: number;
}

export interface NodeGroupProps {
  readonly kind: NodeKind;
  /** Prefix of every name, and the `kubernetes.io/cluster/<name>` tag. */
  readonly clusterName: string;
  readonly region: string;
  readonly partition: string;
  readonly accountId: string;
  readonly imageId: string;
  /** @default undefined (no key pair) */
  readonly keyName?: string;
  readonly securityGroupId: string;
  /** One subnet per zone. */
  readonly subnetIds: string[];
  /**
   * `templates/<kind>.sh`'s includes and values; the group adds its own name and its launch hook's, which the script
   * needs to end the hook and report its health.
   */
  readonly bootstrap: { readonly includes: Record<string, string>; readonly values: Record<string, string> };
  readonly rootVolumeGb: number;
  /** Inline policies of the node role by name, as policy JSON; the group adds the node's own health reporting. */
  readonly inlinePolicies: Record<string, string>;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  /** One on-demand instance type, or a spot/on-demand mix. */
  readonly instances: { readonly instanceType: string } | { readonly mixed: MixedInstances };
  readonly targetGroupArns: string[];
  /** "ELB": a node its load balancer finds unhealthy is replaced; "EC2": only a failed instance is. */
  readonly healthCheckType: "ELB" | "EC2";
  /** A launch-template change rolls through the group keeping at least this share in service. */
  readonly refreshMinHealthyPercentage: number;
  /** Tags every instance carries, on the group so a change tags new instances instead of rolling every node. */
  readonly instanceTags: Record<string, string>;
  /** Tags for the group alone (e.g. cluster-autoscaler's discovery), not propagated to instances. */
  readonly groupOnlyTags: Record<string, string>;
  /** Desired capacity belongs to a scaler after creation: Terraform sets it once and never undoes the scaler. */
  readonly scalerOwnsDesiredCapacity: boolean;
  /** What must exist before the first node boots; the role's policies are added. */
  readonly bootDependencies: ITerraformDependable[];
}

/**
 * One kind of k3s node: its IAM role, bootstrap script, launch template and auto scaling group, with the launch hook
 * that holds every new node out of service until its bootstrap ends it.
 */
export class NodeGroup extends Construct {
  public readonly group: AutoscalingGroup;

  constructor(scope: Construct, id: string, props: NodeGroupProps) {
    super(scope, id);
    const { clusterName, kind } = props;
    const groupName = nodeGroupName(clusterName, kind);

    // A node ends its own launch hook and, if its bootstrap fails for good, reports itself unhealthy so its group
    // replaces it; only in its own group.
    const nodeHealth = new DataAwsIamPolicyDocument(this, "HealthPolicy", {
      statement: [
        {
          sid: "ReportOwnHealth",
          actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"],
          resources: [autoScalingGroupArnPattern(props.partition, props.region, props.accountId, groupName)],
        },
      ],
    });
    const role = new NodeRole(this, "Role", {
      // IAM names are account-global: the region lets one account run the cluster in two regions.
      name: `${clusterName}-${props.region}-${kind}`,
      inlinePolicies: { ...props.inlinePolicies, "node-health": nodeHealth.json },
    });

    const userData = new TerraformLocal(
      this,
      "UserData",
      renderUserData(kind, props.bootstrap.includes, { ...props.bootstrap.values, AUTOSCALING_GROUP_NAME: groupName, BOOTSTRAP_HOOK_NAME }),
    );
    const template = new LaunchTemplate(this, "LaunchTemplate", {
      name: `${clusterName}-${kind}`,
      imageId: props.imageId,
      instanceType: "instanceType" in props.instances ? props.instances.instanceType : undefined,
      keyName: props.keyName,
      iamInstanceProfile: { arn: role.instanceProfileArn },
      vpcSecurityGroupIds: [props.securityGroupId],
      // Compressed: EC2 takes at most 16 KB of user data before base64 (EC2 user guide, "Work with instance user
      // data"), and the server script with its manifests is larger (about 19 KB with cluster-autoscaler's chart).
      // cloud-init, which runs it on Amazon Linux 2023, inflates gzip user data itself (cloud-init docs, "User-data
      // formats": gzip compressed content).
      userData: Fn.base64gzip(userData.asString),
      // One hop: a pod's packets take a second hop, so no pod on the pod network can take the node role's
      // credentials. Components that need metadata (cloud controller, EFS CSI controller) use host networking.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: props.rootVolumeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
      // Only what never changes for a cluster: a tag edit must not roll every node.
      tagSpecifications: ["instance", "volume"].map((resourceType) => ({
        resourceType,
        tags: { Name: `${clusterName}-${kind}`, ...clusterTag(clusterName, CLUSTER_OWNED) },
      })),
      updateDefaultVersion: true,
    });
    const templateVersion = template.latestVersion.toString();

    const launch: Partial<AutoscalingGroupConfig> =
      "mixed" in props.instances
        ? {
            // Spot capacity: replace a node at risk of interruption before its two-minute warning.
            capacityRebalance: true,
            mixedInstancesPolicy: {
              instancesDistribution: {
                onDemandBaseCapacity: props.instances.mixed.onDemandBaseCapacity,
                onDemandPercentageAboveBaseCapacity: props.instances.mixed.onDemandPercentageAboveBaseCapacity,
                onDemandAllocationStrategy: "prioritized",
                spotAllocationStrategy: "price-capacity-optimized",
              },
              launchTemplate: {
                launchTemplateSpecification: { launchTemplateId: template.id, version: templateVersion },
                override: props.instances.mixed.instanceTypes.map((instanceType) => ({ instanceType })),
              },
            },
          }
        : { launchTemplate: { id: template.id, version: templateVersion } };
    const tags = (values: Record<string, string>, propagateAtLaunch: boolean) => Object.entries(values).map(([key, value]) => ({ key, value, propagateAtLaunch }));

    this.group = new AutoscalingGroup(this, "Group", {
      name: groupName,
      minSize: props.minSize,
      maxSize: props.maxSize,
      desiredCapacity: props.desiredCapacity,
      vpcZoneIdentifier: props.subnetIds,
      ...launch,
      targetGroupArns: props.targetGroupArns,
      healthCheckType: props.healthCheckType,
      // The grace starts once the bootstrap hook has let the node in, with k3s answering; it covers the load
      // balancer's first health checks.
      healthCheckGracePeriod: 300,
      enabledMetrics: GROUP_METRICS,
      metricsGranularity: "1Minute",
      // An initial hook exists before the group launches its first instance (a separate hook resource would come later).
      initialLifecycleHook: [
        { name: BOOTSTRAP_HOOK_NAME, lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeout: BOOTSTRAP_TIMEOUT_SECONDS, defaultResult: "ABANDON" },
      ],
      // Readiness is the hook's business; a capacity wait that timed out would leave the group tainted for replacement.
      waitForCapacityTimeout: "0",
      // Launch-template changes (a new k3s version, AMI or user data) roll through the group automatically.
      instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: props.refreshMinHealthyPercentage, instanceWarmup: "300", skipMatching: true } },
      tag: [...tags({ ...props.instanceTags, Name: `${clusterName}-${kind}` }, true), ...tags(props.groupOnlyTags, false)],
      lifecycle: props.scalerOwnsDesiredCapacity ? { ignoreChanges: ["desired_capacity"] } : undefined,
      // A node reads all of this at boot; starting it earlier only burns its retry budget.
      dependsOn: [...props.bootDependencies, ...role.policies],
    });
  }
}
