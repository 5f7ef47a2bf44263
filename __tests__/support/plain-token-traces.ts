// cdktf records a full stack trace for every token it creates (cdktf/lib/tokens/private/stack-trace.js), read only in
// its own error messages; jest's source-map-support maps every frame of every one, which doubled a synthesis's time.
// Traces captured on plain objects (cdktf's) skip the mapping; those of errors keep it. Imported before cdktf, which
// creates tokens as it loads.
const mapStackTrace = Error.prepareStackTrace;
// A fixed first line: the object may have no toString (a null prototype), and cdktf drops that line anyway.
const plainStackTrace = (frames: NodeJS.CallSite[]) => `Trace\n    at ${frames.join("\n    at ")}`;
Error.prepareStackTrace = (error, frames) => (error instanceof Error && mapStackTrace ? mapStackTrace(error, frames) : plainStackTrace(frames));
