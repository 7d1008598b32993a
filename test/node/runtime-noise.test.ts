// The filter that keeps a green `npm test` quiet: workerd's refused-connection stacks (caused on
// purpose by failover tests) are dropped; any other uncaught error still prints.
import { describe, expect, it } from "vitest";
import { isExpectedNetworkNoise } from "../helpers/runtime-noise.ts";

const STACK = "stack: /x/node_modules/@cloudflare/workerd-linux-64/bin/workerd@26b6840 /x/workerd@3739630 /x/workerd@3358d60";

describe("isExpectedNetworkNoise", () => {
  it.each([
    [`exception = rust/worker/ffi.rs:110: disconnected: Connection refused (os error 111)\n${STACK}\n`],
    ["uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.\n"],
    [`uncaught exception; exception = workerd/jsg/value.h:1511: disconnected: jsg.Error: Network connection lost.\n${STACK}\n`],
  ])("drops the refused-connection entry %#", (chunk) => {
    expect(isExpectedNetworkNoise(chunk)).toBe(true);
  });

  it.each([
    ["uncaught exception; source = Uncaught (in promise); stack = Error: boom\n    at handleRequest (src/pipeline/handle-request.ts:10:5)\n"],
    ["uncaught exception; source = Uncaught (in promise); stack = TypeError: Cannot read properties of undefined (reading 'body')\n"],
    [`uncaught exception; exception = workerd/jsg/value.h:1511: disconnected: jsg.Error: Network connection lost.\n${STACK}\nuncaught exception; stack = Error: boom\n`],
    ['{"level":"error","event":"unhandled_error","error":"Error: boom"}\n'],
  ])("keeps a real error %#", (chunk) => {
    expect(isExpectedNetworkNoise(chunk)).toBe(false);
  });
});
