import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchMetricAlarm, CloudwatchMetricAlarmConfig } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { Construct } from "constructs";
import { PolicyExemption } from "../policy";
import { AUTOSCALER_METRIC_DIMENSION, AUTOSCALER_METRIC_NAMES, AUTOSCALER_METRIC_NAMESPACE, AUTOSCALER_METRIC_STATISTICS } from "../../lambdas/autoscaler/metrics";
import type { TargetGroupMetricDimensions } from "../load-balancing";
import type { EfsThroughputMode } from "../storage";

const GIB = 1024 ** 3;

/**
 * EFS bursts at 100 MiB/s or more (Amazon EFS user guide, "Throughput modes", bursting); below half an hour of that
 * in credits, a bursting file system is about to fall back to its baseline.
 */
export const EFS_LOW_BURST_CREDIT_BYTES = 100 * 1024 ** 2 * 1800;

/** PercentIOLimit (General Purpose file systems) at or above which the file system is near its I/O limit. */
export const EFS_IO_LIMIT_PERCENT = 90;

/**
 * Share of PermittedThroughput in use at or above which the file system is near its throughput ceiling: the elastic
 * limits, the provisioned (or storage-based) amount, or the bursting baseline once credits run out.
 */
export const EFS_THROUGHPUT_UTILIZATION_PERCENT = 80;

/** Minutes a target group may have fewer healthy servers than the group's size before the alarm fires. */
export const API_UNHEALTHY_MINUTES = 15;

export interface MonitoringProps {
  /** Prefix of alarm and dashboard names, and the autoscaler metrics' Cluster dimension. */
  readonly clusterName: string;
  /** Region of every metric the dashboard graphs. */
  readonly region: string;
  /** The topic every alarm notifies, when it fires and when it clears. */
  readonly topicArn: string;
  /** Create the alarms. */
  readonly alarms: boolean;
  /** Create the dashboard. */
  readonly dashboard: boolean;
  /** k3s servers: every API target group should have this many healthy targets. */
  readonly serverCount: number;
  /** API target groups (internal, then public). */
  readonly apiTargets: TargetGroupMetricDimensions[];
  /** Ingress target groups, graphed only: agents come and go with the autoscaler. */
  readonly ingressTargets: TargetGroupMetricDimensions[];
  readonly database: {
    /** DBInstanceIdentifier of its AWS/RDS metrics. */
    readonly identifier: string;
    /** The free-storage threshold is a share of this. */
    readonly allocatedStorageGb: number;
    /** max_connections of the instance; required with alarms. */
    readonly maxConnections?: number;
    /** Average CPU above which the alarm fires. */
    readonly cpuPercent: number;
    /** Share of allocatedStorageGb below which the alarm fires. */
    readonly freeStoragePercent: number;
    /** Share of maxConnections at which the alarm fires. */
    readonly connectionsPercent: number;
  };
  /** The file system's ID (FileSystemId dimension) and the modes that decide which metrics it publishes. */
  readonly fileSystem: {
    readonly id: string;
    readonly throughputMode: EfsThroughputMode;
    readonly performanceMode: "generalPurpose" | "maxIO";
  };
  /** Auto scaling group names (AutoScalingGroupName dimension); both groups publish their group metrics. */
  readonly serverGroupName: string;
  readonly agentGroupName: string;
  /** The agents' maximum size, which the at-max alarm compares in-service instances with. */
  readonly agentsMaxSize: number;
  /** How long the agents may stay at agentsMaxSize before the alarm fires. */
  readonly agentsAtMaxMinutes: number;
  /** Graph the pod-driven autoscaler's metrics (scaling mode "pods"). */
  readonly autoscaler: boolean;
}

type MetricWidgetLine = (string | Record<string, string>)[];

interface AlarmSpec {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** One metric, or metric math (metricQuery) with its evaluation periods. */
  readonly metric: Pick<CloudwatchMetricAlarmConfig, "namespace" | "metricName" | "dimensions" | "statistic" | "period" | "evaluationPeriods" | "metricQuery">;
  readonly comparisonOperator: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold";
  readonly threshold: number;
  readonly treatMissingData: "missing" | "breaching" | "notBreaching";
}

/** The cluster's CloudWatch alarms (load balancers, datastore, file system, agents) and its dashboard. */
export class Monitoring extends Construct {
  /** Every alarm created here; the notification topic's policies must admit them. */
  public readonly alarmArns: string[] = [];

  constructor(scope: Construct, id: string, private readonly props: MonitoringProps) {
    super(scope, id);
    if (props.alarms) this.createAlarms();
    if (props.dashboard) this.createDashboard();
  }

  private createAlarms() {
    const { clusterName, database, fileSystem } = this.props;
    if (database.maxConnections === undefined) throw new Error("Monitoring: database.maxConnections is required when alarms are on (config: monitoring.databaseMaxConnections)");

    for (const target of this.props.apiTargets) {
      this.alarm({
        id: `${target.id}HealthyHosts`,
        name: `${clusterName}-${target.name}-healthy-hosts`,
        description: `Fewer healthy k3s servers than the ${this.props.serverCount} in the group behind the ${target.name} target group for ${API_UNHEALTHY_MINUTES} minutes`,
        // Per target group, with both dimensions (ELB user guide, "CloudWatch metrics for your Network Load
        // Balancer": HealthyHostCount has TargetGroup, LoadBalancer). A server replacement takes a few minutes; the
        // window lets one pass.
        metric: {
          namespace: "AWS/NetworkELB",
          metricName: "HealthyHostCount",
          dimensions: { TargetGroup: target.targetGroup, LoadBalancer: target.loadBalancer },
          statistic: "Minimum",
          period: 60,
          evaluationPeriods: API_UNHEALTHY_MINUTES,
        },
        comparisonOperator: "LessThanThreshold",
        threshold: this.props.serverCount,
        // ELB reports metrics only while traffic flows (ELB user guide, NLB CloudWatch metrics). The internal API load
        // balancer always carries some (every node's kubelet, the Lambdas), so its silence is an outage; the public
        // one may go quiet when nobody runs kubectl, which says nothing.
        treatMissingData: target.internal ? "breaching" : "missing",
      });
    }

    const rds = (metricName: string, statistic: string) => ({
      namespace: "AWS/RDS",
      metricName,
      dimensions: { DBInstanceIdentifier: database.identifier },
      statistic,
      period: 300,
      evaluationPeriods: 3,
    });
    // RDS reports these every minute while the instance runs; the gaps of a reboot or failover should neither raise
    // nor clear an alarm, so missing data keeps the state it had.
    this.alarm({
      id: "DatabaseCpu",
      name: `${clusterName}-datastore-cpu`,
      description: `Datastore CPU above ${database.cpuPercent} % for 15 minutes`,
      metric: rds("CPUUtilization", "Average"),
      comparisonOperator: "GreaterThanThreshold",
      threshold: database.cpuPercent,
      treatMissingData: "missing",
    });
    this.alarm({
      id: "DatabaseFreeStorage",
      name: `${clusterName}-datastore-free-storage`,
      description: `Datastore free storage below ${database.freeStoragePercent} % of the ${database.allocatedStorageGb} GiB allocated`,
      // FreeStorageSpace is in bytes.
      metric: { ...rds("FreeStorageSpace", "Minimum"), evaluationPeriods: 1 },
      comparisonOperator: "LessThanThreshold",
      threshold: Math.floor((database.allocatedStorageGb * GIB * database.freeStoragePercent) / 100),
      treatMissingData: "missing",
    });
    const connections = Math.floor((database.maxConnections * database.connectionsPercent) / 100);
    this.alarm({
      id: "DatabaseConnections",
      name: `${clusterName}-datastore-connections`,
      description: `Datastore connections at ${connections} or more (${database.connectionsPercent} % of max_connections ${database.maxConnections})`,
      metric: rds("DatabaseConnections", "Maximum"),
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: connections,
      treatMissingData: "missing",
    });

    // EFS publishes BurstCreditBalance in bursting mode only (credits do not exist otherwise), and PercentIOLimit for
    // General Purpose file systems only (Amazon EFS user guide, "Amazon CloudWatch metrics for Amazon EFS").
    if (fileSystem.throughputMode === "bursting") {
      this.alarm({
        id: "FileSystemBurstCredits",
        name: `${clusterName}-shared-burst-credits`,
        description: "Shared file system burst credits below half an hour of bursting",
        metric: { namespace: "AWS/EFS", metricName: "BurstCreditBalance", dimensions: { FileSystemId: fileSystem.id }, statistic: "Minimum", period: 300, evaluationPeriods: 1 },
        comparisonOperator: "LessThanThreshold",
        threshold: EFS_LOW_BURST_CREDIT_BYTES,
        // The balance is reported every minute; its absence says nothing about credits.
        treatMissingData: "missing",
      });
    }
    if (fileSystem.performanceMode === "generalPurpose") {
      this.alarm({
        id: "FileSystemIoLimit",
        name: `${clusterName}-shared-io-limit`,
        description: `Shared file system at ${EFS_IO_LIMIT_PERCENT} % or more of the General Purpose I/O limit for 15 minutes`,
        metric: { namespace: "AWS/EFS", metricName: "PercentIOLimit", dimensions: { FileSystemId: fileSystem.id }, statistic: "Average", period: 300, evaluationPeriods: 3 },
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: EFS_IO_LIMIT_PERCENT,
        // Reported only while there is I/O; no I/O is no I/O limit.
        treatMissingData: "notBreaching",
      });
    }

    // In every throughput mode: PermittedThroughput is the ceiling of each (Amazon EFS user guide, "Amazon CloudWatch
    // metrics for Amazon EFS"), and throughput is metered against it (MeteredIOBytes). The expression is the guide's
    // "percentage of permitted throughput utilization" ("Using metric math with Amazon EFS"), on one-minute sums.
    const efsMinute = (id: string, metricName: string) => ({
      id,
      metric: { namespace: "AWS/EFS", metricName, dimensions: { FileSystemId: fileSystem.id }, stat: "Sum", period: 60 },
    });
    this.alarm({
      id: "FileSystemThroughput",
      name: `${clusterName}-shared-throughput`,
      description: `Shared file system at ${EFS_THROUGHPUT_UTILIZATION_PERCENT} % or more of its permitted throughput (${fileSystem.throughputMode} mode) for 15 minutes`,
      metric: {
        evaluationPeriods: 15,
        metricQuery: [
          efsMinute("metered", "MeteredIOBytes"),
          efsMinute("permitted", "PermittedThroughput"),
          { id: "utilization", expression: "((metered/1048576)/PERIOD(metered))*100/(permitted/1048576)", label: "Percent of permitted throughput", returnData: true },
        ],
      },
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: EFS_THROUGHPUT_UTILIZATION_PERCENT,
      // MeteredIOBytes is reported only while there is I/O; none is no throughput.
      treatMissingData: "notBreaching",
    });

    // A group whose maximum is 0 is at its maximum by design.
    if (this.props.agentsMaxSize > 0) {
      this.alarm({
        id: "AgentsAtMax",
        name: `${clusterName}-agents-at-max`,
        description: `Agents at agents.maxSize (${this.props.agentsMaxSize}) for ${this.props.agentsAtMaxMinutes} minutes: pods may be waiting for capacity the group may not add`,
        // Needs the group's metrics collection (modules/compute, GROUP_METRICS); one-minute periods make the window exact.
        metric: {
          namespace: "AWS/AutoScaling",
          metricName: "GroupInServiceInstances",
          dimensions: { AutoScalingGroupName: this.props.agentGroupName },
          statistic: "Minimum",
          period: 60,
          evaluationPeriods: this.props.agentsAtMaxMinutes,
        },
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: this.props.agentsMaxSize,
        // Before collection starts there is no data, and no data is not a full group.
        treatMissingData: "notBreaching",
      });
    }
  }

  private alarm(spec: AlarmSpec) {
    const alarm = new CloudwatchMetricAlarm(this, `${spec.id}Alarm`, {
      alarmName: spec.name,
      alarmDescription: spec.description,
      ...spec.metric,
      comparisonOperator: spec.comparisonOperator,
      threshold: spec.threshold,
      treatMissingData: spec.treatMissingData,
      alarmActions: [this.props.topicArn],
      okActions: [this.props.topicArn],
    });
    this.alarmArns.push(alarm.arn);
  }

  private createDashboard() {
    const { clusterName, region, database, fileSystem } = this.props;
    const widget = (title: string, metrics: MetricWidgetLine[], stat: string) => ({
      type: "metric",
      width: 12,
      height: 6,
      properties: { title, region, view: "timeSeries", stat, period: 60, metrics },
    });
    const group = (name: string, label: string, metricName: string): MetricWidgetLine => ["AWS/AutoScaling", metricName, "AutoScalingGroupName", name, { label }];
    const targetGroups = [...this.props.apiTargets, ...this.props.ingressTargets];
    const efs = (metricName: string, options: Record<string, string> = {}): MetricWidgetLine => ["AWS/EFS", metricName, "FileSystemId", fileSystem.id, { label: metricName, ...options }];

    const widgets = [
      widget(
        "Nodes",
        [
          group(this.props.serverGroupName, "servers in service", "GroupInServiceInstances"),
          group(this.props.agentGroupName, "agents in service", "GroupInServiceInstances"),
          group(this.props.agentGroupName, "agents desired", "GroupDesiredCapacity"),
          group(this.props.agentGroupName, "agents maximum", "GroupMaxSize"),
        ],
        "Maximum",
      ),
      ...(this.props.autoscaler
        ? [
            widget(
              "Autoscaler",
              AUTOSCALER_METRIC_NAMES.map((name) => [AUTOSCALER_METRIC_NAMESPACE, name, AUTOSCALER_METRIC_DIMENSION, clusterName, { label: name, stat: AUTOSCALER_METRIC_STATISTICS[name] }]),
              "Sum",
            ),
          ]
        : []),
      widget(
        "Datastore",
        [
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", database.identifier, { label: "CPU %" }],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", database.identifier, { label: "connections", yAxis: "right" }],
        ],
        "Maximum",
      ),
      widget("Datastore free storage (bytes)", [["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", database.identifier, { label: "free storage" }]], "Minimum"),
      widget(
        "Shared file system",
        [
          ...(fileSystem.performanceMode === "generalPurpose" ? [efs("PercentIOLimit")] : []),
          ...(fileSystem.throughputMode === "bursting" ? [efs("BurstCreditBalance")] : []),
          // One per mounted instance each minute: Sum per minute is the count (EFS's metric notes).
          efs("ClientConnections", { stat: "Sum" }),
        ],
        "Maximum",
      ),
      widget(
        "Load balancer healthy targets",
        targetGroups.map((target) => ["AWS/NetworkELB", "HealthyHostCount", "TargetGroup", target.targetGroup, "LoadBalancer", target.loadBalancer, { label: target.name }]),
        "Minimum",
      ),
    ];
    // References inside the JSON text become Terraform interpolations, so the body names the resources themselves.
    new CloudwatchDashboard(this, "Dashboard", { dashboardName: clusterDashboardName(clusterName), dashboardBody: JSON.stringify({ widgets }) });
  }
}

/**
 * What Grafana's CloudWatch datasource needs to graph metrics: GetMetricData for the panels' queries and ListMetrics for
 * the query editor (Grafana docs, "Configure the CloudWatch data source": the metrics part of its IAM policy; the alarm,
 * Logs, EC2 and tag actions there serve features the dashboards do not use).
 */
export function grafanaCloudWatchPolicy(scope: Construct, region: string): DataAwsIamPolicyDocument {
  const document = new DataAwsIamPolicyDocument(scope, "GrafanaCloudWatchPolicy", {
    statement: [
      {
        sid: "ReadMetrics",
        actions: ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
        resources: ["*"],
        // Every Grafana user may query the datasource in any region; the cluster's region is the one it needs.
        condition: [{ test: "StringEquals", variable: "aws:RequestedRegion", values: [region] }],
      },
    ],
  });
  PolicyExemption.of(document).exempt(
    "iam-wildcard-resource",
    'GetMetricData and ListMetrics name no resource type (Service Authorization Reference, Amazon CloudWatch: their Resource types column is empty), so "*" is their only resource; they read metrics and change nothing.',
    { statements: ["ReadMetrics"] },
  );
  return document;
}

/** Name of the cluster's CloudWatch dashboard, which Grafana's autoscaler dashboard points to. */
export function clusterDashboardName(clusterName: string): string {
  return `${clusterName}-cluster`;
}
