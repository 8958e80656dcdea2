/**
 * Flow fixtures shared by the flow engine tests and benchmark: a Box-like connector with the `httpHelper` helper and a
 * `_revoke` flow that follows seed 000 card for card, plus small builders for one-off flows.
 */
import type { CardDef, FlowDefinition, ValueType } from '../../src/flows/schema.ts';

export const HTTP_HELPER: FlowDefinition = {
  name: 'httpHelper',
  kind: 'helper',
  description: 'One authenticated request to the provider',
  inputs: {
    relative_url: { type: 'text', required: true },
    request_method: { type: 'text', required: true },
    query: 'object',
    headers: 'object',
    body: 'any',
    connection: { type: 'object', required: true },
  },
  outputs: { status_code: 'number', headers: 'object', body: 'any' },
  cards: [
    {
      id: 'target',
      type: 'assignIf',
      a: { $ref: 'input.relative_url' },
      comparison: 'contains',
      b: '://',
      ifTrue: { $ref: 'input.relative_url' },
      ifFalse: { $template: '{{ input.connection.baseUrl }}{{ input.relative_url }}' },
      output: 'url',
      outputType: 'text',
    },
    {
      id: 'credentials',
      type: 'objectConstruct',
      base: { $ref: 'input.headers' },
      values: { Authorization: { $template: 'Bearer {{ input.connection.accessToken }}' } },
      output: 'headers',
    },
    {
      id: 'request',
      type: 'http',
      url: { $ref: 'target.url' },
      method: { $ref: 'input.request_method' },
      headers: { $ref: 'credentials.headers' },
      query: { $ref: 'input.query' },
      body: { $ref: 'input.body' },
    },
    {
      type: 'return',
      values: {
        status_code: { $ref: 'request.statusCode' },
        headers: { $ref: 'request.headers' },
        body: { $ref: 'request.body' },
      },
    },
  ],
};

/** The provider answers `_revoke` works with; the benchmark's hand-written revoke uses the same ones. */
export const REVOKE_URL = 'https://api.box.test/oauth2/revoke';
export const UNREGISTER_URL = 'https://app.box.test/account/security';
export const MANUAL_TEXT = 'We were unable to completely revoke access to Box. Please visit your account page to manually remove access.';
export const REVOKED_MESSAGE = 'The access token was successfully revoked.';

export const REVOKE: FlowDefinition = {
  name: '_revoke',
  kind: 'revoke',
  description: 'Revoke an access token from the Box service',
  saveData: true,
  outputs: { revoked: 'boolean', message: 'object', serviceResponse: 'object' },
  cards: [
    {
      id: 'attempt',
      type: 'ifError',
      try: [
        {
          id: 'call',
          type: 'callFlow',
          flow: 'httpHelper',
          inputs: {
            relative_url: REVOKE_URL,
            request_method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            query: {},
            body: {
              client_id: { $ref: 'auth.clientId' },
              client_secret: { $ref: 'auth.clientSecret' },
              token: { $ref: 'auth.refreshToken' },
            },
            connection: { $ref: 'auth' },
          },
          outputs: { status_code: 'number', headers: 'object', body: 'any' },
        },
        { id: 'done', type: 'assign', values: { message: REVOKED_MESSAGE } },
      ],
      catch: [],
      outputs: {
        status_code: { try: { $ref: 'call.status_code' }, catch: 0 },
        message: { try: { $ref: 'done.message' }, catch: { $ref: 'error.message' } },
      },
    },
    {
      id: 'check',
      type: 'assignIf',
      a: { $ref: 'attempt.status_code' },
      comparison: 'equal',
      b: 200,
      ifTrue: true,
      ifFalse: false,
      output: 'revoked',
      outputType: 'boolean',
    },
    {
      id: 'manual',
      type: 'objectConstruct',
      values: {
        unregisterURL: UNREGISTER_URL,
        text: MANUAL_TEXT,
      },
      output: 'message',
    },
    {
      id: 'response',
      type: 'objectConstruct',
      values: { statusCode: { $ref: 'attempt.status_code' }, body: { $ref: 'attempt.message' } },
      output: 'serviceResponse',
    },
    {
      type: 'return',
      values: {
        revoked: { $ref: 'check.revoked' },
        message: { $ref: 'manual.message' },
        serviceResponse: { $ref: 'response.serviceResponse' },
      },
    },
  ],
};

export const AUTHPING: FlowDefinition = {
  name: '_authping',
  kind: 'authping',
  outputs: { working: 'boolean', message: 'text', serviceResponse: 'object' },
  cards: [
    {
      id: 'me',
      type: 'callFlow',
      flow: 'httpHelper',
      inputs: { relative_url: '/users/me', request_method: 'GET', connection: { $ref: 'auth' } },
    },
    { id: 'ok', type: 'assignIf', a: { $ref: 'me.status_code' }, comparison: 'equal', b: 200, ifTrue: true, ifFalse: false, output: 'working' },
    { id: 'text', type: 'assignIf', a: { $ref: 'ok.working' }, comparison: 'equal', b: true, ifTrue: 'Connection works', ifFalse: { $template: 'The provider answered {{ me.status_code }}' }, output: 'message' },
    { id: 'response', type: 'objectConstruct', values: { statusCode: { $ref: 'me.status_code' }, body: { $ref: 'me.body' } }, output: 'serviceResponse' },
    { type: 'return', values: { working: { $ref: 'ok.working' }, message: { $ref: 'text.message' }, serviceResponse: { $ref: 'response.serviceResponse' } } },
  ],
};

export const BOX_FLOWS: FlowDefinition[] = [HTTP_HELPER, REVOKE, AUTHPING];

export const FILE = 'connectors/box.yaml';

/** A single action flow with the given cards and outputs, for card-level tests. */
export function action(cards: CardDef[], outputs: Record<string, ValueType> = {}, extra: Partial<FlowDefinition> = {}): FlowDefinition {
  return { name: 'act', kind: 'action', outputs, cards, ...extra };
}

/** A deep copy, so tests can break one field without touching the shared fixture. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
