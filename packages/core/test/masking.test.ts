import { describe, expect, it } from 'vitest';
import { echo, maskSecrets, maskUrlCredentials } from '../src/errors.ts';

// Passwords as an operator might paste them, unencoded: WHATWG's parser ends the userinfo at the
// first `/`, `?` or `#`, so a mask that trusts it (or a regex up to the first `@`) shows the rest.
const NASTY = ['p@ss/word', 'hunter2', 'a/b@c', 'x#y@z', 'q?r@s', 'sp ace@x', 'quo"te', 'back\\slash@', ':@/?#@'];

describe('a URL with credentials is masked whatever its password holds', () => {
  it.each(NASTY)('echo of http://user:%s@host:9901', (password) => {
    const shown = echo(`http://user:${password}@host:9901`);
    expect(shown).toBe('"http://[redacted]@host:9901"');
  });

  it.each(NASTY)('maskSecrets of a value in a list and an object: %s', (password) => {
    const url = `https://user:${password}@sts.example.com/path`;
    expect(maskSecrets({ endpoints: [url], n: 3, on: true })).toEqual({
      endpoints: ['https://[redacted]@sts.example.com/path'],
      n: 3,
      on: true,
    });
  });

  it.each(NASTY.filter((p) => !p.includes(' ')))('maskUrlCredentials of a JSON log line: %s', (password) => {
    const line = JSON.stringify({
      level: 'error',
      error: `POST http://user:${password}@127.0.0.1:9901/healthcheck/fail failed: ECONNREFUSED`,
      url: `http://user:${password}@127.0.0.1:9901`,
    });
    const masked = maskUrlCredentials(line, { json: true });
    expect(JSON.parse(masked)).toEqual({
      level: 'error',
      error: 'POST http://[redacted]@127.0.0.1:9901/healthcheck/fail failed: ECONNREFUSED',
      url: 'http://[redacted]@127.0.0.1:9901',
    });
  });

  it('leaves URLs without credentials, and text around them, alone', () => {
    const text = 'GET http://127.0.0.1:9901/ready failed; mail ops@example.com, see https://example.com/a?b=c';
    expect(maskUrlCredentials(text)).toBe(text);
    expect(echo('http://127.0.0.1:9901')).toBe('"http://127.0.0.1:9901"');
    expect(maskSecrets(['off', 40, null])).toEqual(['off', 40, null]);
  });

  it('masks every URL of a line, each up to its own last @', () => {
    expect(maskUrlCredentials('from http://a:b@one to redis://c:d/e@two:6379 done')).toBe(
      'from http://[redacted]@one to redis://[redacted]@two:6379 done',
    );
  });

  it('masks before cutting a long value, so the cut cannot leave a password half-shown', () => {
    const shown = echo(`http://user:${'p@/'.repeat(40)}@host:9901/${'x'.repeat(100)}`);
    expect(shown.startsWith('"http://[redacted]@host:9901/')).toBe(true);
    expect(shown).not.toContain('p@/');
  });

  it('in plain text a quote is part of a password; in JSON it ends the string', () => {
    expect(maskUrlCredentials('GET http://u:a"b@host/x failed')).toBe('GET http://[redacted]@host/x failed');
    expect(maskUrlCredentials('{"a":"http://h/x","b":"user@example.com"}', { json: true })).toBe(
      '{"a":"http://h/x","b":"user@example.com"}',
    );
  });
});
