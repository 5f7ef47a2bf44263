import { IConstruct } from "constructs";
import { isRuleId, RULE_IDS, RuleId } from "./rule-ids";

/** Construct metadata type under which exemptions are kept on the construct they apply to. */
const EXEMPTION_METADATA = "k3s-aws/policy-exemption";

/** A rule waived for one construct, and why. */
export interface Exemption {
  readonly rule: RuleId;
  readonly reason: string;
  /**
   * For a policy document: the statements (by sid) the exemption covers. A statement added later is not waived with
   * them. Undefined: the whole block.
   */
  readonly statements?: string[];
  /** The construct the exemption is on. */
  readonly construct: IConstruct;
}

/**
 * The escape hatch: `PolicyExemption.of(resource).exempt("rule-id", "why")` waives one rule for the one Terraform block
 * that `resource` (a resource, data source, output or local) synthesises. The reason is required, is printed with every
 * synth that uses it, and an exemption that waives nothing fails the synth, so none outlives its cause. On a policy
 * document, name the statements it covers (`{ statements: ["Sid"] }`), so that a statement added later is checked.
 */
export class PolicyExemption {
  static of(construct: IConstruct): PolicyExemption {
    return new PolicyExemption(construct);
  }

  /** The exemptions on one construct. */
  static on(construct: IConstruct): Exemption[] {
    return construct.node.metadata
      .filter((entry) => entry.type === EXEMPTION_METADATA)
      .map((entry) => ({ ...(entry.data as { rule: RuleId; reason: string; statements?: string[] }), construct }));
  }

  private constructor(private readonly construct: IConstruct) {}

  /** `options.statements`: in a policy document, the sids of the statements the rule is waived for, and no others. */
  exempt(rule: RuleId, reason: string, options: { readonly statements?: string[] } = {}): this {
    const path = this.construct.node.path;
    if (!isRuleId(rule)) throw new Error(`PolicyExemption: ${path}: unknown rule "${rule}"; the rules are ${RULE_IDS.join(", ")}`);
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new Error(`PolicyExemption: ${path}: the exemption from rule "${rule}" needs a reason (why the rule does not apply here)`);
    }
    if (PolicyExemption.on(this.construct).some((exemption) => exemption.rule === rule)) {
      throw new Error(`PolicyExemption: ${path} is already exempt from rule "${rule}"; give one reason`);
    }
    if (options.statements !== undefined && (options.statements.length === 0 || options.statements.some((sid) => sid.trim() === ""))) {
      throw new Error(`PolicyExemption: ${path}: the exemption from rule "${rule}" names its statements by sid; leave out statements to cover the whole block`);
    }
    this.construct.node.addMetadata(EXEMPTION_METADATA, { rule, reason: reason.trim(), ...(options.statements ? { statements: [...options.statements] } : {}) }, { stackTrace: false });
    return this;
  }
}
