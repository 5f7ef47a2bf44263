import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { load } from "js-yaml";
import { documentOf, localNamed, panelsOf, synthCluster, writtenManifests } from "./helpers";

// The Grafana dashboards shipped in templates/dashboards/ and loaded through Grafana's dashboard sidecar. The sidecar's
// label and the provisioned datasource UIDs are read from the chart values the same server writes (kube-prometheus-stack
// 88.5.3: grafana.sidecar.dashboards.label/labelValue, grafana.sidecar.datasources.uid and .alertmanager.uid).

const DASHBOARD_DIR = join(__dirname, "..", "templates", "dashboards");
const PRICES = JSON.parse(readFileSync(join(__dirname, "..", "simulator", "data", "prices.json"), "utf8"));

const manifests = writtenManifests(localNamed(synthCluster({}).json, "Compute_Servers_UserData"));
const chart = documentOf(manifests["kube-prometheus-stack"], "HelmChart");
const values = load(chart.spec.valuesContent) as any;
const configMaps = manifests["grafana-dashboards"];
const dashboards: Record<string, any> = Object.fromEntries(
  configMaps.flatMap((configMap: any) => Object.entries(configMap.data as Record<string, string>).map(([file, text]) => [file, JSON.parse(text)])),
);

/** Every panel, rows' nested panels included. */
const expressions = (dashboard: any): string[] => panelsOf(dashboard).flatMap((panel) => (panel.targets ?? []).map((target: any) => target.expr));

describe("dashboards", () => {
  test("the three files in templates/dashboards are JSON, and each reaches the cluster as its own ConfigMap", () => {
    const files = readdirSync(DASHBOARD_DIR).sort();
    expect(files).toEqual(["autoscaler.json", "cluster-overview.json", "cost.json"]);
    for (const file of files) expect(() => JSON.parse(readFileSync(join(DASHBOARD_DIR, file), "utf8"))).not.toThrow();
    expect(Object.keys(dashboards).sort()).toEqual(files);
    expect(new Set(Object.values(dashboards).map((dashboard) => dashboard.uid)).size).toBe(3);
  });

  test("the ConfigMaps carry the label Grafana's sidecar watches, in the chart's namespace", () => {
    const { label, labelValue } = values.grafana.sidecar.dashboards;
    // The chart's defaults (grafana.sidecar.dashboards.label: grafana_dashboard, labelValue: "1").
    expect([label, labelValue]).toEqual(["grafana_dashboard", "1"]);
    for (const configMap of configMaps) {
      expect(configMap.kind).toBe("ConfigMap");
      expect(configMap.metadata.namespace).toBe(chart.spec.targetNamespace);
      expect(configMap.metadata.labels).toEqual({ [label]: labelValue });
    }
  });

  test("every panel that queries names a datasource the chart provisions, by UID; text panels query nothing", () => {
    const provisioned = [values.grafana.sidecar.datasources.uid, values.grafana.sidecar.datasources.alertmanager.uid, ...values.grafana.additionalDataSources.map((source: any) => source.uid)];
    expect(provisioned).toEqual(["prometheus", "alertmanager", "cloudwatch"]);
    for (const [file, dashboard] of Object.entries(dashboards)) {
      for (const panel of panelsOf(dashboard)) {
        if (panel.type === "text") {
          expect({ file, panel: panel.title, targets: panel.targets, datasource: panel.datasource }).toEqual({ file, panel: panel.title, targets: undefined, datasource: undefined });
          continue;
        }
        expect({ file, panel: panel.title, provisioned: provisioned.includes(panel.datasource?.uid) }).toEqual({ file, panel: panel.title, provisioned: true });
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          // PromQL for Prometheus; Grafana's CloudWatch query model otherwise (namespace, metric, dimensions, statistic).
          if (panel.datasource.type === "prometheus") expect(target.expr).toEqual(expect.any(String));
          // Grafana's CloudWatch query model (pkg/tsdb/cloudwatch, models/cloudwatch_query.go): a metric-stat query in
          // the builder (metricQueryType 0, metricEditorMode 0), one statistic, the period as a string of seconds.
          else
            expect(target).toMatchObject({
              queryMode: "Metrics",
              metricQueryType: 0,
              metricEditorMode: 0,
              namespace: expect.any(String),
              metricName: expect.any(String),
              // Statistics CloudWatch names (GetMetricData, MetricStat.Stat); autoscaler-run.test.ts checks which one each
              // metric needs.
              statistic: expect.stringMatching(/^(Sum|Maximum)$/),
              period: "60",
              matchExact: true,
              datasource: panel.datasource,
            });
        }
      }
    }
  });

  test("no placeholder is left in any dashboard", () => {
    for (const dashboard of Object.values(dashboards)) expect(JSON.stringify(dashboard)).not.toMatch(/\{\{ [A-Z0-9_]+ \}\}/);
  });
});

describe("the autoscaler dashboard", () => {
  const dashboard = dashboards["autoscaler.json"];

  test("reads pending and unschedulable pods and the agents from kube-state-metrics", () => {
    // kube-state-metrics docs/metrics/workload/pod-metrics.md: kube_pod_status_phase, kube_pod_status_unschedulable;
    // node-metrics.md: kube_node_labels, kube_node_spec_unschedulable.
    const all = expressions(dashboard).join("\n");
    for (const metric of ["kube_pod_status_phase", "kube_pod_status_unschedulable", "kube_node_labels", "kube_node_spec_unschedulable"]) expect(all).toContain(metric);
  });

  test("graphs the Lambda's CloudWatch metrics through the CloudWatch datasource, whose role may read them", () => {
    const datasource = values.grafana.additionalDataSources[0];
    // Grafana docs, CloudWatch data source provisioning: type cloudwatch, jsonData.authType "default" (the AWS SDK's
    // chain, which reads AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE), defaultRegion.
    expect(datasource).toMatchObject({ type: "cloudwatch", uid: "cloudwatch", jsonData: { authType: "default", defaultRegion: "eu-west-1", customMetricsNamespaces: "K3sAutoscaler" } });
    expect(Object.keys(values.grafana.env).sort()).toEqual(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]);
    const [mount] = values.grafana.extraSecretMounts;
    expect(values.grafana.env.AWS_WEB_IDENTITY_TOKEN_FILE).toBe(`${mount.mountPath}/${mount.projected.sources[0].serviceAccountToken.path}`);
    const cloudWatchPanels = panelsOf(dashboard).filter((panel) => panel.datasource?.type === "cloudwatch");
    expect(cloudWatchPanels).toHaveLength(1);
    expect(cloudWatchPanels[0].targets.map((target: any) => target.dimensions)).toEqual(Array(7).fill({ Cluster: "k3s" }));
  });

  test("in scaling modes without the autoscaler Lambda there is nothing to graph: the note stays", () => {
    const cpu = writtenManifests(localNamed(synthCluster({ agents: { scalingMode: "cpu" } }).json, "Compute_Servers_UserData"));
    const cpuDashboard = JSON.parse(cpu["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"]);
    expect(panelsOf(cpuDashboard).filter((panel) => panel.datasource?.type === "cloudwatch")).toEqual([]);
    expect(panelsOf(cpuDashboard).filter((panel) => panel.type === "text")).toHaveLength(1);
  });

  test("without AWS access (no issuer outside the aws partition) it names the metrics and where they are graphed instead", () => {
    const china = writtenManifests(localNamed(synthCluster({ region: "cn-north-1" }).json, "Compute_Servers_UserData"));
    const chinaDashboard = JSON.parse(china["grafana-dashboards"].find((configMap: any) => configMap.data["autoscaler.json"]).data["autoscaler.json"]);
    expect(panelsOf(chinaDashboard).filter((panel) => panel.datasource?.type === "cloudwatch")).toEqual([]);
    const text = panelsOf(chinaDashboard).find((panel) => panel.type === "text").options.content as string;
    const named = [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    // Written out: the metrics lambdas/autoscaler/run.ts publishes in its embedded-metric log lines, their namespace and
    // dimension, and the cluster's CloudWatch dashboard (<cluster>-cluster).
    expect(named).toEqual(["pods", "ScaleUp", "ScaleDown", "PendingPods", "UnplaceablePods", "ReleasedNodes", "ReplacedNodes", "ScalingHeld", "K3sAutoscaler", "Cluster", "k3s-cluster"]);
  });
});

describe("the cost dashboard", () => {
  const dashboard = dashboards["cost.json"];

  test("counts agent node-hours by capacity type from kube_node_labels", () => {
    // kube-state-metrics turns node.kubernetes.io/capacity-type into label_node_kubernetes_io_capacity_type.
    expect(expressions(dashboard)[0]).toBe(
      'sum by (label_node_kubernetes_io_capacity_type) (count_over_time(kube_node_labels{label_node_kubernetes_io_capacity_type!=""}[$__range:1m])) / 60',
    );
  });

  test("prices every instance type of the dated price table, on-demand and spot, at its price", () => {
    const priced = [...expressions(dashboard)[1].matchAll(/label_replace\(label_replace\(vector\(([0-9.]+)\), "label_node_kubernetes_io_instance_type", "([a-z0-9.]+)", "", ""\), "label_node_kubernetes_io_capacity_type", "([a-z-]+)", "", ""\)/g)].map(
      ([, price, type, capacity]) => [type, capacity, Number(price)],
    );
    // The capacity types agent.sh labels agents with: "spot" or "on-demand" (EC2 instance-life-cycle).
    const expected = Object.entries(PRICES.instanceTypes as Record<string, { onDemand: number; spot: number }>).flatMap(([type, price]) => [
      [type, "on-demand", price.onDemand],
      [type, "spot", price.spot],
    ]);
    expect(priced).toEqual(expected);
    expect(dashboard.description).toContain(PRICES.date);
  });
});
