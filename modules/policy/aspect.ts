import { TerraformStack } from "cdktf";
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
 * The policy of a stack: every synth of it (`app.synth()`, `Testing.synth`) ends in the stack's `toTerraform()`, after
 * every Aspect has run, and the policy checks the JSON that call returns, the JSON that is written, and throws a
 * PolicyViolationError listing every violation before anything is. The stack is resolved once a synth, not again for
 * the check (a quarter of a synthesis).
 */
export class Policy {
  private static readonly applied = new WeakMap<IConstruct, Policy>();

  /** Makes every synth of `stack` check the policy. */
  static applyTo(stack: TerraformStack, options: PolicyOptions): Policy {
    if (Policy.applied.has(stack)) throw new Error(`Policy: stack ${stack.node.path} already has a policy`);
    const policy = new Policy(stack, options);
    const synthesise = stack.toTerraform.bind(stack);
    stack.toTerraform = () => policy.check(synthesise());
    Policy.applied.set(stack, policy);
    return policy;
  }

  /** The policy applied to a stack, if any. */
  static of(scope: IConstruct): Policy | undefined {
    return Policy.applied.get(scope);
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

  private check(json: Record<string, unknown>): Record<string, unknown> {
    this.lastReport = checkStack(this.stack, this.options, json);
    if (this.lastReport.violations.length > 0) throw new PolicyViolationError(this.lastReport);
    return json;
  }
}
