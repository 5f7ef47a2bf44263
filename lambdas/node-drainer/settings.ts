/**
 * The node drainer's environment, defined once: modules/automation writes it with `drainerEnvironment` and the
 * handler reads it with `parseDrainerSettings`. Variable names carry their unit; settings are in milliseconds.
 * No construct code here: this module is bundled.
 */
import * as z from "zod/mini";
import { parseEnvironment, RUNTIME_ENVIRONMENT } from "../shared/env";

/** What the construct knows when it writes the environment; names and ARNs may be Terraform references. */
export interface DrainerEnvironmentProps {
  readonly agentGroupName: string;
  readonly accessSecretArn: string;
  readonly topicArn: string;
  /** How often a held lifecycle action is extended (modules/automation/drain-timing.ts). */
  readonly heartbeatIntervalSeconds: number;
  /** The queue's maxReceiveCount: receives of a message before it goes to the dead-letter queue. */
  readonly attempts: number;
}

export interface DrainerSettings {
  readonly agentGroupName: string;
  readonly accessSecretArn: string;
  readonly topicArn: string;
  readonly heartbeatIntervalMs: number;
  readonly attempts: number;
}

const environmentShape = {
  AGENT_GROUP_NAME: z.string().check(z.minLength(1)),
  ACCESS_SECRET_ARN: z.string().check(z.startsWith("arn:")),
  TOPIC_ARN: z.string().check(z.startsWith("arn:")),
  HEARTBEAT_INTERVAL_SECONDS: z.coerce.number().check(z.int(), z.positive()),
  DRAIN_ATTEMPTS: z.coerce.number().check(z.int(), z.positive()),
};

/**
 * The function's whole environment: the runtime's variables and the settings. The type makes the writer set exactly the
 * variables the reader checks, besides the runtime's.
 */
export function drainerEnvironment(props: DrainerEnvironmentProps): Record<keyof typeof environmentShape | keyof typeof RUNTIME_ENVIRONMENT, string> {
  return {
    ...RUNTIME_ENVIRONMENT,
    AGENT_GROUP_NAME: props.agentGroupName,
    ACCESS_SECRET_ARN: props.accessSecretArn,
    TOPIC_ARN: props.topicArn,
    HEARTBEAT_INTERVAL_SECONDS: String(props.heartbeatIntervalSeconds),
    DRAIN_ATTEMPTS: String(props.attempts),
  };
}

/** The handler's settings; throws naming every missing or malformed variable. */
export function parseDrainerSettings(env: NodeJS.ProcessEnv): DrainerSettings {
  const vars = parseEnvironment(environmentShape, env);
  return {
    agentGroupName: vars.AGENT_GROUP_NAME,
    accessSecretArn: vars.ACCESS_SECRET_ARN,
    topicArn: vars.TOPIC_ARN,
    heartbeatIntervalMs: vars.HEARTBEAT_INTERVAL_SECONDS * 1000,
    attempts: vars.DRAIN_ATTEMPTS,
  };
}
