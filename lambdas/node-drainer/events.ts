import * as z from "zod/mini";
import "../shared/zod-locale";
import { DrainEventKind, drainEventKind } from "./event-kinds";

/** A reason to drain one instance's node, taken from an EventBridge event. */
export type DrainRequest =
  | { readonly kind: Exclude<DrainEventKind, "lifecycle-termination">; readonly instanceId: string; readonly eventTime: number }
  | {
      readonly kind: "lifecycle-termination";
      readonly instanceId: string;
      readonly eventTime: number;
      readonly autoScalingGroupName: string;
      readonly lifecycleHookName: string;
      readonly lifecycleActionToken: string;
    };

export type ParsedEvent = { readonly ok: true; readonly request: DrainRequest } | { readonly ok: false; readonly reason: string };

const INSTANCE_ID = z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/, "is not an EC2 instance ID"));
const EVENT_TIME = z.string().check(z.refine((time) => !Number.isNaN(Date.parse(time)), "is not a timestamp"));
const NON_EMPTY = z.string().check(z.minLength(1));

const Envelope = z.object({ source: z.string(), "detail-type": z.string(), time: EVENT_TIME, detail: z.record(z.string(), z.unknown()) });
const Ec2InstanceDetail = z.object({ "instance-id": INSTANCE_ID });
const LifecycleDetail = z.object({
  EC2InstanceId: INSTANCE_ID,
  AutoScalingGroupName: NON_EMPTY,
  LifecycleHookName: NON_EMPTY,
  LifecycleActionToken: NON_EMPTY,
  LifecycleTransition: z.string(),
});

function problems(error: z.core.$ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "event"} ${issue.message}`).join("; ");
}

/** Parses an SQS message body carrying an EventBridge event; anything unusable comes back with the reason. */
export function parseDrainEvent(body: string, agentGroupName: string): ParsedEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: "message body is not JSON" };
  }
  const envelope = Envelope.safeParse(raw);
  if (!envelope.success) return { ok: false, reason: `not an EventBridge event: ${problems(envelope.error)}` };
  const { source, detail } = envelope.data;
  const detailType = envelope.data["detail-type"];
  const eventTime = Date.parse(envelope.data.time);

  const kind = drainEventKind(source, detailType);
  if (kind === "spot-interruption" || kind === "rebalance-recommendation") {
    const parsed = Ec2InstanceDetail.safeParse(detail);
    if (!parsed.success) return { ok: false, reason: `${detailType}: ${problems(parsed.error)}` };
    return { ok: true, request: { kind, instanceId: parsed.data["instance-id"], eventTime } };
  }
  if (kind === "lifecycle-termination") {
    const parsed = LifecycleDetail.safeParse(detail);
    if (!parsed.success) return { ok: false, reason: `${detailType}: ${problems(parsed.error)}` };
    const lifecycle = parsed.data;
    if (lifecycle.LifecycleTransition !== "autoscaling:EC2_INSTANCE_TERMINATING") {
      return { ok: false, reason: `lifecycle transition ${lifecycle.LifecycleTransition} is not a termination` };
    }
    if (lifecycle.AutoScalingGroupName !== agentGroupName) {
      return { ok: false, reason: `auto scaling group ${lifecycle.AutoScalingGroupName} is not this cluster's agents (${agentGroupName})` };
    }
    return {
      ok: true,
      request: {
        kind: "lifecycle-termination",
        instanceId: lifecycle.EC2InstanceId,
        eventTime,
        autoScalingGroupName: lifecycle.AutoScalingGroupName,
        lifecycleHookName: lifecycle.LifecycleHookName,
        lifecycleActionToken: lifecycle.LifecycleActionToken,
      },
    };
  }
  return { ok: false, reason: `unsupported event ${source} / ${detailType}` };
}

/** EC2 gives two minutes between the spot warning and the interruption. */
export const SPOT_WARNING_MS = 120_000;
const SAFETY_MARGIN_MS = 15_000;

/**
 * When this attempt's draining must stop: before the spot interruption, and always before the function times out
 * with time left to complete the lifecycle action. A lifecycle action needs no bound of its own: heartbeats hold it
 * for as long as attempts run, and a drain left unfinished is retried while it is held.
 */
export function drainDeadline(request: DrainRequest, functionDeadline: number): number {
  const eventBound = request.kind === "lifecycle-termination" ? Infinity : request.eventTime + SPOT_WARNING_MS;
  return Math.min(eventBound, functionDeadline) - SAFETY_MARGIN_MS;
}
