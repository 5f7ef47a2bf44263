// cdktf records a full stack trace for every token it creates (cdktf/lib/tokens/private/stack-trace.js), read only in
// its own error messages; jest's source-map-support maps every frame of every one, which doubled a synthesis's time.
// Traces captured on plain objects (cdktf's) skip the mapping; those of errors keep it. Imported before cdktf, which
// creates tokens as it loads.
const mapStackTrace = Error.prepareStackTrace;
const plainStackTrace = (error: unknown, frames: NodeJS.CallSite[]) => `${error}\n    at ${frames.join("\n    at ")}`;
Error.prepareStackTrace = (error, frames) => (error instanceof Error && mapStackTrace ? mapStackTrace(error, frames) : plainStackTrace(error, frames));
