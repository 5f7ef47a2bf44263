/**
 * npm run simulate [-- options]: every policy over every trace, a table on stdout and one SVG chart per trace.
 *   --trace <file.json>   a trace (repeatable); default: every file in simulator/traces
 *   --csv <file.csv>      a trace converted from CSV (repeatable; format in README "Autoscaler simulator")
 *   --seed <n>            seed of every random draw (default 1)
 *   --seeds <n>           also check the target on seeds 1..n and print how many met each check (default 10; 0: skip)
 *   --schedule <rate(...)> the autoscaler's schedule (the config's automation.scheduleExpression; default rate(1 minute))
 *   --poll-seconds <n>    time between an invocation's passes, 0 for one (automation.pollSeconds; default from the schedule)
 *   --headroom <m>,<Mi>   the autoscaler's headroom in millicores and MiB, 0,0 for none (automation.headroom; default 500,1024)
 *   --spot-rate <r>       spot interruptions per spot instance-hour (default: simulator/data/assumptions.json)
 *   --out <dir>           where the charts go (default docs/simulation)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { basename, join } from "path";
import { chartSvg } from "../simulator/chart";
import { compareTrace, formatSeedRanges, formatSeedSweep, formatTable, seedSweep, targetChecks, TraceComparison } from "../simulator/compare";
import { resolveConfig } from "../config/resolve";
import { loadPrices } from "../simulator/engine";
import { csvToTrace, loadTrace, Trace, TraceError } from "../simulator/trace";

function parseArgs(argv: string[]) {
  const options = {
    traces: [] as string[],
    csvs: [] as string[],
    seed: 1,
    seeds: 10,
    schedule: undefined as string | undefined,
    pollSeconds: undefined as number | undefined,
    headroom: undefined as { cpuMillis: number; memoryMiB: number } | undefined,
    spotRate: undefined as number | undefined,
    out: "docs/simulation",
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return next;
    };
    const numeric = () => {
      const raw = value();
      const parsed = Number(raw);
      if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${argv[i - 1]}: "${raw}" is not a number >= 0`);
      return parsed;
    };
    switch (argv[i]) {
      case "--trace": options.traces.push(value()); break;
      case "--csv": options.csvs.push(value()); break;
      case "--seed": options.seed = numeric(); break;
      case "--seeds": options.seeds = Math.floor(numeric()); break;
      case "--schedule": options.schedule = value(); break;
      case "--poll-seconds": options.pollSeconds = numeric(); break;
      case "--headroom": {
        const raw = value();
        const [cpuMillis, memoryMiB, ...rest] = raw.split(",").map(Number);
        if (rest.length > 0 || memoryMiB === undefined) throw new Error(`--headroom: "${raw}" is not <millicores>,<MiB> (500,1024; 0,0 for none)`);
        options.headroom = { cpuMillis, memoryMiB };
        break;
      }
      case "--spot-rate": options.spotRate = numeric(); break;
      case "--out": options.out = value(); break;
      default: throw new Error(`unknown option ${argv[i]}; see scripts/simulate.ts`);
    }
  }
  return options;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const traceDir = join(__dirname, "..", "simulator", "traces");
  const traces: Trace[] = [
    ...(args.traces.length === 0 && args.csvs.length === 0 ? readdirSync(traceDir).filter((file) => file.endsWith(".json")).sort().map((file) => join(traceDir, file)) : args.traces).map(loadTrace),
    ...args.csvs.map((file) => csvToTrace(readFileSync(file, "utf8"), { name: basename(file, ".csv") })),
  ];
  const prices = loadPrices();
  // Through the config's own checks: a schedule EventBridge takes, a poll interval the function allows with it.
  const config = resolveConfig({
    automation: {
      ...(args.schedule === undefined ? {} : { scheduleExpression: args.schedule }),
      ...(args.pollSeconds === undefined ? {} : { pollSeconds: args.pollSeconds }),
      ...(args.headroom === undefined ? {} : { headroom: args.headroom }),
    },
  });
  const runOptions = { config, spotRatePerInstanceHour: args.spotRate };
  const started = Date.now();
  const comparisons: TraceComparison[] = [];
  mkdirSync(args.out, { recursive: true });
  for (const trace of traces) {
    const comparison = await compareTrace(trace, { ...runOptions, seed: args.seed, prices });
    comparisons.push(comparison);
    const file = join(args.out, `${trace.name}.svg`);
    writeFileSync(file, chartSvg(`${trace.name}: ${trace.description}`.slice(0, 110), trace.durationMinutes, comparison.runs.map((run) => ({ label: run.policyName, points: run.timeline }))));
  }
  console.log(formatTable(comparisons, prices.date));
  console.log("");
  for (const comparison of comparisons) {
    const checks = targetChecks(comparison);
    console.log(`${comparison.trace.name}: target ${checks.every((check) => check.met) ? "met" : "NOT met"} (${checks.map((check) => `${check.met ? "ok" : "FAILED"}: ${check.check}`).join("; ")})`);
  }
  console.log(`\nseed ${args.seed}; charts in ${args.out}/; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (args.seeds > 0) {
    const sweepStarted = Date.now();
    const sweep = await seedSweep(traces, args.seeds, { ...runOptions, prices });
    console.log(`\nTarget checks met, seeds 1 to ${args.seeds}:\n`);
    console.log(formatSeedSweep(sweep));
    console.log(`\nHow (c) compares, lowest to highest over seeds 1 to ${args.seeds}:\n`);
    console.log(formatSeedRanges(sweep));
    console.log(`\n${((Date.now() - sweepStarted) / 1000).toFixed(1)} s`);
  }
}

main().catch((error) => {
  console.error(error instanceof TraceError ? `trace error: ${error.message}` : error instanceof Error ? error.message : error);
  process.exit(1);
});
