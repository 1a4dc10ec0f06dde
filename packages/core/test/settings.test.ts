import { describe, expect, it } from 'vitest';
import { boolean, checkOptions, httpUrl, oneOf, port, resolveSetting, seconds, urlPath } from '../src/settings.ts';

describe('setting parsers', () => {
  it.each([
    ['40', 40],
    ['0', 0],
    ['2.5', 2.5],
    [' 7 ', 7],
  ])('seconds from the environment: %j → %j', (raw, value) => expect(seconds(40).parse(raw, true)).toBe(value));

  it.each(['abc', '-1', '', '1e3', '40s', 'Infinity', '0x10'])('seconds from the environment rejects %j', (raw) =>
    expect(seconds(40).parse(raw, true)).toBeUndefined(),
  );

  it('seconds from a file must be a non-negative finite number, not a string', () => {
    expect(seconds(40).parse(1.5, false)).toBe(1.5);
    expect(seconds(40).parse('1.5', false)).toBeUndefined();
    expect(seconds(40).parse(-1, false)).toBeUndefined();
    expect(seconds(40).parse(Number.NaN, false)).toBeUndefined();
    expect(seconds(40).parse(Infinity, false)).toBeUndefined();
  });

  it('positive seconds reject zero', () => {
    expect(seconds(120, { allowZero: false }).parse('0', true)).toBeUndefined();
    expect(seconds(120, { allowZero: false }).parse(0.5, false)).toBe(0.5);
  });

  it('http URLs lose a trailing slash; other schemes and non-URLs are rejected', () => {
    expect(httpUrl.parse('http://127.0.0.1:9901/', true)).toBe('http://127.0.0.1:9901');
    expect(httpUrl.parse('not a url', true)).toBeUndefined();
    expect(httpUrl.parse('ftp://host', true)).toBeUndefined();
  });

  it('ports, paths, booleans and enums', () => {
    expect(port.parse('8080', true)).toBe(8080);
    expect(port.parse('0', true)).toBeUndefined();
    expect(port.parse('65536', true)).toBeUndefined();
    expect(port.parse('80.5', true)).toBeUndefined();
    expect(urlPath.parse('/ping/ping', true)).toBe('/ping/ping');
    expect(urlPath.parse('ping', true)).toBeUndefined();
    expect(boolean.parse('false', true)).toBe(false);
    expect(boolean.parse('no', true)).toBeUndefined();
    expect(boolean.parse('true', false)).toBeUndefined();
    expect(oneOf(['a', 'b']).parse('b', true)).toBe('b');
  });
});

describe('resolveSetting', () => {
  const spec = { option: 'drainDelay', env: 'DRAIN_DELAY', parse: seconds(40), fallback: 40 };

  it('takes the environment over the file over the default', () => {
    expect(resolveSetting(spec, { drainDelay: 5 }, { DRAIN_DELAY: '7' })).toEqual({ value: 7, source: 'env' });
    expect(resolveSetting(spec, { drainDelay: 5 }, {})).toEqual({ value: 5, source: 'file' });
    expect(resolveSetting(spec, {}, {})).toEqual({ value: 40, source: 'default' });
  });

  it('names the variable, the value and what is allowed', () => {
    expect(() => resolveSetting(spec, {}, { DRAIN_DELAY: 'abc' })).toThrow(
      'DRAIN_DELAY="abc" is invalid: expected a number of seconds ≥ 0, such as 40',
    );
    expect(() => resolveSetting(spec, { drainDelay: -1 }, {})).toThrow('drainDelay=-1 is invalid');
  });
});

describe('checkOptions', () => {
  it('rejects unknown keys and non-objects', () => {
    expect(() => checkOptions({ drainDelya: 1 }, ['drainDelay'])).toThrow(
      'unknown option "drainDelya"; known options: drainDelay',
    );
    expect(() => checkOptions({ a: 1 }, ['b'], 'c.json')).toThrow('c.json has unknown option "a"; known options: b');
    expect(() => checkOptions([1], ['drainDelay'])).toThrow('options must be an object, not [1]');
    expect(checkOptions(undefined, [])).toEqual({});
  });
});
