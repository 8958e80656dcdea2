/**
 * Unit tests of Authorization header parsing: the three accepted forms and the many near misses that must be refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthorization } from './authenticate.ts';

test('Bearer API keys parse, whatever the scheme case', () => {
  assert.deepEqual(parseAuthorization('Bearer pb_x'), { kind: 'bearer', apiKey: 'pb_x' });
  assert.deepEqual(parseAuthorization('bearer   pb_x'), { kind: 'bearer', apiKey: 'pb_x' });
});

test('User/Organization and User/Element pairs parse with flexible spacing', () => {
  assert.deepEqual(parseAuthorization('User u1, Organization o1'), { kind: 'user-organization', userSecret: 'u1', orgSecret: 'o1' });
  assert.deepEqual(parseAuthorization('User u1,Organization o1'), { kind: 'user-organization', userSecret: 'u1', orgSecret: 'o1' });
  assert.deepEqual(parseAuthorization('User u1, Element e1'), { kind: 'user-element', userSecret: 'u1', instanceToken: 'e1' });
});

test('absent, empty and malformed headers are refused', () => {
  for (const bad of [undefined, '', 'Bearer', 'Bearer a b', 'Basic dXNlcjpwYXNz', 'User u1', 'User u1, Organization', 'Organization o1, User u1', 'User u1, Organization o1, Element e1', 'User u1; Organization o1', 'Token abc']) {
    assert.equal(parseAuthorization(bad), null, String(bad));
  }
});
