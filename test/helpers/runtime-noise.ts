// workerd logs a refused or reset connection three times over (the Rust socket error, the KJ exception,
// and "uncaught exception ... Network connection lost" for the fetch promise it already rejected), even
// when Outpost handles the failure. The failover, health and drill tests refuse and reset connections
// on purpose, so a green run printed dozens of such stacks and a real uncaught error was lost among
// them. These are dropped; everything else (an uncaught `Error: boom`, a TypeError) still prints.
// The vitest plugin writes each workerd log entry with one write call (to stdout or stderr by its
// level), so a chunk is one entry.
const EXPECTED_NETWORK_NOISE: RegExp[] = [
  /^exception = rust\/worker\/ffi\.rs:\d+: disconnected: Connection (refused|reset by peer) \(os error \d+\)\nstack:[^\n]*\n?$/,
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\.\n?$/,
  /^uncaught exception; exception = workerd\/jsg\/value\.h:\d+: disconnected: jsg\.Error: Network connection lost\.\nstack:[^\n]*\n?$/,
  // An origin body that breaks off at an origin shield fails the waiting locations' streams (fill-broadcast.ts).
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: the fill's body broke off before its declared length\n\s+at [^\n]*\n?$/,
  /^uncaught exception; exception = workerd\/jsg\/value\.h:\d+: failed: jsg\.Error: the fill's body broke off before its declared length\nstack:[^\n]*\n?$/,
];

export function isExpectedNetworkNoise(chunk: string): boolean {
  return EXPECTED_NETWORK_NOISE.some((pattern) => pattern.test(chunk));
}

/** Wraps both streams' write so expected network noise is dropped; returns the undo. */
export function silenceExpectedNetworkNoise(): () => void {
  const restores = [filterStream(process.stdout), filterStream(process.stderr)];
  return () => restores.forEach((restore) => restore());
}

interface Writable {
  write: (...args: never[]) => boolean;
}

function filterStream(stream: Writable): () => void {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? new TextDecoder().decode(chunk) : undefined;
    if (text !== undefined && isExpectedNetworkNoise(text)) {
      const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  return () => {
    stream.write = write;
  };
}
