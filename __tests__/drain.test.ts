import { Cluster, kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { drainNode, evictionFailures } from "../lambdas/shared/drain";
import { Logger } from "../lambdas/shared/log";
import { FakeKubeApi, FakePod } from "./support/fake-kube-api";

const TOKEN = "automation-token";

/** A clock that sleeping advances, so deadlines are exercised without waiting. */
function virtualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe("draining through the Kubernetes API", () => {
  let api: FakeKubeApi;
  let cluster: Cluster;
  let server: string;
  const lines: [string, string, Record<string, unknown> | undefined][] = [];
  const log: Logger = (level, message, fields) => void lines.push([level, message, fields]);

  beforeEach(async () => {
    api = new FakeKubeApi();
    server = await api.start();
    cluster = kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: TOKEN }));
    api.addNode("ip-10-0-1-10.eu-west-1.compute.internal", "i-0123456789abcdef0");
    api.addNode("ip-10-0-1-11.eu-west-1.compute.internal", "i-0fedcba9876543210");
    lines.length = 0;
  });
  afterEach(() => api.stop());

  test("nodes and pods are read with their provider IDs, requests and scheduling state", async () => {
    api.addPod("default", "web-1", "ip-10-0-1-10.eu-west-1.compute.internal", { cpu: "250m", memory: "1Gi", owner: "ReplicaSet" });
    api.addPod("default", "waiting", undefined, { cpu: "1", unschedulable: true });
    const nodes = await cluster.listNodes();
    expect(nodes.map((node) => [node.name, node.providerId, node.ready, node.allocatable])).toEqual([
      ["ip-10-0-1-10.eu-west-1.compute.internal", "aws:///eu-west-1a/i-0123456789abcdef0", true, { cpuMillis: 2000, memoryBytes: 8 * 2 ** 30 }],
      ["ip-10-0-1-11.eu-west-1.compute.internal", "aws:///eu-west-1a/i-0fedcba9876543210", true, { cpuMillis: 2000, memoryBytes: 8 * 2 ** 30 }],
    ]);
    const pods = await cluster.listPods();
    expect(pods.find((pod) => pod.name === "web-1")).toMatchObject({ requests: { cpuMillis: 250, memoryBytes: 2 ** 30 }, controllerKind: "ReplicaSet", unschedulable: false });
    expect(pods.find((pod) => pod.name === "waiting")).toMatchObject({ unschedulable: true, nodeName: undefined });
    expect(api.tokens).toEqual(new Set([`Bearer ${TOKEN}`]));
  });

  test("cordons, evicts every movable pod and leaves DaemonSet, mirror and finished pods", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.addPod("default", "web-2", node, { owner: "ReplicaSet" });
    api.addPod("kube-system", "flannel", node, { owner: "DaemonSet" });
    api.addPod("default", "job-done", node, { owner: "Job", phase: "Succeeded" });
    api.addPod("default", "elsewhere", "ip-10-0-1-11.eu-west-1.compute.internal", { owner: "ReplicaSet" });
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 1000, ...clock, log });

    expect(api.nodes.get(node)?.spec.unschedulable).toBe(true);
    expect(result).toEqual({ node, evicted: ["default/web-1", "default/web-2"], alreadyDeleting: [], skipped: ["kube-system/flannel", "default/job-done"], remaining: [], evictionErrors: {}, completed: true });
    expect([...api.pods.keys()].sort()).toEqual(["default/elsewhere", "default/job-done", "kube-system/flannel"]);
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toEqual([
      "POST /api/v1/namespaces/default/pods/web-1/eviction",
      "POST /api/v1/namespaces/default/pods/web-2/eviction",
    ]);
  });

  test("evictions refused by a disruption budget (429) are retried until accepted", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "db-0", node, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 2);
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(result.completed).toBe(true);
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toHaveLength(3);
    expect(lines.filter(([, message]) => message.includes("retrying"))).toEqual(Array(2).fill(["info", expect.any(String), { node, refused: ["default/db-0"] }]));
  });

  test("a mirror pod and a failed pod are left alone, like a DaemonSet pod (kubectl drain's filters)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    // A static pod's mirror carries the kubelet's config.mirror annotation and is owned by its Node.
    api.putPod({
      metadata: { name: `etcd-${node}`, namespace: "kube-system", annotations: { "kubernetes.io/config.mirror": "0f1e2d3c" }, ownerReferences: [{ kind: "Node", name: node, controller: true, apiVersion: "v1", uid: "node-uid" }] },
      spec: { nodeName: node, containers: [{ name: "etcd" }] },
      status: { phase: "Running" },
    } as FakePod);
    api.addPod("default", "job-failed", node, { owner: "Job", phase: "Failed" });
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 1000, ...clock, log });
    expect(result).toEqual({ node, evicted: ["default/web-1"], alreadyDeleting: [], skipped: [`kube-system/etcd-${node}`, "default/job-failed"], remaining: [], evictionErrors: {}, completed: true });
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toEqual(["POST /api/v1/namespaces/default/pods/web-1/eviction"]);
  });

  test("no eviction is retried at or past the deadline", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "db-0", node, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 50);
    const clock = virtualClock();
    const deadline = clock.now() + 10_000;
    const attempts: number[] = [];
    const counting: Cluster = { ...cluster, evict: async (pod) => (attempts.push(clock.now()), cluster.evict(pod)) };
    const result = await drainNode(counting, node, { deadline, retryDelayMs: 5000, ...clock, log });
    expect(result.completed).toBe(false);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((at) => at >= deadline)).toEqual([]);
    expect(attempts).toEqual([deadline - 10_000, deadline - 5000]);
  });

  test("evicted pods still running their grace period are waited for; the drain completes once they have left", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.addPod("default", "web-2", node, { owner: "ReplicaSet" });
    api.terminatingFor.set("default/web-1", 2);
    const clock = virtualClock();
    const start = clock.now();
    const result = await drainNode(cluster, node, { deadline: start + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toEqual({ node, evicted: ["default/web-1", "default/web-2"], alreadyDeleting: [], skipped: [], remaining: [], evictionErrors: {}, completed: true });
    expect(api.pods.size).toBe(0);
    // Listed twice more while terminating, gone at the third look, 5 s apart.
    expect(clock.now()).toBe(start + 15_000);
  });

  test("pods still terminating at the deadline are reported and the drain is not complete; it returns before the deadline", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "slow-1", node, { owner: "ReplicaSet" });
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.terminatingFor.set("default/slow-1", 50); // listed far past the deadline
    const clock = virtualClock();
    const deadline = clock.now() + 20_000;
    const result = await drainNode(cluster, node, { deadline, retryDelayMs: 5000, ...clock, log });
    expect(result).toEqual({ node, evicted: ["default/slow-1", "default/web-1"], alreadyDeleting: [], skipped: [], remaining: ["default/slow-1"], evictionErrors: {}, completed: false });
    expect(clock.now()).toBeLessThan(deadline);
    expect(clock.now()).toBeGreaterThanOrEqual(deadline - 5000);
    expect(lines).toContainEqual(["warn", expect.stringMatching(/terminating/), { node, terminating: ["default/slow-1"] }]);
  });

  test("a pod already terminating when the drain starts is not evicted again, but waited for (kubectl drain waits for it too)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.pods.get("default/web-1")!.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    api.terminatingFor.set("default/web-1", 3); // its grace period: still listed by the next three lists
    const clock = virtualClock();
    const start = clock.now();
    const result = await drainNode(cluster, node, { deadline: start + 60_000, retryDelayMs: 1000, ...clock, log });
    expect(api.requests.filter((request) => request.endsWith("/eviction"))).toEqual([]);
    expect(result).toEqual({ node, evicted: [], alreadyDeleting: ["default/web-1"], skipped: [], remaining: [], evictionErrors: {}, completed: true });
    expect(api.pods.size).toBe(0);
    // Listed by the drain's own list and two looks after it, 1 s apart; gone at the third look.
    expect(clock.now()).toBe(start + 3000);
  });

  test("a pod already terminating past the deadline leaves the drain unfinished", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "stuck", node, { owner: "ReplicaSet" });
    api.pods.get("default/stuck")!.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    api.terminatingFor.set("default/stuck", 100);
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 10_000, retryDelayMs: 1000, ...clock, log });
    expect(result).toMatchObject({ alreadyDeleting: ["default/stuck"], remaining: ["default/stuck"], completed: false });
  });

  test("one pod's failing eviction (500: two disruption budgets) does not stop the others'; it is retried and reported", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    for (const name of ["a", "bad", "c", "d"]) api.addPod("default", name, node, { owner: "ReplicaSet" });
    api.evictionErrors.add("default/bad");
    const clock = virtualClock();
    const start = clock.now();
    const result = await drainNode(cluster, node, { deadline: start + 12_000, retryDelayMs: 5000, ...clock, log });
    expect([...api.pods.keys()]).toEqual(["default/bad"]);
    expect(result).toMatchObject({ evicted: ["default/a", "default/c", "default/d"], remaining: ["default/bad"], completed: false });
    expect(result.evictionErrors).toEqual({ "default/bad": "eviction answered 500: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." });
    // At 0, 5 and 10 s; the next would fall past the 12 s deadline.
    expect(api.requests.filter((request) => request.endsWith("/bad/eviction"))).toHaveLength(3);
    expect(lines).toContainEqual(["warn", "evictions refused by disruption budgets or failed; retrying", { node, refused: [], failed: { "default/bad": expect.stringMatching(/^eviction answered 500: This pod has more than one PodDisruptionBudget/) } }]);
    expect(lines).toContainEqual(["warn", "drain deadline reached with evictions still refused or failing", { node, refused: [], failed: { "default/bad": expect.any(String) } }]);
  });

  test("a forbidden eviction (403) is not retried, as kubectl gives up on it; the other pods still go", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    for (const name of ["a", "locked", "c"]) api.addPod("default", name, node, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("default/locked", undefined);
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(api.requests.filter((request) => request.endsWith("/locked/eviction"))).toHaveLength(1);
    expect(result).toMatchObject({ evicted: ["default/a", "default/c"], remaining: ["default/locked"], completed: false });
    expect(result.evictionErrors).toEqual({ "default/locked": 'eviction answered 403: pods "locked" is forbidden: User "system:serviceaccount:kube-system:automation" cannot create resource "pods/eviction"' });
  });

  test("the 403 of a namespace being deleted is retried (kubectl retries it until the pod goes)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("doomed", "web-1", node, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("doomed/web-1", "NamespaceTerminating");
    const clock = virtualClock();
    const result = await drainNode(cluster, node, { deadline: clock.now() + 12_000, retryDelayMs: 5000, ...clock, log });
    expect(api.requests.filter((request) => request.endsWith("/web-1/eviction"))).toHaveLength(3);
    expect(result).toMatchObject({ remaining: ["doomed/web-1"], completed: false });
  });

  test("a pod whose namespace is being deleted goes without an eviction: once deleted it is waited for, not asked again (kubectl re-reads it)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("doomed", "web-1", node, { owner: "ReplicaSet" });
    api.forbiddenEvictions.set("doomed/web-1", "NamespaceTerminating");
    // The namespace controller deletes the pod after the drain's first try; it then runs its grace period.
    const deletedByNamespace: Cluster = {
      ...cluster,
      evict: async (pod) => {
        const answer = cluster.evict(pod);
        await answer.catch(() => undefined);
        api.pods.get("doomed/web-1")!.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
        api.terminatingFor.set("doomed/web-1", 2);
        return answer;
      },
    };
    const clock = virtualClock();
    const result = await drainNode(deletedByNamespace, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(api.requests.filter((request) => request.endsWith("/web-1/eviction"))).toHaveLength(1);
    expect(result).toMatchObject({ evicted: [], remaining: [], evictionErrors: {}, completed: true });
    expect(api.pods.has("doomed/web-1")).toBe(false);
  });

  test("a failed re-list of the node's pods does not end the drain: it goes on and lists again (kubectl ignores a failed re-read)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "db-0", node, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 2);
    let lists = 0;
    const flaky: Cluster = { ...cluster, listPods: async (name) => (++lists === 2 ? Promise.reject(new Error("etcdserver: request timed out")) : cluster.listPods(name)) };
    const clock = virtualClock();
    const result = await drainNode(flaky, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toMatchObject({ evicted: ["default/db-0"], remaining: [], completed: true });
    expect(lines).toContainEqual(["warn", "listing the node's pods failed; the drain goes on and lists them again", { node, error: "etcdserver: request timed out" }]);
  });

  test("a failed look while evicted pods terminate is followed by the next look, not an error", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.terminatingFor.set("default/web-1", 1);
    let lists = 0;
    const flaky: Cluster = { ...cluster, listPods: async (name) => (++lists === 2 ? Promise.reject(new Error("connection reset")) : cluster.listPods(name)) };
    const clock = virtualClock();
    const result = await drainNode(flaky, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toMatchObject({ evicted: ["default/web-1"], remaining: [], completed: true });
    expect(lists).toBe(4);
  });

  test("a pod that goes while its eviction is refused needs no more evictions", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "db-0", node, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 50);
    const deletedElsewhere: Cluster = { ...cluster, evict: async (pod) => cluster.evict(pod).finally(() => api.pods.delete("default/db-0")) };
    const clock = virtualClock();
    const result = await drainNode(deletedElsewhere, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(api.requests.filter((request) => request.endsWith("/db-0/eviction"))).toHaveLength(1);
    expect(result).toMatchObject({ evicted: ["default/db-0"], remaining: [], completed: true });
  });

  test("a pod terminating longer than its grace period plus 30 s is treated as gone (cluster-autoscaler IsPodLongTerminating)", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    const clock = virtualClock(Date.parse("2026-06-01T12:00:00Z"));
    api.addPod("default", "stuck", node, { owner: "StatefulSet" });
    // Deleted 61 s ago with the default 30 s grace period: 1 s past grace + 30 s. A dead kubelet never confirms it.
    api.pods.get("default/stuck")!.metadata.deletionTimestamp = new Date(clock.now() - 61_000).toISOString();
    api.terminatingFor.set("default/stuck", 1000);
    const start = clock.now();
    const result = await drainNode(cluster, node, { deadline: start + 60_000, retryDelayMs: 1000, ...clock, log });
    expect(result).toEqual({ node, evicted: [], alreadyDeleting: [], skipped: ["default/stuck"], remaining: [], evictionErrors: {}, completed: true });
    expect(api.pods.has("default/stuck")).toBe(true);
    // Nothing to wait for: the drain returns at once.
    expect(clock.now()).toBe(start);
  });

  test("an evicted pod that outlasts its grace period plus 30 s is no longer waited for", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    // The fake stamps the deletion with the real time, so the virtual clock starts there.
    const clock = virtualClock(Date.now());
    const start = clock.now();
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    api.terminatingFor.set("default/web-1", 1000);
    const result = await drainNode(cluster, node, { deadline: start + 300_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toMatchObject({ evicted: ["default/web-1"], remaining: [], completed: true });
    expect(api.pods.has("default/web-1")).toBe(true);
    // Waited through the 30 s grace period and the 30 s slack, 5 s a look, and no longer.
    expect(clock.now() - start).toBeGreaterThan(60_000);
    expect(clock.now() - start).toBeLessThanOrEqual(70_000);
  });

  test("an eviction that fails once and then succeeds completes the drain", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    let calls = 0;
    const flaky: Cluster = { ...cluster, evict: async (pod) => (++calls === 1 ? Promise.reject(new Error("connection reset")) : cluster.evict(pod)) };
    const clock = virtualClock();
    const result = await drainNode(flaky, node, { deadline: clock.now() + 60_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toMatchObject({ evicted: ["default/web-1"], remaining: [], completed: true, evictionErrors: {} });
    expect(lines).toContainEqual(["warn", expect.stringContaining("failed; retrying"), { node, refused: [], failed: { "default/web-1": "connection reset" } }]);
  });

  test("a budget that never relents stops the drain at the deadline, reporting what is left", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "db-0", node, { owner: "StatefulSet" });
    api.refusals.set("default/db-0", 50); // more than the 20 attempts 5 s apart that fit before the deadline
    const clock = virtualClock();
    const start = clock.now();
    const result = await drainNode(cluster, node, { deadline: start + 100_000, retryDelayMs: 5000, ...clock, log });
    expect(result).toMatchObject({ completed: false, remaining: ["default/db-0"], evicted: [] });
    expect(clock.now()).toBeLessThanOrEqual(start + 100_000);
    expect(lines).toContainEqual(["warn", "drain deadline reached with evictions still refused or failing", { node, refused: ["default/db-0"] }]);
  });

  test("draining again is harmless: already cordoned, pods already gone", async () => {
    const node = "ip-10-0-1-10.eu-west-1.compute.internal";
    api.addPod("default", "web-1", node, { owner: "ReplicaSet" });
    const clock = virtualClock();
    await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 1000, ...clock, log });
    const again = await drainNode(cluster, node, { deadline: clock.now() + 60_000, retryDelayMs: 1000, ...clock, log });
    expect(again).toEqual({ node, evicted: [], alreadyDeleting: [], skipped: [], remaining: [], evictionErrors: {}, completed: true });
  });

  test("a pod deleted between listing and eviction (404) counts as gone", async () => {
    expect(await cluster.evict({ namespace: "default", name: "vanished" })).toBe("gone");
  });

  test("a server whose certificate the pinned CA did not sign is refused", async () => {
    const impostorCa = new FakeKubeApi({ ownCertificate: true }).caData;
    await expect(kubernetesCluster(kubeConfigFor({ server, caData: impostorCa, token: TOKEN })).listNodes()).rejects.toThrow();
    expect(api.tokens).toEqual(new Set());
  });

  test("uncordon clears the unschedulable flag", async () => {
    const node = "ip-10-0-1-11.eu-west-1.compute.internal";
    await cluster.cordon(node);
    expect(api.nodes.get(node)?.spec.unschedulable).toBe(true);
    await cluster.uncordon(node);
    expect(api.nodes.get(node)?.spec.unschedulable).toBeUndefined();
  });
});

test("eviction errors read as one line naming each pod, and a drain without any has none", () => {
  expect(evictionFailures({ evictionErrors: { "default/a": "eviction answered 500: webhook down", "default/b": "socket hang up" } })).toBe(
    "eviction failing for default/a: eviction answered 500: webhook down; default/b: socket hang up",
  );
  expect(evictionFailures({ evictionErrors: {} })).toBeUndefined();
});
