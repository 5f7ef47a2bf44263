import { INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT } from "../ports";
import { fillPlaceholders, readTemplate } from "./user-data";

/**
 * What k3s's packaged Traefik does on its entry points beyond routing: the redirect of web (the HTTP NodePort), and the
 * request header websecure (the HTTPS NodePort) removes.
 *
 * Value names are traefik-helm-chart's values.yaml (`ports.<entry point>.nodePort`, `.redirections.entryPoint.{to,
 * scheme,permanent}`, `.middlewares`), identical in every chart tag from v34.0.0 to v38.0.2, which spans the Traefik 3 charts k3s ships
 * (34.2.1+up34.2.0 in its first Traefik 3 releases; the chart's `redirectTo` was removed in v34 and fails the install).
 * websecure terminates TLS by the chart's default (`ports.websecure.tls.enabled: true`). The chart turns `to: websecure` into
 * `--entryPoints.web.http.redirections.entryPoint.to=:<websecure's exposedPort>` (443, its default) and websecure's
 * middlewares into `--entryPoints.websecure.http.middlewares=...` (traefik/templates/_podtemplate.tpl), which Traefik prepends
 * to every router on the entry point (Traefik docs, routing/entrypoints, "http.middlewares").
 */
export interface WebEntryPoint {
  /**
   * Redirect plain HTTP to HTTPS; right only when every client reaches web through the ingress load balancer's 80
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

/** The HelmChartConfig of k3s's Traefik: fixed NodePorts, the web entry point's redirect and websecure's middlewares. */
export function traefikManifest(web: WebEntryPoint): string {
  const middlewares = web.removedRequestHeader ? [`${ORIGIN_HEADER_MIDDLEWARE.namespace}-${ORIGIN_HEADER_MIDDLEWARE.name}@kubernetescrd`] : [];
  return fillPlaceholders(
    readTemplate("manifests/traefik-node-ports.yaml").trimEnd(),
    {
      INGRESS_HTTP_NODE_PORT: String(INGRESS_HTTP_NODE_PORT),
      INGRESS_HTTPS_NODE_PORT: String(INGRESS_HTTPS_NODE_PORT),
      // JSON is YAML's flow style. Empty values are the chart's defaults: no redirect, no middleware.
      WEB_REDIRECT: JSON.stringify(web.redirectToHttps ? { to: "websecure", scheme: "https", permanent: true } : {}),
      WEBSECURE_MIDDLEWARES: JSON.stringify(middlewares),
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
