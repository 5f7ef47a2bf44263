import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AddressInfo } from "net";
// dynalite is a DynamoDB implementation on an in-memory store, started on loopback for the test.
import dynalite from "dynalite";

export interface LocalDynamo {
  readonly client: DynamoDBClient;
  readonly table: string;
  stop(): Promise<void>;
}

export async function startDynamo(table = "k3s-autoscaler"): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await client.send(
    new CreateTableCommand({ TableName: table, BillingMode: "PAY_PER_REQUEST", KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }], AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }] }),
  );
  return {
    client,
    table,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
