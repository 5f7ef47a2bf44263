import { createHash } from "crypto";
import { buildSync, BuildOptions, version as esbuildVersion } from "esbuild";
import { zipSync } from "fflate";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "fs";
import { join, resolve } from "path";

const ROOT = resolve(__dirname, "..", "..");

export type LambdaName = "autoscaler" | "node-drainer" | "slack-forwarder";

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
 * What a build read and produced, kept beside the zip. A later process whose inputs hash the same reuses the zip
 * instead of bundling again (seconds per function; every test file and mutation run synthesises the stack).
 */
interface BuildRecord {
  /** esbuild's version and options: a change to either rebuilds. */
  readonly fingerprint: string;
  /** Every file esbuild read (its metafile's inputs, relative to the repository), with its SHA-256. */
  readonly inputs: Record<string, string>;
  /**
   * Each input's size and modification time when it was hashed. A file that still has both is taken as unchanged
   * without reading it, as git's index does; any other is hashed again.
   */
  readonly stats: Record<string, string>;
  readonly bundle: LambdaBundle;
}

const sha256 = (data: Uint8Array | string, encoding: "hex" | "base64" = "hex") => createHash("sha256").update(data).digest(encoding);

/**
 * Bundles `lambdas/<name>/handler.ts` with esbuild for the Lambda runtime (Node.js 22, minified, external source map)
 * and writes a reproducible zip. Built once per process, and again only when a file it was built from changed.
 */
export function bundleLambda(name: LambdaName, outdir = join(ROOT, ".build", "lambdas")): LambdaBundle {
  const key = `${outdir}:${name}`;
  const cached = built.get(key) ?? unchangedBuild(name, outdir);
  if (cached) {
    built.set(key, cached);
    return cached;
  }

  const options = {
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
  } satisfies BuildOptions;
  const result = buildSync({ ...options, metafile: true });
  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const file of [...result.outputFiles].sort((a, b) => a.path.localeCompare(b.path))) {
    files[file.path.split("/").pop() as string] = [file.contents, { mtime: FIXED_MTIME }];
  }
  const zip = zipSync(files, { level: 9 });
  mkdirSync(outdir, { recursive: true });
  const zipPath = join(outdir, `${name}.zip`);
  const bundle: LambdaBundle = {
    name,
    zipPath,
    sourceCodeHash: sha256(zip, "base64"),
    bundleBytes: files["index.js"][0].byteLength,
    zipBytes: zip.byteLength,
  };
  const inputNames = Object.keys(result.metafile.inputs).sort();
  // Stat before hashing: a file changed in between then fails the stat check next time, and is hashed again.
  const stats = Object.fromEntries(inputNames.map((input) => [input, statKey(join(ROOT, input)) ?? ""]));
  const inputs = Object.fromEntries(inputNames.map((input) => [input, sha256(readFileSync(join(ROOT, input)))]));
  const record: BuildRecord = { fingerprint: fingerprintOf(name, outdir), inputs, stats, bundle };
  // Several processes (test workers, a synth beside a validate) may build at once: publish each file atomically, the
  // zip before the record that vouches for it.
  publish(zipPath, zip);
  publish(recordPath(name, outdir), JSON.stringify(record, null, 2));
  built.set(key, bundle);
  return bundle;
}

/** Size and modification time (nanoseconds) of a file, or undefined when it is gone. */
function statKey(path: string): string | undefined {
  const stat = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stat && `${stat.size}:${stat.mtimeNs}`;
}

/**
 * Inputs that already matched their record in this process. The functions share most of theirs (the AWS SDK, the
 * Kubernetes client: about 2,000 files each), so each is checked once a synthesis rather than once a function. Like the
 * builds themselves (`built`), this holds for the life of the process: a source edited while it runs counts from the
 * next synthesis.
 */
const unchangedInputs = new Set<string>();

function recordPath(name: LambdaName, outdir: string): string {
  return join(outdir, `${name}.build.json`);
}

function fingerprintOf(name: LambdaName, outdir: string): string {
  return sha256(JSON.stringify({ esbuild: esbuildVersion, name, outdir, source: readFileSync(__filename, "utf8") }));
}

function publish(path: string, data: Uint8Array | string) {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, data);
  renameSync(partial, path);
}

/** The earlier build's bundle if nothing it was built from changed and its zip is the one it recorded. */
function unchangedBuild(name: LambdaName, outdir: string): LambdaBundle | undefined {
  try {
    const record = JSON.parse(readFileSync(recordPath(name, outdir), "utf8")) as BuildRecord;
    if (record.fingerprint !== fingerprintOf(name, outdir)) return undefined;
    for (const [input, hash] of Object.entries(record.inputs)) {
      const checked = `${input}:${record.stats[input]}:${hash}`;
      if (unchangedInputs.has(checked)) continue;
      const path = join(ROOT, input);
      const stat = statKey(path);
      if (stat === undefined) return undefined;
      if (stat !== record.stats[input] && sha256(readFileSync(path)) !== hash) return undefined;
      unchangedInputs.add(checked);
    }
    if (sha256(readFileSync(record.bundle.zipPath), "base64") !== record.bundle.sourceCodeHash) return undefined;
    return record.bundle;
  } catch {
    // No record yet, or one from an interrupted or older build: build afresh.
    return undefined;
  }
}
