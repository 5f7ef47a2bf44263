import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { AutomationAccessKey } from "../../modules/contracts/secrets";
import "./zod-locale";
import { ClusterAccess } from "./cluster";

// `satisfies` ties the schema to the document the servers write: a key missing from it, or one it lacks, fails to compile.
const AccessSchema = z.object({
  server: z.url(),
  caData: z.string().check(z.minLength(1)),
  token: z.string().check(z.minLength(1)),
} satisfies Record<AutomationAccessKey, z.ZodMiniType<string>>);

/** Reads the access the servers publish. */
export async function readClusterAccess(secrets: SecretsManagerClient, secretArn: string): Promise<ClusterAccess> {
  const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  return parseClusterAccess(secretArn, response.SecretString);
}

/** The automation-access document of secret `secretArn`; a missing or malformed one is reported without its content. */
export function parseClusterAccess(secretArn: string, secretString: string | undefined): ClusterAccess {
  if (!secretString) throw new Error(`secret ${secretArn} has no value yet: the servers publish it once the API is up`);
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  const parsed = AccessSchema.safeParse(value);
  if (!parsed.success) throw new Error(`secret ${secretArn} lacks ${parsed.error.issues.map((issue) => issue.path.join(".")).join(", ")}`);
  return parsed.data;
}
