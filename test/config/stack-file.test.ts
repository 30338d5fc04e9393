// Stack files: every problem is reported with its file, key and line; a valid file becomes a server type.
import { describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StackConfigError } from '../../src/config/errors.ts';
import { loadDeploymentConfig } from '../../src/config/load.ts';
import type { ProviderCatalog } from '../../src/config/provider-catalog.ts';
import { parseProviderLimitsFile } from '../../src/config/provider-limits-file.ts';
import { parseStackFile } from '../../src/config/stack-file.ts';
import { projectProviderCatalog } from '../../src/engine/provider-registry.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { tempDir } from '../support/temp-dir.ts';

/** The providers of a project that has no provider package installed: the built-in ones. */
const BUILT_IN_PROVIDERS = await projectProviderCatalog(tmpdir())(['hcluod']);

const VALID = `config:
  dynamic-servers:provider: local
  dynamic-servers:template:
    snapshot: worker-base
    size: small
  dynamic-servers:maxServers: 5
  dynamic-servers:bootTimeoutSeconds: 120
  dynamic-servers:apiToken:
    secure: v1:AAAABBBBCCCC
  local:endpoint: http://127.0.0.1:8080
  dynamic-servers:hangingServers: keep
  dynamic-servers:newTimeoutSeconds: 30
`;

function problemsOf(file: string, text: string) {
  try {
    parseStackFile(file, text);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems.map(({ key, line, problem }) => ({ key, line, problem }));
  }
  throw new Error('expected a StackConfigError');
}

test('a valid stack file becomes a server type with defaults for what it leaves out', () => {
  expect(parseStackFile('stacks/Pulumi.worker.yaml', VALID)).toEqual({
    type: 'worker',
    file: 'stacks/Pulumi.worker.yaml',
    provider: 'local',
    template: { snapshot: 'worker-base', size: 'small' },
    maxServers: 5,
    timeouts: { newSeconds: 30, bootSeconds: 120, stopSeconds: 600, deleteSeconds: 600 },
    hangingServers: 'keep',
    erroredServers: 'delete',
    offerings: [],
    prices: {},
    unavailableOfferingSeconds: 180,
    rollout: { strategy: 'off' },
    drain: { hook: null, timeoutSeconds: 300, maxSeconds: 3600 },
    undrainedServers: 'delete',
    secretKeys: ['dynamic-servers:apiToken'],
  });
});

test('rollout and drain settings: off or replace with counts or percentages (strings as Pulumi writes them), a hook, its deadline, its cap and its policy', () => {
  const parse = (extra: string) => parseStackFile('stacks/Pulumi.worker.yaml', `${VALID}${extra}`);
  expect(parse('  dynamic-servers:rollout: off\n').rollout).toEqual({ strategy: 'off' });
  expect(parse('  dynamic-servers:rollout: replace\n').rollout).toEqual({ strategy: 'replace', maxSurge: 1, maxUnavailable: 0 });
  expect(parse('  dynamic-servers:rollout:\n    maxSurge: "25%"\n    maxUnavailable: "1"\n').rollout).toEqual({ strategy: 'replace', maxSurge: '25%', maxUnavailable: 1 });
  expect(parse('  dynamic-servers:rollout:\n    strategy: replace\n    maxUnavailable: 50%\n').rollout).toEqual({ strategy: 'replace', maxSurge: 1, maxUnavailable: '50%' });
  const drained = parse('  dynamic-servers:drainHook: hooks/drain.ts\n  dynamic-servers:drainTimeoutSeconds: "60"\n  dynamic-servers:maxDrainSeconds: 900\n  dynamic-servers:undrainedServers: keep\n');
  expect({ drain: drained.drain, undrainedServers: drained.undrainedServers }).toEqual({ drain: { hook: 'hooks/drain.ts', timeoutSeconds: 60, maxSeconds: 900 }, undrainedServers: 'keep' });
});

test('the drain hook must exist in the project: loadDeploymentConfig reports one that does not', async () => {
  const dir = await tempDir('stacks');
  try {
    const stacks = join(dir.path, 'stacks');
    await mkdir(stacks);
    await writeFile(join(stacks, 'Pulumi.worker.yaml'), `${VALID}  dynamic-servers:drainHook: drain.ts\n`);
    const failure = await loadDeploymentConfig(stacks).catch((error: unknown) => error);
    expect((failure as StackConfigError).problems).toEqual([expect.objectContaining({ key: 'dynamic-servers:drainHook', problem: expect.stringMatching(/no file drain.ts in the project/) })]);
    await writeFile(join(dir.path, 'drain.ts'), 'export async function drainServer() {}\n');
    expect((await loadDeploymentConfig(stacks)).serverTypes[0]?.drain.hook).toBe('drain.ts');
  } finally {
    await dir.remove();
  }
});

test('values Pulumi rewrote as strings mean what they meant: "10" is 10, and a non-number stays refused', () => {
  const rewritten = VALID.replace('maxServers: 5', 'maxServers: "5"').replace('bootTimeoutSeconds: 120', 'bootTimeoutSeconds: "120" # Pulumi keeps comments');
  expect(parseStackFile('stacks/Pulumi.worker.yaml', rewritten)).toEqual(parseStackFile('stacks/Pulumi.worker.yaml', VALID));
  expect(problemsOf('stacks/Pulumi.worker.yaml', VALID.replace('maxServers: 5', 'maxServers: "five"'))).toEqual([
    { key: 'dynamic-servers:maxServers', line: 6, problem: expect.stringMatching(/number/) },
  ]);
  expect(problemsOf('stacks/Pulumi.worker.yaml', VALID.replace('maxServers: 5', 'maxServers: ""'))[0]?.key).toBe('dynamic-servers:maxServers');
});

describe('with the providers known: an unknown provider or a template the provider rejects is a problem on its line', () => {
  test('a misspelt provider', () => {
    const problems = problemsOfWith(VALID.replace('provider: local', 'provider: hcluod'));
    expect(problems).toEqual([{ key: 'dynamic-servers:provider', line: 2, problem: expect.stringMatching(/^unknown provider "hcluod": not a built-in provider \(aws, fake, hcloud, local\), and no package of that name is installed/) }]);
  });

  test('a provider package is named by its npm name, scoped or not; a path or a name npm refuses is no provider name', () => {
    for (const name of ["'@acme/dynamic-servers-foo'", 'dynamic-servers-provider-foo']) {
      expect(parseStackFile('stacks/Pulumi.worker.yaml', VALID.replace('provider: local', `provider: ${name}`)).provider).toBe(name.replaceAll("'", ''));
    }
    for (const name of ['../providers/foo', "'@Acme/Foo'", "'@acme/'", 'foo/bar', "'./foo'"]) {
      expect(problemsOf('stacks/Pulumi.worker.yaml', VALID.replace('provider: local', `provider: ${name}`))).toEqual([
        { key: 'dynamic-servers:provider', line: 2, problem: expect.stringMatching(/^must be a built-in provider \(local, hcloud, aws\) or the npm name of a provider package/) },
      ]);
    }
  });

  test('a template the provider refuses', () => {
    const problems = problemsOfWith(VALID.replace('    size: small\n', ''));
    expect(problems).toEqual([{ key: 'dynamic-servers:template', line: 3, problem: expect.stringMatching(/^provider local rejects it: .*size/) }]);
  });

  test('a valid file passes', () => {
    expect(parseStackFile('stacks/Pulumi.worker.yaml', VALID, BUILT_IN_PROVIDERS).provider).toBe('local');
  });
});

describe('offerings, prices and budgets', () => {
  const FALLBACKS = VALID.replace('    size: small\n', '    size: small\n    location: local-1\n    fallbacks:\n      - location: local-2\n      - size: medium\n');

  test("the template's offerings in order, prices of them, a budget and the time an unavailable offering is skipped", () => {
    const text = `${FALLBACKS}  dynamic-servers:budgetPerHour: "0.25"\n  dynamic-servers:unavailableOfferingSeconds: 60\n  dynamic-servers:prices:\n    small@local-2: 0.004\n    medium@local-1: "0.01"\n`;
    expect(parseStackFile('stacks/Pulumi.worker.yaml', text, BUILT_IN_PROVIDERS)).toMatchObject({
      offerings: ['small@local-1', 'small@local-2', 'medium@local-1'],
      prices: { 'small@local-2': 0.004, 'medium@local-1': 0.01 },
      budgetPerHour: 0.25,
      unavailableOfferingSeconds: 60,
    });
  });

  test('a price of an offering the template does not have, a budget of 0, a repeated offering', () => {
    expect(problemsOfWith(`${FALLBACKS}  dynamic-servers:prices:\n    large@local-1: 0.02\n`)).toEqual([
      { key: 'dynamic-servers:prices.large@local-1', line: 17, problem: 'is not an offering of the template; its offerings are small@local-1, small@local-2, medium@local-1' },
    ]);
    expect(problemsOfWith(`${VALID}  dynamic-servers:budgetPerHour: 0\n`)).toEqual([{ key: 'dynamic-servers:budgetPerHour', line: 13, problem: 'must be more than 0 (got 0)' }]);
    expect(problemsOfWith(FALLBACKS.replace('      - size: medium\n', '      - size: small\n'))).toEqual([
      { key: 'dynamic-servers:template', line: 3, problem: expect.stringMatching(/lists offering small@local-1 twice/) },
    ]);
  });

  test('a budget on a provider that publishes no prices needs a price for every offering', () => {
    const aws = `config:\n  dynamic-servers:provider: aws\n  dynamic-servers:template:\n    ami:\n      id: ami-0123456789abcdef0\n    instanceType: t3.small\n    fallbacks:\n      - instanceType: t3.medium\n  dynamic-servers:budgetPerHour: 1\n`;
    expect(problemsOfWith(aws)).toEqual([{ key: 'dynamic-servers:budgetPerHour', line: 9, problem: 'provider aws publishes no prices: give dynamic-servers:prices for t3.small, t3.medium' }]);
    expect(parseStackFile('stacks/Pulumi.worker.yaml', `${aws}  dynamic-servers:prices:\n    t3.small: 0.02\n    t3.medium: 0.04\n`, BUILT_IN_PROVIDERS).budgetPerHour).toBe(1);
  });

  test('a budget on a provider that names no offerings (a provider package without them) is refused: its servers have no price', () => {
    const unnamed: ProviderCatalog = { providerProblem: () => undefined, templateProblem: () => undefined, offerings: () => [], publishesPrices: () => false };
    const text = `config:\n  dynamic-servers:provider: '@acme/dynamic-servers-tiny'\n  dynamic-servers:template:\n    size: small\n  dynamic-servers:budgetPerHour: 1\n  dynamic-servers:prices:\n    small: 0.1\n`;
    const failure = (() => {
      try {
        parseStackFile('stacks/Pulumi.worker.yaml', text, unnamed);
      } catch (error) {
        return error as StackConfigError;
      }
      throw new Error('expected a StackConfigError');
    })();
    expect(failure.problems.map(({ key, line, problem }) => ({ key, line, problem }))).toEqual([
      { key: 'dynamic-servers:prices.small', line: 6, problem: 'is not an offering of the template; provider @acme/dynamic-servers-tiny names no offerings' },
      { key: 'dynamic-servers:budgetPerHour', line: 5, problem: 'provider @acme/dynamic-servers-tiny names no offerings, so its servers have no price to count against a budget' },
    ]);
    expect(parseStackFile('stacks/Pulumi.worker.yaml', text.replace(/ {2}dynamic-servers:budgetPerHour.*$/s, ''), unnamed).offerings).toEqual([]);
  });

  test("a provider's budget in providers.yaml, which also needs prices on a provider that publishes none", async () => {
    expect(parseProviderLimitsFile('stacks/providers.yaml', 'providers:\n  hcloud:\n    budgetPerHour: 2.5\n', BUILT_IN_PROVIDERS)).toEqual({ hcloud: { budgetPerHour: 2.5 } });
    const dir = await tempDir('stacks');
    try {
      const stacks = join(dir.path, 'stacks');
      await mkdir(stacks);
      await writeFile(join(stacks, 'Pulumi.ec2.yaml'), 'config:\n  dynamic-servers:provider: aws\n  dynamic-servers:template:\n    ami:\n      id: ami-0123456789abcdef0\n    instanceType: t3.small\n');
      await writeFile(join(stacks, 'providers.yaml'), 'providers:\n  aws:\n    budgetPerHour: 3\n');
      const failure = await loadDeploymentConfig(stacks, projectProviderCatalog(tmpdir())).catch((error: unknown) => error);
      expect((failure as StackConfigError).problems).toEqual([
        { file: join(stacks, 'providers.yaml'), key: 'providers.aws.budgetPerHour', problem: `provider aws publishes no prices: ${join(stacks, 'Pulumi.ec2.yaml')} must give dynamic-servers:prices for t3.small` },
      ]);
    } finally {
      await dir.remove();
    }
  });
});

function problemsOfWith(text: string) {
  try {
    parseStackFile('stacks/Pulumi.worker.yaml', text, BUILT_IN_PROVIDERS);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems.map(({ key, line, problem }) => ({ key, line, problem }));
  }
  throw new Error('expected a StackConfigError');
}

describe('provider limits (stacks/providers.yaml)', () => {
  test('a limit per provider; an empty file limits nothing', () => {
    expect(parseProviderLimitsFile('stacks/providers.yaml', 'providers:\n  hcloud:\n    maxServers: 30\n  local: {}\n', BUILT_IN_PROVIDERS)).toEqual({ hcloud: { maxServers: 30 }, local: {} });
    expect(parseProviderLimitsFile('stacks/providers.yaml', '# nothing yet\n')).toEqual({});
  });

  test('an unknown provider, an unknown key and a bad limit are problems on their lines', () => {
    const text = 'providers:\n  hcluod:\n    maxServers: 3\n  local:\n    maxServer: 3\n  aws:\n    maxServers: -1\n';
    const error = (() => {
      try {
        parseProviderLimitsFile('stacks/providers.yaml', text, BUILT_IN_PROVIDERS);
      } catch (caught) {
        return caught as StackConfigError;
      }
      throw new Error('expected a StackConfigError');
    })();
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error.problems.map(({ key, line }) => `${line} ${key}`)).toEqual(['2 providers.hcluod', '5 providers.local.maxServer', '7 providers.aws.maxServers']);
  });
});

describe('bad stack files name the file, key, line and problem', () => {
  test.each([
    ['a plain-text token', VALID.replace('  dynamic-servers:apiToken:\n    secure: v1:AAAABBBBCCCC\n', '  hcloud:token: abc123\n'), 'hcloud:token', 8, /must be a secret/],
    ['an unknown own key (typo)', VALID.replace('maxServers: 5', 'maxServer: 5'), 'dynamic-servers:maxServer', 6, /unknown key/],
    ['a negative limit', VALID.replace('maxServers: 5', 'maxServers: -1'), 'dynamic-servers:maxServers', 6, />=0|too small/i],
    ['a fractional timeout', VALID.replace('bootTimeoutSeconds: 120', 'bootTimeoutSeconds: 1.5'), 'dynamic-servers:bootTimeoutSeconds', 7, /int/i],
    ['a template that is not a mapping', VALID.replace('  dynamic-servers:template:\n    snapshot: worker-base\n    size: small\n', '  dynamic-servers:template: worker-base\n'), 'dynamic-servers:template', 3, /object|record/i],
    ['a missing provider', VALID.replace('  dynamic-servers:provider: local\n', ''), 'dynamic-servers:provider', undefined, /is required/],
    ['a policy that is neither delete nor keep', VALID.replace('hangingServers: keep', 'hangingServers: ignore'), 'dynamic-servers:hangingServers', 11, /must be delete or keep/],
    ['a template with a password', VALID.replace('    size: small\n', '    size: small\n    rootPassword: hunter2\n'), 'dynamic-servers:template', 3, /look like secrets \(rootPassword\)/],
    ['a rollout that is no policy', `${VALID}  dynamic-servers:rollout: sometimes\n`, 'dynamic-servers:rollout', 13, /must be off, replace, or a mapping/],
    ['a rollout that could replace nothing', `${VALID}  dynamic-servers:rollout:\n    maxSurge: 0\n    maxUnavailable: 0%\n`, 'dynamic-servers:rollout', 13, /cannot both be 0/],
    ['a rollout percentage over 100', `${VALID}  dynamic-servers:rollout:\n    maxSurge: 150%\n`, 'dynamic-servers:rollout', 13, /must be off, replace, or a mapping/],
    ['a rollout with an unknown setting', `${VALID}  dynamic-servers:rollout:\n    maxSurge: 1\n    batch: 2\n`, 'dynamic-servers:rollout', 13, /Unrecognized key: "batch"/],
    ['a drain hook outside the project', `${VALID}  dynamic-servers:drainHook: ../elsewhere/drain.ts\n`, 'dynamic-servers:drainHook', 13, /inside the project/],
    ['a drain hook that is no module', `${VALID}  dynamic-servers:drainHook: drain.sh\n`, 'dynamic-servers:drainHook', 13, /\.ts, \.mts, \.js or \.mjs/],
    ['a drain timeout beyond its cap', `${VALID}  dynamic-servers:drainTimeoutSeconds: 600\n  dynamic-servers:maxDrainSeconds: 300\n`, 'dynamic-servers:drainTimeoutSeconds', 13, /must not exceed maxDrainSeconds \(300\)/],
    ['a drain cap below the default timeout', `${VALID}  dynamic-servers:maxDrainSeconds: 60\n`, 'dynamic-servers:maxDrainSeconds', 13, /must be at least drainTimeoutSeconds \(300\)/],
    ['an undrained-servers policy that is neither delete nor keep', `${VALID}  dynamic-servers:undrainedServers: wait\n`, 'dynamic-servers:undrainedServers', 13, /must be delete or keep/],
  ])('%s', (_name, text, key, line, problem) => {
    const problems = problemsOf('stacks/Pulumi.worker.yaml', text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key, line });
    expect(problems[0]?.problem).toMatch(problem);
  });

  test('a file name that is not a server type name', () => {
    expect(problemsOf('stacks/Pulumi.Bad_Name.yaml', VALID)).toEqual([
      expect.objectContaining({ key: '(file)', problem: expect.stringMatching(/Pulumi.<type>.yaml/) }),
    ]);
  });

  test('broken YAML', () => {
    expect(problemsOf('stacks/Pulumi.worker.yaml', 'config:\n  a: [1, 2\n')[0]?.problem).toMatch(/not valid YAML/);
  });
});

test('loadDeploymentConfig reports the problems of every file together, and validate exits 1 listing them', async () => {
  const dir = await tempDir('stacks');
  try {
    const stacks = join(dir.path, 'stacks');
    await mkdir(stacks);
    await writeFile(join(stacks, 'Pulumi.good.yaml'), VALID);
    await writeFile(join(stacks, 'Pulumi.bad-one.yaml'), VALID.replace('maxServers: 5', 'maxServers: many'));
    await writeFile(join(stacks, 'Pulumi.bad-two.yaml'), VALID.replace('  dynamic-servers:provider: local\n', ''));
    const failure = await loadDeploymentConfig(stacks).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackConfigError);
    expect((failure as StackConfigError).problems.map((problem) => problem.file)).toEqual([
      join(stacks, 'Pulumi.bad-one.yaml'),
      join(stacks, 'Pulumi.bad-two.yaml'),
    ]);

    const cli = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
    const invalid = await runCommand(process.execPath, [cli, 'validate', stacks]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`${join(stacks, 'Pulumi.bad-one.yaml')}:6: dynamic-servers:maxServers:`);

    await writeFile(join(stacks, 'Pulumi.bad-one.yaml'), VALID);
    await writeFile(join(stacks, 'Pulumi.bad-two.yaml'), VALID);
    const valid = await runCommand(process.execPath, [cli, 'validate', stacks, '--json']);
    expect(valid.code).toBe(0);
    expect((JSON.parse(valid.stdout) as { type: string }[]).map((type) => type.type)).toEqual(['bad-one', 'bad-two', 'good']);
  } finally {
    await dir.remove();
  }
});
