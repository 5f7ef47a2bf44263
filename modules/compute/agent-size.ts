import { DataAwsEc2InstanceType } from "@cdktf/provider-aws/lib/data-aws-ec2-instance-type";
import { Op, TerraformSelf } from "cdktf";
import { Construct } from "constructs";

/** vCPUs and memory (MiB) of the agents' instance types, as EC2 reports them: Terraform references, read at plan. */
export interface AgentSize {
  readonly vcpus: string;
  readonly memoryMiB: string;
}

/**
 * Reads every agent instance type and fails the plan when one differs from the first in vCPUs or memory. Both
 * pod-driven scalers size a new agent from the first type: cluster-autoscaler's AWS README ("Using Mixed Instances
 * Policies and Spot Instances") asks for types with "the same amount of RAM and number of CPU cores, since this is
 * fundamental to CA's scaling calculations", and the autoscaler's node template does the same. An agent smaller than
 * the template leaves the pods it was added for pending; one that cannot hold the autoscaler's headroom is removed
 * and added again for as long as the group keeps launching it.
 */
export function readAgentSize(scope: Construct, instanceTypes: readonly string[]): AgentSize {
  const [first, ...others] = instanceTypes;
  const firstType = new DataAwsEc2InstanceType(scope, "AgentInstanceType", { instanceType: first });
  const vcpus = TerraformSelf.getNumber("default_vcpus");
  const memoryMiB = TerraformSelf.getNumber("memory_size");
  for (const [index, instanceType] of others.entries()) {
    new DataAwsEc2InstanceType(scope, `AgentInstanceType${index + 1}`, {
      instanceType,
      lifecycle: {
        postcondition: [
          {
            condition: Op.and(Op.eq(vcpus, firstType.defaultVcpus), Op.eq(memoryMiB, firstType.memorySize)),
            errorMessage: `agents.instanceTypes: ${instanceType} has ${vcpus} vCPUs and ${memoryMiB} MiB but ${first}, the first, has ${firstType.defaultVcpus} vCPUs and ${firstType.memorySize} MiB. The pod-driven scalers size every new agent from the first type (cluster-autoscaler's AWS README, mixed instances policies): list types of one size, or scale the agents on CPU (agents.scalingMode cpu).`,
          },
        ],
      },
    });
  }
  return { vcpus: firstType.defaultVcpus.toString(), memoryMiB: firstType.memorySize.toString() };
}
