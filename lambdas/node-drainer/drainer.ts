import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { Cluster } from "../shared/cluster";
import { drainNode, evictionFailures } from "../shared/drain";
import { errorMessage, Logger } from "../shared/log";
import { REBALANCE_CORDON_MARK } from "../shared/node-marks";
import { DrainFailedNotification, SUBJECTS } from "../shared/notifications";
import { drainDeadline, DrainRequest, parseDrainEvent } from "./events";

type LifecycleRequest = Extract<DrainRequest, { kind: "lifecycle-termination" }>;
export type LifecycleOutcome = "recorded" | "completed" | "already-done";

/** Auto Scaling lifecycle calls; "already-done" when the action is no longer pending (completed, or the hook timed out). */
export interface LifecycleActions {
  /** Restarts the hook's heartbeat timeout, keeping the instance in Terminating:Wait. */
  heartbeat(request: LifecycleRequest): Promise<"recorded" | "already-done">;
  complete(request: LifecycleRequest): Promise<"completed" | "already-done">;
}

export interface DrainerDeps {
  readonly agentGroupName: string;
  /** How often a heartbeat holds the lifecycle action while a drain runs; well inside the hook's heartbeat timeout. */
  readonly heartbeatIntervalMs: number;
  /** Receives of a message before the dead-letter queue takes it (the queue's maxReceiveCount). */
  readonly attempts: number;
  readonly cluster: () => Promise<Cluster>;
  readonly lifecycle: LifecycleActions;
  readonly notify: (subject: string, message: Record<string, unknown>) => Promise<void>;
  readonly log: Logger;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Calls `tick` every `ms` until the returned function is called. */
  readonly every: (ms: number, tick: () => Promise<void>) => () => void;
  /** Epoch milliseconds at which the function times out. */
  readonly functionDeadline: number;
  readonly retryDelayMs: number;
}

/**
 * Handles one batch. Unusable messages are logged and acknowledged (a retry cannot fix them); a failure to reach the
 * cluster or AWS, or a termination drain left unfinished, is reported as a batch item failure so SQS retries it while
 * the lifecycle action is held, and the dead-letter queue ends the retries.
 */
export async function processBatch(records: SQSRecord[], deps: DrainerDeps): Promise<SQSBatchResponse> {
  const results = await Promise.all(records.map((record) => processRecord(record, deps)));
  return { batchItemFailures: records.filter((_, index) => !results[index]).map((record) => ({ itemIdentifier: record.messageId })) };
}

/**
 * Holds a lifecycle action while a drain runs: a heartbeat now, then one every interval until stopped. A failed
 * heartbeat is logged and the drain goes on (the next one may succeed); `pending` turns false once Auto Scaling says
 * the action is over, after which a retry could no longer hold the instance.
 */
async function holdLifecycleAction(request: LifecycleRequest, deps: DrainerDeps, context: Record<string, unknown>) {
  const hold = { pending: true, stop: () => {} };
  const beat = async () => {
    try {
      if ((await deps.lifecycle.heartbeat(request)) === "recorded") {
        deps.log("info", "lifecycle heartbeat recorded", context);
      } else {
        hold.pending = false;
        hold.stop();
        deps.log("info", "lifecycle action no longer pending: already completed, or its hook timed out", context);
      }
    } catch (error) {
      deps.log("warn", "lifecycle heartbeat failed; draining goes on", { ...context, error: errorMessage(error) });
    }
  };
  await beat();
  if (hold.pending) hold.stop = deps.every(deps.heartbeatIntervalMs, beat);
  return hold;
}

/** Publishes a drain failure; a failed publish is logged, never thrown over the drain's own outcome. */
async function notifyFailure(deps: DrainerDeps, context: Omit<DrainFailedNotification, "error">, error: string): Promise<void> {
  const notification: DrainFailedNotification = { ...context, error };
  await deps.notify(SUBJECTS.drainFailed, { ...notification }).catch((notifyError) => deps.log("error", "failure notification failed", { ...context, error: errorMessage(notifyError) }));
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
  const hold = request.kind === "lifecycle-termination" ? await holdLifecycleAction(request, deps, context) : undefined;
  // SQS counts receives per message; on the last (the queue's maxReceiveCount) the dead-letter queue takes it.
  const attempt = Number(record.attributes?.ApproximateReceiveCount ?? 1);
  try {
    const cluster = await deps.cluster();
    const node = (await cluster.listNodes()).find((candidate) => candidate.providerId?.endsWith(`/${request.instanceId}`));
    let drained = true;
    let failures: string | undefined;
    if (!node) {
      log("info", "no node for this instance: not in the cluster, or already gone", context);
    } else if (request.kind === "rebalance-recommendation") {
      // Not yet an interruption: keep new pods off the node but leave running ones until its replacement is up
      // (capacity rebalancing then terminates it through the lifecycle hook, which drains it). Marked first, so the
      // autoscaler's recovery can lift a cordon no replacement ends; a node already cordoned is someone else's.
      if (node.unschedulable) {
        log("info", "node already cordoned; the rebalance recommendation leaves it as it is", { ...context, node: node.name });
      } else {
        await cluster.annotateNode(node.name, { [REBALANCE_CORDON_MARK]: new Date(deps.now()).toISOString() });
        await cluster.cordon(node.name);
        log("info", "node cordoned on a rebalance recommendation", { ...context, node: node.name });
      }
    } else {
      // The node is leaving now: recovery must not lift the rebalance cordon while it drains.
      if (node.annotations?.[REBALANCE_CORDON_MARK] !== undefined) await cluster.annotateNode(node.name, { [REBALANCE_CORDON_MARK]: null });
      const deadline = drainDeadline(request, deps.functionDeadline);
      const result = await drainNode(cluster, node.name, { deadline, retryDelayMs: deps.retryDelayMs, now: deps.now, sleep: deps.sleep, log });
      drained = result.completed;
      log(result.completed ? "info" : "warn", result.completed ? "node drained" : "node partly drained by the deadline", { ...context, ...result });
      // Evictions the API keeps refusing are a failure to report, even where the rest of the node drained.
      failures = evictionFailures(result);
    }
    hold?.stop();
    // A lifecycle drain left unfinished while its action is still held is retried from the queue.
    const retried = hold !== undefined && !drained && hold.pending;
    if (retried && attempt >= deps.attempts) {
      // The dead-letter queue's alarm notifies only on its first message, so each abandoned drain is published here.
      log("error", "drain unfinished on the last attempt; the instance terminates when the hook times out", { ...context, attempt });
      const why = failures ? ` (${failures})` : "";
      await notifyFailure(deps, context, `drain unfinished on receive ${attempt} of ${deps.attempts}${why}: the instance terminates when the lifecycle hook times out`);
      return false;
    }
    // Eviction errors are published when the message ends and on its first receive; the retries between add nothing.
    if (failures && (!retried || attempt === 1)) await notifyFailure(deps, context, failures);
    if (retried) {
      log("warn", "drain unfinished; the lifecycle action stays held and the message will be retried", { ...context, attempt });
      return false;
    }
    if (request.kind !== "lifecycle-termination" || !hold) return true;
    const outcome = await deps.lifecycle.complete(request);
    log("info", "lifecycle action completed", { ...context, outcome });
    return true;
  } catch (error) {
    if (hold && !hold.pending) {
      log("warn", "drain failed after the lifecycle action ended; a retry could not hold the instance, so none", { ...context, error: errorMessage(error) });
      return true;
    }
    const last = hold !== undefined && attempt >= deps.attempts;
    log("error", last ? "drain failed on the last attempt; the instance terminates when the hook times out" : "drain failed; the message will be retried", { ...context, error: errorMessage(error) });
    await notifyFailure(deps, context, last ? `drain failed on receive ${attempt} of ${deps.attempts}: ${errorMessage(error)}; the instance terminates when the lifecycle hook times out` : errorMessage(error));
    return false;
  } finally {
    hold?.stop();
  }
}
