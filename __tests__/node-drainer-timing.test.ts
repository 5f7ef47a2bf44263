import type { SQSRecord } from "aws-lambda";
import { DrainerDeps, processBatch } from "../lambdas/node-drainer/drainer";
import { parseDrainerSettings } from "../lambdas/node-drainer/settings";
import { kubeConfigFor, kubernetesCluster } from "../lambdas/shared/cluster";
import { appliedLambdaEnvironment, resourceNamed, synthCluster } from "./helpers";
import { GROUP, INSTANCE, lifecycleAction, lifecycleEvent, NODE, TIME, virtualClock } from "./support/drainer-harness";
import { FakeKubeApi } from "./support/fake-kube-api";

// Apart from node-drainer.test.ts because it synthesises the whole stack, which `npm run mutate` cannot afford per mutant.
describe("drain timing, from the synthesised Terraform to the handler", () => {
  const { json } = synthCluster();
  const hook = resourceNamed(json, "aws_autoscaling_lifecycle_hook", "Compute_AgentDrainHook");
  const fn = resourceNamed(json, "aws_lambda_function", "Automation_NodeDrainer");
  const queue = resourceNamed(json, "aws_sqs_queue", "Automation_DrainQueue");
  const environment = appliedLambdaEnvironment(json, "NodeDrainer");

  test("the queue hides a message at least six function timeouts, and a redelivery plus an attempt fit in the hook", () => {
    // Lambda requires visibility >= function timeout and advises 6x (Lambda Developer Guide, SQS event source).
    expect(queue.visibility_timeout_seconds).toBeGreaterThanOrEqual(6 * fn.timeout);
    expect(queue.visibility_timeout_seconds + fn.timeout).toBeLessThanOrEqual(hook.heartbeat_timeout);
    expect(parseDrainerSettings(environment).heartbeatIntervalMs).toBeLessThanOrEqual((hook.heartbeat_timeout * 1000) / 4);
  });

  /**
   * The drainer as the synthesised environment configures it, against a node whose one pod a disruption budget keeps
   * refusing: `attempt(startedAt)` is a receive that starts then and times out as the function does.
   */
  async function onStuckNode(run: (stuck: { api: FakeKubeApi; clock: ReturnType<typeof virtualClock>; action: ReturnType<typeof lifecycleAction>; sent: string[]; attempt: (startedAt: number) => DrainerDeps }) => Promise<void>) {
    const api = new FakeKubeApi();
    const server = await api.start();
    try {
      api.addNode(NODE, INSTANCE);
      api.addPod("default", "db-0", NODE, { owner: "StatefulSet" });
      api.refusals.set("default/db-0", 1_000_000);
      const clock = virtualClock(Date.parse(TIME) + 5000);
      const action = lifecycleAction(clock, hook.heartbeat_timeout * 1000, Date.parse(TIME));
      const sent: string[] = [];
      const settings = parseDrainerSettings(environment);
      const attempt = (startedAt: number): DrainerDeps => ({
        agentGroupName: GROUP,
        heartbeatIntervalMs: settings.heartbeatIntervalMs,
        attempts: settings.attempts,
        cluster: async () => kubernetesCluster(kubeConfigFor({ server, caData: api.caData, token: "t" })),
        lifecycle: action.actions,
        notify: async (subject, message) => void sent.push(`${subject}: ${String(message.error)}`),
        log: () => undefined,
        now: clock.now,
        sleep: clock.sleep,
        every: clock.every,
        functionDeadline: startedAt + fn.timeout * 1000,
        retryDelayMs: 5000,
      });
      await run({ api, clock, action, sent, attempt });
    } finally {
      await api.stop();
    }
  }

  test("an unfinished attempt is retried after the visibility timeout while the heartbeats still hold the action, and the retry completes it", () =>
    onStuckNode(async ({ api, clock, action, attempt }) => {
      const received = clock.now();
      expect(await processBatch([{ messageId: "m1", body: lifecycleEvent() } as SQSRecord], attempt(received))).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      expect(clock.now()).toBeLessThanOrEqual(received + fn.timeout * 1000);
      expect(action.state.heartbeats.length).toBeGreaterThanOrEqual(2);

      const redelivered = received + queue.visibility_timeout_seconds * 1000;
      await clock.sleep(redelivered - clock.now());
      expect(action.pending()).toBe(true);
      api.refusals.set("default/db-0", 0);
      expect(await processBatch([{ messageId: "m1", body: lifecycleEvent() } as SQSRecord], attempt(redelivered))).toEqual({ batchItemFailures: [] });
      expect(api.pods.size).toBe(0);
      expect(action.state.result).toBe("CONTINUE");
    }));

  test("the queue's last receive (its redrive maxReceiveCount) publishes the abandoned drain; earlier receives do not", () =>
    onStuckNode(async ({ clock, sent, attempt }) => {
      // The redrive policy is a jsonencode() expression in the JSON: its count is read from the expression's text.
      const maxReceiveCount = Number(/"maxReceiveCount" = (\d+)/.exec(queue.redrive_policy)![1]);
      expect(parseDrainerSettings(environment).attempts).toBe(maxReceiveCount);
      const receive = (count: number) => ({ messageId: "m1", body: lifecycleEvent(), attributes: { ApproximateReceiveCount: String(count) } }) as unknown as SQSRecord;
      for (let count = 1; count < maxReceiveCount; count++) {
        expect(await processBatch([receive(count)], attempt(clock.now()))).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      }
      expect(sent).toEqual([]);
      expect(await processBatch([receive(maxReceiveCount)], attempt(clock.now()))).toEqual({ batchItemFailures: [{ itemIdentifier: "m1" }] });
      expect(sent).toEqual([`node drain failed: drain unfinished on receive ${maxReceiveCount} of ${maxReceiveCount}: the instance terminates when the lifecycle hook times out`]);
    }));
});
