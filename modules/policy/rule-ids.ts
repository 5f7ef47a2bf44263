/** Every rule's ID, in the order the rules run and the README lists them (modules/policy/rules.ts defines them). */
export const RULE_IDS = [
  "storage-encryption",
  "imds-v2-required",
  "imds-hop-limit",
  "rds-not-public",
  "rds-deletion-protection",
  "rds-backups",
  "sg-public-ingress",
  "sg-egress-reach",
  "iam-wildcard-action",
  "iam-wildcard-resource",
  "iam-service-source",
  "iam-policy-readable",
  "iam-managed-policy",
  "s3-public-access-block",
  "s3-versioning",
  "s3-tls-only",
  "log-retention",
  "lambda-async-failure",
  "secret-literal",
  "random-result-reference",
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export function isRuleId(id: string): id is RuleId {
  return (RULE_IDS as readonly string[]).includes(id);
}
