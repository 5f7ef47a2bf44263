import { TerraformBackend, TerraformElement, TerraformProvider, TerraformStack } from "cdktf";

export type BlockKind = "resource" | "data" | "local" | "output" | "provider" | "backend";

/** One top-level block of the synthesised JSON, with the construct that wrote it. */
export interface Block {
  readonly kind: BlockKind;
  /** What Terraform calls it: `aws_s3_bucket.X`, `data.aws_iam_policy_document.X`, `local.X`, `output.X`, `provider.aws`. */
  readonly address: string;
  /** Resource or data source type; the provider's or backend's name; "local" or "output". */
  readonly type: string;
  /** Logical ID (the key under its type). */
  readonly id: string;
  readonly body: unknown;
  /** The construct that synthesised the block, when there is one. */
  readonly element?: TerraformElement;
  /** The construct's path, or the address when no construct owns the block. */
  readonly path: string;
}

/** A string somewhere in a block, with the keys and indexes that lead to it. */
export interface StringValue {
  readonly keys: (string | number)[];
  readonly value: string;
}

/** `aws_x.<id>.attribute` or `data.aws_x.<id>.attribute` inside any Terraform string. */
const REFERENCE = /\b(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)\.([a-z_][a-z0-9_]*)/g;

/**
 * The stack as Terraform gets it (`TerraformStack.toTerraform()`, overrides and escape hatches applied), read block by
 * block. Every block knows the construct that wrote it, so a finding can name a construct path and an exemption on
 * that construct can waive it.
 */
export class SynthesisedStack {
  public readonly blocks: Block[] = [];
  private readonly byAddress = new Map<string, Block>();

  constructor(public readonly stack: TerraformStack) {
    const json = stack.toTerraform() as Record<string, any>;
    const elements = new Map<string, TerraformElement>();
    for (const node of stack.node.findAll()) {
      if (TerraformElement.isTerraformElement(node) && node.cdktfStack === stack) elements.set(node.friendlyUniqueId, node);
    }
    const add = (kind: BlockKind, address: string, type: string, id: string, body: unknown, element: TerraformElement | undefined) => {
      const block: Block = { kind, address, type, id, body: withoutMetadata(body), element, path: element?.node.path ?? address };
      this.blocks.push(block);
      this.byAddress.set(address, block);
    };
    for (const [type, byId] of Object.entries<Record<string, unknown>>(json.resource ?? {})) {
      for (const [id, body] of Object.entries(byId)) add("resource", `${type}.${id}`, type, id, body, elements.get(id));
    }
    for (const [type, byId] of Object.entries<Record<string, unknown>>(json.data ?? {})) {
      for (const [id, body] of Object.entries(byId)) add("data", `data.${type}.${id}`, type, id, body, elements.get(id));
    }
    for (const [id, body] of Object.entries(json.locals ?? {})) add("local", `local.${id}`, "local", id, body, elements.get(id));
    for (const [id, body] of Object.entries(json.output ?? {})) add("output", `output.${id}`, "output", id, body, elements.get(id));
    const constructs = stack.node.findAll();
    for (const [name, configs] of Object.entries<unknown[]>(json.provider ?? {})) {
      const provider = constructs.find((node): node is TerraformProvider => TerraformProvider.isTerraformProvider(node) && node.terraformResourceType === name);
      configs.forEach((config, index) => add("provider", `provider.${name}[${index}]`, name, String(index), config, provider));
    }
    for (const [name, config] of Object.entries(json.terraform?.backend ?? {})) {
      const backend = constructs.find((node): node is TerraformBackend => TerraformBackend.isBackend(node));
      add("backend", `terraform.backend.${name}`, name, name, config, backend);
    }
  }

  /** Resources of one type. */
  resources(type: string): Block[] {
    return this.blocks.filter((block) => block.kind === "resource" && block.type === type);
  }

  /** Data sources of one type. */
  dataSources(type: string): Block[] {
    return this.blocks.filter((block) => block.kind === "data" && block.type === type);
  }

  block(address: string): Block | undefined {
    return this.byAddress.get(address);
  }

  /** The blocks of `type` (a resource type, or `data.<type>`) that a string refers to, e.g. `${aws_s3_bucket.X.id}`. */
  referencedBlocks(text: unknown, type: string): Block[] {
    if (typeof text !== "string") return [];
    const found: Block[] = [];
    for (const match of expressions(text).join("\n").matchAll(REFERENCE)) {
      const [, data, refType, id] = match;
      if ((data ? `data.${refType}` : refType) !== type) continue;
      const block = this.block(`${data ? "data." : ""}${refType}.${id}`);
      if (block && !found.includes(block)) found.push(block);
    }
    return found;
  }

  /** Whether any string in `body` refers to `target`. */
  refersTo(body: unknown, target: Block): boolean {
    const prefix = `${target.address}.`;
    return strings(body).some(({ value }) => expressions(value).some((expression) => expression.includes(prefix)));
  }
}

/**
 * The `${...}` expressions in a Terraform string, in order. An escaped `$${` is a literal "${" (Terraform language,
 * "Strings and Templates"), so the text after it is no expression.
 */
export function expressions(text: string): string[] {
  const found: string[] = [];
  let start = text.indexOf("${");
  while (start !== -1) {
    if (start > 0 && text[start - 1] === "$") {
      start = text.indexOf("${", start + 2);
      continue;
    }
    let depth = 1;
    let end = start + 2;
    let quoted = false;
    for (; end < text.length && depth > 0; end++) {
      const char = text[end];
      if (quoted) {
        if (char === "\\") end++;
        else if (char === '"') quoted = false;
      } else if (char === '"') quoted = true;
      else if (char === "{") depth++;
      else if (char === "}") depth--;
    }
    found.push(text.slice(start + 2, end - 1));
    start = text.indexOf("${", end);
  }
  return found;
}

/** Every string in a JSON value, depth first, with its key path. */
export function strings(value: unknown, keys: (string | number)[] = []): StringValue[] {
  if (typeof value === "string") return [{ keys, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, [...keys, index]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([key, item]) => strings(item, [...keys, key]));
  return [];
}

/** A nested block as a list: cdktf writes single blocks as objects and repeated ones as arrays. */
export function list(value: unknown): Record<string, any>[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((item): item is Record<string, any> => item !== null && typeof item === "object");
}

/** A literal `true`: booleans, and the "true" strings some provider attributes take (launch template EBS flags). */
export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** A value Terraform takes literally: no `${...}` expression in it. */
export function isLiteral(value: unknown): value is string {
  return typeof value === "string" && expressions(value).length === 0;
}

/** A non-empty value, literal or reference. */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function withoutMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "//").map(([key, item]) => [key, withoutMetadata(item)]));
  }
  return value;
}
