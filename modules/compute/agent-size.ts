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
 * pod-driven scalers size a new agent like one agent of the group: a running one when there is one, the first type
 * otherwise (this project's lambdas/autoscaler/run.ts; cluster-autoscaler's MixedTemplateNodeInfoProvider and its AWS
 * provider's first override). So every type must be of one size, as cluster-autoscaler's AWS README ("Using Mixed
 * Instances Policies and Spot Instances") asks: "the same amount of RAM and number of CPU cores". A smaller agent
 * leaves pods it was added for pending, and one that cannot hold the autoscaler's headroom is removed and added again.
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
            errorMessage: `agents.instanceTypes: ${instanceType} has ${vcpus} vCPUs and ${memoryMiB} MiB but ${first}, the first, has ${firstType.defaultVcpus} vCPUs and ${firstType.memorySize} MiB. The pod-driven scalers size a new agent like any one of the group (cluster-autoscaler's AWS README, mixed instances policies: one amount of RAM and number of CPU cores): list types of one size, or scale the agents on CPU (agents.scalingMode cpu).`,
          },
        ],
      },
    });
  }
  return { vcpus: firstType.defaultVcpus.toString(), memoryMiB: firstType.memorySize.toString() };
}
