import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingLifecycleHook } from "@cdktf/provider-aws/lib/autoscaling-lifecycle-hook";
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsSsmParameter } from "@cdktf/provider-aws/lib/data-aws-ssm-parameter";
import { KeyPair } from "@cdktf/provider-aws/lib/key-pair";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { Fn, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT, KUBE_API_PORT } from "../ports";
import { CLOUD_CONTROLLER_ACTIONS, CLOUD_NODE_ACTIONS, NodeRole } from "./iam";
import { readTemplate, renderUserData } from "./user-data";

export type Architecture = "arm64" | "x86_64";

/** Seconds the agents' termination hook holds an instance for the drain Lambda before it terminates anyway. */
export const AGENT_DRAIN_HEARTBEAT_SECONDS = 600;

export interface AgentGroupProps {
  /** Instance types of one architecture; the first is preferred for on-demand capacity. */
  readonly instanceTypes: string[];
  readonly minSize: number;
  readonly maxSize: number;
  /** Initial size only: Terraform ignores later changes so an apply never undoes the autoscaler. */
  readonly desiredCapacity: number;
  readonly onDemandBaseCapacity: number;
  /** Percentage of on-demand above the base; the rest is spot. */
  readonly onDemandPercentageAboveBaseCapacity: number;
  /** "pods": the autoscaler Lambda sets desired capacity; "cpu": an ASG target-tracking policy at 80 % CPU. */
  readonly scalingMode: "pods" | "cpu";
}

export interface ComputeProps {
  /** Prefix of every name, and the `kubernetes.io/cluster/<name>` tag. */
  readonly clusterName: string;
  readonly region: string;
  readonly architecture: Architecture;
  /** k3s release tag; a change rolls servers and agents through instance refresh. */
  readonly k3sVersion: string;
  /** Subnets the nodes live in, one per zone. */
  readonly privateSubnetIds: string[];
  readonly serverSecurityGroupId: string;
  readonly agentSecurityGroupId: string;
  readonly serverCount: number;
  readonly serverInstanceType: string;
  readonly agents: AgentGroupProps;
  /** Internal API load balancer DNS name: where nodes register and Lambdas connect. */
  readonly apiDnsName: string;
  /** Host name written into the published kubeconfig (the public API when there is one). */
  readonly kubeconfigApiHost: string;
  /** Additional names the API serves its certificate for (public load balancer, `k3s.<domain>`). */
  readonly extraTlsSans: string[];
  readonly apiTargetGroupArns: string[];
  readonly ingressTargetGroupArns: string[];
  readonly datastoreSecretArn: string;
  /** Grants read of the datastore secret; attached to the servers only. */
  readonly datastoreReadPolicyJson: string;
  readonly efsFileSystemId: string;
  /** EFS CSI driver permissions; attached to both roles since its controller may run on any node. */
  readonly efsCsiPolicyJson: string;
  /** Tags every instance and volume carries (ASG launches do not get the provider's default tags). */
  readonly instanceTags: Record<string, string>;
  /**
   * Public key of an EC2 key pair for the nodes. No security group admits SSH; Session Manager is the admin path.
   * @default undefined (no key pair)
   */
  readonly sshPublicKey?: string;
  /**
   * Recovery windows on the secrets; off only for throwaway clusters.
   * @default true
   */
  readonly protectData?: boolean;
}

/** k3s servers and agents: AMI, token, IAM, launch templates, auto scaling groups, scaling and the drain hook. */
export class Compute extends Construct {
  public readonly serverGroupName: string;
  public readonly agentGroupName: string;
  public readonly agentGroupArn: string;
  public readonly agentDrainHookName: string;
  public readonly tokenSecretArn: string;
  /** Secret holding the admin kubeconfig, published by the servers once the API is up. */
  public readonly kubeconfigSecretArn: string;
  /** Secret holding the automation service account's token, CA and API address, for the Lambdas. */
  public readonly automationAccessSecretArn: string;

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    const { clusterName } = props;
    const protectData = props.protectData ?? true;
    const partition = new DataAwsPartition(this, "Partition").partition;

    // Amazon Linux 2023: supported into 2029, ships the AWS CLI and the SSM agent that the bootstrap and Session
    // Manager rely on, and AWS publishes its current image per architecture as a public parameter.
    const ami = new DataAwsSsmParameter(this, "Ami", { name: `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${props.architecture}` });

    const secret = (secretId: string, suffix: string, description: string, days: number) =>
      new SecretsmanagerSecret(this, secretId, { name: `${clusterName}/${suffix}`, description, recoveryWindowInDays: protectData ? days : 0 });
    // The token also encrypts k3s's bootstrap data in the datastore: it must outlive any server.
    const token = new Password(this, "ClusterToken", { length: 48, special: false });
    const tokenSecret = secret("TokenSecret", "k3s-token", "k3s cluster token shared by servers and agents", 30);
    new SecretsmanagerSecretVersion(this, "TokenSecretValue", { secretId: tokenSecret.id, secretString: token.result });
    const kubeconfigSecret = secret("KubeconfigSecret", "kubeconfig", "Admin kubeconfig, written by the k3s servers", 7);
    const automationSecret = secret("AutomationAccessSecret", "automation-access", "API address, CA and service-account token for the cluster Lambdas", 7);
    this.tokenSecretArn = tokenSecret.arn;
    this.kubeconfigSecretArn = kubeconfigSecret.arn;
    this.automationAccessSecretArn = automationSecret.arn;

    const policy = (policyId: string, statements: { sid: string; actions: string[]; resources: string[] }[]) =>
      new DataAwsIamPolicyDocument(this, policyId, { statement: statements }).json;
    const readToken = { sid: "ReadClusterToken", actions: ["secretsmanager:GetSecretValue"], resources: [tokenSecret.arn] };
    const serverRole = new NodeRole(this, "ServerRole", {
      name: `${clusterName}-server`,
      partition,
      inlinePolicies: {
        "cloud-controller": policy("CloudControllerPolicy", [{ sid: "CloudControllerManager", actions: CLOUD_CONTROLLER_ACTIONS, resources: ["*"] }]),
        "cluster-secrets": policy("ServerSecretsPolicy", [
          readToken,
          { sid: "PublishAccess", actions: ["secretsmanager:PutSecretValue"], resources: [kubeconfigSecret.arn, automationSecret.arn] },
        ]),
        datastore: props.datastoreReadPolicyJson,
        "efs-csi": props.efsCsiPolicyJson,
      },
    });
    const agentRole = new NodeRole(this, "AgentRole", {
      name: `${clusterName}-agent`,
      partition,
      inlinePolicies: {
        "cloud-node": policy("CloudNodePolicy", [{ sid: "CloudProviderNode", actions: CLOUD_NODE_ACTIONS, resources: ["*"] }]),
        "cluster-secrets": policy("AgentSecretsPolicy", [readToken]),
        "efs-csi": props.efsCsiPolicyJson,
      },
    });

    const keyPair = props.sshPublicKey ? new KeyPair(this, "KeyPair", { keyName: clusterName, publicKey: props.sshPublicKey }) : undefined;
    const apiEndpoint = `https://${props.apiDnsName}:${KUBE_API_PORT}`;
    const common = { REGION: props.region, CLUSTER_NAME: clusterName, K3S_VERSION: props.k3sVersion, TOKEN_SECRET_ARN: tokenSecret.arn, API_ENDPOINT: apiEndpoint };

    const serverUserData = new TerraformLocal(
      this,
      "ServerUserData",
      renderUserData(
        "server",
        {
          MANIFEST_CLOUD_CONTROLLER: readTemplate("manifests/aws-cloud-controller-manager.yaml").trimEnd(),
          MANIFEST_EFS_CSI: readTemplate("manifests/aws-efs-csi-driver.yaml").trimEnd(),
          MANIFEST_TRAEFIK: readTemplate("manifests/traefik-node-ports.yaml").trimEnd(),
          MANIFEST_AUTOMATION_RBAC: readTemplate("manifests/cluster-automation-rbac.yaml").trimEnd(),
        },
        {
          ...common,
          DATASTORE_SECRET_ARN: props.datastoreSecretArn,
          KUBECONFIG_SECRET_ARN: kubeconfigSecret.arn,
          LAMBDA_ACCESS_SECRET_ARN: automationSecret.arn,
          KUBECONFIG_ENDPOINT: `https://${props.kubeconfigApiHost}:${KUBE_API_PORT}`,
          // Every name the API is reached by must be a SAN at first boot; adding one later does not take effect.
          TLS_SANS: [props.apiDnsName, ...props.extraTlsSans].map((name) => `  - "${name}"`).join("\n"),
          CLOUD_CONTROLLER_IMAGE_TAG: cloudControllerImageTag(props.k3sVersion),
          EFS_FILE_SYSTEM_ID: props.efsFileSystemId,
          INGRESS_HTTP_NODE_PORT: String(INGRESS_HTTP_NODE_PORT),
          INGRESS_HTTPS_NODE_PORT: String(INGRESS_HTTPS_NODE_PORT),
        },
      ),
    );
    const agentUserData = new TerraformLocal(this, "AgentUserData", renderUserData("agent", {}, common));

    const launchTemplate = (role: "server" | "agent", nodeRole: NodeRole, securityGroupId: string, userData: TerraformLocal, rootGb: number, instanceType?: string) =>
      new LaunchTemplate(this, role === "server" ? "ServerLaunchTemplate" : "AgentLaunchTemplate", {
        name: `${clusterName}-${role}`,
        imageId: ami.insecureValue,
        instanceType,
        keyName: keyPair?.keyName,
        iamInstanceProfile: { arn: nodeRole.instanceProfileArn },
        vpcSecurityGroupIds: [securityGroupId],
        userData: Fn.base64encode(userData.asString),
        // Tokens required; two hops so pods on the pod network (CSI controller, cloud controller) reach IMDS too.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2, instanceMetadataTags: "disabled" },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: rootGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
        tagSpecifications: ["instance", "volume"].map((resourceType) => ({
          resourceType,
          tags: { ...props.instanceTags, Name: `${clusterName}-${role}`, [`kubernetes.io/cluster/${clusterName}`]: "owned" },
        })),
        updateDefaultVersion: true,
      });

    const serverTemplate = launchTemplate("server", serverRole, props.serverSecurityGroupId, serverUserData, 40, props.serverInstanceType);
    const servers = new AutoscalingGroup(this, "ServerGroup", {
      name: `${clusterName}-servers`,
      minSize: props.serverCount,
      maxSize: props.serverCount,
      desiredCapacity: props.serverCount,
      vpcZoneIdentifier: props.privateSubnetIds,
      launchTemplate: { id: serverTemplate.id, version: serverTemplate.latestVersion.toString() },
      targetGroupArns: props.apiTargetGroupArns,
      // A server whose API stops answering the load balancer is replaced; the grace covers install and first start.
      healthCheckType: "ELB",
      healthCheckGracePeriod: 600,
      instanceRefresh: rollingRefresh(oneAtATime(props.serverCount)),
      tag: [{ key: "Name", value: `${clusterName}-server`, propagateAtLaunch: false }],
    });

    const agentTemplate = launchTemplate("agent", agentRole, props.agentSecurityGroupId, agentUserData, 50);
    const agents = new AutoscalingGroup(this, "AgentGroup", {
      name: `${clusterName}-agents`,
      minSize: props.agents.minSize,
      maxSize: props.agents.maxSize,
      desiredCapacity: props.agents.desiredCapacity,
      vpcZoneIdentifier: props.privateSubnetIds,
      targetGroupArns: props.ingressTargetGroupArns,
      // EC2 checks only: an ingress outage must not make the group replace every agent.
      healthCheckType: "EC2",
      healthCheckGracePeriod: 300,
      capacityRebalance: true,
      mixedInstancesPolicy: {
        instancesDistribution: {
          onDemandBaseCapacity: props.agents.onDemandBaseCapacity,
          onDemandPercentageAboveBaseCapacity: props.agents.onDemandPercentageAboveBaseCapacity,
          onDemandAllocationStrategy: "prioritized",
          spotAllocationStrategy: "price-capacity-optimized",
        },
        launchTemplate: {
          launchTemplateSpecification: { launchTemplateId: agentTemplate.id, version: agentTemplate.latestVersion.toString() },
          override: props.agents.instanceTypes.map((instanceType) => ({ instanceType })),
        },
      },
      instanceRefresh: rollingRefresh(90),
      tag: [{ key: "Name", value: `${clusterName}-agent`, propagateAtLaunch: false }],
      lifecycle: { ignoreChanges: ["desired_capacity"] },
    });

    const drainHook = new AutoscalingLifecycleHook(this, "AgentDrainHook", {
      name: `${clusterName}-agent-drain`,
      autoscalingGroupName: agents.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: AGENT_DRAIN_HEARTBEAT_SECONDS,
      defaultResult: "CONTINUE",
    });

    // Exactly one scaler per group: a CPU policy and the pod-driven Lambda would fight over desired capacity.
    if (props.agents.scalingMode === "cpu") {
      new AutoscalingPolicy(this, "AgentCpuTargetTracking", {
        name: `${clusterName}-agents-cpu-80`,
        autoscalingGroupName: agents.name,
        policyType: "TargetTrackingScaling",
        targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: 80 },
      });
    }

    this.serverGroupName = servers.name;
    this.agentGroupName = agents.name;
    this.agentGroupArn = agents.arn;
    this.agentDrainHookName = drainHook.name;
  }
}

/** The AWS cloud controller release of the cluster's Kubernetes minor: "v1.33.5+k3s1" runs "v1.33.0". */
export function cloudControllerImageTag(k3sVersion: string): string {
  const minor = /^v1\.(\d+)\./.exec(k3sVersion);
  if (!minor) throw new Error(`Compute: k3sVersion "${k3sVersion}" is not a k3s release tag such as "v1.33.5+k3s1"`);
  return `v1.${minor[1]}.0`;
}

/** The lowest healthy percentage that still replaces only one instance at a time. */
function oneAtATime(count: number): number {
  return count <= 1 ? 0 : Math.floor((100 * (count - 1)) / count);
}

/** Launch-template changes (a new k3s version, AMI or user data) roll through the group automatically. */
function rollingRefresh(minHealthyPercentage: number) {
  return { strategy: "Rolling", preferences: { minHealthyPercentage, instanceWarmup: "300", skipMatching: true } };
}
