/**
 * Erasure receipts as the API shows them: the request's subject (the external id, or only its hash), status and
 * timestamps, totals, and one line per connection (connector, revoked, verified, when, provider status, attempts, and
 * the manual step where one remains). Nothing else about the person is kept or shown. Cursors are opaque and checked.
 */
import type { Kysely } from 'kysely';
import { PlugboardError } from '../core/errors.ts';
import type { Database } from '../store/schema.ts';
import { decodeCursor, decodeIdCursor, encodeIdCursor, nextCursorOf } from '../store/cursor.ts';
import { erasureItems, erasureTotals, getErasureRequest, listErasureRequests, type ErasureRequestTable, type RevocationTable } from '../store/revocations.ts';
import type { ErasureReceiptBody } from '../api/contracts/revocation.ts';

export function erasureSummary(row: ErasureRequestTable) {
  const subject: ErasureReceiptBody['subject'] = { kind: row.subject_kind };
  if (row.subject_kind === 'externalUserId') {
    if (row.subject_hash !== null) subject.externalUserIdHash = row.subject_hash;
    else if (row.subject !== null) subject.externalUserId = row.subject;
  } else if (row.subject_kind === 'tag' && row.subject !== null) {
    subject.tag = row.subject;
  } else if (row.subject_kind === 'instanceIds') {
    subject.instanceIds = JSON.parse(row.instance_ids ?? '[]') as string[];
  }
  return {
    id: row.id,
    status: row.status,
    subject,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    total: row.total,
    remaining: row.remaining,
  };
}

function itemView(row: RevocationTable) {
  const manual = row.status !== 'pending' && row.revoked === 0;
  return {
    instanceId: row.instance_id,
    connector: row.element_key,
    status: row.status,
    revoked: row.revoked === 1,
    verified: row.verified === 1,
    method: row.method,
    at: row.completed_at,
    providerStatus: row.provider_status,
    attempts: row.attempts,
    manualStep: manual ? { text: row.message_text ?? 'Remove the access by hand in the provider\'s connected-apps settings.', unregisterURL: row.unregister_url } : null,
  };
}

export async function erasureReceipt(db: Kysely<Database>, orgId: string, id: string, limit: number, cursor: string | undefined): Promise<ErasureReceiptBody> {
  const request = await getErasureRequest(db, orgId, id);
  if (request === undefined) {
    throw new PlugboardError('NOT_FOUND', `No erasure request ${id} in this organization.`, {
      details: [{ path: 'params.id', message: 'expected the id returned by POST /erasure-requests (GET /erasure-requests lists them)' }],
    });
  }
  const after = cursor === undefined ? null : decodeIdCursor(cursor);
  const rows = await erasureItems(db, orgId, id, limit + 1, after);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    ...erasureSummary(request),
    totals: await erasureTotals(db, orgId, id),
    connections: page.map(itemView),
    nextCursor: rows.length > limit && last !== undefined ? encodeIdCursor(last.id) : null,
  };
}

export async function erasureList(db: Kysely<Database>, orgId: string, limit: number, cursor: string | undefined) {
  const before = cursor === undefined ? null : decodeCursor(cursor);
  const rows = await listErasureRequests(db, orgId, limit + 1, before === null ? null : { createdAt: before.time, id: before.id });
  return {
    items: rows.slice(0, limit).map(erasureSummary),
    nextCursor: nextCursorOf(rows, limit, (row) => ({ time: row.created_at, id: row.id })),
  };
}
