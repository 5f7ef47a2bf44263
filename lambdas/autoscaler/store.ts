import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Decision, ScalerState } from "./decide";
import { STATE_TABLE_PARTITION_KEY as PK, STATE_TABLE_TTL_ATTRIBUTE as TTL } from "./table";

const STATE_KEY = "autoscaler#state";
const LOCK_KEY = "autoscaler#lock";
/** Decision records expire on their own (the table's TTL attribute). */
const DECISION_RETENTION_SECONDS = 7 * 24 * 3600;

/** The run's lease: of overlapping runs exactly one acquires it; an expired lease is taken over. */
export interface RunLock {
  acquire(owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Releases the lease if this owner still holds it; another owner's lease is left alone. */
  release(owner: string): Promise<void>;
}

/** Where a run finds what earlier runs remembered, and leaves its own decision. */
export interface ScalerStateStore {
  load(): Promise<ScalerState>;
  save(state: ScalerState): Promise<void>;
  recordDecision(decision: Decision, now: number, owner: string): Promise<void>;
}

/**
 * A lease in DynamoDB: a conditional write succeeds only when no unexpired lease exists, so of any number of
 * overlapping invocations exactly one acts; a lease left by a crashed run expires and is taken over.
 */
export class DynamoLock implements RunLock {
  constructor(private readonly client: DynamoDBClient, private readonly table: string, private readonly key = LOCK_KEY) {}

  async acquire(owner: string, now: number, ttlMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { [PK]: { S: this.key }, holder: { S: owner }, expiresAt: { N: String(now + ttlMs) }, [TTL]: { N: String(Math.ceil((now + ttlMs) / 1000) + 3600) } },
          ConditionExpression: "attribute_not_exists(#pk) OR expiresAt < :now",
          ExpressionAttributeNames: { "#pk": PK },
          ExpressionAttributeValues: { ":now": { N: String(now) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Releases the lease if this owner still holds it; another owner's lease is left alone. */
  async release(owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { [PK]: { S: this.key } },
          ConditionExpression: "holder = :owner",
          ExpressionAttributeValues: { ":owner": { S: owner } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

/** Scale times, per-node underutilization and recent decisions, in the same table as the lock. */
export class StateStore implements ScalerStateStore {
  constructor(private readonly client: DynamoDBClient, private readonly table: string) {}

  async load(): Promise<ScalerState> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [PK]: { S: STATE_KEY } }, ConsistentRead: true }));
    const number = (value?: { N?: string }) => (value?.N === undefined ? undefined : Number(value.N));
    let underutilizedSince: Record<string, number> = {};
    try {
      underutilizedSince = Item?.underutilizedSince?.S ? JSON.parse(Item.underutilizedSince.S) : {};
    } catch {
      // A damaged record only restarts the underutilization windows.
    }
    return { lastScaleUpAt: number(Item?.lastScaleUpAt), lastScaleDownFailureAt: number(Item?.lastScaleDownFailureAt), underutilizedSince };
  }

  async save(state: ScalerState): Promise<void> {
    const item: Record<string, { S: string } | { N: string }> = { [PK]: { S: STATE_KEY }, underutilizedSince: { S: JSON.stringify(state.underutilizedSince) } };
    if (state.lastScaleUpAt !== undefined) item.lastScaleUpAt = { N: String(state.lastScaleUpAt) };
    if (state.lastScaleDownFailureAt !== undefined) item.lastScaleDownFailureAt = { N: String(state.lastScaleDownFailureAt) };
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: item }));
  }

  async recordDecision(decision: Decision, now: number, owner: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          [PK]: { S: `autoscaler#decision#${new Date(now).toISOString()}#${owner}` },
          decision: { S: JSON.stringify(decision) },
          [TTL]: { N: String(Math.floor(now / 1000) + DECISION_RETENTION_SECONDS) },
        },
      }),
    );
  }
}
