import type { LabelSelector, LabelSelectorRequirement, NodeSelectorRequirement, NodeSelectorTerm } from "./kube-model";

/**
 * Whether labels satisfy a label selector (apimachinery labels.Selector semantics): every matchLabels pair and every
 * matchExpressions requirement must hold; an empty selector matches everything. A null selector matches nothing,
 * as policy/v1 PodDisruptionBudget reads it.
 */
export function matchesLabelSelector(labels: Readonly<Record<string, string>>, selector: LabelSelector | null | undefined): boolean {
  if (!selector) return false;
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return pairs && (selector.matchExpressions ?? []).every((requirement) => matchesRequirement(labels, requirement));
}

function matchesRequirement(labels: Readonly<Record<string, string>>, requirement: LabelSelectorRequirement | NodeSelectorRequirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, requirement.key);
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return has && values.includes(value);
    case "NotIn":
      return !has || !values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      // core/v1 NodeSelectorRequirement: a single integer value; a label that is not an integer does not match.
      // "Integer" as apimachinery's labels.Requirement.Matches parses it: strconv.ParseInt(s, 10, 64), sign allowed.
      if (!has || values.length !== 1 || !/^[+-]?\d+$/.test(value) || !/^[+-]?\d+$/.test(values[0])) return false;
      return requirement.operator === "Gt" ? Number(value) > Number(values[0]) : Number(value) < Number(values[0]);
    }
  }
}

/**
 * Whether a node matches required node affinity: any one term (ORed), each term's requirements ANDed. A term with no
 * requirements matches no node (core/v1 NodeSelectorTerm). matchFields supports metadata.name only.
 */
export function matchesNodeSelectorTerms(node: { readonly name?: string; readonly labels: Readonly<Record<string, string>> }, terms: NodeSelectorTerm[] | undefined): boolean {
  if (terms === undefined) return true;
  return terms.some((term) => {
    const expressions = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (expressions.length === 0 && fields.length === 0) return false;
    const fieldLabels: Record<string, string> = node.name === undefined ? {} : { "metadata.name": node.name };
    return expressions.every((requirement) => matchesRequirement(node.labels, requirement)) && fields.every((requirement) => matchesRequirement(fieldLabels, requirement));
  });
}
