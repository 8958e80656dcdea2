/**
 * Seal + open of one secret (a 40-byte access token) through the vault, against a baseline of raw AES-256-GCM
 * encrypt + decrypt of the same bytes with node:crypto (no envelope, no associated data) in the same run. Rounds
 * alternate the order of the two variants; the median of rounds is reported. Target (issue 2): <= 20 us per
 * seal + open.
 *
 *   node bench/vault.ts [--rounds 7] [--ops 20000] [--json]
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createVault } from '../src/crypto/vault.ts';
import { Keyring, newDataKey } from '../src/crypto/keyring.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, ops: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const ops = Number(values.ops);

const keyring = new Keyring();
keyring.replace([{ version: 1, key: newDataKey(), activatesAt: 0 }]);
const vault = createVault(keyring);
const binding = { orgId: 'Xq3v9b1S2d8f7g6h5j4k3l', table: 'connections', rowId: 'Zq3v9b1S2d8f7g6h5j4k3l', field: 'access_token' };
const secret = `gho_${randomBytes(18).toString('hex')}`;
const rawKey = randomBytes(32);

function viaVault(): void {
  if (vault.open(vault.seal(secret, binding), binding) !== secret) throw new Error('vault round trip failed');
}

function viaRawGcm(): void {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', rawKey, iv);
  const body = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
  const tag = c.getAuthTag();
  const d = createDecipheriv('aes-256-gcm', rawKey, iv);
  d.setAuthTag(tag);
  if (Buffer.concat([d.update(body), d.final()]).toString('utf8') !== secret) throw new Error('raw round trip failed');
}

function perOpMicros(fn: () => void): number {
  const start = performance.now();
  for (let i = 0; i < ops; i++) fn();
  return ((performance.now() - start) * 1000) / ops;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

for (let i = 0; i < 2000; i++) { viaVault(); viaRawGcm(); }
const results: Array<{ vault: number; raw: number; ratio: number }> = [];
for (let round = 0; round < rounds; round++) {
  let v: number;
  let r: number;
  if (round % 2 === 0) { v = perOpMicros(viaVault); r = perOpMicros(viaRawGcm); } else { r = perOpMicros(viaRawGcm); v = perOpMicros(viaVault); }
  results.push({ vault: v, raw: r, ratio: v / r });
}
const summary = { rounds, ops, vaultMicros: median(results.map((x) => x.vault)), rawGcmMicros: median(results.map((x) => x.raw)), ratio: median(results.map((x) => x.ratio)), targetMicros: 20 };
if (values.json) process.stdout.write(`${JSON.stringify({ summary, results }, null, 2)}\n`);
else process.stdout.write(`seal+open: vault ${summary.vaultMicros.toFixed(2)} us, raw AES-256-GCM ${summary.rawGcmMicros.toFixed(2)} us, ratio ${summary.ratio.toFixed(2)} (target <= 20 us)\n`);
