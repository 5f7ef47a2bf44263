import { gzipSync } from "zlib";
import { ConfigError, resolveConfig } from "../config/resolve";
import { TerraformJson, asDelivered, localNamed, logicalIdOf, ref, referencedId, resourceNamed, resourcesOf, synthCluster } from "./helpers";

/** Inline policy statements of a node role, by policy name. */
function inlinePolicies(json: TerraformJson, role: "Server" | "Agent"): Record<string, any[]> {
  const documents = json.data?.aws_iam_policy_document ?? {};
  const policies: Record<string, any[]> = {};
  for (const [id, policy] of resourcesOf(json, "aws_iam_role_policy")) {
    if (!id.startsWith(`Compute_${role}s_Role_`)) continue;
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

  test.each(["Server", "Agent"])("%s: IMDSv2 required with one hop (no pod reaches the node role), encrypted gp3 root, tagged instances and volumes", (role) => {
    const template = resourceNamed(json, "aws_launch_template", `Compute_${role}s_LaunchTemplate`);
    // A hop limit of 1 stops IMDSv2 token responses at the host: a pod's packets take a second hop
    // (AWS EC2 user guide, "How Instance Metadata Service Version 2 works").
    expect(template.metadata_options).toEqual({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1, instance_metadata_tags: "disabled" });
    expect(template.block_device_mappings).toEqual([
      { device_name: "/dev/xvda", ebs: expect.objectContaining({ volume_type: "gp3", encrypted: "true", delete_on_termination: "true" }) },
    ]);
    expect(template.tag_specifications.map((spec: any) => spec.resource_type)).toEqual(["instance", "volume"]);
    for (const spec of template.tag_specifications) {
      expect(spec.tags).toEqual({ "kubernetes.io/cluster/k3s": "owned", Name: `k3s-${role.toLowerCase()}` });
    }
    expect(template.user_data).toBe(`\${base64gzip(local.${Object.keys((json as any).locals).find((id) => id.startsWith(`Compute_${role}s_UserData_`))})}`);
    expect(template.image_id).toMatch(/^\$\{data\.aws_ami\.Compute_Ami_[A-F0-9]+\.id\}$/);
    expect(template.vpc_security_group_ids).toEqual([ref(json, "aws_security_group", `Networking_SecurityGroups_${role}`, "id")]);
    expect(template.key_name).toBeUndefined();
  });

  test.each([
    ["pods", ["m6g.large", "t4g.large"]],
    ["cluster-autoscaler", ["m6g.large", "t4g.large"]],
    ["cpu", []],
  ] as const)("scaling mode %s: every agent type after the first must have its size at plan, which target tracking does not need", (scalingMode, checked) => {
    // cluster-autoscaler's AWS README, "Using Mixed Instances Policies and Spot Instances": one amount of RAM and one
    // number of CPU cores per group, since a new node is sized like any one of them. The plan test shows the
    // postcondition failing with EC2's figures.
    const types = Object.values(synthCluster({ agents: { scalingMode, instanceTypes: ["m7g.large", "m6g.large", "t4g.large"] } }).json.data?.aws_ec2_instance_type ?? {});
    const withCondition = types.filter((type) => type.lifecycle?.postcondition);
    expect(withCondition.map((type) => type.instance_type).sort()).toEqual(checked);
    // The first is read once, for the others to compare with (and, with "pods", for the autoscaler's node template).
    expect(types.length).toBe(checked.length === 0 ? 0 : checked.length + 1);
    for (const type of withCondition) {
      const [{ condition }] = type.lifecycle.postcondition;
      expect(condition).toMatch(/self\.default_vcpus == data\.aws_ec2_instance_type\.Compute_AgentInstanceType_\w+\.default_vcpus/);
      expect(condition).toMatch(/self\.memory_size == data\.aws_ec2_instance_type\.Compute_AgentInstanceType_\w+\.memory_size/);
    }
  });

  test.each(["pods", "cpu", "cluster-autoscaler"] as const)(
    "scaling mode %s: each node's user data fits EC2's 16 KB limit, which the uncompressed server script exceeds",
    (scalingMode) => {
      // EC2 user guide, "Work with instance user data": at most 16 KB in raw form, before base64. Terraform's
      // base64gzip is gzip then base64, so what EC2 counts is the gzip stream. Longest name, every SAN, and references
      // as long as real ones (a Secrets Manager ARN with its generated suffix, an internal load balancer's DNS name).
      const EC2_USER_DATA_LIMIT = 16 * 1024;
      const input = { clusterName: "k3s-abcdefghijklmnop", api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"], domain: "a-rather-long-subdomain.example.com" }, agents: { scalingMode } };
      const synthesised = synthCluster(input).json;
      const realLength = (reference: string) =>
        reference.endsWith(".arn")
          ? `arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:k3s-abcdefghijklmnop/automation-access-${"0".repeat(26)}-AbCdEf`
          : `internal-k3s-abcdefghijklmnop-api-0123456789.us-gov-west-1.elb.amazonaws.com`;
      for (const role of ["Server", "Agent"]) {
        const delivered = asDelivered(localNamed(synthesised, `Compute_${role}s_UserData`), realLength);
        expect(gzipSync(delivered).length).toBeLessThan(EC2_USER_DATA_LIMIT);
        if (role === "Server") expect(Buffer.byteLength(delivered)).toBeGreaterThan(EC2_USER_DATA_LIMIT);
      }
    },
  );

  test("the AMI is a named Amazon Linux 2023 release owned by Amazon, for the instance types' architecture", () => {
    const ami = (input = {}) => Object.values(synthCluster(input).json.data!.aws_ami)[0];
    // AMI names follow al2023-ami-<release>-kernel-6.1-<arch> (AL2023 user guide, "Naming and versioning").
    expect(ami()).toMatchObject({
      owners: ["amazon"],
      filter: [
        { name: "name", values: ["al2023-ami-2023.9.20251105.0-kernel-6.1-arm64"] },
        { name: "architecture", values: ["arm64"] },
      ],
    });
    expect(ami({ servers: { instanceType: "m7i.large" }, agents: { instanceTypes: ["m7i.large", "c7i.large"] } }).filter[0].values).toEqual([
      "al2023-ami-2023.9.20251105.0-kernel-6.1-x86_64",
    ]);
    expect(json.data?.aws_ssm_parameter).toBeUndefined();
  });

  test("tags live on the groups (propagated at launch), so a tag change does not roll the nodes", () => {
    const tagged = synthCluster({ tags: { CostCentre: "42" } }).json;
    for (const role of ["Server", "Agent"]) {
      expect(resourceNamed(tagged, "aws_launch_template", `Compute_${role}s_LaunchTemplate`)).toEqual(resourceNamed(json, "aws_launch_template", `Compute_${role}s_LaunchTemplate`));
      expect(resourceNamed(tagged, "aws_autoscaling_group", `Compute_${role}s_Group`).tag).toContainEqual({ key: "CostCentre", value: "42", propagate_at_launch: true });
    }
  });

  test("a key comment that looks like a Terraform expression stays literal text", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx ${random_password.Compute_ClusterToken.result}";
    const { synthesized } = synthCluster({ sshPublicKey: key });
    const pair = resourceNamed(JSON.parse(synthesized), "aws_key_pair", "Compute_KeyPair");
    // Terraform reads "$${" as a literal "${" (Terraform language docs, "Strings and Templates": escape sequences).
    expect(pair.public_key).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx $${random_password.Compute_ClusterToken.result}");
  });

  test("a configured public key becomes the nodes' key pair", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx admin@example";
    const { json: withKey } = synthCluster({ sshPublicKey: key });
    expect(resourceNamed(withKey, "aws_key_pair", "Compute_KeyPair").public_key).toBe(key);
    expect(resourceNamed(withKey, "aws_launch_template", "Compute_Agents_LaunchTemplate").key_name).toBe(ref(withKey, "aws_key_pair", "Compute_KeyPair", "key_name"));
  });
});

describe("server group", () => {
  test("three servers over the private subnets, in the API target group, with ELB health checks and rolling refresh", () => {
    const { json } = synthCluster();
    const group = resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group");
    expect(group).toMatchObject({ min_size: 3, max_size: 3, desired_capacity: 3, health_check_type: "ELB", health_check_grace_period: 300 });
    expect(group.vpc_zone_identifier).toEqual(["A", "B", "C"].map((zone) => ref(json, "aws_subnet", `Networking_PrivateSubnet${zone}`, "id")));
    expect(group.target_group_arns).toEqual([ref(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup", "arn")]);
    expect(group.launch_template).toEqual({
      id: ref(json, "aws_launch_template", "Compute_Servers_LaunchTemplate", "id"),
      version: ref(json, "aws_launch_template", "Compute_Servers_LaunchTemplate", "latest_version"),
    });
    // 66 % of three keeps two healthy: one server at a time.
    expect(group.instance_refresh).toEqual({ strategy: "Rolling", preferences: { min_healthy_percentage: 66, instance_warmup: "300", skip_matching: true } });
  });

  test("dev runs one server", () => {
    const group = resourceNamed(synthCluster({ environment: "dev" }).json, "aws_autoscaling_group", "Compute_Servers_Group");
    expect(group).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
    expect(group.instance_refresh.preferences.min_healthy_percentage).toBe(0);
  });

  test("with a public API the servers also join its target group", () => {
    const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] } });
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").target_group_arns).toEqual([
      ref(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup", "arn"),
      ref(json, "aws_lb_target_group", "LoadBalancing_PublicApiTargetGroup", "arn"),
    ]);
  });
});

describe("agent group", () => {
  const { json } = synthCluster();
  const group = resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group");

  test("mixed instances: on-demand base and 30 % above it, the rest price-capacity-optimized spot", () => {
    expect(group.mixed_instances_policy.instances_distribution).toEqual({
      on_demand_base_capacity: 1,
      on_demand_percentage_above_base_capacity: 30,
      on_demand_allocation_strategy: "prioritized",
      spot_allocation_strategy: "price-capacity-optimized",
    });
    expect(group.mixed_instances_policy.launch_template.override).toEqual([{ instance_type: "t4g.large" }, { instance_type: "m7g.large" }, { instance_type: "m6g.large" }]);
    expect(group.mixed_instances_policy.launch_template.launch_template_specification).toEqual({
      launch_template_id: ref(json, "aws_launch_template", "Compute_Agents_LaunchTemplate", "id"),
      version: ref(json, "aws_launch_template", "Compute_Agents_LaunchTemplate", "latest_version"),
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
    expect(hook.autoscaling_group_name).toBe(ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name"));
  });

  test("scaling mode cpu gives a target-tracking policy at 80 %, pods gives none", () => {
    expect(resourcesOf(json, "aws_autoscaling_policy")).toEqual([]);
    const cpu = synthCluster({ agents: { scalingMode: "cpu" } }).json;
    const policy = resourceNamed(cpu, "aws_autoscaling_policy", "Compute_AgentCpuTargetTracking");
    expect(policy).toMatchObject({
      name: "k3s-agents-cpu-80",
      policy_type: "TargetTrackingScaling",
      target_tracking_configuration: { predefined_metric_specification: { predefined_metric_type: "ASGAverageCPUUtilization" }, target_value: 80 },
    });
    expect(policy.autoscaling_group_name).toBe(ref(cpu, "aws_autoscaling_group", "Compute_Agents_Group", "name"));
  });

  test("config refuses two scalers on one group", () => {
    expect(() => resolveConfig({ agents: { scalingMode: "both" } })).toThrow(ConfigError);
    expect(() => resolveConfig({ agents: { scalingMode: ["pods", "cpu"] } })).toThrow(
      'agents.scalingMode: must be "pods", "cpu" or "cluster-autoscaler", one mode per group: any two of a CPU target-tracking policy, the pod-driven autoscaler and cluster-autoscaler would fight over desired capacity (cluster-autoscaler FAQ)',
    );
  });
});

describe("IAM", () => {
  const { json } = synthCluster();
  const server = inlinePolicies(json, "Server");
  const agent = inlinePolicies(json, "Agent");
  const datastoreSecret = ref(json, "aws_secretsmanager_secret", "Database_Secret", "arn");
  const tokenSecret = ref(json, "aws_secretsmanager_secret", "Compute_TokenSecret", "arn");
  const agentTokenSecret = ref(json, "aws_secretsmanager_secret", "Compute_AgentTokenSecret", "arn");
  const everyStatement = [...Object.values(server), ...Object.values(agent)].flat();
  const computePartition = Object.keys(json.data!.aws_partition).find((id) => id.startsWith("Compute_"));

  test("the cloud controller manages only what carries the cluster's tag, and touches no routes or volumes", () => {
    const statements = server["cloud-controller"];
    const conditionsOf = (statement: any) => (statement.condition ?? []).map((c: any) => `${c.test} ${c.variable}=${c.values.join(",")}`);
    // Only describe calls stay unconditional: kops (pkg/model/iam/iam_builder.go, AddCCMPermissions) scopes the same
    // controller's changes with the cluster tag and its creations with the request tag.
    for (const statement of statements) {
      const mutating = statement.actions.filter((action: string) => !/:(Describe|Get|List)/.test(action));
      if (mutating.length === 0) continue;
      const scopedByResource = statement.resources.every((resource: string) => resource !== "*");
      const scopedByTag = conditionsOf(statement).some((c: string) => c.includes("/kubernetes.io/cluster/k3s=owned"));
      const scopedByService = conditionsOf(statement).includes("StringEquals iam:AWSServiceName=elasticloadbalancing.amazonaws.com");
      expect({ sid: statement.sid, scoped: scopedByResource || scopedByTag || scopedByService }).toEqual({ sid: statement.sid, scoped: true });
    }
    const actions = actionsOf(statements);
    // --configure-cloud-routes=false in the chart values: routes are flannel's; EBS volumes are a CSI driver's.
    expect(actions.filter((action) => /Route$|Volume$/.test(action) && !action.includes("Describe"))).toEqual([]);
    expect(conditionsOf(statements.find((s: any) => s.sid === "ChangeClusterResources"))).toEqual(["StringEquals aws:ResourceTag/kubernetes.io/cluster/k3s=owned"]);
    expect(conditionsOf(statements.find((s: any) => s.sid === "CreateTaggedForCluster"))).toEqual(["StringEquals aws:RequestTag/kubernetes.io/cluster/k3s=owned"]);
    // EC2 DeleteTags without tags "deletes all user-defined tags" (EC2 API reference): the request must name its tags,
    // and never the cluster's, so the controller cannot take a security group out of the cluster.
    expect(conditionsOf(statements.find((s: any) => s.sid === "RetagClusterSecurityGroups"))).toEqual([
      "StringEquals aws:ResourceTag/kubernetes.io/cluster/k3s=owned",
      "Null aws:RequestTag/kubernetes.io/cluster/k3s=true",
      "Null aws:TagKeys=false",
      "ForAllValues:StringNotEquals aws:TagKeys=kubernetes.io/cluster/k3s",
    ]);
    expect(statements.find((s: any) => s.sid === "CreateSecurityGroupInClusterVpc").resources).toEqual([`arn:\${data.aws_partition.${computePartition}.partition}:ec2:*:*:vpc/${ref(json, "aws_vpc", "Networking_Vpc", "id")}`]);
    expect(actionsOf(agent["cloud-node"])).toEqual(["ec2:DescribeInstances", "ec2:DescribeRegions"]);
    expect(Object.values(agent).flatMap(actionsOf)).not.toContain("elasticloadbalancing:CreateLoadBalancer");
  });

  test("the cloud controller may make every EC2 and ELB call its load balancer code makes, and no route call", () => {
    // The calls on c.ec2, c.elb and c.elbv2 in kubernetes/cloud-provider-aws v1.34.0 pkg/providers/v1 (tests and
    // fakes aside), less the route controller's (--configure-cloud-routes=false) and the Fargate variant's.
    const calls = [
      "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:DeleteSecurityGroup", "ec2:DeleteTags",
      "ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTopology", "ec2:DescribeInstances", "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:RevokeSecurityGroupIngress",
      ...["AddTags", "ApplySecurityGroupsToLoadBalancer", "AttachLoadBalancerToSubnets", "ConfigureHealthCheck", "CreateListener",
        "CreateLoadBalancer", "CreateLoadBalancerListeners", "CreateLoadBalancerPolicy", "CreateTargetGroup", "DeleteListener",
        "DeleteLoadBalancer", "DeleteLoadBalancerListeners", "DeleteTargetGroup", "DeregisterInstancesFromLoadBalancer",
        "DeregisterTargets", "DescribeListeners", "DescribeLoadBalancerAttributes", "DescribeLoadBalancerPolicies",
        "DescribeLoadBalancers", "DescribeTargetGroupAttributes", "DescribeTargetGroups", "DescribeTargetHealth",
        "DetachLoadBalancerFromSubnets", "ModifyListener", "ModifyLoadBalancerAttributes", "ModifyTargetGroup",
        "ModifyTargetGroupAttributes", "RegisterInstancesWithLoadBalancer", "RegisterTargets", "SetLoadBalancerPoliciesForBackendServer",
        "SetLoadBalancerPoliciesOfListener"].map((call) => `elasticloadbalancing:${call}`),
    ];
    const actions = actionsOf(server["cloud-controller"]);
    expect(calls.filter((call) => !actions.includes(call))).toEqual([]);
    // Only the route controller calls ModifyInstanceAttribute (source/dest check, pkg/providers/v1/aws_routes.go); it
    // would let a server's role swap any node's security groups.
    expect(actions).not.toContain("ec2:ModifyInstanceAttribute");
  });

  test("the node security groups and instances the controller changes carry the tag it is scoped to", () => {
    for (const role of ["Server", "Agent"]) {
      expect(resourceNamed(json, "aws_security_group", `Networking_SecurityGroups_${role}`).tags).toMatchObject({ "kubernetes.io/cluster/k3s": "owned" });
      expect(resourceNamed(json, "aws_launch_template", `Compute_${role}s_LaunchTemplate`).tag_specifications[0].tags).toMatchObject({ "kubernetes.io/cluster/k3s": "owned" });
    }
  });

  test("agents read only the agent token; servers read both; only servers read the datastore secret and publish access secrets", () => {
    expect(server["cluster-secrets"]).toContainEqual(expect.objectContaining({ actions: ["secretsmanager:GetSecretValue"], resources: [tokenSecret, agentTokenSecret] }));
    expect(agent["cluster-secrets"]).toEqual([expect.objectContaining({ actions: ["secretsmanager:GetSecretValue"], resources: [agentTokenSecret] })]);
    expect(JSON.stringify(agent)).not.toContain(tokenSecret);
    expect(server.datastore).toEqual([expect.objectContaining({ resources: [datastoreSecret] })]);
    expect(JSON.stringify(agent)).not.toContain(datastoreSecret);
    expect(server["cluster-secrets"]).toContainEqual(
      expect.objectContaining({
        actions: ["secretsmanager:PutSecretValue"],
        resources: [ref(json, "aws_secretsmanager_secret", "Compute_KubeconfigSecret", "arn"), ref(json, "aws_secretsmanager_secret", "Compute_AutomationAccessSecret", "arn")],
      }),
    );
  });

  test("each role may end launch holds and mark instances unhealthy in its own group only", () => {
    const account = `\${data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("Compute_"))}.account_id}`;
    for (const [policies, group] of [
      [server, "k3s-servers"],
      [agent, "k3s-agents"],
    ] as const) {
      // SetInstanceHealth takes the group as its resource (Service Authorization Reference, Amazon EC2 Auto Scaling).
      expect(policies["node-health"]).toEqual([
        {
          sid: "ReportOwnHealth",
          actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"],
          resources: [`arn:\${data.aws_partition.${computePartition}.partition}:autoscaling:eu-west-1:${account}:autoScalingGroup:*:autoScalingGroupName/${group}`],
        },
      ]);
    }
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").name).toBe("k3s-servers");
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").name).toBe("k3s-agents");
  });

  test("both get Session Manager's own calls, not AmazonSSMManagedInstanceCore's reads of every SSM parameter; the EFS CSI permissions, no ECR grant, no wildcard action", () => {
    expect(resourcesOf(json, "aws_iam_role_policy_attachment").filter(([id]) => id.startsWith("Compute_"))).toEqual([]);
    for (const role of [server, agent]) {
      // The actions of AWS's managed policy for Session Manager alone (AWSCloud9SSMInstanceProfile).
      expect(role["session-manager"]).toEqual([
        expect.objectContaining({
          actions: ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
          resources: ["*"],
        }),
      ]);
    }
    expect(everyStatement.flatMap((statement) => statement.actions).filter((action: string) => /^ssm:Get|^ssm:Describe|^ec2messages:|^ecr:/.test(action))).toEqual([]);
    expect(actionsOf(server["efs-csi"])).toContain("elasticfilesystem:CreateAccessPoint");
    expect(actionsOf(agent["efs-csi"])).toContain("elasticfilesystem:ClientMount");
    expect(everyStatement.flatMap((statement) => statement.actions).filter((action: string) => action.includes("*"))).toEqual([]);
  });


  test("role and instance profile names carry the region, so one account can hold the cluster in two regions", () => {
    const names = (region: string) =>
      ["aws_iam_role", "aws_iam_instance_profile"].flatMap((type) => resourcesOf(synthCluster({ region }).json, type).filter(([id]) => id.startsWith("Compute_")).map(([, r]) => r.name));
    expect(names("eu-west-1").sort()).toEqual(["k3s-eu-west-1-agent", "k3s-eu-west-1-agent", "k3s-eu-west-1-server", "k3s-eu-west-1-server"]);
    expect(names("us-east-2").filter((name) => names("eu-west-1").includes(name))).toEqual([]);
  });

  test("instance profiles wrap the roles the launch templates use", () => {
    expect(resourceNamed(json, "aws_launch_template", "Compute_Servers_LaunchTemplate").iam_instance_profile).toEqual({ arn: ref(json, "aws_iam_instance_profile", "Compute_Servers_Role_InstanceProfile", "arn") });
    expect(referencedId(resourceNamed(json, "aws_iam_instance_profile", "Compute_Agents_Role_InstanceProfile").role)).toBe(logicalIdOf(json, "aws_iam_role", "Compute_Agents_Role"));
  });

  test("server and agent tokens are random, distinct, and each stored in its own secret", () => {
    for (const [password, secret] of [
      ["Compute_ClusterToken", "Compute_TokenSecret"],
      ["Compute_AgentToken", "Compute_AgentTokenSecret"],
    ]) {
      expect(resourceNamed(json, "random_password", password)).toMatchObject({ length: 48, special: false });
      const version = resourceNamed(json, "aws_secretsmanager_secret_version", `${secret}Value`);
      expect(version.secret_string).toBe(ref(json, "random_password", password, "result"));
      expect(version.secret_id).toBe(ref(json, "aws_secretsmanager_secret", secret, "id"));
    }
  });
});

describe("launch hold", () => {
  const { json } = synthCluster();

  test.each(["Server", "Agent"])("%s: a launch hook holds new nodes out of service until their bootstrap ends it, abandoning them after an hour", (role) => {
    const group = resourceNamed(json, "aws_autoscaling_group", `Compute_${role}s_Group`);
    // initial_lifecycle_hook exists before the group's first launch (AWS provider docs, aws_autoscaling_group).
    expect(group.initial_lifecycle_hook).toEqual([
      { name: "bootstrap", lifecycle_transition: "autoscaling:EC2_INSTANCE_LAUNCHING", heartbeat_timeout: 3600, default_result: "ABANDON" },
    ]);
    expect(group.wait_for_capacity_timeout).toBe("0");
    // The script names the same group and hook when it completes the action.
    const script = localNamed(json, `Compute_${role}s_UserData`);
    expect(script).toContain(`AUTOSCALING_GROUP_NAME="${group.name}"`);
    expect(script).toContain('BOOTSTRAP_HOOK_NAME="bootstrap"');
  });
});

describe("boot order", () => {
  const { json } = synthCluster();
  const dependsOn = (group: string) => resourceNamed(json, "aws_autoscaling_group", group).depends_on as string[];
  const id = (type: string, prefix: string) => `${type}.${logicalIdOf(json, type, prefix)}`;

  test("servers start only after the datastore, its secret value, both tokens, egress routes and their role's policies exist", () => {
    const expected = [
      id("aws_db_instance", "Database_Instance"),
      id("aws_secretsmanager_secret_version", "Database_SecretValue"),
      id("aws_secretsmanager_secret_version", "Compute_TokenSecretValue"),
      id("aws_secretsmanager_secret_version", "Compute_AgentTokenSecretValue"),
      ...["A", "B", "C"].flatMap((zone) => [id("aws_route", `Networking_PrivateDefaultRoute${zone}`), id("aws_route_table_association", `Networking_PrivateRouteTableAssociation${zone}`)]),
      ...resourcesOf(json, "aws_iam_role_policy").filter(([rid]) => rid.startsWith("Compute_Servers_Role_")).map(([rid]) => `aws_iam_role_policy.${rid}`),
    ];
    expect(dependsOn("Compute_Servers_Group")).toEqual(expect.arrayContaining(expected));
  });

  test("agents start only after the agent token, egress routes and their role's policies exist", () => {
    const deps = dependsOn("Compute_Agents_Group");
    expect(deps).toEqual(expect.arrayContaining([id("aws_secretsmanager_secret_version", "Compute_AgentTokenSecretValue"), id("aws_route", "Networking_PrivateDefaultRouteA")]));
    expect(deps.filter((dep) => dep.includes("Servers_Role") || dep.includes("Database_"))).toEqual([]);
    // Agents join through the servers; launched first, they would only wait.
    expect(deps).toContain(id("aws_autoscaling_group", "Compute_Servers_Group"));
  });
});

// kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md (chart 9.59.0's tree) is the source of every
// tag and permission expected here.
describe("scaling mode cluster-autoscaler", () => {
  const { json } = synthCluster({ agents: { scalingMode: "cluster-autoscaler" } });
  const tagsOf = (group: string) => resourceNamed(json, "aws_autoscaling_group", group).tag as { key: string; value: string; propagate_at_launch: boolean }[];
  const autoscalerTags = (group: string) => tagsOf(group).filter((tag) => tag.key.startsWith("k8s.io/cluster-autoscaler/"));
  const server = inlinePolicies(json, "Server");
  const account = `\${data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("Compute_"))}.account_id}`;
  const partition = `\${data.aws_partition.${Object.keys(json.data!.aws_partition).find((id) => id.startsWith("Compute_"))}.partition}`;

  test("only the agents' group carries the auto-discovery tags, on the group and not its instances", () => {
    // "Auto-Discovery Setup": --node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/<cluster-name>;
    // only the keys are matched.
    const keys = autoscalerTags("Compute_Agents_Group").map((tag) => tag.key);
    expect(keys).toEqual(expect.arrayContaining(["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/k3s"]));
    expect(autoscalerTags("Compute_Agents_Group").every((tag) => tag.propagate_at_launch === false)).toBe(true);
    expect(autoscalerTags("Compute_Servers_Group")).toEqual([]);
  });

  test("node template hints describe what every new agent gets: its architecture, OS and disk, no capacity type and no taint", () => {
    // "k8s.io/cluster-autoscaler/node-template/label/<label>", ".../taint/<taint>" and ".../resources/<resource>", read
    // when the group has no node to copy (scale from zero). The agents' 50 GiB root volume holds the kubelet's directory;
    // the hint is allocatable (cluster-autoscaler aws_manager.go sets allocatable to the tag's value), so it leaves out
    // k3s's 5 % nodefs eviction threshold and the file system's overhead: 47 GiB, never the whole disk.
    const hints = Object.fromEntries(autoscalerTags("Compute_Agents_Group").filter((tag) => tag.key.includes("/node-template/")).map((tag) => [tag.key, tag.value]));
    expect(hints).toEqual({
      "k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/arch": "arm64",
      "k8s.io/cluster-autoscaler/node-template/label/kubernetes.io/os": "linux",
      "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage": "48128Mi",
    });
    expect(resourceNamed(json, "aws_launch_template", "Compute_Agents_LaunchTemplate").block_device_mappings[0].ebs.volume_size).toBe(50);
  });

  test("an x86_64 cluster's agents are amd64 to Kubernetes", () => {
    // The kubelet's kubernetes.io/arch is Go's GOARCH: amd64 for x86_64 instances.
    const x86 = synthCluster({ servers: { instanceType: "m7i.large" }, agents: { instanceTypes: ["m7i.large"], scalingMode: "cluster-autoscaler" } }).json;
    const arch = resourceNamed(x86, "aws_autoscaling_group", "Compute_Agents_Group").tag.find((tag: any) => tag.key.endsWith("/label/kubernetes.io/arch"));
    expect(arch.value).toBe("amd64");
  });

  test("the servers' role may describe groups and instance types, and scale only the agents' group while it carries the cluster's tag", () => {
    // "IAM Policy": restrict SetDesiredCapacity and TerminateInstanceInAutoScalingGroup by group ARN or by tag.
    expect(server["cluster-autoscaler"]).toEqual([
      {
        sid: "DiscoverGroupsAndInstanceTypes",
        actions: ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities", "ec2:DescribeInstanceTypes"],
        resources: ["*"],
      },
      {
        sid: "ScaleAgents",
        actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        resources: [`arn:${partition}:autoscaling:eu-west-1:${account}:autoScalingGroup:*:autoScalingGroupName/k3s-agents`],
        condition: [{ test: "StringEquals", variable: "aws:ResourceTag/k8s.io/cluster-autoscaler/k3s", values: ["owned"] }],
      },
    ]);
    expect(tagsOf("Compute_Agents_Group")).toContainEqual({ key: "k8s.io/cluster-autoscaler/k3s", value: "owned", propagate_at_launch: false });
    expect(resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").name).toBe("k3s-agents");
  });

  test("the permissions are the servers' alone, and only in this mode", () => {
    const scaling = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"];
    expect(Object.values(inlinePolicies(json, "Agent")).flat().flatMap((statement) => statement.actions).filter((action: string) => scaling.includes(action))).toEqual([]);
    for (const scalingMode of ["pods", "cpu"] as const) {
      const other = synthCluster({ agents: { scalingMode } }).json;
      expect(Object.keys(inlinePolicies(other, "Server"))).not.toContain("cluster-autoscaler");
      expect(resourceNamed(other, "aws_autoscaling_group", "Compute_Agents_Group").tag.filter((tag: any) => tag.key.startsWith("k8s.io/cluster-autoscaler/"))).toEqual([]);
    }
  });

  test("no target-tracking policy competes with it", () => {
    expect(resourcesOf(json, "aws_autoscaling_policy")).toEqual([]);
  });
});
