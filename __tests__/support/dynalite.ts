import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AddressInfo } from "net";
// dynalite is a DynamoDB implementation on an in-memory store, started on loopback for the test.
import dynalite from "dynalite";
import { STATE_TABLE_PARTITION_KEY } from "../../lambdas/autoscaler/table";

/** The key schema of a table in the synthesised aws_dynamodb_table's own terms (hash_key and attribute). */
export interface TableKeySchema {
  readonly hashKey: string;
  readonly attribute: readonly { readonly name: string; readonly type: "S" | "N" | "B" }[];
}

/** The key the construct gives the state table (modules/automation, from lambdas/autoscaler/table.ts). */
export const STATE_TABLE_KEY_SCHEMA: TableKeySchema = { hashKey: STATE_TABLE_PARTITION_KEY, attribute: [{ name: STATE_TABLE_PARTITION_KEY, type: "S" }] };

export interface LocalDynamo {
  readonly client: DynamoDBClient;
  readonly table: string;
  stop(): Promise<void>;
}

/** A dynalite server with one empty table of `schema` (lock.test.ts also runs it with the synthesised table's schema). */
export async function startDynamo(table = "k3s-autoscaler", schema: TableKeySchema = STATE_TABLE_KEY_SCHEMA): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: schema.hashKey, KeyType: "HASH" }],
      AttributeDefinitions: schema.attribute.map(({ name, type }) => ({ AttributeName: name, AttributeType: type })),
    }),
  );
  // dynalite answers CreateTable with CREATING and turns the table ACTIVE on a timer (createTableMs); until then every
  // item call is refused with ResourceNotFoundException, which a loaded machine makes visible.
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === "ACTIVE") break;
    if (attempt === 500) throw new Error(`dynalite table ${table} still ${Table?.TableStatus} after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    client,
    table,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
