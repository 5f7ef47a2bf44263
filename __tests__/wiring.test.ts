import { mkdtempSync, readdirSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { buildApp, policyExemptions } from "../main";
import { parseAutoscalerSettings } from "../lambdas/autoscaler/settings";
import { parseSlackForwarderSettings } from "../lambdas/slack-forwarder/settings";
import { drainTiming } from "../modules/automation/drain-timing";
import { cpuMillis, memoryBytes } from "../lambdas/shared/quantity";
import { agentAddonPods, agentDaemonSets, loadAssumptions } from "../simulator/engine";
import { drainDecision } from "../lambdas/autoscaler/drainability";
import { load } from "js-yaml";
import { configurationTable } from "./support/readme-configuration";
import { appliedLambdaEnvironment, defaultStorageClasses, documentOf, localNamed, panelsOf, ref, resourceNamed, resourcesOf, serverChartValues, synthCluster, TerraformJson, traefikValues, writtenConfig, writtenFiles, writtenManifests } from "./helpers";

// Every value a user sets reaches the resource that acts on it, through main.ts's wiring of config -> module props ->
// Terraform. Each row sets one value away from its default and finds it where AWS will read it; each test synthesises
// its own stack, so a mutation of the wiring is seen by exactly the rows it breaks (`npm run mutate`).

const byName = (json: TerraformJson, type: string) => Object.fromEntries(resourcesOf(json, type).map(([id, body]) => [id.replace(/_[A-F0-9]{8}$/, ""), body]));
const script = (json: TerraformJson, kind: "Servers" | "Agents") => localNamed(json, `Compute_${kind}_UserData`);
const lambdaEnvironment = (json: TerraformJson, name: string) => resourcesOf(json, "aws_lambda_function").find(([, fn]) => fn.function_name.endsWith(`-${name}`))![1].environment.variables;
const prometheusStackValues = (json: TerraformJson): any => serverChartValues(json, "kube-prometheus-stack");
const autoscalerDashboard = (json: TerraformJson): any =>
  JSON.parse(writtenManifests(script(json, "Servers"))["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"]);
const cloudWatchPanels = (dashboard: any): any[] => panelsOf(dashboard).filter((panel) => panel.datasource?.type === "cloudwatch");
const logGroupRetention = (json: TerraformJson, name: string) => resourcesOf(json, "aws_cloudwatch_log_group").find(([, group]) => group.name === name)?.[1].retention_in_days;

interface Row {
  readonly value: string;
  readonly input: ConfigInput;
  readonly expect: (json: TerraformJson) => void;
}

const rows: Row[] = [
  {
    value: "clusterName",
    input: { clusterName: "blue" },
    expect: (json) => {
      expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").name).toBe("blue-servers");
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance").identifier).toBe("blue-datastore");
      expect(script(json, "Agents")).toContain('AUTOSCALING_GROUP_NAME="blue-agents"');
      expect(resourcesOf(json, "aws_lambda_function").map(([, fn]) => fn.function_name).sort()).toEqual(["blue-autoscaler", "blue-node-drainer"]);
      // Alertmanager publishes to the automation topic by an ARN built from its name (SNS ARN format).
      const topic = resourceNamed(json, "aws_sns_topic", "Automation_NotificationTopic");
      const [sns] = prometheusStackValues(json).alertmanager.config.receivers.find((receiver: any) => receiver.sns_configs).sns_configs;
      expect(topic.name).toBe("blue-automation");
      expect(sns.topic_arn).toMatch(new RegExp(`^arn:aws:sns:eu-west-1:tf:data\\.aws_caller_identity\\.WorkloadIdentity_Account_[A-F0-9]+\\.account_id:${topic.name}$`));
    },
  },
  {
    value: "edge.cloudFront.enabled and webAclArn (with api.adminCidrs on the origin)",
    input: {
      api: { adminCidrs: ["198.51.100.0/24"] },
      edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com", cloudFront: { enabled: true, webAclArn: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-000000000000" } },
    },
    expect: (json) => {
      const distribution = resourceNamed(json, "aws_cloudfront_distribution", "FrontDoor_Distribution");
      // The default prod cluster runs monitoring, whose Grafana the distribution serves too.
      expect(distribution.aliases).toEqual(["apps.example.com", "grafana.apps.example.com"]);
      expect(distribution.web_acl_id).toBe("arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-000000000000");
      const usEast1 = json.provider!.aws.find((provider: any) => provider.alias === "us_east_1");
      expect([usEast1.region, usEast1.default_tags]).toEqual(["us-east-1", json.provider!.aws[0].default_tags]);
      // No public ingress load balancer; the agents register only in the origin's target group.
      expect(resourcesOf(json, "aws_lb").map(([, lb]) => lb.name).sort()).toEqual(["k3s-api", "k3s-cf-origin"]);
      expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").target_group_arns).toEqual([ref(json, "aws_lb_target_group", "FrontDoor_TargetGroup", "arn")]);
      const origin = ref(json, "aws_security_group", "Networking_SecurityGroups_CloudFrontOrigin", "id");
      expect(resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.security_group_id === origin && rule.cidr_ipv4 === "198.51.100.0/24")).toHaveLength(2);
      // adminCidrs without publicAccess open no public API listener.
      expect(resourcesOf(json, "aws_lb").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^LoadBalancing_PublicApi/));
      expect(traefikValues(json).additionalArguments).toEqual(["--entryPoints.websecure.http.middlewares=kube-system-remove-origin-header@kubernetescrd"]);
      expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord").alias.name).toBe(ref(json, "aws_cloudfront_distribution", "FrontDoor_Distribution", "domain_name"));
      expect(Object.fromEntries(["origin_load_balancer_dns_name", "origin_header_name", "origin_header_secret_arn", "cloudfront_distribution_id"].map((name) => [name, json.output![name]?.value]))).toEqual({
        origin_load_balancer_dns_name: ref(json, "aws_lb", "FrontDoor_LoadBalancer", "dns_name"),
        origin_header_name: "X-Origin-Verify",
        origin_header_secret_arn: ref(json, "aws_secretsmanager_secret", "FrontDoor_OriginHeaderSecret", "arn"),
        cloudfront_distribution_id: ref(json, "aws_cloudfront_distribution", "FrontDoor_Distribution", "id"),
      });
      expect(json.output!.existing_distribution_settings).toBeUndefined();
    },
  },
  {
    value: "edge.hostedZone and edge.fqdn (TLS at the ingress load balancer by default)",
    input: { edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com" } },
    expect: (json) => {
      expect(resourceNamed(json, "aws_acm_certificate", "Domain_Certificate").domain_name).toBe("apps.example.com");
      expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord")).toMatchObject({
        zone_id: "Z0123456789ABCDEFGHIJ",
        name: "apps.example.com",
        alias: { name: ref(json, "aws_lb", "LoadBalancing_IngressLoadBalancer", "dns_name") },
      });
      const https = resourcesOf(json, "aws_lb_listener").find(([id, listener]) => id.startsWith("LoadBalancing_Ingress") && listener.port === 443)![1];
      expect([https.protocol, https.certificate_arn]).toEqual(["TLS", ref(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation", "certificate_arn")]);
      // The API's name is in its certificate from first boot; the API stays private, so the kubeconfig keeps the
      // internal load balancer's name, which resolves outside the VPC's private zone too.
      expect(script(json, "Servers")).toContain('  - "k3s.apps.example.com"');
      expect(json.output!.api_endpoint.value).toBe(`https://\${${ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name").slice(2, -1)}}:6443`);
      expect(traefikValues(json).additionalArguments).toContain("--entryPoints.web.http.redirections.entryPoint.scheme=https");
      expect(json.output!.application_url.value).toBe("https://apps.example.com");
      expect(json.output!.api_hostname.value).toBe("k3s.apps.example.com");
      expect(json.output!.certificate_arn.value).toBe(ref(json, "aws_acm_certificate_validation", "Domain_Certificate_Validation", "certificate_arn"));
      // Only CloudFront creates the origin load balancer.
      expect(resourcesOf(json, "aws_lb").map(([, lb]) => lb.name).sort()).toEqual(["k3s-api", "k3s-ingress"]);
      // A private API: k3s.<fqdn> lives in a private zone aliasing the internal load balancer; no public record.
      expect(resourceNamed(json, "aws_route53_record", "DnsRecords_PrivateApiRecord").alias.name).toBe(ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name"));
      expect(resourcesOf(json, "aws_route53_record").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^DnsRecords_ApiRecord_/));
    },
  },
  {
    value: "edge.fqdn with add-ons (each add-on with a UI, and only those, gets <host>.<fqdn>)",
    // dev: monitoring is off unless asked for.
    input: { environment: "dev", addons: { argoCd: { enabled: true }, jenkins: { enabled: true } }, edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com" } },
    expect: (json) => expect(resourceNamed(json, "aws_acm_certificate", "Domain_Certificate").subject_alternative_names).toEqual(["argocd.apps.example.com", "jenkins.apps.example.com"]),
  },
  {
    value: "backups.copyRegion",
    input: { backups: { copyRegion: "us-east-1" } },
    expect: (json) => {
      const copy = json.provider!.aws.find((provider: any) => provider.alias === "backup_copy");
      expect([copy.region, copy.default_tags]).toEqual(["us-east-1", json.provider!.aws[0].default_tags]);
      expect(resourceNamed(json, "aws_backup_plan", "Backup_Plan").rule[0].copy_action[0].destination_vault_arn).toBe(ref(json, "aws_backup_vault", "Backup_CopyVault", "arn"));
    },
  },
  {
    value: "api.publicAccess with api.adminCidrs",
    input: { api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] } },
    expect: (json) => {
      const publicApi = resourceNamed(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer");
      expect(publicApi.internal).toBe(false);
      expect(resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.cidr_ipv4 === "198.51.100.0/24").map(([, rule]) => rule.from_port)).toEqual([6443]);
      // The published kubeconfig and the certificate name the public address.
      const publicDns = ref(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "dns_name");
      expect(script(json, "Servers")).toContain(`KUBECONFIG_ENDPOINT="https://${publicDns}:6443"`);
      expect(script(json, "Servers")).toContain(`  - "${publicDns}"`);
      expect(json.output!.api_endpoint.value).toBe(`https://${publicDns}:6443`);
    },
  },
  {
    value: "edge.cloudFront.existingDistributionDomainName",
    input: { edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com", cloudFront: { enabled: true, existingDistributionDomainName: "d111111abcdef8.cloudfront.net" } } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_cloudfront_distribution").filter(([id]) => id.startsWith("FrontDoor_"))).toEqual([]);
      expect(resourcesOf(json, "aws_acm_certificate").map(([, certificate]) => certificate.provider)).toEqual([undefined]);
      expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApplicationRecord").alias.name).toBe("d111111abcdef8.cloudfront.net");
      expect(json.output!.existing_distribution_settings.description).toContain("d111111abcdef8.cloudfront.net");
      expect(json.output!.cloudfront_distribution_id).toBeUndefined();
    },
  },
  {
    value: "api.domain",
    input: { api: { domain: "example.org", publicAccess: true, adminCidrs: ["198.51.100.0/24"] } },
    expect: (json) => {
      expect(script(json, "Servers")).toContain('  - "k3s.example.org"');
      // No record for k3s.example.org is created here, so the kubeconfig names the public load balancer.
      expect(json.output!.api_endpoint.value).toBe(`https://\${${ref(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "dns_name").slice(2, -1)}}:6443`);
    },
  },
  {
    value: "region",
    input: { region: "us-east-2" },
    expect: (json) => {
      expect(json.provider!.aws[0].region).toBe("us-east-2");
      expect(script(json, "Servers")).toContain('REGION="us-east-2"');
      // RDS's regional CA bundle (RDS user guide, "Certificate bundles by AWS Region").
      expect(script(json, "Servers")).toContain("https://truststore.pki.rds.amazonaws.com/us-east-2/us-east-2-bundle.pem");
      expect(resourcesOf(json, "aws_iam_role").map(([, role]) => role.name)).toContain("k3s-us-east-2-server");
    },
  },
  {
    value: "region in another partition (aws-cn: no CloudFront, so no us-east-1 provider)",
    input: { region: "cn-north-1" },
    expect: (json) => {
      expect(json.provider!.aws.map((provider: any) => [provider.alias, provider.region])).toEqual([[undefined, "cn-north-1"]]);
      // No CloudFront for the service-account issuer: monitoring runs without its AWS access.
      expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual([]);
      expect(JSON.stringify(prometheusStackValues(json).alertmanager)).not.toContain("sns_configs");
    },
  },
  {
    value: "network.vpcCidr",
    input: { network: { vpcCidr: "10.42.0.0/16" } },
    expect: (json) => expect(resourceNamed(json, "aws_vpc", "Networking_Vpc").cidr_block).toBe("10.42.0.0/16"),
  },
  {
    value: "network.availabilityZoneCount",
    input: { network: { availabilityZoneCount: 2 } },
    expect: (json) => expect(resourcesOf(json, "aws_subnet")).toHaveLength(4),
  },
  {
    value: "network.availabilityZones",
    input: { network: { availabilityZones: ["eu-west-1a", "eu-west-1c"] } },
    expect: (json) => expect(resourcesOf(json, "aws_subnet").map(([, subnet]) => subnet.availability_zone).sort()).toEqual(["eu-west-1a", "eu-west-1a", "eu-west-1c", "eu-west-1c"]),
  },
  {
    value: "network.natMode",
    input: { network: { natMode: "single" } },
    expect: (json) => expect(resourcesOf(json, "aws_nat_gateway")).toHaveLength(1),
  },
  {
    value: "network.publicSubnetCidrs and privateSubnetCidrs",
    input: { network: { publicSubnetCidrs: ["10.0.250.0/24", "10.0.251.0/24", "10.0.252.0/24"], privateSubnetCidrs: ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"] } },
    expect: (json) =>
      expect(resourcesOf(json, "aws_subnet").map(([, subnet]) => subnet.cidr_block).sort()).toEqual(["10.0.0.0/20", "10.0.16.0/20", "10.0.250.0/24", "10.0.251.0/24", "10.0.252.0/24", "10.0.32.0/20"]),
  },
  {
    value: "network.flowLogRetentionDays",
    input: { network: { flowLogRetentionDays: 90 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_log_group", "Networking_FlowLogGroup").retention_in_days).toBe(90),
  },
  {
    value: "api.adminCidrs without api.publicAccess (no public load balancer)",
    input: { api: { adminCidrs: ["198.51.100.0/24"] } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_lb").map(([id]) => id).filter((id) => id.includes("PublicApi"))).toEqual([]);
      expect(resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.cidr_ipv4 === "198.51.100.0/24")).toEqual([]);
      const internalDns = ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name");
      expect(json.output!.api_endpoint.value).toBe(`https://${internalDns}:6443`);
    },
  },
  {
    value: "database.*",
    input: { database: { instanceClass: "db.r7g.large", allocatedStorageGb: 50, maxAllocatedStorageGb: 200, backupRetentionDays: 14, multiAz: false, performanceInsights: true, logRetentionDays: 60 } },
    expect: (json) => {
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance")).toMatchObject({
        instance_class: "db.r7g.large",
        allocated_storage: 50,
        max_allocated_storage: 200,
        backup_retention_period: 14,
        multi_az: false,
        performance_insights_enabled: true,
      });
      expect(resourcesOf(json, "aws_cloudwatch_log_group").filter(([, group]) => group.name.startsWith("/aws/rds/")).map(([, group]) => group.retention_in_days)).toEqual([60, 60]);
    },
  },
  {
    value: "environment dev (no data protection)",
    input: { environment: "dev" },
    expect: (json) => {
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance")).toMatchObject({ deletion_protection: false, skip_final_snapshot: true });
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance").lifecycle?.prevent_destroy).toBeFalsy();
      expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem").lifecycle?.prevent_destroy).toBeFalsy();
      expect(resourcesOf(json, "aws_lb").map(([, lb]) => lb.enable_deletion_protection)).toEqual([false, false]);
      expect(resourcesOf(json, "aws_secretsmanager_secret").map(([, secret]) => secret.recovery_window_in_days)).toEqual([0, 0, 0, 0, 0]);
    },
  },
  {
    value: "environment prod (data protection)",
    input: { environment: "prod" },
    expect: (json) => {
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance")).toMatchObject({ deletion_protection: true, skip_final_snapshot: false, lifecycle: { prevent_destroy: true } });
      expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem").lifecycle).toMatchObject({ prevent_destroy: true });
      expect(resourcesOf(json, "aws_lb").map(([, lb]) => lb.enable_deletion_protection)).toEqual([true, true]);
      expect(resourcesOf(json, "aws_secretsmanager_secret").every(([, secret]) => secret.recovery_window_in_days >= 7)).toBe(true);
    },
  },
  {
    value: "k3sVersion and agents.k3sVersion",
    input: { k3sVersion: "v1.33.5+k3s1", agents: { k3sVersion: "v1.32.9+k3s1" } },
    expect: (json) => {
      expect(script(json, "Servers")).toContain('K3S_VERSION="v1.33.5+k3s1"');
      expect(script(json, "Agents")).toContain('K3S_VERSION="v1.32.9+k3s1"');
    },
  },
  {
    value: "nodeImage.release and the architecture of the instance types",
    input: { nodeImage: { release: "2023.9.20251110.1" }, servers: { instanceType: "m7i.large" }, agents: { instanceTypes: ["m7i.large"] } },
    expect: (json) => {
      const ami = Object.values(json.data!.aws_ami)[0];
      expect(ami.filter).toEqual([
        { name: "name", values: ["al2023-ami-2023.9.20251110.1-kernel-6.1-x86_64"] },
        { name: "architecture", values: ["x86_64"] },
      ]);
    },
  },
  {
    value: "highAvailability false in prod (one server, one NAT gateway; data protection stays)",
    input: { highAvailability: false },
    expect: (json) => {
      expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group")).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
      expect(resourcesOf(json, "aws_nat_gateway")).toHaveLength(1);
      expect(resourceNamed(json, "aws_db_instance", "Database_Instance").deletion_protection).toBe(true);
    },
  },
  {
    value: "servers.count and servers.instanceType",
    input: { servers: { count: 5, instanceType: "c7g.large" } },
    expect: (json) => {
      expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group")).toMatchObject({ min_size: 5, max_size: 5, desired_capacity: 5 });
      expect(resourceNamed(json, "aws_launch_template", "Compute_Servers_LaunchTemplate").instance_type).toBe("c7g.large");
    },
  },
  {
    value: "servers.allowWorkloads",
    input: { servers: { allowWorkloads: true } },
    expect: (json) => expect(script(json, "Servers")).not.toContain("CriticalAddonsOnly=true:NoExecute"),
  },
  {
    value: "agents sizes, instance types and purchase options",
    input: { agents: { minSize: 2, maxSize: 7, desiredCapacity: 3, instanceTypes: ["c7g.xlarge", "c6g.xlarge"], onDemandBaseCapacity: 2, onDemandPercentageAboveBaseCapacity: 50 } },
    expect: (json) => {
      const group = resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group");
      expect(group).toMatchObject({ min_size: 2, max_size: 7, desired_capacity: 3 });
      expect(group.mixed_instances_policy.instances_distribution).toMatchObject({ on_demand_base_capacity: 2, on_demand_percentage_above_base_capacity: 50 });
      expect(group.mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "c7g.xlarge" }, { instance_type: "c6g.xlarge" }]);
      // Every type is read, to check it has the first's size; the autoscaler plans with the first (preferred) one.
      const readTypes = Object.entries(json.data!.aws_ec2_instance_type).map(([id, type]) => [id.split("_")[1], type.instance_type]);
      expect(readTypes.sort()).toEqual([["AgentInstanceType", "c7g.xlarge"], ["AgentInstanceType1", "c6g.xlarge"]]);
      const firstType = Object.keys(json.data!.aws_ec2_instance_type).find((id) => id.startsWith("Compute_AgentInstanceType_"));
      expect(resourceNamed(json, "aws_lambda_function", "Automation_Autoscaler").environment.variables.NODE_VCPUS).toBe(`\${data.aws_ec2_instance_type.${firstType}.default_vcpus}`);
    },
  },
  {
    value: "tags",
    input: { tags: { CostCentre: "42" } },
    expect: (json) => {
      expect(json.provider!.aws[0].default_tags[0].tags).toMatchObject({ CostCentre: "42" });
      // Instances launched by a group get no provider default tags: the groups carry them.
      for (const kind of ["Servers", "Agents"]) {
        expect(resourceNamed(json, "aws_autoscaling_group", `Compute_${kind}_Group`).tag).toContainEqual({ key: "CostCentre", value: "42", propagate_at_launch: true });
      }
    },
  },
  {
    value: "sshPublicKey",
    input: { sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJxwiring" },
    expect: (json) => expect(resourceNamed(json, "aws_key_pair", "Compute_KeyPair").public_key).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJxwiring"),
  },
  {
    value: "automation (the autoscaler's tuning, in the units its environment names)",
    input: {
      automation: {
        scheduleExpression: "rate(2 minutes)",
        maxScaleUpStep: 4,
        pollSeconds: 0,
        scaleDownUtilizationPercent: 35,
        scaleDownWindowMinutes: 15,
        cooldownMinutes: 6,
        notReadyReplaceMinutes: 25,
        expendablePodsPriorityCutoff: -20,
        headroom: { cpuMillis: 300, memoryMiB: 768 },
      },
    },
    expect: (json) => {
      expect(Object.values(json.resource.aws_cloudwatch_event_rule).find((rule) => rule.schedule_expression)!.schedule_expression).toBe("rate(2 minutes)");
      // Read back by the handler's own parser, in the handler's units.
      const settings = parseAutoscalerSettings(appliedLambdaEnvironment(json, "Autoscaler"));
      expect(settings.config).toEqual({
        maxStepUp: 4,
        scaleDownThreshold: 0.35,
        scaleDownWindowMs: 15 * 60_000,
        cooldownMs: 6 * 60_000,
        expendablePriorityCutoff: -20,
        headroom: { cpuMillis: 300, memoryBytes: 768 * 2 ** 20 },
      });
      expect(settings.notReadyReplaceAfterMs).toBe(25 * 60_000);
      expect(settings.pollMs).toBe(0);
    },
  },
  {
    value: "automation.notificationEmail and automation.logRetentionDays",
    input: { automation: { notificationEmail: "ops@example.org", logRetentionDays: 90 } },
    expect: (json) => {
      expect(resourceNamed(json, "aws_sns_topic_subscription", "Automation_NotificationEmail")).toMatchObject({ protocol: "email", endpoint: "ops@example.org" });
      expect([logGroupRetention(json, "/aws/lambda/k3s-autoscaler"), logGroupRetention(json, "/aws/lambda/k3s-node-drainer")]).toEqual([90, 90]);
    },
  },
  {
    value: "automation.slackWebhookSecretArn (the forwarder reads it from its environment, with its handler's parser)",
    input: { clusterName: "blue", automation: { notificationEmail: "ops@example.org", slackWebhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/slack-AbCdEf" } },
    expect: (json) => {
      expect(parseSlackForwarderSettings(appliedLambdaEnvironment(json, "SlackForwarder"))).toEqual({ clusterName: "blue", webhookSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/slack-AbCdEf" });
      expect(resourceNamed(json, "aws_sns_topic_subscription", "Automation_SlackForwarderSubscription").topic_arn).toBe(ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn"));
    },
  },
  {
    value: "agents.scalingMode cpu (no autoscaler function)",
    input: { agents: { scalingMode: "cpu" } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_lambda_function").map(([, fn]) => fn.function_name)).toEqual(["k3s-node-drainer"]);
      expect(resourceNamed(json, "aws_autoscaling_policy", "Compute_AgentCpuTargetTracking").target_tracking_configuration.target_value).toBe(80);
      // No autoscaler, so the cluster dashboard graphs none of its metrics (namespace K3sAutoscaler, run.ts).
      expect(resourceNamed(json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body).not.toContain("K3sAutoscaler");
      expect(cloudWatchPanels(autoscalerDashboard(json))).toEqual([]);
    },
  },
  {
    value: "backups.enabled",
    input: { backups: { enabled: false } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_backup_plan")).toEqual([]);
      expect(resourceNamed(json, "aws_efs_backup_policy", "Storage_Backup").backup_policy.status).toBe("ENABLED");
      expect(resourcesOf(json, "aws_cloudwatch_event_rule").map(([, rule]) => rule.name)).not.toContain("k3s-backup-failures");
    },
  },
  {
    value: "backups.retentionDays",
    input: { backups: { retentionDays: 14 } },
    expect: (json) => {
      expect(resourceNamed(json, "aws_backup_plan", "Backup_Plan").rule[0].lifecycle.delete_after).toBe(14);
      // The plan backs up the datastore and the file system.
      expect([...resourceNamed(json, "aws_backup_selection", "Backup_Selection").resources].sort()).toEqual(
        [ref(json, "aws_db_instance", "Database_Instance", "arn"), ref(json, "aws_efs_file_system", "Storage_FileSystem", "arn")].sort(),
      );
      // Failures are notified for the plan's vault: its backup jobs by name, the copies from it by ARN.
      const pattern = resourceNamed(json, "aws_cloudwatch_event_rule", "Automation_BackupFailureRule").event_pattern;
      expect(pattern).toContain(`"backupVaultName":["${ref(json, "aws_backup_vault", "Backup_Vault", "name")}"]`);
      expect(pattern).toContain(`"sourceBackupVaultArn":["${ref(json, "aws_backup_vault", "Backup_Vault", "arn")}"]`);
    },
  },
  {
    value: "monitoring.alarms",
    input: { monitoring: { alarms: false } },
    expect: (json) => expect(resourcesOf(json, "aws_cloudwatch_metric_alarm").filter(([id]) => id.startsWith("Monitoring_"))).toEqual([]),
  },
  {
    value: "monitoring.dashboard",
    input: { monitoring: { dashboard: false } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_cloudwatch_dashboard")).toEqual([]);
      // Grafana's autoscaler dashboard then points at no CloudWatch dashboard.
      expect(JSON.stringify(writtenManifests(script(json, "Servers"))["grafana-dashboards"])).not.toContain("dashboard `k3s-cluster`");
    },
  },
  {
    value: "monitoring.databaseCpuPercent",
    input: { monitoring: { databaseCpuPercent: 70 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_DatabaseCpuAlarm").threshold).toBe(70),
  },
  {
    value: "monitoring.databaseFreeStoragePercent",
    // 20 % of 20 GiB = 4 GiB.
    input: { monitoring: { databaseFreeStoragePercent: 20 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_DatabaseFreeStorageAlarm").threshold).toBe(4294967296),
  },
  {
    value: "monitoring.databaseConnectionsPercent",
    // 50 % of a db.t4g.small's 225.
    input: { monitoring: { databaseConnectionsPercent: 50 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_DatabaseConnectionsAlarm").threshold).toBe(112),
  },
  {
    value: "monitoring.databaseMaxConnections",
    input: { monitoring: { databaseMaxConnections: 400 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_DatabaseConnectionsAlarm").threshold).toBe(240),
  },
  {
    value: "monitoring.agentsAtMaxMinutes",
    input: { monitoring: { agentsAtMaxMinutes: 60 } },
    expect: (json) => expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_AgentsAtMaxAlarm").evaluation_periods).toBe(60),
  },
  {
    value: "edge.hostedZone by domain name",
    input: { edge: { hostedZone: "example.com", fqdn: "apps.example.com" } },
    expect: (json) => expect(Object.values(json.data!.aws_route53_zone)).toEqual([{ name: "example.com", private_zone: false }]),
  },
  {
    value: "edge.applicationTls passthrough",
    input: { edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com", applicationTls: "passthrough" } },
    expect: (json) => {
      const https = resourcesOf(json, "aws_lb_listener").find(([id, listener]) => id.startsWith("LoadBalancing_Ingress") && listener.port === 443)![1];
      expect([https.protocol, https.certificate_arn]).toEqual(["TCP", undefined]);
      expect(traefikValues(json).additionalArguments).toEqual([]);
    },
  },
  {
    value: "api.publicAccess with edge.fqdn (the kubeconfig names k3s.<fqdn>)",
    input: { api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] }, edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com" } },
    expect: (json) => {
      expect(script(json, "Servers")).toContain('KUBECONFIG_ENDPOINT="https://k3s.apps.example.com:6443"');
      expect(resourceNamed(json, "aws_route53_record", "DnsRecords_ApiRecord").alias.name).toBe(ref(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "dns_name"));
    },
  },
  {
    value: "clusterPolicy.podSecurity",
    input: { clusterPolicy: { podSecurity: { enforce: "restricted", audit: "baseline", warn: "privileged", exemptNamespaces: ["kube-system", "ci"] } } },
    expect: (json) => {
      const [admission] = writtenFiles(script(json, "Servers"))["/var/lib/rancher/k3s/server/psa.yaml"];
      const podSecurity = admission.plugins.find((plugin: any) => plugin.name === "PodSecurity").configuration;
      expect(podSecurity.defaults).toEqual({ enforce: "restricted", "enforce-version": "latest", audit: "baseline", "audit-version": "latest", warn: "privileged", "warn-version": "latest" });
      expect(podSecurity.exemptions.namespaces).toEqual(["kube-system", "ci", "monitoring"]);
    },
  },
  {
    value: "clusterPolicy.auditLog",
    input: { clusterPolicy: { auditLog: { maxAgeDays: 7, maxBackups: 3, maxSizeMb: 50 } } },
    expect: (json) =>
      expect(writtenConfig(script(json, "Servers"))["kube-apiserver-arg"]).toEqual(expect.arrayContaining(["audit-log-maxage=7", "audit-log-maxbackup=3", "audit-log-maxsize=50"])),
  },
  {
    value: "clusterPolicy.auditLog.enabled",
    input: { clusterPolicy: { auditLog: { enabled: false } } },
    expect: (json) =>
      expect(writtenConfig(script(json, "Servers"))["kube-apiserver-arg"].filter((arg: string) => !arg.startsWith("service-account-"))).toEqual(["admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml"]),
  },
  {
    value: "storage.blockStorage.enabled (gp3 becomes the default class)",
    input: { storage: { blockStorage: { enabled: true } } },
    expect: (json) => {
      const manifests = writtenManifests(script(json, "Servers"));
      expect(documentOf(manifests["aws-ebs-csi-driver"], "HelmChart").spec.chart).toBe("aws-ebs-csi-driver");
      expect(defaultStorageClasses(manifests)).toEqual(["gp3"]);
      // The driver's permissions are scoped to this cluster's volumes by their tag.
      const conditions = Object.values(json.data!.aws_iam_policy_document).flatMap((document: any) => document.statement.flatMap((statement: any) => statement.condition ?? []));
      expect(conditions).toContainEqual({ test: "StringEquals", variable: "aws:RequestTag/ebs.csi.aws.com/cluster-name", values: ["k3s"] });
      // On the controller's own role, which the chart's values name, assumed through the servers' issuer.
      expect(resourcesOf(json, "aws_iam_role_policy").filter(([id, policy]) => id.startsWith("WorkloadIdentity_") && policy.name === "ebs-csi-controller")).toHaveLength(1);
      expect(JSON.stringify(writtenConfig(script(json, "Servers"))["kube-apiserver-arg"])).toContain("service-account-issuer-=https://");
      expect(resourcesOf(json, "aws_cloudfront_origin_access_control").map(([, control]) => control.name)).toEqual(["k3s-eu-west-1-oidc"]);
      expect(resourceNamed(json, "aws_s3_bucket", "WorkloadIdentity_IssuerBucket").bucket).toMatch(/^k3s-oidc-\$\{data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id\}-eu-west-1$/);
      // Its EBS volumes are in the daily backup.
      expect(resourceNamed(json, "aws_backup_selection", "Backup_VolumeSelection").condition).toEqual([{ string_equals: [{ key: "aws:ResourceTag/ebs.csi.aws.com/cluster-name", value: "k3s" }] }]);
    },
  },
  {
    value: "storage.blockStorage.enabled without monitoring (the issuer for the driver alone)",
    input: { storage: { blockStorage: { enabled: true } }, addons: { monitoring: { enabled: false } } },
    expect: (json) => {
      expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toHaveLength(1);
      expect(resourcesOf(json, "aws_iam_role").map(([, role]) => role.name)).not.toContainEqual(expect.stringMatching(/-(alertmanager|grafana)$/));
    },
  },
  {
    value: "storage.defaultStorageClass",
    input: { storage: { blockStorage: { enabled: true }, defaultStorageClass: "efs" } },
    expect: (json) => expect(defaultStorageClasses(writtenManifests(script(json, "Servers")))).toEqual(["efs"]),
  },
  {
    value: "addons.monitoring.enabled",
    input: { addons: { monitoring: { enabled: false } } },
    expect: (json) => {
      expect(writtenManifests(script(json, "Servers"))["kube-prometheus-stack"]).toEqual([]);
      expect(resourcesOf(json, "aws_secretsmanager_secret").map(([id]) => id)).not.toContainEqual(expect.stringMatching(/^Addons_GrafanaAdminSecret_/));
      // Nothing else needs the service-account issuer without block storage.
      expect(resourcesOf(json, "aws_iam_openid_connect_provider")).toEqual([]);
    },
  },
  {
    value: "addons.monitoring.retentionDays and storageGb (Prometheus on gp3 with block storage)",
    input: { storage: { blockStorage: { enabled: true } }, addons: { monitoring: { retentionDays: 30, storageGb: 50 } } },
    expect: (json) => {
      const prometheus = prometheusStackValues(json).prometheus.prometheusSpec;
      expect([prometheus.retention, prometheus.storageSpec.volumeClaimTemplate.spec.resources.requests.storage]).toEqual(["30d", "50Gi"]);
    },
  },
  {
    value: "addons.jenkins.enabled with block storage (JENKINS_HOME on gp3)",
    input: { storage: { blockStorage: { enabled: true } }, addons: { jenkins: { enabled: true } } },
    expect: (json) => {
      const values = load(documentOf(writtenManifests(script(json, "Servers"))["jenkins"], "HelmChart").spec.valuesContent) as any;
      expect(values.persistence.storageClass).toBe("gp3");
    },
  },
  {
    value: "addons.argoCd.enabled and addons.jenkins.enabled",
    input: { addons: { argoCd: { enabled: true }, jenkins: { enabled: true } } },
    expect: (json) => {
      const manifests = writtenManifests(script(json, "Servers"));
      expect([documentOf(manifests["argo-cd"], "HelmChart").spec.chart, documentOf(manifests["jenkins"], "HelmChart").spec.chart]).toEqual(["argo-cd", "jenkins"]);
      // Without block storage JENKINS_HOME is on the shared file system.
      expect((load(documentOf(manifests["jenkins"], "HelmChart").spec.valuesContent) as any).persistence.storageClass).toBe("efs");
      expect(resourcesOf(json, "aws_secretsmanager_secret").map(([id]) => id)).toEqual(expect.arrayContaining([expect.stringMatching(/^Addons_ArgoCdAdminSecret_/), expect.stringMatching(/^Addons_JenkinsAdminSecret_/)]));
    },
  },
];

// Ordered for `npm run mutate`, which stops testing a mutant at its first failing test: the tests that check the most
// wiring (every output, both stacks, the backend, the drain timing) come first, then the rows, broadest first.
test("a hook heartbeat too short for a drain attempt is refused", () => {
  expect(() => drainTiming(300)).toThrow("drainHeartbeatSeconds: (300) leaves each drain attempt 42 s; use at least 420");
  // The least it names is enough: a 60 s attempt, six of them hidden in the queue, one spare (420 = 60 x (6 + 1)).
  expect(() => drainTiming(419)).toThrow("leaves each drain attempt 59 s; use at least 420");
  expect(drainTiming(420)).toEqual({ functionTimeoutSeconds: 60, visibilityTimeoutSeconds: 360, heartbeatIntervalSeconds: 42, attempts: 3 });
  // Lambda's timeout stops at 15 minutes however long the hook waits.
  expect(drainTiming(7200).functionTimeoutSeconds).toBe(900);
});

test("every output a user reads after apply says what it is", () => {
  const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] }, edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com", cloudFront: { enabled: true } } });
  const undescribed = Object.entries(json.output!).filter(([, output]: [string, any]) => typeof output.description !== "string" || output.description.length < 20).map(([name]) => name);
  expect(Object.keys(json.output!).length).toBeGreaterThan(10);
  expect(undescribed).toEqual([]);
});

test("the app holds the cluster stack and the state-backend stack, whose outputs fill the backend file", () => {
  const config = resolveConfig({ clusterName: "blue" });
  const outdir = mkdtempSync(join(tmpdir(), "wiring-app-"));
  const app = buildApp(config, undefined, outdir);
  app.synth();
  // What `npm run synth` prints after the stacks: each stack's exemptions, the cluster's with their reasons.
  const [clusterExemptions, backendExemptions] = policyExemptions(app);
  expect(clusterExemptions).toMatch(/^Policy exemptions in stack "cluster" \(15\):\n/);
  expect(clusterExemptions).toContain('      waives: statement "LoadBalancerServiceLinkedRole" grants iam:CreateServiceLinkedRole on "*"');
  expect(backendExemptions).toBe('Policy exemptions in stack "state-backend": none');
  const stack = (name: string) => JSON.parse(readFileSync(join(outdir, "stacks", name, "cdk.tf.json"), "utf8")) as TerraformJson;
  expect(readdirSync(join(outdir, "stacks")).sort()).toEqual(["cluster", "state-backend"]);
  const backendStack = stack("state-backend");
  expect(backendStack.terraform.backend).toEqual({ local: { path: "../../../terraform.state-backend.tfstate" } });
  expect(backendStack.provider!.aws[0].region).toBe("eu-west-1");
  expect(backendStack.output).toEqual({
    state_bucket: { value: ref(backendStack, "aws_s3_bucket", "StateBackend_StateBucket", "bucket"), description: expect.stringContaining("backend.tf.json") },
    lock_table: { value: ref(backendStack, "aws_dynamodb_table", "StateBackend_LockTable", "name"), description: expect.stringContaining("backend.tf.json") },
  });
  expect(resourceNamed(backendStack, "aws_s3_bucket", "StateBackend_StateBucket").bucket).toMatch(/^blue-tfstate-\$\{data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id\}-eu-west-1$/);
});

test("the simulator's agents run the default config's DaemonSets with the requests the servers install", () => {
  const simulated = (input: ConfigInput) => Object.fromEntries(agentDaemonSets(resolveConfig(input), loadAssumptions()).map((daemonSet) => [daemonSet.name, daemonSet.pod.requests]));
  const { json } = synthCluster();
  const exporter = prometheusStackValues(json)["prometheus-node-exporter"].resources.requests;
  expect(simulated({})["prometheus-node-exporter"]).toEqual({ cpuMillis: cpuMillis(exporter.cpu), memoryBytes: memoryBytes(exporter.memory) });
  expect(simulated({ addons: { monitoring: { enabled: false } } })).not.toHaveProperty("prometheus-node-exporter");
  // The EFS driver's node pods set no requests in the chart version the data file read (its values.yaml: node.resources
  // and the sidecars' resources are {}), and the servers set none either.
  const efs = documentOf(writtenManifests(script(json, "Servers"))["aws-efs-csi-driver"], "HelmChart");
  const efsSource = loadAssumptions().daemonSets.pods.find((daemonSet) => daemonSet.name === "efs-csi-node")!;
  expect(efsSource.source).toContain(`chart ${efs.spec.version} values.yaml`);
  expect(Object.keys(load(efs.spec.valuesContent) as object)).toEqual(["controller"]);
  expect(simulated({})["efs-csi-node"]).toEqual({ cpuMillis: 0, memoryBytes: 0 });
});

test("the simulator's agents run the monitoring pods with the requests the servers install, and their disk volumes as the charts mount them", () => {
  const simulated = (input: ConfigInput) => Object.fromEntries(agentAddonPods(resolveConfig(input), loadAssumptions()).map((pod) => [pod.name, pod]));
  const { json } = synthCluster();
  const values = prometheusStackValues(json);
  const at = (path: string) => path.split(".").reduce((node, key) => node?.[key], values);
  for (const source of loadAssumptions().addonPods.pods) {
    const requests = at(source.values);
    expect({ pod: source.name, requests: simulated({})[source.name].requests }).toEqual({ pod: source.name, requests: { cpuMillis: cpuMillis(requests.cpu), memoryBytes: memoryBytes(requests.memory) } });
  }
  // Without block storage, Prometheus's data is the emptyDir of its storageSpec, and Alertmanager's the emptyDir
  // prometheus-operator gives an Alertmanager whose storage the chart leaves out (an empty map renders nothing); Grafana's
  // persistence is off, so the grafana chart mounts an emptyDir for its storage and one per sidecar.
  expect(values.prometheus.prometheusSpec.storageSpec).toHaveProperty("emptyDir");
  expect(values.alertmanager.alertmanagerSpec.storage).toEqual({});
  expect(values.grafana.persistence).toBeUndefined();
  // They run on agents because none tolerates the servers' CriticalAddonsOnly taint: the values set no tolerations (the
  // chart's defaults are empty) and no node selector.
  for (const component of [values.prometheusOperator, values.prometheus.prometheusSpec, values.alertmanager.alertmanagerSpec, values.grafana, values["kube-state-metrics"]]) {
    expect([component.tolerations, component.nodeSelector]).toEqual([undefined, undefined]);
  }
  const local = (input: ConfigInput) => Object.fromEntries(Object.values(simulated(input)).map((pod) => [pod.name, pod.localVolumeNames!.length > 0]));
  expect(local({})).toEqual({ "prometheus-operator": false, prometheus: true, alertmanager: true, grafana: true, "kube-state-metrics": false });
  // With block storage both keep their data on gp3 claims instead, which move with the pod.
  const blockStorage = { storage: { blockStorage: { enabled: true } } };
  const withClaims = prometheusStackValues(synthCluster(blockStorage).json);
  expect(withClaims.prometheus.prometheusSpec.storageSpec).toHaveProperty("volumeClaimTemplate");
  expect(withClaims.alertmanager.alertmanagerSpec.storage).toHaveProperty("volumeClaimTemplate");
  expect(local(blockStorage)).toEqual({ "prometheus-operator": false, prometheus: false, alertmanager: false, grafana: true, "kube-state-metrics": false });
  // The servers list every one of Grafana's disk volumes in its safe-to-evict-local-volumes annotation, so the drain
  // rules (cluster-autoscaler/simulator/drainability/rules/localstorage) let its agent go; the simulator's pod has
  // the annotation as rendered. Prometheus's and Alertmanager's emptyDirs still hold their agents.
  expect(simulated({}).grafana.annotations).toEqual(values.grafana.podAnnotations);
  // The data file's four volumes are all the grafana chart's _pod.tpl mounts on disk for these values: no value turns
  // on another (the alerts, plugins and notifiers sidecars are off by default; no extra or persistent volumes).
  const grafanaValues = values.grafana;
  expect(Object.keys(grafanaValues.sidecar).sort()).toEqual(["dashboards", "datasources"]);
  for (const key of ["persistence", "extraEmptyDirMounts", "extraVolumes", "extraContainerVolumes", "useStatefulSet", "shadowBundledPlugins"]) expect([key, grafanaValues[key]]).toEqual([key, undefined]);
  const outcomes = (input: ConfigInput) => Object.fromEntries(Object.values(simulated(input)).map((pod) => [pod.name, drainDecision(pod, { budgets: [], now: 0 }).outcome]));
  expect(outcomes({})).toEqual({ "prometheus-operator": "move", prometheus: "block", alertmanager: "block", grafana: "move", "kube-state-metrics": "move" });
  expect(outcomes(blockStorage)).toEqual({ "prometheus-operator": "move", prometheus: "move", alertmanager: "move", grafana: "move", "kube-state-metrics": "move" });
  expect(simulated({ addons: { monitoring: { enabled: false } } })).toEqual({});
  // On servers that take workloads no taint keeps them on the agents, and where they land is not modelled.
  expect(simulated({ servers: { allowWorkloads: true } })).toEqual({});
});

test("state goes to the S3 backend the backend file names, with its lock, or stays local beside the project", () => {
  const local = synthCluster().json.terraform.backend;
  expect(local).toEqual({ local: { path: "../../../terraform.cluster.tfstate" } });
  const settings = { bucket: "state-bucket", key: "k3s/cluster.tfstate", region: "eu-west-1", encrypt: true, dynamodb_table: "locks", use_lockfile: true, kms_key_id: "alias/state", workspace_key_prefix: "envs" };
  const s3 = synthCluster({}, settings).json.terraform.backend.s3;
  expect(s3).toEqual({ bucket: "state-bucket", key: "k3s/cluster.tfstate", region: "eu-west-1", encrypt: true, dynamodb_table: "locks", kms_key_id: "alias/state", workspace_key_prefix: "envs", use_lockfile: true });
  const withoutLockfile = synthCluster({}, { ...settings, use_lockfile: undefined }).json.terraform.backend.s3;
  expect(withoutLockfile).not.toHaveProperty("use_lockfile");
});

test("the drain function, its queue and its heartbeats fit inside the termination hook's heartbeat timeout", () => {
  const { json } = synthCluster();
  const hookSeconds = resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook").heartbeat_timeout;
  const drainer = resourcesOf(json, "aws_lambda_function").find(([, fn]) => fn.function_name === "k3s-node-drainer")![1];
  const visibility = resourceNamed(json, "aws_sqs_queue", "Automation_DrainQueue").visibility_timeout_seconds;
  // Lambda docs (services-sqs-configure): visibility at least six times the function timeout. A retry after the
  // visibility timeout, plus one more attempt, still lands before the hook gives up.
  expect(visibility).toBeGreaterThanOrEqual(6 * drainer.timeout);
  expect(visibility + drainer.timeout).toBeLessThanOrEqual(hookSeconds);
  expect([drainer.timeout, visibility]).toEqual([85, 510]);
  expect(Number(drainer.environment.variables.HEARTBEAT_INTERVAL_SECONDS)).toBeLessThan(hookSeconds / 2);
});

test("the outputs a user reads after apply name the resources they describe", () => {
  const { json } = synthCluster({ region: "eu-central-1" });
  const outputs = json.output!;
  const kubeconfigSecret = ref(json, "aws_secretsmanager_secret", "Compute_KubeconfigSecret", "arn");
  expect(Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, output.value]))).toEqual({
    api_endpoint: `https://${ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name")}:6443`,
    ingress_dns_name: ref(json, "aws_lb", "LoadBalancing_IngressLoadBalancer", "dns_name"),
    kubeconfig_secret_arn: kubeconfigSecret,
    kubeconfig_command: `aws secretsmanager get-secret-value --region eu-central-1 --secret-id ${kubeconfigSecret} --query SecretString --output text > ~/.kube/config && chmod 600 ~/.kube/config`,
    k3s_token_secret_arn: ref(json, "aws_secretsmanager_secret", "Compute_TokenSecret", "arn"),
    server_asg_name: ref(json, "aws_autoscaling_group", "Compute_Servers_Group", "name"),
    agent_asg_name: ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name"),
  });
  // `terraform output` shows each description; an empty one tells a user nothing.
  for (const output of Object.values(outputs)) expect(output.description.length).toBeGreaterThan(20);
});

test("the alarms and the dashboard watch this cluster's file system, database and autoscaler", () => {
  const { json } = synthCluster({ clusterName: "blue" });
  const fileSystemId = ref(json, "aws_efs_file_system", "Storage_FileSystem", "id");
  // A General Purpose file system (the default) publishes PercentIOLimit (Amazon EFS user guide, CloudWatch metrics).
  expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_FileSystemIoLimitAlarm").dimensions).toEqual({ FileSystemId: fileSystemId });
  expect(resourceNamed(json, "aws_cloudwatch_metric_alarm", "Monitoring_DatabaseCpuAlarm").dimensions).toEqual({ DBInstanceIdentifier: ref(json, "aws_db_instance", "Database_Instance", "identifier") });
  // The pod-driven autoscaler (the default scaling mode) publishes its metrics per cluster (lambdas/autoscaler/run.ts).
  const widgets = JSON.parse(resourceNamed(json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body).widgets;
  const autoscalerLines = widgets.flatMap((widget: any) => widget.properties.metrics).filter((line: any[]) => line[0] === "K3sAutoscaler");
  expect(autoscalerLines.length).toBeGreaterThan(0);
  for (const line of autoscalerLines) expect(line.slice(2, 4)).toEqual(["Cluster", "blue"]);
  expect(JSON.stringify(widgets)).toContain(`"FileSystemId","${fileSystemId}"`);
  // Grafana's autoscaler dashboard reads the same metrics of this cluster through its CloudWatch datasource.
  const grafana = writtenManifests(script(json, "Servers"))["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"];
  const targets = JSON.parse(grafana).panels.filter((panel: any) => panel.datasource?.type === "cloudwatch").flatMap((panel: any) => panel.targets);
  expect(targets.length).toBe(autoscalerLines.length);
  for (const target of targets) expect(target.dimensions).toEqual({ Cluster: "blue" });
});

test.each(rows)("$value reaches the resources that use it", ({ input, expect: check }) => {
  check(synthCluster(input).json);
});

test("the automation functions reach the agents' group and the servers' access secret", () => {
  const { json } = synthCluster();
  const groupName = ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name");
  const accessSecret = ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn");
  for (const name of ["autoscaler", "node-drainer"]) {
    expect(lambdaEnvironment(json, name)).toMatchObject({ AGENT_GROUP_NAME: groupName, ACCESS_SECRET_ARN: accessSecret });
  }
  // The drainer holds the termination hook for a tenth of its 600 s timeout at a time.
  expect(lambdaEnvironment(json, "node-drainer").HEARTBEAT_INTERVAL_SECONDS).toBe("60");
  expect(resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook").heartbeat_timeout).toBe(600);
  // Lambdas sit in the private subnets, in their own group, and move to the VPC's default group on destroy.
  const drainer = resourcesOf(json, "aws_lambda_function").find(([, fn]) => fn.function_name === "k3s-node-drainer")![1];
  expect(drainer.vpc_config.security_group_ids).toEqual([ref(json, "aws_security_group", "Networking_SecurityGroups_Lambda", "id")]);
  expect(drainer.replacement_security_group_ids).toEqual([ref(json, "aws_default_security_group", "Networking_DefaultSecurityGroup", "id")]);
  const privateSubnets = resourcesOf(json, "aws_subnet").filter(([id]) => id.includes("Private")).map(([id]) => `\${aws_subnet.${id}.id}`);
  expect([...drainer.vpc_config.subnet_ids].sort()).toEqual(privateSubnets.sort());
});

test("the servers wait for the datastore, its secret and the private routes; the agents for the routes and the servers", () => {
  const { json } = synthCluster();
  const servers: string[] = resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").depends_on;
  const agents: string[] = resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").depends_on;
  const routes = resourcesOf(json, "aws_route").filter(([, route]) => route.nat_gateway_id).map(([id]) => `aws_route.${id}`);
  expect(routes.length).toBeGreaterThan(0);
  expect(servers).toEqual(expect.arrayContaining([...routes, expect.stringMatching(/^aws_db_instance\.Database_Instance_/), expect.stringMatching(/^aws_secretsmanager_secret_version\.Database_SecretValue_/)]));
  expect(agents).toEqual(expect.arrayContaining([...routes, expect.stringMatching(/^aws_autoscaling_group\.Compute_Servers_Group_/)]));
  expect(agents.filter((dependency) => dependency.includes("Database_"))).toEqual([]);
});

test("each group registers with its own load balancer's target groups, and the servers read the datastore's secret", () => {
  const { json } = synthCluster();
  const targetGroups = byName(json, "aws_lb_target_group");
  const arnsOf = (prefix: string) => Object.keys(targetGroups).filter((id) => id.startsWith(prefix)).map((id) => ref(json, "aws_lb_target_group", id, "arn")).sort();
  expect([...resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").target_group_arns].sort()).toEqual(arnsOf("LoadBalancing_Api"));
  expect([...resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").target_group_arns].sort()).toEqual(arnsOf("LoadBalancing_Ingress"));
  expect(script(json, "Servers")).toContain(`DATASTORE_SECRET_ARN="${ref(json, "aws_secretsmanager_secret", "Database_Secret", "arn")}"`);
  expect(script(json, "Servers")).toContain(`fileSystemId: "${ref(json, "aws_efs_file_system", "Storage_FileSystem", "id")}"`);
  const templates = ["Servers", "Agents"].map((kind) => resourceNamed(json, "aws_launch_template", `Compute_${kind}_LaunchTemplate`).vpc_security_group_ids);
  expect(templates).toEqual([[ref(json, "aws_security_group", "Networking_SecurityGroups_Server", "id")], [ref(json, "aws_security_group", "Networking_SecurityGroups_Agent", "id")]]);
});

test("every resource is tagged with its cluster, environment and the tool that manages it", () => {
  const { json } = synthCluster({ clusterName: "blue", environment: "staging" });
  expect(json.provider!.aws[0].default_tags[0].tags).toEqual({ Cluster: "blue", Environment: "staging", ManagedBy: "cdktf" });
  expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").tag).toEqual(
    expect.arrayContaining([
      { key: "Cluster", value: "blue", propagate_at_launch: true },
      { key: "ManagedBy", value: "cdktf", propagate_at_launch: true },
    ]),
  );
});

test("the API certificate names only the addresses the API is reached by", () => {
  const { json } = synthCluster();
  const sans = script(json, "Servers").split("\n").filter((line) => /^ {2}- "/.test(line));
  expect(sans).toEqual([`  - "${ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name")}"`]);
});

test("the tag the cloud controller's policy is scoped by is the tag on the subnets, node security groups and instances", () => {
  const { json } = synthCluster({ clusterName: "blue" });
  const document = Object.entries(json.data!.aws_iam_policy_document).find(([id]) => id.startsWith("Compute_CloudControllerPolicy_"))![1];
  const conditionKeys = new Set<string>(document.statement.flatMap((statement: any) => (statement.condition ?? []).map((condition: any) => condition.variable)));
  const scopedTags = [...conditionKeys].filter((key) => key.startsWith("aws:ResourceTag/")).map((key) => key.slice("aws:ResourceTag/".length));
  // kubernetes/cloud-provider-aws pkg/providers/v1/tags.go: the cluster's resources carry kubernetes.io/cluster/<id>.
  expect(scopedTags).toEqual(["kubernetes.io/cluster/blue"]);
  const [tag] = scopedTags;
  for (const [, subnet] of resourcesOf(json, "aws_subnet")) expect(Object.keys(subnet.tags)).toContain(tag);
  for (const group of ["Server", "Agent"]) expect(Object.keys(resourceNamed(json, "aws_security_group", `Networking_SecurityGroups_${group}`).tags)).toContain(tag);
  for (const kind of ["Servers", "Agents"]) {
    for (const specification of resourceNamed(json, "aws_launch_template", `Compute_${kind}_LaunchTemplate`).tag_specifications) expect(specification.tags[tag]).toBe("owned");
  }
});

/** The settings an input sets: the paths of its leaves; a list or a map of tags is one setting. */
function settingsOf(input: unknown, prefix = ""): string[] {
  if (typeof input !== "object" || input === null || Array.isArray(input) || prefix === "tags") return [prefix];
  return Object.entries(input).flatMap(([key, value]) => settingsOf(value, prefix ? `${prefix}.${key}` : key));
}

test("every setting the README documents is set by a row, so a setting main.ts drops fails a row", () => {
  const set = new Set(rows.flatMap((row) => settingsOf(row.input)));
  expect(configurationTable().map((row) => row.field).filter((field) => !set.has(field))).toEqual([]);
});
