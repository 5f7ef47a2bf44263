/**
 * One synthesis in a fresh process, for `npm run bench`: `full` synthesises the default cluster app, `floor` a stack
 * holding one resource of the same provider, the least any cdktf app pays. Prints the time from before the first
 * import (but the one that turns source maps off) to the written JSON, and the process's peak resident memory, as JSON.
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
    const { App, TerraformStack } = await import("cdktf");
    const { AwsProvider } = await import("@cdktf/provider-aws/lib/provider");
    const { S3Bucket } = await import("@cdktf/provider-aws/lib/s3-bucket");
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "floor");
    new AwsProvider(stack, "aws", { region: "eu-west-1" });
    new S3Bucket(stack, "Bucket", { bucket: "bench-floor" });
    app.synth();
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
