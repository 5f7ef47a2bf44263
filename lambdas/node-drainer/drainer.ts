import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { Cluster } from "../shared/cluster";
import { drainNode } from "../shared/drain";
import { errorMessage, Logger } from "../shared/log";
import { drainDeadline, DrainRequest, parseDrainEvent } from "./events";

/** Completes an Auto Scaling lifecycle action; "already-done" when the action is no longer pending (a duplicate). */
export interface LifecycleActions {
  complete(request: Extract<DrainRequest, { kind: "lifecycle-termination" }>): Promise<"completed" | "already-done">;
}

export interface DrainerDeps {
  readonly agentGroupName: string;
  readonly heartbeatMs: number;
  readonly cluster: () => Promise<Cluster>;
  readonly lifecycle: LifecycleActions;
  readonly notify: (subject: string, message: Record<string, unknown>) => Promise<void>;
  readonly log: Logger;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Epoch milliseconds at which the function times out. */
  readonly functionDeadline: number;
  readonly retryDelayMs: number;
}

/**
 * Handles one batch. Unusable messages are logged and acknowledged (a retry cannot fix them); a failure to reach the
 * cluster or AWS is reported as a batch item failure so SQS retries it, and the dead-letter queue ends the retries.
 */
export async function processBatch(records: SQSRecord[], deps: DrainerDeps): Promise<SQSBatchResponse> {
  const results = await Promise.all(records.map((record) => processRecord(record, deps)));
  return { batchItemFailures: records.filter((_, index) => !results[index]).map((record) => ({ itemIdentifier: record.messageId })) };
}

async function processRecord(record: SQSRecord, deps: DrainerDeps): Promise<boolean> {
  const { log } = deps;
  const parsed = parseDrainEvent(record.body, deps.agentGroupName);
  if (!parsed.ok) {
    log("warn", "event skipped", { messageId: record.messageId, reason: parsed.reason });
    return true;
  }
  const request = parsed.request;
  const context = { messageId: record.messageId, kind: request.kind, instanceId: request.instanceId };
  try {
    const cluster = await deps.cluster();
    const node = (await cluster.listNodes()).find((candidate) => candidate.providerId?.endsWith(`/${request.instanceId}`));
    if (!node) {
      log("info", "no node for this instance: not in the cluster, or already gone", context);
    } else if (request.kind === "rebalance-recommendation") {
      // Not yet an interruption: keep new pods off the node but leave running ones until its replacement is up
      // (capacity rebalancing then terminates it through the lifecycle hook, which drains it).
      await cluster.cordon(node.name);
      log("info", "node cordoned on a rebalance recommendation", { ...context, node: node.name });
    } else {
      const deadline = drainDeadline(request, deps.heartbeatMs, deps.functionDeadline);
      const result = await drainNode(cluster, node.name, { deadline, retryDelayMs: deps.retryDelayMs, now: deps.now, sleep: deps.sleep, log });
      log(result.completed ? "info" : "warn", result.completed ? "node drained" : "node partly drained by the deadline", { ...context, ...result });
    }
    if (request.kind === "lifecycle-termination") {
      const outcome = await deps.lifecycle.complete(request);
      log("info", "lifecycle action completed", { ...context, outcome });
    }
    return true;
  } catch (error) {
    log("error", "drain failed; the message will be retried", { ...context, error: errorMessage(error) });
    await deps.notify("node drain failed", { ...context, error: errorMessage(error) }).catch((notifyError) =>
      log("error", "failure notification failed", { ...context, error: errorMessage(notifyError) }),
    );
    return false;
  }
}
