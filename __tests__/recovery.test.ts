import { ObservedAgent, planRecovery } from "../lambdas/autoscaler/recovery";

const MINUTE = 60_000;
const NOW = 1_700_000_000_000;
const MARK = "k3s-aws.autoscaler/scale-down";
const REBALANCE = "k3s-aws.node-drainer/rebalance-cordon";

const agent = (name: string, extra: Partial<ObservedAgent> = {}): ObservedAgent => ({ name, instanceId: `i-${name}`, ready: true, unschedulable: false, annotations: {}, ...extra });
const notReady = (name: string, minutes: number) => agent(name, { ready: false, notReadySinceMs: NOW - minutes * MINUTE });
const plan = (agents: ObservedAgent[]) => planRecovery(agents, { notReadyReplaceAfterMs: 20 * MINUTE }, NOW);
const many = (count: number, make: (name: string) => ObservedAgent) => Array.from({ length: count }, (_, i) => make(`n${i}`));

describe("recovery plan", () => {
  test("a NotReady agent is replaced at the limit (--scale-down-unready-time), not before; one without a known transition is not", () => {
    expect(plan([agent("a"), notReady("b", 20), notReady("c", 19), agent("d", { ready: false })]).actions).toEqual([{ action: "replace", node: "b", instanceId: "i-b", reason: "b has been NotReady for 20 min (limit 20 min)" }]);
  });

  test("a Ready agent is never replaced, whatever NotReady time it carried before it recovered", () => {
    expect(plan([agent("a", { ready: true, notReadySinceMs: NOW - 60 * MINUTE })]).actions).toEqual([]);
  });

  test("replacement holds while more than 3 and more than 45% of agents are NotReady (ClusterStateRegistry.IsClusterHealthy); releases still happen", () => {
    const marked = agent("m", { unschedulable: true, annotations: { [MARK]: "2023-11-14T22:00:00.000Z" } });
    const outage = [notReady("b", 30), notReady("c", 30), notReady("d", 30), notReady("e", 30), agent("a"), marked];
    expect(plan(outage)).toEqual({
      actions: [{ action: "release", node: "m", mark: MARK, reason: "m was marked for scale-down at 2023-11-14T22:00:00.000Z by a run that did not finish" }],
      held: "4 of 6 agents are NotReady, more than 3 and 45%; not replacing any while they are",
    });
    // Three unready agents are within --ok-total-unready-count whatever their share.
    expect(plan([notReady("b", 30), notReady("c", 30), notReady("d", 30)]).actions.map((action) => action.action)).toEqual(["replace", "replace", "replace"]);
  });

  // IsClusterHealthy: unhealthy when unready > OkTotalUnreadyCount && unready > MaxTotalUnreadyPercentage/100 * total,
  // both strict.
  test("exactly 45% NotReady is still healthy: 9 of 20 are replaced, 10 of 20 are held", () => {
    const nineOfTwenty = [...many(9, (name) => notReady(name, 30)), ...many(11, (name) => agent(`ok-${name}`))];
    expect(plan(nineOfTwenty).actions).toHaveLength(9);
    expect(plan(nineOfTwenty).held).toBeUndefined();
    const tenOfTwenty = [...many(10, (name) => notReady(name, 30)), ...many(10, (name) => agent(`ok-${name}`))];
    expect(plan(tenOfTwenty)).toEqual({ actions: [], held: "10 of 20 agents are NotReady, more than 3 and 45%; not replacing any while they are" });
  });

  test("many NotReady agents none of which is past the limit hold nothing: the plan is empty, with no reason to report", () => {
    expect(plan([notReady("b", 5), notReady("c", 5), notReady("d", 5), notReady("e", 5), agent("a")])).toEqual({ actions: [] });
  });

  test("only agents carrying the autoscaler's mark are released; a cordon without it is someone else's", () => {
    const marked = agent("m", { unschedulable: true, annotations: { [MARK]: "2023-11-14T22:00:00.000Z", "team/owner": "ops" } });
    const cordoned = agent("c", { unschedulable: true, annotations: { "team/owner": "ops" } });
    const bare = agent("b", { unschedulable: true, annotations: undefined });
    expect(plan([marked, cordoned, bare])).toEqual({ actions: [{ action: "release", node: "m", mark: MARK, reason: "m was marked for scale-down at 2023-11-14T22:00:00.000Z by a run that did not finish" }] });
  });

  test("an agent cordoned on a rebalance recommendation is released once 30 minutes pass with no replacement taking its place, not before", () => {
    const at = (minutes: number) => new Date(NOW - minutes * MINUTE).toISOString();
    const stale = agent("r", { unschedulable: true, annotations: { [REBALANCE]: at(30) } });
    const recent = agent("q", { unschedulable: true, annotations: { [REBALANCE]: at(29) } });
    // A mark this project did not write as a time is left alone: it cannot say how long the cordon has lasted.
    const unreadable = agent("u", { unschedulable: true, annotations: { [REBALANCE]: "soon" } });
    expect(plan([stale, recent, unreadable])).toEqual({
      actions: [{ action: "release", node: "r", mark: REBALANCE, reason: `r was cordoned on a rebalance recommendation at ${at(30)}, and no replacement has taken its place in 30 min` }],
    });
  });
});
