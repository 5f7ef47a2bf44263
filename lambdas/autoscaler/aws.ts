import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand, TerminateInstanceInAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";

export interface AgentGroupView {
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  /** Instances in service or on their way there; terminating ones are left out. */
  readonly instanceIds: string[];
}

export interface AgentGroup {
  describe(): Promise<AgentGroupView>;
  setDesired(desired: number): Promise<void>;
  /** Terminates one instance and lowers desired capacity with it, so the group does not replace it. */
  terminate(instanceId: string): Promise<void>;
  /** Terminates one instance and keeps desired capacity, so the group launches a replacement. */
  replace(instanceId: string): Promise<void>;
}

export function autoScalingGroup(client: AutoScalingClient, name: string): AgentGroup {
  return {
    async describe() {
      const { AutoScalingGroups } = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
      const group = AutoScalingGroups?.[0];
      if (!group) throw new Error(`auto scaling group ${name} not found`);
      return {
        desired: group.DesiredCapacity ?? 0,
        min: group.MinSize ?? 0,
        max: group.MaxSize ?? 0,
        instanceIds: (group.Instances ?? []).filter((instance) => !instance.LifecycleState?.startsWith("Terminat")).map((instance) => instance.InstanceId ?? ""),
      };
    },
    async setDesired(desired) {
      await client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: desired, HonorCooldown: false }));
    },
    async terminate(instanceId) {
      await client.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: true }));
    },
    async replace(instanceId) {
      await client.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: false }));
    },
  };
}
