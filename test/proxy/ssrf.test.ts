/**
 * The SSRF matrix: every spelling of a forbidden address is classified and refused by URL, at connect time (DNS
 * rebinding through an injected resolver) and after redirects; credentials never follow a redirect to another origin.
 * Only loopback servers are started; nothing leaves the machine.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, buildConnector } from 'undici';
import {
  assertUrlAllowed,
  classifyAddress,
  classifyHostName,
  createGuardedConnector,
  parseIPv4,
  STRICT_TARGET_POLICY,
} from '../../src/proxy/ssrf.ts';
import type { AddressResolver, TargetPolicy } from '../../src/proxy/ssrf.ts';
import { requestOutbound } from '../../src/proxy/outbound.ts';
import { isPlugboardError } from '../../src/core/errors.ts';

const OPT_IN: TargetPolicy = { allowPrivateTargets: true };

const MATRIX: Array<[string, string]> = [
  // loopback in every spelling
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['017700000001', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['[::ffff:7f00:1]', 'loopback'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['2002:7f00:1::', 'loopback'],
  ['::127.0.0.1', 'loopback'],
  // private
  ['10.0.0.1', 'private'],
  ['012.0.0.1', 'private'],
  ['167772161', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['0xc0.0xa8.1.1', 'private'],
  ['100.64.0.1', 'private'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:c0a8:101', 'private'],
  ['fec0::1', 'private'],
  // link-local, unique-local, metadata
  ['169.254.1.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['169.254.169.254', 'metadata'],
  ['2852039166', 'metadata'],
  ['0xa9.0xfe.0xa9.0xfe', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  // unspecified, multicast, reserved
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001:0:4136:e378::1', 'reserved'],
  // public
  ['93.184.216.34', 'public'],
  ['8.8.8.8', 'public'],
  ['172.32.0.1', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['::ffff:8.8.8.8', 'public'],
  ['64:ff9b::8.8.8.8', 'public'],
];

test('classifies every address spelling in the matrix', () => {
  for (const [address, category] of MATRIX) assert.equal(classifyAddress(address), category, address);
});

test('parses legacy IPv4 spellings as WHATWG URL does, and rejects out-of-range parts', () => {
  assert.deepEqual(parseIPv4('0x7f.1'), [127, 0, 0, 1]);
  assert.deepEqual(parseIPv4('127.0.1'), [127, 0, 0, 1]);
  assert.deepEqual(parseIPv4('4294967295'), [255, 255, 255, 255]);
  assert.equal(parseIPv4('4294967296'), null);
  assert.equal(parseIPv4('256.0.0.1'), null);
  assert.equal(parseIPv4('1.2.3.4.5'), null);
  assert.equal(parseIPv4('08.0.0.1'), null);
  assert.equal(parseIPv4('example.com'), null);
  assert.equal(parseIPv4(''), null);
});

test('classifies special host names without DNS and leaves ordinary names to connect time', () => {
  assert.equal(classifyHostName('localhost'), 'loopback');
  assert.equal(classifyHostName('LOCALHOST.'), 'loopback');
  assert.equal(classifyHostName('api.localhost'), 'loopback');
  assert.equal(classifyHostName('metadata.google.internal'), 'metadata');
  assert.equal(classifyHostName('api.example.com'), null);
});

test('refuses forbidden URLs in every spelling the URL parser accepts', () => {
  const urls = [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://10.1.2.3/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://0.0.0.0/',
    'http://localhost:8080/',
    'https://metadata.google.internal/',
  ];
  for (const u of urls) {
    assert.throws(() => assertUrlAllowed(new URL(u), STRICT_TARGET_POLICY), (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN', u);
  }
  assertUrlAllowed(new URL('https://api.example.com/v1'), STRICT_TARGET_POLICY);
});

test('refuses non-http schemes and user information in the URL', () => {
  for (const u of ['file:///etc/passwd', 'ftp://example.com/', 'gopher://example.com/', 'https://user:pw@example.com/']) {
    assert.throws(() => assertUrlAllowed(new URL(u), STRICT_TARGET_POLICY), (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN', u);
  }
});

test('the connector opt-in allows private targets but never metadata, unspecified, multicast or reserved', () => {
  assertUrlAllowed(new URL('http://127.0.0.1:8081/'), OPT_IN);
  assertUrlAllowed(new URL('http://10.0.0.5/'), OPT_IN);
  assertUrlAllowed(new URL('http://[fd00::5]/'), OPT_IN);
  for (const u of ['http://169.254.169.254/', 'http://0.0.0.0/', 'http://224.0.0.1/', 'http://240.0.0.1/', 'http://[fd00:ec2::254]/']) {
    assert.throws(() => assertUrlAllowed(new URL(u), OPT_IN), (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN', u);
  }
});

async function startServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

test('DNS rebinding: a name that resolves to loopback at connect time is refused', async () => {
  let hits = 0;
  const upstream = await startServer((_req, res) => {
    hits++;
    res.end('reached');
  });
  const port = new URL(upstream.url).port;
  // The name passes the URL check (it is an ordinary name); the resolver then answers with loopback.
  const rebinding: AddressResolver = (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
  const agent = new Agent({ connect: createGuardedConnector({ policy: STRICT_TARGET_POLICY, resolve: rebinding }) });
  try {
    await assert.rejects(
      requestOutbound({ url: new URL(`http://rebind.example.com:${port}/`), method: 'GET', headers: {}, policy: STRICT_TARGET_POLICY, dispatcher: agent }),
      (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN' && /after DNS resolution/.test(err.message),
    );
    // A mixed answer (public + private) is refused as a whole, not filtered.
    const mixed: AddressResolver = (_host, _opts, cb) => cb(null, [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }]);
    const agent2 = new Agent({ connect: createGuardedConnector({ policy: STRICT_TARGET_POLICY, resolve: mixed }) });
    await assert.rejects(
      requestOutbound({ url: new URL(`http://mixed.example.com:${port}/`), method: 'GET', headers: {}, policy: STRICT_TARGET_POLICY, dispatcher: agent2 }),
      (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN',
    );
    await agent2.close();
    assert.equal(hits, 0, 'the upstream must never be reached');
  } finally {
    await agent.close();
    await upstream.close();
  }
});

test('the connector refuses an IP literal at connect time even when the URL check is bypassed', async () => {
  const agent = new Agent({ connect: createGuardedConnector({ policy: STRICT_TARGET_POLICY }) });
  try {
    await assert.rejects(agent.request({ origin: 'http://127.0.0.1:9', path: '/', method: 'GET' }), (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN');
  } finally {
    await agent.close();
  }
});

test('redirects are re-checked: to metadata, unspecified and decimal-spelled targets they are refused', async () => {
  const targets = ['http://169.254.169.254/latest/meta-data/', 'http://0.0.0.0/', 'http://2852039166/', 'http://[::ffff:a9fe:a9fe]/'];
  let i = 0;
  const upstream = await startServer((_req, res) => {
    res.writeHead(302, { location: targets[i++ % targets.length] }).end();
  });
  try {
    for (const t of targets) {
      await assert.rejects(
        requestOutbound({ url: new URL(upstream.url + '/start'), method: 'GET', headers: {}, policy: OPT_IN }),
        (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN',
        t,
      );
    }
  } finally {
    await upstream.close();
  }
});

test('credentials are dropped when a redirect leaves the origin, kept when it stays', async () => {
  const seen: Array<{ path: string; authorization?: string; apiKey?: string }> = [];
  const other = await startServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: u.pathname, authorization: req.headers.authorization, apiKey: u.searchParams.get('api_key') ?? undefined });
    res.end('other');
  });
  const origin = await startServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: u.pathname, authorization: req.headers.authorization, apiKey: u.searchParams.get('api_key') ?? undefined });
    if (u.pathname === '/same') return res.writeHead(301, { location: '/final?api_key=k1' }).end();
    if (u.pathname === '/away') return res.writeHead(302, { location: `${other.url}/landing?api_key=k1&x=1` }).end();
    res.end('ok');
  });
  try {
    const common = { method: 'GET', policy: OPT_IN, credentialHeaders: ['authorization'], credentialQueryParameters: ['api_key'] } as const;
    const same = await requestOutbound({ ...common, url: new URL(origin.url + '/same'), headers: { authorization: 'Bearer canary-same' } });
    assert.equal(await same.body.text(), 'ok');
    assert.equal(same.redirects, 1);
    assert.deepEqual(seen.at(-1), { path: '/final', authorization: 'Bearer canary-same', apiKey: 'k1' });

    const away = await requestOutbound({ ...common, url: new URL(origin.url + '/away'), headers: { authorization: 'Bearer canary-away' } });
    assert.equal(await away.body.text(), 'other');
    assert.deepEqual(seen.at(-1), { path: '/landing', authorization: undefined, apiKey: undefined });
  } finally {
    await origin.close();
    await other.close();
  }
});

test('STRICT policy: a redirect from an allowed public host to loopback, private or link-local is refused; no credential follows', async () => {
  // Every request that reaches this loopback server is recorded with the credentials it carried. Only `/start` on the
  // allowed host may ever arrive; anything else means a redirect got through the guard.
  const arrived: Array<{ path: string; authorization: string | undefined; apiKey: string | null }> = [];
  const server = await startServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    arrived.push({ path: u.pathname, authorization: req.headers.authorization, apiKey: u.searchParams.get('api_key') });
    const to = u.searchParams.get('to');
    if (u.pathname === '/start' && to !== null) return res.writeHead(302, { location: to }).end();
    res.end('leaked');
  });
  const port = Number(new URL(server.url).port);
  const PUBLIC_HOST = 'api.public-provider.example';
  // DNS seam: names that look public but answer with forbidden addresses (rebinding on the redirect hop).
  const zone: Record<string, string> = {
    'internal.public-provider.example': '10.0.0.5',
    'rebind.public-provider.example': '127.0.0.1',
    'meta.public-provider.example': '169.254.169.254',
    'ula.public-provider.example': 'fd00::5',
  };
  const resolve: AddressResolver = (host, _opts, cb) => {
    const address = zone[host];
    if (address === undefined) return cb(Object.assign(new Error(`no such name ${host}`), { code: 'ENOTFOUND' }), []);
    cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
  };
  const guarded = createGuardedConnector({ policy: STRICT_TARGET_POLICY, resolve });
  // The allowed host stands for a real public provider: it alone is routed to the loopback server, outside the
  // guard, the way the internet would route it. Every other hop goes through the STRICT guard with the DNS seam.
  const direct = buildConnector({ timeout: 2_000 });
  const agent = new Agent({
    connect: (opts, cb) => (opts.hostname === PUBLIC_HOST ? direct({ ...opts, hostname: '127.0.0.1' }, cb) : guarded(opts, cb)),
  });
  const targets = [
    `http://127.0.0.1:${port}/landing?api_key=canary-key`,
    `http://127.9.9.9:${port}/landing`,
    `http://2130706433:${port}/landing`,
    `http://0x7f.1:${port}/landing`,
    `http://[::1]:${port}/landing`,
    `http://[::ffff:127.0.0.1]:${port}/landing`,
    `http://localhost:${port}/landing`,
    'http://10.0.0.5/landing',
    'http://192.168.1.10/landing',
    'http://172.16.0.1/landing',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/landing',
    `http://internal.public-provider.example:${port}/landing`,
    `http://rebind.public-provider.example:${port}/landing`,
    `http://meta.public-provider.example:${port}/landing`,
    `http://ula.public-provider.example:${port}/landing`,
  ];
  try {
    for (const target of targets) {
      arrived.length = 0;
      const start = new URL(`http://${PUBLIC_HOST}:${port}/start`);
      start.searchParams.set('to', target);
      start.searchParams.set('api_key', 'canary-key');
      await assert.rejects(
        requestOutbound({
          url: start,
          method: 'GET',
          headers: { authorization: 'Bearer canary-token' },
          policy: STRICT_TARGET_POLICY,
          credentialHeaders: ['authorization'],
          credentialQueryParameters: ['api_key'],
          dispatcher: agent,
        }),
        (err: unknown) => {
          assert.ok(isPlugboardError(err), `${target}: ${String(err)}`);
          assert.equal(err.code, 'TARGET_FORBIDDEN', `${target}: ${err.code} ${err.message}`);
          assert.doesNotMatch(`${err.message} ${JSON.stringify(err.details ?? [])}`, /canary/, 'the error carries no credential');
          return true;
        },
        target,
      );
      // The first hop reached the allowed host with its credentials; nothing else arrived anywhere.
      assert.deepEqual(arrived, [{ path: '/start', authorization: 'Bearer canary-token', apiKey: 'canary-key' }], target);
    }
    // Control: the same set-up follows a redirect that stays on the allowed host, so the refusals above are the guard's.
    arrived.length = 0;
    const same = new URL(`http://${PUBLIC_HOST}:${port}/start`);
    same.searchParams.set('to', '/final');
    const ok = await requestOutbound({ url: same, method: 'GET', headers: { authorization: 'Bearer canary-token' }, policy: STRICT_TARGET_POLICY, credentialHeaders: ['authorization'], dispatcher: agent });
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    assert.deepEqual(arrived.map((a) => a.path), ['/start', '/final']);
  } finally {
    await agent.close();
    await server.close();
  }
});

test('redirect loops end with PROVIDER_ERROR after the hop limit', async () => {
  const upstream = await startServer((_req, res) => res.writeHead(302, { location: '/again' }).end());
  try {
    await assert.rejects(
      requestOutbound({ url: new URL(upstream.url + '/'), method: 'GET', headers: {}, policy: OPT_IN, maxRedirects: 3 }),
      (err: unknown) => isPlugboardError(err) && err.code === 'PROVIDER_ERROR' && /more than 3/.test(err.message),
    );
  } finally {
    await upstream.close();
  }
});

test('303 turns POST into GET without the body; 307 after a streamed body is returned, not followed', async () => {
  const log: string[] = [];
  const upstream = await startServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      log.push(`${req.method} ${req.url} ${body}`);
      if (req.url === '/see-other') return res.writeHead(303, { location: '/result' }).end();
      if (req.url === '/temporary') return res.writeHead(307, { location: '/elsewhere' }).end();
      res.end('done');
    });
  });
  try {
    const r1 = await requestOutbound({ url: new URL(upstream.url + '/see-other'), method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'payload', policy: OPT_IN });
    assert.equal(await r1.body.text(), 'done');
    assert.deepEqual(log, ['POST /see-other payload', 'GET /result ']);
    const { Readable } = await import('node:stream');
    const r2 = await requestOutbound({ url: new URL(upstream.url + '/temporary'), method: 'PUT', headers: {}, body: Readable.from(['streamed']), policy: OPT_IN });
    assert.equal(r2.statusCode, 307);
    await r2.body.dump();
  } finally {
    await upstream.close();
  }
});

test('an unreachable provider maps to PROVIDER_UNREACHABLE', async () => {
  const upstream = await startServer((_req, res) => res.end());
  const url = upstream.url;
  await upstream.close();
  await assert.rejects(
    requestOutbound({ url: new URL(url + '/'), method: 'GET', headers: {}, policy: OPT_IN }),
    (err: unknown) => isPlugboardError(err) && err.code === 'PROVIDER_UNREACHABLE',
  );
});
