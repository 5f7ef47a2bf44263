// Boundaries and messages of decide.ts that `npm run mutate` showed no test pinned (README, "Mutation testing").
import { decide, ScalerState } from "../lambdas/autoscaler/decide";
import { CONFIG, FRESH, MINUTE, node, NOW, observed, pending, pod } from "./support/decide-fixtures";

const busy = (name: string) => node(name, [pod(`${name}-app`, 1500, 2)]);
const idleSince = (since: number): ScalerState => ({ underutilizedSince: { idle: since } });

describe("reasons list at most three pods or nodes", () => {
  const huge = (name: string) => pending(name, 4000, 1);
  const why = "insufficient cpu (requests 4000m, 2000m free)";

  test("three pods are all named; from the fourth on, the rest are counted", () => {
    const three = decide(observed([node("n1")], ["a", "b", "c"].map(huge)), FRESH, CONFIG, NOW).decision.reason;
    expect(three).toContain(`3 pod(s) no new agent could take: default/a (${why}), default/b (${why}), default/c (${why})`);
    expect(three).not.toContain("more");
    const five = decide(observed([node("n1")], ["a", "b", "c", "d", "e"].map(huge)), FRESH, CONFIG, NOW).decision.reason;
    expect(five).toBe(
      `no pod needs a new agent; the group is at its minimum of 1; 5 pod(s) no new agent could take: default/a (${why}), default/b (${why}), default/c (${why}) and 2 more`,
    );
  });

  test("a pod that fits nowhere names the first three other nodes and why, or none when there is no other node", () => {
    const stuck = node("idle", [pod("mid", 900, 1)]);
    const others = ["n1", "n2", "n3", "n4"].map(busy);
    expect(decide(observed([...others, stuck]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/mid fits on no other node (n1: insufficient cpu (requests 900m, 500m free), n2: insufficient cpu (requests 900m, 500m free), n3: insufficient cpu (requests 900m, 500m free))",
    );
    // The only agent (a second one still launching keeps desired above the minimum).
    expect(decide(observed([stuck], [], { desired: 2, min: 1, max: 10 }), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/mid fits on no other node",
    );
  });
});

describe("boundaries of the scale-down rules", () => {
  test("a node at exactly the threshold is not underutilized; just below it is", () => {
    const atHalf = node("idle", [pod("half", 1000, 1)]);
    expect(decide(observed([busy("n1"), atHalf]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
    const belowHalf = node("idle", [pod("half", 999, 1)]);
    expect(decide(observed([busy("n1"), belowHalf]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW });
  });

  test("memory counts as much as CPU: a node idle on CPU but busy on memory is not underutilized", () => {
    const memoryBound = node("idle", [pod("cache", 100, 6)]);
    expect(decide(observed([busy("n1"), memoryBound]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
  });

  test("finished pods do not count towards utilization", () => {
    const finished = node("idle", [pod("done", 1900, 7, { controllerKind: "Job", phase: "Failed" })]);
    expect(decide(observed([busy("n1"), finished]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW });
  });

  test("nodes not Ready or cordoned are not tracked as underutilized", () => {
    const notReady = node("idle", [], { ready: false });
    const cordoned = node("idle", [], { unschedulable: true });
    expect(decide(observed([busy("n1"), notReady]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
    expect(decide(observed([busy("n1"), cordoned]), FRESH, CONFIG, NOW).underutilizedSince).toEqual({});
  });

  test("a node still underutilized keeps the time it was first seen so", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 3 * MINUTE), CONFIG, NOW).underutilizedSince).toEqual({ idle: NOW - 3 * MINUTE });
  });

  test("a node underutilized for exactly the window is removed, and the minutes in the reason are whole minutes", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 10 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 10 * MINUTE + 1), CONFIG, NOW).decision.action).toBe("none");
    expect(decide(observed([busy("n1"), idle]), idleSince(NOW - 12 * MINUTE + 1000), CONFIG, NOW).decision.reason).toBe(
      "idle has requested 13% of allocatable for 11 min and its 1 pod(s) fit elsewhere",
    );
  });

  test("the cooldown ends exactly cooldownMs after the last action, and the remaining time is rounded up to a second", () => {
    const idle = node("idle", [pod("small", 200, 1)]);
    const input = observed([busy("n1"), idle]);
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 10 * MINUTE }, CONFIG, NOW).decision.action).toBe("scale-down");
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 10 * MINUTE + 1 }, CONFIG, NOW).decision.reason).toBe(
      "no pod needs a new agent; cooling down for 1 s after the last scale action",
    );
    // The later of the two actions counts.
    expect(decide(input, { ...idleSince(NOW - 20 * MINUTE), lastScaleUpAt: NOW - 9 * MINUTE, lastScaleDownAt: NOW - 30 * MINUTE }, CONFIG, NOW).decision.reason).toBe(
      "no pod needs a new agent; cooling down for 60 s after the last scale action",
    );
  });

  test("a pod at exactly the expendable cut-off must move; one below it is deleted with its node", () => {
    const atCutoff = node("idle", [pod("batch", 900, 1, { priority: -10 })]);
    expect(decide(observed([busy("n1"), atCutoff]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.action).toBe("none");
    const belowCutoff = node("idle", [pod("batch", 900, 1, { priority: -11 })]);
    expect(decide(observed([busy("n1"), belowCutoff]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({
      action: "scale-down",
      reason: "idle has requested 45% of allocatable for 20 min and its 1 pod(s) fit elsewhere",
    });
  });

  test("the other nodes a pod may move to exclude nodes not Ready or cordoned", () => {
    const idle = node("idle", [pod("mid", 900, 1)]);
    const refused = "no node can be removed: idle: default/mid fits on no other node (n1: insufficient cpu (requests 900m, 500m free))";
    for (const spare of [node("spare", [], { ready: false, createdAtMs: NOW - 60 * MINUTE }), node("spare", [], { unschedulable: true })]) {
      expect(decide(observed([busy("n1"), spare, idle]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision.reason).toBe(refused);
    }
  });
});

describe("what the removal simulation sees", () => {
  test("finished pods on another node do not take the room a moved pod needs", () => {
    const finishedJob = node("n1", [pod("n1-app", 1000, 2), pod("done", 1000, 6, { controllerKind: "Job", phase: "Succeeded" })]);
    const idle = node("idle", [pod("mid", 900, 1)]);
    expect(decide(observed([finishedJob, idle]), idleSince(NOW - 20 * MINUTE), CONFIG, NOW).decision).toMatchObject({ action: "scale-down", node: "idle" });
  });

  test("every constraint the simulation cannot evaluate is named, and every refused node is listed", () => {
    const constrained = node("idle", [pod("web-1", 100, 1, { interPodConstraints: ["required pod anti-affinity", "topology spread constraint"] })]);
    const bare = node("idle2", [pod("bare", 100, 1, { controllerKind: undefined })]);
    expect(decide(observed([busy("n1"), constrained, bare]), { underutilizedSince: { idle: NOW - 20 * MINUTE, idle2: NOW - 20 * MINUTE } }, CONFIG, NOW).decision.reason).toBe(
      "no node can be removed: idle: default/web-1 has required pod anti-affinity, topology spread constraint, which the removal simulation does not evaluate; " +
        "idle2: default/bare has no controller to recreate it",
    );
  });
});

describe("boundaries of the scale-up rules", () => {
  test("an agent not Ready for exactly MaxNodeStartupTime is no longer on its way", () => {
    const pods = [pending("a", 1500, 1)];
    const atLimit = node("n2", [], { ready: false, createdAtMs: NOW - 15 * MINUTE });
    expect(decide(observed([node("n1"), atLimit], pods), FRESH, CONFIG, NOW).decision).toMatchObject({ action: "scale-up", by: 1 });
    const justInside = node("n2", [], { ready: false, createdAtMs: NOW - 15 * MINUTE + 1 });
    expect(decide(observed([node("n1"), justInside], pods), FRESH, CONFIG, NOW).decision.action).toBe("none");
  });

  test("more registered nodes than desired are not negative capacity on the way", () => {
    const pods = [pending("a", 1500, 1)];
    expect(decide(observed([node("n1"), node("n2")], pods, { desired: 1, min: 1, max: 10 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 2,
      reason: "1 unschedulable pod(s) need 1 node(s); adding 1",
    });
  });

  test("demand beyond the maximum is capped by the maximum even when agents are on their way", () => {
    const pods = Array.from({ length: 4 }, (_, i) => pending(`p${i}`, 1500, 1));
    const booting = (name: string) => node(name, [], { ready: false, createdAtMs: NOW - MINUTE });
    expect(decide(observed([booting("b1"), booting("b2")], pods, { desired: 2, min: 1, max: 3 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 1,
      desired: 3,
      reason: "4 unschedulable pod(s) need more than 3 node(s), 2 already on their way; adding 1 (maximum 3)",
    });
  });

  test("when packing reaches the group maximum, the reason says more than the maximum are needed", () => {
    const pods = Array.from({ length: 4 }, (_, i) => pending(`p${i}`, 1500, 1));
    expect(decide(observed([node("n1")], pods, { desired: 1, min: 1, max: 3 }), FRESH, CONFIG, NOW).decision).toEqual({
      action: "scale-up",
      by: 2,
      desired: 3,
      reason: "4 unschedulable pod(s) need more than 3 node(s); adding 2 (maximum 3)",
    });
  });
});
