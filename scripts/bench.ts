/**
 * `npm run bench`: for each Lambda, the bundled size, the zipped size and the cold load time (median of several
 * fresh Node processes requiring the bundle, as Lambda's init does).
 */
import { spawnSync } from "child_process";
import { unzipSync } from "fflate";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { bundleLambda, LambdaName } from "../modules/automation/bundle";

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const LOAD_SNIPPET = "const start = process.hrtime.bigint(); require('./index.js'); process.stdout.write(String(Number(process.hrtime.bigint() - start) / 1e6));";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const rows = (["autoscaler", "node-drainer"] as LambdaName[]).map((name) => {
  const buildStart = process.hrtime.bigint();
  const bundle = bundleLambda(name, mkdtempSync(join(tmpdir(), "bench-build-")));
  const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  for (const [file, data] of Object.entries(unzipSync(readFileSync(bundle.zipPath)))) writeFileSync(join(dir, file), data);
  const loads = Array.from({ length: RUNS }, () => {
    const result = spawnSync(process.execPath, ["-e", LOAD_SNIPPET], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1" } });
    if (result.status !== 0) throw new Error(`${name} failed to load: ${result.stderr.split("\n")[0]}`);
    return Number(result.stdout);
  });
  return { name, bundleKiB: bundle.bundleBytes / 1024, zipKiB: bundle.zipBytes / 1024, buildMs, loadMs: median(loads), minLoadMs: Math.min(...loads) };
});

console.log(`function       bundle KiB   zip KiB   build ms   cold load ms (median of ${RUNS}, min)`);
for (const row of rows) {
  console.log(
    `${row.name.padEnd(14)} ${row.bundleKiB.toFixed(0).padStart(10)} ${row.zipKiB.toFixed(0).padStart(9)} ${row.buildMs.toFixed(0).padStart(10)}   ${row.loadMs.toFixed(1).padStart(8)} ${row.minLoadMs.toFixed(1).padStart(8)}`,
  );
}
