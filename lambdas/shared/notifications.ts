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

/**
 * The notification's subject. Alertmanager's default (sns.default.subject: the status and every common label value)
 * passes through untruncated (notify/sns/sns.go), and SNS refuses a subject of 100 characters or more (Publish API,
 * Subject), so most groups would never be sent (prometheus/alertmanager#2781). This one is the status, the firing
 * count, and the alert name and namespace cut to 40 characters each: at most 95 with a four-digit count.
 */
export const ALERT_SUBJECT_TEMPLATE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ printf "%.40s" .CommonLabels.alertname }} {{ printf "%.40s" .GroupLabels.namespace }}';

/**
 * The subject of the alerts Alertmanager publishes to the topic, as ALERT_SUBJECT_TEMPLATE renders it:
 * "[FIRING:<count>] <alert name> <namespace>" or "[RESOLVED] <alert name> <namespace>".
 */
export const ALERT_SUBJECT_PATTERN = /^\[(FIRING|RESOLVED)(?::(\d+))?\] (.*)$/;

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
