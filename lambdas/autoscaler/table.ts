/**
 * The autoscaler's state table as both sides see it, defined once: modules/automation creates the table with this key
 * and TTL attribute, and store.ts writes its items with them. No SDK here: the construct imports it at synth.
 */

/** The table's only key: a string partition key, no sort key. Every item (lock, state, decisions) sets it. */
export const STATE_TABLE_PARTITION_KEY = "pk";

/**
 * The attribute DynamoDB's TTL expires items by: a Number of epoch seconds (DynamoDB developer guide, "Using time to
 * live"), set on the lock and the decision records, never on the state.
 */
export const STATE_TABLE_TTL_ATTRIBUTE = "ttl";
