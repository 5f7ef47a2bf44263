// Jest transformer on esbuild: TypeScript, and the ESM-only packages the Lambdas use (@kubernetes/client-node 1.x),
// become CommonJS for jest's module system. Type checking is `tsc --noEmit` in `npm test`.
const { transformSync } = require("esbuild");

module.exports = {
  process(source, path) {
    const { code, map } = transformSync(source, {
      loader: path.endsWith(".ts") ? "ts" : "js",
      format: "cjs",
      target: "node20",
      sourcemap: "external",
      sourcefile: path,
      // import.meta has no CommonJS equivalent; the packages only use it for optional file lookups.
      logLevel: "silent",
    });
    return { code, map };
  },
};
