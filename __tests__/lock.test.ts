import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoLock, StateStore } from "../lambdas/autoscaler/store";
import { resourceNamed, synthCluster } from "./helpers";
import { LocalDynamo, startDynamo } from "./support/dynalite";

const NOW = 1_700_000_000_000;
const TTL = 5 * 60_000;

describe("DynamoDB lock (against dynalite)", () => {
  let dynamo: LocalDynamo;
  beforeEach(async () => {
    dynamo = await startDynamo();
  });
  afterEach(() => dynamo.stop());

  test("of 20 concurrent acquirers exactly one wins", async () => {
    const lock = new DynamoLock(dynamo.client, dynamo.table);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => lock.acquire(`run-${i}`, NOW, TTL)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test("a held lock refuses others until it expires, then is taken over", async () => {
    const lock = new DynamoLock(dynamo.client, dynamo.table);
    expect(await lock.acquire("first", NOW, TTL)).toBe(true);
    expect(await lock.acquire("second", NOW + TTL - 1, TTL)).toBe(false);
    expect(await lock.acquire("second", NOW + TTL + 1, TTL)).toBe(true);
    expect(await lock.acquire("first", NOW + TTL + 2, TTL)).toBe(false);
  });

  test("release frees the lock for the next run, and never frees another owner's", async () => {
    const lock = new DynamoLock(dynamo.client, dynamo.table);
    expect(await lock.acquire("first", NOW, TTL)).toBe(true);
    await lock.release("intruder");
    expect(await lock.acquire("second", NOW + 1, TTL)).toBe(false);
    await lock.release("first");
    expect(await lock.acquire("second", NOW + 2, TTL)).toBe(true);
  });

  test("state round-trips, and an empty table gives a fresh state", async () => {
    const store = new StateStore(dynamo.client, dynamo.table);
    expect(await store.load()).toEqual({ lastScaleUpAt: undefined, underutilizedSince: {} });
    await store.save({ lastScaleUpAt: NOW, underutilizedSince: { "ip-10-0-1-10": NOW - 60_000 } });
    expect(await store.load()).toEqual({ lastScaleUpAt: NOW, underutilizedSince: { "ip-10-0-1-10": NOW - 60_000 } });
  });
});

describe("the state table Terraform creates is the table the store writes", () => {
  const table = resourceNamed(synthCluster().json, "aws_dynamodb_table", "Automation_AutoscalerTable");

  test("every item the store writes has the synthesised table's key, and the lock and decisions its TTL in epoch seconds", async () => {
    // Built from the synthesised hash_key and attributes: a write without that key is refused (ValidationException).
    const dynamo = await startDynamo(table.name, { hashKey: table.hash_key, attribute: table.attribute });
    try {
      const store = new StateStore(dynamo.client, dynamo.table);
      expect(await new DynamoLock(dynamo.client, dynamo.table).acquire("run-1", NOW, TTL)).toBe(true);
      await store.save({ lastScaleUpAt: NOW, underutilizedSince: {} });
      await store.recordDecision({ action: "none", reason: "nothing pending" }, NOW, "run-1");
      const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.table }));
      expect(Items).toHaveLength(3);
      const expiry = (item: (typeof Items)[number]) => item[table.ttl.attribute_name];
      const byKey = Object.fromEntries(Items.map((item) => [item[table.hash_key].S!.split("#")[1], item]));
      expect(Object.keys(byKey).sort()).toEqual(["decision", "lock", "state"]);
      // DynamoDB's TTL expires an item by a Number attribute in epoch seconds; one in milliseconds would never expire.
      const nowSeconds = NOW / 1000;
      for (const kind of ["lock", "decision"]) {
        expect(expiry(byKey[kind])).toEqual({ N: expect.stringMatching(/^\d+$/) });
        expect(Number(expiry(byKey[kind]).N)).toBeGreaterThan(nowSeconds);
        expect(Number(expiry(byKey[kind]).N)).toBeLessThanOrEqual(nowSeconds + 8 * 24 * 3600);
      }
      // The scale times must outlive every decision record.
      expect(expiry(byKey.state)).toBeUndefined();
    } finally {
      await dynamo.stop();
    }
  });
});
