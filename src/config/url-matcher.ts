// Compiles a route's host and path patterns (URLPattern syntax) into one predicate. The common
// shapes (any host, an exact host, any path, a literal prefix ending in "/*") are matched with plain
// string operations; anything else uses URLPattern. Matching runs on every request, so it is kept cheap.
export type UrlMatcher = (url: URL) => boolean;

/** Matches any host or any path; a part matched by it is never read from the URL (each read is a call into the runtime). */
const ANY = (): boolean => true;

const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=:@%/-]*$/;

function hostMatcher(hostname: string): ((host: string) => boolean) | undefined {
  if (hostname === "*") return ANY;
  if (LITERAL.test(hostname) && !hostname.includes(":")) {
    const wanted = hostname.toLowerCase();
    return (host) => host === wanted;
  }
  return undefined;
}

function pathMatcher(pathname: string): ((path: string) => boolean) | undefined {
  if (pathname === "/*") return ANY;
  if (pathname.endsWith("/*") && LITERAL.test(pathname.slice(0, -1)) && !pathname.slice(0, -2).includes("*")) {
    const prefix = pathname.slice(0, -1); // keeps the trailing "/"
    return (path) => path.startsWith(prefix);
  }
  if (LITERAL.test(pathname) && !pathname.includes(":")) return (path) => path === pathname;
  return undefined;
}

export function compileUrlMatcher(hostname: string, pathname: string): UrlMatcher {
  const host = hostMatcher(hostname);
  const path = pathMatcher(pathname);
  if (host && path) {
    if (host === ANY) return path === ANY ? ANY : (url) => path(url.pathname);
    if (path === ANY) return (url) => host(url.hostname);
    return (url) => host(url.hostname) && path(url.pathname);
  }
  const pattern = new URLPattern({ hostname, pathname });
  return (url) => pattern.test(url);
}
