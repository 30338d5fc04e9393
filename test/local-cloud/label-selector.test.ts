import { expect, test } from '@jest/globals';
import { CloudApiError } from '../../src/local-cloud/errors.ts';
import { matchesSelector, parseLabelSelector, validateLabels } from '../../src/local-cloud/label-selector.ts';

const labels = { 'managed-by': 'dynamic-servers', 'server-type': 'worker', 'example.com/tier': 'a' };

test.each([
  ['managed-by=dynamic-servers', true],
  ['managed-by==dynamic-servers,server-type=worker', true],
  ['server-type!=worker', false],
  ['server-type', true],
  ['!server-id', true],
  ['!server-type', false],
  ['server-type in (web, worker)', true],
  ['server-type notin (web,worker)', false],
  ['example.com/tier=a', true],
  ['missing!=x', true],
  ['', true],
])('selector %p matches: %p', (selector, expected) => {
  expect(matchesSelector(labels, parseLabelSelector(selector))).toBe(expected);
});

test.each(['=x', 'a b=c', 'a=b c', 'k in (a', 'bad key!=x', 'k=v!'])('selector %p is a 422 invalid_input', (selector) => {
  const thrown = (() => {
    try {
      parseLabelSelector(selector);
    } catch (error) {
      return error;
    }
  })();
  expect(thrown).toBeInstanceOf(CloudApiError);
  expect(thrown).toMatchObject({ status: 422, code: 'invalid_input' });
});

test('labels of a create are checked like the API does', () => {
  expect(() => validateLabels({ 'dynamic-servers.io/server-id': 'abc-1', empty: '' })).not.toThrow();
  expect(() => validateLabels({ 'x y': '1' })).toThrow(/invalid label/);
  expect(() => validateLabels({ k: '-leading-dash' })).toThrow(/invalid label/);
});
