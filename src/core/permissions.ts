/**
 * Permissions carried by API keys and user roles. A route declares the one permission it needs; the admin API key
 * created at first start has every permission including `platform:admin` (manage all organizations and the master
 * keyring). Keys of other organizations never get `platform:admin`, which keeps tenants apart even for their admins.
 */

export const PERMISSIONS = [
  'platform:admin',
  'organizations:read',
  'organizations:write',
  'api-keys:read',
  'api-keys:write',
  'elements:read',
  'elements:write',
  'instances:read',
  'instances:write',
  'credentials:read',
  'events:read',
  'executions:read',
  'executions:write',
  'webhooks:read',
  'webhooks:write',
  'erasure:read',
  'erasure:write',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** Everything an organization's own admin may do: all but platform administration. */
export const ORG_ADMIN_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((p) => p !== 'platform:admin');

/** What a `member` user may do: read everything of the organization, connect and run, but not manage keys. */
export const MEMBER_PERMISSIONS: readonly Permission[] = [
  'organizations:read', 'elements:read', 'instances:read', 'instances:write', 'events:read', 'executions:read', 'executions:write', 'webhooks:read', 'erasure:read',
];

export type Role = 'platform-admin' | 'admin' | 'member';

export function permissionsOfRole(role: string): readonly Permission[] {
  if (role === 'platform-admin') return PERMISSIONS;
  if (role === 'admin') return ORG_ADMIN_PERMISSIONS;
  if (role === 'member') return MEMBER_PERMISSIONS;
  return [];
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}
