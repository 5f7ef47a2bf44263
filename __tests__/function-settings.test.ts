import { autoscalerEnvironment, parseAutoscalerSettings } from "../lambdas/autoscaler/settings";
import { drainerEnvironment, parseDrainerSettings } from "../lambdas/node-drainer/settings";

/**
 * Each Lambda's environment as its construct writes it and its handler reads it, without a stack: the writer takes
 * config units (minutes, percent, seconds), the handler gets milliseconds and fractions. automation.test.ts checks the
 * same through the synthesised Terraform.
 */

// Every value off its default and no two alike, so a swapped or unconverted value shows.
const AUTOSCALER = {
  clusterName: "prod-k3s",
  agentGroupName: "prod-k3s-agents",
  stateTableName: "prod-k3s-autoscaler",
  accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access",
  topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s",
  nodeVcpus: "4",
  nodeMemoryMiB: "16384",
  nodeInstanceType: "m7i.xlarge",
  nodeArchitecture: "x86_64",
  maxStepUp: 4,
  pollSeconds: 15,
  scaleDownThresholdPercent: 35,
  scaleDownWindowMinutes: 7,
  cooldownMinutes: 13,
  notReadyReplaceMinutes: 45,
  expendablePodsPriorityCutoff: -5,
  headroom: { cpuMillis: 750, memoryMiB: 1536 },
  functionTimeoutSeconds: 120,
} as const;

test("autoscaler: the handler reads what the construct writes, in milliseconds and fractions", () => {
  const { lockTtlMs, ...settings } = parseAutoscalerSettings(autoscalerEnvironment(AUTOSCALER));
  expect(settings).toEqual({
    clusterName: "prod-k3s",
    agentGroupName: "prod-k3s-agents",
    stateTableName: "prod-k3s-autoscaler",
    accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access",
    topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s",
    pollMs: 15_000,
    agentInstance: { instanceType: "m7i.xlarge", vcpus: 4, memoryMiB: 16384, architecture: "x86_64" },
    config: { maxStepUp: 4, scaleDownThreshold: 0.35, scaleDownWindowMs: 420_000, cooldownMs: 780_000, expendablePriorityCutoff: -5, headroom: { cpuMillis: 750, memoryBytes: 1536 * 2 ** 20 } },
    notReadyReplaceAfterMs: 2_700_000,
  });
  // A run cut off at the function's timeout still holds the lock, so no second run acts beside it.
  expect(lockTtlMs).toBeGreaterThan(120_000);
});

test("autoscaler: a headroom of zeros is none; memory alone or CPU alone is kept; a negative one is refused", () => {
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, headroom: { cpuMillis: 0, memoryMiB: 0 } })).config).not.toHaveProperty("headroom");
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, headroom: { cpuMillis: 0, memoryMiB: 512 } })).config.headroom).toEqual({ cpuMillis: 0, memoryBytes: 512 * 2 ** 20 });
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, headroom: { cpuMillis: 250, memoryMiB: 0 } })).config.headroom).toEqual({ cpuMillis: 250, memoryBytes: 0 });
  expect(() => parseAutoscalerSettings({ ...autoscalerEnvironment(AUTOSCALER), HEADROOM_CPU_MILLIS: "-1" })).toThrow(/^invalid environment: HEADROOM_CPU_MILLIS: /);
  expect(() => parseAutoscalerSettings({ ...autoscalerEnvironment(AUTOSCALER), HEADROOM_MEMORY_MIB: "1Gi" })).toThrow(/^invalid environment: HEADROOM_MEMORY_MIB: /);
});

test("autoscaler: a zero cooldown or poll interval is allowed, a zero window or step is not", () => {
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, cooldownMinutes: 0 })).config.cooldownMs).toBe(0);
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, pollSeconds: 0 })).pollMs).toBe(0);
  expect(() => parseAutoscalerSettings({ ...autoscalerEnvironment(AUTOSCALER), POLL_SECONDS: "-10" })).toThrow(/^invalid environment: POLL_SECONDS: /);
  expect(() => parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, scaleDownWindowMinutes: 0 }))).toThrow(/^invalid environment: SCALE_DOWN_WINDOW_SECONDS: /);
  expect(() => parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, maxStepUp: 0 }))).toThrow(/^invalid environment: MAX_STEP_UP: /);
});

test("autoscaler and node drainer: the ARNs must be ARNs, the architecture one the autoscaler knows", () => {
  const autoscaler = autoscalerEnvironment(AUTOSCALER);
  for (const name of ["ACCESS_SECRET_ARN", "TOPIC_ARN"] as const) {
    expect(() => parseAutoscalerSettings({ ...autoscaler, [name]: "prod-k3s" })).toThrow(new RegExp(`^invalid environment: ${name}: `));
  }
  // Graviton agents (nodeImage's arm64 AMI) are sized as arm64 nodes.
  expect(parseAutoscalerSettings(autoscalerEnvironment({ ...AUTOSCALER, nodeArchitecture: "arm64" })).agentInstance.architecture).toBe("arm64");
  const drainer = drainerEnvironment({ agentGroupName: "prod-k3s-agents", accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access", topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s", heartbeatIntervalSeconds: 90, attempts: 3 });
  for (const name of ["ACCESS_SECRET_ARN", "TOPIC_ARN"] as const) {
    expect(() => parseDrainerSettings({ ...drainer, [name]: "access" })).toThrow(new RegExp(`^invalid environment: ${name}: `));
  }
});

test("autoscaler: a missing variable is named", () => {
  const { TOPIC_ARN: _, ...environment } = autoscalerEnvironment(AUTOSCALER);
  expect(() => parseAutoscalerSettings(environment)).toThrow(/^invalid environment: TOPIC_ARN: /);
});

test("node drainer: the handler reads what the construct writes, the heartbeat interval in milliseconds and the attempts a message gets", () => {
  const environment = drainerEnvironment({ agentGroupName: "prod-k3s-agents", accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access", topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s", heartbeatIntervalSeconds: 90, attempts: 3 });
  expect(parseDrainerSettings(environment)).toEqual({
    agentGroupName: "prod-k3s-agents",
    accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access",
    topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s",
    heartbeatIntervalMs: 90_000,
    attempts: 3,
  });
  expect(() => parseDrainerSettings({ ...environment, HEARTBEAT_INTERVAL_SECONDS: "0" })).toThrow(/^invalid environment: HEARTBEAT_INTERVAL_SECONDS: /);
  expect(() => parseDrainerSettings({ ...environment, DRAIN_ATTEMPTS: "0" })).toThrow(/^invalid environment: DRAIN_ATTEMPTS: /);
});

test("each function's environment also tells Node.js to use the bundle's linked source maps", () => {
  // Node.js reads NODE_OPTIONS itself (Node.js CLI docs, --enable-source-maps); the handlers' parsers ignore it.
  expect(autoscalerEnvironment(AUTOSCALER).NODE_OPTIONS).toBe("--enable-source-maps");
  const drainer = drainerEnvironment({ agentGroupName: "a", accessSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:access", topicArn: "arn:aws:sns:eu-west-1:123456789012:k3s", heartbeatIntervalSeconds: 90, attempts: 3 });
  expect(drainer.NODE_OPTIONS).toBe("--enable-source-maps");
});
