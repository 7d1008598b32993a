// A fill's body read once into the record it stores, while every request that waits for the fill
// streams the body as it arrives instead of after its end. Used by an origin shield, whose waiters
// are whole locations (coordination/origin-shield.ts). The record is the fill's own, reserved in the
// fill budget (fill-budget.ts) before reading: a waiter holds no copy of its own beyond the chunk it
// is sending, and reads at its client's pace (pull), so a slow location costs nobody memory.
// Only for a body of declared length without a content coding: the runtime decodes bodies, so an
// encoded body's length is not known ahead, and waiters are told the body's length up front.
import { StreamedBody } from "./entry.ts";

/** The most a waiter copies out of the record per read. */
const CHUNK_BYTES = 64 * 1024;

/** Whether a fill's answer can be broadcast: a declared length within `maxBytes`, no content coding. */
export function canBroadcast(headers: Headers, declaredLength: number | undefined, maxBytes: number): declaredLength is number {
  const coding = headers.get("content-encoding");
  return (coding === null || coding === "identity") && declaredLength !== undefined && Number.isSafeInteger(declaredLength) && declaredLength >= 0 && declaredLength <= maxBytes;
}

export class FillBroadcast {
  readonly byteLength: number;
  private readonly record: Uint8Array<ArrayBuffer>;
  private readonly headLength: number;
  private filled = 0;
  private state: "reading" | "done" | "failed" = "reading";
  private waiting: Array<() => void> = [];

  /** `head` is the record's head (encodeRecordHead); the body's `declaredLength` bytes follow it. */
  constructor(head: Uint8Array, declaredLength: number) {
    this.headLength = head.length;
    this.byteLength = declaredLength;
    this.record = new Uint8Array(head.length + declaredLength);
    this.record.set(head, 0);
  }

  /**
   * Reads `body` into the record. The record when every declared byte arrived; undefined when the
   * body broke off, ran longer or shorter than declared, or `signal` (the fill's deadline) aborted:
   * then every waiter's stream errors, as the leader's client's does.
   */
  async read(body: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<{ encoded: ArrayBuffer; body: Uint8Array<ArrayBuffer> } | undefined> {
    const reader = body.getReader();
    const abort = () => void reader.cancel(signal?.reason).catch(() => undefined);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        if (this.filled + chunk.value.byteLength > this.byteLength) {
          await reader.cancel();
          return this.end("failed");
        }
        this.record.set(chunk.value, this.headLength + this.filled);
        this.filled += chunk.value.byteLength;
        this.wake();
      }
      if (signal?.aborted || this.filled !== this.byteLength) return this.end("failed");
      this.end("done");
      return { encoded: this.record.buffer, body: this.record.subarray(this.headLength) };
    } catch {
      return this.end("failed");
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  /** One waiter's body: what has arrived, then the rest as it arrives. */
  body(): StreamedBody {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          while (sent === this.filled && this.state === "reading") await new Promise<void>((resolve) => this.waiting.push(resolve));
          if (sent < this.filled) {
            const end = Math.min(this.filled, sent + CHUNK_BYTES);
            controller.enqueue(this.record.slice(this.headLength + sent, this.headLength + end));
            sent = end;
          } else if (this.state === "done") {
            controller.close();
          } else {
            controller.error(new Error("the fill's body broke off before its declared length"));
          }
        },
      },
      { highWaterMark: 0 },
    );
    return new StreamedBody(stream, this.byteLength);
  }

  private end(state: "done" | "failed"): undefined {
    this.state = state;
    this.wake();
    return undefined;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}
