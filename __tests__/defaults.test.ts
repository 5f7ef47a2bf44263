import { ConfigInput } from "../config/schema";
import { resourceNamed, resourcesOf, synthCluster } from "./helpers";

/**
 * Defaults that depend on the environment are resolved once, in config; the constructs have none of their own. Each
 * environment's synthesised cluster must therefore show what the README's configuration table promises.
 */

// README, "Configuration": database.multiAz is true in prod, else false; dev relaxes deletion protection.
const ENVIRONMENTS = [
  { environment: "dev", multiAz: false, protectData: false },
  { environment: "staging", multiAz: false, protectData: true },
  { environment: "prod", multiAz: true, protectData: true },
] as const;

describe.each(ENVIRONMENTS)("$environment", ({ environment, multiAz, protectData }) => {
  const { config, json } = synthCluster({ environment });
  const instance = resourceNamed(json, "aws_db_instance", "Database_Instance");

  test("config resolves the database standby and data protection as documented", () => {
    expect({ multiAz: config.database.multiAz, protectData: config.protectData }).toEqual({ multiAz, protectData });
  });

  test("the database has a standby exactly when config says so", () => {
    expect(instance.multi_az).toBe(multiAz);
  });

  test("every data-holding resource is protected exactly when config says so", () => {
    expect(instance).toMatchObject({ deletion_protection: protectData, skip_final_snapshot: !protectData, lifecycle: { prevent_destroy: protectData } });
    expect(resourceNamed(json, "aws_efs_file_system", "Storage_FileSystem").lifecycle).toEqual({ prevent_destroy: protectData });
    const loadBalancers = resourcesOf(json, "aws_lb");
    expect(loadBalancers.length).toBeGreaterThan(0);
    for (const [id, lb] of loadBalancers) expect({ id, protection: lb.enable_deletion_protection }).toEqual({ id, protection: protectData });
    for (const [id, secret] of resourcesOf(json, "aws_secretsmanager_secret")) {
      expect({ id, deletedAtOnce: secret.recovery_window_in_days === 0 }).toEqual({ id, deletedAtOnce: !protectData });
    }
  });

  // README, "Backups": on unless dev, whose clusters are throwaway.
  test("the daily backup plan and its vault exist exactly outside dev, and are protected from destroy", () => {
    expect(config.backups.enabled).toBe(protectData);
    expect(resourcesOf(json, "aws_backup_plan")).toHaveLength(protectData ? 1 : 0);
    for (const [id, vault] of resourcesOf(json, "aws_backup_vault")) expect({ id, lifecycle: vault.lifecycle }).toEqual({ id, lifecycle: { prevent_destroy: true } });
  });
});

test.each<[string, ConfigInput, boolean]>([
  ["prod without a standby", { environment: "prod", database: { multiAz: false } }, false],
  ["dev with a standby", { environment: "dev", database: { multiAz: true } }, true],
])("an explicit database.multiAz wins over the environment's default: %s", (_, input, multiAz) => {
  const { config, json } = synthCluster(input);
  expect(config.database.multiAz).toBe(multiAz);
  expect(resourceNamed(json, "aws_db_instance", "Database_Instance").multi_az).toBe(multiAz);
});

test("log retention of the database, flow logs and functions each follows its own config field", () => {
  const { json } = synthCluster({ database: { logRetentionDays: 14 }, network: { flowLogRetentionDays: 60 }, automation: { logRetentionDays: 7 } });
  const retention = Object.fromEntries(resourcesOf(json, "aws_cloudwatch_log_group").map(([, group]) => [group.name, group.retention_in_days]));
  expect(retention).toEqual({
    "/aws/rds/instance/k3s-datastore/postgresql": 14,
    "/aws/rds/instance/k3s-datastore/upgrade": 14,
    "/aws/vpc/k3s/flow-logs": 60,
    "/aws/lambda/k3s-autoscaler": 7,
    "/aws/lambda/k3s-node-drainer": 7,
  });
});
