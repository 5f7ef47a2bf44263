import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from "http";
import { createServer, Server } from "https";
import { AddressInfo } from "net";
import { cachedWebhookUrl, readWebhookUrl } from "../lambdas/slack-forwarder/secret";
import { postToSlack, SlackUnavailableError } from "../lambdas/slack-forwarder/webhook";
import { selfSignedCertificate } from "./support/fake-kube-api";

/**
 * The forwarder's two calls against loopback endpoints: the webhook POST over real TLS (a throwaway certificate the
 * client is told to trust, as the kubeconfig and cluster tests do), answering as Slack does (Slack changelog
 * 2016-05-17, "Improving error conditions for Incoming Webhooks": error strings in the body with 400, 403, 404, 410,
 * 500; 429 when rate limited), and GetSecretValue against a loopback Secrets Manager speaking AWS JSON 1.1.
 */

const certificate = selfSignedCertificate();
type Answer = { status: number; body: string } | "hang";
let answer: Answer;
let received: { method?: string; path?: string; contentType?: string; body: string }[];
let slack: Server;
let url: string;

beforeAll(async () => {
  slack = createServer({ cert: certificate.cert, key: certificate.key }, (request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ method: request.method, path: request.url, contentType: request.headers["content-type"], body });
      if (answer === "hang") return;
      response.writeHead(answer.status, { "Content-Type": "text/html" });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/XXXX`;
});
afterAll(() => {
  slack.closeAllConnections();
  return new Promise<void>((resolve) => slack.close(() => resolve()));
});
beforeEach(() => {
  received = [];
  answer = { status: 200, body: "ok" };
});

const post = (timeoutMs = 2000) => postToSlack(url, { text: "*k3s*: hello" }, { timeoutMs, ca: certificate.cert });

describe("webhook call", () => {
  test("200: the message is POSTed as JSON to the webhook's path over verified TLS", async () => {
    await expect(post()).resolves.toEqual({ posted: true });
    expect(received).toEqual([{ method: "POST", path: "/services/T000/B000/XXXX", contentType: "application/json", body: '{"text":"*k3s*: hello"}' }]);
  });

  test.each([
    [400, "invalid_payload"],
    [403, "action_prohibited"],
    [404, "no_service"],
    [404, "channel_not_found"],
    [410, "channel_is_archived"],
  ])("%s %s: a refusal a retry cannot fix, returned with Slack's error, not thrown", async (status, error) => {
    answer = { status, body: error };
    await expect(post()).resolves.toEqual({ posted: false, status, error });
  });

  test.each([
    [429, "rate_limited"],
    [500, "rollup_error"],
    [503, "service unavailable"],
  ])("%s %s: thrown, for Lambda to retry", async (status, body) => {
    answer = { status, body };
    const failure = post();
    await expect(failure).rejects.toThrow(SlackUnavailableError);
    await expect(failure).rejects.toThrow(`Slack answered ${status} (${body}); retried by Lambda`);
  });

  test("no answer within the timeout: thrown, naming the timeout and not the URL", async () => {
    answer = "hang";
    const failure = post(300);
    await expect(failure).rejects.toThrow("Slack webhook call failed: no answer within 300 ms");
    await expect(failure).rejects.not.toThrow("/services/");
  });

  test("a certificate the client does not trust is a network error, thrown (TLS is verified, not skipped)", async () => {
    await expect(postToSlack(url, { text: "x" }, { timeoutMs: 2000 })).rejects.toThrow(SlackUnavailableError);
    expect(received).toEqual([]);
  });

  test("nothing listening: thrown as a network error", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createHttpServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    await expect(postToSlack(`https://127.0.0.1:${closed}/services/T/B/X`, { text: "x" }, { timeoutMs: 2000, ca: certificate.cert })).rejects.toThrow(/Slack webhook call failed: connect ECONNREFUSED/);
  });
});

describe("webhook secret (loopback Secrets Manager, AWS JSON 1.1)", () => {
  const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/slack-webhook-AbCdEf";
  const WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
  let secretsServer: HttpServer;
  let secretAnswer: { status: number; body: Record<string, unknown> };
  let calls: { target?: string; body: Record<string, unknown> }[];
  let client: SecretsManagerClient;

  beforeAll(async () => {
    secretsServer = createHttpServer((request, response) => {
      let text = "";
      request.on("data", (chunk) => (text += chunk));
      request.on("end", () => {
        calls.push({ target: request.headers["x-amz-target"] as string | undefined, body: JSON.parse(text || "{}") });
        response.writeHead(secretAnswer.status, { "Content-Type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(secretAnswer.body));
      });
    });
    await new Promise<void>((resolve) => secretsServer.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(secretsServer.address() as AddressInfo).port}`;
    client = new SecretsManagerClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  });
  afterAll(() => new Promise<void>((resolve) => secretsServer.close(() => resolve())));
  beforeEach(() => {
    calls = [];
    secretAnswer = { status: 200, body: { ARN: SECRET_ARN, Name: "k3s/slack-webhook", SecretString: `${WEBHOOK}\n`, VersionId: "v1", VersionStages: ["AWSCURRENT"] } };
  });

  test("reads the secret by its ARN and returns the trimmed URL", async () => {
    await expect(readWebhookUrl(client, SECRET_ARN)).resolves.toBe(WEBHOOK);
    expect(calls).toEqual([{ target: "secretsmanager.GetSecretValue", body: { SecretId: SECRET_ARN } }]);
  });

  test("a secret without a value names the secret and the fix", async () => {
    secretAnswer = { status: 400, body: { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" } };
    await expect(readWebhookUrl(client, SECRET_ARN)).rejects.toThrow(`Slack webhook secret ${SECRET_ARN} has no value: store the incoming-webhook URL in it`);
  });

  test("access denied is reported as unreadable, with the service's message", async () => {
    secretAnswer = { status: 400, body: { __type: "AccessDeniedException", Message: "not authorized to perform: secretsmanager:GetSecretValue" } };
    await expect(readWebhookUrl(client, SECRET_ARN)).rejects.toThrow(`Slack webhook secret ${SECRET_ARN} could not be read: not authorized to perform: secretsmanager:GetSecretValue`);
  });

  test.each([
    ["not a URL", "xoxb-not-a-url", "is not a URL"],
    ["http", "http://hooks.slack.com/services/T/B/X", "is a http URL, not https"],
    ["another host", "https://hooks.example.com/services/T/B/X", "is not on hooks.slack.com"],
    ["a workflow trigger", "https://hooks.slack.com/triggers/T/1/x", "is not an incoming-webhook URL"],
  ])("a value that is %s is refused, without echoing it", async (_name, value, problem) => {
    secretAnswer = { status: 200, body: { ARN: SECRET_ARN, SecretString: value, VersionStages: ["AWSCURRENT"] } };
    const failure = readWebhookUrl(client, SECRET_ARN);
    await expect(failure).rejects.toThrow(`Slack webhook secret ${SECRET_ARN} ${problem}`);
    await expect(failure).rejects.not.toThrow(value);
  });

  test("the URL is read once per TTL per container, again after the TTL or after forget()", async () => {
    let now = 1_000_000;
    const source = cachedWebhookUrl(client, SECRET_ARN, () => now, 60_000);
    expect(await source.get()).toBe(WEBHOOK);
    now += 59_999;
    expect(await source.get()).toBe(WEBHOOK);
    expect(calls).toHaveLength(1);
    now += 1;
    await source.get();
    expect(calls).toHaveLength(2);
    source.forget();
    await source.get();
    expect(calls).toHaveLength(3);
  });

  test("a failed read is not cached: the next call reads again", async () => {
    const source = cachedWebhookUrl(client, SECRET_ARN, () => 0);
    secretAnswer = { status: 400, body: { __type: "ResourceNotFoundException", Message: "no value" } };
    await expect(source.get()).rejects.toThrow("has no value");
    secretAnswer = { status: 200, body: { ARN: SECRET_ARN, SecretString: WEBHOOK, VersionStages: ["AWSCURRENT"] } };
    await expect(source.get()).resolves.toBe(WEBHOOK);
    expect(calls).toHaveLength(2);
  });
});
