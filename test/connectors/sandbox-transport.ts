/**
 * Points a catalogue connector's real `_revoke` requests at a sandbox: the origin becomes the sandbox's, and the path
 * becomes the sandbox path of the matching revoke style when that style lives at one fixed path; styles with an id
 * in the path or several endpoints (one per provider) keep the provider's own path, which the sandbox serves as is.
 * The request itself (method, headers, body, query) is untouched, so the sandbox judges what the connector sends.
 */
import { REVOKE_STYLES, type RevokeStyle } from '../../src/sandbox/index.ts';
import { undiciTransport, type HttpRequest, type HttpTransport } from '../../src/flows/index.ts';

const transport = undiciTransport();

/** Sends every request to `sandboxUrl`, recording each in `calls`. */
export function pointedAt(sandboxUrl: string, style: RevokeStyle, calls: HttpRequest[] = []): HttpTransport {
  const info = REVOKE_STYLES[style];
  const fixedPath = info.path !== null && !info.path.includes('{') && info.alsoAt === undefined ? info.path : null;
  return {
    request(req) {
      calls.push(req);
      const original = new URL(req.url);
      const target = new URL(sandboxUrl);
      if (fixedPath !== null) target.pathname = fixedPath;
      // GitHub's single-token endpoint (/token) has the same shape as the grant endpoint the sandbox imitates.
      else target.pathname = style === 'github-grant' ? original.pathname.replace(/\/token$/, '/grant') : original.pathname;
      target.search = original.search;
      return transport.request({ ...req, url: target.toString() });
    },
  };
}
