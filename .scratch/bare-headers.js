const body = new Uint8Array(10 * 1024).fill(111).buffer;
const headers = [["content-type", "text/plain"], ["content-length", "10240"], ["cache-control", "public, max-age=3600"], ["date", "Mon, 23 Nov 2026 22:00:00 GMT"], ["via", "1.1 outpost"], ["age", "3"], ["cache-status", "Outpost; hit; ttl=3597; detail=memory"]];
export default { fetch() { return new Response(body, { headers }); } };
