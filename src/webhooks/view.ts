/** The public shape of a webhook (the API, CLI and console view): the stored event types as `events`, no secret. */
import type { Webhook } from './store.ts';

export function webhookView(w: Webhook) {
  return { id: w.id, url: w.url, description: w.description, events: w.eventTypes, enabled: w.enabled, createdAt: w.createdAt, updatedAt: w.updatedAt };
}
