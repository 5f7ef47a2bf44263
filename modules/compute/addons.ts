import { readFileSync } from "fs";
import { join } from "path";
import { addonHost, ADMIN_SECRET_KEYS, ADMIN_SECRET_LABEL, AddonAdminKey, AddonNames, AdminSecretFormat, ALERTMANAGER_SERVICE_ACCOUNT, ARGO_CD, GRAFANA_DASHBOARD_LABEL, GRAFANA_DATASOURCE_UIDS, GRAFANA_SERVICE_ACCOUNT, JENKINS, MONITORING } from "../contracts/addons";
import { webIdentityPodParts } from "../workload-identity";
import { ALERT_SUBJECT_TEMPLATE } from "../../lambdas/shared/notifications";
import { AUTOSCALER_METRIC_DIMENSION, AUTOSCALER_METRIC_NAMES, AUTOSCALER_METRIC_NAMESPACE, AUTOSCALER_METRIC_STATISTICS } from "../../lambdas/autoscaler/metrics";
import { CAPACITY_TYPE_LABEL } from "../../lambdas/shared/node-labels";
import { SAFE_TO_EVICT_LOCAL_VOLUMES } from "../../lambdas/autoscaler/drainability/rules";
import { fillPlaceholders, readTemplate, SERVER_TAINT } from "./user-data";
import { NODE_EXPORTER_PORT } from "../ports";

/** The instance-type label the cloud controller sets on every node (Kubernetes docs, "Well-Known Labels"). */
export const INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type";

export interface MonitoringAddonProps {
  /**
   * Prometheus's gp3 volume (storage.blockStorage), its data kept for `retentionDays` and cut at 80 % of its size.
   * @default undefined (an emptyDir, lost whenever the pod moves, kept a day and cut at 4 GiB of its 5 GiB)
   */
  readonly prometheusVolume?: { readonly retentionDays: number; readonly sizeGb: number };
  /**
   * The CloudWatch dashboard the autoscaler dashboard points to for the Lambda's metrics.
   * @default undefined (monitoring.dashboard is false)
   */
  readonly cloudWatchDashboardName?: string;
  /**
   * AWS for monitoring, through roles its pods assume (needs the compute's serviceAccountIssuer): Alertmanager publishes
   * alerts to the automation topic, Grafana reads the autoscaler's CloudWatch metrics. The ARNs are Terraform values:
   * the manifest names them by placeholder, the server script's values fill them in (addonValues).
   * @default undefined (no receiver: alerts stay in Alertmanager's and Grafana's UIs; no CloudWatch datasource)
   */
  readonly aws?: MonitoringAws;
}

/** Alertmanager's receiver for the automation topic (Alertmanager docs, configuration: route, receiver, sns_config). */
export const ALERTS_RECEIVER = "automation-topic";

/** The alert severities that reach the topic; kube-prometheus-stack's rules use critical, warning, info and none. */
export const NOTIFIED_SEVERITIES = ["critical", "warning"] as const;

export interface MonitoringAws {
  readonly region: string;
  readonly topicArn: string;
  readonly alertmanagerRoleArn: string;
  readonly grafanaRoleArn: string;
  /** The autoscaler's metrics carry it as their Cluster dimension. */
  readonly clusterName: string;
  /** Whether the autoscaler Lambda runs (scaling mode "pods") and so publishes the metrics the dashboard graphs. */
  readonly autoscalerPublishes: boolean;
}

export interface ComputeAddonsProps {
  /** kube-prometheus-stack with its dashboards; undefined writes its manifests empty. */
  readonly monitoring?: MonitoringAddonProps;
  readonly argoCd: boolean;
  /** Jenkins with JENKINS_HOME on this class; undefined writes its manifest empty. */
  readonly jenkins?: { readonly storageClass: "gp3" | "efs" };
  /**
   * `edge.fqdn`: each add-on gets an Ingress on `<host>.<domain>`, admitted on Traefik's websecure entry point only.
   * @default undefined (no Ingress: port-forward)
   */
  readonly domain?: string;
}

/** The emptyDir Prometheus gets without block storage, and what it keeps in it. */
export const EPHEMERAL_PROMETHEUS = { sizeLimit: "5Gi", retention: "1d", retentionSize: "4GiB" } as const;

/** Traefik's Ingress annotations (Traefik docs, routing/providers/kubernetes-ingress): websecure only, TLS on. */
export const WEBSECURE_ONLY = {
  "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
  "traefik.ingress.kubernetes.io/router.tls": "true",
} as const;

/** k3s's packaged Traefik creates this IngressClass (its chart's release name). */
export const TRAEFIK_INGRESS_CLASS = "traefik";

/** kube-state-metrics turns a label key into a metric label name: every character outside [a-zA-Z0-9_] becomes "_". */
export function metricLabelName(labelKey: string): string {
  return labelKey.replace(/[^a-zA-Z0-9_]/g, "_");
}

const baseValues = (addon: AddonNames) => ({ RELEASE: addon.release, NAMESPACE: addon.namespace });

/**
 * Grafana's volumes on the node's disk, with persistence off (grafana chart 12.11.1 templates/_pod.tpl): its storage,
 * its search index and the dashboard and datasource sidecars' folders. A new pod rebuilds them from the admin Secret
 * and the provisioning ConfigMaps, and every rollout starts one, so they need not keep an agent from scale-down
 * (cluster-autoscaler's safe-to-evict-local-volumes, which both pod-driven scalers honour).
 */
export const GRAFANA_DISPOSABLE_VOLUMES = ["storage", "search", "sc-dashboard-volume", "sc-datasources-volume"];

/** The kube-prometheus-stack HelmChart. */
export function monitoringManifest(props: MonitoringAddonProps, domain: string | undefined): string {
  const volume = props.prometheusVolume;
  const claim = (size: string) => ({ volumeClaimTemplate: { spec: { storageClassName: "gp3", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } } });
  const ingress = domain
    ? { enabled: true, ingressClassName: TRAEFIK_INGRESS_CLASS, annotations: WEBSECURE_ONLY, hosts: [addonHost(MONITORING, domain)], path: "/" }
    : { enabled: false };
  return fillPlaceholders(
    readTemplate("manifests/kube-prometheus-stack.yaml").trimEnd(),
    {
      ...baseValues(MONITORING),
      // JSON is YAML's flow style.
      RETENTION: volume ? `${volume.retentionDays}d` : EPHEMERAL_PROMETHEUS.retention,
      RETENTION_SIZE: volume ? `${Math.floor(volume.sizeGb * 0.8)}GiB` : EPHEMERAL_PROMETHEUS.retentionSize,
      PROMETHEUS_STORAGE: JSON.stringify(volume ? claim(`${volume.sizeGb}Gi`) : { emptyDir: { sizeLimit: EPHEMERAL_PROMETHEUS.sizeLimit } }),
      // Silences and notification state: small, and worth keeping where a volume can be had.
      ALERTMANAGER_STORAGE: JSON.stringify(volume ? claim("1Gi") : {}),
      ADMIN_SECRET: MONITORING.adminSecret,
      ADMIN_SECRET_USER_KEY: ADMIN_SECRET_KEYS.grafana.user,
      ADMIN_SECRET_PASSWORD_KEY: ADMIN_SECRET_KEYS.grafana.password,
      DASHBOARD_LABEL: GRAFANA_DASHBOARD_LABEL.key,
      DASHBOARD_LABEL_VALUE: GRAFANA_DASHBOARD_LABEL.value,
      PROMETHEUS_DATASOURCE_UID: GRAFANA_DATASOURCE_UIDS.prometheus,
      ALERTMANAGER_DATASOURCE_UID: GRAFANA_DATASOURCE_UIDS.alertmanager,
      GRAFANA_INGRESS: JSON.stringify(ingress),
      GRAFANA_POD_ANNOTATIONS: JSON.stringify({ [SAFE_TO_EVICT_LOCAL_VOLUMES]: GRAFANA_DISPOSABLE_VOLUMES.join(",") }),
      ...alertmanagerValues(props.aws),
      ...grafanaAwsValues(props.aws),
      GRAFANA_INI: JSON.stringify(domain ? { server: { root_url: `https://${addonHost(MONITORING, domain)}` } } : {}),
      CAPACITY_TYPE_LABEL,
      INSTANCE_TYPE_LABEL,
      SERVER_TAINT_KEY: SERVER_TAINT.key,
      NODE_EXPORTER_PORT: String(NODE_EXPORTER_PORT),
    },
    "manifests/kube-prometheus-stack.yaml",
  );
}

/**
 * Alertmanager's values with and without the topic. The default route stays on the chart's "null" receiver; warning
 * and critical alerts go to the topic (send_resolved defaults to true for SNS), signed with sigv4 in the topic's region
 * by whatever credentials the SDK's default chain finds: the role, through the token mounted here.
 */
function alertmanagerValues(aws: MonitoringAws | undefined): Record<string, string> {
  if (!aws) {
    return { ALERTMANAGER_SERVICE_ACCOUNT: "{}", ALERTMANAGER_CONFIG: "{}", ALERTMANAGER_CONTAINERS: "[]", ALERTMANAGER_VOLUMES: "[]", ALERTMANAGER_VOLUME_MOUNTS: "[]" };
  }
  const identity = webIdentityPodParts("{{ ALERTMANAGER_ROLE_ARN }}");
  const config = {
    route: {
      receiver: "null",
      // Grouped by alert name too: the chart groups by namespace only, and a group of several alert names has no
      // common alertname, which the subject names.
      routes: [{ receiver: ALERTS_RECEIVER, matchers: [`severity =~ "${NOTIFIED_SEVERITIES.join("|")}"`], group_by: ["namespace", "alertname"] }],
    },
    receivers: [{ name: "null" }, { name: ALERTS_RECEIVER, sns_configs: [{ topic_arn: "{{ ALERTMANAGER_TOPIC_ARN }}", sigv4: { region: aws.region }, subject: ALERT_SUBJECT_TEMPLATE }] }],
  };
  return {
    ALERTMANAGER_SERVICE_ACCOUNT: JSON.stringify({ name: ALERTMANAGER_SERVICE_ACCOUNT.name }),
    ALERTMANAGER_CONFIG: JSON.stringify(config),
    // "alertmanager" is the operator's name for Alertmanager's own container.
    ALERTMANAGER_CONTAINERS: JSON.stringify([{ name: "alertmanager", env: identity.env }]),
    ALERTMANAGER_VOLUMES: JSON.stringify([identity.volume]),
    ALERTMANAGER_VOLUME_MOUNTS: JSON.stringify([identity.volumeMount]),
  };
}

/**
 * Grafana's values with and without AWS: its service account, the role's environment and token (as the grafana chart
 * documents for CloudWatch), and a CloudWatch datasource with the SDK's default credential chain in the cluster's region.
 */
function grafanaAwsValues(aws: MonitoringAws | undefined): Record<string, string> {
  if (!aws) return { GRAFANA_SERVICE_ACCOUNT: "{}", GRAFANA_ENV: "{}", GRAFANA_SECRET_MOUNTS: "[]", GRAFANA_ADDITIONAL_DATASOURCES: "[]" };
  const identity = webIdentityPodParts("{{ GRAFANA_ROLE_ARN }}");
  return {
    GRAFANA_SERVICE_ACCOUNT: JSON.stringify({ name: GRAFANA_SERVICE_ACCOUNT.name }),
    // The chart's env is a map of names to values.
    GRAFANA_ENV: JSON.stringify(Object.fromEntries(identity.env.map(({ name, value }) => [name, value]))),
    // extraSecretMounts is the chart's only extra mount that renders a projected volume (templates/_pod.tpl).
    GRAFANA_SECRET_MOUNTS: JSON.stringify([{ ...identity.volumeMount, projected: identity.volume.projected }]),
    GRAFANA_ADDITIONAL_DATASOURCES: JSON.stringify([
      {
        name: "CloudWatch",
        type: "cloudwatch",
        uid: GRAFANA_DATASOURCE_UIDS.cloudWatch,
        access: "proxy",
        editable: false,
        // The query editor lists a custom namespace only when named here (Grafana docs, CloudWatch data source).
        jsonData: { authType: "default", defaultRegion: aws.region, customMetricsNamespaces: AUTOSCALER_METRIC_NAMESPACE },
      },
    ]),
  };
}

/** The dashboards shipped with the cluster: templates/dashboards/<name>.json. */
export const DASHBOARDS = ["cluster-overview", "autoscaler", "cost"] as const;

interface PriceTable {
  readonly region: string;
  readonly currency: string;
  readonly unit: string;
  readonly date: string;
  readonly instanceTypes: Record<string, { readonly onDemand: number; readonly spot: number }>;
}

/** The dated price table the simulator uses: the one owner of prices. */
export function priceTable(): PriceTable {
  return JSON.parse(readFileSync(join(__dirname, "..", "..", "simulator", "data", "prices.json"), "utf8"));
}

/**
 * The price table as a PromQL instant vector, one constant series per instance type and capacity type, labelled as
 * kube_node_labels labels the nodes, so `count by (...) (kube_node_labels) * on (...) (<this>)` prices each node.
 */
export function priceVector(prices: PriceTable): string {
  const instanceType = `label_${metricLabelName(INSTANCE_TYPE_LABEL)}`;
  const capacityType = `label_${metricLabelName(CAPACITY_TYPE_LABEL)}`;
  // The capacity-type values agent.sh sets: "spot" or "on-demand".
  const series = Object.entries(prices.instanceTypes).flatMap(([type, price]) =>
    ([["on-demand", price.onDemand], ["spot", price.spot]] as const).map(
      ([capacity, perHour]) => `label_replace(label_replace(vector(${perHour}), "${instanceType}", "${type}", "", ""), "${capacityType}", "${capacity}", "", "")`,
    ),
  );
  return series.join(" or ");
}

/** A string as it sits inside a JSON string literal. */
const inJsonString = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * The autoscaler Lambda's metrics as Grafana's CloudWatch query model has them (Grafana docs, CloudWatch query editor:
 * namespace, metric name, dimensions, statistic, period; "Match exact" so only the cluster's series): one series per
 * metric a minute, each with the statistic that reads several passes' values right (metrics.ts).
 */
function autoscalerCloudWatchPanel(aws: MonitoringAws): Record<string, unknown> {
  return {
    id: 7,
    type: "timeseries",
    title: "The autoscaler's decisions (its CloudWatch metrics, per minute)",
    gridPos: { x: 12, y: 16, w: 12, h: 8 },
    datasource: { type: "cloudwatch", uid: GRAFANA_DATASOURCE_UIDS.cloudWatch },
    targets: AUTOSCALER_METRIC_NAMES.map((metricName, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: { type: "cloudwatch", uid: GRAFANA_DATASOURCE_UIDS.cloudWatch },
      queryMode: "Metrics",
      metricQueryType: 0,
      metricEditorMode: 0,
      region: aws.region,
      namespace: AUTOSCALER_METRIC_NAMESPACE,
      metricName,
      dimensions: { [AUTOSCALER_METRIC_DIMENSION]: aws.clusterName },
      matchExact: true,
      statistic: AUTOSCALER_METRIC_STATISTICS[metricName],
      period: "60",
      label: metricName,
    })),
  };
}

/** One dashboard's JSON, its placeholders filled (values that sit in JSON strings, escaped for them). */
export function renderDashboard(name: (typeof DASHBOARDS)[number], props: MonitoringAddonProps): string {
  const prices = priceTable();
  const all: Record<string, string> = {
    CAPACITY_TYPE_METRIC_LABEL: metricLabelName(CAPACITY_TYPE_LABEL),
    INSTANCE_TYPE_METRIC_LABEL: metricLabelName(INSTANCE_TYPE_LABEL),
    AUTOSCALER_METRICS: AUTOSCALER_METRIC_NAMES.map((metric) => `\`${metric}\``).join(", "),
    AUTOSCALER_NAMESPACE: AUTOSCALER_METRIC_NAMESPACE,
    AUTOSCALER_DIMENSION: AUTOSCALER_METRIC_DIMENSION,
    CLOUDWATCH_DASHBOARD: props.cloudWatchDashboardName ?? "(none: monitoring.dashboard is false)",
    PRICE_VECTOR: priceVector(prices),
    PRICE_DATE: prices.date,
    PRICE_REGION: prices.region,
    PRICE_CURRENCY: prices.currency,
    PRICE_UNIT: prices.unit,
  };
  const template = readTemplate(`dashboards/${name}.json`);
  const used = Object.fromEntries(Object.entries(all).filter(([key]) => template.includes(`{{ ${key} }}`)).map(([key, value]) => [key, inJsonString(value)]));
  const dashboard = JSON.parse(fillPlaceholders(template, used, `dashboards/${name}.json`));
  // With AWS access Grafana graphs the Lambda's metrics where the dashboard otherwise says where to find them.
  if (name === "autoscaler" && props.aws?.autoscalerPublishes) {
    dashboard.panels = [...dashboard.panels.filter((panel: { type: string }) => panel.type !== "text"), autoscalerCloudWatchPanel(props.aws)];
  }
  // Minified: the dashboards travel in the servers' user data.
  return JSON.stringify(dashboard);
}

/** One ConfigMap per dashboard, labelled for Grafana's sidecar, as YAML documents (JSON, YAML's flow style). */
export function dashboardsManifest(props: MonitoringAddonProps): string {
  return DASHBOARDS.map((name) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `dashboard-${name}`, namespace: MONITORING.namespace, labels: { [GRAFANA_DASHBOARD_LABEL.key]: GRAFANA_DASHBOARD_LABEL.value } },
      data: { [`${name}.json`]: renderDashboard(name, props) },
    }),
  ).join("\n---\n");
}

export function argoCdManifest(domain: string | undefined): string {
  const host = domain ? addonHost(ARGO_CD, domain) : undefined;
  return fillPlaceholders(
    readTemplate("manifests/argo-cd.yaml").trimEnd(),
    {
      ...baseValues(ARGO_CD),
      GLOBAL: JSON.stringify(host ? { domain: host } : {}),
      INGRESS: JSON.stringify(host ? { enabled: true, ingressClassName: TRAEFIK_INGRESS_CLASS, annotations: WEBSECURE_ONLY, hostname: host } : { enabled: false }),
    },
    "manifests/argo-cd.yaml",
  );
}

export function jenkinsManifest(storageClass: "gp3" | "efs", domain: string | undefined): string {
  const host = domain ? addonHost(JENKINS, domain) : undefined;
  return fillPlaceholders(
    readTemplate("manifests/jenkins.yaml").trimEnd(),
    {
      ...baseValues(JENKINS),
      ADMIN_SECRET: JENKINS.adminSecret,
      ADMIN_SECRET_USER_KEY: ADMIN_SECRET_KEYS.jenkins.user,
      ADMIN_SECRET_PASSWORD_KEY: ADMIN_SECRET_KEYS.jenkins.password,
      INGRESS: JSON.stringify(
        host ? { enabled: true, ingressClassName: TRAEFIK_INGRESS_CLASS, annotations: WEBSECURE_ONLY, hostName: host, path: "/", pathType: "Prefix" } : { enabled: false },
      ),
      JENKINS_URL: JSON.stringify(host ? `https://${host}` : null),
      STORAGE_CLASS: storageClass,
    },
    "manifests/jenkins.yaml",
  );
}

/** The server script's values the add-on manifests name: Terraform references, which an included file may not hold. */
export function addonValues(props: ComputeAddonsProps): Record<string, string> {
  const aws = props.monitoring?.aws;
  return aws ? { ALERTMANAGER_TOPIC_ARN: aws.topicArn, ALERTMANAGER_ROLE_ARN: aws.alertmanagerRoleArn, GRAFANA_ROLE_ARN: aws.grafanaRoleArn } : {};
}

/** The server script's manifests, each empty when its add-on is off so k3s uninstalls what it held. */
export function addonIncludes(props: ComputeAddonsProps): Record<string, string> {
  return {
    MANIFEST_MONITORING: props.monitoring ? monitoringManifest(props.monitoring, props.domain) : "",
    MANIFEST_DASHBOARDS: props.monitoring ? dashboardsManifest(props.monitoring) : "",
    MANIFEST_ARGO_CD: props.argoCd ? argoCdManifest(props.domain) : "",
    MANIFEST_JENKINS: props.jenkins ? jenkinsManifest(props.jenkins.storageClass, props.domain) : "",
  };
}

/**
 * The table the server script reads its add-on secrets from, one line per enabled add-on:
 * "<secret ARN> <namespace> <pod security level> <Kubernetes Secret> <format>". Data, not code: the script holds the one
 * loop over it.
 */
export function adminSecretTable(secrets: { readonly addon: AddonNames; readonly secretArn: string }[]): string {
  return secrets.map(({ addon, secretArn }) => [secretArn, addon.namespace, addon.podSecurity, addon.adminSecret, addon.adminSecretFormat].join(" ")).join("\n");
}

/**
 * The add-ons that are off, one line each: "<namespace> <label selector>" of the admin Secret a server wrote while it
 * was on (ADMIN_SECRET_LABEL). Its password is gone from Secrets Manager with the add-on; the copy goes too.
 */
export function removedAdminSecretTable(enabled: readonly AddonNames[]): string {
  return [MONITORING, ARGO_CD, JENKINS]
    .filter((addon) => !enabled.includes(addon))
    .map((addon) => `${addon.namespace} ${ADMIN_SECRET_LABEL}=${addon.adminSecretFormat}`)
    .join("\n");
}

/** How the server script builds each format's Secret: its keys from the document's fields, its labels. */
export interface AdminSecretFormatSpec {
  /**
   * [Secret key, field of the admin document (ADDON_ADMIN_KEYS)] pairs. Pairs, not a map: `"admin-password":
   * "password"` in the user data would read as a literal password to the secret-literal policy, and to any scanner.
   */
  readonly data: [string, AddonAdminKey][];
  /** A Secret key set to the time of writing (UTC, RFC 3339). */
  readonly modifiedAt?: string;
  readonly labels: Record<string, string>;
}

export const ADMIN_SECRET_FORMATS: Record<AdminSecretFormat, AdminSecretFormatSpec> = {
  grafana: {
    data: [
      [ADMIN_SECRET_KEYS.grafana.user, "username"],
      [ADMIN_SECRET_KEYS.grafana.password, "password"],
    ],
    labels: { [ADMIN_SECRET_LABEL]: "grafana" },
  },
  jenkins: {
    data: [
      [ADMIN_SECRET_KEYS.jenkins.user, "username"],
      [ADMIN_SECRET_KEYS.jenkins.password, "password"],
    ],
    labels: { [ADMIN_SECRET_LABEL]: "jenkins" },
  },
  // Argo CD keeps only the bcrypt hash, and rejects sessions issued before admin.passwordMtime: the servers keep the
  // time while the hash is unchanged and set it anew with a rotated password (server.sh). Its labels are those of Argo
  // CD's example argocd-secret (operator-manual/argocd-secret-yaml), which its settings informer selects on part-of.
  argocd: {
    data: [[ADMIN_SECRET_KEYS.argocd.passwordHash, "passwordBcrypt"]],
    modifiedAt: ADMIN_SECRET_KEYS.argocd.passwordMtime,
    labels: { "app.kubernetes.io/name": "argocd-secret", "app.kubernetes.io/part-of": "argocd", [ADMIN_SECRET_LABEL]: "argocd" },
  },
};
