import { spawnSync } from "child_process";
import { load } from "js-yaml";
import { K3S_INSTALLER } from "../modules/compute/k3s-installer";
import { escapeTerraformTemplate, fillPlaceholders, kubernetesMinorImageTag, serverTaintsYaml } from "../modules/compute/user-data";
import { asDelivered, localNamed, resourceNamed, synthCluster } from "./helpers";

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
  const server = asDelivered(localNamed(json, "Compute_ServerUserData"));
  expect(server).toContain('K3S_VERSION="v1.34.1+k3s1"');
  expect(asDelivered(localNamed(json, "Compute_AgentUserData"))).toContain('K3S_VERSION="v1.33.5+k3s1"');
  expect(server).toContain("      tag: v1.34.0\n");
});

describe("bootstrap scripts", () => {
  const { json } = synthCluster({ api: { publicAccess: true, adminCidrs: ["203.0.113.0/24"], domain: "example.com" } });
  const server = localNamed(json, "Compute_ServerUserData");
  const agent = localNamed(json, "Compute_AgentUserData");
  const apiRef = /\$\{aws_lb\.LoadBalancing_ApiLoadBalancer_[A-F0-9]+\.dns_name\}/;

  test("no placeholder is left unfilled", () => {
    for (const script of [server, agent]) expect(script).not.toMatch(/\{\{|\}\}/);
  });

  test("server pins k3s and configures the datastore with certificate verification", () => {
    expect(server).toContain('K3S_VERSION="v1.33.5+k3s1"');
    expect(server).toContain('INSTALL_K3S_VERSION="$K3S_VERSION"');
    expect(server).toContain('datastore-endpoint: $(yaml_quote "$DATASTORE_ENDPOINT")');
    expect(server).toContain('user, password = quote(db["username"], safe=""), quote(db["password"], safe="")');
    expect(server).toContain('print("postgres://%s:%s@%s:%s/%s" % (user, password, db["host"], db["port"], db["dbname"]))');
    expect(server).toContain("datastore-cafile: /etc/rancher/k3s/rds-ca.pem");
    expect(server).not.toMatch(/postgres:\/\/[^"]*\?/);
    expect(server).toMatch(/DATASTORE_SECRET_ARN="\$\{aws_secretsmanager_secret\.Database_Secret_[A-F0-9]+\.arn\}"/);
  });

  test("server and agent run kubelet for the external cloud provider with provider IDs and IMDS host names", () => {
    expect(server).toContain("disable-cloud-controller: true");
    for (const script of [server, agent]) {
      expect(script).toContain("  - cloud-provider=external\n  - provider-id=$PROVIDER_ID");
      expect(script).toContain('PROVIDER_ID="aws:///$AVAILABILITY_ZONE/$INSTANCE_ID"');
      expect(script).toContain("NODE_NAME=$(retry 10 imds local-hostname)");
      expect(script).toContain('node-name: $(yaml_quote "$NODE_NAME")');
      expect(script).toContain('"X-aws-ec2-metadata-token-ttl-seconds: 300"');
    }
  });

  test("every name the API is reached by is a SAN from the first boot", () => {
    const afterSans = server.slice(server.indexOf("tls-san:\n") + "tls-san:\n".length).split("\n");
    const sans = afterSans.slice(0, afterSans.findIndex((line) => !line.startsWith("  - ")));
    expect(sans).toHaveLength(3);
    expect(sans[0]).toMatch(new RegExp(`^  - "${apiRef.source}"$`));
    expect(sans[1]).toMatch(/^  - "\$\{aws_lb\.LoadBalancing_PublicApiLoadBalancer_[A-F0-9]+\.dns_name\}"$/);
    expect(sans[2]).toBe('  - "k3s.example.com"');
  });

  test("credentials travel in root-only files, not on command lines", () => {
    expect(server).toContain("umask 077");
    expect(server).toContain("cat >/etc/rancher/k3s/config.yaml <<YAML");
    expect(server).not.toMatch(/--token|--datastore-endpoint/);
    expect(agent).not.toMatch(/--token/);
  });

  test("server deploys the cloud controller, EFS CSI driver with a default RWX class, and automation RBAC", () => {
    const delivered = asDelivered(server);
    expect(delivered).toContain("  bootstrap: true\n  valuesContent: |-\n");
    expect(delivered).toContain("\n    hostNetworking: true\n");
    expect(delivered).toContain('      node-role.kubernetes.io/control-plane: "true"');
    expect(delivered).toMatch(/chart: aws-cloud-controller-manager\n  version: 0\.0\.10/);
    expect(delivered).toContain("      repository: registry.k8s.io/provider-aws/cloud-controller-manager\n      tag: v1.33.0");
    expect(delivered).toMatch(/chart: aws-efs-csi-driver\n  version: 3\.2\.4/);
    expect(server).toMatch(/fileSystemId: "\$\{aws_efs_file_system\.Storage_FileSystem_[A-F0-9]+\.id\}"/);
    expect(delivered).toContain('storageclass.kubernetes.io/is-default-class: "true"');
    expect(delivered).toContain("provisioningMode: efs-ap");
    expect(delivered).toContain("nodePort: 30080");
    expect(delivered).toContain("nodePort: 30443");
  });

  test("the automation identity may only list what the Lambdas read, patch nodes and evict pods", () => {
    const delivered = asDelivered(server);
    const start = delivered.indexOf(`cat >"$MANIFESTS/cluster-automation-rbac.yaml" <<'YAML'\n`) + `cat >"$MANIFESTS/cluster-automation-rbac.yaml" <<'YAML'\n`.length;
    const documents = delivered.slice(start, delivered.indexOf("\nYAML\n", start)).split("\n---\n").map((document) => load(document) as any);
    const role = documents.find((document) => document.kind === "ClusterRole");
    // One entry per API call in lambdas/shared/cluster.ts: list nodes, pods, PVCs, StorageClasses, PDBs, DaemonSets; patch nodes
    // (cordon, uncordon, annotate); create evictions. No get, watch, update or delete.
    const grants = role.rules.flatMap((rule: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
      rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${group ? `${group}/` : ""}${resource}`))),
    );
    expect(grants.sort()).toEqual(["create pods/eviction", "list apps/daemonsets", "list nodes", "list persistentvolumeclaims", "list pods", "list policy/poddisruptionbudgets", "list storage.k8s.io/storageclasses", "patch nodes"]);
    expect(documents.find((document) => document.kind === "ClusterRoleBinding")).toMatchObject({
      roleRef: { kind: "ClusterRole", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: "cluster-automation", namespace: "kube-system" }],
    });
  });

  test("server publishes the kubeconfig (public API address) and the automation credentials (internal address)", () => {
    expect(server).toMatch(/KUBECONFIG_ENDPOINT="https:\/\/\$\{aws_lb\.LoadBalancing_PublicApiLoadBalancer_[A-F0-9]+\.dns_name\}:6443"/);
    expect(server).toMatch(new RegExp(`API_ENDPOINT="https://${apiRef.source}:6443"`));
    expect(server).toContain('--secret-id "$KUBECONFIG_SECRET_ARN"');
    expect(server).toContain('--secret-id "$LAMBDA_ACCESS_SECRET_ARN"');
  });

  test("agent waits for the API, joins through the load balancer and labels its capacity type", () => {
    expect(agent).toMatch(new RegExp(`API_ENDPOINT="https://${apiRef.source}:6443"`));
    expect(agent).toContain('server: $(yaml_quote "$API_ENDPOINT")');
    expect(agent).toContain("retry 55 api_reachable");
    expect(agent.indexOf("retry 55 api_reachable")).toBeLessThan(agent.indexOf("install_k3s agent"));
    expect(agent).toContain("node.kubernetes.io/capacity-type=$CAPACITY_TYPE");
  });

  test("the k3s installer comes from an immutable k3s-io/k3s commit, checked against the sha256 kept in the repository", () => {
    expect(K3S_INSTALLER.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/k3s-io\/k3s\/[0-9a-f]{40}\/install\.sh$/);
    expect(K3S_INSTALLER.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const script of [server, agent]) {
      expect(script).toContain(`K3S_INSTALL_SCRIPT_URL="${K3S_INSTALLER.url}"`);
      expect(script).toContain(`K3S_INSTALL_SCRIPT_SHA256="${K3S_INSTALLER.sha256}"`);
      expect(script).not.toContain("get.k3s.io");
    }
  });

  test("servers are tainted CriticalAddonsOnly unless workloads may run on them (k3s docs/datastore/ha.md)", () => {
    expect(load(serverTaintsYaml(false))).toEqual({ "node-taint": ["CriticalAddonsOnly=true:NoExecute"] });
    expect(serverTaintsYaml(true)).toBe("");
    expect(server).toContain("\nnode-taint:\n  - CriticalAddonsOnly=true:NoExecute\n");
  });

  // The HelmChart manifests as the server writes them, parsed, and their chart values parsed in turn.
  const chartValues = (manifest: string) => {
    const delivered = asDelivered(server);
    const start = delivered.indexOf(`cat >"$MANIFESTS/${manifest}.yaml" <<'YAML'\n`) + `cat >"$MANIFESTS/${manifest}.yaml" <<'YAML'\n`.length;
    const [chart] = delivered.slice(start, delivered.indexOf("\nYAML\n", start)).split("\n---\n");
    return load((load(chart) as any).spec.valuesContent) as any;
  };

  test("the cloud controller tolerates the server taint and keeps the chart's own tolerations", () => {
    const values = chartValues("aws-cloud-controller-manager");
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
    expect(values.hostNetworking).toBe(true);
  });

  test("the EFS CSI controller uses host networking: one IMDS hop reaches no pod network", () => {
    // controller.hostNetwork in charts/aws-efs-csi-driver/values.yaml at chart 3.2.4 (kubernetes-sigs/aws-efs-csi-driver).
    expect(chartValues("aws-efs-csi-driver")).toEqual({ controller: { hostNetwork: true } });
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

/** The manifest a server writes to `$MANIFESTS/<name>.yaml`, as the instance receives it. */
function writtenManifest(serverUserData: string, name: string): string {
  const delivered = asDelivered(serverUserData);
  const opening = `cat >"$MANIFESTS/${name}.yaml" <<'YAML'\n`;
  const start = delivered.indexOf(opening);
  if (start === -1) throw new Error(`the server writes no ${name}.yaml`);
  return delivered.slice(start + opening.length, delivered.indexOf("\nYAML\n", start));
}

describe("cluster-autoscaler chart (scaling mode cluster-autoscaler)", () => {
  // Mid-upgrade, so the image tag must follow the servers' release, not the agents'.
  const { json } = synthCluster({ k3sVersion: "v1.34.1+k3s1", agents: { k3sVersion: "v1.33.5+k3s1", scalingMode: "cluster-autoscaler" } });
  const server = localNamed(json, "Compute_ServerUserData");
  const chart = load(writtenManifest(server, "cluster-autoscaler")) as any;
  const values = load(chart.spec.valuesContent) as any;

  test("the servers deploy a pinned chart from the kubernetes/autoscaler repository through k3s's helm controller", () => {
    // Chart.yaml of cluster-autoscaler-chart-9.59.0 (kubernetes/autoscaler, cluster-autoscaler/charts/cluster-autoscaler).
    expect(chart).toMatchObject({
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "cluster-autoscaler", namespace: "kube-system" },
      spec: { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.59.0", targetNamespace: "kube-system" },
    });
  });

  test("it discovers groups by this cluster's tags in the cluster's region", () => {
    // values.yaml: autoDiscovery.clusterName enables discovery for cloudProvider aws, and autoDiscovery.tags become
    // --node-group-auto-discovery=asg:tag=<tags>; awsRegion becomes AWS_REGION.
    expect(values).toMatchObject({ cloudProvider: "aws", awsRegion: "eu-west-1", autoDiscovery: { clusterName: "k3s", tags: ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/k3s"] } });
    // The same keys the agents' group carries, so the group is found.
    const groupTags = resourceNamed(json, "aws_autoscaling_group", "Compute_AgentGroup").tag.map((tag: any) => tag.key);
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
    expect(server).toContain("\nnode-taint:\n  - CriticalAddonsOnly=true:NoExecute\n");
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
      const other = localNamed(synthCluster({ agents: { scalingMode } }).json, "Compute_ServerUserData");
      expect(writtenManifest(other, "cluster-autoscaler")).toBe("");
      expect(other).not.toContain("helm.cattle.io/v1\nkind: HelmChart\nmetadata:\n  name: cluster-autoscaler");
    }
  });
});
