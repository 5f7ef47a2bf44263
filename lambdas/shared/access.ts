import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import "./zod-locale";
import { ClusterAccess } from "./cluster";

const AccessSchema = z.object({
  server: z.url(),
  caData: z.string().check(z.minLength(1)),
  token: z.string().check(z.minLength(1)),
});

/** Reads the access the servers publish; a missing or malformed secret is reported without its content. */
export async function readClusterAccess(secrets: SecretsManagerClient, secretArn: string): Promise<ClusterAccess> {
  const response = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!response.SecretString) throw new Error(`secret ${secretArn} has no value yet: the servers publish it once the API is up`);
  let value: unknown;
  try {
    value = JSON.parse(response.SecretString);
  } catch {
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  const parsed = AccessSchema.safeParse(value);
  if (!parsed.success) throw new Error(`secret ${secretArn} lacks ${parsed.error.issues.map((issue) => issue.path.join(".")).join(", ")}`);
  return parsed.data;
}
