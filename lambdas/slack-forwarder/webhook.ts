/**
 * The incoming-webhook call and the URL check. Slack answers 200 "ok", or an error string in the body with a status
 * that says what it is (Slack changelog 2016-05-17, "Improving error conditions for Incoming Webhooks": 400
 * invalid_payload / user_not_found, 403 action_prohibited, 404 channel_not_found, 410 channel_is_archived, 500
 * rollup_error; a disabled or removed webhook answers 404, ansible/ansible-modules-extras#100, with the body no_service,
 * slackapi/slack-github-action#249) and 429 when
 * rate limited. The URL is the credential: it is never logged and never part of an error message.
 */
import { request } from "https";

/** What a webhook POST came to when Slack answered. */
export type PostOutcome = { readonly posted: true } | { readonly posted: false; readonly status: number; readonly error: string };

/** A failure worth retrying (throttled, Slack's side, the network): thrown, so Lambda's async retries apply. */
export class SlackUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SlackUnavailableError";
  }
}

export interface PostOptions {
  /** Whole request, connection to last byte. */
  readonly timeoutMs: number;
  /** Certificates to trust instead of Node's bundled CAs; tests only (a local endpoint's self-signed certificate). */
  readonly ca?: string;
}

/** Longest error body kept from Slack's answer; its errors are short strings. */
const ERROR_BODY_LIMIT = 200;

/**
 * POSTs one message. Resolves on 2xx, and with Slack's refusal on any other answer a retry cannot fix (4xx but 429: the
 * same payload to the same URL fails the same way), leaving the caller to decide what a refusal means (forward.ts sends
 * the record on to the failure queue). Throws SlackUnavailableError on 429, 5xx, a network error or the timeout.
 */
export function postToSlack(url: string, message: object, options: PostOptions): Promise<PostOutcome> {
  const body = JSON.stringify(message);
  return new Promise<PostOutcome>((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }, ...(options.ca ? { ca: options.ca } : {}) },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text = (text + chunk).slice(0, ERROR_BODY_LIMIT)));
        response.on("end", () => {
          clearTimeout(timer);
          const status = response.statusCode ?? 0;
          const error = text.trim() || `HTTP ${status}`;
          if (status >= 200 && status < 300) resolve({ posted: true });
          else if (status === 429 || status >= 500) reject(new SlackUnavailableError(`Slack answered ${status} (${error}); retried by Lambda`));
          else resolve({ posted: false, status, error });
        });
        response.on("error", (error) => fail(`the answer broke off: ${error.message}`));
      },
    );
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new SlackUnavailableError(`Slack webhook call failed: ${why}`));
    };
    const timer = setTimeout(() => {
      req.destroy();
      fail(`no answer within ${options.timeoutMs} ms`);
    }, options.timeoutMs);
    // Node's socket errors name the address and port, never the path, which holds the credential.
    req.on("error", (error) => fail(error.message));
    req.end(body);
  });
}

/**
 * The secret's value as an incoming-webhook URL, or an error naming what is wrong with it (never the value): an https
 * URL on hooks.slack.com under /services/ (https://hooks.slack.com/services/T.../B.../..., the form Slack issues
 * incoming webhooks in). Workflow webhooks (/triggers/) take another payload and are refused.
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:") return `is a ${url.protocol.replace(/:$/, "")} URL, not https`;
  if (url.hostname !== "hooks.slack.com") return "is not on hooks.slack.com";
  if (!url.pathname.startsWith("/services/")) return "is not an incoming-webhook URL (https://hooks.slack.com/services/...)";
  return undefined;
}
