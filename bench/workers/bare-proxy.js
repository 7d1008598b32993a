// Baseline: pass every request to the origin and its answer back.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, { method: request.method, headers: request.headers });
  },
};
