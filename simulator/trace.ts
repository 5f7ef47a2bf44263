/**
 * Workload traces: which pods are created when, what they request, how much of their CPU request they use, and for how
 * long they run. A trace is JSON (simulator/traces/*.json); `csvToTrace` converts the simple CSV a user can export.
 */
import { readFileSync } from "fs";
import { basename, extname } from "path";

export interface PodGroup {
  /** Pods are named `<name>-<n>`; also their app label. */
  readonly name: string;
  /** Minutes from the trace's start at which the pods are created. */
  readonly atMinute: number;
  readonly count: number;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  /** Share of the CPU request the pod uses while running (may exceed 1 for burstable pods); drives the CPU policies. */
  readonly cpuUsage: number;
  /** Minutes each pod runs once started; absent: until the trace ends (a Deployment's replica). */
  readonly runMinutes?: number;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * The load-balanced Service the pods serve (an HPA's replicas, say): groups naming the same service share its load,
   * so pods waiting for a node put theirs on the running ones. Absent: each pod's load is its own (a job, a worker).
   */
  readonly service?: string;
}

export interface Trace {
  readonly name: string;
  readonly description: string;
  readonly durationMinutes: number;
  /** Agents running at the start; default: the config's agents.desiredCapacity. */
  readonly initialNodes?: number;
  readonly pods: PodGroup[];
}

export class TraceError extends Error {}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function number(value: unknown, where: string, check: (n: number) => boolean, expected: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || !check(value)) throw new TraceError(`${where}: must be ${expected}, got ${JSON.stringify(value)}`);
  return value;
}

/** Checks a decoded trace; throws a TraceError naming the field. */
export function parseTrace(input: unknown, source: string): Trace {
  if (!isRecord(input)) throw new TraceError(`${source}: a trace is a JSON object`);
  const name = typeof input.name === "string" && input.name ? input.name : basename(source, extname(source));
  const durationMinutes = number(input.durationMinutes, `${source}: durationMinutes`, (n) => n > 0, "a positive number of minutes");
  const initialNodes = input.initialNodes === undefined ? undefined : number(input.initialNodes, `${source}: initialNodes`, (n) => Number.isInteger(n) && n >= 0, "a whole number >= 0");
  if (!Array.isArray(input.pods)) throw new TraceError(`${source}: pods must be a list`);
  const pods = input.pods.map((group, index): PodGroup => {
    const where = `${source}: pods[${index}]`;
    if (!isRecord(group)) throw new TraceError(`${where}: must be an object`);
    if (typeof group.name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(group.name)) throw new TraceError(`${where}.name: must be a DNS label such as "web"`);
    const selector = group.nodeSelector;
    if (selector !== undefined && (!isRecord(selector) || Object.values(selector).some((value) => typeof value !== "string"))) throw new TraceError(`${where}.nodeSelector: must map label keys to string values`);
    if (group.service !== undefined && (typeof group.service !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(group.service))) throw new TraceError(`${where}.service: must be a DNS label such as "web"`);
    return {
      name: group.name,
      atMinute: number(group.atMinute, `${where}.atMinute`, (n) => n >= 0 && n < durationMinutes, `a minute within the trace (0 to ${durationMinutes})`),
      count: number(group.count, `${where}.count`, (n) => Number.isInteger(n) && n > 0, "a whole number > 0"),
      cpuMillis: number(group.cpuMillis, `${where}.cpuMillis`, (n) => n >= 0, "a number of millicores >= 0"),
      memoryMiB: number(group.memoryMiB, `${where}.memoryMiB`, (n) => n >= 0, "a number of MiB >= 0"),
      cpuUsage: number(group.cpuUsage ?? 1, `${where}.cpuUsage`, (n) => n >= 0 && n <= 10, "a share of the CPU request between 0 and 10"),
      runMinutes: group.runMinutes === undefined || group.runMinutes === null ? undefined : number(group.runMinutes, `${where}.runMinutes`, (n) => n > 0, "a positive number of minutes"),
      nodeSelector: selector as Record<string, string> | undefined,
      service: group.service as string | undefined,
    };
  });
  return { name, description: typeof input.description === "string" ? input.description : "", durationMinutes, initialNodes, pods };
}

export function loadTrace(path: string): Trace {
  let decoded: unknown;
  try {
    decoded = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new TraceError(`${path}: not readable JSON (${(error as Error).message})`);
  }
  return parseTrace(decoded, path);
}

/** The CSV columns, in this order; the first four are required on every line. */
export const CSV_COLUMNS = ["at_minute", "count", "cpu_millis", "memory_mib", "run_minutes", "cpu_usage", "node_selector", "name", "service"] as const;

/**
 * A trace from CSV: a header line naming the columns (any order, CSV_COLUMNS), then one pod group per line. `run_minutes`
 * empty means the pods run to the end; `cpu_usage` defaults to 1; `node_selector` is `key=value` pairs joined by `;`;
 * `name` defaults to `pods-<line>`; `service`, when set, names the Service whose load the pods share (PodGroup.service). Blank lines and lines starting with `#` are skipped. The trace lasts until the
 * last pod finishes, or `durationMinutes` when given. Throws a TraceError naming the line.
 */
export function csvToTrace(text: string, options: { name: string; durationMinutes?: number }): Trace {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() && !line.trim().startsWith("#"));
  if (headerIndex < 0) throw new TraceError(`${options.name}: empty CSV; the first line names the columns (${CSV_COLUMNS.join(",")})`);
  const header = lines[headerIndex].split(",").map((cell) => cell.trim().toLowerCase());
  for (const column of header) {
    if (!(CSV_COLUMNS as readonly string[]).includes(column)) throw new TraceError(`line ${headerIndex + 1}: unknown column "${column}"; columns are ${CSV_COLUMNS.join(", ")}`);
  }
  for (const required of CSV_COLUMNS.slice(0, 4)) {
    if (!header.includes(required)) throw new TraceError(`line ${headerIndex + 1}: the header lacks the required column "${required}"`);
  }
  const groups: Record<string, unknown>[] = [];
  const groupLines: number[] = [];
  for (let index = headerIndex + 1; index < lines.length; index++) {
    const line = lines[index].trim();
    if (!line || line.startsWith("#")) continue;
    const lineNo = index + 1;
    const cells = line.split(",").map((cell) => cell.trim());
    if (cells.length !== header.length) throw new TraceError(`line ${lineNo}: ${cells.length} values for ${header.length} columns`);
    const cell = (column: string) => cells[header.indexOf(column)] ?? "";
    const numeric = (column: string, required: boolean) => {
      const raw = cell(column);
      if (raw === "") {
        if (required) throw new TraceError(`line ${lineNo}: ${column} is required`);
        return undefined;
      }
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new TraceError(`line ${lineNo}: ${column} "${raw}" is not a number`);
      return value;
    };
    let nodeSelector: Record<string, string> | undefined;
    if (cell("node_selector")) {
      nodeSelector = {};
      for (const pair of cell("node_selector").split(";")) {
        const [key, value, ...rest] = pair.split("=");
        if (!key || value === undefined || rest.length > 0) throw new TraceError(`line ${lineNo}: node_selector "${cell("node_selector")}" must be key=value pairs joined by ";"`);
        nodeSelector[key.trim()] = value.trim();
      }
    }
    groupLines.push(lineNo);
    groups.push({
      name: cell("name") || `pods-${lineNo}`,
      atMinute: numeric("at_minute", true),
      count: numeric("count", true),
      cpuMillis: numeric("cpu_millis", true),
      memoryMiB: numeric("memory_mib", true),
      runMinutes: numeric("run_minutes", false),
      cpuUsage: numeric("cpu_usage", false),
      nodeSelector,
      service: cell("service") || undefined,
    });
  }
  if (groups.length === 0) throw new TraceError(`${options.name}: no pod lines after the header`);
  const end = Math.max(...groups.map((group) => (group.atMinute as number) + ((group.runMinutes as number | undefined) ?? 60)));
  const durationMinutes = options.durationMinutes ?? Math.ceil(end);
  // Each group is checked again as a trace field, with its CSV line in the message.
  const checked = groups.map((group, index) => {
    try {
      return parseTrace({ durationMinutes, pods: [group] }, "csv").pods[0];
    } catch (error) {
      throw new TraceError(`line ${groupLines[index]}: ${(error as Error).message.replace(/^csv: pods\[0\]\.?/, "")}`);
    }
  });
  return { name: options.name, description: `converted from CSV (${groups.length} pod groups)`, durationMinutes, pods: checked };
}

