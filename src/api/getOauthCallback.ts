/**
 * `GET /oauth/callback`: the hosted redirect URI. The provider sends the person here with `code` and `state` (or
 * `error`); the connection is created, or re-authenticated in place when the flow was started for one, and the person
 * is redirected to the allow-listed return URL (`instanceId`, `status`, and their own `state`; or `error`), or shown a
 * plain result page. No credential appears in the redirect or the page.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { finishAuthorization } from '../auth/callback.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
    + '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    + `<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`;
}

export default defineRoute({
  method: 'GET',
  url: '/oauth/callback',
  auth: 'none',
  summary: 'Hosted OAuth callback',
  tags: ['instances'],
  schema: {
    querystring: z.record(z.string(), z.string()),
    response: { 200: z.string(), 303: z.undefined(), 400: z.string() },
  },
  async handler(request, reply) {
    const outcome = await finishAuthorization(request.ctx, request.query);
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (outcome.returnUrl !== null) {
      const target = new URL(outcome.returnUrl);
      if (outcome.ok) {
        target.searchParams.set('instanceId', outcome.instance.id);
        target.searchParams.set('status', outcome.reauthenticated ? 'reauthenticated' : 'connected');
      } else {
        target.searchParams.set('error', outcome.error.code.toLowerCase());
        target.searchParams.set('error_description', outcome.error.message);
      }
      if (outcome.clientState !== null) target.searchParams.set('state', outcome.clientState);
      return reply.code(303).header('location', target.href).send();
    }
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    if (outcome.ok) {
      const verb = outcome.reauthenticated ? 're-authenticated' : 'connected';
      return reply.code(200).send(page(`${outcome.instance.element.name} ${verb}`, `The instance "${outcome.instance.name}" (${outcome.instance.id}) is ${verb}. You can close this window.`));
    }
    request.log.info({ code: outcome.error.code }, 'OAuth callback failed');
    return reply.code(400).send(page('Connection failed', `${outcome.error.message} (${outcome.error.code})`));
  },
});
