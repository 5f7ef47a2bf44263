import { readdirSync, readFileSync } from "fs";
import { join } from "path";
import { DrainRequest, parseDrainEvent } from "../lambdas/node-drainer/events";
import { ref, referencedId, resourcesOf, synthCluster } from "./helpers";
import { appliedEventPattern, matchesEventPattern } from "./support/event-pattern";

// The drain queue's EventBridge rules as synthesised against the parser's view of the same real samples
// (support/aws-events). Kept apart from node-drainer-events.test.ts, which does not synthesise, so mutation testing of
// the parser does not pay for a synthesis per mutant.

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
    expect(() => matchesEventPattern({ source: [{ prefix: "aws." }] }, event)).toThrow('comparison operators other than anything-but of strings are not modelled: source: {"prefix":"aws."}');
    expect(() => matchesEventPattern({ source: ["aws.ec2", { prefix: "aws." }] }, event)).toThrow("not modelled");
  });

  test("the matcher follows EventBridge's content filtering: anything-but needs the field and none of its values; $or needs one alternative", () => {
    // EventBridge User Guide, "Content filtering in Amazon EventBridge event patterns": anything-but matching and $or matching.
    const notEmpty = { detail: { statusMessage: [{ "anything-but": [""] }] } };
    expect(matchesEventPattern(notEmpty, { detail: { statusMessage: "Completed with a warning" } })).toBe(true);
    expect(matchesEventPattern(notEmpty, { detail: { statusMessage: "" } })).toBe(false);
    expect(matchesEventPattern(notEmpty, { detail: {} })).toBe(false);
    const either = { source: ["aws.backup"], $or: [{ detail: { state: ["FAILED"] } }, { "detail-type": ["Copy Job State Change"] }] };
    expect(matchesEventPattern(either, { source: "aws.backup", "detail-type": "Backup Job State Change", detail: { state: "FAILED" } })).toBe(true);
    expect(matchesEventPattern(either, { source: "aws.backup", "detail-type": "Copy Job State Change", detail: { state: "RUNNING" } })).toBe(true);
    expect(matchesEventPattern(either, { source: "aws.backup", "detail-type": "Backup Job State Change", detail: { state: "RUNNING" } })).toBe(false);
    expect(matchesEventPattern(either, { source: "aws.ec2", "detail-type": "Copy Job State Change", detail: { state: "FAILED" } })).toBe(false);
    expect(() => matchesEventPattern({ $or: [{ source: ["aws.backup"] }] }, {})).toThrow("two or more patterns");
  });
});
