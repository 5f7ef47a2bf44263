/**
 * What the autoscaler and the node drainer publish to the automation topic, defined once: the publishers build these
 * subjects and bodies, and the Slack forwarder (lambdas/slack-forwarder) reads them. No I/O here: this module is bundled.
 */
import type { RecoveryAction } from "../autoscaler/recovery";
import type { DrainEventKind } from "../node-drainer/event-kinds";

/** SNS subjects of the project's own notifications (SNS keeps at most 100 characters of a subject). */
export const SUBJECTS = {
  scaleUp: "k3s autoscaler: scale-up",
  scaleDown: "k3s autoscaler: scale-down",
  runFailed: "k3s autoscaler: run failed",
  recovery: "k3s autoscaler: recovery",
  drainFailed: "node drain failed",
} as const;

/** A scale action the autoscaler carried out, with the agents' desired capacity before and after it. */
export type ScaleNotification =
  | { readonly cluster: string; readonly action: "scale-up"; readonly by: number; readonly previousDesired: number; readonly desired: number; readonly reason: string }
  | {
      readonly cluster: string;
      readonly action: "scale-down";
      readonly node: string;
      readonly instanceId: string;
      readonly previousDesired: number;
      readonly desired: number;
      readonly reason: string;
    };

export interface RunFailedNotification {
  readonly cluster: string;
  readonly error: string;
}

export interface RecoveryNotification {
  readonly cluster: string;
  readonly done: readonly RecoveryAction[];
  readonly failed: readonly (RecoveryAction & { readonly error: string })[];
}

/** A drain the node drainer gave up on for now (the message is retried); it knows no cluster name. */
export interface DrainFailedNotification {
  readonly messageId: string;
  readonly kind: DrainEventKind;
  readonly instanceId: string;
  readonly error: string;
}

export const scaleSubject = (action: ScaleNotification["action"]) => (action === "scale-up" ? SUBJECTS.scaleUp : SUBJECTS.scaleDown);
