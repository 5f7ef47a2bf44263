import type { ClusterConfig } from "../../config/resolve";
import type { AutoscalerProps } from "./index";
import { SLACK_WEBHOOK_TIMEOUT_MS } from "../../lambdas/slack-forwarder/settings";

/** The autoscaler function's timeout; its run lock outlives it (settings.ts). */
export const AUTOSCALER_TIMEOUT_SECONDS = 240;

/**
 * The autoscaler's props from the resolved config: the one mapping from `automation.*` and `agents.*` to the
 * function's tuning, used by main.ts and by the simulator (simulator/), so both run the autoscaler the config describes.
 */
export function autoscalerProps(config: ClusterConfig): Omit<AutoscalerProps, "agentSize"> {
  const { automation } = config;
  return {
    scheduleExpression: automation.scheduleExpression,
    maxStepUp: automation.maxScaleUpStep,
    pollSeconds: automation.pollSeconds,
    scaleDownThresholdPercent: automation.scaleDownUtilizationPercent,
    scaleDownWindowMinutes: automation.scaleDownWindowMinutes,
    cooldownMinutes: automation.cooldownMinutes,
    notReadyReplaceMinutes: automation.notReadyReplaceMinutes,
    expendablePodsPriorityCutoff: automation.expendablePodsPriorityCutoff,
    headroom: automation.headroom,
    nodeInstanceType: config.agents.instanceTypes[0],
    nodeArchitecture: config.architecture,
  };
}

/**
 * The Slack forwarder's timeout: a secret read and one webhook call, which gives up after SLACK_WEBHOOK_TIMEOUT_MS, with
 * room for both; a call that hangs then fails inside the function and is retried, instead of the runtime killing it.
 */
export const SLACK_FORWARDER_TIMEOUT_SECONDS = (3 * SLACK_WEBHOOK_TIMEOUT_MS) / 1000;
