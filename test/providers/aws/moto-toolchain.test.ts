// The toolchain piece the AWS tests stand on: moto is installed by the project's own code into the cache, a warm
// install runs no process at all, a missing Python is an error that says what to do, and a stopped moto leaves
// no process behind.
import { beforeAll, expect, test } from '@jest/globals';
import { installMoto, MOTO_VERSION, MotoUnavailableError, startMoto, type MotoInstallation } from '../../support/toolchain/moto.ts';
import { cacheRoot } from '../../../src/toolchain/paths.ts';
import { tempDir } from '../../support/temp-dir.ts';

let installation: MotoInstallation;

beforeAll(async () => {
  installation = await installMoto();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('moto is installed once per version under the cache root, and a warm install starts no process', async () => {
  expect(installation.version).toBe(MOTO_VERSION);
  expect(installation.venvDir).toBe(`${cacheRoot()}/moto/${MOTO_VERSION}`);
  // A Python that does not exist proves the warm call never runs one.
  expect(await installMoto({ python: '/nonexistent/python3' })).toEqual(installation);
});

test('without Python, installing moto fails with MotoUnavailableError saying what to install', async () => {
  const emptyCache = await tempDir('moto-no-python');
  try {
    const failure = await installMoto({ python: '/nonexistent/python3', env: { ...process.env, DYNAMIC_SERVERS_CACHE: emptyCache.path } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MotoUnavailableError);
    expect((failure as Error).message).toMatch(/install Python 3\.9 or newer with pip, or set PYTHON/);
  } finally {
    await emptyCache.remove();
  }
});

test('moto answers on 127.0.0.1 on the port it was given, and stop leaves no process', async () => {
  const moto = await startMoto({ installation });
  expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(alive(moto.pid)).toBe(true);
  expect((await fetch(`${moto.endpoint}/moto-api/data.json`)).status).toBe(200);
  await moto.stop();
  expect(alive(moto.pid)).toBe(false);
  await expect(fetch(`${moto.endpoint}/moto-api/data.json`)).rejects.toThrow();
  await moto.stop();
});
