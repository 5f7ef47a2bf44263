/**
 * `npm run bench`: the numbers the README reports, each a median over several runs (BENCH_RUNS, default 5):
 * - synthesis of the default cluster app and of a one-resource stack (the framework's floor), and their ratios: the
 *   wall time of the app command in cdktf.json, with the environment `cdktf synth` gives it (runtime start-up
 *   included; the two alternate), and, in a fresh process, the time and peak memory from the app's first import to
 *   the written JSON;
 * - `terraform validate` of every stack (init is done once beforehand and not counted);
 * - per Lambda: bundled and zipped size, and cold load time (a fresh Node process requiring the bundle, as Lambda's
 *   init does);
 * - the simulator: `npm run simulate`'s wall time for every shipped trace and policy on one seed, and for the seed sweep.
 * Prints numbers only; nothing here passes or fails.
 */
import { spawnSync } from "child_process";
import { unzipSync } from "fflate";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CONFIG_ENV_VAR } from "../config/load";
import { resolveConfig } from "../config/resolve";
import { buildApp } from "../main";
import { bundleLambda, LambdaName } from "../modules/automation/bundle";
import { initStack, ROOT, terraform, terraformAvailable } from "./terraform";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** Runs `use` with a fresh temporary directory, removed afterwards whatever happens. */
function inTempDir<T>(prefix: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The app command `cdktf synth` runs (cdktf.json's `app`, through a shell), and the same command with the floor's
 * entry point in place of main.ts.
 */
function appCommand(kind: "full" | "floor"): string {
  const app = (JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")) as { app: string }).app;
  if (kind === "full") return app;
  const floor = app.replace(/(^|\s)main\.ts(?=\s|$)/, "$1scripts/bench-floor.ts");
  if (floor === app) throw new Error(`cdktf.json's app command "${app}" does not run main.ts: the floor cannot be run the same way`);
  return floor;
}

/**
 * The environment cdktf-cli gives the app (@cdktf/cli-core synth-stack.js): no TF_VAR_*, NODE_OPTIONS at
 * --max-old-space-size=4096 when unset, CDKTF_OUTDIR and the synth flags; without the user's config file, so the app
 * is the default cluster.
 */
function appEnvironment(outdir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TF_VAR_") && key !== CONFIG_ENV_VAR));
  return {
    ...env,
    NODE_OPTIONS: env.NODE_OPTIONS || "--max-old-space-size=4096",
    CDKTF_OUTDIR: outdir,
    CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: "true",
    CDKTF_CONTEXT_JSON: JSON.stringify({ cdktfRelativeModules: [] }),
    SYNTH_HCL_OUTPUT: "false",
  };
}

function appProcessMs(kind: "full" | "floor"): number {
  const command = appCommand(kind);
  return inTempDir(`bench-app-${kind}-`, (outdir) => {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, { cwd: ROOT, encoding: "utf8", shell: true, env: appEnvironment(outdir) });
    const ms = elapsedMs(start);
    if (result.status !== 0) throw new Error(`"${command}" failed: ${result.stderr.trim()}`);
    if (!existsSync(join(outdir, "manifest.json"))) throw new Error(`"${command}" exited without writing a synthesis to CDKTF_OUTDIR`);
    return ms;
  });
}

/** Full and floor runs alternate, so a machine that slows down or speeds up during the runs moves both alike. */
function appProcesses(): { full: number[]; floor: number[] } {
  const full: number[] = [];
  const floor: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    full.push(appProcessMs("full"));
    floor.push(appProcessMs("floor"));
  }
  return { full, floor };
}

function synthesis(kind: "full" | "floor"): { ms: number; peakMiB: number } {
  const runs = Array.from({ length: RUNS }, () =>
    inTempDir(`bench-synth-${kind}-`, (outdir) => {
      const result = spawnSync(TSX, [join(__dirname, "bench-synth.ts"), kind, outdir], { cwd: ROOT, encoding: "utf8" });
      if (result.status !== 0) throw new Error(`synthesis of the ${kind} stack failed: ${result.stderr.trim()}`);
      return JSON.parse(result.stdout) as { ms: number; peakMiB: number };
    }),
  );
  return { ms: median(runs.map((run) => run.ms)), peakMiB: median(runs.map((run) => run.peakMiB)) };
}

function reportSynthesis(): void {
  // The first synthesis after a change to a Lambda's sources bundles it; the runs measured are the ones after that.
  synthesis("full");
  if (existsSync(join(ROOT, "backend.tf.json"))) console.log("\nnote: backend.tf.json is present, so the cluster app synthesises its S3 backend");
  const processes = appProcesses();
  const ratios = processes.full.map((ms, run) => ms / processes.floor[run]);
  console.log(`\nsynthesis, the app command cdktf synth runs, whole process (median of ${RUNS}, alternating)   wall ms`);
  console.log(`default cluster app: ${appCommand("full").padEnd(40)} ${median(processes.full).toFixed(0).padStart(8)}`);
  console.log(`one-resource stack:  ${appCommand("floor").padEnd(40)} ${median(processes.floor).toFixed(0).padStart(8)}`);
  console.log(`ratio of the medians ${"".padEnd(40)} ${(median(processes.full) / median(processes.floor)).toFixed(2).padStart(7)}x (run by run ${Math.min(...ratios).toFixed(2)}x to ${Math.max(...ratios).toFixed(2)}x)`);
  const full = synthesis("full");
  const floor = synthesis("floor");
  console.log(`\nsynthesis from the app's first import (fresh process, median of ${RUNS})   wall ms   peak MiB`);
  console.log(`default cluster app                    ${full.ms.toFixed(0).padStart(8)} ${full.peakMiB.toFixed(0).padStart(10)}`);
  console.log(`one-resource stack (floor)             ${floor.ms.toFixed(0).padStart(8)} ${floor.peakMiB.toFixed(0).padStart(10)}`);
  console.log(`ratio                                  ${(full.ms / floor.ms).toFixed(2).padStart(7)}x ${(full.peakMiB / floor.peakMiB).toFixed(2).padStart(9)}x`);
}

function reportValidation(): void {
  if (!terraformAvailable()) {
    console.log("\nterraform validate: skipped, terraform is not on PATH");
    return;
  }
  inTempDir("bench-validate-", (outdir) => {
    buildApp(resolveConfig({}), undefined, outdir).synth();
    console.log(`\nterraform validate (median of ${RUNS})   wall ms`);
    for (const stack of readdirSync(join(outdir, "stacks")).sort()) {
      const workdir = join(outdir, "work", stack);
      cpSync(join(outdir, "stacks", stack), workdir, { recursive: true });
      const init = initStack(stack, workdir, ["-backend=false"], "benchmarking", () => undefined);
      if (!init.ok) throw new Error(`terraform init of ${stack} failed:\n${init.output}`);
      const times = Array.from({ length: RUNS }, () => {
        const start = process.hrtime.bigint();
        const result = terraform(["validate"], workdir);
        if (!result.ok) throw new Error(`terraform validate of ${stack} failed:\n${result.output}`);
        return elapsedMs(start);
      });
      console.log(`${stack.padEnd(36)} ${median(times).toFixed(0).padStart(8)}`);
    }
  });
}

const LOAD_SNIPPET = "const start = process.hrtime.bigint(); require('./index.js'); process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e6));";

function reportLambdas(): void {
  console.log(`\nfunction       bundle KiB   zip KiB   build ms   cold load ms (median of ${RUNS}, min)`);
  for (const name of ["autoscaler", "node-drainer", "slack-forwarder"] as LambdaName[]) {
    const buildStart = process.hrtime.bigint();
    const { bundle, buildMs, loads } = inTempDir("bench-build-", (buildDir) => {
      const bundle = bundleLambda(name, buildDir);
      const buildMs = elapsedMs(buildStart);
      const loads = inTempDir(`bench-${name}-`, (dir) => {
        for (const [file, data] of Object.entries(unzipSync(readFileSync(bundle.zipPath)))) writeFileSync(join(dir, file), data);
        return Array.from({ length: RUNS }, () => {
          const result = spawnSync(process.execPath, ["-e", LOAD_SNIPPET], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1" } });
          if (result.status !== 0) throw new Error(`${name} failed to load: ${result.stderr.split("\n")[0]}`);
          return Number(result.stdout);
        });
      });
      return { bundle, buildMs, loads };
    });
    const row = [(bundle.bundleBytes / 1024).toFixed(0).padStart(10), (bundle.zipBytes / 1024).toFixed(0).padStart(9), buildMs.toFixed(0).padStart(10), median(loads).toFixed(1).padStart(11), Math.min(...loads).toFixed(1).padStart(8)];
    console.log(`${name.padEnd(14)} ${row.join(" ")}`);
  }
}

function simulatorWallMs(seeds: number): number {
  const times = Array.from({ length: RUNS }, () =>
    inTempDir("bench-simulate-", (out) => {
      const start = process.hrtime.bigint();
      const result = spawnSync(TSX, [join(__dirname, "simulate.ts"), "--seeds", String(seeds), "--out", out], { cwd: ROOT, encoding: "utf8" });
      if (result.status !== 0) throw new Error(`npm run simulate failed: ${result.stderr.trim()}`);
      return elapsedMs(start);
    }),
  );
  return median(times);
}

function reportSimulator(): void {
  console.log(`
npm run simulate, fresh process (median of ${RUNS})      wall ms`);
  console.log(`every trace and policy, one seed (--seeds 0)        ${simulatorWallMs(0).toFixed(0).padStart(8)}`);
  console.log(`and the target checks on seeds 1-10 (the default)   ${simulatorWallMs(10).toFixed(0).padStart(8)}`);
}

reportSynthesis();
reportValidation();
reportLambdas();
reportSimulator();
