/** The form encoding against URLSearchParams, the reference serializer, on every kind of character. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientBasicCredentials, formUrlEncode } from './form.ts';

const reference = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);

test('formUrlEncode writes what URLSearchParams writes', () => {
  const samples = ['', 'plain', 'a b', "!'()*~-._", '%+&=?#/:;@[]', 'café ünïcödé', '日本語', '😀', '\u0000\u001f\u007f', 'a\uD800b', '\uDC00'];
  // Every ASCII character alone, then random strings over a mix of ranges.
  for (let code = 0; code < 128; code += 1) samples.push(String.fromCharCode(code));
  for (let n = 0; n < 500; n += 1) {
    samples.push(Array.from({ length: 1 + (n % 17) }, (_, i) => String.fromCodePoint([0x20 + ((n * 7 + i * 13) % 95), 0xa0 + ((n + i) % 300), 0x1f300 + ((n * i) % 200)][(n + i) % 3] as number)).join(''));
  }
  for (const sample of samples) assert.equal(formUrlEncode(sample), reference(sample), JSON.stringify(sample));
});

test('clientBasicCredentials encodes id and secret before joining them (RFC 6749 section 2.3.1)', () => {
  assert.equal(Buffer.from(clientBasicCredentials('my app', "s3cr:t!'()"), 'base64').toString(), "my+app:s3cr%3At%21%27%28%29");
  assert.equal(clientBasicCredentials('plain', 'secret'), Buffer.from('plain:secret').toString('base64'));
});
