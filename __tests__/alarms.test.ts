import { Testing } from "cdktf";
import { Monitoring, MonitoringProps } from "../modules/monitoring";
import { ref, resourceNamed, resourcesOf, synthCluster, TerraformJson } from "./helpers";

/** The alarms Monitoring created, by construct ID (without the "Monitoring_" prefix and the hash). */
function monitoringAlarms(json: TerraformJson): Record<string, any> {
  return Object.fromEntries(
    resourcesOf(json, "aws_cloudwatch_metric_alarm")
      .filter(([id]) => id.startsWith("Monitoring_"))
      .map(([id, alarm]) => [id.replace(/^Monitoring_/, "").replace(/Alarm_[A-F0-9]{8}$/, ""), alarm]),
  );
}


describe("the cluster's alarms (default production cluster)", () => {
  const { json } = synthCluster();
  const alarms = monitoringAlarms(json);
  const topic = ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn");

  test("these alarms exist, besides automation's errors, throttles and dead letters", () => {
    expect(Object.keys(alarms).sort()).toEqual(["AgentsAtMax", "ApiHealthyHosts", "DatabaseConnections", "DatabaseCpu", "DatabaseFreeStorage", "FileSystemIoLimit", "FileSystemThroughput"]);
    const all = resourcesOf(json, "aws_cloudwatch_metric_alarm").map(([, alarm]) => `${alarm.namespace} ${alarm.metric_name}`);
    // The autoscaler's and drainer's Errors and Throttles and the drain DLQ depth already existed (modules/automation).
    expect(all.filter((metric) => metric.startsWith("AWS/Lambda") || metric.startsWith("AWS/SQS")).sort()).toEqual([
      "AWS/Lambda Errors",
      "AWS/Lambda Errors",
      "AWS/Lambda Throttles",
      "AWS/Lambda Throttles",
      "AWS/SQS ApproximateNumberOfMessagesVisible",
    ]);
  });

  test("every alarm notifies the automation topic when it fires and when it clears", () => {
    for (const alarm of resourcesOf(json, "aws_cloudwatch_metric_alarm").map(([, body]) => body)) {
      expect(alarm.alarm_actions).toEqual([topic]);
      expect(alarm.ok_actions).toEqual([topic]);
    }
  });

  test("the topic and its key admit CloudWatch for exactly the cluster's alarms, the new ones included", () => {
    const allAlarms = resourcesOf(json, "aws_cloudwatch_metric_alarm").map(([id]) => `\${aws_cloudwatch_metric_alarm.${id}.arn}`).sort();
    expect(allAlarms).toHaveLength(13);
    for (const prefix of ["Automation_NotificationTopicPolicyDocument", "Automation_NotificationKeyPolicyDocument"]) {
      const document = Object.entries(json.data!.aws_iam_policy_document).find(([id]) => id.startsWith(`${prefix}_`))![1];
      const cloudWatch = document.statement.find((statement: any) => statement.principals?.[0].identifiers.includes("cloudwatch.amazonaws.com"));
      const sourceArns = cloudWatch.condition.find((condition: any) => condition.variable === "aws:SourceArn");
      expect({ test: sourceArns.test, values: [...sourceArns.values].sort() }).toEqual({ test: "ArnEquals", values: allAlarms });
    }
  });

  test("the API target group alarms below the server count, per target group and load balancer", () => {
    // AWS/NetworkELB HealthyHostCount, dimensions TargetGroup and LoadBalancer (ELB user guide, NLB CloudWatch metrics).
    expect(alarms.ApiHealthyHosts).toMatchObject({
      namespace: "AWS/NetworkELB",
      metric_name: "HealthyHostCount",
      dimensions: {
        TargetGroup: ref(json, "aws_lb_target_group", "LoadBalancing_ApiTargetGroup", "arn_suffix"),
        LoadBalancer: ref(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "arn_suffix"),
      },
      statistic: "Minimum",
      comparison_operator: "LessThanThreshold",
      // Highly available by default: three servers.
      threshold: 3,
      period: 60,
      evaluation_periods: 15,
      treat_missing_data: "breaching",
    });
  });

  test("datastore CPU above 80 % for three five-minute periods", () => {
    expect(alarms.DatabaseCpu).toMatchObject({
      namespace: "AWS/RDS",
      metric_name: "CPUUtilization",
      dimensions: { DBInstanceIdentifier: ref(json, "aws_db_instance", "Database_Instance", "identifier") },
      statistic: "Average",
      comparison_operator: "GreaterThanThreshold",
      threshold: 80,
      period: 300,
      evaluation_periods: 3,
      treat_missing_data: "missing",
    });
  });

  test("datastore free storage below 10 % of the 20 GiB allocated, in bytes", () => {
    expect(alarms.DatabaseFreeStorage).toMatchObject({
      namespace: "AWS/RDS",
      metric_name: "FreeStorageSpace",
      dimensions: { DBInstanceIdentifier: ref(json, "aws_db_instance", "Database_Instance", "identifier") },
      statistic: "Minimum",
      comparison_operator: "LessThanThreshold",
      threshold: 2147483648, // 2 GiB
      treat_missing_data: "missing",
    });
  });

  test("datastore connections at 60 % of a db.t4g.small's max_connections", () => {
    // LEAST({DBInstanceClassMemory/9531392},5000) with 2 GiB: 2147483648 / 9531392 = 225.3 -> 225; 60 % -> 135.
    expect(alarms.DatabaseConnections).toMatchObject({
      namespace: "AWS/RDS",
      metric_name: "DatabaseConnections",
      dimensions: { DBInstanceIdentifier: ref(json, "aws_db_instance", "Database_Instance", "identifier") },
      statistic: "Maximum",
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 135,
      treat_missing_data: "missing",
    });
  });

  test("the elastic, General Purpose file system alarms on its I/O limit and has no burst credits to alarm on", () => {
    expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem")).toMatchObject({ throughput_mode: "elastic", performance_mode: "generalPurpose" });
    expect(alarms.FileSystemIoLimit).toMatchObject({
      namespace: "AWS/EFS",
      metric_name: "PercentIOLimit",
      dimensions: { FileSystemId: ref(json, "aws_efs_file_system", "Storage_FileSystem", "id") },
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 90,
      treat_missing_data: "notBreaching",
    });
    expect(alarms.FileSystemBurstCredits).toBeUndefined();
  });

  test("the file system's throughput against its permitted throughput, in elastic mode too (EFS user guide, metric math)", () => {
    const alarm = alarms.FileSystemThroughput;
    expect(alarm).toMatchObject({ comparison_operator: "GreaterThanOrEqualToThreshold", threshold: 80, evaluation_periods: 15, treat_missing_data: "notBreaching" });
    expect(alarm.metric_name).toBeUndefined();
    const queries: any[] = alarm.metric_query;
    const fileSystemId = ref(json, "aws_efs_file_system", "Storage_FileSystem", "id");
    const metrics = queries.filter((query) => query.metric);
    expect(metrics.map(({ metric }) => [metric.metric_name, metric.stat, metric.period, metric.dimensions])).toEqual([
      ["MeteredIOBytes", "Sum", 60, { FileSystemId: fileSystemId }],
      ["PermittedThroughput", "Sum", 60, { FileSystemId: fileSystemId }],
    ]);
    // The one returned series, evaluated: a minute of 90 MiB metered at 1.5 MiB/s permitted is 100 %; 48 MiB is 53.3 %.
    const [expression] = queries.filter((query) => query.return_data);
    expect(queries.filter((query) => query.return_data)).toHaveLength(1);
    const evaluate = (meteredBytes: number, permittedBytesPerSecond: number) => {
      const [metered, permitted] = metrics.map((query) => query.id);
      const code = expression.expression.replace(new RegExp(`PERIOD\\(${metered}\\)`, "g"), "60").replace(new RegExp(`\\b${metered}\\b`, "g"), String(meteredBytes)).replace(new RegExp(`\\b${permitted}\\b`, "g"), String(permittedBytesPerSecond));
      expect(code).toMatch(/^[0-9.()+*/\s-]+$/);
      return Function(`return ${code}`)() as number;
    };
    expect(evaluate(90 * 1048576, 1.5 * 1048576)).toBeCloseTo(100);
    expect(evaluate(48 * 1048576, 1.5 * 1048576)).toBeCloseTo(53.33, 1);
  });

  test("agents in service at the group's maximum of 10 for 30 one-minute periods, from metrics the group publishes", () => {
    expect(alarms.AgentsAtMax).toMatchObject({
      namespace: "AWS/AutoScaling",
      metric_name: "GroupInServiceInstances",
      dimensions: { AutoScalingGroupName: ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name") },
      statistic: "Minimum",
      comparison_operator: "GreaterThanOrEqualToThreshold",
      threshold: 10,
      period: 60,
      evaluation_periods: 30,
      treat_missing_data: "notBreaching",
    });
    // Group metrics exist only once collection is enabled on the group (EnableMetricsCollection, granularity 1Minute).
    const agents = resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group");
    expect(agents.metrics_granularity).toBe("1Minute");
    expect(agents.enabled_metrics).toEqual(expect.arrayContaining(["GroupInServiceInstances", "GroupMaxSize", "GroupDesiredCapacity"]));
  });
});

describe("alarm thresholds follow the config", () => {
  test("a public API adds an alarm on its own target group; five servers raise the threshold to 5", () => {
    const { json } = synthCluster({ servers: { count: 5 }, api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] } });
    const alarms = monitoringAlarms(json);
    expect(alarms.ApiHealthyHosts.threshold).toBe(5);
    expect(alarms.ApiHealthyHosts.treat_missing_data).toBe("breaching");
    expect(alarms.PublicApiHealthyHosts).toMatchObject({
      alarm_name: "k3s-pubapi-healthy-hosts",
      threshold: 5,
      // Idle when nobody uses kubectl, and ELB reports nothing without traffic.
      treat_missing_data: "missing",
      dimensions: {
        TargetGroup: ref(json, "aws_lb_target_group", "LoadBalancing_PublicApiTargetGroup", "arn_suffix"),
        LoadBalancer: ref(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "arn_suffix"),
      },
    });
  });

  test("one dev server: the threshold is 1", () => {
    expect(monitoringAlarms(synthCluster({ environment: "dev" }).json).ApiHealthyHosts.threshold).toBe(1);
  });

  test("CPU, free storage and agent window settings reach the thresholds", () => {
    const alarms = monitoringAlarms(
      synthCluster({
        database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 200 },
        agents: { maxSize: 7, desiredCapacity: 2 },
        monitoring: { databaseCpuPercent: 65, databaseFreeStoragePercent: 15, agentsAtMaxMinutes: 45 },
      }).json,
    );
    expect(alarms.DatabaseCpu.threshold).toBe(65);
    // 15 % of 100 GiB = 15 GiB = 16106127360 bytes.
    expect(alarms.DatabaseFreeStorage.threshold).toBe(16106127360);
    expect(alarms.AgentsAtMax).toMatchObject({ threshold: 7, evaluation_periods: 45 });
  });

  test.each([
    // 8 GiB: 8589934592 / 9531392 = 901.2 -> 901; 60 % = 540.6 -> 540.
    ["db.m7g.large", {}, 540],
    // 128 GiB: 14419 by the formula, capped at 5000; 60 % -> 3000.
    ["db.r6g.4xlarge", {}, 3000],
    // 4 GiB: 450 (4294967296 / 9531392 = 450.6); 80 % -> 360.
    ["db.t4g.medium", { databaseConnectionsPercent: 80 }, 360],
    // r family from r5 on: 8 GiB per vCPU; xlarge is 4 vCPUs, 32 GiB: 3604.9 -> 3604; 60 % = 2162.4 -> 2162.
    ["db.r6gd.xlarge", {}, 2162],
    // x2g: 16 GiB per vCPU; large is 2 vCPUs, 32 GiB as above.
    ["db.x2g.large", {}, 2162],
    // A class no rule knows, with max_connections given: 80 % of 500.
    ["db.x2iedn.xlarge", { databaseMaxConnections: 500, databaseConnectionsPercent: 80 }, 400],
  ])("connections on %s with %j alarm at %d", (instanceClass, monitoring, threshold) => {
    expect(monitoringAlarms(synthCluster({ database: { instanceClass }, monitoring }).json).DatabaseConnections.threshold).toBe(threshold);
  });

  test("an instance class of unknown memory needs max_connections, unless alarms are off", () => {
    expect(() => synthCluster({ database: { instanceClass: "db.x2iedn.xlarge" } })).toThrow(
      'monitoring.databaseMaxConnections: is required with monitoring.alarms when database.instanceClass ("db.x2iedn.xlarge") has no known memory size (config/rds-max-connections.ts knows t3, t4g, m4 and later, r5 and later, x2g); set it to the instance\'s max_connections (SHOW max_connections)',
    );
    // r4's large has 15.25 GiB, not 16: the per-vCPU rule leaves it out rather than guess.
    expect(() => synthCluster({ database: { instanceClass: "db.r4.large" } })).toThrow("monitoring.databaseMaxConnections: is required");
    expect(() => synthCluster({ database: { instanceClass: "db.x2iedn.xlarge" }, monitoring: { alarms: false } })).not.toThrow();
  });

  test("a group whose maximum is 0 has no at-max alarm", () => {
    const alarms = monitoringAlarms(synthCluster({ agents: { minSize: 0, maxSize: 0, desiredCapacity: 0, onDemandBaseCapacity: 0 } }).json);
    expect(alarms.AgentsAtMax).toBeUndefined();
  });

  test("bad monitoring settings are refused", () => {
    expect(() => synthCluster({ monitoring: { databaseCpuPercent: 0 } })).toThrow("monitoring.databaseCpuPercent: must be between 1 and 100");
    expect(() => synthCluster({ monitoring: { databaseFreeStoragePercent: 51 } })).toThrow("monitoring.databaseFreeStoragePercent: must be between 1 and 50");
    expect(() => synthCluster({ monitoring: { agentsAtMaxMinutes: 1441 } })).toThrow("monitoring.agentsAtMaxMinutes: must be between 5 and 1440");
  });

  test("with alarms off only automation's own alarms remain, and the topic admits only them", () => {
    const { json } = synthCluster({ monitoring: { alarms: false } });
    expect(monitoringAlarms(json)).toEqual({});
    expect(resourcesOf(json, "aws_cloudwatch_metric_alarm")).toHaveLength(6);
  });
});

describe("file systems in bursting mode (the construct on its own)", () => {
  const props: MonitoringProps = {
    clusterName: "k3s",
    region: "eu-west-1",
    topicArn: "arn:aws:sns:eu-west-1:111122223333:k3s-automation",
    alarms: true,
    dashboard: true,
    serverCount: 3,
    apiTargets: [],
    ingressTargets: [],
    database: { identifier: "k3s-datastore", allocatedStorageGb: 20, maxConnections: 225, cpuPercent: 80, freeStoragePercent: 10, connectionsPercent: 60 },
    fileSystem: { id: "fs-12345678", throughputMode: "bursting", performanceMode: "generalPurpose" },
    serverGroupName: "k3s-servers",
    agentGroupName: "k3s-agents",
    agentsMaxSize: 10,
    agentsAtMaxMinutes: 30,
    autoscaler: true,
  };

  test("a bursting file system alarms when fewer credits than half an hour at 100 MiB/s remain, and graphs them", () => {
    const json: TerraformJson = JSON.parse(Testing.synthScope((scope) => new Monitoring(scope, "Monitoring", props)));
    // 100 MiB/s x 1800 s = 104857600 x 1800 = 188743680000 bytes.
    expect(monitoringAlarms(json).FileSystemBurstCredits).toMatchObject({
      namespace: "AWS/EFS",
      metric_name: "BurstCreditBalance",
      dimensions: { FileSystemId: "fs-12345678" },
      comparison_operator: "LessThanThreshold",
      threshold: 188743680000,
    });
    const body = JSON.parse(resourceNamed(json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body);
    const efs = body.widgets.find((widget: any) => widget.properties.title === "Shared file system");
    expect(efs.properties.metrics.map((line: any[]) => line[1])).toEqual(["PercentIOLimit", "BurstCreditBalance", "ClientConnections"]);
  });

  test("alarms without max_connections are refused, naming the setting", () => {
    expect(() => Testing.synthScope((scope) => new Monitoring(scope, "Monitoring", { ...props, database: { ...props.database, maxConnections: undefined } }))).toThrow(
      "Monitoring: database.maxConnections is required when alarms are on (config: monitoring.databaseMaxConnections)",
    );
  });
});

describe("the cluster dashboard", () => {
  const { json } = synthCluster({ clusterName: "blue", api: { publicAccess: true, adminCidrs: ["198.51.100.0/24"] } });
  const dashboard = resourceNamed(json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard");
  const body = JSON.parse(dashboard.dashboard_body);
  const widget = (title: string) => body.widgets.find((candidate: any) => candidate.properties.title === title).properties;
  const lines = (title: string) => widget(title).metrics as any[][];

  test("one dashboard, named after the cluster, whose body is JSON with a widget per part of the cluster", () => {
    expect(resourcesOf(json, "aws_cloudwatch_dashboard")).toHaveLength(1);
    expect(dashboard.dashboard_name).toBe("blue-cluster");
    expect(body.widgets.map((candidate: any) => candidate.properties.title)).toEqual([
      "Nodes",
      "Autoscaler",
      "Datastore",
      "Datastore free storage (bytes)",
      "Shared file system",
      "Load balancer healthy targets",
    ]);
    for (const candidate of body.widgets) expect(candidate.properties.region).toBe("eu-west-1");
  });

  test("nodes: both groups' in-service counts and the agents' desired and maximum", () => {
    const servers = ref(json, "aws_autoscaling_group", "Compute_Servers_Group", "name");
    const agents = ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name");
    expect(lines("Nodes").map((line) => line.slice(0, 4))).toEqual([
      ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", servers],
      ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", agents],
      ["AWS/AutoScaling", "GroupDesiredCapacity", "AutoScalingGroupName", agents],
      ["AWS/AutoScaling", "GroupMaxSize", "AutoScalingGroupName", agents],
    ]);
    // Graphed metrics must be collected by the groups.
    for (const kind of ["Servers", "Agents"]) {
      expect(resourceNamed(json, "aws_autoscaling_group", `Compute_${kind}_Group`).enabled_metrics).toEqual(expect.arrayContaining(lines("Nodes").map((line) => line[1])));
    }
  });

  test("the autoscaler's metrics, in its namespace with the cluster as dimension", () => {
    // README, Automation Lambdas: the autoscaler publishes these counts each run (lambdas/autoscaler/run.ts).
    expect(lines("Autoscaler").map((line) => line.slice(0, 4))).toEqual(
      ["ScaleUp", "ScaleDown", "PendingPods", "UnplaceablePods", "ReleasedNodes", "ReplacedNodes", "ScalingHeld"].map((name) => ["K3sAutoscaler", name, "Cluster", "blue"]),
    );
  });

  test("datastore and file system widgets name their resources", () => {
    const instance = ref(json, "aws_db_instance", "Database_Instance", "identifier");
    expect(lines("Datastore").map((line) => line.slice(0, 4))).toEqual([
      ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", instance],
      ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", instance],
    ]);
    expect(lines("Datastore free storage (bytes)")[0].slice(0, 4)).toEqual(["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", instance]);
    const fileSystem = ref(json, "aws_efs_file_system", "Storage_FileSystem", "id");
    expect(lines("Shared file system").map((line) => line.slice(0, 4))).toEqual([
      ["AWS/EFS", "PercentIOLimit", "FileSystemId", fileSystem],
      ["AWS/EFS", "ClientConnections", "FileSystemId", fileSystem],
    ]);
  });

  test("every target group's healthy hosts, with its load balancer", () => {
    const pair = (group: string, balancer: string) => [
      "AWS/NetworkELB",
      "HealthyHostCount",
      "TargetGroup",
      ref(json, "aws_lb_target_group", `LoadBalancing_${group}TargetGroup`, "arn_suffix"),
      "LoadBalancer",
      ref(json, "aws_lb", `LoadBalancing_${balancer}LoadBalancer`, "arn_suffix"),
    ];
    expect(lines("Load balancer healthy targets").map((line) => line.slice(0, 6))).toEqual([
      pair("Api", "Api"),
      pair("PublicApi", "PublicApi"),
      pair("IngressHttp", "Ingress"),
      pair("IngressHttps", "Ingress"),
    ]);
  });

  test("without the pod-driven autoscaler there is no autoscaler widget; with the dashboard off, no dashboard", () => {
    const cpu = JSON.parse(resourceNamed(synthCluster({ agents: { scalingMode: "cpu" } }).json, "aws_cloudwatch_dashboard", "Monitoring_Dashboard").dashboard_body);
    expect(cpu.widgets.map((candidate: any) => candidate.properties.title)).not.toContain("Autoscaler");
    expect(resourcesOf(synthCluster({ monitoring: { dashboard: false } }).json, "aws_cloudwatch_dashboard")).toEqual([]);
  });
});
