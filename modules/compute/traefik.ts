import { HTTPS_PORT, INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT } from "../ports";
import { fillPlaceholders, readTemplate } from "./user-data";

/**
 * What k3s's packaged Traefik does on its entry points beyond routing: the redirect of web (the HTTP NodePort), the
 * request header websecure (the HTTPS NodePort) removes, and whose forwarded headers websecure trusts.
 *
 * These are Traefik's own static options, given as `additionalArguments` (`--entryPoints.<name>.http.redirections.
 * entryPoint.{to,scheme,permanent}` and `--entryPoints.<name>.http.middlewares`: Traefik docs, routing/entrypoints, the
 * same in Traefik 2.2 on and 3), not as the chart's per-port
 * values: those moved from `ports.<name>.redirections`/`.middlewares` (charts 34-38) to `ports.<name>.http.*` in chart
 * 39, whose values.schema.json refuses any other port key, and the Traefik 2 charts (27) have neither. Only
 * `additionalArguments` (a list in traefik-helm-chart values.yaml from v27.0.2 to v41.3.0), `service.type` and
 * `ports.<name>.nodePort` are read alike by every chart k3s ships. websecure terminates TLS by the chart's default.
 */
export interface WebEntryPoint {
  /**
   * Redirect plain HTTP to HTTPS on the load balancer's HTTPS port; right only when every client reaches web through the ingress load balancer's 80
   * and HTTPS through its 443, i.e. TLS ends at that load balancer (behind CloudFront the origin forwards to websecure and web is unused).
   */
  readonly redirectToHttps: boolean;
  /**
   * A request header websecure removes before routing: the CloudFront origin header, whose value is the origin's
   * secret. Behind CloudFront websecure is the origin load balancer's target (modules/front-door), web unused.
   * @default undefined (none removed)
   */
  readonly removedRequestHeader?: string;
}

/** The headers Middleware, referenced across providers as `<namespace>-<name>@kubernetescrd` (Traefik docs, providers/kubernetes-crd). */
export const ORIGIN_HEADER_MIDDLEWARE = { namespace: "kube-system", name: "remove-origin-header" } as const;

/** Traefik's static arguments for the entry points, in a fixed order. */
export function entryPointArguments(web: WebEntryPoint): string[] {
  const redirect = web.redirectToHttps
    ? [`--entryPoints.web.http.redirections.entryPoint.to=:${HTTPS_PORT}`, "--entryPoints.web.http.redirections.entryPoint.scheme=https", "--entryPoints.web.http.redirections.entryPoint.permanent=true"]
    : [];
  const middleware = web.removedRequestHeader ? [`--entryPoints.websecure.http.middlewares=${ORIGIN_HEADER_MIDDLEWARE.namespace}-${ORIGIN_HEADER_MIDDLEWARE.name}@kubernetescrd`] : [];
  return [...redirect, ...middleware];
}

/** The HelmChartConfig of k3s's Traefik: fixed NodePorts and the entry points' arguments. */
export function traefikManifest(web: WebEntryPoint): string {
  return fillPlaceholders(
    readTemplate("manifests/traefik-node-ports.yaml").trimEnd(),
    {
      INGRESS_HTTP_NODE_PORT: String(INGRESS_HTTP_NODE_PORT),
      INGRESS_HTTPS_NODE_PORT: String(INGRESS_HTTPS_NODE_PORT),
      // JSON is YAML's flow style; an empty list is the chart's default.
      ADDITIONAL_ARGUMENTS: JSON.stringify(entryPointArguments(web)),
    },
    "manifests/traefik-node-ports.yaml",
  );
}

/** The Middleware removing `web.removedRequestHeader`, or nothing (the server writes the file empty). */
export function originHeaderMiddlewareManifest(web: WebEntryPoint): string {
  if (!web.removedRequestHeader) return "";
  return fillPlaceholders(
    readTemplate("manifests/traefik-origin-header.yaml").trimEnd(),
    {
      MIDDLEWARE_NAME: ORIGIN_HEADER_MIDDLEWARE.name,
      MIDDLEWARE_NAMESPACE: ORIGIN_HEADER_MIDDLEWARE.namespace,
      REMOVED_REQUEST_HEADERS: JSON.stringify({ [web.removedRequestHeader]: "" }),
    },
    "manifests/traefik-origin-header.yaml",
  );
}
