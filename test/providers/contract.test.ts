import { expect, test } from '@jest/globals';
import {
  InsufficientCapacityError,
  InvalidRequestError,
  mapCloudStatus,
  markProviderError,
  OBSERVED_STATUSES,
  offeringTemplate,
  observeStatus,
  parseProviderError,
  ProviderAuthError,
  identityLabels,
  serverIdSelector,
  serverLabels,
  serverName,
  serverTypeSelector,
  ServerNotFoundError,
  templateOfferings,
  UnexpectedResponseError,
  validateDeclaration,
  type ServerApi,
} from '../../providers/contract.ts';
import { HETZNER_STATUS_MAPPING } from '../../providers/hetzner-api/status.ts';

test('providers report every status but new, deleted and hanging, which belong to the engine', () => {
  expect([...OBSERVED_STATUSES].sort()).toEqual(['deleting', 'errored', 'rebooting', 'running', 'starting', 'stopped', 'stopping']);
  expect(Object.values(HETZNER_STATUS_MAPPING).every((status) => OBSERVED_STATUSES.includes(status))).toBe(true);
});

test('a status name the mapping does not know is an UnexpectedResponseError, never a guess', () => {
  expect(mapCloudStatus(HETZNER_STATUS_MAPPING, 'off')).toBe('stopped');
  expect(() => mapCloudStatus(HETZNER_STATUS_MAPPING, 'rebooting')).toThrow(UnexpectedResponseError);
  expect(() => mapCloudStatus(HETZNER_STATUS_MAPPING, 'toString')).toThrow(UnexpectedResponseError);
});

test('observeStatus says deleted exactly on ServerNotFoundError and passes every other error on', async () => {
  const failing = (error: Error): ServerApi => ({ observe: async () => Promise.reject(error), list: async () => [], delete: async () => {} });
  await expect(observeStatus(failing(new ServerNotFoundError('gone')), '1')).resolves.toBe('deleted');
  await expect(observeStatus(failing(new ProviderAuthError('401')), '1')).rejects.toBeInstanceOf(ProviderAuthError);
  await expect(observeStatus(failing(new Error('boom')), '1')).rejects.toThrow('boom');
});

test('a marked provider error survives being reduced to text, and untagged text yields none', () => {
  const marked = markProviderError(new InsufficientCapacityError('no room in local-1')) as Error;
  expect(marked.message).toContain('[provider-error:insufficient-capacity]');
  expect(markProviderError(marked)).toBe(marked);
  expect(parseProviderError(`up failed:\n  error: ${marked.message}`)).toBeInstanceOf(InsufficientCapacityError);
  expect(parseProviderError('error: something else')).toBeUndefined();
  expect(parseProviderError('[provider-error:made-up]')).toBeUndefined();
  const plain = new Error('not a provider error');
  expect(markProviderError(plain)).toBe(plain);
});

test('declarations need ids usable as names and labels, an installation id, an object template, and a cloud id to adopt if any', () => {
  const declaration = { installation: '3f9a0c1d', serverId: 'worker-7', serverType: 'worker', template: {} };
  expect(() => validateDeclaration(declaration)).not.toThrow();
  expect(() => validateDeclaration({ ...declaration, adopt: '42' })).not.toThrow();
  expect(serverName(declaration)).toBe('worker-7');
  expect(serverLabels(declaration)).toEqual({ 'managed-by': 'dynamic-servers', installation: '3f9a0c1d', 'server-type': 'worker', 'server-id': 'worker-7' });
  for (const bad of [
    { ...declaration, installation: undefined },
    { ...declaration, installation: 'Not-An-Id' },
    { ...declaration, adopt: '' },
    { ...declaration, adopt: 42 },
    { ...declaration, serverId: 'Worker_7' },
    { ...declaration, serverId: '-7' },
    { ...declaration, serverType: 'x'.repeat(64) },
    { ...declaration, template: [] },
    { ...declaration, template: null },
  ]) {
    expect(() => validateDeclaration(bad as never)).toThrow(InvalidRequestError);
  }
});

test('a template offers itself, then each fallback over it, in order; a repeated offering is refused', () => {
  const nameOf = (offering: Record<string, unknown>) => `${String(offering.size)}@${String(offering.location)}`;
  const template = { image: 'base', size: 'small', location: 'one', fallbacks: [{ location: 'two' }, { size: 'medium' }] };
  expect(templateOfferings(template, nameOf)).toEqual([
    { name: 'small@one', template: { image: 'base', size: 'small', location: 'one' } },
    { name: 'small@two', template: { image: 'base', size: 'small', location: 'two' } },
    { name: 'medium@one', template: { image: 'base', size: 'medium', location: 'one' } },
  ]);
  expect(templateOfferings({ image: 'base', size: 'small', location: 'one' }, nameOf).map((offering) => offering.name)).toEqual(['small@one']);
  expect(() => templateOfferings({ ...template, fallbacks: [{ location: 'one' }] }, nameOf)).toThrow(InvalidRequestError);

  const provider = { offerings: (given: Record<string, unknown>) => templateOfferings(given, nameOf) };
  expect(offeringTemplate(provider, template, 'medium@one')).toEqual({ image: 'base', size: 'medium', location: 'one' });
  expect(offeringTemplate(provider, template, null)).toEqual({ image: 'base', size: 'small', location: 'one' });
  expect(() => offeringTemplate(provider, template, 'large@one')).toThrow(/no offering large@one; it offers small@one, small@two, medium@one/);

  // A provider without offerings (a provider package that names none): the template is its one, unnamed offering.
  const plain = { image: 'base', size: 'small' };
  expect(offeringTemplate({}, plain, null)).toBe(plain);
  expect(() => offeringTemplate({}, plain, 'small')).toThrow(InvalidRequestError);
});

test('every selector names the installation, so a list never returns another installation’s servers', () => {
  expect(serverTypeSelector('3f9a0c1d', 'worker')).toEqual({ 'managed-by': 'dynamic-servers', installation: '3f9a0c1d', 'server-type': 'worker' });
  expect(serverIdSelector('3f9a0c1d', 'worker-7')).toEqual({ 'managed-by': 'dynamic-servers', installation: '3f9a0c1d', 'server-id': 'worker-7' });
  const labels = serverLabels({ installation: '3f9a0c1d', serverType: 'worker', serverId: 'worker-7' });
  expect(identityLabels({ ...labels, team: 'queue' })).toEqual(serverIdSelector('3f9a0c1d', 'worker-7'));
  expect(identityLabels({ 'managed-by': 'dynamic-servers' })).toBeUndefined();
});
