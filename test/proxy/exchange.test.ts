/**
 * The buffered exchange (src/proxy/exchange.ts) against a local server on an ephemeral port: the answer whole, large
 * and chunked bodies, the size bound stopping the download (failing, or cutting the answer), the time bound, the
 * caller's signal before and during the exchange (one signal shared by many exchanges), and a refused connection.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { exchange, exchangesWatching, ExchangeBodyTooLargeError, ExchangeTimeoutError } from '../../src/proxy/exchange.ts';
import { listenOnLoopback, type LoopbackServer } from './support.ts';

describe('buffered exchange', () => {
  let server: LoopbackServer;
  let origin = '';
  const agent = new Agent({ connections: 4 });
  let bigAborted = 0;

  before(async () => {
    server = await listenOnLoopback((req, res) => {
      let received = '';
      req.on('data', (chunk: Buffer) => { received += chunk.toString(); });
      req.on('end', () => {
        if (req.url === '/echo') {
          res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
          res.end(JSON.stringify({ method: req.method, body: received, auth: req.headers.authorization ?? null }));
        } else if (req.url === '/chunked') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          let n = 0;
          const timer = setInterval(() => {
            res.write(`part-${n};`);
            n += 1;
            if (n === 5) {
              clearInterval(timer);
              res.end();
            }
          }, 2);
        } else if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 'x')), 1);
          res.on('close', () => {
            clearInterval(timer);
            bigAborted += 1;
          });
        } else if (req.url === '/slow') {
          const timer = setTimeout(() => res.end('late'), 5_000);
          res.on('close', () => clearTimeout(timer));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    origin = server.url;
  });

  after(async () => {
    await agent.close();
    await server.close();
  });

  const base = { method: 'POST' as const, headers: {}, body: null, timeoutMs: 2_000, maxBodyBytes: 1024 * 1024 };

  it('sends the request and buffers the whole answer with its status and headers', async () => {
    const response = await exchange(agent, { ...base, origin, path: '/echo', headers: { authorization: 'Basic abc', 'content-type': 'text/plain' }, body: 'token=t1' });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
    assert.deepEqual(JSON.parse(response.body.toString('utf8')), { method: 'POST', body: 'token=t1', auth: 'Basic abc' });
  });

  it('joins a body that arrives in several chunks', async () => {
    const response = await exchange(agent, { ...base, method: 'GET', origin, path: '/chunked' });
    assert.equal(response.body.toString('utf8'), 'part-0;part-1;part-2;part-3;part-4;');
  });

  it('stops the download of an answer larger than the bound', async () => {
    const before = bigAborted;
    await assert.rejects(exchange(agent, { ...base, method: 'GET', origin, path: '/big', maxBodyBytes: 64 * 1024 }), (error: unknown) => {
      assert.ok(error instanceof ExchangeBodyTooLargeError);
      assert.equal(error.maxBodyBytes, 64 * 1024);
      assert.equal(error.statusCode, 200, 'the status of the answer that was too large');
      return true;
    });
    // The server sees the connection go: the download stopped rather than being read to the end and dropped.
    for (let i = 0; i < 200 && bigAborted === before; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(bigAborted, before + 1);
  });

  it("with oversize 'truncate', answers with what came before the bound and still stops the download", async () => {
    const before = bigAborted;
    const response = await exchange(agent, { ...base, method: 'GET', origin, path: '/big', maxBodyBytes: 40 * 1024, oversize: 'truncate' });
    assert.equal(response.statusCode, 200);
    assert.ok(response.body.byteLength <= 40 * 1024, `kept ${response.body.byteLength} bytes`);
    assert.ok(response.body.every((byte) => byte === 'x'.charCodeAt(0)));
    for (let i = 0; i < 200 && bigAborted === before; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(bigAborted, before + 1);
  });

  it('fails with a timeout error when no answer comes within the bound', async () => {
    const started = performance.now();
    await assert.rejects(exchange(agent, { ...base, method: 'GET', origin, path: '/slow', timeoutMs: 100 }), ExchangeTimeoutError);
    const took = performance.now() - started;
    assert.ok(took >= 95 && took < 2_000, `took ${took} ms`);
  });

  it("fails with the caller's reason when its signal aborts, for every exchange sharing that signal", async () => {
    const controller = new AbortController();
    const reason = new Error('runner stopping');
    const pending = [1, 2, 3].map(() => exchange(agent, { ...base, method: 'GET', origin, path: '/slow', signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 20);
    for (const outcome of await Promise.allSettled(pending)) {
      assert.equal(outcome.status, 'rejected');
      assert.equal((outcome as PromiseRejectedResult).reason, reason);
    }
    // Already aborted: nothing is sent.
    await assert.rejects(exchange(agent, { ...base, origin, path: '/echo', signal: controller.signal }), (error: unknown) => error === reason);
  });

  it('a signal that never aborts does not hold on to finished exchanges', async () => {
    const controller = new AbortController();
    const running = Array.from({ length: 20 }, (_, i) => exchange(agent, { ...base, origin, path: '/echo', body: `n=${i}`, signal: controller.signal }));
    assert.equal(exchangesWatching(controller.signal), 20);
    for (const response of await Promise.all(running)) assert.equal(response.statusCode, 201);
    assert.equal(exchangesWatching(controller.signal), 0);
    // Failed exchanges are released too.
    await assert.rejects(exchange(agent, { ...base, method: 'GET', origin, path: '/slow', timeoutMs: 20, signal: controller.signal }), ExchangeTimeoutError);
    assert.equal(exchangesWatching(controller.signal), 0);
  });

  it("rejects with undici's error when the connection is refused", async () => {
    // A port that was just free: listen, note the address, stop listening.
    const closed = await listenOnLoopback(() => undefined);
    await closed.close();
    await assert.rejects(exchange(agent, { ...base, origin: closed.url, path: '/' }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(!(error instanceof ExchangeTimeoutError));
      assert.match(String((error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code), /ECONNREFUSED/);
      return true;
    });
  });
});
