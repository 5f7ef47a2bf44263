import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import { IncomingMessage, ServerResponse } from "http";
import { createServer, Server } from "https";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";

let certificate: { cert: string; key: string } | undefined;

/**
 * A throwaway certificate for 127.0.0.1, so the client verifies TLS against a CA exactly as in the cluster. One per
 * test file: each server is new, and openssl per test would cost more than most tests.
 */
export function selfSignedCertificate(): { cert: string; key: string } {
  certificate ??= generateCertificate();
  return certificate;
}

function generateCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "fake-kube-api-"));
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { stdio: "ignore" });
  return { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") };
}

/**
 * A local HTTPS server speaking the subset of the Kubernetes API the Lambdas use (nodes, pods, evictions,
 * PodDisruptionBudgets, PersistentVolumeClaims, DaemonSets), so the real @kubernetes/client-node client is exercised
 * end to end. Objects are stored and served as the JSON the API returns.
 */
export interface FakePod {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean; apiVersion: string; uid: string }[]; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string; resources?: { requests?: Record<string, string> } }[]; volumes?: unknown[] };
  status: { phase: string; conditions?: { type: string; status: string; reason?: string }[] };
}

export interface FakeNode {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { providerID?: string; unschedulable?: boolean };
  status: { allocatable: Record<string, string>; conditions: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** A list response: at most `limit` items from the continue token on, with a token while more remain. */
function page(kind: string, apiVersion: string, items: unknown[], url: URL, maxPageSize: number) {
  const start = Number(Buffer.from(url.searchParams.get("continue") ?? "", "base64").toString() || "0");
  const limit = Math.min(Number(url.searchParams.get("limit") ?? Infinity) || Infinity, maxPageSize);
  const end = start + limit;
  const metadata = end < items.length ? { resourceVersion: "1", continue: Buffer.from(String(end)).toString("base64") } : { resourceVersion: "1" };
  return { kind, apiVersion, metadata, items: items.slice(start, end) };
}

export class FakeKubeApi {
  readonly nodes = new Map<string, FakeNode>();
  readonly pods = new Map<string, FakePod>();
  readonly budgets: unknown[] = [];
  readonly claims: unknown[] = [];
  readonly storageClasses: unknown[] = [];
  readonly daemonSets: unknown[] = [];
  /** The most items one list response carries, whatever limit the client asks for (the API may return fewer). */
  maxPageSize = Infinity;
  /** Evictions to refuse with 429 before accepting, per "namespace/name". */
  readonly refusals = new Map<string, number>();
  /** Pods ("namespace/name") whose eviction fails with 500, as with two PodDisruptionBudgets or a broken webhook. */
  readonly evictionErrors = new Set<string>();
  /** Pods ("namespace/name") whose eviction is forbidden (403), with the Status cause type the API sends, if any. */
  readonly forbiddenEvictions = new Map<string, string | undefined>();
  /**
   * Pods ("namespace/name") that run their grace period after an accepted eviction: each is still listed, with a
   * deletionTimestamp, for this many more pod lists. Any other evicted pod is gone at once.
   */
  readonly terminatingFor = new Map<string, number>();
  /** Every request as "METHOD path". */
  readonly requests: string[] = [];
  /** Authorization headers seen. */
  readonly tokens = new Set<string>();
  private server?: Server;
  private readonly certificate: { cert: string; key: string };
  /** The server's certificate as base64 PEM: the caData a client pins. */
  readonly caData: string;

  /** `ownCertificate`: a certificate no other server of this file has, for a client that must refuse it. */
  constructor(options: { ownCertificate?: boolean } = {}) {
    this.certificate = options.ownCertificate ? generateCertificate() : selfSignedCertificate();
    this.caData = Buffer.from(this.certificate.cert).toString("base64");
  }

  addNode(name: string, instanceId: string, options: { cpu?: string; memory?: string; ready?: boolean; unschedulable?: boolean; annotations?: Record<string, string>; readyTransitionTime?: string } = {}): void {
    this.nodes.set(name, {
      metadata: { name, labels: {}, annotations: options.annotations },
      spec: { providerID: `aws:///eu-west-1a/${instanceId}`, unschedulable: options.unschedulable },
      status: { allocatable: { cpu: options.cpu ?? "2", memory: options.memory ?? "8Gi" }, conditions: [{ type: "Ready", status: options.ready === false ? "False" : "True", lastTransitionTime: options.readyTransitionTime }] },
    });
  }

  addPod(namespace: string, name: string, nodeName: string | undefined, options: { cpu?: string; memory?: string; owner?: string; phase?: string; unschedulable?: boolean; labels?: Record<string, string> } = {}): void {
    this.pods.set(`${namespace}/${name}`, {
      metadata: {
        name,
        namespace,
        labels: options.labels ?? {},
        ownerReferences: options.owner ? [{ kind: options.owner, name: `${name}-owner`, controller: true, apiVersion: "apps/v1", uid: `${name}-uid` }] : undefined,
      },
      spec: { nodeName, containers: [{ name: "main", resources: { requests: { cpu: options.cpu ?? "100m", memory: options.memory ?? "128Mi" } } }] },
      status: { phase: options.phase ?? (nodeName ? "Running" : "Pending"), conditions: options.unschedulable ? [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }] : [] },
    });
  }

  /** A pod exactly as the API would return it. */
  putPod(pod: { metadata: { name: string; namespace: string } }): void {
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod as FakePod);
  }

  /** A node exactly as the API would return it. */
  putNode(node: { metadata: { name: string } }): void {
    this.nodes.set(node.metadata.name, node as FakeNode);
  }

  async start(): Promise<string> {
    this.server = createServer(this.certificate, (request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => this.handle(request, body, response));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(request: IncomingMessage, body: string, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://localhost");
    this.requests.push(`${request.method} ${url.pathname}`);
    if (request.headers.authorization) this.tokens.add(request.headers.authorization);
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code });

    let match: RegExpExecArray | null;
    if (request.method === "GET" && url.pathname === "/api/v1/nodes") {
      return send(200, page("NodeList", "v1", [...this.nodes.values()], url, this.maxPageSize));
    }
    if (request.method === "PATCH" && (match = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname))) {
      const node = this.nodes.get(match[1]);
      if (!node) return status(404, "NotFound", `nodes "${match[1]}" not found`);
      if (request.headers["content-type"] !== "application/merge-patch+json") return status(415, "UnsupportedMediaType", `unexpected ${request.headers["content-type"]}`);
      const patch = JSON.parse(body) as { spec?: { unschedulable?: boolean | null }; metadata?: { annotations?: Record<string, string | null> } };
      if (patch.spec && "unschedulable" in patch.spec) node.spec.unschedulable = patch.spec.unschedulable ?? undefined;
      // JSON merge patch (RFC 7386): keys merge into the map, null removes one.
      for (const [key, value] of Object.entries(patch.metadata?.annotations ?? {})) {
        const annotations = (node.metadata.annotations ??= {});
        if (value === null) delete annotations[key];
        else annotations[key] = value;
      }
      return send(200, node);
    }
    if (request.method === "GET" && url.pathname === "/api/v1/pods") {
      const selector = url.searchParams.get("fieldSelector");
      const nodeName = selector?.startsWith("spec.nodeName=") ? selector.slice("spec.nodeName=".length) : undefined;
      for (const [key, lists] of this.terminatingFor) {
        if (!this.pods.get(key)?.metadata.deletionTimestamp) continue;
        if (lists > 0) this.terminatingFor.set(key, lists - 1);
        else this.pods.delete(key);
      }
      const items = [...this.pods.values()].filter((pod) => nodeName === undefined || pod.spec.nodeName === nodeName);
      return send(200, page("PodList", "v1", items, url, this.maxPageSize));
    }
    if (request.method === "POST" && (match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(url.pathname))) {
      const key = `${match[1]}/${match[2]}`;
      if (!this.pods.has(key)) return status(404, "NotFound", `pods "${match[2]}" not found`);
      if (this.evictionErrors.has(key)) return status(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
      if (this.forbiddenEvictions.has(key)) {
        const cause = this.forbiddenEvictions.get(key);
        const message = `pods "${match[2]}" is forbidden: ${cause ? `unable to create new content in namespace ${match[1]} because it is being terminated` : 'User "system:serviceaccount:kube-system:automation" cannot create resource "pods/eviction"'}`;
        return send(403, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", message, code: 403, ...(cause ? { details: { causes: [{ type: cause, message: "namespace is terminating" }] } } : {}) });
      }
      const left = this.refusals.get(key) ?? 0;
      if (left > 0) {
        this.refusals.set(key, left - 1);
        return status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.");
      }
      const pod = this.pods.get(key)!;
      if (this.terminatingFor.has(key)) pod.metadata.deletionTimestamp ??= new Date().toISOString();
      else this.pods.delete(key);
      return send(201, { kind: "Status", apiVersion: "v1", status: "Success", code: 201 });
    }
    if (request.method === "GET" && url.pathname === "/apis/policy/v1/poddisruptionbudgets") {
      return send(200, page("PodDisruptionBudgetList", "policy/v1", this.budgets, url, this.maxPageSize));
    }
    if (request.method === "GET" && url.pathname === "/api/v1/persistentvolumeclaims") {
      return send(200, page("PersistentVolumeClaimList", "v1", this.claims, url, this.maxPageSize));
    }
    if (request.method === "GET" && url.pathname === "/apis/storage.k8s.io/v1/storageclasses") {
      return send(200, page("StorageClassList", "storage.k8s.io/v1", this.storageClasses, url, this.maxPageSize));
    }
    if (request.method === "GET" && url.pathname === "/apis/apps/v1/daemonsets") {
      return send(200, page("DaemonSetList", "apps/v1", this.daemonSets, url, this.maxPageSize));
    }
    return status(404, "NotFound", `no route for ${request.method} ${url.pathname}`);
  }
}
