/**
 * App JWTs for the `app-jwt` revoke style, imitating a GitHub App: each sandbox client can have an RSA key pair
 * (made on first use, kept in memory), the admin hands out the private key or a JWT signed with it, and the
 * uninstall endpoint accepts a bearer JWT only when its RS256 signature verifies with that client's public key, `iss`
 * names the client, and it is current and lives at most ten minutes (GitHub's limit, with a minute of clock drift).
 * @see RFC 7519 §7.2 (validating a JWT), RFC 7518 §3.3 (RS256)
 */
import { createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface AppKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** GitHub refuses app JWTs whose `exp` is more than ten minutes ahead. */
export const MAX_APP_JWT_SECONDS = 600;
const DRIFT_SECONDS = 60;

export type AppJwtCheck = { ok: true; clientId: string } | { ok: false; message: string };

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export class AppKeys {
  private readonly pairs = new Map<string, AppKeyPair>();

  /** The client's key pair, made on first use. */
  pair(clientId: string): AppKeyPair {
    let pair = this.pairs.get(clientId);
    if (!pair) {
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.pairs.set(clientId, pair);
    }
    return pair;
  }

  /** A JWT for `clientId`, issued at `nowMs` (sandbox clock) and valid for `lifetimeSeconds`. */
  sign(clientId: string, nowMs: number, lifetimeSeconds: number): string {
    const iat = Math.floor(nowMs / 1000);
    const input = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ iss: clientId, iat, exp: iat + lifetimeSeconds })}`;
    const signature = createSign('RSA-SHA256').update(input).sign(this.pair(clientId).privateKey).toString('base64url');
    return `${input}.${signature}`;
  }

  /** Check a bearer JWT at `nowMs`; the messages follow GitHub's 401 answers. */
  verify(jwt: string, nowMs: number, knownClient: (id: string) => boolean): AppJwtCheck {
    const parts = jwt.split('.');
    if (parts.length !== 3) return { ok: false, message: 'A JSON web token could not be decoded' };
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return { ok: false, message: 'A JSON web token could not be decoded' };
    }
    if (header === null || typeof header !== 'object' || claims === null || typeof claims !== 'object') return { ok: false, message: 'A JSON web token could not be decoded' };
    // RFC 8725 §3.1: the algorithm is fixed by the verifier, never taken from the token.
    if (header.alg !== 'RS256') return { ok: false, message: `'alg' must be RS256, got ${JSON.stringify(header.alg)}` };
    const iss = claims.iss;
    if (typeof iss !== 'string' || !knownClient(iss)) return { ok: false, message: "'Issuer' claim ('iss') must be the app's client id" };
    const pair = this.pairs.get(iss);
    const valid = pair !== undefined && createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(pair.publicKey, Buffer.from(parts[2], 'base64url'));
    if (!valid) return { ok: false, message: "the JWT signature does not verify with the app's key" };
    const now = Math.floor(nowMs / 1000);
    const { iat, exp } = claims;
    if (typeof exp !== 'number' || exp <= now) return { ok: false, message: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires" };
    if (typeof iat !== 'number' || iat > now + DRIFT_SECONDS) return { ok: false, message: "'Issued at' claim ('iat') must be a numeric value in the past" };
    if (exp - iat > MAX_APP_JWT_SECONDS) return { ok: false, message: "'Expiration time' claim ('exp') is too far in the future (at most 10 minutes after 'iat')" };
    return { ok: true, clientId: iss };
  }
}
