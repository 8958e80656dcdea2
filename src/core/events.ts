/**
 * The one list of event types Plugboard records. `LIFECYCLE_EVENT_TYPES` is the list issue 7 promises to integrations
 * (connection life cycle and erasure); `EXTRA_EVENT_TYPES` are further facts the platform records beside them
 * (settings changed, validity restored by a health check, credentials read, the instance token rotated). Webhooks
 * subscribe to these names, `POST /webhooks` refuses any other, and the console's webhook form offers exactly this
 * list, so a typo can never become a subscription that silently never fires. Pure data: the console imports it too.
 */

export const LIFECYCLE_EVENT_TYPES = [
  'instance.created',
  'instance.reauthenticated',
  'instance.refreshed',
  'instance.refresh_failed',
  'instance.invalidated',
  'instance.disabled',
  'instance.enabled',
  'instance.revoked',
  'instance.deleted',
  'erasure.completed',
] as const;

export const EXTRA_EVENT_TYPES = [
  'instance.updated',
  'instance.validated',
  'instance.credentials.read',
  'instance.token_rotated',
] as const;

/** Every event type a webhook can subscribe to, the list first. */
export const KNOWN_EVENT_TYPES = [...LIFECYCLE_EVENT_TYPES, ...EXTRA_EVENT_TYPES] as const;

export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

/** Subscribes a webhook to every known event type, including ones added later. */
export const ALL_EVENTS_WILDCARD = '*';
