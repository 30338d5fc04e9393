// Stack files name their provider: a built-in one, or a provider package installed in the deployment project. The
// registry builds it from the stack's config namespace or the environment variables the provider's factory names,
// and refuses an unknown name, a package that is not installed or exports no factory, or a missing credential with
// a typed error.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProviderConfigurationError } from '../../src/engine/errors.ts';
import { ProviderPackageError, ProviderPackageNotInstalledError } from '../../src/engine/provider-packages.ts';
import { createProvider, loadProviderFactory, PROVIDER_NAMES, projectProviderCatalog } from '../../src/engine/provider-registry.ts';
import { serverIdSelector } from '../../providers/contract.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { tempDir } from '../support/temp-dir.ts';

const TOKEN = 'registry-test-token';
let hcloud: LocalCloud;
let project: Awaited<ReturnType<typeof tempDir>>;

/** A provider package as npm would install it: `node_modules/<name>/` with a package.json and an ESM entry. */
async function installPackage(name: string, entry: string): Promise<void> {
  const dir = join(project.path, 'node_modules', ...name.split('/'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', exports: { '.': './index.js' } }));
  await writeFile(join(dir, 'index.js'), entry);
}

beforeAll(async () => {
  hcloud = await startLocalCloud({ profile: 'strict', token: TOKEN });
  project = await tempDir('provider-packages');
  await writeFile(join(project.path, 'package.json'), JSON.stringify({ name: 'deployment', private: true }));
  // A provider whose "servers" are its settings: enough to see which settings reached create.
  await installPackage(
    '@acme/dynamic-servers-echo',
    `export default {
  configNamespace: 'echo',
  envPrefix: 'ECHO_CLOUD',
  checkTemplate(template) {
    if (typeof template.size !== 'string') throw new Error('echo templates need a size');
  },
  create(settings) {
    return { name: 'echo', endpoint: settings.require('endpoint'), region: settings.get('region'), api: {}, checkTemplate() {}, declareServer() { throw new Error('not here'); } };
  },
};
`,
  );
  // A provider that names its offerings (a size and its fallbacks) and whose cloud publishes prices.
  await installPackage(
    'dynamic-servers-provider-sized',
    `import { InvalidRequestError } from '@acme/contract-stand-in';
export default {
  configNamespace: 'sized',
  envPrefix: 'SIZED_CLOUD',
  publishesPrices: true,
  checkTemplate(template) {
    if (typeof template.size !== 'string') throw new InvalidRequestError('sized templates need a size');
  },
  offerings(template) {
    const { fallbacks = [], ...own } = template;
    const names = [own.size, ...fallbacks.map((entry) => entry.size)];
    if (new Set(names).size !== names.length) throw new InvalidRequestError('a fallback repeats a size');
    return names.map((size) => ({ name: size, template: { ...own, size } }));
  },
  create() {
    throw new Error('not here');
  },
};
`,
  );
  await installPackage('@acme/contract-stand-in', 'export class InvalidRequestError extends Error {}\n');
  await installPackage('dynamic-servers-provider-priced-wrong', "export default { configNamespace: 'wrong', envPrefix: 'WRONG', checkTemplate() {}, publishesPrices: 'yes', create() {} };\n");
  await installPackage('dynamic-servers-provider-nothing', 'export const something = 1;\n');
  await installPackage('dynamic-servers-provider-half', "export default { configNamespace: 'half', envPrefix: 'half', checkTemplate() {} };\n");
  await installPackage('dynamic-servers-provider-broken', "throw new Error('this package cannot start');\n");
});

afterAll(async () => {
  await hcloud?.stop();
  await project?.remove();
});

test('the built-in providers are available to stack files', () => {
  expect(PROVIDER_NAMES.sort()).toEqual(['aws', 'fake', 'hcloud', 'local']);
});

test('hcloud takes its token and endpoint from the stack config, and its API side uses them', async () => {
  const provider = await createProvider('hcloud', { 'hcloud:token': TOKEN, 'hcloud:endpoint': hcloud.url }, { projectDir: project.path, dataDir: '/unused', env: {} });
  expect(provider.name).toBe('hcloud');
  expect(await provider.api.list(serverIdSelector('inst0001', 'demo-1'))).toEqual([]);
  expect(hcloud.requests().at(-1)).toMatchObject({ method: 'GET', status: 200 });
  expect(hcloud.requests().at(-1)!.path).toContain('label_selector=');
});

test('hcloud falls back to HCLOUD_TOKEN and HCLOUD_ENDPOINT, and without a token names both places', async () => {
  const fromEnv = await createProvider('hcloud', {}, { projectDir: project.path, dataDir: '/unused', env: { HCLOUD_TOKEN: TOKEN, HCLOUD_ENDPOINT: hcloud.url } });
  expect(await fromEnv.api.list(serverIdSelector('inst0001', 'demo-2'))).toEqual([]);
  const missing = createProvider('hcloud', {}, { projectDir: project.path, dataDir: '/unused', env: {} });
  await expect(missing).rejects.toThrow(ProviderConfigurationError);
  await expect(missing).rejects.toThrow('provider "hcloud" needs hcloud:token in the stack config or HCLOUD_TOKEN in the environment');
});

test('aws takes its region from aws:region or AWS_REGION', async () => {
  expect((await createProvider('aws', { 'aws:region': 'eu-central-1' }, { projectDir: project.path, dataDir: '/unused', env: {} })).name).toBe('aws');
  expect((await createProvider('aws', {}, { projectDir: project.path, dataDir: '/unused', env: { AWS_REGION: 'eu-west-1' } })).name).toBe('aws');
});

test('a provider package installed in the project is created from its namespace of the stack config, else its environment variables', async () => {
  const options = { projectDir: project.path, dataDir: '/unused' };
  const fromConfig = (await createProvider('@acme/dynamic-servers-echo', { 'echo:endpoint': 'http://config', 'echo:region': 'r1' }, { ...options, env: { ECHO_CLOUD_ENDPOINT: 'http://env' } })) as unknown as Record<string, unknown>;
  expect({ name: fromConfig.name, endpoint: fromConfig.endpoint, region: fromConfig.region }).toEqual({ name: 'echo', endpoint: 'http://config', region: 'r1' });
  const fromEnv = (await createProvider('@acme/dynamic-servers-echo', {}, { ...options, env: { ECHO_CLOUD_ENDPOINT: 'http://env' } })) as unknown as Record<string, unknown>;
  expect(fromEnv.endpoint).toBe('http://env');
  await expect(createProvider('@acme/dynamic-servers-echo', {}, { ...options, env: {} })).rejects.toThrow(
    'provider "@acme/dynamic-servers-echo" needs echo:endpoint in the stack config or ECHO_CLOUD_ENDPOINT in the environment',
  );
});

test('a package that is not installed, exports no factory, or fails to load is a ProviderPackageError saying which', async () => {
  const load = (name: string) => loadProviderFactory(name, project.path);
  await expect(load('gcp')).rejects.toThrow(ProviderPackageNotInstalledError);
  await expect(load('gcp')).rejects.toThrow(`provider package "gcp" is not installed in ${project.path}: run \`npm install gcp\` there`);
  await expect(load('dynamic-servers-provider-nothing')).rejects.toThrow(ProviderPackageError);
  await expect(load('dynamic-servers-provider-nothing')).rejects.toThrow('provider package "dynamic-servers-provider-nothing" has no provider factory as its default export');
  await expect(load('dynamic-servers-provider-half')).rejects.toThrow(/dynamic-servers-provider-half" has no provider factory .*envPrefix: must be uppercase/);
  await expect(load('dynamic-servers-provider-broken')).rejects.toThrow('provider package "dynamic-servers-provider-broken" failed to load: this package cannot start');
  // A name every object has is no built-in provider.
  await expect(load('constructor')).rejects.toThrow(ProviderPackageNotInstalledError);
  // A path is never imported as a provider.
  await expect(load('../node_modules/@acme/dynamic-servers-echo/index.js')).rejects.toThrow('is not the npm name of a provider package');
});

test('the catalog of a project checks built-in and package providers, and runs a package\'s checkTemplate', async () => {
  const catalog = await projectProviderCatalog(project.path)(['local', '@acme/dynamic-servers-echo', 'gcp', 'dynamic-servers-provider-nothing']);
  expect(catalog.providerProblem('local')).toBeUndefined();
  expect(catalog.providerProblem('@acme/dynamic-servers-echo')).toBeUndefined();
  expect(catalog.providerProblem('gcp')).toBe(
    `unknown provider "gcp": not a built-in provider (aws, fake, hcloud, local), and no package of that name is installed in ${project.path} (\`npm install gcp\` there, if it is a provider package)`,
  );
  expect(catalog.providerProblem('dynamic-servers-provider-nothing')).toMatch(/has no provider factory as its default export/);
  expect(catalog.templateProblem('@acme/dynamic-servers-echo', { size: 'small' })).toBeUndefined();
  expect(catalog.templateProblem('@acme/dynamic-servers-echo', {})).toBe('echo templates need a size');
  expect(catalog.templateProblem('local', { snapshot: 'base-snapshot' })).toMatch(/size/);
});

test('a package that names its offerings gives validate their names and says whether its cloud publishes prices; one that does not has none', async () => {
  const catalog = await projectProviderCatalog(project.path)(['local', '@acme/dynamic-servers-echo', 'dynamic-servers-provider-sized', 'dynamic-servers-provider-priced-wrong']);
  expect(catalog.offerings('dynamic-servers-provider-sized', { size: 'small', fallbacks: [{ size: 'medium' }] })).toEqual(['small', 'medium']);
  expect(catalog.templateProblem('dynamic-servers-provider-sized', { size: 'small', fallbacks: [{ size: 'small' }] })).toBe('a fallback repeats a size');
  expect(catalog.templateProblem('dynamic-servers-provider-sized', {})).toBe('sized templates need a size');
  expect(catalog.publishesPrices('dynamic-servers-provider-sized')).toBe(true);
  // Without offerings the template is one unnamed offering; without publishesPrices the cloud publishes none.
  expect(catalog.offerings('@acme/dynamic-servers-echo', { size: 'small' })).toEqual([]);
  expect(catalog.publishesPrices('@acme/dynamic-servers-echo')).toBe(false);
  expect(catalog.offerings('local', { snapshot: 'base-snapshot', size: 'small', location: 'local-1', fallbacks: [{ location: 'local-2' }] })).toEqual(['small@local-1', 'small@local-2']);
  expect(catalog.publishesPrices('local')).toBe(true);
  expect(catalog.publishesPrices('aws')).toBe(false);
  expect(catalog.providerProblem('dynamic-servers-provider-priced-wrong')).toMatch(/has no provider factory as its default export .*publishesPrices/);
});
