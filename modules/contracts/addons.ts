/**
 * The add-ons the servers deploy (monitoring, Argo CD, Jenkins): where Terraform (the admin secrets), the server script
 * (which turns each secret into a Kubernetes Secret at boot) and the charts' values meet. Dependency-free, like
 * secrets.ts.
 */

/**
 * Keys of every add-on's admin document in Secrets Manager: modules/addons writes it with jsonencode, templates/server.sh
 * reads it. `passwordBcrypt` is random_password's bcrypt_hash of `password`, for Argo CD, which keeps only a hash.
 */
export const ADDON_ADMIN_KEYS = ["username", "password", "passwordBcrypt"] as const;
export type AddonAdminKey = (typeof ADDON_ADMIN_KEYS)[number];

/** How the server script writes an add-on's admin document into the Kubernetes Secret its chart reads. */
export type AdminSecretFormat = "grafana" | "argocd" | "jenkins";

export interface AddonNames {
  /** The HelmChart's name (kube-system) and its Helm release. */
  readonly release: string;
  /** Namespace the chart installs into; the server script creates it with the Pod Security level below. */
  readonly namespace: string;
  /**
   * `pod-security.kubernetes.io/enforce` of the namespace. Only monitoring needs `privileged`: node exporter runs
   * with the host's network and PID namespaces and hostPath mounts, which baseline refuses (Kubernetes docs, "Pod
   * Security Standards", baseline: "Host Namespaces", "HostPath Volumes").
   */
  readonly podSecurity: "privileged" | "baseline";
  /** The Kubernetes Secret the server script creates and the chart names. */
  readonly adminSecret: string;
  readonly adminSecretFormat: AdminSecretFormat;
  /** `<host>.<edge.fqdn>` is the add-on's Ingress host when a domain is configured. */
  readonly host: string;
  /** Secrets Manager name suffix: `<cluster>/<suffix>-...`. */
  readonly secretSuffix: string;
}

export const MONITORING: AddonNames = {
  release: "kube-prometheus-stack",
  namespace: "monitoring",
  podSecurity: "privileged",
  adminSecret: "grafana-admin",
  adminSecretFormat: "grafana",
  host: "grafana",
  secretSuffix: "grafana-admin",
};

/**
 * Alertmanager's service account, named in kube-prometheus-stack's values (alertmanager.serviceAccount.name; the
 * chart's default is derived from the release) and in the trust of the role it publishes alerts with.
 */
export const ALERTMANAGER_SERVICE_ACCOUNT = { namespace: MONITORING.namespace, name: "alertmanager" } as const;

/** Grafana's service account (grafana.serviceAccount.name), which the role its CloudWatch datasource reads with trusts. */
export const GRAFANA_SERVICE_ACCOUNT = { namespace: MONITORING.namespace, name: "grafana" } as const;

export const ARGO_CD: AddonNames = {
  release: "argo-cd",
  namespace: "argocd",
  podSecurity: "baseline",
  // The chart's own Secret, created here instead of by the chart (configs.secret.createSecret: false), as Argo CD's
  // docs describe it (operator-manual/argocd-secret-yaml).
  adminSecret: "argocd-secret",
  adminSecretFormat: "argocd",
  host: "argocd",
  secretSuffix: "argocd-admin",
};

export const JENKINS: AddonNames = {
  release: "jenkins",
  namespace: "jenkins",
  podSecurity: "baseline",
  adminSecret: "jenkins-admin",
  adminSecretFormat: "jenkins",
  host: "jenkins",
  secretSuffix: "jenkins-admin",
};

/**
 * The label the servers put on every admin Secret they write, valued with its format: a server removes the Secrets of
 * add-ons turned off by it, and so never touches a Secret it did not write.
 */
export const ADMIN_SECRET_LABEL = "k3s-aws.bootstrap/admin-secret";

/**
 * Keys of the Kubernetes Secrets, by format. Grafana's and Jenkins's are the charts' defaults (grafana 12.11.1
 * `admin.userKey`/`admin.passwordKey`, jenkins 5.9.53 `controller.admin.userKey`/`passwordKey`), set explicitly in the
 * values from here; Argo CD's are fixed by Argo CD (argocd-secret: `admin.password`, a bcrypt hash, and
 * `admin.passwordMtime`).
 */
export const ADMIN_SECRET_KEYS = {
  grafana: { user: "admin-user", password: "admin-password" },
  jenkins: { user: "jenkins-admin-user", password: "jenkins-admin-password" },
  argocd: { passwordHash: "admin.password", passwordMtime: "admin.passwordMtime" },
} as const;

/** The admin user name the documents hold; Argo CD's built-in admin is always "admin". */
export const ADDON_ADMIN_USER = "admin";

/**
 * The label Grafana's dashboard sidecar watches ConfigMaps for: kube-prometheus-stack 88.5.3 values.yaml,
 * `grafana.sidecar.dashboards.label` / `labelValue` (its defaults, set explicitly in the values from here).
 */
export const GRAFANA_DASHBOARD_LABEL = { key: "grafana_dashboard", value: "1" } as const;

/**
 * Datasource UIDs kube-prometheus-stack 88.5.3 provisions (values.yaml `grafana.sidecar.datasources.uid` and
 * `.alertmanager.uid`, defaults set explicitly from here); every dashboard panel names one of them.
 */
export const GRAFANA_DATASOURCE_UIDS = { prometheus: "prometheus", alertmanager: "alertmanager", cloudWatch: "cloudwatch" } as const;

/** An add-on's name under the applications' domain (`edge.fqdn`): its Ingress host, DNS record and certificate name. */
export function addonHost(addon: AddonNames, domain: string): string {
  return `${addon.host}.${domain}`;
}
