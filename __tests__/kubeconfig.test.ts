import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createServer, IncomingMessage, Server } from "http";
import { AddressInfo } from "net";
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseArguments, regionOfArn, run, withServer } from "../scripts/kubeconfig";

/**
 * The kubeconfig command against a loopback Secrets Manager: the AWS JSON 1.1 protocol, X-Amz-Target
 * "secretsmanager.GetSecretValue" with Content-Type application/x-amz-json-1.1, errors as {"__type", "Message"} with
 * HTTP 400, the service's casing (Secrets Manager API reference, GetSecretValue: ResourceNotFoundException when no
 * version has the label AWSCURRENT, or no secret has the ID; AccessDeniedException).
 */

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k3s/kubeconfig-20250101000000000000000001-AbCdEf";
/** What templates/server.sh publishes: k3s.yaml with the API URL replaced. */
const PUBLISHED = [
  "apiVersion: v1",
  "clusters:",
  "- cluster:",
  "    certificate-authority-data: LS0tLS1CRUdJTi0tLS0t",
  "    server: https://k3s-api-0123456789.elb.eu-west-1.amazonaws.com:6443",
  "  name: default",
  "kind: Config",
  "",
].join("\n");

type Answer = { status: number; body: Record<string, unknown> };
interface Received {
  readonly target: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
  readonly authorization: string | undefined;
}

let server: Server;
let endpoint: string;
let answer: Answer;
let received: Received[];
let dir: string;

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      received.push({ target: request.headers["x-amz-target"] as string | undefined, contentType: request.headers["content-type"], body: JSON.parse(text || "{}"), authorization: request.headers.authorization });
      // The AWS JSON 1.1 protocol: a request of another content type is not one the service would read.
      if (request.headers["content-type"] !== "application/x-amz-json-1.1") {
        response.writeHead(400, { "Content-Type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify({ __type: "SerializationException", Message: `unexpected Content-Type ${request.headers["content-type"]}` }));
        return;
      }
      response.writeHead(answer.status, { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000" });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  received = [];
  dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
  answer = { status: 200, body: { ARN: SECRET_ARN, Name: "k3s/kubeconfig", SecretString: PUBLISHED, VersionId: "v1", VersionStages: ["AWSCURRENT"], CreatedDate: 1767225600 } };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const regions: string[] = [];
const client = (region: string) => {
  regions.push(region);
  return new SecretsManagerClient({ region, endpoint, credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }, maxAttempts: 1 });
};
const OUTPUTS = { kubeconfig_secret_arn: SECRET_ARN, api_endpoint: "https://k3s.apps.example.com:6443" };

async function kubeconfig(argv: string[], outputs: Record<string, string> = OUTPUTS) {
  const lines: string[] = [];
  const code = await run(argv, { client, outputs: () => outputs, log: (line) => lines.push(line) });
  return { code, lines };
}

test("writes the published kubeconfig with the reachable API endpoint, mode 0600, from the stack's outputs", async () => {
  const out = join(dir, "config");
  const { code, lines } = await kubeconfig(["--out", out]);
  expect(code).toBe(0);
  expect(received).toEqual([
    { target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", body: { SecretId: SECRET_ARN }, authorization: expect.stringContaining("/eu-west-1/secretsmanager/aws4_request") },
  ]);
  // Written through a temporary file that is gone afterwards.
  expect(readdirSync(dir)).toEqual(["config"]);
  expect(readFileSync(out, "utf8")).toBe(PUBLISHED.replace("https://k3s-api-0123456789.elb.eu-west-1.amazonaws.com:6443", "https://k3s.apps.example.com:6443"));
  expect(statSync(out).mode & 0o777).toBe(0o600);
  expect(lines).toEqual([`wrote ${out} (mode 0600), API at https://k3s.apps.example.com:6443; use it with: export KUBECONFIG=${out}`]);
});

test("--secret-arn, --region and --server need no terraform outputs", async () => {
  const out = join(dir, "config");
  regions.length = 0;
  const code = await run(["--out", out, "--secret-arn", SECRET_ARN, "--region", "eu-central-1", "--server", "https://10.0.0.10:6443"], {
    client,
    outputs: () => {
      throw new Error("outputs must not be read");
    },
    log: () => undefined,
  });
  expect(code).toBe(0);
  expect(regions).toEqual(["eu-central-1"]);
  expect(readFileSync(out, "utf8")).toContain("    server: https://10.0.0.10:6443\n");
});

test("an empty secret (still booting) ends with one line saying what to do, and writes nothing", async () => {
  answer = { status: 400, body: { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" } };
  const out = join(dir, "config");
  const { code, lines } = await kubeconfig(["--out", out]);
  expect(code).toBe(1);
  expect(lines).toEqual([
    `kubeconfig: the kubeconfig secret has no value yet (${SECRET_ARN}): the servers publish it once the Kubernetes API answers, a few minutes after the first apply; run this again shortly`,
  ]);
  expect(() => statSync(out)).toThrow();
});

test("a secret that does not exist is not mistaken for one still booting", async () => {
  // GetSecretValue's answer for an unknown secret ID, as the service words it.
  answer = { status: 400, body: { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret." } };
  const { code, lines } = await kubeconfig(["--out", join(dir, "config")]);
  expect(code).toBe(1);
  expect(lines).toEqual([`kubeconfig: secret not found: ${SECRET_ARN} (Secrets Manager can't find the specified secret.); check --secret-arn, or the kubeconfig_secret_arn output and the region`]);
});

test("access denied ends with one line naming the permission", async () => {
  answer = { status: 400, body: { __type: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: secretsmanager:GetSecretValue" } };
  const { code, lines } = await kubeconfig(["--out", join(dir, "config")]);
  expect(code).toBe(1);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^kubeconfig: access denied reading ${SECRET_ARN.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: your AWS identity needs secretsmanager:GetSecretValue on this secret`));
});

test("an existing file is refused without --force and replaced, mode 0600, with it", async () => {
  const out = join(dir, "config");
  writeFileSync(out, "keep me", { mode: 0o644 });
  const refused = await kubeconfig(["--out", out]);
  expect(refused).toEqual({ code: 1, lines: [`kubeconfig: ${out} already exists; choose another --out or add --force to overwrite it`] });
  expect(readFileSync(out, "utf8")).toBe("keep me");
  // Refused before the secret is fetched.
  expect(received).toHaveLength(0);

  const forced = await kubeconfig(["--out", out, "--force"]);
  expect(forced.code).toBe(0);
  expect(readFileSync(out, "utf8")).toContain("server: https://k3s.apps.example.com:6443");
  expect(statSync(out).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir)).toEqual(["config"]);
});

test("with --force a symbolic link stays one: the file it points to is replaced, mode 0600", async () => {
  const real = join(dir, "dotfiles-kubeconfig");
  writeFileSync(real, "old", { mode: 0o644 });
  const out = join(dir, "config");
  symlinkSync(real, out);
  expect((await kubeconfig(["--out", out, "--force"])).code).toBe(0);
  expect(lstatSync(out).isSymbolicLink()).toBe(true);
  expect(readFileSync(real, "utf8")).toContain("server: https://k3s.apps.example.com:6443");
  expect(statSync(real).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir).sort()).toEqual(["config", "dotfiles-kubeconfig"]);
});

test("an --out in a directory that does not exist is refused before the secret is fetched", async () => {
  const out = join(dir, "missing", "config");
  expect(await kubeconfig(["--out", out])).toEqual({ code: 1, lines: [`kubeconfig: cannot write ${out}: the directory ${join(dir, "missing")} does not exist`] });
  expect(received).toHaveLength(0);
});

test("outputs without the secret, and bad arguments, end with one line", async () => {
  expect(await kubeconfig(["--out", join(dir, "x")], {})).toEqual({ code: 1, lines: ["kubeconfig: the cluster's outputs have no kubeconfig_secret_arn; give --secret-arn"] });
  expect(await kubeconfig([])).toEqual({ code: 1, lines: ["kubeconfig: --out <file> is required: where to write the kubeconfig (for example ~/.kube/k3s.yaml)"] });
  expect((await kubeconfig(["--out", join(dir, "x"), "--verbose"])).lines[0]).toMatch(/^kubeconfig: unknown argument "--verbose"; usage: npm run kubeconfig -- --out <file>/);
  expect(() => parseArguments(["--out", "x", "--server", "http://plain:6443"])).toThrow('--server must be an https:// URL such as https://k3s.example.com:6443, got "http://plain:6443"');
});

test("a stack directory that does not exist says to synth/deploy first, in one line", async () => {
  const lines: string[] = [];
  const code = await run(["--out", join(dir, "config"), "--stack-dir", join(dir, "nowhere")], { client, log: (line) => lines.push(line) });
  expect(code).toBe(1);
  expect(lines).toEqual([`kubeconfig: no synthesised cluster stack at ${join(dir, "nowhere")}: synth/deploy first (npx cdktf deploy cluster), or give --secret-arn and --region`]);
  expect(received).toHaveLength(0);
});

test("the region is the secret ARN's; the server line of every cluster is replaced", () => {
  expect(regionOfArn("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf")).toBe("us-gov-west-1");
  expect(() => regionOfArn("k3s/kubeconfig")).toThrow('"k3s/kubeconfig" is not a Secrets Manager secret ARN');
  // Replacement patterns in the URL are written as they are.
  expect(withServer("    server: https://a:6443\n", "https://$&.$1.example.com:6443")).toBe("    server: https://$&.$1.example.com:6443\n");
  expect(withServer("- cluster:\n    server: https://a:6443\n- cluster:\n    server: https://b:6443\n", "https://c:6443")).toBe("- cluster:\n    server: https://c:6443\n- cluster:\n    server: https://c:6443\n");
});
