/**
 * One synthesis in a fresh process, for `npm run bench`: `full` synthesises the default cluster app, `floor` the
 * one-resource stack of bench-floor.ts. Prints the time from before the first import (but the one that turns source
 * maps off) to the written JSON, and the process's peak resident memory, as JSON: the part of a synthesis the app's own
 * code decides, without the runtime's start-up.
 */
// Both stacks run as the app does under `cdktf synth`: without Node's source maps (main.ts imports this first).
import "../stack-traces";

const started = process.hrtime.bigint();

async function synthesise(kind: string, outdir: string): Promise<void> {
  if (kind === "full") {
    const { resolveConfig } = await import("../config/resolve");
    const { buildApp } = await import("../main");
    buildApp(resolveConfig({}), undefined, outdir).synth();
  } else if (kind === "floor") {
    const { buildFloorApp } = await import("./bench-floor");
    buildFloorApp(outdir).synth();
  } else {
    throw new Error(`unknown stack "${kind}": expected full or floor`);
  }
}

const [kind, outdir] = process.argv.slice(2);
synthesise(kind, outdir).then(
  () => process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - started) / 1e6, peakMiB: process.resourceUsage().maxRSS / 1024 })),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
