import { AutoscalingLifecycleHook } from "@cdktf/provider-aws/lib/autoscaling-lifecycle-hook";
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { DataAwsAmi } from "@cdktf/provider-aws/lib/data-aws-ami";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { KeyPair } from "@cdktf/provider-aws/lib/key-pair";
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretVersion } from "@cdktf/provider-aws/lib/secretsmanager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";
import { AUTOMATION_TOKEN_SECRET, KUBE_API_PORT } from "../ports";
import { autoScalingGroupArnPattern, cloudControllerStatements, CLOUD_NODE_ACTIONS, SESSION_MANAGER_ACTIONS } from "./iam";
import { MixedInstances, NodeGroup, nodeGroupName } from "./node-group";
import { terraformLiteral } from "../literal";
import { K3S_INSTALLER } from "./k3s-installer";
import { clusterAutoscalerDiscoveryTags, clusterAutoscalerManifest, clusterAutoscalerNodeTemplateTags, clusterAutoscalerStatements } from "./cluster-autoscaler";
import { originHeaderMiddlewareManifest, traefikManifest, WebEntryPoint } from "./traefik";
import { kubernetesMinorImageTag, readTemplate, secretDocumentKeys, SERVER_TAINT, serverTaintsYaml } from "./user-data";
import { AGENT_CPU_TARGET_PERCENT } from "./cpu-target";
import { ClusterPolicyProps, clusterPolicyIncludes, clusterPolicyValues, withPrivilegedAddonsExempt } from "./cluster-policy";
import { ServiceAccountIssuer, serviceAccountIssuerValues } from "./service-account-issuer";
import { ebsCsiManifest } from "./ebs-csi";
import { AgentSize, readAgentSize } from "./agent-size";
import { CAPACITY_TYPE_LABEL } from "../../lambdas/shared/node-labels";
import { AddonNames } from "../contracts/addons";
import { ADMIN_SECRET_FORMATS, addonIncludes, addonValues, adminSecretTable, ComputeAddonsProps, removedAdminSecretTable } from "./addons";

export type { AgentSize } from "./agent-size";

export type Architecture = "arm64" | "x86_64";

/** Seconds the agents' termination hook holds an instance for the drain Lambda before it terminates anyway. */
export const AGENT_DRAIN_HEARTBEAT_SECONDS = 600;


export interface AgentGroupProps extends MixedInstances {
  readonly minSize: number;
  readonly maxSize: number;
  /** Initial size only: Terraform ignores later changes so an apply never undoes the autoscaler. */
  readonly desiredCapacity: number;
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
   * The role of the EBS CSI controller, when block storage is on: the driver and its gp3 StorageClass are deployed,
   * and the controller assumes this role through the service-account issuer (needs serviceAccountIssuer).
   * @default undefined (no block storage)
   */
  readonly ebsCsiControllerRoleArn?: string;
  /**
   * The issuer the servers sign service-account tokens as, when pods assume IAM roles (modules/workload-identity),
   * and the bucket and permissions with which they publish its discovery documents.
   * @default undefined (the k3s default issuer only)
   */
  readonly serviceAccountIssuer?: ServiceAccountIssuer;
  /** The StorageClass of claims that name none: "efs" (ReadWriteMany, NFS) or "gp3" (needs ebsCsiControllerRoleArn). */
  readonly defaultStorageClass: "efs" | "gp3";
  /**
   * Tags every instance carries (ASG launches do not get the provider's default tags). They go on the groups, not the
   * launch templates, so changing one tags new instances instead of rolling every node.
   */
  readonly instanceTags: Record<string, string>;
  /** Traefik's entry points: web's redirect to HTTPS and the request header websecure removes, by edge mode. */
  readonly ingressWebEntryPoint: WebEntryPoint;
  /** Regional URL of the RDS CA bundle the servers verify the datastore with. */
  readonly rdsCaBundleUrl: string;
  /** Ordinary pods may run on servers; otherwise servers carry `SERVER_TAINT` (user-data.ts). */
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
  /** Pod Security Admission defaults and the API server's audit log, written by every server before k3s starts. */
  readonly clusterPolicy: ClusterPolicyProps;
  /** The add-ons the servers deploy as HelmCharts; each one off writes its manifests empty. */
  readonly addons: ComputeAddonsProps;
  /**
   * The enabled add-ons' admin secrets (modules/addons): the servers may read exactly these, read them at boot and
   * write the Kubernetes Secrets the charts name, so they boot after each secret's value exists.
   */
  readonly addonAdminSecrets: { readonly addon: AddonNames; readonly secretArn: string; readonly version: ITerraformDependable }[];
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
  /** The agents' one size, for the pod-driven scalers; left out with scaling mode "cpu", which needs none. */
  public readonly agentSize?: AgentSize;

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

    const clusterAutoscaler = props.agents.scalingMode === "cluster-autoscaler";
    const addonSecretArns = props.addonAdminSecrets.map((secret) => secret.secretArn);
    if (props.defaultStorageClass === "gp3" && props.ebsCsiControllerRoleArn === undefined) {
      throw new Error('Compute: defaultStorageClass "gp3" needs ebsCsiControllerRoleArn, the EBS CSI driver that provisions it');
    }
    if (props.ebsCsiControllerRoleArn === undefined && (props.addons.jenkins?.storageClass === "gp3" || props.addons.monitoring?.prometheusVolume !== undefined)) {
      throw new Error('Compute: addons on "gp3" (Jenkins\'s storageClass, Prometheus\'s storage) need ebsCsiControllerRoleArn, the EBS CSI driver that provisions it');
    }
    if (props.addons.monitoring?.aws !== undefined && props.serviceAccountIssuer === undefined) {
      throw new Error("Compute: monitoring's AWS access needs serviceAccountIssuer: Alertmanager and Grafana use roles they assume with service-account tokens");
    }
    if (props.ebsCsiControllerRoleArn !== undefined && props.serviceAccountIssuer === undefined) {
      throw new Error("Compute: ebsCsiControllerRoleArn needs serviceAccountIssuer: the controller assumes its role with a service-account token");
    }
    const issuer = props.serviceAccountIssuer;
    // The agents' disk holds the kubelet's directory: cluster-autoscaler's node template states it as ephemeral storage.
    const agentRootVolumeGb = 50;
    const policy = (policyId: string, statements: DataAwsIamPolicyDocumentStatement[]) => new DataAwsIamPolicyDocument(this, policyId, { statement: statements }).json;
    const readSecrets = (...arns: string[]) => ({ sid: "ReadJoinSecrets", actions: ["secretsmanager:GetSecretValue"], resources: arns });
    const sessionManagerPolicy = new DataAwsIamPolicyDocument(this, "SessionManagerPolicy", { statement: [{ sid: "SessionManager", actions: SESSION_MANAGER_ACTIONS, resources: ["*"] }] });
    PolicyExemption.of(sessionManagerPolicy).exempt(
      "iam-wildcard-resource",
      "The SSM agent's own calls for Session Manager: AWS grants exactly these on \"*\" in its managed policy for it " +
        "(AWSCloud9SSMInstanceProfile) and in the Session Manager guide's custom instance profile; the ssmmessages channels " +
        "name no resource, and the agent registers only its own instance.",
      { statements: ["SessionManager"] },
    );
    const keyPair = props.sshPublicKey ? new KeyPair(this, "KeyPair", { keyName: clusterName, publicKey: terraformLiteral(props.sshPublicKey) }) : undefined;
    const shared = {
      clusterName,
      region: props.region,
      partition,
      accountId,
      imageId: ami.id,
      keyName: keyPair?.keyName,
      subnetIds: props.privateSubnetIds,
      instanceTags: props.instanceTags,
    };
    const sharedBootstrapValues = {
      REGION: props.region,
      CLUSTER_NAME: clusterName,
      API_ENDPOINT: `https://${props.apiDnsName}:${KUBE_API_PORT}`,
      AGENT_TOKEN_SECRET_ARN: agentTokenSecret.arn,
      K3S_INSTALL_SCRIPT_URL: K3S_INSTALLER.url,
      K3S_INSTALL_SCRIPT_SHA256: K3S_INSTALLER.sha256,
    };

    const cloudControllerPolicy = new DataAwsIamPolicyDocument(this, "CloudControllerPolicy", { statement: cloudControllerStatements(clusterName, partition, props.vpcId) });
    PolicyExemption.of(cloudControllerPolicy).exempt(
      "iam-wildcard-resource",
      "Two calls of the cloud controller name no resource known at synth. kms:DescribeKey is in upstream's control-plane policy " +
        "with Resource \"*\" (kubernetes/cloud-provider-aws docs/prerequisites.md) for keys that objects in the cluster name; " +
        "iam:CreateServiceLinkedRole is held to Elastic Load Balancing's role by its iam:AWSServiceName condition. Every other " +
        "\"*\" in the policy is a call without resource types or is scoped by the cluster tag.",
      { statements: ["Describe", "LoadBalancerServiceLinkedRole"] },
    );
    const servers = new NodeGroup(this, "Servers", {
      ...shared,
      kind: "server",
      securityGroupId: props.serverSecurityGroupId,
      rootVolumeGb: 40,
      instances: { instanceType: props.serverInstanceType },
      minSize: props.serverCount,
      maxSize: props.serverCount,
      desiredCapacity: props.serverCount,
      scalerOwnsDesiredCapacity: false,
      targetGroupArns: props.apiTargetGroupArns,
      // A server whose API stops answering the load balancer is replaced.
      healthCheckType: "ELB",
      refreshMinHealthyPercentage: oneAtATime(props.serverCount),
      groupOnlyTags: {},
      inlinePolicies: {
        "session-manager": sessionManagerPolicy.json,
        "cloud-controller": cloudControllerPolicy.json,
        "cluster-secrets": policy("ServerSecretsPolicy", [
          readSecrets(tokenSecret.arn, agentTokenSecret.arn),
          { sid: "PublishAccess", actions: ["secretsmanager:PutSecretValue"], resources: [kubeconfigSecret.arn, automationSecret.arn] },
          ...(addonSecretArns.length > 0 ? [{ sid: "ReadAddonAdminSecrets", actions: ["secretsmanager:GetSecretValue"], resources: addonSecretArns }] : []),
        ]),
        datastore: props.datastoreReadPolicyJson,
        "efs-csi": props.efsCsiPolicyJson,
        ...(issuer ? { "service-account-issuer": policy("ServiceAccountIssuerPolicy", issuer.publishStatements) } : {}),
        // cluster-autoscaler runs on the servers with host networking, so it acts with this role.
        ...(clusterAutoscaler
          ? {
              "cluster-autoscaler": policy(
                "ClusterAutoscalerPolicy",
                clusterAutoscalerStatements(clusterName, autoScalingGroupArnPattern(partition, props.region, accountId, nodeGroupName(clusterName, "agent"))),
              ),
            }
          : {}),
      },
      bootstrap: {
        includes: {
          MANIFEST_CLOUD_CONTROLLER: readTemplate("manifests/aws-cloud-controller-manager.yaml").trimEnd(),
          MANIFEST_EFS_CSI: readTemplate("manifests/aws-efs-csi-driver.yaml").trimEnd(),
          MANIFEST_TRAEFIK: traefikManifest(props.ingressWebEntryPoint),
          MANIFEST_TRAEFIK_ORIGIN_HEADER: originHeaderMiddlewareManifest(props.ingressWebEntryPoint),
          MANIFEST_AUTOMATION_RBAC: readTemplate("manifests/cluster-automation-rbac.yaml").trimEnd(),
          MANIFEST_CLUSTER_AUTOSCALER: clusterAutoscaler ? clusterAutoscalerManifest(clusterName, props.region, props.k3sVersion) : "",
          MANIFEST_EBS_CSI:
            props.ebsCsiControllerRoleArn !== undefined
              ? ebsCsiManifest({ clusterName, region: props.region, clusterTags: props.instanceTags, isDefaultClass: props.defaultStorageClass === "gp3" })
              : "",
          ...clusterPolicyIncludes(),
          ...addonIncludes(props.addons),
        },
        values: {
          ...sharedBootstrapValues,
          ...secretDocumentKeys(),
          K3S_VERSION: props.k3sVersion,
          TOKEN_SECRET_ARN: tokenSecret.arn,
          DATASTORE_SECRET_ARN: props.datastoreSecretArn,
          RDS_CA_BUNDLE_URL: props.rdsCaBundleUrl,
          KUBECONFIG_SECRET_ARN: kubeconfigSecret.arn,
          LAMBDA_ACCESS_SECRET_ARN: automationSecret.arn,
          KUBECONFIG_ENDPOINT: props.kubeconfigEndpoint,
          // Every name the API is reached by must be a SAN at first boot; adding one later does not take effect.
          TLS_SANS: [props.apiDnsName, ...props.extraTlsSans].map((name) => `  - "${name}"`).join("\n"),
          SERVER_NODE_TAINTS: serverTaintsYaml(props.allowWorkloadsOnServers),
          // The cloud controller's toleration of it (cluster-autoscaler's manifest fills its own).
          SERVER_TAINT_KEY: SERVER_TAINT.key,
          // Chosen from the servers' release at synth, so a booting server cannot roll the controller past its peers.
          CLOUD_CONTROLLER_IMAGE_TAG: kubernetesMinorImageTag(props.k3sVersion),
          EFS_FILE_SYSTEM_ID: props.efsFileSystemId,
          EFS_IS_DEFAULT_CLASS: String(props.defaultStorageClass === "efs"),
          KUBE_API_PORT: String(KUBE_API_PORT),
          AUTOMATION_TOKEN_SECRET_NAME: AUTOMATION_TOKEN_SECRET.name,
          AUTOMATION_TOKEN_SECRET_NAMESPACE: AUTOMATION_TOKEN_SECRET.namespace,
          ...clusterPolicyValues(withPrivilegedAddonsExempt(props.clusterPolicy, props.addonAdminSecrets.map((secret) => secret.addon)), issuer?.url),
          ...serviceAccountIssuerValues(issuer),
          ...(props.ebsCsiControllerRoleArn !== undefined ? { EBS_CSI_CONTROLLER_ROLE_ARN: props.ebsCsiControllerRoleArn } : {}),
          ...addonValues(props.addons),
          ADDON_ADMIN_SECRETS: adminSecretTable(props.addonAdminSecrets),
          REMOVED_ADMIN_SECRETS: removedAdminSecretTable(props.addonAdminSecrets.map((secret) => secret.addon)),
          // A Python dict literal: JSON of strings and objects only.
          ADMIN_SECRET_FORMATS: JSON.stringify(ADMIN_SECRET_FORMATS),
        },
      },
      // Servers read all of this at boot.
      bootDependencies: [...props.serverBootDependencies, tokenVersion, agentTokenVersion, ...props.addonAdminSecrets.map((secret) => secret.version)],
    });

    const agents = new NodeGroup(this, "Agents", {
      ...shared,
      kind: "agent",
      securityGroupId: props.agentSecurityGroupId,
      rootVolumeGb: agentRootVolumeGb,
      instances: { mixed: props.agents },
      minSize: props.agents.minSize,
      maxSize: props.agents.maxSize,
      desiredCapacity: props.agents.desiredCapacity,
      scalerOwnsDesiredCapacity: true,
      targetGroupArns: props.ingressTargetGroupArns,
      // EC2 checks only: an ingress outage must not make the group replace every agent.
      healthCheckType: "EC2",
      refreshMinHealthyPercentage: 90,
      // Group tags for cluster-autoscaler only; instances need none of them.
      groupOnlyTags: clusterAutoscaler ? { ...clusterAutoscalerDiscoveryTags(clusterName), ...clusterAutoscalerNodeTemplateTags(props.architecture, agentRootVolumeGb) } : {},
      inlinePolicies: {
        "session-manager": sessionManagerPolicy.json,
        "cloud-node": policy("CloudNodePolicy", [{ sid: "CloudProviderNode", actions: CLOUD_NODE_ACTIONS, resources: ["*"] }]),
        "cluster-secrets": policy("AgentSecretsPolicy", [readSecrets(agentTokenSecret.arn)]),
        "efs-csi": props.efsCsiPolicyJson,
      },
      bootstrap: { includes: {}, values: { ...sharedBootstrapValues, K3S_VERSION: props.agentK3sVersion, CAPACITY_TYPE_LABEL } },
      // Agents join through the servers: launched before them, they would spend their bootstrap time waiting.
      bootDependencies: [...props.agentBootDependencies, agentTokenVersion, servers.group],
    });

    new AutoscalingLifecycleHook(this, "AgentDrainHook", {
      name: `${clusterName}-agent-drain`,
      autoscalingGroupName: agents.group.name,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: AGENT_DRAIN_HEARTBEAT_SECONDS,
      defaultResult: "CONTINUE",
    });

    // Exactly one scaler per group: a CPU policy, the pod-driven Lambda and cluster-autoscaler would fight over desired
    // capacity.
    if (props.agents.scalingMode === "cpu") {
      new AutoscalingPolicy(this, "AgentCpuTargetTracking", {
        name: `${clusterName}-agents-cpu-${AGENT_CPU_TARGET_PERCENT}`,
        autoscalingGroupName: agents.group.name,
        policyType: "TargetTrackingScaling",
        targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: AGENT_CPU_TARGET_PERCENT },
      });
    } else {
      this.agentSize = readAgentSize(this, props.agents.instanceTypes);
    }

    this.serverGroupName = servers.group.name;
    this.agentGroupName = agents.group.name;
    this.agentGroupArn = agents.group.arn;
  }
}

/** The lowest healthy percentage that still replaces only one instance at a time. */
function oneAtATime(count: number): number {
  return count <= 1 ? 0 : Math.floor((100 * (count - 1)) / count);
}
