/**
 * The framework's floor for `npm run bench`: one resource of the same provider in one stack, the least any cdktf app
 * pays. Run directly it is an app like main.ts (writes to CDKTF_OUTDIR, as `cdktf synth` sets it); bench-synth.ts
 * builds it in-process.
 */
// Like main.ts: without Node's source maps, so that both apps run the same way.
import "../stack-traces";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { App, TerraformStack } from "cdktf";

export function buildFloorApp(outdir?: string): App {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "floor");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  new S3Bucket(stack, "Bucket", { bucket: "bench-floor" });
  return app;
}

if (require.main === module) buildFloorApp().synth();
