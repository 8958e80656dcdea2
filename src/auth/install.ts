/**
 * Plugs the connections area into the application context at start: the `Element <instanceToken>` resolver used by
 * the server's authentication. The token is matched by its lookup prefix and then by hash in constant time; it must
 * belong to the caller's organization, and a disabled or revoked connection's token is refused like an unknown one.
 */
import type { AppContext } from '../context.ts';
import { findConnectionByTokenLookup } from '../store/connections.ts';
import { secretMatches } from '../crypto/secret-hash.ts';
import { parseInstanceToken } from './instances.ts';

export async function install(ctx: AppContext): Promise<void> {
  ctx.hooks.resolveInstanceToken = async (context, { orgId, instanceToken }) => {
    const parsed = parseInstanceToken(instanceToken);
    if (parsed === null) return null;
    const row = await findConnectionByTokenLookup(context.store.db, parsed.lookup);
    if (row === undefined || !secretMatches(instanceToken, row.token_hash)) return null;
    if (row.org_id !== orgId || row.disabled === 1 || row.revoked === 1) return null;
    return { instanceId: row.id };
  };
}
