import { DynamoLock, StateStore } from "../lambdas/autoscaler/store";
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
    expect(await store.load()).toEqual({ lastScaleUpAt: undefined, lastScaleDownAt: undefined, underutilizedSince: {} });
    await store.save({ lastScaleUpAt: NOW, underutilizedSince: { "ip-10-0-1-10": NOW - 60_000 } });
    expect(await store.load()).toEqual({ lastScaleUpAt: NOW, lastScaleDownAt: undefined, underutilizedSince: { "ip-10-0-1-10": NOW - 60_000 } });
  });
});
