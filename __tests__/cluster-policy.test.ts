import { resolveConfig } from "../config/resolve";
import { ConfigInput } from "../config/schema";
import { localNamed, synthCluster, writtenConfig, writtenFiles, writtenManifests } from "./helpers";

// Pod Security Admission and the API server's audit log, as a server writes them. Expectations come from the k3s CIS
// Hardening Guide (k3s-io/docs docs/security/hardening-guide.md: file paths, flags, rotation values), the Kubernetes
// docs "Enforce Pod Security Standards by Configuring the Built-in Admission Controller" and "Apply Pod Security
// Standards at the Cluster Level" (the AdmissionConfiguration), and "Auditing" (how a policy matches a request).

const PSA_FILE = "/var/lib/rancher/k3s/server/psa.yaml";
const AUDIT_POLICY_FILE = "/var/lib/rancher/k3s/server/audit.yaml";
const AUDIT_LOG_FILE = "/var/lib/rancher/k3s/server/logs/audit.log";

function serverScript(input: ConfigInput = {}): string {
  return localNamed(synthCluster(input).json, "Compute_Servers_UserData");
}

/** The one document of a file the server writes. */
function onlyDocument(script: string, path: string): any {
  const documents = writtenFiles(script)[path];
  if (!documents || documents.length !== 1) throw new Error(`expected the server to write one document to ${path}, found ${documents?.length ?? "no file"}`);
  return documents[0];
}


/** kube-apiserver's flags but the service-account issuer's. */
const policyArgs = (config: Record<string, any>): string[] => config["kube-apiserver-arg"].filter((arg: string) => !arg.startsWith("service-account-"));

describe("Pod Security Admission", () => {
  const server = serverScript();

  test("kube-apiserver reads its admission configuration from the file the server writes", () => {
    expect(writtenConfig(server)["kube-apiserver-arg"]).toContain(`admission-control-config-file=${PSA_FILE}`);
    expect(Object.keys(writtenFiles(server))).toContain(PSA_FILE);
  });

  test("by default baseline is enforced and restricted warned and audited, for the latest standards, kube-system (and monitoring's namespace) exempt", () => {
    expect(onlyDocument(server, PSA_FILE)).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "AdmissionConfiguration",
      plugins: [
        {
          name: "PodSecurity",
          configuration: {
            // v1 of the configuration needs Kubernetes 1.25+; the default release is 1.33.
            apiVersion: "pod-security.admission.config.k8s.io/v1",
            kind: "PodSecurityConfiguration",
            defaults: {
              enforce: "baseline",
              "enforce-version": "latest",
              audit: "restricted",
              "audit-version": "latest",
              warn: "restricted",
              "warn-version": "latest",
            },
            // Monitoring is on by default (prod), and its namespace needs privileged (the next tests).
            exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system", "monitoring"] },
          },
        },
      ],
    });
  });

  test("levels and exempt namespaces follow the config", () => {
    const custom = serverScript({ clusterPolicy: { podSecurity: { enforce: "restricted", audit: "restricted", warn: "baseline", exemptNamespaces: ["kube-system", "monitoring"] } } });
    const { configuration } = onlyDocument(custom, PSA_FILE).plugins[0];
    expect(configuration.defaults).toMatchObject({ enforce: "restricted", audit: "restricted", warn: "baseline" });
    expect(configuration.exemptions.namespaces).toEqual(["kube-system", "monitoring"]);
  });

  test("every namespace the server's manifests deploy into is exempt, or an add-on's that the server labels with its own level", () => {
    // Every option that adds a manifest, so each chart's namespaces are seen.
    const everything = serverScript({
      agents: { scalingMode: "cluster-autoscaler" },
      storage: { blockStorage: { enabled: true } },
      addons: { monitoring: { enabled: true }, argoCd: { enabled: true }, jenkins: { enabled: true } },
    });
    // The add-ons' namespaces get pod-security.kubernetes.io/enforce from the server script's table (asserted in
    // addons.test.ts, and applied in bootstrap-sandbox.test.ts) rather than a cluster-wide exemption.
    const labelled = [...everything.matchAll(/^\S+ ([a-z0-9-]+) (privileged|baseline|restricted) \S+ \S+$/gm)].map((line) => line[1]);
    expect(labelled).toEqual(["monitoring", "argocd", "jenkins"]);
    const exempt = [...onlyDocument(everything, PSA_FILE).plugins[0].configuration.exemptions.namespaces, ...labelled];
    // The one add-on that needs privileged is exempt from the first pod on, before the server can label its namespace.
    expect(onlyDocument(everything, PSA_FILE).plugins[0].configuration.exemptions.namespaces).toEqual(["kube-system", "monitoring"]);
    const withoutMonitoring = serverScript({ addons: { monitoring: { enabled: false }, argoCd: { enabled: true } } });
    expect(onlyDocument(withoutMonitoring, PSA_FILE).plugins[0].configuration.exemptions.namespaces).toEqual(["kube-system"]);
    const namespaces = Object.values(writtenManifests(everything))
      .flat()
      .flatMap((document) => [document?.metadata?.namespace, document?.spec?.targetNamespace])
      .filter((namespace): namespace is string => typeof namespace === "string");
    expect(namespaces.length).toBeGreaterThan(0);
    for (const namespace of new Set(namespaces)) expect(exempt).toContain(namespace);
  });

  test("the config keeps kube-system exempt and accepts only Pod Security Standards levels and namespace names", () => {
    expect(() => resolveConfig({ clusterPolicy: { podSecurity: { exemptNamespaces: ["monitoring"] } } })).toThrow(
      "clusterPolicy.podSecurity.exemptNamespaces: must include kube-system, where the cloud controller, the CSI drivers and k3s's own components run with host access that baseline refuses",
    );
    expect(() => resolveConfig({ clusterPolicy: { podSecurity: { enforce: "strict" as never } } })).toThrow(
      'clusterPolicy.podSecurity.enforce: must be "privileged", "baseline" or "restricted" (a Pod Security Standards level)',
    );
    expect(() => resolveConfig({ clusterPolicy: { podSecurity: { exemptNamespaces: ["kube-system", "Bad_Name"] } } })).toThrow("clusterPolicy.podSecurity.exemptNamespaces.1: must be a namespace name");
    expect(() => resolveConfig({ clusterPolicy: { podSecurity: { exemptNamespaces: ["kube-system", "kube-system"] } } })).toThrow(
      "clusterPolicy.podSecurity.exemptNamespaces: must not list a namespace twice",
    );
  });
});

/** A request as the audit policy sees it (Kubernetes docs, "Auditing": users, groups, verbs, resources, URLs). */
interface AuditedRequest {
  readonly user: string;
  readonly groups: string[];
  readonly verb: string;
  readonly group?: string;
  readonly resource?: string;
  readonly namespace?: string;
  readonly path?: string;
}

/**
 * The level of the first rule that matches (Kubernetes docs, "Auditing": "The first matching rule sets the audit
 * level of the event"). An empty or absent list matches everything; a nonResourceURLs entry ending in "*" is a prefix.
 */
function auditLevel(policy: any, request: AuditedRequest): string {
  return matchingAuditRule(policy, request)?.level ?? "None";
}

function matchingAuditRule(policy: any, request: AuditedRequest): any {
  const matches = (list: string[] | undefined, value: string | undefined) => !list || list.length === 0 || (value !== undefined && list.includes(value));
  const rule = policy.rules.find((candidate: any) => {
    if (!matches(candidate.users, request.user)) return false;
    if (candidate.userGroups && !candidate.userGroups.some((group: string) => request.groups.includes(group))) return false;
    if (!matches(candidate.verbs, request.verb)) return false;
    if (candidate.namespaces && !candidate.namespaces.includes(request.namespace ?? "")) return false;
    if (request.path !== undefined) {
      if (candidate.resources) return false;
      return !candidate.nonResourceURLs || candidate.nonResourceURLs.some((url: string) => (url.endsWith("*") ? request.path!.startsWith(url.slice(0, -1)) : request.path === url));
    }
    if (candidate.nonResourceURLs) return false;
    return !candidate.resources || candidate.resources.some((kind: any) => (kind.group ?? "") === (request.group ?? "") && matches(kind.resources, request.resource));
  });
  return rule;
}

describe("audit logging", () => {
  const server = serverScript();
  const policy = onlyDocument(server, AUDIT_POLICY_FILE);
  const admin = { user: "system:admin", groups: ["system:masters", "system:authenticated"] };
  const node = { user: "system:node:ip-10-0-1-23.eu-west-1.compute.internal", groups: ["system:nodes", "system:authenticated"] };

  test("kube-apiserver writes the audit log with the k3s hardening guide's policy file and rotation", () => {
    // Besides the service-account issuer's flags (block-storage.test.ts), which monitoring's alerts bring by default.
    expect(policyArgs(writtenConfig(server))).toEqual([
      `admission-control-config-file=${PSA_FILE}`,
      `audit-policy-file=${AUDIT_POLICY_FILE}`,
      `audit-log-path=${AUDIT_LOG_FILE}`,
      "audit-log-maxage=30",
      "audit-log-maxbackup=10",
      "audit-log-maxsize=100",
    ]);
  });

  test("the policy is an audit.k8s.io/v1 Policy without the RequestReceived stage", () => {
    expect([policy.apiVersion, policy.kind, policy.omitStages]).toEqual(["audit.k8s.io/v1", "Policy", ["RequestReceived"]]);
  });

  test("no rule ever records a request or response body: the most any request gets is Metadata", () => {
    expect(new Set(policy.rules.map((rule: { level: string }) => rule.level))).toEqual(new Set(["None", "Metadata"]));
  });

  test.each([
    ["a load balancer's health check", { user: "system:anonymous", groups: ["system:unauthenticated"], verb: "get", path: "/healthz" }],
    ["the readiness probe of a server's bootstrap", { ...admin, verb: "get", path: "/readyz" }],
    ["a liveness probe", { ...admin, verb: "get", path: "/livez/etcd" }],
    ["a version check", { ...admin, verb: "get", path: "/version" }],
    ["a controller recording an event", { user: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts"], verb: "create", resource: "events", namespace: "default" }],
    ["an events.k8s.io event", { ...admin, verb: "create", group: "events.k8s.io", resource: "events", namespace: "default" }],
    ["a kubelet reading its Node", { ...node, verb: "get", resource: "nodes" }],
    ["kube-proxy watching endpoints", { user: "system:kube-proxy", groups: ["system:authenticated"], verb: "watch", resource: "endpoints" }],
    ["a kubelet renewing its node lease", { ...node, verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" }],
    ["the scheduler renewing its leader lease", { user: "system:kube-scheduler", groups: ["system:authenticated"], verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system" }],
  ] as [string, AuditedRequest][])("not logged: %s", (_, request) => {
    expect(auditLevel(policy, request)).toBe("None");
  });

  test.each([
    ["a Secret created", { ...admin, verb: "create", resource: "secrets", namespace: "default" }],
    ["a Secret read by a kubelet", { ...node, verb: "get", resource: "secrets", namespace: "default" }],
    ["a ConfigMap updated in kube-system", { ...admin, verb: "update", resource: "configmaps", namespace: "kube-system" }],
    ["a service-account token requested", { ...node, verb: "create", resource: "serviceaccounts/token", namespace: "default" }],
    ["a token review", { user: "system:kube-controller-manager", groups: ["system:authenticated"], verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" }],
    ["a Deployment created", { ...admin, verb: "create", group: "apps", resource: "deployments", namespace: "default" }],
    ["a pod evicted by the drain Lambda", { user: "system:serviceaccount:kube-system:cluster-automation", groups: ["system:serviceaccounts"], verb: "create", resource: "pods/eviction", namespace: "default" }],
    ["a kubelet updating its Node's status", { ...node, verb: "patch", resource: "nodes/status" }],
    ["anyone else taking a lease in kube-system", { ...admin, verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system" }],
  ] as [string, AuditedRequest][])("logged at Metadata, without bodies: %s", (_, request) => {
    expect(auditLevel(policy, request)).toBe("Metadata");
  });

  test("credentials are held to Metadata by a rule of their own, so a looser catch-all could never log their bodies", () => {
    // The GCE policy's list: secrets, configmaps and serviceaccounts/token in the core group, tokenreviews in authentication.k8s.io.
    for (const [group, resource] of [["", "secrets"], ["", "configmaps"], ["", "serviceaccounts/token"], ["authentication.k8s.io", "tokenreviews"]]) {
      const rule = matchingAuditRule(policy, { ...admin, verb: "create", group, resource, namespace: "default" });
      expect({ resource, level: rule.level, named: rule.resources?.some((kind: any) => (kind.group ?? "") === group && kind.resources?.includes(resource)) }).toEqual({ resource, level: "Metadata", named: true });
    }
  });

  test("rotation follows the config, and turning the audit log off leaves only the admission configuration", () => {
    const rotated = writtenConfig(serverScript({ clusterPolicy: { auditLog: { maxAgeDays: 7, maxBackups: 3, maxSizeMb: 50 } } }));
    expect(rotated["kube-apiserver-arg"]).toEqual(expect.arrayContaining(["audit-log-maxage=7", "audit-log-maxbackup=3", "audit-log-maxsize=50"]));
    const off = writtenConfig(serverScript({ clusterPolicy: { auditLog: { enabled: false } } }));
    expect(policyArgs(off)).toEqual([`admission-control-config-file=${PSA_FILE}`]);
  });

  test("the config bounds how much audit log a server keeps on its disk", () => {
    expect(() => resolveConfig({ clusterPolicy: { auditLog: { maxBackups: 100, maxSizeMb: 1024 } } })).toThrow(
      "clusterPolicy.auditLog.maxSizeMb: (1024) with clusterPolicy.auditLog.maxBackups (100) keeps up to 103424 MB of audit log on each server; at most 10240 MB fit beside k3s on its disk",
    );
    expect(resolveConfig({ clusterPolicy: { auditLog: { enabled: false, maxBackups: 100, maxSizeMb: 1024 } } }).clusterPolicy.auditLog.enabled).toBe(false);
    expect(() => resolveConfig({ clusterPolicy: { auditLog: { maxAgeDays: 0 } } })).toThrow("clusterPolicy.auditLog.maxAgeDays: must be between 1 and 365");
  });
});
