/**
 * The Slack forwarder's environment, defined once: modules/automation writes it with `slackForwarderEnvironment` and
 * the handler reads it with `parseSlackForwarderSettings`. It names the webhook's secret, never the webhook URL: the URL
 * is read at run time (secret.ts). No construct code here: this module is bundled.
 */
import * as z from "zod/mini";
import { parseEnvironment, RUNTIME_ENVIRONMENT } from "../shared/env";

/** How long the webhook call may take before it is abandoned and the event retried; the function's timeout allows for it. */
export const SLACK_WEBHOOK_TIMEOUT_MS = 10_000;

/** What the construct knows when it writes the environment. */
export interface SlackForwarderEnvironmentProps {
  readonly clusterName: string;
  /** Secrets Manager secret whose value is the Slack incoming-webhook URL. */
  readonly webhookSecretArn: string;
}

export interface SlackForwarderSettings {
  readonly clusterName: string;
  readonly webhookSecretArn: string;
}

const environmentShape = {
  CLUSTER_NAME: z.string().check(z.minLength(1)),
  SLACK_WEBHOOK_SECRET_ARN: z.string().check(z.regex(/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:/, "is not a Secrets Manager secret ARN")),
};

/**
 * The function's whole environment: the runtime's variables and the settings. The type makes the writer set exactly the
 * variables the reader checks, besides the runtime's.
 */
export function slackForwarderEnvironment(props: SlackForwarderEnvironmentProps): Record<keyof typeof environmentShape | keyof typeof RUNTIME_ENVIRONMENT, string> {
  return { ...RUNTIME_ENVIRONMENT, CLUSTER_NAME: props.clusterName, SLACK_WEBHOOK_SECRET_ARN: props.webhookSecretArn };
}

/** The handler's settings; throws naming every missing or malformed variable. */
export function parseSlackForwarderSettings(env: NodeJS.ProcessEnv): SlackForwarderSettings {
  const vars = parseEnvironment(environmentShape, env);
  return { clusterName: vars.CLUSTER_NAME, webhookSecretArn: vars.SLACK_WEBHOOK_SECRET_ARN };
}
