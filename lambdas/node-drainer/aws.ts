import { AutoScalingClient, CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { LifecycleActions } from "./drainer";

export function autoScalingLifecycle(client: AutoScalingClient): LifecycleActions {
  return {
    async complete(request) {
      try {
        await client.send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: request.autoScalingGroupName,
            LifecycleHookName: request.lifecycleHookName,
            LifecycleActionToken: request.lifecycleActionToken,
            InstanceId: request.instanceId,
            LifecycleActionResult: "CONTINUE",
          }),
        );
        return "completed";
      } catch (error) {
        // A duplicate event, or one handled after the heartbeat ran out: the action is no longer pending.
        if ((error as { name?: string }).name === "ValidationError" && /No active Lifecycle Action/i.test((error as Error).message)) return "already-done";
        throw error;
      }
    },
  };
}
