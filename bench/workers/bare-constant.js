// Baseline: the least a worker can do, answer a constant 10 KB body.
const body = "x".repeat(10 * 1024);
export default {
  fetch() {
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};
