import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { DrainRequest, drainDeadline, parseDrainEvent } from "../lambdas/node-drainer/events";
import { ref, referencedId, resourcesOf, synthCluster } from "./helpers";
import { GROUP, INSTANCE, lifecycleEvent, rebalanceEvent, spotEvent, TIME } from "./support/drainer-harness";
import { appliedEventPattern, matchesEventPattern } from "./support/event-pattern";

describe("event parsing", () => {
  test("spot, rebalance and lifecycle events become drain requests", () => {
    expect(parseDrainEvent(spotEvent(), GROUP)).toEqual({ ok: true, request: { kind: "spot-interruption", instanceId: INSTANCE, eventTime: Date.parse(TIME) } });
    expect(parseDrainEvent(rebalanceEvent(), GROUP)).toEqual({ ok: true, request: { kind: "rebalance-recommendation", instanceId: INSTANCE, eventTime: Date.parse(TIME) } });
    expect(parseDrainEvent(lifecycleEvent(), GROUP)).toEqual({
      ok: true,
      request: { kind: "lifecycle-termination", instanceId: INSTANCE, eventTime: Date.parse(TIME), autoScalingGroupName: GROUP, lifecycleHookName: "k3s-agent-drain", lifecycleActionToken: "token-1" },
    });
  });

  test.each([
    ["not JSON", "{oops", "message body is not JSON"],
    ["no envelope", JSON.stringify({ hello: "world" }), "not an EventBridge event: source Invalid input: expected string, received undefined; detail-type Invalid input: expected string, received undefined; time Invalid input: expected string, received undefined; detail Invalid input: expected record, received undefined"],
    ["bad instance ID", spotEvent("not-an-instance"), "EC2 Spot Instance Interruption Warning: instance-id is not an EC2 instance ID"],
    ["unknown detail type", JSON.stringify({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", time: TIME, detail: {} }), "unsupported event aws.ec2 / EC2 Instance State-change Notification"],
    ["test notification", lifecycleEvent({ LifecycleTransition: "autoscaling:TEST_NOTIFICATION" }), "lifecycle transition autoscaling:TEST_NOTIFICATION is not a termination"],
    ["another group", lifecycleEvent({ AutoScalingGroupName: "someone-else" }), "auto scaling group someone-else is not this cluster's agents (k3s-agents)"],
    ["missing token", JSON.stringify({ ...JSON.parse(lifecycleEvent()), detail: { ...JSON.parse(lifecycleEvent()).detail, LifecycleActionToken: undefined } }), "EC2 Instance-terminate Lifecycle Action: LifecycleActionToken Invalid input: expected string, received undefined"],
  ])("refused: %s", (_name, body, reason) => {
    expect(parseDrainEvent(body, GROUP)).toEqual({ ok: false, reason });
  });

  test("deadlines end before the interruption and the function timeout; a held lifecycle action adds none", () => {
    const spot: DrainRequest = { kind: "spot-interruption", instanceId: INSTANCE, eventTime: 0 };
    const lifecycle: DrainRequest = { kind: "lifecycle-termination", instanceId: INSTANCE, eventTime: 0, autoScalingGroupName: GROUP, lifecycleHookName: "h", lifecycleActionToken: "t" };
    expect(drainDeadline(spot, 900_000)).toBe(105_000);
    expect(drainDeadline(spot, 60_000)).toBe(45_000);
    expect(drainDeadline(lifecycle, 900_000)).toBe(885_000);
  });
});

describe("real event samples (support/aws-events, from AWS's docs and aws-node-termination-handler)", () => {
  const sample = (file: string) => readFileSync(join(__dirname, "support", "aws-events", file), "utf8");

  test.each([
    ["nth-spot-itn.json", "nth-test1", { kind: "spot-interruption", instanceId: "i-0b662ef9931388ba0", eventTime: Date.parse("1970-01-01T00:00:00Z") }],
    ["nth-spot-itn-e2e.json", "nth-test1", { kind: "spot-interruption", instanceId: "i-0a1b2c3d4e5f60718", eventTime: Date.parse("2025-03-04T10:11:12Z") }],
    ["nth-rebalance-recommendation.json", "nth-test1", { kind: "rebalance-recommendation", instanceId: "i-0b662ef9931388ba0", eventTime: Date.parse("2020-10-26T14:14:14Z") }],
    [
      "nth-asg-terminate-eventbridge.json",
      "nth-test1",
      { kind: "lifecycle-termination", instanceId: "i-0633ac2b0d9769723", eventTime: Date.parse("2020-07-01T22:19:58Z"), autoScalingGroupName: "nth-test1", lifecycleHookName: "node-termination-handler", lifecycleActionToken: "0befcbdb-6ecd-498a-9ff7-ae9b54447cd6" },
    ],
    [
      "aws-docs-asg-terminate-lifecycle.json",
      "my-asg",
      { kind: "lifecycle-termination", instanceId: "i-1234567890abcdef0", eventTime: Date.parse("2024-05-06T07:08:09Z"), autoScalingGroupName: "my-asg", lifecycleHookName: "my-lifecycle-hook", lifecycleActionToken: "87654321-4321-4321-4321-210987654321" },
    ],
    [
      "rust-runtime-asg-terminate-action.json",
      "my-asg",
      { kind: "lifecycle-termination", instanceId: "i-1234567890abcdef0", eventTime: 0, autoScalingGroupName: "my-asg", lifecycleHookName: "my-lifecycle-hook", lifecycleActionToken: "87654321-4321-4321-4321-210987654321" },
    ],
  ])("%s becomes a drain request", (file, group, request) => {
    expect(parseDrainEvent(sample(file), group)).toEqual({ ok: true, request });
  });

  test.each([
    // EventBridge delivers what the rules match; these are other events a misrouted or widened rule could bring.
    ["nth-asg-launch-eventbridge.json", "unsupported event aws.autoscaling / EC2 Instance-launch Lifecycle Action"],
    ["aws-docs-ec2-state-change-running.json", "unsupported event aws.ec2 / EC2 Instance State-change Notification"],
    ["nth-ec2-state-change-stopping.json", "unsupported event aws.ec2 / EC2 Instance State-change Notification"],
    ["nth-health-scheduled-change.json", "unsupported event aws.health / AWS Health Event"],
    ["nth-asg-terminate-kops-example.json", "auto scaling group testt1.demo-0a20f32c.kops.sh is not this cluster's agents (nth-test1)"],
  ])("%s is refused: %s", (file, reason) => {
    expect(parseDrainEvent(sample(file), "nth-test1")).toEqual({ ok: false, reason });
  });

  test.each([
    // Auto Scaling's test message through EventBridge carries no instance, token or hook.
    ["nth-asg-test-notification-eventbridge.json", /^EC2 Instance-terminate Lifecycle Action: /],
    // Lifecycle notifications sent by Auto Scaling straight to SQS, not through EventBridge.
    ["nth-asg-terminate-direct-sqs.json", /^not an EventBridge event: /],
    ["nth-asg-test-notification-direct-sqs.json", /^not an EventBridge event: /],
    ["aws-docs-asg-test-notification-direct-sqs.json", /^not an EventBridge event: /],
  ])("%s is refused as malformed", (file, reason) => {
    expect(parseDrainEvent(sample(file), "nth-test1")).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  test("a look-alike of an EC2 or Auto Scaling event from another source drains nothing: only AWS publishes aws.* sources", () => {
    const from = (file: string, source: string) => JSON.stringify({ ...JSON.parse(sample(file)), source });
    expect(parseDrainEvent(from("nth-spot-itn.json", "custom.app"), "nth-test1")).toEqual({ ok: false, reason: "unsupported event custom.app / EC2 Spot Instance Interruption Warning" });
    expect(parseDrainEvent(from("nth-asg-terminate-eventbridge.json", "custom.app"), "nth-test1")).toEqual({ ok: false, reason: "unsupported event custom.app / EC2 Instance-terminate Lifecycle Action" });
    expect(parseDrainEvent(from("nth-asg-terminate-eventbridge.json", "aws.ec2"), "nth-test1")).toEqual({ ok: false, reason: "unsupported event aws.ec2 / EC2 Instance-terminate Lifecycle Action" });
  });

  test("a message body that is JSON but not an object is refused as a whole", () => {
    for (const body of ["null", "[]", "42"]) expect(parseDrainEvent(body, "nth-test1")).toEqual({ ok: false, reason: expect.stringMatching(/^not an EventBridge event: event Invalid input: expected object, received /) });
  });
});

describe("the drain queue's rules deliver exactly the real samples the parser accepts", () => {
  const samples = join(__dirname, "support", "aws-events");
  const sample = (file: string) => readFileSync(join(samples, file), "utf8");
  const { json } = synthCluster();
  const queueArn = ref(json, "aws_sqs_queue", "Automation_DrainQueue", "arn");
  const agentGroupName = ref(json, "aws_autoscaling_group", "Compute_Agents_Group", "name").slice(2, -1);
  const targets = resourcesOf(json, "aws_cloudwatch_event_target").filter(([, target]) => target.arn === queueArn);
  const rules = Object.fromEntries(
    targets.map(([, target]) => {
      const id = referencedId(target.rule);
      return [id.replace(/^Automation_/, "").replace(/_[A-F0-9]+$/, ""), json.resource.aws_cloudwatch_event_rule[id].event_pattern as string];
    }),
  );
  /** The queue's rules whose pattern, once applied with the agents' group named `group`, matches the event in `body`. */
  const rulesMatching = (body: string, group: string) => {
    const resolve = (reference: string) => {
      if (reference !== agentGroupName) throw new Error(`an event pattern references ${reference}`);
      return group;
    };
    const event = JSON.parse(body);
    return Object.entries(rules).filter(([, pattern]) => matchesEventPattern(appliedEventPattern(pattern, resolve), event)).map(([name]) => name);
  };

  test("the queue's three rules send the event itself: no input, path or transformer replaces the message body", () => {
    expect(Object.keys(rules).sort()).toEqual(["AgentTerminationRule", "RebalanceRule", "SpotInterruptionRule"]);
    for (const [, target] of targets) {
      expect(target).not.toHaveProperty("input");
      expect(target).not.toHaveProperty("input_path");
      expect(target).not.toHaveProperty("input_transformer");
    }
  });

  // Which samples reach the queue, from what the samples are (support/aws-events/README.md), not from the patterns.
  const delivered: [string, string, string, DrainRequest["kind"]][] = [
    ["nth-spot-itn.json", "nth-test1", "SpotInterruptionRule", "spot-interruption"],
    ["nth-spot-itn-e2e.json", "nth-test1", "SpotInterruptionRule", "spot-interruption"],
    ["nth-rebalance-recommendation.json", "nth-test1", "RebalanceRule", "rebalance-recommendation"],
    ["nth-asg-terminate-eventbridge.json", "nth-test1", "AgentTerminationRule", "lifecycle-termination"],
    ["nth-asg-terminate-kops-example.json", "testt1.demo-0a20f32c.kops.sh", "AgentTerminationRule", "lifecycle-termination"],
    ["aws-docs-asg-terminate-lifecycle.json", "my-asg", "AgentTerminationRule", "lifecycle-termination"],
    ["rust-runtime-asg-terminate-action.json", "my-asg", "AgentTerminationRule", "lifecycle-termination"],
  ];
  const notDelivered: [string, string][] = [
    ["nth-asg-terminate-kops-example.json", "nth-test1"], // another group's termination
    ["nth-asg-launch-eventbridge.json", "nth-test1"],
    ["nth-asg-test-notification-eventbridge.json", "nth-test1"], // its detail names no group
    ["aws-docs-ec2-state-change-running.json", "nth-test1"],
    ["nth-ec2-state-change-stopping.json", "nth-test1"],
    ["nth-health-scheduled-change.json", "nth-test1"],
    // Auto Scaling's own notifications straight to SQS: no EventBridge envelope.
    ["nth-asg-terminate-direct-sqs.json", "nth-test1"],
    ["nth-asg-test-notification-direct-sqs.json", "nth-test1"],
    ["aws-docs-asg-test-notification-direct-sqs.json", "my-asg"],
  ];

  test.each(delivered)("%s (agents' group %s) matches only %s and becomes a %s drain request", (file, group, rule, kind) => {
    expect(rulesMatching(sample(file), group)).toEqual([rule]);
    expect(parseDrainEvent(sample(file), group)).toEqual({ ok: true, request: expect.objectContaining({ kind }) });
  });

  test.each(notDelivered)("%s (agents' group %s) matches no rule, and the parser refuses it", (file, group) => {
    expect(rulesMatching(sample(file), group)).toEqual([]);
    expect(parseDrainEvent(sample(file), group)).toEqual({ ok: false, reason: expect.any(String) });
  });

  test("every sample is classified, and for every sample and group a rule delivers it exactly when the parser accepts it", () => {
    const files = readdirSync(samples).filter((file) => file.endsWith(".json")).sort();
    expect([...new Set([...delivered, ...notDelivered].map(([file]) => file))].sort()).toEqual(files);
    for (const file of files) {
      for (const group of ["nth-test1", "my-asg", "testt1.demo-0a20f32c.kops.sh"]) {
        const matched = rulesMatching(sample(file), group);
        expect({ file, group, matched: matched.length <= 1 }).toEqual({ file, group, matched: true });
        expect({ file, group, delivered: matched.length === 1 }).toEqual({ file, group, delivered: parseDrainEvent(sample(file), group).ok });
      }
    }
  });

  test("the matcher follows EventBridge: every named field, exact values, nested fields, arrays by intersection", () => {
    // Examples of the EventBridge User Guide, "Event pattern syntax" and "Matching on multiple field values".
    const pattern = { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], detail: { state: ["terminated"] } };
    const event = { source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", region: "us-east-1", detail: { "instance-id": "i-1", state: "terminated" } };
    expect(matchesEventPattern(pattern, event)).toBe(true);
    expect(matchesEventPattern(pattern, { ...event, detail: { state: "running" } })).toBe(false);
    expect(matchesEventPattern(pattern, { ...event, detail: {} })).toBe(false);
    expect(matchesEventPattern(pattern, { ...event, source: "AWS.EC2" })).toBe(false);
    expect(matchesEventPattern({ source: ["aws.ec2", "aws.fargate"] }, { source: "aws.fargate" })).toBe(true);
    expect(matchesEventPattern({ resources: ["arn:b", "arn:x"] }, { resources: ["arn:a", "arn:b"] })).toBe(true);
    expect(matchesEventPattern({ resources: ["arn:x"] }, { resources: ["arn:a", "arn:b"] })).toBe(false);
    expect(() => matchesEventPattern({ source: [{ prefix: "aws." }] }, event)).toThrow("comparison operators are not modelled: source: {\"prefix\":\"aws.\"}");
  });
});
