import { readFileSync } from "fs";
import { join } from "path";
import { DrainRequest, drainDeadline, parseDrainEvent } from "../lambdas/node-drainer/events";
import { GROUP, INSTANCE, lifecycleEvent, rebalanceEvent, spotEvent, TIME } from "./support/drainer-harness";

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
    // An instance ID is i- and 8 or 17 hex digits, nothing before or after (EC2 API reference, Instance).
    ["an instance ID with a trailing character", spotEvent("i-0123456789abcdef0x"), "EC2 Spot Instance Interruption Warning: instance-id is not an EC2 instance ID"],
    ["an instance ID with a leading character", spotEvent("xi-0123456789abcdef0"), "EC2 Spot Instance Interruption Warning: instance-id is not an EC2 instance ID"],
    ["an event time that is not a time", JSON.stringify({ ...JSON.parse(spotEvent()), time: "yesterday" }), "not an EventBridge event: time is not a timestamp"],
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
