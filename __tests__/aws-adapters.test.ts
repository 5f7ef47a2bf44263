import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createServer, Server } from "http";
import { AddressInfo } from "net";
import { autoScalingGroup } from "../lambdas/autoscaler/aws";
import { autoScalingLifecycle } from "../lambdas/node-drainer/aws";
import { readClusterAccess } from "../lambdas/shared/access";

/** A loopback endpoint answering AWS API calls with canned protocol responses, recording each call's parameters. */
async function fakeAws(respond: (body: string, target?: string) => { status: number; body: string; type: string }) {
  const calls: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      calls.push(body);
      const answer = respond(body, request.headers["x-amz-target"] as string | undefined);
      response.writeHead(answer.status, { "Content-Type": answer.type });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientConfig = { endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 };
  return { calls, clientConfig, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const xml = (body: string, status = 200) => ({ status, body, type: "text/xml" });
const NS = 'xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"';
const LIFECYCLE = { kind: "lifecycle-termination", instanceId: "i-0123456789abcdef0", eventTime: 0, autoScalingGroupName: "k3s-agents", lifecycleHookName: "k3s-agent-drain", lifecycleActionToken: "token-1" } as const;

describe("Auto Scaling adapters (Query protocol)", () => {
  test("lifecycle completion sends CONTINUE with the hook's token", async () => {
    const aws = await fakeAws(() => xml(`<CompleteLifecycleActionResponse ${NS}><CompleteLifecycleActionResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CompleteLifecycleActionResponse>`));
    try {
      expect(await autoScalingLifecycle(new AutoScalingClient(aws.clientConfig)).complete(LIFECYCLE)).toBe("completed");
      const params = new URLSearchParams(aws.calls[0]);
      expect(Object.fromEntries(params)).toMatchObject({ Action: "CompleteLifecycleAction", AutoScalingGroupName: "k3s-agents", LifecycleHookName: "k3s-agent-drain", LifecycleActionToken: "token-1", InstanceId: "i-0123456789abcdef0", LifecycleActionResult: "CONTINUE" });
    } finally {
      await aws.stop();
    }
  });

  test("a heartbeat names the hook, group, instance and the event's token", async () => {
    const aws = await fakeAws(() => xml(`<RecordLifecycleActionHeartbeatResponse ${NS}><RecordLifecycleActionHeartbeatResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></RecordLifecycleActionHeartbeatResponse>`));
    try {
      expect(await autoScalingLifecycle(new AutoScalingClient(aws.clientConfig)).heartbeat(LIFECYCLE)).toBe("recorded");
      expect(Object.fromEntries(new URLSearchParams(aws.calls[0]))).toEqual({ Action: "RecordLifecycleActionHeartbeat", Version: "2011-01-01", AutoScalingGroupName: "k3s-agents", LifecycleHookName: "k3s-agent-drain", LifecycleActionToken: "token-1", InstanceId: "i-0123456789abcdef0" });
    } finally {
      await aws.stop();
    }
  });

  // Auto Scaling's answer to a token it no longer holds (completed, or timed out), as reported in
  // spacelift-io/terraform-aws-spacelift-workerpool-on-ec2#197 and convox/rack#2432.
  test.each([
    ["heartbeat", "No active Lifecycle Action found with token token-1"],
    ["complete", "No active Lifecycle Action found with token token-1"],
    ["complete", "No active Lifecycle Action found with instance ID i-0123456789abcdef0"],
  ] as const)("%s: an action that is no longer pending (%s) counts as done; other errors propagate", async (call, notPending) => {
    let message: string = notPending;
    const aws = await fakeAws(() => xml(`<ErrorResponse ${NS}><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`, 400));
    try {
      const lifecycle = autoScalingLifecycle(new AutoScalingClient(aws.clientConfig));
      expect(await lifecycle[call](LIFECYCLE)).toBe("already-done");
      message = "Group k3s-agents not found";
      await expect(lifecycle[call](LIFECYCLE)).rejects.toThrow("Group k3s-agents not found");
    } finally {
      await aws.stop();
    }
  });

  test("describe reads bounds and leaves terminating instances out; scale calls name the group", async () => {
    const aws = await fakeAws((body) =>
      body.includes("Action=DescribeAutoScalingGroups")
        ? xml(
            `<DescribeAutoScalingGroupsResponse ${NS}><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>k3s-agents</AutoScalingGroupName><MinSize>1</MinSize><MaxSize>10</MaxSize><DesiredCapacity>3</DesiredCapacity>` +
              `<Instances><member><InstanceId>i-0aaaaaaaaaaaaaaaa</InstanceId><LifecycleState>InService</LifecycleState></member><member><InstanceId>i-0bbbbbbbbbbbbbbbb</InstanceId><LifecycleState>Terminating:Wait</LifecycleState></member><member><InstanceId>i-0cccccccccccccccc</InstanceId><LifecycleState>Pending</LifecycleState></member></Instances>` +
              `</member></AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>`,
          )
        : xml(`<Response ${NS}><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></Response>`),
    );
    try {
      const group = autoScalingGroup(new AutoScalingClient(aws.clientConfig), "k3s-agents");
      expect(await group.describe()).toEqual({ desired: 3, min: 1, max: 10, instanceIds: ["i-0aaaaaaaaaaaaaaaa", "i-0cccccccccccccccc"] });
      await group.setDesired(4);
      await group.terminate("i-0aaaaaaaaaaaaaaaa");
      await group.replace("i-0cccccccccccccccc");
      expect(Object.fromEntries(new URLSearchParams(aws.calls[1]))).toMatchObject({ Action: "SetDesiredCapacity", AutoScalingGroupName: "k3s-agents", DesiredCapacity: "4", HonorCooldown: "false" });
      expect(Object.fromEntries(new URLSearchParams(aws.calls[2]))).toMatchObject({ Action: "TerminateInstanceInAutoScalingGroup", InstanceId: "i-0aaaaaaaaaaaaaaaa", ShouldDecrementDesiredCapacity: "true" });
      // A replacement keeps desired capacity, so the group launches a new instance (Auto Scaling API reference).
      expect(Object.fromEntries(new URLSearchParams(aws.calls[3]))).toMatchObject({ Action: "TerminateInstanceInAutoScalingGroup", InstanceId: "i-0cccccccccccccccc", ShouldDecrementDesiredCapacity: "false" });
    } finally {
      await aws.stop();
    }
  });
});

describe("cluster access secret (JSON protocol)", () => {
  const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/automation-access";

  test.each([
    [{ SecretString: JSON.stringify({ server: "https://api.internal:6443", caData: "Q0E=", token: "t0k3n" }) }, { server: "https://api.internal:6443", caData: "Q0E=", token: "t0k3n" }],
    [{ ARN }, `secret ${ARN} has no value yet: the servers publish it once the API is up`],
    [{ SecretString: "not json" }, `secret ${ARN} is not JSON`],
    [{ SecretString: JSON.stringify({ server: "https://api.internal:6443", token: "t0k3n" }) }, `secret ${ARN} lacks caData`],
  ])("%j", async (answer, expected) => {
    const aws = await fakeAws(() => ({ status: 200, body: JSON.stringify(answer), type: "application/x-amz-json-1.1" }));
    try {
      const read = readClusterAccess(new SecretsManagerClient(aws.clientConfig), ARN);
      if (typeof expected === "string") {
        await expect(read).rejects.toThrow(expected);
        await expect(read.catch((error: Error) => error.message)).resolves.not.toContain("t0k3n");
      } else {
        await expect(read).resolves.toEqual(expected);
      }
    } finally {
      await aws.stop();
    }
  });
});
