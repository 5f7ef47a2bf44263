import { drainDecision, DrainContext, DrainDecision } from "../lambdas/autoscaler/drainability";
import { DisruptionBudget, PodInfo } from "../lambdas/shared/cluster";

// Each row names the cluster-autoscaler rule it mirrors: kubernetes/autoscaler
// cluster-autoscaler/simulator/drainability/rules/<rule>/rule.go (and rule_test.go for the cases).
const NOW = 1_700_000_000_000;
const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";
const LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";

function pod(name: string, extra: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "default",
    name,
    phase: "Running",
    labels: { app: "web" },
    requests: { cpuMillis: 100, memoryBytes: 2 ** 27 },
    controllerKind: "ReplicaSet",
    mirror: false,
    deleting: false,
    unschedulable: false,
    ...extra,
  };
}

const budget = (name: string, disruptionsAllowed: number, selector: DisruptionBudget["selector"] = { matchLabels: { app: "web" } }, namespace = "default"): DisruptionBudget => ({ namespace, name, selector, disruptionsAllowed });
const move = (reason: string): DrainDecision => ({ outcome: "move", reason });
const skip = (reason: string): DrainDecision => ({ outcome: "skip", reason });
const block = (reason: string): DrainDecision => ({ outcome: "block", reason });
const MOVABLE = (name: string, namespace = "default") => move(`${namespace}/${name} can be evicted and recreated elsewhere`);

type Row = [string, PodInfo, Partial<DrainContext>, DrainDecision];
const decide = (input: PodInfo, context: Partial<DrainContext>) => drainDecision(input, { budgets: [], now: NOW, ...context });

describe("drainability, rule by rule", () => {
  const rows: Row[] = [
    // rules/mirror
    ["rules/mirror: a static pod is skipped, with or without a controller", pod("etcd", { mirror: true, controllerKind: undefined }), {}, skip("default/etcd is a mirror pod")],
    // rules/longterminating (utils/drain IsPodLongTerminating: deletion + grace + 30 s, strictly before now)
    ["rules/longterminating: past the default 30 s grace plus 30 s slack, skipped", pod("old", { controllerKind: undefined, deleting: true, deletionTimestampMs: NOW - 61_000 }), {}, skip("default/old has been terminating for 61 s, past its grace period")],
    ["rules/longterminating: exactly at grace plus slack, still counted", pod("edge", { deleting: true, deletionTimestampMs: NOW - 60_000 }), {}, MOVABLE("edge")],
    ["rules/longterminating: a longer grace period is honoured", pod("slow", { controllerKind: undefined, deleting: true, deletionTimestampMs: NOW - 200_000, terminationGracePeriodSeconds: 300 }), {}, block("default/slow has no controller to recreate it")],
    ["rules/longterminating: past a custom grace period, skipped", pod("slow", { deleting: true, deletionTimestampMs: NOW - 331_000, terminationGracePeriodSeconds: 300 }), {}, skip("default/slow has been terminating for 331 s, past its grace period")],
    // rules/daemonset
    ["rules/daemonset: skipped even in kube-system without a budget", pod("flannel", { namespace: "kube-system", controllerKind: "DaemonSet" }), {}, skip("kube-system/flannel belongs to a DaemonSet")],
    ["rules/daemonset: skipped even when annotated not safe to evict", pod("agent", { controllerKind: "DaemonSet", annotations: { [SAFE_TO_EVICT]: "false" } }), {}, skip("default/agent belongs to a DaemonSet")],
    // rules/terminal
    ["rules/terminal: a succeeded pod without a controller is skipped", pod("done", { phase: "Succeeded", controllerKind: undefined }), {}, skip("default/done has finished (Succeeded)")],
    ["rules/terminal: a failed pod with local storage is skipped", pod("crashed", { phase: "Failed", localVolumeNames: ["scratch"] }), {}, skip("default/crashed has finished (Failed)")],
    // rules/safetoevict
    ["rules/safetoevict: overrides a missing controller", pod("bare", { controllerKind: undefined, annotations: { [SAFE_TO_EVICT]: "true" } }), {}, move(`default/bare is annotated ${SAFE_TO_EVICT}: "true"`)],
    ["rules/safetoevict: overrides local storage", pod("cache", { localVolumeNames: ["scratch"], annotations: { [SAFE_TO_EVICT]: "true" } }), {}, move(`default/cache is annotated ${SAFE_TO_EVICT}: "true"`)],
    ["rules/safetoevict: overrides kube-system without a budget", pod("metrics", { namespace: "kube-system", annotations: { [SAFE_TO_EVICT]: "true" } }), {}, move(`kube-system/metrics is annotated ${SAFE_TO_EVICT}: "true"`)],
    ["rules/safetoevict: overrides an unknown controller kind", pod("rollout", { controllerKind: "Rollout", annotations: { [SAFE_TO_EVICT]: "true" } }), {}, move(`default/rollout is annotated ${SAFE_TO_EVICT}: "true"`)],
    ["rules/safetoevict + simulator GetPodsToMove: a budget at zero still blocks", pod("web-1", { annotations: { [SAFE_TO_EVICT]: "true" } }), { budgets: [budget("web", 0)] }, block("default/web-1 is covered by PodDisruptionBudget default/web, which allows no disruption")],
    // rules/replicated (with --skip-nodes-with-custom-controller-pods, the default)
    ["rules/replicated: no controller blocks", pod("bare", { controllerKind: undefined }), {}, block("default/bare has no controller to recreate it")],
    ["rules/replicated: ReplicaSet moves", pod("web-1"), {}, MOVABLE("web-1")],
    ["rules/replicated: ReplicationController moves", pod("legacy", { controllerKind: "ReplicationController" }), {}, MOVABLE("legacy")],
    ["rules/replicated: StatefulSet moves", pod("db-0", { controllerKind: "StatefulSet" }), {}, MOVABLE("db-0")],
    ["rules/replicated: Job moves", pod("batch", { controllerKind: "Job" }), {}, MOVABLE("batch")],
    [
      "rules/replicated: an unknown controller kind blocks",
      pod("rollout", { controllerKind: "Rollout" }),
      {},
      block("default/rollout is owned by a Rollout, not a controller known to recreate it (ReplicaSet, ReplicationController, StatefulSet, Job)"),
    ],
    ["rules/replicated: a kind listed as known moves", pod("rollout", { controllerKind: "Rollout" }), { knownControllerKinds: ["ReplicaSet", "Rollout"] }, MOVABLE("rollout")],
    // rules/system (--skip-nodes-with-system-pods, the default)
    ["rules/system: a kube-system pod without a budget blocks", pod("coredns-1", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }), {}, block("kube-system/coredns-1 is a kube-system pod without a PodDisruptionBudget")],
    [
      "rules/system: a budget in another namespace does not count",
      pod("coredns-1", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }),
      { budgets: [budget("dns", 1, { matchLabels: { "k8s-app": "kube-dns" } })] },
      block("kube-system/coredns-1 is a kube-system pod without a PodDisruptionBudget"),
    ],
    ["rules/system: a kube-system pod with a budget that allows a disruption moves", pod("coredns-1", { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }), { budgets: [budget("dns", 1, { matchLabels: { "k8s-app": "kube-dns" } }, "kube-system")] }, MOVABLE("coredns-1", "kube-system")],
    // rules/notsafetoevict
    ["rules/notsafetoevict: blocks", pod("keep", { annotations: { [SAFE_TO_EVICT]: "false" } }), {}, block(`default/keep is annotated ${SAFE_TO_EVICT}: "false"`)],
    ["rules/notsafetoevict: another value is no opinion", pod("maybe", { annotations: { [SAFE_TO_EVICT]: "yes" } }), {}, MOVABLE("maybe")],
    // rules/localstorage (utils/drain HasBlockingLocalStorage)
    ["rules/localstorage: a local volume blocks", pod("cache", { localVolumeNames: ["scratch"] }), {}, block(`default/cache has local storage (scratch) not listed in ${LOCAL_VOLUMES}`)],
    ["rules/localstorage: every local volume listed moves", pod("cache", { localVolumeNames: ["scratch", "tmp"], annotations: { [LOCAL_VOLUMES]: "tmp,scratch" } }), {}, MOVABLE("cache")],
    ["rules/localstorage: one volume left unlisted blocks", pod("cache", { localVolumeNames: ["scratch", "tmp"], annotations: { [LOCAL_VOLUMES]: "tmp" } }), {}, block(`default/cache has local storage (scratch) not listed in ${LOCAL_VOLUMES}`)],
    ["rules/localstorage: names are matched exactly, as upstream splits on commas only", pod("cache", { localVolumeNames: ["scratch"], annotations: { [LOCAL_VOLUMES]: "tmp, scratch" } }), {}, block(`default/cache has local storage (scratch) not listed in ${LOCAL_VOLUMES}`)],
    ["rules/localstorage: every unlisted volume is named", pod("cache", { localVolumeNames: ["scratch", "tmp", "logs"], annotations: { [LOCAL_VOLUMES]: "tmp" } }), {}, block(`default/cache has local storage (scratch, logs) not listed in ${LOCAL_VOLUMES}`)],
    ["rules/localstorage: no local volume moves", pod("web-1", { localVolumeNames: [] }), {}, MOVABLE("web-1")],
    // rules/pdb
    ["rules/pdb: a budget allowing a disruption moves", pod("web-1"), { budgets: [budget("web", 1)] }, MOVABLE("web-1")],
    ["rules/pdb: a budget at zero blocks", pod("web-1"), { budgets: [budget("web", 0)] }, block("default/web-1 is covered by PodDisruptionBudget default/web, which allows no disruption")],
    // client-node types metadata.name as optional; the message still says which namespace's budget blocks.
    [
      "rules/pdb: a budget the API listed without a name is reported as unnamed",
      pod("web-1"),
      { budgets: [{ namespace: "default", selector: { matchLabels: { app: "web" } }, disruptionsAllowed: 0 }] },
      block("default/web-1 is covered by PodDisruptionBudget default/(unnamed), which allows no disruption"),
    ],
    ["rules/pdb: a budget in another namespace does not cover", pod("web-1"), { budgets: [budget("web", 0, { matchLabels: { app: "web" } }, "other")] }, MOVABLE("web-1")],
    ["rules/pdb: an empty selector covers every pod of its namespace", pod("web-1"), { budgets: [budget("all", 0, {})] }, block("default/web-1 is covered by PodDisruptionBudget default/all, which allows no disruption")],
    ["rules/pdb: a null selector covers nothing", pod("web-1"), { budgets: [budget("none", 0, null)] }, MOVABLE("web-1")],
    ["rules/pdb: matchExpressions are honoured (In)", pod("web-1", { labels: { tier: "front" } }), { budgets: [budget("front", 0, { matchExpressions: [{ key: "tier", operator: "In", values: ["front", "edge"] }] })] }, block("default/web-1 is covered by PodDisruptionBudget default/front, which allows no disruption")],
    ["rules/pdb: matchExpressions that do not match leave the pod free (NotIn)", pod("web-1", { labels: { tier: "front" } }), { budgets: [budget("back", 0, { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] })] }, MOVABLE("web-1")],
    ["rules/pdb: every covering budget is checked, not just the first", pod("web-1"), { budgets: [budget("loose", 5), budget("strict", 0, {})] }, block("default/web-1 is covered by PodDisruptionBudget default/strict, which allows no disruption")],
    [
      "rules/pdb + eviction API: two covering budgets block, as the eviction API refuses such a pod",
      pod("web-1"),
      { budgets: [budget("a", 1), budget("b", 1, {})] },
      block("default/web-1 is covered by 2 PodDisruptionBudgets (default/a, default/b), which the eviction API refuses"),
    ],
    // rules.go order: the first verdict wins
    ["rules.go order: no controller is reported before not-safe-to-evict and local storage", pod("bare", { controllerKind: undefined, localVolumeNames: ["x"], annotations: { [SAFE_TO_EVICT]: "false" } }), {}, block("default/bare has no controller to recreate it")],
    ["rules.go order: kube-system before not-safe-to-evict", pod("dns", { namespace: "kube-system", annotations: { [SAFE_TO_EVICT]: "false" } }), {}, block("kube-system/dns is a kube-system pod without a PodDisruptionBudget")],
    ["rules.go order: not-safe-to-evict before local storage", pod("keep", { localVolumeNames: ["x"], annotations: { [SAFE_TO_EVICT]: "false" } }), {}, block(`default/keep is annotated ${SAFE_TO_EVICT}: "false"`)],
  ];

  test.each(rows)("%s", (_name, input, context, expected) => {
    expect(decide(input, context)).toEqual(expected);
  });
});
