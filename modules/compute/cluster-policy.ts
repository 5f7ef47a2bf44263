import { serviceAccountIssuerArgs } from "./service-account-issuer";
import type { AddonNames } from "../contracts/addons";
import { readTemplate } from "./user-data";

/** Pod Security Standards levels (Kubernetes docs, "Pod Security Standards"). */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface PodSecurityProps {
  /** Level whose violations are refused. */
  readonly enforce: PodSecurityLevel;
  /** Level whose violations are recorded in the audit log. */
  readonly audit: PodSecurityLevel;
  /** Level whose violations are returned to the client as warnings. */
  readonly warn: PodSecurityLevel;
  /** Namespaces no level applies to. */
  readonly exemptNamespaces: string[];
}

export interface AuditLogProps {
  /** Whether kube-apiserver writes an audit log. */
  readonly enabled: boolean;
  /** Days a rotated log file is kept (--audit-log-maxage). */
  readonly maxAgeDays: number;
  /** Rotated log files kept (--audit-log-maxbackup). */
  readonly maxBackups: number;
  /** Size in megabytes at which the log is rotated (--audit-log-maxsize). */
  readonly maxSizeMb: number;
}

export interface ClusterPolicyProps {
  readonly podSecurity: PodSecurityProps;
  readonly auditLog: AuditLogProps;
}

/**
 * Where a server keeps the API server's policy files and audit log: the paths of the k3s CIS Hardening Guide
 * (k3s-io/docs docs/security/hardening-guide.md), under k3s's own server directory. Written by the server script
 * and named in its config.yaml from here only.
 */
export const CLUSTER_POLICY_PATHS = {
  admissionConfigFile: "/var/lib/rancher/k3s/server/psa.yaml",
  auditPolicyFile: "/var/lib/rancher/k3s/server/audit.yaml",
  auditLogDirectory: "/var/lib/rancher/k3s/server/logs",
  auditLogFile: "/var/lib/rancher/k3s/server/logs/audit.log",
} as const;

/**
 * The `kube-apiserver-arg` block of a server's config.yaml: the admission configuration always (Pod Security
 * Admission is on in every Kubernetes release k3s ships, and its defaults are this file), the audit flags when the
 * audit log is on. Flag names from the k3s CIS Hardening Guide and kube-apiserver's reference.
 */
export function kubeApiserverArgsYaml(policy: ClusterPolicyProps, serviceAccountIssuerUrl?: string): string {
  const { auditLog } = policy;
  const args = [
    ...(serviceAccountIssuerUrl ? serviceAccountIssuerArgs(serviceAccountIssuerUrl) : []),
    `admission-control-config-file=${CLUSTER_POLICY_PATHS.admissionConfigFile}`,
    ...(auditLog.enabled
      ? [
          `audit-policy-file=${CLUSTER_POLICY_PATHS.auditPolicyFile}`,
          `audit-log-path=${CLUSTER_POLICY_PATHS.auditLogFile}`,
          `audit-log-maxage=${auditLog.maxAgeDays}`,
          `audit-log-maxbackup=${auditLog.maxBackups}`,
          `audit-log-maxsize=${auditLog.maxSizeMb}`,
        ]
      : []),
  ];
  // Plain scalars, like kubelet-arg above them: paths and numbers hold nothing YAML would read otherwise.
  return ["kube-apiserver-arg:", ...args.map((arg) => `  - ${arg}`)].join("\n");
}

/** The files the server script includes verbatim (their placeholders are filled by clusterPolicyValues). */
export function clusterPolicyIncludes(): Record<string, string> {
  return {
    POD_SECURITY_ADMISSION_CONFIG: readTemplate("cluster-policy/pod-security-admission.yaml").trimEnd(),
    AUDIT_POLICY: readTemplate("cluster-policy/audit-policy.yaml").trimEnd(),
  };
}

/**
 * The policy with the namespaces of enabled add-ons that need `privileged` exempt from the start. The servers label
 * such a namespace privileged, but only once the API answers, after k3s has started the charts; until then baseline
 * would refuse their pods (node exporter's host namespaces), and a DaemonSet retries a refused pod with a growing
 * back-off. An exemption is the same level, in force before the first pod.
 */
export function withPrivilegedAddonsExempt(policy: ClusterPolicyProps, addons: readonly Pick<AddonNames, "namespace" | "podSecurity">[]): ClusterPolicyProps {
  const privileged = addons.filter((addon) => addon.podSecurity === "privileged").map((addon) => addon.namespace);
  const exemptNamespaces = [...policy.podSecurity.exemptNamespaces, ...privileged.filter((namespace) => !policy.podSecurity.exemptNamespaces.includes(namespace))];
  return { ...policy, podSecurity: { ...policy.podSecurity, exemptNamespaces } };
}

/** Placeholder values for the server script and the files it includes. */
export function clusterPolicyValues(policy: ClusterPolicyProps, serviceAccountIssuerUrl?: string): Record<string, string> {
  const { podSecurity } = policy;
  return {
    POD_SECURITY_ENFORCE: podSecurity.enforce,
    POD_SECURITY_AUDIT: podSecurity.audit,
    POD_SECURITY_WARN: podSecurity.warn,
    // A YAML flow sequence; namespace names are DNS labels (checked by the config), so JSON quoting is YAML quoting.
    POD_SECURITY_EXEMPT_NAMESPACES: JSON.stringify(podSecurity.exemptNamespaces),
    ADMISSION_CONFIG_FILE: CLUSTER_POLICY_PATHS.admissionConfigFile,
    AUDIT_POLICY_FILE: CLUSTER_POLICY_PATHS.auditPolicyFile,
    AUDIT_LOG_DIRECTORY: CLUSTER_POLICY_PATHS.auditLogDirectory,
    KUBE_APISERVER_ARGS: kubeApiserverArgsYaml(policy, serviceAccountIssuerUrl),
  };
}
