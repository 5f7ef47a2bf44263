import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingLifecycleHook } from "@cdktf/provider-aws/lib/autoscaling-lifecycle-hook";
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { KeyPair } from "@cdktf/provider-aws/lib/key-pair";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { Fn, ITerraformDependable, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { AUTOMATION_TOKEN_SECRET, INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT, KUBE_API_PORT } from "../ports";
import { autoScalingGroupArnPattern, cloudControllerStatements, CLOUD_NODE_ACTIONS, NodeRole } from "./iam";
import { terraformLiteral } from "../literal";
import { K3S_INSTALLER } from "./k3s-installer";
import { clusterAutoscalerDiscoveryTags, clusterAutoscalerManifest, clusterAutoscalerNodeTemplateTags, clusterAutoscalerStatements } from "./cluster-autoscaler";
import { kubernetesMinorImageTag, readTemplate, renderUserData, secretDocumentKeys, serverTaintsYaml } from "./user-data";

export type Architecture = "arm64" | "x86_64";

/** Seconds the agents' termination hook holds an instance for the drain Lambda before it terminates anyway. */
export const AGENT_DRAIN_HEARTBEAT_SECONDS = 600;

/**
 * How long a launch lifecycle hook holds a new node out of service for its bootstrap, which ends the hold itself
 * (CONTINUE when k3s works, ABANDON when it fails). It bounds the bootstrap as a whole: the script's longest wait, for
 * a datastore still being created, takes about 55 minutes. At the limit the hook abandons the launch.
 */
export const BOOTSTRAP_TIMEOUT_SECONDS = 3600;

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
  /**
   * "pods": the autoscaler Lambda sets desired capacity; "cpu": an ASG target-tracking policy at 80 % CPU;
   * "cluster-autoscaler": upstream cluster-autoscaler, deployed on the servers, finds the group by its tags.
   */
  readonly scalingMode: "pods" | "cpu" | "cluster-autoscaler";
}

export interface ComputeProps {
  /** Prefix of every name, and the `kubernetes.io/cluster/<name>` tag. */
  readonly clusterName: string;
  readonly region: string;
  readonly architecture: Architecture;
  /** k3s release of the servers; a change rolls the servers one at a time. */
  readonly k3sVersion: string;
  /** k3s release of the agents, never newer than the servers'; a change rolls the agents. */
  readonly agentK3sVersion: string;
  /** Amazon Linux 2023 release the nodes run (e.g. "2023.9.20251105.0"); a change rolls both groups. */
  readonly nodeImageRelease: string;
  readonly vpcId: string;
  /** Subnets the nodes live in, one per zone. */
  readonly privateSubnetIds: string[];
  readonly serverSecurityGroupId: string;
  readonly agentSecurityGroupId: string;
  readonly serverCount: number;
  readonly serverInstanceType: string;
  readonly agents: AgentGroupProps;
  /** Internal API load balancer DNS name: where nodes register and Lambdas connect. */
  readonly apiDnsName: string;
  /** API URL written into the published kubeconfig in place of k3s's local one. */
  readonly kubeconfigEndpoint: string;
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
  /**
   * Tags every instance carries (ASG launches do not get the provider's default tags). They go on the groups, not the
   * launch templates, so changing one tags new instances instead of rolling every node.
   */
  readonly instanceTags: Record<string, string>;
  /** Regional URL of the RDS CA bundle the servers verify the datastore with. */
  readonly rdsCaBundleUrl: string;
  /** Ordinary pods may run on servers; otherwise servers carry `CriticalAddonsOnly=true:NoExecute`. */
  readonly allowWorkloadsOnServers: boolean;
  /** What must exist before any server boots: the datastore and its secret version, private default routes. */
  readonly serverBootDependencies: ITerraformDependable[];
  /** What must exist before any agent boots: private default routes. */
  readonly agentBootDependencies: ITerraformDependable[];
  /**
   * Public key of an EC2 key pair for the nodes. No security group admits SSH; Session Manager is the admin path.
   * @default undefined (no key pair)
   */
  readonly sshPublicKey?: string;
  /** Recovery windows on the secrets; off only for throwaway clusters. */
  readonly protectData: boolean;
}

/** k3s servers and agents: AMI, token, IAM, launch templates, auto scaling groups, scaling and the drain hook. */
export class Compute extends Construct {
  public readonly serverGroupName: string;
  public readonly agentGroupName: string;
  public readonly agentGroupArn: string;
  public readonly tokenSecretArn: string;
  /** Secret holding the admin kubeconfig, published by the servers once the API is up. */
  public readonly kubeconfigSecretArn: string;
  /** Secret holding the automation service account's token, CA and API address, for the Lambdas. */
  public readonly automationAccessSecretArn: string;

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    const { clusterName, protectData } = props;
    const partition = new DataAwsPartition(this, "Partition").partition;
    const accountId = new DataAwsCallerIdentity(this, "Account").accountId;

    // A named Amazon Linux 2023 release, not "latest": a plan never rolls every node because AWS published an image.
    const ami = new DataAwsAmi(this, "Ami", {
      owners: ["amazon"],
      mostRecent: true,
      filter: [
        { name: "name", values: [`al2023-ami-${props.nodeImageRelease}-kernel-6.1-${props.architecture}`] },
        { name: "architecture", values: [props.architecture] },
      ],
    });

    const secret = (secretId: string, suffix: string, description: string, days: number) =>
      // A prefix, not a name: a destroyed cluster's secrets wait out their recovery window under the old name, and a
      // rebuild with the same cluster name must not collide with them.
      new SecretsmanagerSecret(this, secretId, { namePrefix: `${clusterName}/${suffix}-`, description, recoveryWindowInDays: protectData ? days : 0 });
    // The server token also encrypts k3s's bootstrap data in the datastore: it must outlive any server. k3s docs
    // (docs/cli/token.md) call it full cluster-administrator access, so agents get their own, join-only token.
    const serverToken = new Password(this, "ClusterToken", { length: 48, special: false });
    const tokenSecret = secret("TokenSecret", "k3s-token", "k3s server token: bootstrap-data encryption and server join; servers only", 30);
    const tokenVersion = new SecretsmanagerSecretVersion(this, "TokenSecretValue", { secretId: tokenSecret.id, secretString: serverToken.result });
    const agentToken = new Password(this, "AgentToken", { length: 48, special: false });
    const agentTokenSecret = secret("AgentTokenSecret", "k3s-agent-token", "k3s agent token: joins agents only", 30);
    const agentTokenVersion = new SecretsmanagerSecretVersion(this, "AgentTokenSecretValue", { secretId: agentTokenSecret.id, secretString: agentToken.result });
    const kubeconfigSecret = secret("KubeconfigSecret", "kubeconfig", "Admin kubeconfig, written by the k3s servers", 7);
    const automationSecret = secret("AutomationAccessSecret", "automation-access", "API address, CA and service-account token for the cluster Lambdas", 7);
    this.tokenSecretArn = tokenSecret.arn;
    this.kubeconfigSecretArn = kubeconfigSecret.arn;
    this.automationAccessSecretArn = automationSecret.arn;

    const serverGroupName = `${clusterName}-servers`;
    const agentGroupName = `${clusterName}-agents`;
    const clusterAutoscaler = props.agents.scalingMode === "cluster-autoscaler";
    // The agents' disk holds the kubelet's directory: cluster-autoscaler's node template states it as ephemeral storage.
    const agentRootVolumeGb = 50;
    const policy = (policyId: string, statements: DataAwsIamPolicyDocumentStatement[]) => new DataAwsIamPolicyDocument(this, policyId, { statement: statements }).json;
    const readSecrets = (...arns: string[]) => ({ sid: "ReadJoinSecrets", actions: ["secretsmanager:GetSecretValue"], resources: arns });
    // A node ends its own launch hook and, if its bootstrap fails for good, reports itself unhealthy so its group
    // replaces it; only in its own group.
    const reportOwnHealth = (groupName: string) => ({
      sid: "ReportOwnHealth",
      actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"],
      resources: [autoScalingGroupArnPattern(partition, props.region, accountId, groupName)],
    });
    const bootstrapHookName = "bootstrap";
    // Initial hooks exist before the group launches its first instance (a separate hook resource would come later).
    const bootstrapHook = [
      { name: bootstrapHookName, lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeatTimeout: BOOTSTRAP_TIMEOUT_SECONDS, defaultResult: "ABANDON" },
    ];
    const roleName = (role: string) => `${clusterName}-${props.region}-${role}`;
    const serverRole = new NodeRole(this, "ServerRole", {
      name: roleName("server"),
      partition,
      inlinePolicies: {
        "cloud-controller": policy("CloudControllerPolicy", cloudControllerStatements(clusterName, partition, props.vpcId)),
        "cluster-secrets": policy("ServerSecretsPolicy", [
          readSecrets(tokenSecret.arn, agentTokenSecret.arn),
          { sid: "PublishAccess", actions: ["secretsmanager:PutSecretValue"], resources: [kubeconfigSecret.arn, automationSecret.arn] },
        ]),
        "node-health": policy("ServerHealthPolicy", [reportOwnHealth(serverGroupName)]),
        datastore: props.datastoreReadPolicyJson,
        "efs-csi": props.efsCsiPolicyJson,
        // cluster-autoscaler runs on the servers with host networking, so it acts with this role.
        ...(clusterAutoscaler
          ? {
              "cluster-autoscaler": policy(
                "ClusterAutoscalerPolicy",
                clusterAutoscalerStatements(clusterName, autoScalingGroupArnPattern(partition, props.region, accountId, agentGroupName)),
              ),
            }
          : {}),
      },
    });
    const agentRole = new NodeRole(this, "AgentRole", {
      name: roleName("agent"),
      partition,
      inlinePolicies: {
        "cloud-node": policy("CloudNodePolicy", [{ sid: "CloudProviderNode", actions: CLOUD_NODE_ACTIONS, resources: ["*"] }]),
        "cluster-secrets": policy("AgentSecretsPolicy", [readSecrets(agentTokenSecret.arn)]),
        "node-health": policy("AgentHealthPolicy", [reportOwnHealth(agentGroupName)]),
        "efs-csi": props.efsCsiPolicyJson,
      },
    });

    const keyPair = props.sshPublicKey ? new KeyPair(this, "KeyPair", { keyName: clusterName, publicKey: terraformLiteral(props.sshPublicKey) }) : undefined;
    const apiEndpoint = `https://${props.apiDnsName}:${KUBE_API_PORT}`;
    const common = {
      REGION: props.region,
      CLUSTER_NAME: clusterName,
      API_ENDPOINT: apiEndpoint,
      AGENT_TOKEN_SECRET_ARN: agentTokenSecret.arn,
      K3S_INSTALL_SCRIPT_URL: K3S_INSTALLER.url,
      K3S_INSTALL_SCRIPT_SHA256: K3S_INSTALLER.sha256,
      BOOTSTRAP_HOOK_NAME: bootstrapHookName,
    };

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
          MANIFEST_CLUSTER_AUTOSCALER: clusterAutoscaler ? clusterAutoscalerManifest(clusterName, props.region, props.k3sVersion) : "",
        },
        {
          ...common,
          ...secretDocumentKeys(),
          K3S_VERSION: props.k3sVersion,
          TOKEN_SECRET_ARN: tokenSecret.arn,
          AUTOSCALING_GROUP_NAME: serverGroupName,
          DATASTORE_SECRET_ARN: props.datastoreSecretArn,
          RDS_CA_BUNDLE_URL: props.rdsCaBundleUrl,
          KUBECONFIG_SECRET_ARN: kubeconfigSecret.arn,
          LAMBDA_ACCESS_SECRET_ARN: automationSecret.arn,
          KUBECONFIG_ENDPOINT: props.kubeconfigEndpoint,
          // Every name the API is reached by must be a SAN at first boot; adding one later does not take effect.
          TLS_SANS: [props.apiDnsName, ...props.extraTlsSans].map((name) => `  - "${name}"`).join("\n"),
          SERVER_NODE_TAINTS: serverTaintsYaml(props.allowWorkloadsOnServers),
          // Chosen from the servers' release at synth, so a booting server cannot roll the controller past its peers.
          CLOUD_CONTROLLER_IMAGE_TAG: kubernetesMinorImageTag(props.k3sVersion),
          EFS_FILE_SYSTEM_ID: props.efsFileSystemId,
          INGRESS_HTTP_NODE_PORT: String(INGRESS_HTTP_NODE_PORT),
          INGRESS_HTTPS_NODE_PORT: String(INGRESS_HTTPS_NODE_PORT),
          KUBE_API_PORT: String(KUBE_API_PORT),
          AUTOMATION_TOKEN_SECRET_NAME: AUTOMATION_TOKEN_SECRET.name,
          AUTOMATION_TOKEN_SECRET_NAMESPACE: AUTOMATION_TOKEN_SECRET.namespace,
        },
      ),
    );
    const agentUserData = new TerraformLocal(this, "AgentUserData", renderUserData("agent", {}, { ...common, K3S_VERSION: props.agentK3sVersion, AUTOSCALING_GROUP_NAME: agentGroupName }));

    const launchTemplate = (role: "server" | "agent", nodeRole: NodeRole, securityGroupId: string, userData: TerraformLocal, rootGb: number, instanceType?: string) =>
      new LaunchTemplate(this, role === "server" ? "ServerLaunchTemplate" : "AgentLaunchTemplate", {
        name: `${clusterName}-${role}`,
        imageId: ami.id,
        instanceType,
        keyName: keyPair?.keyName,
        iamInstanceProfile: { arn: nodeRole.instanceProfileArn },
        vpcSecurityGroupIds: [securityGroupId],
        // Compressed: EC2 takes at most 16 KB of user data before base64 (EC2 user guide, "Work with instance user
        // data"), and the server script with its manifests is larger (about 19 KB with cluster-autoscaler's chart).
        // cloud-init, which runs it on Amazon Linux 2023, inflates gzip user data itself (cloud-init docs, "User-data
        // formats": gzip compressed content).
        userData: Fn.base64gzip(userData.asString),
        // One hop: a pod's packets take a second hop, so no pod on the pod network can take the node role's
        // credentials. Components that need metadata (cloud controller, EFS CSI controller) use host networking.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: rootGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
        // Only what never changes for a cluster: a tag edit must not roll every node.
        tagSpecifications: ["instance", "volume"].map((resourceType) => ({
          resourceType,
          tags: { Name: `${clusterName}-${role}`, [`kubernetes.io/cluster/${clusterName}`]: "owned" },
        })),
        updateDefaultVersion: true,
      });
    const groupTags = (role: string) =>
      Object.entries({ ...props.instanceTags, Name: `${clusterName}-${role}` }).map(([key, value]) => ({ key, value, propagateAtLaunch: true }));

    const serverTemplate = launchTemplate("server", serverRole, props.serverSecurityGroupId, serverUserData, 40, props.serverInstanceType);
    const servers = new AutoscalingGroup(this, "ServerGroup", {
      name: serverGroupName,
      minSize: props.serverCount,
      maxSize: props.serverCount,
      desiredCapacity: props.serverCount,
      vpcZoneIdentifier: props.privateSubnetIds,
      launchTemplate: { id: serverTemplate.id, version: serverTemplate.latestVersion.toString() },
      targetGroupArns: props.apiTargetGroupArns,
      // A server whose API stops answering the load balancer is replaced. The grace starts once the bootstrap hook has
      // let the server in, with k3s answering; it covers the load balancer's first health checks.
      healthCheckType: "ELB",
      healthCheckGracePeriod: 300,
      initialLifecycleHook: bootstrapHook,
      // Readiness is the hook's business; a capacity wait that timed out would leave the group tainted for replacement.
      waitForCapacityTimeout: "0",
      instanceRefresh: rollingRefresh(oneAtATime(props.serverCount)),
      tag: groupTags("server"),
      // Servers read all of this at boot; starting them earlier only burns their retry budget.
      dependsOn: [...props.serverBootDependencies, ...serverRole.policies, tokenVersion, agentTokenVersion],
    });

    const agentTemplate = launchTemplate("agent", agentRole, props.agentSecurityGroupId, agentUserData, agentRootVolumeGb);
    // Group tags for cluster-autoscaler only; instances need none of them.
    const clusterAutoscalerTags = Object.entries(
      clusterAutoscaler ? { ...clusterAutoscalerDiscoveryTags(clusterName), ...clusterAutoscalerNodeTemplateTags(props.architecture, agentRootVolumeGb) } : {},
    ).map(([key, value]) => ({ key, value, propagateAtLaunch: false }));
    const agents = new AutoscalingGroup(this, "AgentGroup", {
      name: agentGroupName,
      minSize: props.agents.minSize,
      maxSize: props.agents.maxSize,
      desiredCapacity: props.agents.desiredCapacity,
      vpcZoneIdentifier: props.privateSubnetIds,
      targetGroupArns: props.ingressTargetGroupArns,
      // EC2 checks only: an ingress outage must not make the group replace every agent.
      healthCheckType: "EC2",
      healthCheckGracePeriod: 300,
      initialLifecycleHook: bootstrapHook,
      waitForCapacityTimeout: "0",
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
      tag: [...groupTags("agent"), ...clusterAutoscalerTags],
      lifecycle: { ignoreChanges: ["desired_capacity"] },
      // Agents join through the servers: launched before them, they would spend their bootstrap time waiting.
      dependsOn: [...props.agentBootDependencies, ...agentRole.policies, agentTokenVersion, servers],
    });

    new AutoscalingLifecycleHook(this, "AgentDrainHook", {
      name: `${clusterName}-agent-drain`,
      autoscalingGroupName: agents.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: AGENT_DRAIN_HEARTBEAT_SECONDS,
      defaultResult: "CONTINUE",
    });

    // Exactly one scaler per group: a CPU policy, the pod-driven Lambda and cluster-autoscaler would fight over desired
    // capacity.
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
  }
}

/** The lowest healthy percentage that still replaces only one instance at a time. */
function oneAtATime(count: number): number {
  return count <= 1 ? 0 : Math.floor((100 * (count - 1)) / count);
}

/** Launch-template changes (a new k3s version, AMI or user data) roll through the group automatically. */
function rollingRefresh(minHealthyPercentage: number) {
  return { strategy: "Rolling", preferences: { minHealthyPercentage, instanceWarmup: "300", skipMatching: true } };
}
