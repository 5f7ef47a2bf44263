import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import { LifecycleActions, LifecycleOutcome } from "./drainer";

/**
 * Auto Scaling answers a token it no longer holds (the action was completed, or its heartbeat ran out and the hook
 * continued) with ValidationError "No active Lifecycle Action found with token ...".
 */
function noLongerPending(error: unknown): boolean {
  return (error as { name?: string }).name === "ValidationError" && /No active Lifecycle Action/i.test((error as Error).message);
}

async function send<T extends LifecycleOutcome>(call: () => Promise<unknown>, done: T): Promise<T | "already-done"> {
  try {
    await call();
    return done;
  } catch (error) {
    if (noLongerPending(error)) return "already-done";
    throw error;
  }
}

export function autoScalingLifecycle(client: AutoScalingClient): LifecycleActions {
  const action = (request: Parameters<LifecycleActions["complete"]>[0]) => ({
    AutoScalingGroupName: request.autoScalingGroupName,
    LifecycleHookName: request.lifecycleHookName,
    LifecycleActionToken: request.lifecycleActionToken,
    InstanceId: request.instanceId,
  });
  return {
    heartbeat: (request) => send(() => client.send(new RecordLifecycleActionHeartbeatCommand(action(request))), "recorded"),
    complete: (request) => send(() => client.send(new CompleteLifecycleActionCommand({ ...action(request), LifecycleActionResult: "CONTINUE" })), "completed"),
  };
}
