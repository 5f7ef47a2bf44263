import { Aspects, IAspect, TerraformStack } from "cdktf";
import { IConstruct } from "constructs";
import { checkStack, formatExemptions, formatViolations, PolicyReport } from "./check";
import { PolicyOptions } from "./options";

/** A synth refused by the policy; the message lists every violation and the exemptions in effect. */
export class PolicyViolationError extends Error {
  constructor(public readonly report: PolicyReport) {
    super(report.exemptions.length > 0 ? `${formatViolations(report)}\n${formatExemptions(report)}` : formatViolations(report));
    this.name = "PolicyViolationError";
  }
}

/**
 * The policy as a cdktf Aspect: every synth of the stack (`app.synth()`, `Testing.synth`) checks the JSON the stack
 * produces and throws a PolicyViolationError listing every violation, so nothing is written. It runs when the aspect
 * visits the stack itself, the first node it sees; aspects that change resources would have to be added before it
 * and run on the stack node too (this project has no others).
 */
export class Policy implements IAspect {
  /** Makes every synth of `stack` check the policy. */
  static applyTo(stack: TerraformStack, options: PolicyOptions): Policy {
    const policy = new Policy(stack, options);
    Aspects.of(stack).add(policy);
    return policy;
  }

  /** The policy applied to a stack, if any. */
  static of(scope: IConstruct): Policy | undefined {
    return Aspects.of(scope).all.find((aspect): aspect is Policy => aspect instanceof Policy);
  }

  private lastReport?: PolicyReport;

  private constructor(
    private readonly stack: TerraformStack,
    private readonly options: PolicyOptions,
  ) {}

  /** The outcome of the last synth: its violations (none if it succeeded) and the exemptions in effect. */
  get report(): PolicyReport {
    if (!this.lastReport) throw new Error(`Policy: stack ${this.stack.node.path} has not been synthesised yet`);
    return this.lastReport;
  }

  visit(node: IConstruct): void {
    if (node !== this.stack) return;
    this.lastReport = checkStack(this.stack, this.options);
    if (this.lastReport.violations.length > 0) throw new PolicyViolationError(this.lastReport);
  }
}
