/**
 * Policy at synth: rules every synthesised stack must pass, checked on the JSON Terraform gets, with a per-resource,
 * per-rule escape hatch that needs a reason and is printed with every synth. The README's "Policy at synth" section
 * lists the rules.
 */
export { Policy, PolicyViolationError } from "./aspect";
export { checkStack, formatExemptions, formatViolations } from "./check";
export type { ExemptionInEffect, PolicyReport, Violation } from "./check";
export { clusterNetworkReach } from "./cluster-reach";
export type { ClusterSecurityGroupRoles } from "./cluster-reach";
export { PolicyExemption } from "./exemption";
export type { AddressEgress, NetworkReach, PolicyOptions, PublicIngress } from "./options";
export { RULE_IDS } from "./rule-ids";
export type { RuleId } from "./rule-ids";
export { ACTIONS_WITHOUT_RESOURCE_TYPES, RANDOM_RESULT_HOLDERS, RULES } from "./rules";
