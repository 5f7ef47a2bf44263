import { createHash } from "crypto";
import { load, loadAll } from "js-yaml";
import { AddressInfo, createServer, Server } from "net";
import { parseClusterAccess } from "../lambdas/shared/access";
import { K3S_INSTALLER } from "../modules/compute/k3s-installer";
import { documentOf, jsonencodedObject, localNamed, resourceNamed, synthCluster, TerraformJson, writtenManifests } from "./helpers";
import { deliveredForSandbox, INSTALLER_STUB, runBootstrap, sandboxSupport, SandboxOptions, SandboxRun } from "./support/bootstrap-sandbox";

// The rendered user data, exactly as synthesised, runs under bash in a sandbox (support/bootstrap-sandbox.ts) with
// stub commands and injected failures; the assertions read what it wrote, published and called.

const REGION = "eu-west-1";
const INSTANCE_ID = "i-0123456789abcdef0";
const NODE_NAME = "ip-10-0-1-23.eu-west-1.compute.internal";
const SERVER_TOKEN = "ServerToken0123456789abcdefghijklmnopqrstuvwxyzAB";
const AGENT_TOKEN = "AgentToken0123456789abcdefghijklmnopqrstuvwxyzABC";
// The datastore password generator's alphabet: letters, digits and "-_.~" (modules/database, overrideSpecial).
const DB_PASSWORD = "Pw0-_.~zZ9aA-_.~bB8cC-_.~dD7eE-_.~fF6gG";
// Distinct, unlike the construct's "k3s" for both, so a key read as the other shows in the endpoint.
const DB_NAME = "k3s_datastore";
const DB_USER = "k3s_admin";
const AUTOMATION_TOKEN = "eyJhbGciOiJSUzI1NiJ9.automation-token";
// An add-on admin password (random_password, letters and digits) and its bcrypt hash (random_password's bcrypt_hash).
const ADDON_PASSWORD = "AddonPw0123456789abcdefghijklmnop";
const ADDON_PASSWORD_BCRYPT = "$2a$10$abcdefghijklmnopqrstuu5QuVtFMd8R9f0QmbRqbGyUu4JkXHyRm";
const SECRETS = [SERVER_TOKEN, AGENT_TOKEN, DB_PASSWORD, AUTOMATION_TOKEN, ADDON_PASSWORD, ADDON_PASSWORD_BCRYPT];
const MINUTE = 60;

const support = sandboxSupport();
const required = Boolean(process.env.CI || process.env.REQUIRE_SANDBOX);
const describeSandbox = support.available || required ? describe : describe.skip;
const title = support.available || required ? "bootstrap in a sandbox" : `bootstrap in a sandbox (skipped: unshare with overlay mounts is unavailable: ${support.reason})`;

describeSandbox(title, () => {
  let server = "";
  let agent = "";
  let serverWithPinnedInstaller = "";
  let datastore: Server;
  let openPort = 0;
  let closedPort = 0;
  let datastoreEntries: [string, string][] = [];
  let agentLaunchHoldSeconds = 0;
  let serverLaunchHoldSeconds = 0;
  let everyAddon: TerraformJson;
  let serverWithEveryAddon = "";
  let serverWithBlockStorage = "";
  let serverWithoutIssuer = "";

  beforeAll(async () => {
    if (!support.available) throw new Error(`the sandbox needs unshare with overlay mounts: ${support.reason}`);
    const { json } = synthCluster({});
    everyAddon = synthCluster({ addons: { argoCd: { enabled: true }, jenkins: { enabled: true } } }).json;
    const launchHoldSeconds = (group: string): number =>
      resourceNamed(json, "aws_autoscaling_group", group).initial_lifecycle_hook.find((hook: { name: string }) => hook.name === "bootstrap").heartbeat_timeout;
    agentLaunchHoldSeconds = launchHoldSeconds("Compute_Agents_Group");
    serverLaunchHoldSeconds = launchHoldSeconds("Compute_Servers_Group");
    datastoreEntries = jsonencodedObject(resourceNamed(json, "aws_secretsmanager_secret_version", "Database_SecretValue").secret_string);
    serverWithPinnedInstaller = deliveredForSandbox(localNamed(json, "Compute_Servers_UserData"), REGION);
    // Test seam: the scripts carry the sha256 of the real installer, which the stub cannot have; the runs that
    // should get past the check get the stub's sha256 in its place. The pinned value is checked below.
    const withStubInstaller = (script: string) => {
      expect(script.split(K3S_INSTALLER.sha256)).toHaveLength(2);
      return script.replace(K3S_INSTALLER.sha256, createHash("sha256").update(INSTALLER_STUB).digest("hex"));
    };
    server = withStubInstaller(serverWithPinnedInstaller);
    agent = withStubInstaller(deliveredForSandbox(localNamed(json, "Compute_Agents_UserData"), REGION));
    serverWithEveryAddon = withStubInstaller(deliveredForSandbox(localNamed(everyAddon, "Compute_Servers_UserData"), REGION));
    const blockStorage = synthCluster({ storage: { blockStorage: { enabled: true } } }).json;
    serverWithBlockStorage = withStubInstaller(deliveredForSandbox(localNamed(blockStorage, "Compute_Servers_UserData"), REGION));
    const noMonitoring = synthCluster({ addons: { monitoring: { enabled: false } } }).json;
    serverWithoutIssuer = withStubInstaller(deliveredForSandbox(localNamed(noMonitoring, "Compute_Servers_UserData"), REGION));
    // A port that accepts connections (the kernel completes the handshake while jest waits on the script) and one
    // that refuses them.
    datastore = await listen();
    openPort = (datastore.address() as AddressInfo).port;
    const closed = await listen();
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
  });

  afterAll(() => datastore?.close());

  const identity = { "instance-id": INSTANCE_ID, "placement/availability-zone": "eu-west-1b", "local-hostname": NODE_NAME };
  // The datastore secret as modules/database synthesises it: its jsonencode, with each reference evaluated. Host and
  // port are the sandbox's listener.
  const datastoreSecret = (port: number, password = DB_PASSWORD) => {
    const values: Record<string, string | number> = {
      "aws_db_instance.address": "127.0.0.1",
      "aws_db_instance.port": port,
      "aws_db_instance.db_name": DB_NAME,
      "aws_db_instance.username": DB_USER,
      "random_password.result": password,
    };
    return JSON.stringify(
      Object.fromEntries(
        datastoreEntries.map(([key, reference]) => {
          const [type, , attribute] = reference.split(".");
          const value = values[`${type}.${attribute}`];
          if (value === undefined) throw new Error(`the datastore secret's "${key}" holds ${reference}, which the sandbox has no value for`);
          return [key, value];
        }),
      ),
    );
  };
  const runServer = (options: Partial<SandboxOptions> = {}, script = server) =>
    runBootstrap(script, {
      imds: identity,
      automationToken: AUTOMATION_TOKEN,
      ...options,
      secrets: {
        Compute_TokenSecret: SERVER_TOKEN,
        Compute_AgentTokenSecret: AGENT_TOKEN,
        Database_Secret: datastoreSecret(openPort),
        Addons_GrafanaAdminSecret: addonSecret(everyAddon, "Grafana"),
        Addons_ArgoCdAdminSecret: addonSecret(everyAddon, "ArgoCd"),
        Addons_JenkinsAdminSecret: addonSecret(everyAddon, "Jenkins"),
        ...options.secrets,
      },
    });
  const runAgent = (options: Partial<SandboxOptions> = {}) =>
    runBootstrap(agent, { imds: { ...identity, "instance-life-cycle": "spot" }, ...options, secrets: { Compute_AgentTokenSecret: AGENT_TOKEN, ...options.secrets } });

  // An add-on's admin secret as modules/addons synthesises it: its jsonencode of literals and random_password
  // attributes, evaluated. Undefined when the add-on is off in `synthesised`.
  const addonSecret = (synthesised: TerraformJson, name: string): string => {
    const version = Object.entries(synthesised.resource.aws_secretsmanager_secret_version ?? {}).find(([id]) => id.startsWith(`Addons_${name}AdminSecretValue_`));
    if (!version) return "";
    const body = /^\$\{jsonencode\(\{(.*)\}\)\}$/s.exec(version[1].secret_string)![1];
    const values: Record<string, string> = { result: ADDON_PASSWORD, bcrypt_hash: ADDON_PASSWORD_BCRYPT };
    return JSON.stringify(
      Object.fromEntries(
        body.split(", ").map((entry) => {
          const [, key, literal, attribute] = /^"([^"]+)" = (?:"([^"]*)"|random_password\.[A-Za-z0-9_]+\.([a-z_]+))$/.exec(entry)!;
          return [key, literal ?? values[attribute]];
        }),
      ),
    );
  };
  const config = (run: SandboxRun) => load(run.file("/etc/rancher/k3s/config.yaml") ?? "") as Record<string, any>;
  const healthReports = (run: SandboxRun) => run.callsOf("aws").filter((args) => args[1] === "set-instance-health");
  // AWS CLI: aws autoscaling complete-lifecycle-action (API CompleteLifecycleAction), ending the launch hook's hold.
  const launchResults = (run: SandboxRun, group: string) =>
    run.callsOf("aws").filter((args) => args[1] === "complete-lifecycle-action").map((args) => {
      expect([option(args, "--auto-scaling-group-name"), option(args, "--lifecycle-hook-name"), option(args, "--instance-id"), option(args, "--region")]).toEqual([group, "bootstrap", INSTANCE_ID, REGION]);
      return option(args, "--lifecycle-action-result");
    });
  const groupOf = (run: SandboxRun) => (run.log.includes("== done: agent") || run.log.includes("== agent token") ? "k3s-agents" : "k3s-servers");
  const secondsSlept = (run: SandboxRun) => run.callsOf("sleep").reduce((sum, [seconds]) => sum + Number(seconds), 0);
  const secretReads = (run: SandboxRun, name: string) => run.callsOf("aws").filter((args) => args[1] === "get-secret-value" && args.includes(`arn:aws:secretsmanager:${REGION}:111122223333:secret:${name}`));
  const installs = (run: SandboxRun) => run.callsOf("installer");

  const expectSucceeded = (run: SandboxRun) => {
    expect({ status: run.status, log: run.log }).toEqual({ status: 0, log: expect.stringMatching(/== done: /) });
    expect(healthReports(run)).toEqual([]);
    // Only a working node lets its launch hook put it in service, and only after k3s answers.
    expect(launchResults(run, groupOf(run))).toEqual(["CONTINUE"]);
  };
  // AWS CLI: aws autoscaling set-instance-health --instance-id ID --health-status Unhealthy (API SetInstanceHealth).
  const expectReplaced = (run: SandboxRun) => {
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(healthReports(run)).toHaveLength(1);
    const [args] = healthReports(run);
    expect(args.slice(0, 2)).toEqual(["autoscaling", "set-instance-health"]);
    expect(option(args, "--instance-id")).toBe(INSTANCE_ID);
    expect(option(args, "--health-status")).toBe("Unhealthy");
    expect(option(args, "--region")).toBe(REGION);
    // During the group's grace period an Unhealthy mark that respects it is ignored (API ShouldRespectGracePeriod).
    expect(args).toContain("--no-should-respect-grace-period");
    expect(run.log).toMatch(/bootstrap FAILED \(exit \d+\)/);
    // Abandoning the launch replaces a node its hook still holds, where health marks do not apply.
    expect(launchResults(run, groupOf(run))).toEqual(["ABANDON"]);
    expectNoSecretLogged(run);
  };
  const expectNoSecretLogged = (run: SandboxRun) => {
    for (const secret of SECRETS) {
      expect(run.log).not.toContain(secret);
      expect(run.console).not.toContain(secret);
    }
  };

  test("a server writes its config.yaml field by field (k3s docs/cli/server.md options) and publishes its kubeconfig", () => {
    const run = runServer();
    expectSucceeded(run);
    expectNoSecretLogged(run);
    // Every field, so a dropped or added option fails; the datastore endpoint is taken apart in the next test.
    expect(config(run)).toEqual({
      token: SERVER_TOKEN,
      "agent-token": AGENT_TOKEN,
      "datastore-endpoint": expect.stringMatching(/^postgres:\/\//),
      "datastore-cafile": "/etc/rancher/k3s/rds-ca.pem",
      "node-name": NODE_NAME,
      "tls-san": ["example-dns_name"],
      // Dedicated control plane: k3s docs/datastore/ha.md.
      "node-taint": ["CriticalAddonsOnly=true:NoExecute"],
      // The AWS cloud controller manager replaces k3s's own, on every server alike.
      "disable-cloud-controller": true,
      // No servicelb beside the AWS controller, no local-path default StorageClass beside EFS's.
      disable: ["servicelb", "local-storage"],
      // Off unless asked for: k3s docs/security/secrets-encryption.md.
      "secrets-encryption": true,
      // What an external cloud provider needs from the kubelet (cloud-provider-aws docs/getting_started.md).
      "kubelet-arg": ["cloud-provider=external", `provider-id=aws:///eu-west-1b/${INSTANCE_ID}`],
      "write-kubeconfig-mode": "0600",
      // The service-account issuer monitoring's alerts need (its documents: the "service-account issuer" tests); the
      // files the next test finds in place, paths and flags of the k3s CIS Hardening Guide.
      "kube-apiserver-arg": [
        "service-account-issuer-=https://example-domain_name",
        "service-account-jwks-uri=https://example-domain_name/openid/v1/jwks",
        "admission-control-config-file=/var/lib/rancher/k3s/server/psa.yaml",
        "audit-policy-file=/var/lib/rancher/k3s/server/audit.yaml",
        "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log",
        "audit-log-maxage=30",
        "audit-log-maxbackup=10",
        "audit-log-maxsize=100",
      ],
    });
    expect(run.file("/etc/rancher/k3s/rds-ca.pem")).toContain("sandbox RDS CA");
    expect(run.mode("/etc/rancher/k3s/config.yaml") & 0o077).toBe(0);

    // The manifests as written to disk parse into the documents k3s's deploy controller applies.
    const manifestKinds = (name: string) => (loadAll(run.file(`/var/lib/rancher/k3s/server/manifests/${name}.yaml`) ?? "") as any[]).map((document) => document?.kind);
    expect(["aws-cloud-controller-manager", "aws-efs-csi-driver", "traefik-node-ports", "cluster-automation-rbac"].map(manifestKinds)).toEqual([
      ["HelmChart"],
      ["HelmChart", "StorageClass"],
      ["HelmChartConfig"],
      ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret"],
    ]);
    // Block storage is off by default: its manifest is written empty, so k3s prunes a chart an earlier config installed.
    expect(run.file("/var/lib/rancher/k3s/server/manifests/aws-ebs-csi-driver.yaml")).toBe("\n");
    // Written empty outside scaling mode cluster-autoscaler: k3s then prunes a chart an earlier mode installed.
    expect(run.file("/var/lib/rancher/k3s/server/manifests/cluster-autoscaler.yaml")).toBe("\n");
    expect(installs(run)).toEqual([["server", "INSTALL_K3S_VERSION=v1.33.5+k3s1", "INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_SKIP_SELINUX_RPM=true", "config.yaml=present"]]);
    expect(run.callsOf("curl").filter((args) => args.includes(K3S_INSTALLER.url))).toHaveLength(1);
    // The datastore accepts connections before k3s is installed.
    const order = run.calls.map((call) => call[0]);
    expect(order.indexOf("timeout")).toBeLessThan(order.indexOf("installer"));
    // k3s-io/k3s install.sh: the server's unit is k3s. The script starts it without waiting, then waits for /readyz.
    expect(run.callsOf("systemctl")).toEqual([["start", "--no-block", "k3s"]]);
    expect(order.lastIndexOf("installer")).toBeLessThan(order.indexOf("systemctl"));
    expect(order.indexOf("systemctl")).toBeLessThan(order.indexOf("k3s"));

    expect(run.published.Compute_KubeconfigSecret).toContain("server: https://example-dns_name:6443");
  });

  test("a server writes the admission configuration and audit policy, root-only, before k3s starts (k3s CIS Hardening Guide)", () => {
    const run = runServer();
    expectSucceeded(run);
    // What the systemctl stub found on disk when the script started k3s: path -> octal mode.
    const found = Object.fromEntries(run.callsOf("k3s-start-found").map(([path, mode]) => [path, mode]));
    expect(found).toMatchObject({
      "/var/lib/rancher/k3s/server/psa.yaml": "600",
      "/var/lib/rancher/k3s/server/audit.yaml": "600",
      // "sudo mkdir -p -m 700 /var/lib/rancher/k3s/server/logs": the audit log names every user and object.
      "/var/lib/rancher/k3s/server/logs": "700",
      "/etc/rancher/k3s/config.yaml": "600",
    });
    const admission = load(run.file("/var/lib/rancher/k3s/server/psa.yaml") ?? "") as any;
    expect([admission.kind, admission.plugins[0].name, admission.plugins[0].configuration.defaults.enforce]).toEqual(["AdmissionConfiguration", "PodSecurity", "baseline"]);
    const audit = load(run.file("/var/lib/rancher/k3s/server/audit.yaml") ?? "") as any;
    expect([audit.apiVersion, audit.kind]).toEqual(["audit.k8s.io/v1", "Policy"]);
    // The script writes no log itself; kube-apiserver creates audit.log inside the directory.
    expect(run.file("/var/lib/rancher/k3s/server/logs/audit.log")).toBeUndefined();
  });

  test("the datastore secret as the database construct writes it reaches the port probe and datastore-endpoint field by field", () => {
    const run = runServer();
    expectSucceeded(run);
    const endpoint = new URL(config(run)["datastore-endpoint"]);
    expect([endpoint.protocol, endpoint.hostname, endpoint.port, endpoint.pathname, endpoint.search]).toEqual(["postgres:", "127.0.0.1", String(openPort), `/${DB_NAME}`, ""]);
    expect([decodeURIComponent(endpoint.username), decodeURIComponent(endpoint.password)]).toEqual([DB_USER, DB_PASSWORD]);
    expect(run.callsOf("timeout").map((args) => args.slice(-2))).toEqual([["127.0.0.1", String(openPort)]]);
  });

  // The add-on admin secrets: the documents modules/addons writes reach, through kubectl's stdin, the Secrets the
  // charts name, under the keys their values name (read from the manifests the same script writes).
  const appliedObjects = (run: SandboxRun) => run.applied.flatMap((text) => (JSON.parse(text) as { kind: string; items: any[] }).items);
  const chartValues = (script: string, manifest: string) => load(documentOf(writtenManifests(script)[manifest], "HelmChart").spec.valuesContent) as any;
  const targetNamespace = (script: string, manifest: string) => documentOf(writtenManifests(script)[manifest], "HelmChart").spec.targetNamespace;

  test("a server writes Grafana's admin Secret from Secrets Manager through kubectl's stdin, as kube-prometheus-stack's values name it", () => {
    const run = runServer();
    expectSucceeded(run);
    expectNoSecretLogged(run);
    // Never an argument: a process listing would show it.
    expect(run.calls.flat().filter((argument) => argument.includes(ADDON_PASSWORD))).toEqual([]);
    const grafana = chartValues(server, "kube-prometheus-stack").grafana.admin;
    const namespace = targetNamespace(server, "kube-prometheus-stack");
    expect(appliedObjects(run)).toEqual([
      // Node exporter needs host namespaces and hostPath, which baseline refuses (Pod Security Standards).
      { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        // The label by which a server removes it once monitoring is off (the next-but-one test).
        metadata: { name: grafana.existingSecret, namespace, labels: { "k3s-aws.bootstrap/admin-secret": "grafana" } },
        stringData: { [grafana.userKey]: "admin", [grafana.passwordKey]: ADDON_PASSWORD },
      },
    ]);
    // Server-side apply: no kubectl.kubernetes.io/last-applied-configuration annotation copying the password.
    expect(run.callsOf("k3s").filter((args) => args[1] === "apply")).toEqual([["kubectl", "apply", "--server-side", "--force-conflicts", "--field-manager=k3s-bootstrap", "--request-timeout=30s", "-f", "-"]]);
  });

  test("Argo CD's argocd-secret gets the bcrypt hash and a modification time; Jenkins's Secret the keys its chart names", () => {
    const before = new Date(Math.floor(Date.now() / 1000) * 1000);
    const run = runServer({ faults: { apply: 1 } }, serverWithEveryAddon);
    expectSucceeded(run);
    expectNoSecretLogged(run);
    const secrets = Object.fromEntries(appliedObjects(run).filter((object) => object.kind === "Secret").map((secret) => [secret.metadata.namespace, secret]));
    const argo = secrets[targetNamespace(serverWithEveryAddon, "argo-cd")];
    // Argo CD docs, operator-manual/argocd-secret-yaml: admin.password is a bcrypt hash, admin.passwordMtime its time.
    expect(argo.metadata).toEqual({
      name: "argocd-secret",
      namespace: "argocd",
      labels: { "app.kubernetes.io/name": "argocd-secret", "app.kubernetes.io/part-of": "argocd", "k3s-aws.bootstrap/admin-secret": "argocd" },
    });
    expect(Object.keys(argo.stringData).sort()).toEqual(["admin.password", "admin.passwordMtime"]);
    expect(argo.stringData["admin.password"]).toBe(ADDON_PASSWORD_BCRYPT);
    expect(argo.stringData["admin.passwordMtime"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Date(argo.stringData["admin.passwordMtime"]).getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(chartValues(serverWithEveryAddon, "argo-cd").configs.secret.createSecret).toBe(false);
    const jenkinsValues = chartValues(serverWithEveryAddon, "jenkins").controller.admin;
    const jenkins = secrets[targetNamespace(serverWithEveryAddon, "jenkins")];
    expect(jenkins.metadata.name).toBe(jenkinsValues.existingSecret);
    expect(jenkins.stringData).toEqual({ [jenkinsValues.userKey]: "admin", [jenkinsValues.passwordKey]: ADDON_PASSWORD });
    // Argo CD and Jenkins run under the cluster's baseline; only monitoring's namespace is privileged.
    const levels = Object.fromEntries(appliedObjects(run).filter((object) => object.kind === "Namespace").map((ns) => [ns.metadata.name, ns.metadata.labels["pod-security.kubernetes.io/enforce"]]));
    expect(levels).toEqual({ monitoring: "privileged", argocd: "baseline", jenkins: "baseline" });
  });

  test("argocd-secret keeps its modification time while the hash is the same, so a server's boot signs no one out", () => {
    const base64 = (value: string | Buffer) => Buffer.from(value).toString("base64");
    // argocd-server adds its own keys to the Secret; a TLS key or any other value may be bytes that are not text.
    const argoSecret = (password: string) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        data: { "admin.password": base64(password), "admin.passwordMtime": base64("2026-01-02T03:04:05Z"), "server.secretkey": base64("c2lnbmF0dXJl"), "tls.key": base64(Buffer.from([0xff, 0xfe, 0x00])) },
      });
    const appliedMtime = (run: ReturnType<typeof runServer>) => appliedObjects(run).find((object) => object.metadata.name === "argocd-secret").stringData["admin.passwordMtime"];
    const same = runServer({ clusterSecrets: { "argocd/argocd-secret": argoSecret(ADDON_PASSWORD_BCRYPT) } }, serverWithEveryAddon);
    expectSucceeded(same);
    expect(appliedMtime(same)).toBe("2026-01-02T03:04:05Z");
    // A rotated password: Argo CD rejects the sessions issued before the new time (operator-manual/argocd-secret-yaml).
    const rotated = runServer({ clusterSecrets: { "argocd/argocd-secret": argoSecret("$2a$10$an.older.hash") } }, serverWithEveryAddon);
    expectSucceeded(rotated);
    expect(appliedMtime(rotated)).not.toBe("2026-01-02T03:04:05Z");
    expect(new Date(appliedMtime(rotated)).getTime()).toBeGreaterThan(new Date("2026-01-02T03:04:05Z").getTime());
    // A read that fails is retried, not taken for "no Secret yet".
    const flaky = runServer({ faults: { "get-secret": 1 }, clusterSecrets: { "argocd/argocd-secret": argoSecret(ADDON_PASSWORD_BCRYPT) } }, serverWithEveryAddon);
    expectSucceeded(flaky);
    expect(appliedMtime(flaky)).toBe("2026-01-02T03:04:05Z");
    expect(flaky.log).toContain("cannot read the current Secret argocd/argocd-secret: error: the server is currently unable to handle the request");
    // A Secret without data (created by hand, or emptied) gets a time of its own.
    const empty = runServer({ clusterSecrets: { "argocd/argocd-secret": JSON.stringify({ apiVersion: "v1", kind: "Secret" }) } }, serverWithEveryAddon);
    expectSucceeded(empty);
    expect(new Date(appliedMtime(empty)).getTime()).toBeGreaterThan(new Date("2026-01-02T03:04:05Z").getTime());
  });

  test("a server removes the admin Secrets it wrote for add-ons that are off, by the label it puts on every one, and only those", () => {
    const deletions = (run: SandboxRun) => run.callsOf("k3s").filter((args) => args[3] === "delete").map((args) => [args[2], args[6]]);
    // Default: monitoring on, Argo CD and Jenkins off.
    const run = runServer({ faults: { "delete-secret": 1 } });
    expectSucceeded(run);
    const selectors = deletions(run);
    expect(new Set(selectors.map(([namespace]) => namespace))).toEqual(new Set(["argocd", "jenkins"]));
    // The Secret a server applies for an add-on that is on carries the label its removal selects on.
    const applied = run.applied.map((document) => JSON.parse(document).items.find((item: any) => item.kind === "Secret"));
    const grafana = applied.find((secret) => secret.metadata.namespace === "monitoring");
    const [key, value] = selectors[0][1].split("=");
    expect(Object.keys(grafana.metadata.labels)).toContain(key);
    expect(value).not.toBe(grafana.metadata.labels[key]);
    // A removal that keeps failing is logged and left; the server still joins.
    const failing = runServer({ faults: { "delete-secret": 1000 } });
    expectSucceeded(failing);
    expect(failing.log).toMatch(/WARNING: could not remove the admin Secret \(k3s-aws\.bootstrap\/admin-secret=argocd\) of a turned-off add-on in argocd/);
    // With every add-on on nothing is removed, and Argo CD's and Jenkins's Secrets carry the values the selectors name.
    const every = runServer({}, serverWithEveryAddon);
    expectSucceeded(every);
    expect(deletions(every)).toEqual([]);
    const everySecrets = every.applied.map((document) => JSON.parse(document).items.find((item: any) => item.kind === "Secret"));
    for (const [namespace, selector] of selectors) {
      const [labelKey, labelValue] = selector.split("=");
      expect(everySecrets.find((secret) => secret.metadata.namespace === namespace).metadata.labels[labelKey]).toBe(labelValue);
    }
  });

  test("an add-on secret that never appears fails the server, and the group replaces it", () => {
    const run = runServer({ faults: { "get-secret-value.Addons_GrafanaAdminSecret": 100 } });
    expectReplaced(run);
    expect(run.applied).toEqual([]);
  });

  describe("the service-account issuer (block storage on)", () => {
    // The sandbox's k3s serves the discovery document as kube-apiserver does: the issuer and key-set URL the server's
    // config.yaml gave it (support/sandbox/bin/k3s). STS fetches <issuer>/.well-known/openid-configuration (OpenID
    // Connect Discovery 1.0, section 4) and then the jwks_uri it names; CloudFront serves the bucket's keys as paths.
    const issuerObjects = (run: SandboxRun) => Object.entries(run.objects);

    test("a server publishes the discovery document and key set at the paths the issuer's URL makes of them", () => {
      const run = runServer({}, serverWithBlockStorage);
      expectSucceeded(run);
      const issuerArg: string = config(run)["kube-apiserver-arg"].find((arg: string) => arg.startsWith("service-account-issuer-="));
      const issuer = issuerArg.slice("service-account-issuer-=".length);
      const objects = Object.fromEntries(issuerObjects(run));
      const bucket = Object.keys(objects)[0].split("/")[0];
      const urlOf = (key: string) => `${issuer}/${key.slice(bucket.length + 1)}`;
      const discovery = Object.entries(objects).find(([key]) => urlOf(key) === `${issuer}/.well-known/openid-configuration`);
      expect(discovery).toBeDefined();
      const document = JSON.parse(discovery![1].body);
      expect(document.issuer).toBe(issuer);
      const keys = Object.entries(objects).find(([key]) => urlOf(key) === document.jwks_uri);
      expect(keys).toBeDefined();
      expect(JSON.parse(keys![1].body).keys).toHaveLength(1);
      expect(Object.keys(objects)).toHaveLength(2);
      for (const object of Object.values(objects)) expect(object.contentType).toBe("application/json");
      for (const call of run.callsOf("aws").filter((args) => args[1] === "put-object")) expect(option(call, "--region")).toBe(REGION);
    });

    test("failed reads and writes are retried", () => {
      const run = runServer({ faults: { "raw-document": 2, "put-object": 2 } }, serverWithBlockStorage);
      expectSucceeded(run);
      expect(issuerObjects(run)).toHaveLength(2);
    });

    test("an API server that signs as another issuer, or serves no keys, fails the server before it is in service", () => {
      for (const fault of ["foreign-issuer", "no-keys"]) {
        const run = runServer({ faults: { [fault]: 1000 } }, serverWithBlockStorage);
        expectReplaced(run);
        expect(run.log).toMatch(fault === "foreign-issuer" ? /names the issuer 'https:\/\/kubernetes\.default\.svc\.cluster\.local'/ : /serves no signing keys/);
      }
    });

    test("without block storage and monitoring nothing is published", () => {
      const run = runServer({}, serverWithoutIssuer);
      expectSucceeded(run);
      expect(run.callsOf("aws").filter((args) => args[0] === "s3api")).toEqual([]);
    });
  });

  test("the automation access a server publishes is what the Lambdas' reader parses (lambdas/shared/access.ts)", () => {
    const run = runServer();
    expectSucceeded(run);
    expect(parseClusterAccess("Compute_AutomationAccessSecret", run.published.Compute_AutomationAccessSecret)).toEqual({
      server: "https://example-dns_name:6443",
      // The stub k3s's cluster CA, as the service-account token Secret holds it: base64 PEM.
      caData: Buffer.from("-----BEGIN CERTIFICATE-----\nsandbox cluster CA\n-----END CERTIFICATE-----\n").toString("base64"),
      token: AUTOMATION_TOKEN,
    });
  });

  test("an agent joins through the API load balancer with the agent token only (k3s docs/cli/token.md)", () => {
    const run = runAgent();
    expectSucceeded(run);
    expectNoSecretLogged(run);
    expect(config(run)).toEqual({
      server: "https://example-dns_name:6443",
      token: AGENT_TOKEN,
      "node-name": NODE_NAME,
      "node-label": ["node.kubernetes.io/capacity-type=spot"],
      "kubelet-arg": ["cloud-provider=external", `provider-id=aws:///eu-west-1b/${INSTANCE_ID}`],
    });
    expect(secretReads(run, "Compute_TokenSecret")).toEqual([]);
    // k3s-io/k3s install.sh: the agent's unit is k3s-agent; the kubelet answers once a server accepted the token.
    expect(run.callsOf("systemctl")).toEqual([["start", "--no-block", "k3s-agent"]]);
    expect(run.callsOf("curl").filter((args) => args.includes("http://127.0.0.1:10248/healthz"))).toHaveLength(1);
    expect(installs(run)).toEqual([["agent", "INSTALL_K3S_VERSION=v1.33.5+k3s1", "INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_SKIP_SELINUX_RPM=true", "config.yaml=present"]]);
  });

  test("an on-demand agent is labelled on-demand", () => {
    const run = runAgent({ imds: { ...identity, "instance-life-cycle": "on-demand" } });
    expectSucceeded(run);
    expect(config(run)["node-label"]).toEqual(["node.kubernetes.io/capacity-type=on-demand"]);
  });

  test("regression: a failed first secret read leaves no retry message in the captured token", () => {
    const run = runAgent({ faults: { "get-secret-value.Compute_AgentTokenSecret": 1 } });
    expectSucceeded(run);
    expect(run.log).toMatch(/attempt 1 of \d+ failed: secret_value/);
    expect(config(run).token).toBe(AGENT_TOKEN);
  });

  test("a metadata read that breaks mid-transfer leaves none of its partial output in the value", () => {
    const run = runAgent({ faults: { "imds-partial": 3 } });
    expectSucceeded(run);
    expect(config(run)).toMatchObject({ "node-name": NODE_NAME, "kubelet-arg": ["cloud-provider=external", `provider-id=aws:///eu-west-1b/${INSTANCE_ID}`] });
  });

  test("transient failures of every network call recover without marking the node unhealthy", () => {
    const run = runServer({
      faults: {
        imds: 2,
        "get-secret-value.Compute_TokenSecret": 1,
        "get-secret-value.Compute_AgentTokenSecret": 2,
        "rds-ca": 1,
        "installer-download": 2,
        install: 1,
        readyz: 3,
        "put-secret-value": 1,
      },
    });
    expectSucceeded(run);
    expectNoSecretLogged(run);
    expect(config(run)).toMatchObject({ token: SERVER_TOKEN, "agent-token": AGENT_TOKEN, "node-name": NODE_NAME });
    expect(installs(run)).toHaveLength(2);
  });

  test("a server waits for a datastore that is still being created: the secret appears late, then the port opens", () => {
    const run = runServer({ faults: { "get-secret-value.Database_Secret": 8, timeout: 5 } });
    expectSucceeded(run);
    expect(secretReads(run, "Database_Secret")).toHaveLength(9);
    expect(run.callsOf("timeout")).toHaveLength(6);
    expect(new URL(config(run)["datastore-endpoint"]).port).toBe(String(openPort));
  });

  test("a datastore secret that never appears fails the server after tens of minutes, and the group replaces it", () => {
    const run = runServer({ faults: { "get-secret-value.Database_Secret": 1000 } });
    expectReplaced(run);
    // A Multi-AZ RDS instance takes tens of minutes to create; the server gives up inside its launch hook's hold (the
    // servers' group as synthesised), so it reports its own failure rather than being abandoned by the hook.
    expect(secondsSlept(run)).toBeGreaterThanOrEqual(40 * MINUTE);
    expect(secondsSlept(run)).toBeLessThan(serverLaunchHoldSeconds);
    expect(installs(run)).toEqual([]);
    expectNoSecretLogged(run);
  });

  test("a datastore port that never opens fails the server before k3s is installed", () => {
    const run = runServer({ secrets: { Database_Secret: datastoreSecret(closedPort) } });
    expectReplaced(run);
    expect(secondsSlept(run)).toBeGreaterThanOrEqual(40 * MINUTE);
    expect(secondsSlept(run)).toBeLessThan(serverLaunchHoldSeconds);
    expect(run.callsOf("curl").filter((args) => args.includes(K3S_INSTALLER.url))).toEqual([]);
    expect(installs(run)).toEqual([]);
  });

  test("an agent waits long for an API that answers late, and gives up on one that never answers", () => {
    const late = runAgent({ faults: { ping: 30 } });
    expectSucceeded(late);
    expect(installs(late)).toHaveLength(1);

    const never = runAgent({ faults: { ping: 1000 } });
    expectReplaced(never);
    // Long enough for servers that are still bootstrapping, short enough to fail inside the launch hook's hold (the
    // agents' group as synthesised), so the node reports its own failure.
    expect(secondsSlept(never)).toBeGreaterThanOrEqual(40 * MINUTE);
    expect(secondsSlept(never)).toBeLessThan(agentLaunchHoldSeconds);
    expect(installs(never)).toEqual([]);
  });

  test("an installer that does not match the pinned sha256 is never run, and the node is replaced", () => {
    // The script as synthesised, with the real installer's checksum, is served the stub.
    const run = runServer({}, serverWithPinnedInstaller);
    expectReplaced(run);
    expect(run.log).toContain(`does not match its pinned sha256 ${K3S_INSTALLER.sha256}`);
    expect(installs(run)).toEqual([]);
  });

  test("an installer that fails for good fails the node after its retries", () => {
    const run = runServer({ faults: { install: 1000 } });
    expectReplaced(run);
    expect(installs(run)).toHaveLength(5);
    expect(run.log).toContain("giving up after 5 attempts: run_installer");
  });

  test("the installer never starts k3s itself: its start waits without limit, and a rerun that changes nothing skips it", () => {
    // k3s-io/k3s install.sh: systemd_start is `systemctl restart` of a Type=notify unit with TimeoutStartSec=0, and
    // service_enable_and_start skips the start when the binary, unit and env file are unchanged.
    const run = runServer({ faults: { install: 1 } });
    expectSucceeded(run);
    expect(installs(run).map((args) => args.find((arg) => arg.startsWith("INSTALL_K3S_SKIP_START=")))).toEqual(["INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_SKIP_START=true"]);
    expect(run.callsOf("systemctl")).toEqual([["start", "--no-block", "k3s"]]);
  });

  test("an agent whose kubelet never starts (a refused token) gives up within minutes, and the group replaces it", () => {
    const late = runAgent({ faults: { "kubelet-healthz": 6 } });
    expectSucceeded(late);

    const never = runAgent({ faults: { "kubelet-healthz": 1000 } });
    expectReplaced(never);
    expect(never.log).toContain("giving up after 15 attempts: kubelet_healthy");
    const afterInstall = never.calls.slice(never.calls.findIndex((call) => call[0] === "systemctl"));
    const waited = afterInstall.filter((call) => call[0] === "sleep").reduce((sum, [, seconds]) => sum + Number(seconds), 0);
    expect(waited).toBeGreaterThanOrEqual(5 * MINUTE);
    expect(waited).toBeLessThanOrEqual(20 * MINUTE);
  });

  test("a failure before the instance ID is known still marks the node, with an ID fetched afterwards", () => {
    const run = runServer({ faults: { imds: 10 } });
    expectReplaced(run);
    expect(run.file("/etc/rancher/k3s/config.yaml")).toBeUndefined();
  });

  test("without instance metadata the node cannot mark itself, says so, and still fails", () => {
    const run = runServer({ faults: { imds: 1000 } });
    expect(run.status).not.toBe(0);
    expect(healthReports(run)).toEqual([]);
    expect(run.log).toContain("cannot mark this instance unhealthy: its instance ID is unknown");
  });

  test("a failing health report is logged and the node still exits with its failure", () => {
    const run = runServer({ faults: { "get-secret-value.Compute_TokenSecret": 1000, "set-instance-health": 1 } });
    expect(run.status).not.toBe(0);
    expect(healthReports(run)).toHaveLength(1);
    expect(run.log).toContain(`could not mark ${INSTANCE_ID} unhealthy`);
  });

  test("a node of a group created before it had the launch hook has no action to complete, and still succeeds", () => {
    const run = runAgent({ faults: { "no-lifecycle-action": 1 } });
    expect(run.status).toBe(0);
    expect(healthReports(run)).toEqual([]);
    expect(run.log).toContain(`no launch lifecycle action is pending for ${INSTANCE_ID}`);
  });

  test("a node that cannot end its launch hold fails, abandons the launch and is marked unhealthy", () => {
    const transient = runServer({ faults: { "complete-lifecycle-action": 3 } });
    expect(transient.status).toBe(0);
    expect(launchResults(transient, "k3s-servers")).toEqual(["CONTINUE", "CONTINUE", "CONTINUE", "CONTINUE"]);

    const never = runServer({ faults: { "complete-lifecycle-action": 1000 } });
    expect(never.status).not.toBe(0);
    expect(launchResults(never, "k3s-servers").slice(-2)).toEqual(["CONTINUE", "ABANDON"]);
    expect(healthReports(never)).toHaveLength(1);
    expect(never.log).toContain("giving up after 10 attempts: complete_bootstrap");
  });

  test("secret values with quotes, $, backslashes, spaces and URL delimiters reach config.yaml exactly", () => {
    const token = `tok'en "with" $HOME \\back\\slash and $(spaces) #1`;
    // Unquoted, each of these would break the YAML: a leading quote, ": " and " #".
    const agentToken = `'ag'ent\\ $x: "y" #z`;
    const password = `p@ss:w/o?r#d%20'"$\\ ~-_.&=+`;
    const server = runServer({ secrets: { Compute_TokenSecret: token, Compute_AgentTokenSecret: agentToken, Database_Secret: datastoreSecret(openPort, password) } });
    expectSucceeded(server);
    const written = config(server);
    expect([written.token, written["agent-token"]]).toEqual([token, agentToken]);
    const endpoint = new URL(written["datastore-endpoint"]);
    expect([decodeURIComponent(endpoint.password), endpoint.hostname, endpoint.port, endpoint.pathname]).toEqual([password, "127.0.0.1", String(openPort), `/${DB_NAME}`]);
    for (const secret of [token, agentToken, password]) expect(server.log).not.toContain(secret);

    const agent = runAgent({ secrets: { Compute_AgentTokenSecret: agentToken } });
    expectSucceeded(agent);
    expect(config(agent).token).toBe(agentToken);
  });
});

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index < 0 ? undefined : args[index + 1];
}

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy()).listen(0, "127.0.0.1", () => resolve(server));
  });
}
