import { spawnSync } from "child_process";
import { load } from "js-yaml";
import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { loadAll } from "js-yaml";
import { escapeTerraformTemplate, fillPlaceholders, kubernetesMinorImageTag, serverTaintsYaml, withoutCommentLines } from "../modules/compute/user-data";
import { asDelivered, documentOf, localNamed, referencedId, resourceNamed, resourcesOf, synthCluster, tf, writtenConfig, withoutGoTemplates, writtenManifests } from "./helpers";


describe("rendering", () => {
  test("placeholders are filled, and a missing or unused value is an error", () => {
    expect(fillPlaceholders("a={{ A }} b={{ B }}", { A: "1", B: "2" }, "t.sh")).toBe("a=1 b=2");
    expect(() => fillPlaceholders("a={{ A }} b={{ B }}", { A: "1" }, "t.sh")).toThrow("template t.sh: no value for {{ B }}");
    expect(() => fillPlaceholders("a={{ A }}", { A: "1", C: "3" }, "t.sh")).toThrow("template t.sh: values not used by any placeholder: C");
  });

  test("the script's own ${...} and %{...} reach the instance literally", () => {
    expect(escapeTerraformTemplate('echo "${HOME}" %{x}')).toBe('echo "$${HOME}" %%{x}');
    expect(asDelivered(escapeTerraformTemplate('echo "${HOME}"') + " ${aws_lb.Api_1.dns_name}")).toBe('echo "${HOME}" example-dns_name');
  });
});

test("the cloud controller and cluster-autoscaler follow the k3s minor version", () => {
  expect(kubernetesMinorImageTag("v1.33.5+k3s1")).toBe("v1.33.0");
  expect(kubernetesMinorImageTag("v1.31.12+k3s2")).toBe("v1.31.0");
  expect(() => kubernetesMinorImageTag("latest")).toThrow('Compute: k3sVersion "latest" is not a k3s release tag such as "v1.33.5+k3s1"');
});


test("mid-upgrade, servers install their release and agents theirs, and the controller follows the servers", () => {
  const { json } = synthCluster({ k3sVersion: "v1.34.1+k3s1", agents: { k3sVersion: "v1.33.5+k3s1" } });
  const server = localNamed(json, "Compute_Servers_UserData");
  expect(asDelivered(server)).toContain('K3S_VERSION="v1.34.1+k3s1"');
  expect(asDelivered(localNamed(json, "Compute_Agents_UserData"))).toContain('K3S_VERSION="v1.33.5+k3s1"');
  const controller = documentOf(writtenManifests(server)["aws-cloud-controller-manager"], "HelmChart");
  expect((load(controller.spec.valuesContent) as any).image.tag).toBe("v1.34.0");
});

test("the included files mean the same without their comment lines: every document, and every chart's values", () => {
  // A line starting with "#" would be data in a block scalar that is not YAML (a script, a CSV); the charts' values are
  // YAML, parsed again here, so a comment dropped from them must change nothing either.
  const dirs = ["manifests", "cluster-policy"].map((dir) => join(__dirname, "..", "templates", dir));
  const files = dirs.flatMap((dir) => readdirSync(dir).filter((file) => file.endsWith(".yaml")).map((file) => join(dir, file)));
  expect(files.length).toBeGreaterThan(10);
  const parsed = (text: string) =>
    (loadAll(text.replace(/\{\{ [A-Z0-9_]+ \}\}/g, "placeholder")) as any[]).map((document) =>
      typeof document?.spec?.valuesContent === "string" ? { ...document, spec: { ...document.spec, valuesContent: load(document.spec.valuesContent) } } : document,
    );
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    expect({ file, documents: parsed(withoutCommentLines(text)) }).toEqual({ file, documents: parsed(text) });
    expect(withoutCommentLines(text)).not.toMatch(/^\s*#/m);
  }
});

describe("bootstrap scripts", () => {
  const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"], domain: "example.com" } });
  const server = localNamed(json, "Compute_Servers_UserData");
  const agent = localNamed(json, "Compute_Agents_UserData");
  const manifests = writtenManifests(server);
  const apiRef = /\$\{aws_lb\.LoadBalancing_ApiLoadBalancer_[A-F0-9]+\.dns_name\}/;

  test("no placeholder is left unfilled", () => {
    // An opening "{{", or a name closed by " }}" (PLACEHOLDER in user-data.ts). A bare "}}" is not a placeholder: it ends nested JSON (the flow-style
    // values and the dashboards' ConfigMaps).
    for (const script of [server, agent]) expect(withoutGoTemplates(script)).not.toMatch(/\{\{|[A-Z0-9_] \}\}/);
  });

  test("server pins k3s and builds the datastore URL from the secret's fields", () => {
    expect(server).toContain('K3S_VERSION="v1.33.5+k3s1"');
    expect(server).toContain('INSTALL_K3S_VERSION="$K3S_VERSION"');
    expect(server).toContain('user, password = quote(db["username"], safe=""), quote(db["password"], safe="")');
    expect(server).toContain('print("postgres://%s:%s@%s:%s/%s" % (user, password, db["host"], db["port"], db["dbname"]))');
    expect(server).not.toMatch(/postgres:\/\/[^"]*\?/);
    expect(server).toMatch(/DATASTORE_SECRET_ARN="\$\{aws_secretsmanager_secret\.Database_Secret_[A-F0-9]+\.arn\}"/);
  });

  test("the server's config.yaml, parsed, holds exactly the k3s server options the cluster relies on", () => {
    // Option names and meanings from k3s docs/cli/server.md.
    expect(writtenConfig(server)).toEqual({
      token: "$K3S_TOKEN",
      "agent-token": "$K3S_AGENT_TOKEN",
      "datastore-endpoint": "$DATASTORE_ENDPOINT",
      // With a CA file and no sslmode in the URL, kine verifies the server certificate (sslmode=verify-full).
      "datastore-cafile": "/etc/rancher/k3s/rds-ca.pem",
      "node-name": "$NODE_NAME",
      // Every name the API is reached by, from the first boot: a SAN added later does not take effect.
      "tls-san": [
        tf(json, "aws_lb", "LoadBalancing_ApiLoadBalancer", "dns_name"),
        tf(json, "aws_lb", "LoadBalancing_PublicApiLoadBalancer", "dns_name"),
        "k3s.example.com",
      ],
      // Dedicated control plane (k3s docs/datastore/ha.md).
      "node-taint": ["CriticalAddonsOnly=true:NoExecute"],
      // The AWS cloud controller manager (deployed below) replaces k3s's own; it must be off on every server.
      "disable-cloud-controller": true,
      // servicelb would answer LoadBalancer Services the AWS controller serves; local-storage would be a second
      // default StorageClass beside EFS's, which makes claims without a class ambiguous.
      disable: ["servicelb", "local-storage"],
      // Secrets encrypted at rest in the datastore (k3s docs/security/secrets-encryption.md); off by default.
      "secrets-encryption": true,
      // An external cloud provider initialises nodes by provider ID (cloud-provider-aws docs/getting_started.md).
      "kubelet-arg": ["cloud-provider=external", "provider-id=$PROVIDER_ID"],
      "write-kubeconfig-mode": "0600",
      // Pod Security Admission defaults and the audit log: asserted in cluster-policy.test.ts.
      "kube-apiserver-arg": expect.arrayContaining([expect.stringMatching(/^admission-control-config-file=/)]),
    });
  });

  test("the agent's config.yaml, parsed, joins through the API load balancer with the agent token only", () => {
    // Option names from k3s docs/cli/agent.md.
    expect(writtenConfig(agent)).toEqual({
      server: "$API_ENDPOINT",
      token: "$K3S_AGENT_TOKEN",
      "node-name": "$NODE_NAME",
      "node-label": ["node.kubernetes.io/capacity-type=$CAPACITY_TYPE"],
      "kubelet-arg": ["cloud-provider=external", "provider-id=$PROVIDER_ID"],
    });
  });

  test("server and agent derive provider IDs and node names from IMDSv2", () => {
    for (const script of [server, agent]) {
      expect(script).toContain('PROVIDER_ID="aws:///$AVAILABILITY_ZONE/$INSTANCE_ID"');
      expect(script).toContain("NODE_NAME=$(retry 10 imds local-hostname)");
      expect(script).toContain('"X-aws-ec2-metadata-token-ttl-seconds: 300"');
    }
  });

  test("credentials travel in root-only files, not on command lines", () => {
    expect(server).toContain("umask 077");
    expect(server).toContain("cat >/etc/rancher/k3s/config.yaml <<YAML");
    expect(server).not.toMatch(/--token|--datastore-endpoint/);
    expect(agent).not.toMatch(/--token/);
  });

  test("the server writes these manifests and no others, each of valid YAML with these kinds", () => {
    expect(Object.fromEntries(Object.entries(manifests).map(([name, documents]) => [name, documents.map((document) => document.kind)]))).toEqual({
      "aws-cloud-controller-manager": ["HelmChart"],
      "aws-efs-csi-driver": ["HelmChart", "StorageClass"],
      // Empty unless storage.blockStorage.enabled (block-storage.test.ts).
      "aws-ebs-csi-driver": [],
      "traefik-node-ports": ["HelmChartConfig"],
      // Empty unless behind CloudFront (edge.test.ts).
      "traefik-origin-header": [],
      "cluster-automation-rbac": ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret"],
      // Empty outside scaling mode cluster-autoscaler (its own tests below).
      "cluster-autoscaler": [],
      // Monitoring is on by default in prod; Argo CD and Jenkins are off (addons.test.ts).
      "kube-prometheus-stack": ["HelmChart"],
      "grafana-dashboards": ["ConfigMap", "ConfigMap", "ConfigMap"],
      "argo-cd": [],
      jenkins: [],
    });
  });

  test("the cloud controller is a pinned chart from kubernetes/cloud-provider-aws, installed before nodes are ready", () => {
    const chart = documentOf(manifests["aws-cloud-controller-manager"], "HelmChart");
    // The helm repository of kubernetes/cloud-provider-aws's README; k3s's HelmChart fields (docs/helm.md).
    expect(chart).toEqual({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "aws-cloud-controller-manager", namespace: "kube-system" },
      spec: {
        repo: "https://kubernetes.github.io/cloud-provider-aws",
        chart: "aws-cloud-controller-manager",
        version: "0.0.10",
        targetNamespace: "kube-system",
        // No node is initialised before the controller runs, so it cannot wait for the pod network.
        bootstrap: true,
        valuesContent: expect.any(String),
      },
    });
    const values = load(chart.spec.valuesContent) as any;
    expect(values.image).toEqual({ repository: "registry.k8s.io/provider-aws/cloud-controller-manager", tag: "v1.33.0" });
    // k3s labels servers "true"; the chart's default selector expects "".
    expect(values.nodeSelector).toEqual({ "node-role.kubernetes.io/control-plane": "true" });
    // Routes off: the server role's IAM policy grants no route calls (compute.test.ts).
    expect(values.args).toEqual(["--v=2", "--cloud-provider=aws", "--configure-cloud-routes=false"]);
  });

  test("the cloud controller tolerates the server taint and keeps the chart's own tolerations", () => {
    const values = load(documentOf(manifests["aws-cloud-controller-manager"], "HelmChart").spec.valuesContent) as any;
    // charts/aws-cloud-controller-manager/values.yaml at chart 0.0.10 (kubernetes/cloud-provider-aws
    // helm-chart-aws-cloud-controller-manager-0.0.10): a values list replaces it, so all of it must be there.
    expect(values.tolerations).toEqual(
      expect.arrayContaining([
        { key: "node.cloudprovider.kubernetes.io/uninitialized", value: "true", effect: "NoSchedule" },
        { key: "node-role.kubernetes.io/master", effect: "NoSchedule" },
        { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
        { key: "CriticalAddonsOnly", operator: "Exists" },
      ]),
    );
    // Host networking: one IMDS hop reaches no pod network.
    expect(values.hostNetworking).toBe(true);
  });

  test("the EFS CSI driver is a pinned chart whose controller uses host networking: one IMDS hop reaches no pod network", () => {
    const chart = documentOf(manifests["aws-efs-csi-driver"], "HelmChart");
    // The helm repository of kubernetes-sigs/aws-efs-csi-driver's docs (README, "Installation").
    expect(chart.spec).toEqual({
      repo: "https://kubernetes-sigs.github.io/aws-efs-csi-driver",
      chart: "aws-efs-csi-driver",
      version: "3.2.4",
      targetNamespace: "kube-system",
      valuesContent: expect.any(String),
    });
    // controller.hostNetwork in charts/aws-efs-csi-driver/values.yaml at chart 3.2.4 (kubernetes-sigs/aws-efs-csi-driver).
    expect(load(chart.spec.valuesContent)).toEqual({ controller: { hostNetwork: true } });
  });

  test("the default StorageClass provisions EFS access points on the cluster's file system over TLS with IAM", () => {
    // Fields from aws-efs-csi-driver examples/kubernetes/dynamic_provisioning/specs/storageclass.yaml; the annotation
    // from Kubernetes docs "Change the default StorageClass"; tls and iam because the file-system policy refuses
    // clients without them (database-storage.test.ts).
    expect(documentOf(manifests["aws-efs-csi-driver"], "StorageClass")).toEqual({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "efs", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "efs.csi.aws.com",
      mountOptions: ["tls", "iam"],
      parameters: { provisioningMode: "efs-ap", fileSystemId: tf(json, "aws_efs_file_system", "Storage_FileSystem", "id"), directoryPerms: "700" },
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    });
  });

  test("Traefik's web and websecure NodePorts are the ports the ingress load balancer forwards 80 and 443 to", () => {
    const config = documentOf(manifests["traefik-node-ports"], "HelmChartConfig");
    // k3s docs/helm.md, "Customizing Packaged Components with HelmChartConfig": name and namespace of the packaged chart.
    expect(config.metadata).toEqual({ name: "traefik", namespace: "kube-system" });
    const values = load(config.spec.valuesContent) as any;
    // traefik-helm-chart values.yaml: service.type, ports.<entry point>.nodePort; web serves HTTP, websecure HTTPS.
    // Without a certificate TLS passes through: no extra arguments, so no redirect on web and no middleware on websecure.
    expect(values).toEqual({
      service: { type: "NodePort" },
      ports: { web: { nodePort: expect.any(Number) }, websecure: { nodePort: expect.any(Number) } },
      additionalArguments: [],
    });
    const nodePorts = { web: values.ports.web.nodePort, websecure: values.ports.websecure.nodePort };
    // Followed through the synthesised JSON: the ingress listener on 80 (443) -> its target group -> that group's port.
    const forwardedTo = (listenerPort: number) => {
      const [, listener] = resourcesOf(json, "aws_lb_listener").find(([, body]) => body.port === listenerPort && body.load_balancer_arn.includes("IngressLoadBalancer"))!;
      return json.resource.aws_lb_target_group[referencedId(listener.default_action[0].target_group_arn)].port;
    };
    expect(nodePorts).toEqual({ web: forwardedTo(80), websecure: forwardedTo(443) });
    // Inside kube-apiserver's default --service-node-port-range, 30000-32767, or the Service is refused.
    for (const port of Object.values(nodePorts)) expect(port >= 30000 && port <= 32767).toBe(true);
  });

  test("the automation identity may only list what the Lambdas read, patch nodes and evict pods", () => {
    const documents = manifests["cluster-automation-rbac"];
    const role = documentOf(documents, "ClusterRole");
    // One entry per API call in lambdas/shared/cluster.ts: list nodes, pods, PVCs, StorageClasses, PDBs, DaemonSets; patch nodes
    // (cordon, uncordon, annotate); create evictions. No get, watch, update or delete.
    const grants = role.rules.flatMap((rule: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
      rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${group ? `${group}/` : ""}${resource}`))),
    );
    expect(grants.sort()).toEqual(["create pods/eviction", "list apps/daemonsets", "list nodes", "list persistentvolumeclaims", "list pods", "list policy/poddisruptionbudgets", "list storage.k8s.io/storageclasses", "patch nodes"]);
    expect(documentOf(documents, "ServiceAccount").metadata).toEqual({ name: "cluster-automation", namespace: "kube-system" });
    expect(documentOf(documents, "ClusterRoleBinding")).toMatchObject({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: "cluster-automation", namespace: "kube-system" }],
    });
    // Kubernetes docs, "Manually create a long-lived API token for a ServiceAccount"; the script reads this Secret by name.
    expect(documentOf(documents, "Secret")).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cluster-automation-token", namespace: "kube-system", annotations: { "kubernetes.io/service-account.name": "cluster-automation" } },
      type: "kubernetes.io/service-account-token",
    });
    expect(server).toContain("k3s kubectl -n kube-system get secret cluster-automation-token -o json");
  });

  test("server publishes the kubeconfig (public API address) and the automation credentials (internal address)", () => {
    expect(server).toMatch(/KUBECONFIG_ENDPOINT="https:\/\/\$\{aws_lb\.LoadBalancing_PublicApiLoadBalancer_[A-F0-9]+\.dns_name\}:6443"/);
    expect(server).toMatch(new RegExp(`API_ENDPOINT="https://${apiRef.source}:6443"`));
    expect(server).toContain('--secret-id "$KUBECONFIG_SECRET_ARN"');
    expect(server).toContain('--secret-id "$LAMBDA_ACCESS_SECRET_ARN"');
  });

  test("agent waits for the API through the load balancer before it installs k3s", () => {
    expect(agent).toMatch(new RegExp(`API_ENDPOINT="https://${apiRef.source}:6443"`));
    expect(agent).toContain("retry 55 api_reachable");
    expect(agent.indexOf("retry 55 api_reachable")).toBeLessThan(agent.indexOf("install_k3s agent"));
  });

  test("the k3s installer comes from an immutable k3s-io/k3s commit, checked against its published sha256", () => {
    // The sha256 of k3s's install.sh as other public projects pin the same file, independently of this one (e.g.
    // kube-hetzner's packer template, variable install_sh_sha256); a script that downloads another file must change both.
    const publishedInstallerSha256 = "40b487f0d8ef4f5d1bf422e7bb6228cc7789c40ecc66c5ab067d396bbee9816e";
    for (const script of [server, agent]) {
      expect(script).toMatch(/K3S_INSTALL_SCRIPT_URL="https:\/\/raw\.githubusercontent\.com\/k3s-io\/k3s\/[0-9a-f]{40}\/install\.sh"/);
      expect(script).toContain(`K3S_INSTALL_SCRIPT_SHA256="${publishedInstallerSha256}"`);
      expect(script).not.toContain("get.k3s.io");
    }
  });

  test("servers are tainted CriticalAddonsOnly unless workloads may run on them (k3s docs/datastore/ha.md)", () => {
    expect(load(serverTaintsYaml(false))).toEqual({ "node-taint": ["CriticalAddonsOnly=true:NoExecute"] });
    expect(serverTaintsYaml(true)).toBe("");
    const withWorkloads = writtenConfig(localNamed(synthCluster({ servers: { allowWorkloads: true } }).json, "Compute_Servers_UserData"));
    expect(withWorkloads["node-taint"]).toBeUndefined();
    expect(withWorkloads["secrets-encryption"]).toBe(true);
  });

  test("no user data or output holds a secret value or a reference to one", () => {
    for (const script of [server, agent]) expect(script).not.toMatch(/random_password|secret_string/);
    for (const output of Object.values(json.output ?? {})) expect(JSON.stringify(output)).not.toMatch(/random_password|secret_string/);
  });

  const shellcheckRequired = Boolean(process.env.CI || process.env.REQUIRE_SHELLCHECK);
  const haveShellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  (haveShellcheck || shellcheckRequired ? test : test.skip)(
    haveShellcheck || shellcheckRequired ? "rendered scripts pass shellcheck" : "rendered scripts pass shellcheck (skipped: shellcheck is not installed; `apt-get install shellcheck`)",
    () => {
      expect(haveShellcheck).toBe(true);
      for (const script of [server, agent]) {
        const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: asDelivered(script), encoding: "utf8" });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
      }
    },
  );
});

describe("cluster-autoscaler chart (scaling mode cluster-autoscaler)", () => {
  // Mid-upgrade, so the image tag must follow the servers' release, not the agents'.
  const { json } = synthCluster({ k3sVersion: "v1.34.1+k3s1", agents: { k3sVersion: "v1.33.5+k3s1", scalingMode: "cluster-autoscaler" } });
  const server = localNamed(json, "Compute_Servers_UserData");
  const chart = documentOf(writtenManifests(server)["cluster-autoscaler"], "HelmChart");
  const values = load(chart.spec.valuesContent) as any;

  test("the servers deploy a pinned chart from the kubernetes/autoscaler repository through k3s's helm controller", () => {
    // Chart.yaml of cluster-autoscaler-chart-9.59.0 (kubernetes/autoscaler, cluster-autoscaler/charts/cluster-autoscaler).
    expect(chart).toEqual({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "cluster-autoscaler", namespace: "kube-system" },
      spec: { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.59.0", targetNamespace: "kube-system", valuesContent: expect.any(String) },
    });
  });

  test("it discovers groups by this cluster's tags in the cluster's region", () => {
    // values.yaml: autoDiscovery.clusterName enables discovery for cloudProvider aws, and autoDiscovery.tags become
    // --node-group-auto-discovery=asg:tag=<tags>; awsRegion becomes AWS_REGION.
    expect(values).toMatchObject({ cloudProvider: "aws", awsRegion: "eu-west-1", autoDiscovery: { clusterName: "k3s", tags: ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/k3s"] } });
    // The same keys the agents' group carries, so the group is found.
    const groupTags = resourceNamed(json, "aws_autoscaling_group", "Compute_Agents_Group").tag.map((tag: any) => tag.key);
    expect(groupTags).toEqual(expect.arrayContaining(values.autoDiscovery.tags));
  });

  test("its image is the release of the servers' Kubernetes minor", () => {
    // cluster-autoscaler/README.md, "Releases": use the release matching the control plane's minor version.
    expect(values.image).toEqual({ repository: "registry.k8s.io/autoscaling/cluster-autoscaler", tag: "v1.34.0" });
  });

  test("it runs on the servers, tolerating their taint, on the host network so the one-hop metadata limit still lets it use their role", () => {
    expect(values.nodeSelector).toEqual({ "node-role.kubernetes.io/control-plane": "true" });
    expect(values.tolerations).toEqual([{ key: "CriticalAddonsOnly", operator: "Exists" }]);
    // The toleration covers the taint the servers carry.
    expect(writtenConfig(server)["node-taint"]).toEqual(["CriticalAddonsOnly=true:NoExecute"]);
    // values.yaml of chart 9.59.0: hostNetwork (templates/deployment.yaml sets the pod's hostNetwork from it).
    expect(values.hostNetwork).toBe(true);
    // Its port becomes the node's, so a rollout replaces the pod rather than surging beside it.
    expect(values.updateStrategy).toEqual({ type: "Recreate" });
  });

  test("no expander or node-group balancing is configured: the agents are one group", () => {
    expect(values.extraArgs).toBeUndefined();
  });

  test("in the other modes the server writes an empty manifest, so leaving the mode uninstalls the chart", () => {
    // k3s pkg/deploy/controller.go: an applied manifest prunes what it no longer lists; a deleted file would not.
    for (const scalingMode of ["pods", "cpu"] as const) {
      const other = localNamed(synthCluster({ agents: { scalingMode } }).json, "Compute_Servers_UserData");
      expect(writtenManifests(other)["cluster-autoscaler"]).toEqual([]);
    }
  });
});

describe("add-ons meant for the servers tolerate the taint the servers' config.yaml sets", () => {
  // cluster-autoscaler mode, so every add-on that can run on the servers is written.
  const server = localNamed(synthCluster({ agents: { scalingMode: "cluster-autoscaler" } }).json, "Compute_Servers_UserData");
  const charts = Object.entries(writtenManifests(server)).flatMap(([manifest, documents]) =>
    documents.filter((document) => document?.kind === "HelmChart").map((chart) => ({ manifest, values: (load(chart.spec.valuesContent ?? "") ?? {}) as any })),
  );
  /** A k3s `node-taint` entry, `key[=value]:effect` (k3s docs/cli/server.md, kubectl taint's syntax). */
  const parseTaint = (taint: string) => {
    const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(taint);
    if (!match) throw new Error(`not a taint: ${taint}`);
    return { key: match[1], value: match[2] ?? "", effect: match[3] };
  };
  /**
   * Kubernetes docs, "Taints and Tolerations": a toleration matches a taint when the keys are the same (an empty key
   * with Exists matches every key) and the effects are the same (an empty effect matches every effect), and the
   * operator is Exists, or Equal (the default) with the same value.
   */
  const tolerates = (toleration: { key?: string; operator?: string; value?: string; effect?: string }, taint: { key: string; value: string; effect: string }) => {
    const operator = toleration.operator ?? "Equal";
    const keyMatches = toleration.key ? toleration.key === taint.key : operator === "Exists";
    const effectMatches = !toleration.effect || toleration.effect === taint.effect;
    const valueMatches = operator === "Exists" || (operator === "Equal" && (toleration.value ?? "") === taint.value);
    return keyMatches && effectMatches && valueMatches;
  };

  test("the toleration rule follows Kubernetes", () => {
    const taint = { key: "dedicated", value: "infra", effect: "NoExecute" };
    expect(tolerates({ key: "dedicated", operator: "Exists" }, taint)).toBe(true);
    expect(tolerates({ key: "dedicated", value: "infra" }, taint)).toBe(true);
    expect(tolerates({ key: "dedicated", operator: "Equal", value: "other" }, taint)).toBe(false);
    expect(tolerates({ key: "dedicated", operator: "Exists", effect: "NoSchedule" }, taint)).toBe(false);
    expect(tolerates({ key: "Dedicated", operator: "Exists" }, taint)).toBe(false);
    expect(tolerates({ operator: "Exists" }, taint)).toBe(true);
  });

  test("the servers' add-ons are the cloud controller and cluster-autoscaler, and each tolerates every server taint", () => {
    const taints = (writtenConfig(server)["node-taint"] as string[]).map(parseTaint);
    expect(taints).toEqual([{ key: "CriticalAddonsOnly", value: "true", effect: "NoExecute" }]);
    // Meant for the servers: pinned to them by k3s's control-plane label.
    const onServers = charts.filter(({ values }) => values.nodeSelector?.["node-role.kubernetes.io/control-plane"] === "true");
    expect(onServers.map(({ manifest }) => manifest)).toEqual(["aws-cloud-controller-manager", "cluster-autoscaler"]);
    for (const { manifest, values } of onServers) {
      for (const taint of taints) expect({ manifest, taint, tolerated: (values.tolerations ?? []).some((toleration: any) => tolerates(toleration, taint)) }).toEqual({ manifest, taint, tolerated: true });
    }
  });
});
