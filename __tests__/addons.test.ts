import { gzipSync } from "zlib";
import { load } from "js-yaml";
import { resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { asDelivered, documentOf, documentStatements, localNamed, ref, resourceNamed, resourcesOf, synthCluster, TerraformJson, writtenConfig, writtenManifests } from "./helpers";

// The add-ons the servers deploy (README "Add-ons"). Expectations come from the pinned charts' values.yaml:
// kube-prometheus-stack 88.5.3 (prometheus-community/helm-charts ea930bae) with grafana 12.11.1
// (grafana-community/helm-charts 864f7794), kube-state-metrics 8.4.0 and prometheus-node-exporter 4.56.1; argo-cd 10.1.1
// (argoproj/argo-helm af0a9310); jenkins 5.9.53 (jenkinsci/helm-charts 22055414); from k3s-io/helm-controller's HelmChart
// type (pkg/apis/helm.cattle.io/v1/types.go) and Traefik's Ingress annotations (routing/providers/kubernetes-ingress).

const EVERY_ADDON: ConfigInput = { addons: { argoCd: { enabled: true }, jenkins: { enabled: true } } };
const DOMAIN = { edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: "apps.example.com" } };

function server(json: TerraformJson): string {
  return localNamed(json, "Compute_Servers_UserData");
}
function chart(json: TerraformJson, manifest: string): { chart: any; values: any } {
  const helmChart = documentOf(writtenManifests(server(json))[manifest], "HelmChart");
  return { chart: helmChart, values: load(helmChart.spec.valuesContent) };
}
/** The servers' inline policy statements, by sid. */
function serverSecretStatements(json: TerraformJson): Record<string, any> {
  const policy = resourcesOf(json, "aws_iam_role_policy").find(([id, body]) => id.startsWith("Compute_Servers_Role_") && body.name === "cluster-secrets")![1];
  const document = /data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json/.exec(policy.policy)![1];
  return Object.fromEntries(json.data!.aws_iam_policy_document[document].statement.map((statement: any) => [statement.sid, statement]));
}

describe("defaults", () => {
  test("monitoring is on in prod and staging, off in dev; Argo CD and Jenkins are off everywhere", () => {
    for (const environment of ["prod", "staging"] as const) expect(resolveConfig({ environment }).addons.monitoring.enabled).toBe(true);
    expect(resolveConfig({ environment: "dev" }).addons.monitoring.enabled).toBe(false);
    expect(resolveConfig({ environment: "dev", addons: { monitoring: { enabled: true } } }).addons.monitoring.enabled).toBe(true);
    const { addons } = resolveConfig({});
    expect([addons.argoCd.enabled, addons.jenkins.enabled]).toEqual([false, false]);
  });
});

describe("config", () => {
  test.each([
    [{ addons: { monitoring: { retentionDays: 0 } } }, "addons.monitoring.retentionDays: must be between 1 and 365"],
    [{ addons: { monitoring: { storageGb: 2 } } }, "addons.monitoring.storageGb: must be between 5 and 1000"],
    [{ addons: { argoCd: { enabled: "yes" } } }, "addons.argoCd.enabled: "],
    [{ addons: { grafana: {} } }, 'addons: unknown key "grafana"'],
  ] as [unknown, string][])("%j is refused: %s", (input, message) => {
    expect(() => resolveConfig(input)).toThrow(message);
  });
});

describe("monitoring: kube-prometheus-stack", () => {
  const json = synthCluster({}).json;
  const { chart: helmChart, values } = chart(json, "kube-prometheus-stack");

  test("is the pinned chart from prometheus-community's repository, installed into its own namespace", () => {
    // prometheus-community/helm-charts README: `helm repo add prometheus-community https://prometheus-community.github.io/helm-charts`.
    expect(helmChart.metadata).toEqual({ name: "kube-prometheus-stack", namespace: "kube-system" });
    expect(helmChart.spec).toEqual({
      repo: "https://prometheus-community.github.io/helm-charts",
      chart: "kube-prometheus-stack",
      version: "88.5.3",
      targetNamespace: "monitoring",
      createNamespace: true,
      valuesContent: expect.any(String),
    });
  });

  test("the control-plane targets k3s does not expose are off: controller manager, scheduler, proxy (one k3s process) and etcd (kine on RDS)", () => {
    for (const component of ["kubeControllerManager", "kubeScheduler", "kubeProxy", "kubeEtcd"]) expect(values[component]).toEqual({ enabled: false });
    // The API server and the kubelets stay scraped: the chart's defaults, untouched.
    expect(values.kubeApiServer).toBeUndefined();
    expect(values.kubelet).toBeUndefined();
  });

  test("every component has requests and a memory limit sized for a small cluster", () => {
    const resources = [
      values.prometheusOperator.resources,
      values.prometheus.prometheusSpec.resources,
      values.alertmanager.alertmanagerSpec.resources,
      values.grafana.resources,
      values["kube-state-metrics"].resources,
      values["prometheus-node-exporter"].resources,
    ];
    for (const resource of resources) {
      expect(Object.keys(resource.requests).sort()).toEqual(["cpu", "memory"]);
      expect(Object.keys(resource.limits)).toEqual(["memory"]);
    }
    expect(values.prometheus.prometheusSpec.resources).toEqual({ requests: { cpu: "200m", memory: "768Mi" }, limits: { memory: "2Gi" } });
  });

  test("without block storage Prometheus is on an emptyDir, kept a day and cut at 4 GiB of its 5 GiB; never on efs", () => {
    // prometheus-operator StorageSpec: emptyDir with sizeLimit; retention "[0-9]+(ms|s|m|h|d|w|y)", retentionSize "<n>GiB".
    expect(values.prometheus.prometheusSpec).toMatchObject({ retention: "1d", retentionSize: "4GiB", storageSpec: { emptyDir: { sizeLimit: "5Gi" } } });
    expect(values.alertmanager.alertmanagerSpec.storage).toEqual({});
    expect(helmChart.spec.valuesContent).not.toContain("efs");
  });

  test("with block storage Prometheus and Alertmanager claim gp3 volumes, Prometheus sized and retained by the config", () => {
    const gp3 = chart(synthCluster({ storage: { blockStorage: { enabled: true } }, addons: { monitoring: { retentionDays: 30, storageGb: 50 } } }).json, "kube-prometheus-stack").values;
    const claim = (size: string) => ({ volumeClaimTemplate: { spec: { storageClassName: "gp3", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } } } });
    expect(gp3.prometheus.prometheusSpec).toMatchObject({ retention: "30d", retentionSize: "40GiB", storageSpec: claim("50Gi") });
    expect(gp3.alertmanager.alertmanagerSpec.storage).toEqual(claim("1Gi"));
    // Even where efs is the default class, Prometheus names gp3.
    const efsDefault = chart(synthCluster({ storage: { blockStorage: { enabled: true }, defaultStorageClass: "efs" } }).json, "kube-prometheus-stack").values;
    expect(efsDefault.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName).toBe("gp3");
  });

  test("node exporter listens on the port the nodes' security groups open to each other", () => {
    // prometheus-node-exporter 4.56.1 values.yaml: service.port "sets the port of the exposed container as well".
    const port = values["prometheus-node-exporter"].service.port;
    expect(port).toBe(9100);
    const nodeGroups = ["Server", "Agent"].map((group) => ref(json, "aws_security_group", `Networking_SecurityGroups_${group}`, "id"));
    const opened = resourcesOf(json, "aws_vpc_security_group_ingress_rule").filter(([, rule]) => rule.from_port === port && rule.to_port === port);
    expect(opened.map(([, rule]) => [nodeGroups.indexOf(rule.security_group_id), nodeGroups.indexOf(rule.referenced_security_group_id)]).sort()).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
  });

  test("node exporter tolerates the taint the servers' config.yaml sets, as well as the chart's default NoSchedule toleration", () => {
    const [taint] = writtenConfig(server(json))["node-taint"] as string[];
    const [key, effect] = [taint.split("=")[0], taint.split(":")[1]];
    expect(effect).toBe("NoExecute");
    const tolerations = values["prometheus-node-exporter"].tolerations;
    // prometheus-node-exporter 4.56.1 values.yaml: tolerations [{effect: NoSchedule, operator: Exists}] by default.
    expect(tolerations).toContainEqual({ effect: "NoSchedule", operator: "Exists" });
    // A toleration with operator Exists and no effect matches every effect of its key (Kubernetes docs, "Taints and Tolerations").
    expect(tolerations).toContainEqual({ key, operator: "Exists" });
  });

  test("Grafana's admin comes from an existing Secret; no password anywhere in the values", () => {
    // grafana 12.11.1 values.yaml: admin.existingSecret, admin.userKey (admin-user), admin.passwordKey (admin-password).
    expect(values.grafana.admin).toEqual({ existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    expect(values.grafana.adminPassword).toBeUndefined();
  });

  test("kube_node_labels carries the agents' capacity type and the instance type, for the cost dashboard", () => {
    // kube-state-metrics 8.4.0 values.yaml: metricLabelsAllowlist, "<resource>=[<label>,...]".
    expect(values["kube-state-metrics"].metricLabelsAllowlist).toEqual(["nodes=[node.kubernetes.io/capacity-type,node.kubernetes.io/instance-type]"]);
  });

  test("without a domain Grafana has no Ingress (port-forward); with one it is grafana.<fqdn> on Traefik's websecure entry point only", () => {
    expect(values.grafana.ingress).toEqual({ enabled: false });
    expect(values.grafana["grafana.ini"]).toEqual({});
    const withDomain = chart(synthCluster(DOMAIN).json, "kube-prometheus-stack").values;
    // grafana 12.11.1 values.yaml: grafana.ini is merged into the chart's own (which sets server.domain from the Ingress).
    expect(withDomain.grafana["grafana.ini"]).toEqual({ server: { root_url: "https://grafana.apps.example.com" } });
    expect(withDomain.grafana.ingress).toEqual({
      enabled: true,
      ingressClassName: "traefik",
      annotations: { "traefik.ingress.kubernetes.io/router.entrypoints": "websecure", "traefik.ingress.kubernetes.io/router.tls": "true" },
      hosts: ["grafana.apps.example.com"],
      path: "/",
    });
  });

  test("off (dev, or disabled): its manifests are written empty, so k3s uninstalls the chart and the dashboards", () => {
    for (const input of [{ environment: "dev" as const }, { addons: { monitoring: { enabled: false } } }]) {
      const manifests = writtenManifests(server(synthCluster(input).json));
      expect([manifests["kube-prometheus-stack"], manifests["grafana-dashboards"]]).toEqual([[], []]);
    }
  });
});

describe("monitoring's AWS access: Alertmanager to the automation topic, Grafana from CloudWatch", () => {
  // Alertmanager's sns_config (prometheus/alertmanager docs/configuration.md: topic_arn, sigv4 region; send_resolved
  // defaults to true); kube-prometheus-stack 88.5.3 values.yaml: alertmanager.serviceAccount.name, alertmanager.config
  // (merged into the chart's map: global, grouping and inhibit rules stay), alertmanagerSpec.containers (merged by
  // name into the operator's own container), volumes, volumeMounts.
  const json = synthCluster({}).json;
  const { values } = chart(json, "kube-prometheus-stack");
  const alertmanager = values.alertmanager;
  const roleArn = (name: string) => resourceNamed(json, "aws_iam_role", name);
  const role = roleArn("WorkloadIdentity_AlertmanagerRole");
  // As the servers' values carry it: the account the issuer's construct reads.
  const account = `tf:data.aws_caller_identity.${Object.keys(json.data!.aws_caller_identity).find((id) => id.startsWith("WorkloadIdentity_Account_"))}.account_id`;

  test("warning and critical alerts go to the topic; Watchdog, InfoInhibitor and info alerts stay on the null receiver", () => {
    const topic = resourceNamed(json, "aws_sns_topic", "Automation_NotificationTopic");
    // The ARN built from names is the topic's: sns:<region>:<account>:<name> (SNS ARN format).
    const topicArn = `arn:aws:sns:eu-west-1:${account}:${topic.name}`;
    expect(alertmanager.config).toEqual({
      // Grouped by alert name as well as namespace (the chart's grouping), so a group has the common alertname the subject names.
      route: { receiver: "null", routes: [{ receiver: "automation-topic", matchers: ['severity =~ "critical|warning"'], group_by: ["namespace", "alertname"] }] },
      receivers: [{ name: "null" }, { name: "automation-topic", sns_configs: [{ topic_arn: topicArn, sigv4: { region: "eu-west-1" }, subject: expect.any(String) }] }],
    });
    // The chart's rules: Watchdog has severity "none", InfoInhibitor "none", the rest critical, warning or info.
    const matcher = new RegExp(`^(${/"(.*)"/.exec(alertmanager.config.route.routes[0].matchers[0])![1]})$`);
    expect(["critical", "warning"].every((severity) => matcher.test(severity))).toBe(true);
    expect(["info", "none", "criticalish"].some((severity) => matcher.test(severity))).toBe(false);
  });

  test("the subject stays under SNS's 100 characters whatever the labels hold (Publish API; prometheus/alertmanager#2781)", () => {
    const subject: string = alertmanager.config.receivers[1].sns_configs[0].subject;
    // The longest text each Go template action can print: the status upper-cased (FIRING or RESOLVED), the count of
    // firing alerts (4 digits, a group of thousands), a printf with a precision; anything else is unbounded.
    const longest = (action: string): number => {
      if (/^if |^end$|^else$/.test(action)) return 0;
      if (action === ".Status | toUpper") return "RESOLVED".length;
      if (action === ".Alerts.Firing | len") return 4;
      const printf = /^printf "%\.(\d+)s" \.[A-Za-z.]+$/.exec(action);
      if (printf) return Number(printf[1]);
      throw new Error(`unbounded template action in the subject: {{ ${action} }}`);
    };
    const actions = [...subject.matchAll(/\{\{\s*(.*?)\s*\}\}/g)].map((match) => match[1]);
    const literal = subject.replace(/\{\{.*?\}\}/g, "");
    expect(literal.length + actions.reduce((sum, action) => sum + longest(action), 0)).toBeLessThan(100);
    // It names the alert and its namespace.
    expect(actions).toEqual(expect.arrayContaining(['printf "%.40s" .CommonLabels.alertname', 'printf "%.40s" .GroupLabels.namespace']));
  });

  test("Alertmanager's container assumes the role with its service account's token, and only that account may", () => {
    const env = Object.fromEntries(alertmanager.alertmanagerSpec.containers.find((container: any) => container.name === "alertmanager").env.map((variable: any) => [variable.name, variable.value]));
    // Built from the role's name, as the role is created after the servers' values.
    expect(env.AWS_ROLE_ARN).toBe(`arn:aws:iam::${account}:role/${role.name}`);
    const [volume] = alertmanager.alertmanagerSpec.volumes;
    const [mount] = alertmanager.alertmanagerSpec.volumeMounts;
    expect(mount).toEqual({ name: volume.name, mountPath: expect.any(String), readOnly: true });
    const [{ serviceAccountToken }] = volume.projected.sources;
    expect(env.AWS_WEB_IDENTITY_TOKEN_FILE).toBe(`${mount.mountPath}/${serviceAccountToken.path}`);
    const trust = documentStatements(json, role.assume_role_policy)[0];
    const [sub, aud] = trust.condition;
    expect(sub.values).toEqual([`system:serviceaccount:monitoring:${alertmanager.serviceAccount.name}`]);
    expect(aud.values).toEqual([serviceAccountToken.audience]);
  });

  test("the role may publish to the topic and use its key, nothing else", () => {
    const policy = resourcesOf(json, "aws_iam_role_policy").find(([id]) => id.startsWith("WorkloadIdentity_AlertmanagerRolePolicy"))![1];
    expect(policy.role).toBe(ref(json, "aws_iam_role", "WorkloadIdentity_AlertmanagerRole", "id"));
    const statements = documentStatements(json, policy.policy);
    expect(statements.map((statement) => [statement.actions, statement.resources])).toEqual([
      [["sns:Publish"], [ref(json, "aws_sns_topic", "Automation_NotificationTopic", "arn")]],
      [["kms:GenerateDataKey", "kms:Decrypt"], [ref(json, "aws_kms_key", "Automation_NotificationKey", "arn")]],
    ]);
  });

  test("Grafana reads CloudWatch with a role only its service account may assume, limited to reading metrics", () => {
    const grafana = values.grafana;
    const grafanaRole = resourceNamed(json, "aws_iam_role", "WorkloadIdentity_GrafanaRole");
    expect(grafana.env.AWS_ROLE_ARN).toBe(`arn:aws:iam::${account}:role/${grafanaRole.name}`);
    const [sub, aud] = documentStatements(json, grafanaRole.assume_role_policy)[0].condition;
    expect(sub.values).toEqual([`system:serviceaccount:monitoring:${grafana.serviceAccount.name}`]);
    expect(aud.values).toEqual([grafana.extraSecretMounts[0].projected.sources[0].serviceAccountToken.audience]);
    const policy = resourcesOf(json, "aws_iam_role_policy").find(([id]) => id.startsWith("WorkloadIdentity_GrafanaRolePolicy"))![1];
    expect(documentStatements(json, policy.policy).map((statement) => [statement.actions, statement.resources, statement.condition])).toEqual([
      [["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], ["*"], [{ test: "StringEquals", variable: "aws:RequestedRegion", values: ["eu-west-1"] }]],
    ]);
  });

  test("without the aws partition's CloudFront there is no issuer: monitoring runs with the chart's null receiver", () => {
    const china = synthCluster({ region: "cn-north-1" }).json;
    const { values: chinaValues } = chart(china, "kube-prometheus-stack");
    expect(chinaValues.alertmanager.config).toEqual({});
    expect(chinaValues.alertmanager.alertmanagerSpec.containers).toEqual([]);
    expect(chinaValues.grafana.additionalDataSources).toEqual([]);
    expect(chinaValues.grafana.env).toEqual({});
    expect(resourcesOf(china, "aws_iam_openid_connect_provider")).toEqual([]);
  });
});

describe("Argo CD", () => {
  const { chart: helmChart, values } = chart(synthCluster(EVERY_ADDON).json, "argo-cd");

  test("is the pinned argo-cd chart from argo-helm, in its own namespace", () => {
    // argoproj/argo-helm README: `helm repo add argo https://argoproj.github.io/argo-helm`.
    expect(helmChart.spec).toEqual({
      repo: "https://argoproj.github.io/argo-helm",
      chart: "argo-cd",
      version: "10.1.1",
      targetNamespace: "argocd",
      createNamespace: true,
      valuesContent: expect.any(String),
    });
  });

  test("leaves argocd-secret to the servers, serves plain HTTP behind Traefik, and has no Ingress without a domain", () => {
    // argo-cd 10.1.1 values.yaml: configs.secret.createSecret, configs.params (argocd-cmd-params-cm), server.ingress.
    expect(values.configs).toEqual({ secret: { createSecret: false }, params: { "server.insecure": true } });
    expect(values.configs.secret.argocdServerAdminPassword).toBeUndefined();
    expect(values.server.ingress).toEqual({ enabled: false });
    expect(values.global).toEqual({});
  });

  test("with a domain: argocd.<fqdn>, on websecure only, and its URL", () => {
    const withDomain = chart(synthCluster({ ...EVERY_ADDON, ...DOMAIN }).json, "argo-cd").values;
    expect(withDomain.global).toEqual({ domain: "argocd.apps.example.com" });
    expect(withDomain.server.ingress).toEqual({
      enabled: true,
      ingressClassName: "traefik",
      annotations: { "traefik.ingress.kubernetes.io/router.entrypoints": "websecure", "traefik.ingress.kubernetes.io/router.tls": "true" },
      hostname: "argocd.apps.example.com",
    });
  });
});

describe("Jenkins", () => {
  const { chart: helmChart, values } = chart(synthCluster(EVERY_ADDON).json, "jenkins");

  test("is the pinned jenkins chart from charts.jenkins.io, in its own namespace", () => {
    // jenkinsci/helm-charts README: `helm repo add jenkins https://charts.jenkins.io`.
    expect(helmChart.spec).toEqual({ repo: "https://charts.jenkins.io", chart: "jenkins", version: "5.9.53", targetNamespace: "jenkins", createNamespace: true, valuesContent: expect.any(String) });
  });

  test("admin from the servers' Secret; JENKINS_HOME on efs without block storage, gp3 with it", () => {
    // jenkins 5.9.53 values.yaml: controller.admin.{existingSecret,userKey,passwordKey}, persistence.storageClass.
    expect(values.controller.admin).toEqual({ existingSecret: "jenkins-admin", userKey: "jenkins-admin-user", passwordKey: "jenkins-admin-password" });
    expect(values.controller.admin.password).toBeUndefined();
    expect(values.persistence).toEqual({ storageClass: "efs" });
    expect(values.controller.ingress).toEqual({ enabled: false });
    expect(values.controller.jenkinsUrl).toBeNull();
    const gp3 = chart(synthCluster({ ...EVERY_ADDON, storage: { blockStorage: { enabled: true } } }).json, "jenkins").values;
    expect(gp3.persistence).toEqual({ storageClass: "gp3" });
  });

  test("with a domain: jenkins.<fqdn> on websecure only, and Jenkins's URL says https", () => {
    const withDomain = chart(synthCluster({ ...EVERY_ADDON, ...DOMAIN }).json, "jenkins").values;
    expect(withDomain.controller.ingress).toEqual({
      enabled: true,
      ingressClassName: "traefik",
      annotations: { "traefik.ingress.kubernetes.io/router.entrypoints": "websecure", "traefik.ingress.kubernetes.io/router.tls": "true" },
      hostName: "jenkins.apps.example.com",
      path: "/",
      pathType: "Prefix",
    });
    expect(withDomain.controller.jenkinsUrl).toBe("https://jenkins.apps.example.com");
  });

  test("off by default: Argo CD's and Jenkins's manifests are written empty", () => {
    const manifests = writtenManifests(server(synthCluster({}).json));
    expect([manifests["argo-cd"], manifests.jenkins]).toEqual([[], []]);
  });
});

describe("admin secrets", () => {
  const json = synthCluster(EVERY_ADDON).json;

  test.each(["Grafana", "ArgoCd", "Jenkins"])("%s: a random_password in a Secrets Manager secret, its result and bcrypt hash referenced only there", (name) => {
    const secret = resourceNamed(json, "aws_secretsmanager_secret", `Addons_${name}AdminSecret`);
    expect(secret.recovery_window_in_days).toBe(7);
    const password = `random_password.${Object.keys(json.resource.random_password).find((id) => id.startsWith(`Addons_${name}AdminPassword_`))}`;
    expect(resourceNamed(json, "random_password", `Addons_${name}AdminPassword`)).toMatchObject({ length: 32, special: false });
    const version = resourceNamed(json, "aws_secretsmanager_secret_version", `Addons_${name}AdminSecretValue`);
    expect(version.secret_id).toBe(ref(json, "aws_secretsmanager_secret", `Addons_${name}AdminSecret`, "id"));
    expect(version.secret_string).toBe(`\${jsonencode({"username" = "admin", "password" = ${password}.result, "passwordBcrypt" = ${password}.bcrypt_hash})}`);
    // Anywhere else in the JSON (user data, locals, outputs), the password would be readable.
    const elsewhere = JSON.stringify({ ...json, resource: { ...json.resource, aws_secretsmanager_secret_version: {} } });
    expect(elsewhere).not.toContain(`${password}.result`);
    expect(elsewhere).not.toContain(`${password}.bcrypt_hash`);
  });

  test("the server role may read exactly the add-on secrets, and the servers boot after their values exist", () => {
    const arns = ["Grafana", "ArgoCd", "Jenkins"].map((name) => ref(json, "aws_secretsmanager_secret", `Addons_${name}AdminSecret`, "arn"));
    expect(serverSecretStatements(json).ReadAddonAdminSecrets).toEqual({ sid: "ReadAddonAdminSecrets", actions: ["secretsmanager:GetSecretValue"], resources: arns });
    // No other statement of any policy document names them: the agents never read them.
    const others = Object.values(json.data!.aws_iam_policy_document).flatMap((document: any) => document.statement).filter((statement: any) => statement.sid !== "ReadAddonAdminSecrets");
    for (const arn of arns) expect(JSON.stringify(others)).not.toContain(arn);
    const dependsOn = resourceNamed(json, "aws_autoscaling_group", "Compute_Servers_Group").depends_on as string[];
    for (const name of ["Grafana", "ArgoCd", "Jenkins"]) {
      expect(dependsOn).toContainEqual(expect.stringMatching(new RegExp(`^aws_secretsmanager_secret_version\\.Addons_${name}AdminSecretValue_`)));
    }
  });

  test("the user data names each secret by ARN only, in the table the server script reads", () => {
    const table = /^ADDON_ADMIN_SECRETS="([^"]*)"$/m.exec(server(json))![1].split("\n").map((line) => line.split(" "));
    expect(table).toEqual([
      [ref(json, "aws_secretsmanager_secret", "Addons_GrafanaAdminSecret", "arn"), "monitoring", "privileged", "grafana-admin", "grafana"],
      [ref(json, "aws_secretsmanager_secret", "Addons_ArgoCdAdminSecret", "arn"), "argocd", "baseline", "argocd-secret", "argocd"],
      [ref(json, "aws_secretsmanager_secret", "Addons_JenkinsAdminSecret", "arn"), "jenkins", "baseline", "jenkins-admin", "jenkins"],
    ]);
    expect(server(json)).not.toMatch(/random_password\./);
  });

  test("with every add-on off there is no secret, no statement and an empty table", () => {
    const none = synthCluster({ environment: "dev" }).json;
    expect(resourcesOf(none, "aws_secretsmanager_secret").filter(([id]) => id.startsWith("Addons_"))).toEqual([]);
    expect(serverSecretStatements(none).ReadAddonAdminSecrets).toBeUndefined();
    expect(server(none)).toMatch(/^ADDON_ADMIN_SECRETS=""$/m);
  });
});

describe("names under the domain", () => {
  const json = synthCluster({ ...EVERY_ADDON, ...DOMAIN }).json;
  const hosts = ["grafana.apps.example.com", "argocd.apps.example.com", "jenkins.apps.example.com"];

  test("each add-on's host is in the regional certificate and aliases what the applications' name aliases", () => {
    expect(resourceNamed(json, "aws_acm_certificate", "Domain_Certificate").subject_alternative_names).toEqual(hosts);
    const records = resourcesOf(json, "aws_route53_record").map(([, record]) => record);
    const application = records.find((record) => record.name === "apps.example.com");
    for (const host of hosts) expect(records.find((record) => record.name === host)).toEqual({ ...application, name: host });
  });

  test("behind CloudFront the distribution serves them too, with a certificate naming them", () => {
    const cloudFront = synthCluster({ ...EVERY_ADDON, edge: { ...DOMAIN.edge, cloudFront: { enabled: true } } }).json;
    expect(resourceNamed(cloudFront, "aws_cloudfront_distribution", "FrontDoor_Distribution").aliases).toEqual(["apps.example.com", ...hosts]);
    expect(resourceNamed(cloudFront, "aws_acm_certificate", "FrontDoor_ViewerCertificate").subject_alternative_names).toEqual(hosts);
  });

  test("without the add-ons the certificate names the applications only", () => {
    const none = synthCluster({ ...DOMAIN, addons: { monitoring: { enabled: false } } }).json;
    expect(resourceNamed(none, "aws_acm_certificate", "Domain_Certificate").subject_alternative_names).toBeUndefined();
  });
});

describe("user data size", () => {
  test("with every add-on, block storage, a domain, cluster-autoscaler and the longest names, the server's user data fits EC2's 16 KB", () => {
    // As compute.test.ts measures it: EC2 counts the gzip stream that base64gzip encodes (EC2 user guide, "Work with
    // instance user data"), with references as long as real ones.
    const EC2_USER_DATA_LIMIT = 16 * 1024;
    const input: ConfigInput = {
      clusterName: "k3s-abcdefghijklmnop",
      agents: { scalingMode: "cluster-autoscaler" },
      storage: { blockStorage: { enabled: true } },
      api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"] },
      edge: { hostedZone: "Z0123456789ABCDEFGHIJ", fqdn: `${"a".repeat(47)}.example.com` },
      ...EVERY_ADDON,
    };
    const realLength = (reference: string) =>
      reference.endsWith(".arn")
        ? `arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:k3s-abcdefghijklmnop/automation-access-${"0".repeat(26)}-AbCdEf`
        : `internal-k3s-abcdefghijklmnop-api-0123456789.us-gov-west-1.elb.amazonaws.com`;
    const delivered = asDelivered(server(synthCluster(input).json), realLength);
    expect(gzipSync(delivered).length).toBeLessThan(EC2_USER_DATA_LIMIT);
  });
});
