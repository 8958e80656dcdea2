/**
 * `GET /keyring`: the data-key versions (never the keys): which one seals new secrets, which are still in use and
 * how many rows each still seals. Platform administrators only.
 */
import { listKeyVersions } from '../store/keyring.ts';
import { defineRoute } from './route.ts';
import { KeyringSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'GET',
  url: '/keyring',
  auth: 'org',
  permission: 'platform:admin',
  summary: 'List data-key versions',
  tags: ['keyring'],
  schema: { response: { 200: KeyringSchema } },
  async handler({ ctx }) {
    const current = ctx.keyring.current().version;
    const versions = await listKeyVersions(ctx.store.db);
    return { versions: versions.map((v) => ({ ...v, current: v.version === current })), masterKeySource: ctx.masterKeys.source };
  },
});
