/**
 * Imported first by main.ts. cdktf records a stack trace for every token it creates (Lazy and Intrinsic call
 * lib/tokens/private/stack-trace.ts), and tsx turns on Node's source maps, under which Node decodes the inline source map
 * of every cdktf and provider module it loads and maps every frame of those traces: a third of a synthesis's time.
 * Synthesis errors reach the user as messages (ConfigError, PolicyViolationError), not traces, so the app runs without.
 */
process.setSourceMapsEnabled(false);
