/** Structured logs: one JSON object per line, which CloudWatch Logs Insights queries by field. */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), now: () => Date = () => new Date()): Logger {
  return (level, message, fields = {}) => write(JSON.stringify({ time: now().toISOString(), level, message, ...fields }));
}

/** The message of anything thrown, without a stack trace. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}

/** A CloudWatch embedded-metric-format line: metrics without a PutMetricData call. */
export function metricLine(namespace: string, dimensions: Record<string, string>, metrics: Record<string, number>, timestamp: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions)], Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: "Count" })) }],
    },
    ...dimensions,
    ...metrics,
  });
}
