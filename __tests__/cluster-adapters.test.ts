import { readFileSync } from "fs";
import { loadAll } from "js-yaml";
import { join } from "path";
import { Cluster, kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { matchesLabelSelector, matchesNodeSelectorTerms } from "../lambdas/shared/selectors";
import { FakeKubeApi } from "./support/fake-kube-api";

// Objects below are shaped as the API server returns them (defaulted fields, quantities as strings, RFC 3339 times),
// and go through the real @kubernetes/client-node deserialiser.

const AGENT = "ip-10-0-1-10.eu-west-1.compute.internal";
const LOST = "ip-10-0-2-20.eu-west-1.compute.internal";
const JOINING = "ip-10-0-3-30.eu-west-1.compute.internal";
const Mi = 2 ** 20;
const Gi = 2 ** 30;

/** What the DefaultTolerationSeconds admission plugin adds to every pod. */
const defaultTolerations = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
];

const kubeApiAccess = {
  name: "kube-api-access-7xk2p",
  projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }, { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } }] },
};

function node(name: string, instanceId: string, extra: { zone: string; taints?: unknown[]; conditions?: unknown[]; creationTimestamp: string; annotations?: Record<string, string> }) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-${instanceId}`,
      resourceVersion: "48213",
      creationTimestamp: extra.creationTimestamp,
      labels: {
        "beta.kubernetes.io/arch": "arm64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "arm64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "t4g.large",
        "node.kubernetes.io/capacity-type": "spot",
        "topology.kubernetes.io/region": "eu-west-1",
        "topology.kubernetes.io/zone": extra.zone,
      },
      annotations: { "alpha.kubernetes.io/provided-node-ip": "10.0.1.10", "k3s.io/node-args": '["agent"]', "node.alpha.kubernetes.io/ttl": "0", ...extra.annotations },
    },
    spec: { podCIDR: "10.42.1.0/24", podCIDRs: ["10.42.1.0/24"], providerID: `aws:///${extra.zone}/${instanceId}`, ...(extra.taints ? { taints: extra.taints } : {}) },
    status: {
      capacity: { cpu: "2", "ephemeral-storage": "20959212Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "hugepages-32Mi": "0", "hugepages-64Ki": "0", memory: "8026216Ki", pods: "110" },
      allocatable: { cpu: "2", "ephemeral-storage": "20389121418", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "hugepages-32Mi": "0", "hugepages-64Ki": "0", memory: "8026216Ki", pods: "110" },
      conditions: extra.conditions ?? [],
      addresses: [{ type: "InternalIP", address: "10.0.1.10" }, { type: "Hostname", address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { architecture: "arm64", kubeletVersion: "v1.33.5+k3s1", containerRuntimeVersion: "containerd://2.1.4-k3s1", operatingSystem: "linux", osImage: "Amazon Linux 2023.9.20251014", kernelVersion: "6.1.155-176.282.amzn2023.aarch64", bootID: "b", machineID: "m", systemUUID: "s", kubeProxyVersion: "" },
    },
  };
}

const pressure = (type: string) => ({ type, status: "False", lastHeartbeatTime: "2026-03-01T11:00:00Z", lastTransitionTime: "2026-03-01T10:00:05Z", reason: `KubeletHasNo${type}`, message: "ok" });

const readyAgent = node(AGENT, "i-0123456789abcdef0", {
  zone: "eu-west-1a",
  creationTimestamp: "2026-03-01T10:00:00Z",
  annotations: { "k3s-aws.example/cordoned-by": "autoscaler" },
  taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }],
  conditions: [
    pressure("MemoryPressure"),
    pressure("DiskPressure"),
    pressure("PIDPressure"),
    { type: "Ready", status: "True", lastHeartbeatTime: "2026-03-01T11:00:00Z", lastTransitionTime: "2026-03-01T10:00:20Z", reason: "KubeletReady", message: "kubelet is posting ready status" },
  ],
});

// The node lifecycle controller's view of a node whose kubelet stopped posting status.
const lostAgent = node(LOST, "i-0fedcba9876543210", {
  zone: "eu-west-1c",
  creationTimestamp: "2026-03-01T09:00:00Z",
  taints: [
    { key: "node.kubernetes.io/unreachable", effect: "NoSchedule", timeAdded: "2026-03-01T11:05:40Z" },
    { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: "2026-03-01T11:05:45Z" },
  ],
  conditions: [
    { type: "Ready", status: "Unknown", lastHeartbeatTime: "2026-03-01T11:04:00Z", lastTransitionTime: "2026-03-01T11:05:40Z", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." },
  ],
});

// Registered a moment ago; its kubelet has not reported conditions yet.
const joiningAgent = node(JOINING, "i-0aaaaaaaaaaaaaaaa", {
  zone: "eu-west-1c",
  creationTimestamp: "2026-03-01T11:10:00Z",
  taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }],
});

function pod(namespace: string, name: string, owner: { apiVersion: string; kind: string; name: string } | undefined, spec: Record<string, unknown>, status: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: "1001",
      creationTimestamp: "2026-03-01T10:30:00Z",
      ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
      ...metadata,
    },
    spec: {
      dnsPolicy: "ClusterFirst",
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
      priority: 0,
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      securityContext: {},
      serviceAccount: "default",
      serviceAccountName: "default",
      terminationGracePeriodSeconds: 30,
      tolerations: defaultTolerations,
      ...spec,
      volumes: [...((spec.volumes as unknown[]) ?? []), kubeApiAccess],
    },
    status: { qosClass: "Burstable", ...status },
  };
}

const container = (name: string, requests: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name,
  image: `registry.example/${name}:1.0`,
  imagePullPolicy: "IfNotPresent",
  resources: { requests },
  terminationMessagePath: "/dev/termination-log",
  terminationMessagePolicy: "File",
  volumeMounts: [{ name: "kube-api-access-7xk2p", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
  ...extra,
});

const unschedulable = {
  phase: "Pending",
  conditions: [{ type: "PodScheduled", status: "False", lastProbeTime: null, lastTransitionTime: "2026-03-01T10:30:01Z", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." }],
};

/**
 * k8s.io/component-helpers resource/helpers_test.go "multiple restartable and regular init containers" (KEP-753
 * "Exposing Pod Resource requirements"): init-2 needs its 5 CPUs plus the sidecars started before it (1 + 2) = 8;
 * restartable-init-3 starts after it and does not count there. Memory is where the running phase wins:
 * container 1Gi + three 256Mi sidecars = 1792Mi against init-2's 512Mi + 512Mi. The RuntimeClass overhead
 * (docs "Pod Overhead": kata-fc, 250m and 120Mi) is added to both.
 */
const sidecarJob = pod(
  "batch",
  "report-28471230-x7k2q",
  { apiVersion: "batch/v1", kind: "Job", name: "report-28471230" },
  {
    runtimeClassName: "kata-fc",
    overhead: { cpu: "250m", memory: "120Mi" },
    restartPolicy: "Never",
    initContainers: [
      container("init-1", { cpu: "5", memory: "1Gi" }),
      container("restartable-init-1", { cpu: "1", memory: "256Mi" }, { restartPolicy: "Always" }),
      container("restartable-init-2", { cpu: "2", memory: "256Mi" }, { restartPolicy: "Always" }),
      container("init-2", { cpu: "5", memory: "512Mi" }),
      container("restartable-init-3", { cpu: "3", memory: "256Mi" }, { restartPolicy: "Always" }),
    ],
    containers: [container("container-1", { cpu: "1", memory: "1Gi" })],
  },
  unschedulable,
);

const ingress = pod(
  "edge",
  "ingress-7d9f8b6c5-qwert",
  { apiVersion: "apps/v1", kind: "ReplicaSet", name: "ingress-7d9f8b6c5" },
  {
    priorityClassName: "edge-critical",
    priority: 100000,
    nodeSelector: { "kubernetes.io/arch": "arm64", "node.kubernetes.io/capacity-type": "spot" },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["eu-west-1a", "eu-west-1b"] }, { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
            { matchFields: [{ key: "metadata.name", operator: "In", values: [LOST] }] },
          ],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: "node.kubernetes.io/instance-type", operator: "In", values: ["t4g.xlarge"] }] } }],
      },
    },
    tolerations: [...defaultTolerations, { key: "dedicated", operator: "Equal", value: "batch", effect: "NoSchedule" }, { operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }],
    containers: [
      container(
        "proxy",
        { cpu: "250m", memory: "1Gi" },
        {
          ports: [
            { name: "http", containerPort: 8080, hostPort: 80, protocol: "TCP" },
            { name: "dns", containerPort: 5353, hostPort: 53, hostIP: "10.0.1.10", protocol: "UDP" },
            { name: "metrics", containerPort: 9100, protocol: "TCP" },
          ],
        },
      ),
    ],
    // A sidecar's hostPort is not read by kube-scheduler's NodePorts filter (spec.containers only).
    initContainers: [container("mesh", { cpu: "50m", memory: "64Mi" }, { restartPolicy: "Always", ports: [{ containerPort: 15001, hostPort: 15001, protocol: "TCP" }] })],
  },
  { ...unschedulable, nominatedNodeName: AGENT },
  { labels: { app: "ingress", tier: "edge", "pod-template-hash": "7d9f8b6c5" } },
);

const database = pod(
  "data",
  "db-0",
  { apiVersion: "apps/v1", kind: "StatefulSet", name: "db" },
  {
    nodeName: AGENT,
    hostname: "db-0",
    subdomain: "db",
    terminationGracePeriodSeconds: 120,
    containers: [container("postgres", { cpu: "500m", memory: "2Gi" })],
    volumes: [
      { name: "data", persistentVolumeClaim: { claimName: "data-db-0" } },
      { name: "scratch", emptyDir: {} },
      { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
      { name: "host-logs", hostPath: { path: "/var/log/db", type: "DirectoryOrCreate" } },
      { name: "cache", ephemeral: { volumeClaimTemplate: { spec: { accessModes: ["ReadWriteOnce"], storageClassName: "efs", resources: { requests: { storage: "1Gi" } } } } } },
      { name: "config", configMap: { name: "db-config", defaultMode: 420 } },
    ],
  },
  {
    phase: "Running",
    hostIP: "10.0.1.10",
    podIP: "10.42.1.17",
    startTime: "2026-03-01T10:30:02Z",
    conditions: [{ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: "2026-03-01T10:30:01Z" }],
  },
  {
    labels: { app: "db", "apps.kubernetes.io/pod-index": "0", "statefulset.kubernetes.io/pod-name": "db-0" },
    annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "scratch,host-logs" },
    deletionTimestamp: "2026-03-01T11:20:00Z",
    deletionGracePeriodSeconds: 120,
  },
);

function budget(name: string, selector: unknown, disruptionsAllowed: number) {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace: "data", uid: `uid-${name}`, resourceVersion: "77", generation: 1, creationTimestamp: "2026-03-01T09:00:00Z" },
    spec: { minAvailable: 1, ...(selector === undefined ? {} : { selector }) },
    status: {
      observedGeneration: 1,
      currentHealthy: 1,
      desiredHealthy: 1,
      expectedPods: 1,
      disruptionsAllowed,
      conditions: [{ type: "DisruptionAllowed", status: disruptionsAllowed > 0 ? "True" : "False", reason: disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods", message: "", observedGeneration: 1, lastTransitionTime: "2026-03-01T10:31:00Z" }],
    },
  };
}

function claim(namespace: string, name: string, phase: string) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: "90", creationTimestamp: "2026-03-01T10:29:00Z", finalizers: ["kubernetes.io/pvc-protection"] },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "efs", volumeMode: "Filesystem", ...(phase === "Bound" ? { volumeName: `pvc-${name}` } : {}) },
    status: phase === "Bound" ? { phase, accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" } } : { phase },
  };
}

function storageClass(name: string, volumeBindingMode: string) {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, uid: `uid-${name}`, resourceVersion: "12", creationTimestamp: "2026-03-01T09:00:00Z" },
    provisioner: name === "efs" ? "efs.csi.aws.com" : "ebs.csi.aws.com",
    reclaimPolicy: "Delete",
    volumeBindingMode,
  };
}

function daemonSet(namespace: string, name: string, template: Record<string, unknown>) {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: "55", generation: 1, creationTimestamp: "2026-03-01T09:00:00Z", annotations: { "deprecated.daemonset.template.generation": "1" } },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { dnsPolicy: "ClusterFirst", restartPolicy: "Always", schedulerName: "default-scheduler", securityContext: {}, terminationGracePeriodSeconds: 30, ...template } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    },
    status: { currentNumberScheduled: 2, desiredNumberScheduled: 2, numberAvailable: 2, numberMisscheduled: 0, numberReady: 2, observedGeneration: 1, updatedNumberScheduled: 2 },
  };
}

/** Tolerations the DaemonSet controller adds to every pod it creates (pkg/controller/daemon/util). */
const daemonTolerations = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

describe("adapters read real-shaped objects through @kubernetes/client-node", () => {
  let api: FakeKubeApi;
  let cluster: Cluster;

  beforeEach(async () => {
    api = new FakeKubeApi();
    const server = await api.start();
    cluster = kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "automation-token" }));
    for (const each of [readyAgent, lostAgent, joiningAgent]) api.putNode(each);
    for (const each of [sidecarJob, ingress, database]) api.putPod(each);
    // Every list must follow metadata.continue: the API may return fewer items than asked for.
    api.maxPageSize = 1;
  });
  afterEach(() => api.stop());

  const podNamed = async (name: string) => (await cluster.listPods()).find((each) => each.name === name)!;

  test("requests count native sidecars for the pod's life, init containers with the sidecars before them, and overhead (KEP-753)", async () => {
    expect((await podNamed("report-28471230-x7k2q")).requests).toEqual({ cpuMillis: 8000 + 250, memoryBytes: 1792 * Mi + 120 * Mi });
    // Without sidecars the old rule holds: max(sum of containers, largest init container).
    expect((await podNamed("db-0")).requests).toEqual({ cpuMillis: 500, memoryBytes: 2 * Gi });
    expect((await podNamed("ingress-7d9f8b6c5-qwert")).requests).toEqual({ cpuMillis: 300, memoryBytes: Gi + 64 * Mi });
  });

  test("a pod-level request (spec.resources, KEP-2837) replaces its containers' sum for that resource, before the overhead", async () => {
    // Kubernetes docs "Assign Pod-level CPU and memory resources": the pod's 1 CPU is shared by its containers.
    api.putPod(pod("web", "shared-budget-0", { apiVersion: "apps/v1", kind: "ReplicaSet", name: "shared-budget" }, {
      resources: { requests: { cpu: "1" } },
      overhead: { cpu: "250m", memory: "120Mi" },
      containers: [container("app", { cpu: "100m", memory: "256Mi" }), container("sidecar", { cpu: "100m", memory: "128Mi" })],
    }, unschedulable));
    expect((await podNamed("shared-budget-0")).requests).toEqual({ cpuMillis: 1000 + 250, memoryBytes: 384 * Mi + 120 * Mi });
  });

  test("node selector, required node affinity terms and tolerations are read as the scheduler reads them", async () => {
    const pending = await podNamed("ingress-7d9f8b6c5-qwert");
    expect(pending.nodeSelector).toEqual({ "kubernetes.io/arch": "arm64", "node.kubernetes.io/capacity-type": "spot" });
    // Preferred terms do not constrain scheduling and are not read.
    expect(pending.requiredNodeAffinity).toEqual([
      { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: ["eu-west-1a", "eu-west-1b"] }, { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" }] },
      { matchFields: [{ key: "metadata.name", operator: "In", values: [LOST] }] },
    ]);
    expect(pending.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
      { key: "dedicated", operator: "Equal", value: "batch", effect: "NoSchedule" },
      { operator: "Exists", effect: "NoExecute" },
    ]);
    const nodes = await cluster.listNodes();
    // The terms are ORed: the agent matches the first by zone, the lost node (eu-west-1c) only the second, by name.
    expect(nodes.filter((each) => matchesNodeSelectorTerms(each, pending.requiredNodeAffinity)).map((each) => each.name)).toEqual([AGENT, LOST]);
    expect((await podNamed("db-0")).requiredNodeAffinity).toBeUndefined();
  });

  test("host ports: only ports with a hostPort, of regular containers, protocol and host IP kept", async () => {
    expect((await podNamed("ingress-7d9f8b6c5-qwert")).hostPorts).toEqual([
      { port: 80, protocol: "TCP" },
      { port: 53, protocol: "UDP", hostIP: "10.0.1.10" },
    ]);
    expect((await podNamed("db-0")).hostPorts).toBeUndefined();
  });

  test("hard inter-pod rules are named (InterPodAffinity, PodTopologySpread filters); preferences and ScheduleAnyway are not", async () => {
    const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5c7d" };
    const byHost = { labelSelector: { matchLabels: { app: "web" } }, topologyKey: "kubernetes.io/hostname" };
    api.putPod(
      pod("default", "web-5c7d-a", owner, {
        containers: [container("web", { cpu: "100m" })],
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [byHost] }, podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: byHost }] } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "web" } } }],
      }, { phase: "Running" }),
    );
    api.putPod(
      pod("default", "web-5c7d-b", owner, {
        containers: [container("web", { cpu: "100m" })],
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: byHost }] } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }],
      }, { phase: "Running" }),
    );
    expect((await podNamed("web-5c7d-a")).interPodConstraints).toEqual(["required pod anti-affinity", "topology spread (DoNotSchedule)"]);
    expect((await podNamed("web-5c7d-b")).interPodConstraints).toBeUndefined();
  });

  test("priority, nominated node, controller, claims, local volumes and termination are read from the pod", async () => {
    expect(await podNamed("ingress-7d9f8b6c5-qwert")).toMatchObject({ priority: 100000, nominatedNodeName: AGENT, unschedulable: true, controllerKind: "ReplicaSet", controllerName: "ingress-7d9f8b6c5", deleting: false, claimNames: [] });
    const db = await podNamed("db-0");
    expect(db).toMatchObject({
      priority: 0,
      nominatedNodeName: undefined,
      controllerKind: "StatefulSet",
      controllerName: "db",
      nodeName: AGENT,
      // A generic ephemeral volume's claim is <pod>-<volume> (core/v1 EphemeralVolumeSource).
      claimNames: ["data-db-0", "db-0-cache"],
      // Memory-backed emptyDir is not local storage (cluster-autoscaler utils/drain HasLocalStorage).
      localVolumeNames: ["scratch", "host-logs"],
      annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes": "scratch,host-logs" },
      deleting: true,
      deletionTimestampMs: Date.parse("2026-03-01T11:20:00Z"),
      terminationGracePeriodSeconds: 120,
    });
  });

  test("nodes: taints, pod capacity, NotReady since the Ready condition's transition, registration time", async () => {
    const nodes = Object.fromEntries((await cluster.listNodes()).map((each) => [each.name, each]));
    expect(nodes[AGENT].notReadySinceMs).toBeUndefined();
    expect(nodes[AGENT]).toMatchObject({
      ready: true,
      podCapacity: 110,
      allocatable: { cpuMillis: 2000, memoryBytes: 8026216 * 1024 },
      taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }],
      createdAtMs: Date.parse("2026-03-01T10:00:00Z"),
      annotations: expect.objectContaining({ "k3s-aws.example/cordoned-by": "autoscaler" }),
    });
    expect(nodes[LOST]).toMatchObject({
      ready: false,
      notReadySinceMs: Date.parse("2026-03-01T11:05:40Z"),
      taints: [
        { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" },
        { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
      ],
    });
    expect(nodes[JOINING]).toMatchObject({ ready: false, notReadySinceMs: Date.parse("2026-03-01T11:10:00Z"), createdAtMs: Date.parse("2026-03-01T11:10:00Z") });
    expect(api.requests.filter((request) => request === "GET /api/v1/nodes")).toHaveLength(3);
  });

  test("disruption budgets keep matchExpressions, an empty selector (every pod of the namespace) and a missing one (none)", async () => {
    api.budgets.push(
      budget("db-expressions", { matchExpressions: [{ key: "app", operator: "In", values: ["db", "db-replica"] }, { key: "canary", operator: "DoesNotExist" }] }, 0),
      budget("everything", {}, 1),
      budget("nothing", undefined, 1),
      budget("by-label", { matchLabels: { app: "db" } }, 2),
    );
    const budgets = await cluster.listDisruptionBudgets();
    expect(budgets).toEqual([
      { namespace: "data", name: "db-expressions", selector: { matchExpressions: [{ key: "app", operator: "In", values: ["db", "db-replica"] }, { key: "canary", operator: "DoesNotExist" }] }, disruptionsAllowed: 0 },
      { namespace: "data", name: "everything", selector: {}, disruptionsAllowed: 1 },
      { namespace: "data", name: "nothing", selector: null, disruptionsAllowed: 1 },
      { namespace: "data", name: "by-label", selector: { matchLabels: { app: "db" } }, disruptionsAllowed: 2 },
    ]);
    const db = await podNamed("db-0");
    expect(budgets.filter((each) => matchesLabelSelector(db.labels, each.selector)).map((each) => each.name)).toEqual(["db-expressions", "everything", "by-label"]);
    expect(budgets.filter((each) => matchesLabelSelector({ app: "db", canary: "true" }, each.selector)).map((each) => each.name)).toEqual(["everything", "by-label"]);
  });

  test("claims are bound only in phase Bound; a class's WaitForFirstConsumer mode is read from the StorageClass", async () => {
    api.claims.push(claim("data", "data-db-0", "Bound"), claim("data", "db-0-cache", "Pending"), claim("batch", "scratch-lost", "Lost"), { ...claim("data", "ebs-0", "Pending"), spec: { ...claim("data", "ebs-0", "Pending").spec, storageClassName: "gp3" } });
    api.storageClasses.push(storageClass("efs", "Immediate"), storageClass("gp3", "WaitForFirstConsumer"));
    expect(await cluster.listPersistentVolumeClaims()).toEqual([
      { namespace: "data", name: "data-db-0", bound: true, waitsForFirstConsumer: false },
      { namespace: "data", name: "db-0-cache", bound: false, waitsForFirstConsumer: false },
      { namespace: "batch", name: "scratch-lost", bound: false, waitsForFirstConsumer: false },
      { namespace: "data", name: "ebs-0", bound: false, waitsForFirstConsumer: true },
    ]);
    expect(api.requests.filter((request) => request === "GET /api/v1/persistentvolumeclaims")).toHaveLength(4);
  });

  test("DaemonSets give their pods' scheduling spec, with the tolerations their controller adds", async () => {
    // aws-efs-csi-driver's node DaemonSet: host networking, so the API defaulted hostPort to containerPort.
    api.daemonSets.push(
      daemonSet("kube-system", "efs-csi-node", {
        hostNetwork: true,
        priorityClassName: "system-node-critical",
        nodeSelector: { "kubernetes.io/os": "linux" },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "eks.amazonaws.com/compute-type", operator: "NotIn", values: ["fargate"] }] }] } } },
        tolerations: [{ operator: "Exists" }],
        containers: [
          container("efs-plugin", { cpu: "100m", memory: "128Mi" }, { ports: [{ name: "healthz", containerPort: 9809, hostPort: 9809, protocol: "TCP" }] }),
          container("csi-driver-registrar", { cpu: "10m", memory: "20Mi" }),
          container("liveness-probe", { cpu: "10m", memory: "20Mi" }),
        ],
      }),
      daemonSet("monitoring", "node-exporter", {
        tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }],
        initContainers: [container("log-shipper", { cpu: "20m", memory: "32Mi" }, { restartPolicy: "Always" })],
        containers: [container("node-exporter", { cpu: "100m", memory: "30Mi" })],
      }),
    );
    const [efs, exporter] = await cluster.listDaemonSets();
    expect(efs).toEqual({
      namespace: "kube-system",
      name: "efs-csi-node",
      pod: {
        requests: { cpuMillis: 120, memoryBytes: 168 * Mi },
        nodeSelector: { "kubernetes.io/os": "linux" },
        requiredNodeAffinity: [{ matchExpressions: [{ key: "eks.amazonaws.com/compute-type", operator: "NotIn", values: ["fargate"] }] }],
        tolerations: [{ operator: "Exists" }, ...daemonTolerations, { key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" }],
        hostPorts: [{ port: 9809, protocol: "TCP" }],
      },
    });
    // Its own unschedulable toleration is replaced by the controller's, not doubled.
    expect(exporter).toEqual({ namespace: "monitoring", name: "node-exporter", pod: { requests: { cpuMillis: 120, memoryBytes: 62 * Mi }, tolerations: daemonTolerations } });
    expect(api.requests.filter((request) => request === "GET /apis/apps/v1/daemonsets")).toHaveLength(2);
  });

  test("node annotations are merged in and removed with null, leaving the others", async () => {
    await cluster.annotateNode(AGENT, { "k3s-aws.example/cordoned-by": null, "k3s-aws.example/cordoned-at": "2026-03-01T11:30:00Z" });
    const annotations = (await cluster.listNodes()).find((each) => each.name === AGENT)!.annotations;
    expect(annotations).toEqual({
      "alpha.kubernetes.io/provided-node-ip": "10.0.1.10",
      "k3s.io/node-args": '["agent"]',
      "node.alpha.kubernetes.io/ttl": "0",
      "k3s-aws.example/cordoned-at": "2026-03-01T11:30:00Z",
    });
    expect(api.requests).toContain(`PATCH /api/v1/nodes/${AGENT}`);
  });

  test("the automation ClusterRole grants exactly the verbs and resources of the requests the adapter sends", async () => {
    // Request to RBAC attributes as the API server's RequestInfoFactory derives them (apiserver pkg/endpoints/request):
    // GET on a collection is "list", PATCH "patch", POST "create"; a subresource is "<resource>/<subresource>".
    api.requests.length = 0;
    await cluster.listNodes();
    await cluster.listPods();
    await cluster.listPods(AGENT);
    await cluster.listDisruptionBudgets();
    await cluster.listPersistentVolumeClaims();
    await cluster.listDaemonSets();
    await cluster.cordon(AGENT);
    await cluster.uncordon(AGENT);
    await cluster.annotateNode(AGENT, { "k3s-aws.example/cordoned-at": null });
    await cluster.evict({ namespace: ingress.metadata.namespace, name: ingress.metadata.name });
    const verbs: Record<string, string> = { GET: "list", PATCH: "patch", POST: "create" };
    const used = new Set(
      api.requests.map((request) => {
        const [method, path] = request.split(" ");
        const parts = path.split("/").filter(Boolean);
        const [group, rest] = parts[0] === "api" ? ["", parts.slice(2)] : [parts[1], parts.slice(3)];
        const [resource, , subresource] = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
        const name = rest[0] === "namespaces" && rest.length > 2 ? rest[3] : rest[1];
        const verb = method === "GET" && name ? "get" : verbs[method];
        return `${verb} ${group ? `${group}/` : ""}${resource}${subresource ? `/${subresource}` : ""}`;
      }),
    );
    const manifest = loadAll(readFileSync(join(__dirname, "..", "templates", "manifests", "cluster-automation-rbac.yaml"), "utf8")) as any[];
    const role = manifest.find((document) => document?.kind === "ClusterRole");
    const granted = new Set<string>(
      role.rules.flatMap((rule: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
        rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${group ? `${group}/` : ""}${resource}`))),
      ),
    );
    expect([...used].sort()).toEqual([...granted].sort());
  });
});
