/**
 * EventBridge's matching of an event against a rule's event pattern, for the subset this project's rules use. From the
 * EventBridge User Guide, "Event pattern syntax" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html):
 * the event must contain every field the pattern names, with the same nesting; a field's value to match is a JSON
 * array, and the field matches when it equals any of its values, exactly and case-sensitively; fields the pattern leaves
 * out are ignored. "Matching on multiple field values" (eb-event-patterns-arrays.html): when the event's value is itself
 * an array, the field matches when the two arrays share a value. "Content filtering" (eb-event-patterns-content-based-filtering.html):
 * `{"anything-but": [values]}` matches a field that is present with none of those values, and `"$or": [patterns]` at a
 * level matches when any one of the patterns does, together with the level's other fields. Other operators (prefix,
 * exists, numeric, ...) are refused rather than guessed.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error(`an event pattern is a JSON object: ${JSON.stringify(pattern)}`);
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    if (field === "$or") {
      if (!Array.isArray(expected) || expected.length < 2) throw new Error(`$or holds two or more patterns: ${JSON.stringify(expected)}`);
      return expected.some((alternative) => matchesEventPattern(alternative, event));
    }
    if (!(field in event)) return false;
    const actual = event[field];
    if (Array.isArray(expected)) {
      const conditions = expected.map((condition) => valueCondition(field, condition));
      return (Array.isArray(actual) ? actual : [actual]).some((value) => conditions.some((matches) => matches(value)));
    }
    if (isObject(expected)) return matchesEventPattern(expected, actual);
    throw new Error(`a pattern field holds an array of values or a nested pattern: ${field}: ${JSON.stringify(expected)}`);
  });
}

/** One entry of a field's array as a test of the event's value; an operator this matcher does not model throws. */
function valueCondition(field: string, condition: unknown): (value: unknown) => boolean {
  if (!isObject(condition)) return (value) => condition === value;
  const [operator, operand] = Object.entries(condition)[0] ?? [];
  if (Object.keys(condition).length === 1 && operator === "anything-but" && Array.isArray(operand) && operand.every((item) => typeof item === "string")) {
    // Any value that is present, null and numbers too (aws/event-ruler matches them so), other than those listed.
    return (value) => value !== undefined && !operand.includes(value as string);
  }
  throw new Error(`comparison operators other than anything-but of strings are not modelled: ${field}: ${JSON.stringify(condition)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A synthesised event_pattern as EventBridge receives it after apply: either JSON, or Terraform's
 * `${jsonencode({"key" = [...], ...})}` with each reference (type.logical_id.attribute) replaced by what `resolve`
 * gives for it. Only strings, references, arrays and objects are read; anything else is an error.
 */
export function appliedEventPattern(eventPattern: string, resolve: (reference: string) => string): unknown {
  const encoded = /^\$\{jsonencode\((.*)\)\}$/s.exec(eventPattern);
  if (!encoded) return JSON.parse(eventPattern);
  const hcl = encoded[1];
  let json = "";
  for (let at = 0; at < hcl.length; ) {
    const rest = hcl.slice(at);
    const token = /^"(?:[^"\\$%]|\\.)*"/.exec(rest) ?? /^[a-z][a-z0-9_]*\.[A-Za-z0-9_]+\.[a-z_]+/.exec(rest) ?? /^ = /.exec(rest) ?? /^(?:[[\]{}]|, )/.exec(rest);
    if (!token) throw new Error(`not modelled in a jsonencode argument: ${rest}`);
    const text = token[0];
    if (text.startsWith('"')) json += text;
    else if (text === " = ") json += ": ";
    else if (/^[a-z]/.test(text)) json += JSON.stringify(resolve(text));
    else json += text;
    at += text.length;
  }
  return JSON.parse(json);
}
