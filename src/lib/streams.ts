// Stream plumbing shared by the cache tiers, stored records and byte ranges.

/**
 * `first` (bytes already read off `rest`, if any), then the rest of `rest`, as one stream of declared
 * length: what stores it, or the runtime sending it (its Content-Length), knows the size up front.
 * The bytes are piped by the runtime, not through the isolate; a failed or wrong-length copy fails
 * whoever reads the result, which is where the error belongs.
 */
export function withLength(rest: ReadableStream<Uint8Array>, byteLength: number, first?: Uint8Array): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(byteLength);
  pipeInto(writable, first, rest).catch(() => {});
  return readable;
}

async function pipeInto(writable: WritableStream<Uint8Array>, first: Uint8Array | undefined, rest: ReadableStream<Uint8Array>): Promise<void> {
  if (first && first.length > 0) {
    const writer = writable.getWriter();
    try {
      await writer.write(first);
    } catch (error) {
      await rest.cancel(error).catch(() => {});
      return;
    }
    writer.releaseLock();
  }
  await rest.pipeTo(writable);
}
