import { Block, isSet, list, SynthesisedStack } from "./synthesised";

/** How a policy is used, which decides the rules that apply to it. */
export type PolicyUse = "identity" | "resource" | "trust";

/** One statement, whether written as an `aws_iam_policy_document` block or as policy JSON. */
export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly actions: string[];
  readonly notActions: string[];
  readonly resources: string[];
  readonly notResources: string[];
  /** Principals by type ("AWS", "Service", "Federated", "*"). */
  readonly principals: { readonly type: string; readonly identifiers: string[] }[];
  readonly conditions: { readonly test: string; readonly variable: string; readonly values: string[] }[];
}

/** The statements of one policy, where they are written and how they are used. */
export interface PolicyDocument {
  /** The `aws_iam_policy_document` data source, or the resource whose attribute holds the JSON. */
  readonly block: Block;
  readonly statements: PolicyStatement[];
  /** Empty when nothing this check knows consumes the document. */
  readonly uses: Set<PolicyUse>;
}

/** A policy attribute whose text is neither an `aws_iam_policy_document` reference nor policy JSON. */
export interface UnreadablePolicy {
  readonly block: Block;
  readonly reason: string;
}

/** The attributes that hold IAM policy JSON, by resource type. */
const POLICY_ATTRIBUTES: Record<string, { readonly attribute: string; readonly use: PolicyUse }[]> = {
  aws_iam_role: [{ attribute: "assume_role_policy", use: "trust" }],
  aws_iam_role_policy: [{ attribute: "policy", use: "identity" }],
  aws_iam_policy: [{ attribute: "policy", use: "identity" }],
  aws_iam_user_policy: [{ attribute: "policy", use: "identity" }],
  aws_iam_group_policy: [{ attribute: "policy", use: "identity" }],
  aws_kms_key: [{ attribute: "policy", use: "resource" }],
  aws_kms_key_policy: [{ attribute: "policy", use: "resource" }],
  aws_sqs_queue: [{ attribute: "policy", use: "resource" }],
  aws_sqs_queue_policy: [{ attribute: "policy", use: "resource" }],
  aws_sns_topic: [{ attribute: "policy", use: "resource" }],
  aws_sns_topic_policy: [{ attribute: "policy", use: "resource" }],
  aws_s3_bucket: [{ attribute: "policy", use: "resource" }],
  aws_s3_bucket_policy: [{ attribute: "policy", use: "resource" }],
  aws_efs_file_system_policy: [{ attribute: "policy", use: "resource" }],
  aws_secretsmanager_secret: [{ attribute: "policy", use: "resource" }],
  aws_secretsmanager_secret_policy: [{ attribute: "policy", use: "resource" }],
  aws_ecr_repository_policy: [{ attribute: "policy", use: "resource" }],
  aws_vpc_endpoint: [{ attribute: "policy", use: "resource" }],
  aws_cloudwatch_log_resource_policy: [{ attribute: "policy_document", use: "resource" }],
};

const DOCUMENT_REFERENCE = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.(json|minified_json)\}$/;

/** Arguments that merge other documents in: the merged policy is known only at plan time. */
const MERGING_ARGUMENTS = ["source_policy_documents", "override_policy_documents", "source_json", "override_json"];

/**
 * Every IAM policy in the stack: each `aws_iam_policy_document` (with the uses its `.json` is put to, following the
 * `${data.aws_iam_policy_document.X.json}` references) and each policy written as JSON text in a resource.
 */
export function readPolicies(stack: SynthesisedStack): { documents: PolicyDocument[]; unreadable: UnreadablePolicy[] } {
  const unreadable: UnreadablePolicy[] = [];
  const documents = new Map<Block, PolicyDocument>();
  /** Policies written as JSON text in a resource attribute, one per attribute. */
  const written: PolicyDocument[] = [];
  for (const block of stack.dataSources("aws_iam_policy_document")) {
    const body = block.body as Record<string, unknown>;
    const merged = MERGING_ARGUMENTS.filter((argument) => isSet(body[argument]));
    if (merged.length > 0) unreadable.push({ block, reason: `it merges other documents (${merged.join(", ")}), known only at plan time` });
    documents.set(block, { block, statements: list(body.statement).map(fromDocumentBlock), uses: new Set() });
  }

  for (const block of stack.blocks.filter((candidate) => candidate.kind === "resource")) {
    const body = block.body as Record<string, unknown>;
    const values = (POLICY_ATTRIBUTES[block.type] ?? []).map(({ attribute, use }) => ({ attribute, use, value: body[attribute] }));
    if (block.type === "aws_iam_role") {
      list(body.inline_policy).forEach((inline, index) => values.push({ attribute: `inline_policy[${index}].policy`, use: "identity", value: inline.policy }));
    }
    for (const { attribute, use, value } of values) {
      if (!isSet(value)) continue;
      const text = String(value);
      const reference = DOCUMENT_REFERENCE.exec(text);
      if (reference) {
        const referenced = stack.block(`data.aws_iam_policy_document.${reference[1]}`);
        if (referenced) documents.get(referenced)?.uses.add(use);
        continue;
      }
      const parsed = parsePolicyJson(text);
      if (parsed) written.push({ block, statements: parsed, uses: new Set([use]) });
      else unreadable.push({ block, reason: `${attribute} is neither a reference to an aws_iam_policy_document nor policy JSON` });
    }
  }
  return { documents: [...documents.values(), ...written], unreadable };
}

/** The statements of policy JSON text, or undefined when the text is not a policy (e.g. a `jsonencode(...)` call). */
function parsePolicyJson(text: string): PolicyStatement[] | undefined {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (policy === null || typeof policy !== "object" || !("Statement" in policy)) return undefined;
  return list((policy as { Statement: unknown }).Statement).map(fromPolicyJson);
}

function fromDocumentBlock(statement: Record<string, any>): PolicyStatement {
  return {
    sid: statement.sid,
    effect: statement.effect === "Deny" ? "Deny" : "Allow",
    actions: strings(statement.actions),
    notActions: strings(statement.not_actions),
    resources: strings(statement.resources),
    notResources: strings(statement.not_resources),
    principals: [...list(statement.principals), ...list(statement.not_principals)].map((principal) => ({ type: String(principal.type), identifiers: strings(principal.identifiers) })),
    conditions: list(statement.condition).map((condition) => ({ test: String(condition.test), variable: String(condition.variable), values: strings(condition.values) })),
  };
}

function fromPolicyJson(statement: Record<string, any>): PolicyStatement {
  const principals = (principal: unknown) =>
    principal === "*"
      ? [{ type: "*", identifiers: ["*"] }]
      : Object.entries((principal ?? {}) as Record<string, unknown>).map(([type, identifiers]) => ({ type, identifiers: strings(identifiers) }));
  return {
    sid: statement.Sid,
    effect: statement.Effect === "Deny" ? "Deny" : "Allow",
    actions: strings(statement.Action),
    notActions: strings(statement.NotAction),
    resources: strings(statement.Resource),
    notResources: strings(statement.NotResource),
    principals: [...principals(statement.Principal), ...principals(statement.NotPrincipal)],
    conditions: Object.entries((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(([test, byKey]) =>
      Object.entries(byKey).map(([variable, values]) => ({ test, variable, values: strings(values) })),
    ),
  };
}

function strings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** How a statement is named in a message. */
export function statementName(statement: PolicyStatement, index: number): string {
  return statement.sid ? `statement "${statement.sid}"` : `statement ${index + 1}`;
}

/** The statements of a policy attribute's text: the referenced `aws_iam_policy_document`'s, or the JSON's. */
export function policyStatements(stack: SynthesisedStack, text: unknown): PolicyStatement[] | undefined {
  if (!isSet(text)) return undefined;
  const reference = DOCUMENT_REFERENCE.exec(String(text));
  if (!reference) return parsePolicyJson(String(text));
  const document = stack.block(`data.aws_iam_policy_document.${reference[1]}`);
  return document ? list((document.body as Record<string, unknown>).statement).map(fromDocumentBlock) : undefined;
}
