import { Token } from "cdktf";

/**
 * User text as a literal Terraform string: Terraform reads "${" and "%{" in any string as an expression, so a tag
 * value or key comment of "${random_password.x.result}" would copy a secret. Text that cdktf would read as one of its
 * own token markers is refused: it cannot be told apart from a reference once synthesised.
 */
export function terraformLiteral(text: string): string {
  if (Token.isUnresolved(text)) throw new Error(`terraformLiteral: "${text}" holds a cdktf token; user text must be plain`);
  return text.replace(/[$%]\{/g, (opening) => `${opening[0]}${opening}`);
}
