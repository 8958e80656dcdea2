/**
 * The API shapes the console reads, as the REST API documents them (`/openapi.json`), plus small readers that turn a
 * connector definition into what a person wants to know: its auth type, its fields, and how it revokes. Fields the
 * server may omit are optional here; pages show a dash for them rather than guessing.
 */

import type { ErrorDetail } from './api.ts';

export type ConnectionStatus = 'active' | 'invalid' | 'disabled' | 'revoked';
export const CONNECTION_STATUSES: ConnectionStatus[] = ['active', 'invalid', 'disabled', 'revoked'];

export interface FlowCard {
  id?: string;
  type: string;
  [field: string]: unknown;
}

export interface Flow {
  name: string;
  kind: string;
  description?: string;
  saveData?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  cards?: FlowCard[];
}

export interface AuthField {
  name: string;
  label?: string;
  description?: string;
  secret?: boolean;
  required?: boolean;
  in?: string;
}

/** The validated connector definition (defaults applied), as `GET /elements/{key}` returns it in `definition`. */
export interface Definition {
  auth?: { type: string; [field: string]: unknown };
  flows?: Flow[];
  [field: string]: unknown;
}

export interface ConfigurationField {
  key: string;
  label: string;
  description?: string;
  required?: boolean;
  default?: string;
}

/** A connector as the organization sees it (`GET /elements`); the detail adds the full `definition`. */
export interface Element {
  key: string;
  name: string;
  description?: string;
  origin?: 'builtin' | 'private' | string;
  version?: number;
  authType?: string;
  baseUrl?: string;
  configuration?: unknown;
  unregisterUrl?: string | null;
  /** Provenance of the revocation recipe (from the revoke catalogue): style, whether it is confirmed, the source. */
  revocation?: { style?: string; confirmed?: boolean; source?: string | null; statement?: string } | null;
  flows?: { names?: string[]; authping?: boolean; revoke?: boolean };
  oauthApp?: { clientId: string; updatedAt?: string } | null;
  definition?: Definition;
}

export interface Instance {
  id: string;
  name: string;
  element: { key: string; name?: string };
  tags?: string[];
  externalUserId?: string | null;
  status: ConnectionStatus | string;
  valid?: boolean;
  disabled?: boolean;
  disabledReason?: string | null;
  createdDate?: string;
  updatedDate?: string;
  lastAuthenticatedAt?: string | null;
  expiresAt?: string | null;
  authType?: string;
  configuration?: Record<string, unknown>;
  baseUrl?: string | null;
}

export interface ServiceResponse {
  statusCode?: number | null;
  body?: unknown;
}

/** `POST /instances/{id}/authping`; `working` is null when the connector has no authping flow to run. */
export interface AuthpingResult {
  instanceId?: string;
  working: boolean | null;
  message?: string;
  /** What the provider answered the authping flow; null when no flow ran. */
  serviceResponse?: ServiceResponse | null;
  executionId?: string | null;
  refreshed?: boolean;
  valid?: boolean;
  status?: string;
  checkedAt?: string;
}

/** The outcome of `POST /instances/{id}/revoke` and `DELETE /instances/{id}`. */
export interface RevokeOutcome {
  id?: string;
  revocationId?: string;
  revoked: boolean;
  verified?: boolean;
  pending?: boolean;
  message?: { text?: string; unregisterURL?: string | null } | string;
  serviceResponse?: ServiceResponse;
  executionId?: string;
}

export interface PlatformEvent {
  id: string;
  type: string;
  instanceId: string | null;
  occurredAt: string;
  data?: Record<string, unknown>;
}

/** One card run inside an execution, in execution order (`seq`), helpers' cards included (`depth` > 0). */
export interface ExecutionCard {
  seq?: number;
  /** The flow the card belongs to (a helper's name for cards run by Call Flow). */
  flow?: string;
  /** Where the card sits in its flow: `cards[attempt].try[call]`. */
  card?: string;
  cardId?: string | null;
  type?: string;
  depth?: number;
  startedAt?: string;
  durationMs?: number;
  inputs?: unknown;
  outputs?: unknown;
  error?: { code?: string; message?: string; details?: ErrorDetail[] } | null;
}

export interface Execution {
  id: string;
  connectorKey?: string;
  connectionId?: string | null;
  flow: string;
  flowKind?: string;
  /** What ran it: authping, revoke, delete, erasure, run, ... */
  trigger?: string | null;
  status: 'succeeded' | 'failed' | string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  cardsExecuted?: number;
  saveData?: boolean;
  inputs?: unknown;
  outputs?: unknown;
  error?: { code?: string; message?: string; details?: ErrorDetail[] } | null;
  cards?: ExecutionCard[];
}

/** One connection in an erasure receipt. */
export interface ErasureItem {
  instanceId: string;
  connector: string;
  status: 'pending' | 'revoked' | 'failed' | 'manual' | string;
  revoked: boolean;
  verified: boolean;
  method: 'flow' | 'rfc7009' | 'manual' | null;
  at: string | null;
  providerStatus: number | null;
  attempts: number;
  manualStep: { text: string; unregisterURL: string | null } | null;
}

export interface ErasureSubject {
  kind: 'externalUserId' | 'instanceIds' | 'tag' | string;
  externalUserId?: string;
  externalUserIdHash?: string;
  tag?: string;
  instanceIds?: string[];
}

/** An erasure request as listed (`GET /erasure-requests`); the receipt adds totals and connections. */
export interface ErasureSummary {
  id: string;
  status: 'pending' | 'running' | 'completed' | 'completed_with_manual_steps' | string;
  subject: ErasureSubject;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  total: number;
  remaining: number;
}

export interface ErasureReceipt extends ErasureSummary {
  totals: { connections: number; pending: number; revoked: number; verified: number; failed: number; manual: number };
  connections: ErasureItem[];
  nextCursor: string | null;
}

export function describeSubject(subject: ErasureSubject): string {
  if (subject.kind === 'externalUserId') return `external user ${subject.externalUserId ?? `(hashed ${subject.externalUserIdHash ?? ''})`}`;
  if (subject.kind === 'tag') return `tag ${subject.tag ?? ''}`;
  if (subject.kind === 'instanceIds') return `${subject.instanceIds?.length ?? 0} connection(s)`;
  return subject.kind;
}

export interface Webhook {
  id: string;
  url: string;
  description?: string | null;
  events: string[];
  enabled: boolean;
  createdAt?: string;
  updatedAt?: string;
}

export interface WebhookDelivery {
  id: string;
  webhookId?: string;
  eventId?: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed' | string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt?: string | null;
  nextAttemptAt?: string | null;
  deliveredAt?: string | null;
  createdAt?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Reads a list answer. The API returns `{ items, nextCursor }` for paginated collections; a few collections are
 * plain arrays or keyed by their resource name, and all three forms are accepted here.
 */
export function toPage<T>(value: unknown, names: string[] = []): Page<T> {
  if (Array.isArray(value)) return { items: value as T[], nextCursor: null };
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const name of ['items', 'data', 'results', ...names]) {
      if (Array.isArray(record[name])) {
        const cursor = record.nextCursor ?? record.cursor ?? null;
        return { items: record[name] as T[], nextCursor: typeof cursor === 'string' && cursor !== '' ? cursor : null };
      }
    }
  }
  return { items: [], nextCursor: null };
}

const AUTH_TYPE_LABELS: Record<string, string> = {
  oauth2_authorization_code: 'OAuth 2.0 authorization code',
  oauth2_client_credentials: 'OAuth 2.0 client credentials',
  basic: 'Basic (username and password)',
  custom: 'Custom field (API key)',
};

export function authType(element: Element): string {
  return element.authType ?? element.definition?.auth?.type ?? 'unknown';
}

export function authTypeLabel(type: string): string {
  return AUTH_TYPE_LABELS[type] ?? type;
}

export function isAuthorizationCode(element: Element): boolean {
  return authType(element) === 'oauth2_authorization_code';
}

export function isClientCredentials(element: Element): boolean {
  return authType(element) === 'oauth2_client_credentials';
}

export function isOAuth(element: Element): boolean {
  return isAuthorizationCode(element) || isClientCredentials(element);
}

/** OAuth settings live on the definition's `auth` (`auth.tokenUrl`, `auth.revocationUrl`, ...). */
export function oauthSetting(element: Element, name: string): string | undefined {
  const value = element.definition?.auth?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The secret fields a person fills in to connect with basic or custom-field (API key) auth. */
export function authFields(element: Element): AuthField[] {
  const type = authType(element);
  if (type === 'basic') {
    return [
      { name: 'username', label: 'Username', required: true, secret: false },
      { name: 'password', label: 'Password', required: true, secret: true },
    ];
  }
  if (type === 'custom') {
    const auth = element.definition?.auth;
    return [
      {
        name: 'apiKey',
        label: typeof auth?.label === 'string' ? auth.label : 'API key',
        description: typeof auth?.description === 'string' ? auth.description : undefined,
        required: true,
        secret: true,
      },
    ];
  }
  return [];
}

/** Non-secret per-connection values (a subdomain, a data centre) that fill `{name}` placeholders in the URLs. */
export function configurationFields(element: Element): ConfigurationField[] {
  const declared = element.configuration;
  if (!Array.isArray(declared)) return [];
  return declared.filter(
    (field): field is ConfigurationField =>
      field !== null && typeof field === 'object' && typeof (field as { key?: unknown }).key === 'string',
  );
}

/** Case-insensitive match of a search text against a connector's name, key and description; blank matches all. */
export function matchesText(element: Element, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (needle === '') return true;
  return [element.name, element.key, element.description ?? ''].some((value) => value.toLowerCase().includes(needle));
}

/** The flows with their cards (detail only: the list answer carries flow names). */
export function flowsOf(element: Element): Flow[] {
  const flows = element.definition?.flows;
  return Array.isArray(flows) ? flows : [];
}

export function flowCount(element: Element): number {
  return element.flows?.names?.length ?? flowsOf(element).length;
}

export function unregisterUrl(element: Element): string | undefined {
  const direct = element.unregisterUrl;
  return typeof direct === 'string' && direct !== '' ? direct : undefined;
}

export type RevocationStyle =
  | { kind: 'flow'; flowName: string; cards?: number }
  | { kind: 'rfc7009'; url?: string }
  | { kind: 'manual'; unregisterUrl?: string };

/**
 * How the connector revokes: its own revoke flow wins (the platform runs it), then a declared RFC 7009 revocation
 * endpoint, else nothing automatic: a person removes the access by hand at the unregister URL. The list answer
 * carries no URLs, so there an OAuth connector without a revoke flow whose catalogue style is not `none` is taken to
 * use its revocation endpoint; the detail answer (with the definition) decides exactly.
 */
export function revocationStyle(element: Element): RevocationStyle {
  const flow = flowsOf(element).find((candidate) => candidate.kind === 'revoke');
  if (flow !== undefined) return { kind: 'flow', flowName: flow.name, cards: flow.cards?.length };
  if (element.definition === undefined && element.flows?.revoke === true) {
    return { kind: 'flow', flowName: element.flows.names?.includes('_revoke') === true ? '_revoke' : 'revoke' };
  }
  const url = oauthSetting(element, 'revocationUrl');
  if (url !== undefined) return { kind: 'rfc7009', url };
  if (element.definition === undefined && isOAuth(element) && element.revocation?.style !== 'none') return { kind: 'rfc7009' };
  return { kind: 'manual', unregisterUrl: unregisterUrl(element) };
}

export function revocationLabel(style: RevocationStyle): string {
  if (style.kind === 'flow') return `Custom ${style.flowName} flow`;
  if (style.kind === 'rfc7009') return 'RFC 7009 revocation endpoint';
  return 'Manual (unregister URL)';
}

/** A revocation message as text and an unregister URL, either possibly absent (empty strings count as absent). */
export function messageText(message: RevokeOutcome['message'] | ErasureItem['manualStep']): { text?: string; unregisterURL?: string } {
  if (message === null || message === undefined) return {};
  if (typeof message === 'string') return message === '' ? {} : { text: message };
  const out: { text?: string; unregisterURL?: string } = {};
  if (typeof message.text === 'string' && message.text !== '') out.text = message.text;
  if (typeof message.unregisterURL === 'string' && message.unregisterURL !== '') out.unregisterURL = message.unregisterURL;
  return out;
}

