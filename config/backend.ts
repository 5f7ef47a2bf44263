import { existsSync } from "fs";
import { z } from "zod";
import { loadConfig, readJsonFile } from "./load";
import { ClusterConfig, ConfigError } from "./resolve";

/** Settings of the S3 backend, as written in backend.tf.json (Terraform's own argument names). */
const S3BackendFileSchema = z.strictObject({
  terraform: z.strictObject({
    backend: z.strictObject({
      s3: z.strictObject({
        bucket: z.string().min(3),
        key: z.string().min(1),
        region: z.string().min(1),
        /** DynamoDB lock table: deprecated by Terraform 1.11 but still honoured; both may be set while migrating. */
        dynamodb_table: z.string().min(1).optional(),
        /** S3-native lock file, generally available since Terraform 1.11. */
        use_lockfile: z.boolean().optional(),
        encrypt: z.boolean().default(true),
        kms_key_id: z.string().optional(),
        workspace_key_prefix: z.string().optional(),
      }),
    }),
  }),
});

export type S3BackendSettings = z.output<typeof S3BackendFileSchema>["terraform"]["backend"]["s3"];

/** Reads backend.tf.json when present; undefined means local state. Throws ConfigError listing every problem. */
export function loadBackendSettings(path: string): S3BackendSettings | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = S3BackendFileSchema.safeParse(readJsonFile(path, "backend file"));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${path}: ${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`));
  }
  const s3 = parsed.data.terraform.backend.s3;
  const problems: string[] = [];
  if (!s3.dynamodb_table && !s3.use_lockfile) {
    problems.push(`${path}: terraform.backend.s3 needs dynamodb_table, use_lockfile: true, or both; state without a lock is unsafe`);
  }
  if (!s3.encrypt) problems.push(`${path}: terraform.backend.s3.encrypt must stay true; state holds secrets`);
  if (problems.length > 0) throw new ConfigError(problems);
  return s3;
}

/** The cluster config and the backend settings, with the problems of both files listed in one ConfigError. */
export function loadConfigAndBackend(env: NodeJS.ProcessEnv, backendPath: string): { config: ClusterConfig; backend: S3BackendSettings | undefined } {
  const problems: string[] = [];
  const collect = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const config = collect(() => loadConfig(env));
  const backend = collect(() => loadBackendSettings(backendPath));
  if (!config || problems.length > 0) throw new ConfigError(problems);
  return { config, backend };
}
