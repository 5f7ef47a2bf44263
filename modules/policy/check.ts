import { TerraformElement, TerraformStack } from "cdktf";
import { Exemption, PolicyExemption } from "./exemption";
import { PolicyOptions } from "./options";
import { RuleId } from "./rule-ids";
import { RULES } from "./rules";
import { SynthesisedStack } from "./synthesised";

/** A finding no exemption waives, or an exemption that waives nothing. */
export interface Violation {
  readonly rule: RuleId | "unused-exemption";
  /** Construct path of the block (or the exemption's construct). */
  readonly path: string;
  /** Terraform address of the block, when there is one. */
  readonly address?: string;
  readonly detail: string;
  readonly fix: string;
}

/** An exemption and the findings it waived in this synth. */
export interface ExemptionInEffect {
  readonly rule: RuleId;
  readonly path: string;
  readonly address: string;
  readonly reason: string;
  readonly waived: string[];
}

export interface PolicyReport {
  readonly stack: string;
  readonly violations: Violation[];
  readonly exemptions: ExemptionInEffect[];
}

/** Runs every rule over the stack as Terraform gets it and applies the exemptions on its constructs. */
export function checkStack(stack: TerraformStack, options: PolicyOptions): PolicyReport {
  const synthesised = new SynthesisedStack(stack);
  const exemptions = stack.node.findAll().flatMap((construct) => PolicyExemption.on(construct));
  const waived = new Map<Exemption, string[]>();
  const waivedStatements = new Map<Exemption, Set<string>>();
  const violations: Violation[] = [];
  for (const rule of RULES) {
    for (const finding of rule.check(synthesised, options)) {
      const exemption = exemptions.find(
        (candidate) =>
          candidate.rule === rule.id &&
          finding.block.element !== undefined &&
          candidate.construct === finding.block.element &&
          (candidate.statements === undefined || (finding.statement !== undefined && candidate.statements.includes(finding.statement))),
      );
      if (exemption) {
        waived.set(exemption, [...(waived.get(exemption) ?? []), finding.detail]);
        if (finding.statement !== undefined) waivedStatements.set(exemption, (waivedStatements.get(exemption) ?? new Set()).add(finding.statement));
      }
      else violations.push({ rule: rule.id, path: finding.block.path, address: finding.block.address, detail: finding.detail, fix: finding.fix ?? rule.fix });
    }
  }
  for (const exemption of exemptions.filter((candidate) => !waived.has(candidate))) {
    const synthesisesBlock = TerraformElement.isTerraformElement(exemption.construct);
    violations.push({
      rule: "unused-exemption",
      path: exemption.construct.node.path,
      detail: synthesisesBlock
        ? `the exemption from rule ${exemption.rule} waives nothing`
        : `the exemption from rule ${exemption.rule} is on a construct that synthesises no Terraform block, so it waives nothing`,
      fix: synthesisesBlock ? "remove the exemption" : "put the exemption on the resource, data source, output or local the rule reports",
    });
  }
  for (const exemption of exemptions.filter((candidate) => waived.has(candidate) && candidate.statements !== undefined)) {
    for (const sid of exemption.statements!.filter((candidate) => !waivedStatements.get(exemption)?.has(candidate))) {
      violations.push({
        rule: "unused-exemption",
        path: exemption.construct.node.path,
        detail: `the exemption from rule ${exemption.rule} names statement "${sid}", which the rule does not report`,
        fix: `remove "${sid}" from the exemption's statements`,
      });
    }
  }
  return {
    stack: stack.node.id,
    violations,
    exemptions: [...waived].map(([exemption, details]) => ({
      rule: exemption.rule,
      path: exemption.construct.node.path,
      address: synthesised.blocks.find((block) => block.element === exemption.construct)?.address ?? exemption.construct.node.path,
      reason: exemption.reason,
      waived: details,
    })),
  };
}

/** The violations, one per line: rule, construct path, Terraform address, what is wrong and how to fix it. */
export function formatViolations(report: PolicyReport): string {
  const lines = report.violations.map((violation) => `  - [${violation.rule}] ${violation.path}${violation.address ? ` (${violation.address})` : ""}: ${violation.detail}. Fix: ${violation.fix}.`);
  return [`Policy check of stack "${report.stack}" failed with ${report.violations.length} violation${report.violations.length === 1 ? "" : "s"}:`, ...lines].join("\n");
}

/** The exemptions in effect, each with its reason and what it waived. */
export function formatExemptions(report: PolicyReport): string {
  if (report.exemptions.length === 0) return `Policy exemptions in stack "${report.stack}": none`;
  const lines = report.exemptions.flatMap((exemption) => [
    `  - [${exemption.rule}] ${exemption.path} (${exemption.address}): ${exemption.reason}`,
    ...exemption.waived.map((detail) => `      waives: ${detail}`),
  ]);
  return [`Policy exemptions in stack "${report.stack}" (${report.exemptions.length}):`, ...lines].join("\n");
}
