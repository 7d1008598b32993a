// Stream plumbing shared by the cache tiers and byte ranges.

/**
 * `stream` as a stream of declared length: what stores it, or the runtime sending it (its
 * Content-Length), knows the size up front. The bytes are piped by the runtime, not through the
 * isolate; a failed or wrong-length copy fails whoever reads the result.
 */
export function withLength(stream: ReadableStream<Uint8Array>, byteLength: number): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(byteLength);
  stream.pipeTo(writable).catch(() => {});
  return readable;
}
