/**
 * Imported first by main.ts. cdktf records a full stack trace for every token it creates (Lazy and Intrinsic call
 * lib/tokens/private/stack-trace.ts), and tsx turns Node's source maps on, under which Node decodes the inline source
 * map of every cdktf and provider module it loads and maps every frame of those traces: a third of a synthesis.
 * Synthesis errors reach the user as messages (ConfigError, PolicyViolationError), not traces, so the app runs without
 * them; `--enable-source-maps` (in NODE_OPTIONS or on node's command line) keeps them on, for the TypeScript lines of
 * an unexpected error's trace.
 */
const askedForSourceMaps = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((option) =>
  /^"?--enable[-_]source[-_]maps(=true)?"?$/.test(option),
);
if (!askedForSourceMaps) process.setSourceMapsEnabled(false);
