import { CLOUD_CONTROLLER_ACTIONS } from "../modules/compute/iam";
import { ConfigError, resolveConfig } from "../config/resolve";
import { TerraformJson, logicalIdOf, ref, referencedId, resourceNamed, resourcesOf, synthCluster } from "./helpers";

/** Inline policy statements of a node role, by policy name. */
function inlinePolicies(json: TerraformJson, role: "Server" | "Agent"): Record<string, any[]> {
  const documents = json.data?.aws_iam_policy_document ?? {};
  const policies: Record<string, any[]> = {};
  for (const [id, policy] of resourcesOf(json, "aws_iam_role_policy")) {
    if (!id.startsWith(`Compute_${role}Role_`)) continue;
    const documentId = /data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json/.exec(policy.policy)?.[1] as string;
    policies[policy.name] = documents[documentId].statement;
  }
  return policies;
}

function actionsOf(statements: any[]): string[] {
  return statements.flatMap((statement) => statement.actions);
}

describe("launch templates", () => {
  const { json } = synthCluster();

  test.each(["Server", "Agent"])("%s: IMDSv2 required with two hops, encrypted gp3 root, tagged instances and volumes", (role) => {
    const template = resourceNamed(json, "aws_launch_template", `Compute_${role}LaunchTemplate`);
    expect(template.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 2, instance_metadata_tags: "disabled" });
    expect(template.block_device_mappings).toEqual([
      { device_name: "/dev/xvda", ebs: expect.objectContaining({ volume_type: "gp3", encrypted: "true", delete_on_termination: "true" }) },
    ]);
    expect(template.tag_specifications.map((spec: any) => spec.resource_type)).toEqual(["instance", "volume"]);
    for (const spec of template.tag_specifications) {
      expect(spec.tags).toMatchObject({ "kubernetes.io/cluster/k3s": "owned", Cluster: "k3s", Environment: "prod", Name: `k3s-${role.toLowerCase()}` });
    }
    expect(template.user_data).toBe(`\${base64encode(local.${Object.keys((json as any).locals).find((id) => id.startsWith(`Compute_${role}UserData_`))})}`);
    expect(template.image_id).toMatch(/^\$\{data\.aws_ssm_parameter\.Compute_Ami_[A-F0-9]+\.insecure_value\}$/);
    expect(template.vpc_security_group_ids).toEqual([ref(json, "aws_security_group", `Networking_SecurityGroups_${role}`, "id")]);
    expect(template.key_name).toBeUndefined();
  });

  test("the AMI is current Amazon Linux 2023 for the instance types' architecture", () => {
    const parameterName = (input = {}) => Object.values(synthCluster(input).json.data!.aws_ssm_parameter)[0].name;
    expect(parameterName()).toBe("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
    expect(parameterName({ servers: { instanceType: "m7i.large" }, agents: { instanceTypes: ["m7i.large", "c7i.large"] } })).toBe(
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    );
  });

  test("a configured public key becomes the nodes' key pair", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx admin@example";
    const { json: withKey } = synthCluster({ sshPublicKey: key });
    expect(resourceNamed(withKey, "aws_key_pair", "Compute_KeyPair").public_key).toBe(key);
    expect(resourceNamed(withKey, "aws_launch_template", "Compute_AgentLaunchTemplate").key_name).toBe(ref(withKey, "aws_key_pair", "Compute_KeyPair", "key_name"));
  });
});

describe("server group", () => {
  test("three servers over the private subnets, in the API target group, with ELB health checks and rolling refresh", () => {
    const { json } = synthCluster();
    const group = resourceNamed(json, "aws_autoscaling_group", "Compute_ServerGroup");
    expect(group).toMatchObject({ min_size: 3, max_size: 3, desired_capacity: 3, health_check_type: "ELB", health_check_grace_period: 600 });
    expect(group.vpc_zone_identifier).toEqual(["A", "B", "C"].map((zone) => ref(json, "aws_subnet", `Networking_PrivateSubnet${zone}`, "id")));
    expect(group.target_group_arns).toEqual([ref(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup", "arn")]);
    expect(group.launch_template).toEqual({
      id: ref(json, "aws_launch_template", "Compute_ServerLaunchTemplate", "id"),
      version: ref(json, "aws_launch_template", "Compute_ServerLaunchTemplate", "latest_version"),
    });
    // 66 % of three keeps two healthy: one server at a time.
    expect(group.instance_refresh).toEqual({ strategy: "Rolling", preferences: { min_healthy_percentage: 66, instance_warmup: "300", skip_matching: true } });
  });

  test("dev runs one server", () => {
    const group = resourceNamed(synthCluster({ environment: "dev" }).json, "aws_autoscaling_group", "Compute_ServerGroup");
    expect(group).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
    expect(group.instance_refresh.preferences.min_healthy_percentage).toBe(0);
  });

  test("with a public API the servers also join its target group", () => {
    const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } });
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_ServerGroup").target_group_arns).toEqual([
      ref(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup", "arn"),
      ref(json, "aws_lb_target_group", "LoadBalancing_PublicApiTargetGroup", "arn"),
    ]);
  });
});

describe("agent group", () => {
  const { json } = synthCluster();
  const group = resourceNamed(json, "aws_autoscaling_group", "Compute_AgentGroup");

  test("mixed instances: on-demand base and 30 % above it, the rest price-capacity-optimized spot", () => {
    expect(group.mixed_instances_policy.instances_distribution).toEqual({
      on_demand_base_capacity: 1,
      on_demand_percentage_above_base_capacity: 30,
      on_demand_allocation_strategy: "prioritized",
      spot_allocation_strategy: "price-capacity-optimized",
    });
    expect(group.mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "t4g.large" }, { instance_type: "m7g.large" }, { instance_type: "m6g.large" }]);
    expect(group.mixed_instances_policy.launch_template.launch_template_specification).toEqual({
      launch_template_id: ref(json, "aws_launch_template", "Compute_AgentLaunchTemplate", "id"),
      version: ref(json, "aws_launch_template", "Compute_AgentLaunchTemplate", "latest_version"),
    });
    expect(group).toMatchObject({ capacity_rebalance: true, min_size: 1, max_size: 10, desired_capacity: 2, health_check_type: "EC2" });
  });

  test("Terraform leaves desired capacity to the autoscaler after creation", () => {
    expect(group.lifecycle).toEqual({ ignore_changes: ["desired_capacity"] });
  });

  test("agents serve the ingress target groups and roll on template changes", () => {
    expect(group.target_group_arns).toEqual([
      ref(json, "aws_lb_target_group", "LoadBalancing_IngressHttpTargetGroup", "arn"),
      ref(json, "aws_lb_target_group", "LoadBalancing_IngressHttpsTargetGroup", "arn"),
    ]);
    expect(group.instance_refresh).toEqual({ strategy: "Rolling", preferences: { min_healthy_percentage: 90, instance_warmup: "300", skip_matching: true } });
  });

  test("a termination lifecycle hook holds instances long enough to drain", () => {
    const hook = resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook");
    expect(hook).toMatchObject({ lifecycle_transition: "autoscaling:EC2_INSTANCE_TERMINATING", heartbeat_timeout: 600, default_result: "CONTINUE" });
    expect(hook.autoscaling_group_name).toBe(ref(json, "aws_autoscaling_group", "Compute_AgentGroup", "name"));
  });

  test("scaling mode cpu gives a target-tracking policy at 80 %, pods gives none", () => {
    expect(resourcesOf(json, "aws_autoscaling_policy")).toEqual([]);
    const cpu = synthCluster({ agents: { scalingMode: "cpu" } }).json;
    const policy = resourceNamed(cpu, "aws_autoscaling_policy", "Compute_AgentCpuTargetTracking");
    expect(policy).toMatchObject({
      policy_type: "TargetTrackingScaling",
      target_tracking_configuration: { predefined_metric_specification: { predefined_metric_type: "ASGAverageCPUUtilization" }, target_value: 80 },
    });
    expect(policy.autoscaling_group_name).toBe(ref(cpu, "aws_autoscaling_group", "Compute_AgentGroup", "name"));
  });

  test("config refuses two scalers on one group", () => {
    expect(() => resolveConfig({ agents: { scalingMode: "both" } })).toThrow(ConfigError);
    expect(() => resolveConfig({ agents: { scalingMode: ["pods", "cpu"] } })).toThrow(
      'agents.scalingMode: must be "pods" or "cpu", one mode per group: a CPU target-tracking policy and the pod-driven autoscaler would fight over desired capacity (cluster-autoscaler FAQ)',
    );
  });
});

describe("IAM", () => {
  const { json } = synthCluster();
  const server = inlinePolicies(json, "Server");
  const agent = inlinePolicies(json, "Agent");
  const datastoreSecret = ref(json, "aws_secretsmanager_secret", "Database_Secret", "arn");
  const tokenSecret = ref(json, "aws_secretsmanager_secret", "Compute_TokenSecret", "arn");

  test("servers carry the cloud controller's control-plane permissions, agents only the node's", () => {
    expect(actionsOf(server["cloud-controller"])).toEqual(CLOUD_CONTROLLER_ACTIONS);
    expect(actionsOf(agent["cloud-node"])).toEqual(["ec2:DescribeInstances", "ec2:DescribeRegions"]);
    expect(Object.values(agent).flatMap(actionsOf)).not.toContain("elasticloadbalancing:CreateLoadBalancer");
  });

  test("both read the cluster token; only servers read the datastore secret and publish access secrets", () => {
    expect(server["cluster-secrets"]).toContainEqual(expect.objectContaining({ actions: ["secretsmanager:GetSecretValue"], resources: [tokenSecret] }));
    expect(agent["cluster-secrets"]).toEqual([expect.objectContaining({ actions: ["secretsmanager:GetSecretValue"], resources: [tokenSecret] })]);
    expect(server.datastore).toEqual([expect.objectContaining({ resources: [datastoreSecret] })]);
    expect(JSON.stringify(agent)).not.toContain(datastoreSecret);
    expect(server["cluster-secrets"]).toContainEqual(
      expect.objectContaining({
        actions: ["secretsmanager:PutSecretValue"],
        resources: [ref(json, "aws_secretsmanager_secret", "Compute_KubeconfigSecret", "arn"), ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn")],
      }),
    );
  });

  test("both get Session Manager, ECR read and the EFS CSI permissions; neither gets a wildcard action", () => {
    for (const role of ["Server", "Agent"]) {
      const attached = resourcesOf(json, "aws_iam_role_policy_attachment").filter(([id]) => id.startsWith(`Compute_${role}Role_`)).map(([, attachment]) => attachment.policy_arn);
      expect(attached.map((arn: string) => arn.split("/").pop()).sort()).toEqual(["AmazonEC2ContainerRegistryReadOnly", "AmazonSSMManagedInstanceCore"]);
    }
    expect(actionsOf(server["efs-csi"])).toContain("elasticfilesystem:CreateAccessPoint");
    expect(actionsOf(agent["efs-csi"])).toContain("elasticfilesystem:ClientMount");
    expect([...Object.values(server), ...Object.values(agent)].flatMap(actionsOf).filter((action) => action.includes("*"))).toEqual([]);
  });

  test("instance profiles wrap the roles the launch templates use", () => {
    expect(resourceNamed(json, "aws_launch_template", "Compute_ServerLaunchTemplate").iam_instance_profile).toEqual({ arn: ref(json, "aws_iam_instance_profile", "Compute_ServerRole_InstanceProfile", "arn") });
    expect(referencedId(resourceNamed(json, "aws_iam_instance_profile", "Compute_AgentRole_InstanceProfile").role)).toBe(logicalIdOf(json, "aws_iam_role", "Compute_AgentRole"));
  });

  test("the cluster token is random, stored in its own secret, and nowhere else", () => {
    expect(resourceNamed(json, "random_password", "Compute_ClusterToken")).toMatchObject({ length: 48, special: false });
    const version = resourceNamed(json, "aws_secretsmanager_secret_version", "Compute_TokenSecretValue");
    expect(version.secret_string).toBe(ref(json, "random_password", "Compute_ClusterToken", "result"));
    expect(version.secret_id).toBe(ref(json, "aws_secretsmanager_secret", "Compute_TokenSecret", "id"));
  });
});
