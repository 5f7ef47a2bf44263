import { createHash } from "crypto";
import { buildSync } from "esbuild";
import { zipSync } from "fflate";
import { mkdirSync, renameSync, writeFileSync } from "fs";
import { join, resolve } from "path";

const ROOT = resolve(__dirname, "..", "..");

export type LambdaName = "autoscaler" | "node-drainer";

export interface LambdaBundle {
  readonly name: LambdaName;
  /** The zip to upload, under .build/lambdas/. */
  readonly zipPath: string;
  /** base64 SHA-256 of the zip, as Lambda's source_code_hash expects. */
  readonly sourceCodeHash: string;
  readonly bundleBytes: number;
  readonly zipBytes: number;
}

/**
 * Zip entries carry a modification time; a fixed one (in local time, which is how zip stores it) keeps the archive
 * byte-identical across machines and checkouts, and with it the asset hash and the synthesised JSON.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

const built = new Map<string, LambdaBundle>();

/**
 * Bundles `lambdas/<name>/handler.ts` with esbuild for the Lambda runtime (Node.js 22, minified, external source map)
 * and writes a reproducible zip. Built once per process: every stack synthesised in it shares the result.
 */
export function bundleLambda(name: LambdaName, outdir = join(ROOT, ".build", "lambdas")): LambdaBundle {
  const key = `${outdir}:${name}`;
  const cached = built.get(key);
  if (cached) return cached;

  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [join("lambdas", name, "handler.ts")],
    outfile: join(outdir, name, "index.js"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    // ESM builds first: esbuild tree-shakes them far better than the CommonJS ones (the AWS SDK ships both).
    mainFields: ["module", "main"],
    alias: { "whatwg-url": "./lambdas/shared/shims/whatwg-url.ts" },
    write: false,
    logLevel: "silent",
  });
  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const file of [...result.outputFiles].sort((a, b) => a.path.localeCompare(b.path))) {
    files[file.path.split("/").pop() as string] = [file.contents, { mtime: FIXED_MTIME }];
  }
  const zip = zipSync(files, { level: 9 });
  mkdirSync(outdir, { recursive: true });
  const zipPath = join(outdir, `${name}.zip`);
  // Several processes (test workers, a synth beside a validate) may build at once: publish the zip atomically.
  const partial = `${zipPath}.${process.pid}.partial`;
  writeFileSync(partial, zip);
  renameSync(partial, zipPath);

  const bundle: LambdaBundle = {
    name,
    zipPath,
    sourceCodeHash: createHash("sha256").update(zip).digest("base64"),
    bundleBytes: files["index.js"][0].byteLength,
    zipBytes: zip.byteLength,
  };
  built.set(key, bundle);
  return bundle;
}
