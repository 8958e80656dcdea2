/**
 * `GET /elements/{key}/oauth/url`: the provider URL that starts an authorization, with PKCE (S256) and a one-time,
 * expiring, unguessable state bound to the organization. Without `callbackUrl` the provider sends the person back to
 * the hosted callback (`/oauth/callback`), which finishes the connection; with one, the caller receives `code` and
 * `state` there and finishes with `POST /instances` (or `PATCH /instances/{id}`) and `providerData { code, state }`.
 * `apiKey`/`apiSecret` supply the OAuth client per request, as Open Connectors does.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { PlugboardError } from '../core/errors.ts';
import { startAuthorization } from '../auth/callback.ts';
import { ConfigurationSchema, tagList } from './contracts/instances.ts';

const Query = z.strictObject({
  callbackUrl: z.string().url('expected an absolute URL registered with the provider as a redirect URI').optional(),
  returnUrl: z.string().url('expected an absolute URL on an allow-listed origin').optional(),
  state: z.string().max(500).optional().describe('Your own opaque value, handed back to returnUrl by the hosted callback.'),
  scope: z.string().max(4096).optional(),
  apiKey: z.string().min(1).max(1024).optional(),
  apiSecret: z.string().min(1).max(4096).optional(),
  instanceId: z.string().min(1).max(100).optional().describe('Re-authenticate this instance in place instead of creating one.'),
  name: z.string().min(1).max(200).optional(),
  externalUserId: z.string().min(1).max(256).optional(),
  tags: z.string().max(2000).optional().describe('Comma-separated tags for the instance the callback creates.'),
  configuration: z.string().max(8192).optional().describe('JSON object of configuration values (needed when the connector URLs use placeholders).'),
});

function parseConfiguration(raw: string | undefined): Record<string, string | number | boolean> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new PlugboardError('VALIDATION_FAILED', 'The configuration query parameter is not JSON.', { details: [{ path: 'query.configuration', message: 'expected a JSON object such as {"domain":"acme"}' }] });
  }
  const parsed = ConfigurationSchema.safeParse(value);
  if (!parsed.success) {
    throw new PlugboardError('VALIDATION_FAILED', 'The configuration query parameter is not an object of text, number or boolean values.', {
      details: parsed.error.issues.map((issue) => ({ path: ['query', 'configuration', ...issue.path.map(String)].join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

export default defineRoute({
  method: 'GET',
  url: '/elements/:key/oauth/url',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Start an OAuth authorization for a connector',
  tags: ['instances'],
  schema: {
    params: z.strictObject({ key: z.string().min(1).max(63) }),
    querystring: Query,
    response: { 200: z.object({ oauthUrl: z.string(), element: z.string() }) },
  },
  async handler(request) {
    const q = request.query;
    if ((q.apiKey === undefined) !== (q.apiSecret === undefined)) {
      throw new PlugboardError('VALIDATION_FAILED', 'apiKey and apiSecret go together.', { details: [{ path: q.apiKey === undefined ? 'query.apiKey' : 'query.apiSecret', message: 'expected apiKey and apiSecret together (the OAuth client id and secret)' }] });
    }
    return startAuthorization(request.ctx, request.principal.orgId, {
      elementKey: request.params.key,
      callbackUrl: q.callbackUrl,
      returnUrl: q.returnUrl,
      clientState: q.state,
      scope: q.scope,
      oauthClient: q.apiKey !== undefined && q.apiSecret !== undefined ? { clientId: q.apiKey, clientSecret: q.apiSecret } : undefined,
      instanceId: q.instanceId,
      pending: { name: q.name, externalUserId: q.externalUserId, tags: tagList(q.tags), configuration: parseConfiguration(q.configuration) },
    });
  },
});
