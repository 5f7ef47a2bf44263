import "./stack-traces";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { App, LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { join } from "path";
import { loadConfigAndBackend, S3BackendSettings } from "./config/backend";
import { hostedZoneReference } from "./config/schema";
import { ClusterConfig, ConfigError } from "./config/resolve";
import { Automation, notificationTopicName } from "./modules/automation";
import { BlockStorage, EBS_CSI_CLUSTER_NAME_TAG } from "./modules/block-storage";
import { WorkloadIdentity } from "./modules/workload-identity";
import { Backup } from "./modules/backup";
import { autoscalerProps } from "./modules/automation/tuning";
import { AGENT_DRAIN_HEARTBEAT_SECONDS, Compute } from "./modules/compute";
import { Database, rdsCaBundleUrl } from "./modules/database";
import { DnsRecords, Domain } from "./modules/domain";
import { FrontDoor, ORIGIN_HEADER_NAME } from "./modules/front-door";
import { LoadBalancing } from "./modules/load-balancing";
import { clusterDashboardName, grafanaCloudWatchPolicy, Monitoring } from "./modules/monitoring";
import { Addons } from "./modules/addons";
import { addonHost, ALERTMANAGER_SERVICE_ACCOUNT, ARGO_CD, GRAFANA_SERVICE_ACCOUNT, JENKINS, MONITORING } from "./modules/contracts/addons";
import { Networking } from "./modules/networking";
import { clusterNetworkReach, formatExemptions, Policy, PolicyViolationError } from "./modules/policy";
import { StateBackend } from "./modules/state-backend";
import { KUBE_API_PORT } from "./modules/ports";
import { Storage } from "./modules/storage";

/** Names of the synthesised stacks: cdktf.out/stacks/<name>. */
export const CLUSTER_STACK = "cluster";
export const STATE_BACKEND_STACK = "state-backend";

function defaultTags(config: ClusterConfig): Record<string, string> {
  return { Cluster: config.clusterName, Environment: config.environment, ManagedBy: "cdktf", ...config.tags };
}

function awsProvider(scope: Construct, config: ClusterConfig) {
  return new AwsProvider(scope, "aws", { region: config.region, defaultTags: [{ tags: defaultTags(config) }] });
}

/** CloudFront takes certificates from us-east-1 only (ACM User Guide, "Supported Regions"). */
function usEast1Provider(scope: Construct, config: ClusterConfig) {
  return new AwsProvider(scope, "aws_us_east_1", { alias: "us_east_1", region: "us-east-1", defaultTags: [{ tags: defaultTags(config) }] });
}

/** The provider for resources in the backup copy region, aliased so everything else stays in config.region. */
function backupCopyProvider(scope: Construct, config: ClusterConfig, region: string) {
  return new AwsProvider(scope, "aws_backup_copy", { alias: "backup_copy", region, defaultTags: [{ tags: defaultTags(config) }] });
}

/** The IAM roles monitoring's pods assume (`<cluster>-<region>-<name>`). */
const MONITORING_ROLES = { alertmanager: "alertmanager", grafana: "grafana" } as const;

/** The k3s cluster: wires the modules together and declares the outputs a user needs after apply. */
export class ClusterStack extends TerraformStack {
  constructor(scope: Construct, id: string, config: ClusterConfig, backend?: S3BackendSettings) {
    super(scope, id);
    awsProvider(this, config);
    // Declared whether or not CloudFront is on: the us-east-1 viewer certificate of a distribution created earlier can only
    // be destroyed through it, and Terraform refuses a plan whose state holds resources of a provider no longer declared.
    const usEast1 = config.partition === "aws" ? usEast1Provider(this, config) : undefined;
    new RandomProvider(this, "random");
    if (backend) configureS3Backend(this, backend);
    else useLocalState(this, id);
    const { edge, apiHostName, site } = config;
    const { cloudFront } = edge;

    const networking = new Networking(this, "Networking", {
      clusterName: config.clusterName,
      region: config.region,
      vpcCidr: config.network.vpcCidr,
      ...(config.network.availabilityZones ? { availabilityZones: config.network.availabilityZones } : { zoneCount: config.network.zoneCount }),
      publicSubnetCidrs: config.network.publicSubnetCidrs,
      privateSubnetCidrs: config.network.privateSubnetCidrs,
      natMode: config.network.natMode,
      flowLogRetentionDays: config.network.flowLogRetentionDays,
      adminCidrs: config.api.publicAccess ? config.api.adminCidrs : [],
      // Behind CloudFront the distribution is the only way in: no public ingress load balancer (rather than an
      // internal one, which would be a second path past the origin header for anything in the VPC, at an NLB's cost).
      cloudFrontOrigin: cloudFront.enabled ? { adminCidrs: config.api.adminCidrs } : undefined,
      nodeMetrics: config.addons.monitoring.enabled,
    });

    const { securityGroups } = networking;
    const { protectData } = config;

    const database = new Database(this, "Database", {
      clusterName: config.clusterName,
      subnetIds: networking.privateSubnetIds,
      securityGroupId: securityGroups.database.id,
      instanceClass: config.database.instanceClass,
      allocatedStorageGb: config.database.allocatedStorageGb,
      maxAllocatedStorageGb: config.database.maxAllocatedStorageGb,
      backupRetentionDays: config.database.backupRetentionDays,
      multiAz: config.database.multiAz,
      performanceInsights: config.database.performanceInsights,
      logRetentionDays: config.database.logRetentionDays,
      protectData,
    });

    const storage = new Storage(this, "Storage", {
      clusterName: config.clusterName,
      subnetIds: networking.privateSubnetIds,
      securityGroupId: securityGroups.efs.id,
      protectData,
      automaticBackups: !config.backups.enabled,
    });

    const { addons } = config;
    // The add-ons with a UI get <host>.<fqdn>: a name in the certificates, a record and an Ingress.
    const addonsWithUi = [...(addons.monitoring.enabled ? [MONITORING] : []), ...(addons.argoCd.enabled ? [ARGO_CD] : []), ...(addons.jenkins.enabled ? [JENKINS] : [])];
    const domain = site
      ? new Domain(this, "Domain", {
          hostedZone: hostedZoneReference(site.hostedZone),
          fqdn: site.fqdn,
          apiHostName: site.apiHostName,
          extraNames: addonsWithUi.map((addon) => addonHost(addon, site.fqdn)),
        })
      : undefined;
    // Pods assume IAM roles where a chart cannot use the host network to reach instance metadata: the EBS CSI controller,
    // Alertmanager publishing to the automation topic and Grafana reading CloudWatch. The issuer is served by CloudFront's own domain, which only
    // the aws partition offers; elsewhere monitoring runs without the topic (block storage is refused there).
    const monitoringOnAws = config.addons.monitoring.enabled && config.partition === "aws";
    const workloadIdentity = config.storage.blockStorage.enabled || monitoringOnAws
      ? new WorkloadIdentity(this, "WorkloadIdentity", { clusterName: config.clusterName, region: config.region, partition: config.partition })
      : undefined;
    // The identity monitoring's pods (Alertmanager, Grafana) assume roles through: only with monitoring on in aws.
    const monitoringIdentity = monitoringOnAws ? workloadIdentity : undefined;
    const blockStorage = workloadIdentity && config.storage.blockStorage.enabled
      ? new BlockStorage(this, "BlockStorage", { clusterName: config.clusterName, region: config.region, partition: config.partition, workloadIdentity })
      : undefined;
    const { backups } = config;
    const backup = backups.enabled
      ? new Backup(this, "Backup", {
          clusterName: config.clusterName,
          region: config.region,
          resourceArns: [database.instanceArn, storage.fileSystemArn],
          clusterVolumeTagKey: blockStorage ? EBS_CSI_CLUSTER_NAME_TAG : undefined,
          retentionDays: backups.retentionDays,
          copy: backups.copyRegion ? { provider: backupCopyProvider(this, config, backups.copyRegion) } : undefined,
          protectData,
        })
      : undefined;

    const ingressCertificateArn = domain && edge.applicationTls === "load-balancer" ? domain.certificate.certificateArn : undefined;
    const loadBalancing = new LoadBalancing(this, "LoadBalancing", {
      clusterName: config.clusterName,
      vpcId: networking.vpcId,
      privateSubnetIds: networking.privateSubnetIds,
      publicSubnetIds: networking.publicSubnetIds,
      apiSecurityGroupId: securityGroups.apiLoadBalancer.id,
      ingressSecurityGroupId: securityGroups.ingressLoadBalancer?.id,
      publicApiSecurityGroupId: securityGroups.publicApiLoadBalancer?.id,
      deletionProtection: protectData,
      ingressCertificateArn,
    });
    const { apiDnsName, publicApi } = loadBalancing;

    // The origin's security group exists exactly when CloudFront is on, which the config allows only with a domain.
    const frontDoor =
      domain && securityGroups.cloudFrontOrigin
        ? new FrontDoor(this, "FrontDoor", {
            clusterName: config.clusterName,
            vpcId: networking.vpcId,
            publicSubnetIds: networking.publicSubnetIds,
            securityGroupId: securityGroups.cloudFrontOrigin.id,
            fqdn: domain.fqdn,
            extraNames: domain.extraNames,
            originCertificateArn: domain.certificate.certificateArn,
            zoneId: domain.zoneId,
            originCertificateValidation: domain.certificate.validation,
            // Only a distribution created here needs a certificate from us-east-1.
            usEast1Provider: cloudFront.existingDistributionDomainName ? undefined : usEast1,
            webAclArn: cloudFront.webAclArn,
            existingDistributionDomainName: cloudFront.existingDistributionDomainName,
            protectData,
          })
        : undefined;

    const applications = frontDoor?.distribution ?? loadBalancing.ingress;
    if (domain && applications) {
      new DnsRecords(this, "DnsRecords", {
        zoneId: domain.zoneId,
        fqdn: domain.fqdn,
        applications,
        extraNames: domain.extraNames,
        apiHostName: domain.apiHostName,
        publicApi,
        internalApi: { dnsName: apiDnsName, zoneId: loadBalancing.apiZoneId },
        vpcId: networking.vpcId,
      });
    }
    // Users reach a public API by its public record when this stack creates one, else by the public listener's name. A
    // private API keeps the internal load balancer's name: k3s.<fqdn> resolves only inside the VPC (a private zone),
    // while the load balancer's name resolves anywhere, for users who reach the VPC over VPN, peering or a tunnel.
    const kubeconfigHost = publicApi ? (domain?.apiHostName ?? publicApi.dnsName) : apiDnsName;
    const kubeconfigEndpoint = `https://${kubeconfigHost}:${KUBE_API_PORT}`;

    const addonSecrets = new Addons(this, "Addons", {
      clusterName: config.clusterName,
      monitoring: addons.monitoring.enabled,
      argoCd: addons.argoCd.enabled,
      jenkins: addons.jenkins.enabled,
      protectData,
    });
    const blockStorageOn = blockStorage !== undefined;

    const compute = new Compute(this, "Compute", {
      clusterName: config.clusterName,
      region: config.region,
      architecture: config.architecture,
      k3sVersion: config.k3sVersion,
      agentK3sVersion: config.agents.k3sVersion,
      nodeImageRelease: config.nodeImage.release,
      vpcId: networking.vpcId,
      privateSubnetIds: networking.privateSubnetIds,
      serverSecurityGroupId: securityGroups.server.id,
      agentSecurityGroupId: securityGroups.agent.id,
      serverCount: config.servers.count,
      serverInstanceType: config.servers.instanceType,
      agents: config.agents,
      apiDnsName,
      kubeconfigEndpoint,
      extraTlsSans: [...(publicApi ? [publicApi.dnsName] : []), ...(apiHostName ? [apiHostName] : [])],
      apiTargetGroupArns: loadBalancing.apiTargetGroupArns,
      ingressTargetGroupArns: [...loadBalancing.ingressTargetGroupArns, ...(frontDoor ? [frontDoor.targetGroupArn] : [])],
      datastoreSecretArn: database.secretArn,
      datastoreReadPolicyJson: database.readSecretPolicyJson,
      efsFileSystemId: storage.fileSystemId,
      efsCsiPolicyJson: storage.csiDriverPolicyJson,
      ebsCsiControllerRoleArn: blockStorage?.controllerRoleArn,
      serviceAccountIssuer: workloadIdentity && { url: workloadIdentity.issuerUrl, bucketName: workloadIdentity.bucketName, publishStatements: workloadIdentity.publishStatements },
      defaultStorageClass: config.storage.defaultStorageClass,
      instanceTags: defaultTags(config),
      // Redirect where clients come through the ingress load balancer that ends TLS; behind CloudFront, websecure is
      // the origin load balancer's target and strips the origin header before the applications see it.
      ingressWebEntryPoint: {
        redirectToHttps: loadBalancing.ingress !== undefined && ingressCertificateArn !== undefined,
        removedRequestHeader: frontDoor ? ORIGIN_HEADER_NAME : undefined,
      },
      rdsCaBundleUrl: rdsCaBundleUrl(config.region, config.partition),
      allowWorkloadsOnServers: config.servers.allowWorkloads,
      serverBootDependencies: [...networking.privateEgress, ...database.bootDependencies],
      agentBootDependencies: networking.privateEgress,
      sshPublicKey: config.sshPublicKey,
      protectData,
      clusterPolicy: config.clusterPolicy,
      addons: {
        monitoring: addons.monitoring.enabled
          ? {
              // Prometheus never on NFS: gp3 with block storage, else an emptyDir.
              prometheusVolume: blockStorageOn ? { retentionDays: addons.monitoring.retentionDays, sizeGb: addons.monitoring.storageGb } : undefined,
              cloudWatchDashboardName: config.monitoring.dashboard ? clusterDashboardName(config.clusterName) : undefined,
              aws: monitoringIdentity
                ? {
                    region: config.region,
                    clusterName: config.clusterName,
                    autoscalerPublishes: config.agents.scalingMode === "pods",
                    // Built from names: the topic and roles come after the automation below, which needs this group first.
                    topicArn: `arn:${config.partition}:sns:${config.region}:${monitoringIdentity.accountId}:${notificationTopicName(config.clusterName)}`,
                    alertmanagerRoleArn: monitoringIdentity.roleArn(MONITORING_ROLES.alertmanager),
                    grafanaRoleArn: monitoringIdentity.roleArn(MONITORING_ROLES.grafana),
                  }
                : undefined,
            }
          : undefined,
        argoCd: addons.argoCd.enabled,
        jenkins: addons.jenkins.enabled ? { storageClass: blockStorageOn ? "gp3" : "efs" } : undefined,
        domain: domain?.fqdn,
      },
      addonAdminSecrets: addonSecrets.adminSecrets,
    });

    const { automation, monitoring } = config;
    const automationFunctions = new Automation(this, "Automation", {
      clusterName: config.clusterName,
      region: config.region,
      subnetIds: networking.privateSubnetIds,
      securityGroupId: securityGroups.lambda.id,
      replacementSecurityGroupId: networking.defaultSecurityGroupId,
      agentGroupName: compute.agentGroupName,
      agentGroupArn: compute.agentGroupArn,
      drainHeartbeatSeconds: AGENT_DRAIN_HEARTBEAT_SECONDS,
      accessSecretArn: compute.automationAccessSecretArn,
      autoscaler: config.agents.scalingMode === "pods" ? { ...autoscalerProps(config), agentSize: compute.agentSize! } : undefined,
      notificationEmail: automation.notificationEmail,
      slackWebhookSecretArn: automation.slackWebhookSecretArn,
      logRetentionDays: automation.logRetentionDays,
      backupVault: backup && { name: backup.vaultName, arn: backup.vaultArn },
    });
    if (monitoringIdentity) {
      const publish = new DataAwsIamPolicyDocument(this, "AlertmanagerPublishPolicy", { statement: automationFunctions.publishStatements });
      monitoringIdentity.roleFor("AlertmanagerRole", { name: MONITORING_ROLES.alertmanager, serviceAccount: ALERTMANAGER_SERVICE_ACCOUNT, policyJson: publish.json });
      monitoringIdentity.roleFor("GrafanaRole", { name: MONITORING_ROLES.grafana, serviceAccount: GRAFANA_SERVICE_ACCOUNT, policyJson: grafanaCloudWatchPolicy(this, config.region).json });
    }

    const clusterMonitoring = new Monitoring(this, "Monitoring", {
      clusterName: config.clusterName,
      region: config.region,
      topicArn: automationFunctions.topicArn,
      alarms: monitoring.alarms,
      dashboard: monitoring.dashboard,
      serverCount: config.servers.count,
      apiTargets: loadBalancing.apiTargetMetrics,
      ingressTargets: loadBalancing.ingressTargetMetrics,
      database: {
        identifier: database.instanceIdentifier,
        allocatedStorageGb: config.database.allocatedStorageGb,
        maxConnections: monitoring.databaseMaxConnections,
        cpuPercent: monitoring.databaseCpuPercent,
        freeStoragePercent: monitoring.databaseFreeStoragePercent,
        connectionsPercent: monitoring.databaseConnectionsPercent,
      },
      fileSystem: { id: storage.fileSystemId, throughputMode: storage.throughputMode, performanceMode: storage.performanceMode },
      serverGroupName: compute.serverGroupName,
      agentGroupName: compute.agentGroupName,
      agentsMaxSize: config.agents.maxSize,
      agentsAtMaxMinutes: monitoring.agentsAtMaxMinutes,
      autoscaler: config.agents.scalingMode === "pods",
    });
    automationFunctions.admitAlarms(clusterMonitoring.alarmArns);

    new TerraformOutput(this, "api_endpoint", { value: kubeconfigEndpoint, description: "Kubernetes API endpoint written into the kubeconfig" });
    if (loadBalancing.ingress) new TerraformOutput(this, "ingress_dns_name", { value: loadBalancing.ingress.dnsName, description: "Point your ingress host names (CNAME) here" });
    new TerraformOutput(this, "kubeconfig_secret_arn", { value: compute.kubeconfigSecretArn, description: "Secret the servers write the admin kubeconfig to" });
    new TerraformOutput(this, "kubeconfig_command", {
      value: `aws secretsmanager get-secret-value --region ${config.region} --secret-id ${compute.kubeconfigSecretArn} --query SecretString --output text > ~/.kube/config && chmod 600 ~/.kube/config`,
      description: "Writes the admin kubeconfig to ~/.kube/config",
    });
    new TerraformOutput(this, "k3s_token_secret_arn", {
      value: compute.tokenSecretArn,
      description: "Secret holding the k3s cluster token; it encrypts k3s's bootstrap data, so back it up with the database",
    });
    if (domain) {
      new TerraformOutput(this, "application_url", { value: `https://${domain.fqdn}`, description: "Where the applications are served (Route 53 alias record)" });
      new TerraformOutput(this, "api_hostname", { value: domain.apiHostName, description: "The Kubernetes API's DNS name, in its certificate from first boot" });
      new TerraformOutput(this, "certificate_arn", { value: domain.certificate.certificateArn, description: "Issued ACM certificate for the applications' name, in the cluster's region" });
    }
    if (frontDoor) {
      new TerraformOutput(this, "origin_load_balancer_dns_name", { value: frontDoor.originDnsName, description: "CloudFront origin: the load balancer that admits only CloudFront (and admin networks)" });
      new TerraformOutput(this, "origin_header_name", { value: ORIGIN_HEADER_NAME, description: "Header CloudFront must send to the origin" });
      new TerraformOutput(this, "origin_header_secret_arn", { value: frontDoor.originSecretArn, description: "Secret holding the origin header's value; set it on a distribution you manage" });
      if (frontDoor.distributionId) new TerraformOutput(this, "cloudfront_distribution_id", { value: frontDoor.distributionId, description: "The CloudFront distribution in front of the ingress" });
      if (cloudFront.existingDistributionDomainName) {
        new TerraformOutput(this, "existing_distribution_settings", {
          value: frontDoor.distributionSettings,
          description: `What your distribution ${cloudFront.existingDistributionDomainName} needs: this origin over HTTPS only with TLSv1.2, the origin header with the secret's value, the AllViewer origin request policy (it forwards Host, which the origin's certificate and the ingress routes need) and ${edge.fqdn} as an alternate domain name`,
        });
      }
    }
    new TerraformOutput(this, "server_asg_name", { value: compute.serverGroupName, description: "Auto scaling group of the k3s servers" });
    new TerraformOutput(this, "agent_asg_name", { value: compute.agentGroupName, description: "Auto scaling group of the k3s agents" });

    Policy.applyTo(this, { environment: config.environment, networkReach: clusterNetworkReach(securityGroups) });
  }
}

function configureS3Backend(stack: TerraformStack, settings: S3BackendSettings) {
  const backend = new S3Backend(stack, {
    bucket: settings.bucket,
    key: settings.key,
    region: settings.region,
    encrypt: settings.encrypt,
    dynamodbTable: settings.dynamodb_table,
    kmsKeyId: settings.kms_key_id,
    workspaceKeyPrefix: settings.workspace_key_prefix,
  });
  // cdktf 0.21's S3Backend predates Terraform 1.11's S3-native locking, so the argument goes in as an override (one
  // whose value is undefined is left out of the backend block; cdktf's "//" metadata, which Terraform ignores, names it).
  backend.addOverride("use_lockfile", settings.use_lockfile);
}

/**
 * cdktf's default local backend writes an absolute path into the JSON, which would differ between checkouts;
 * this relative one resolves from cdktf.out/stacks/<stack> to the project root, where cdktf puts state by default.
 */
function useLocalState(stack: TerraformStack, stackName: string) {
  new LocalBackend(stack, { path: `../../../terraform.${stackName}.tfstate` });
}

/** The bucket and lock table the cluster stack's S3 backend needs; applied once, with local state. */
export class StateBackendStack extends TerraformStack {
  constructor(scope: Construct, id: string, config: ClusterConfig) {
    super(scope, id);
    awsProvider(this, config);
    useLocalState(this, id);
    const stateBackend = new StateBackend(this, "StateBackend", { clusterName: config.clusterName, region: config.region });
    new TerraformOutput(this, "state_bucket", { value: stateBackend.bucketName, description: "bucket for backend.tf.json" });
    new TerraformOutput(this, "lock_table", { value: stateBackend.lockTableName, description: "dynamodb_table for backend.tf.json" });
    Policy.applyTo(this, {});
  }
}

export function buildApp(config: ClusterConfig, backend: S3BackendSettings | undefined, outdir?: string): App {
  const app = new App({ outdir });
  new ClusterStack(app, CLUSTER_STACK, config, backend);
  new StateBackendStack(app, STATE_BACKEND_STACK, config);
  return app;
}

/** The policy exemptions each stack's last synth applied, for the synth output. */
export function policyExemptions(app: App): string[] {
  return app.node.children.flatMap((stack) => {
    const policy = Policy.of(stack);
    return policy ? [formatExemptions(policy.report)] : [];
  });
}

function main() {
  try {
    // Everything the user wrote is checked before any construct exists, so a bad value synthesises nothing, and the
    // problems of the config and backend files are listed together.
    const { config, backend } = loadConfigAndBackend(process.env, join(__dirname, "backend.tf.json"));
    const app = buildApp(config, backend);
    // A policy violation stops the synth before its stack is written, with every violation listed.
    app.synth();
    for (const report of policyExemptions(app)) console.log(report);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyViolationError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

if (require.main === module) main();
