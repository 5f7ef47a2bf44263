import * as z from "zod/mini";
import "./zod-locale";

/**
 * What every function's environment holds beside its settings, for Node.js itself rather than the handler: stack traces
 * through the bundle's source maps (Node.js CLI docs, --enable-source-maps).
 */
export const RUNTIME_ENVIRONMENT = { NODE_OPTIONS: "--enable-source-maps" } as const;

/** Validates a function's environment, naming every missing or malformed variable. */
export function parseEnvironment<T extends z.core.$ZodLooseShape>(shape: T, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodMiniObject<T>> {
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  }
  return parsed.data;
}
