// Whether a new system user could reach a path: what embedded PostgreSQL needs when this process is root.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { firstDirectoryClosedToOthers } from '../src/db/reachable-by-others.ts';
import { tempDir } from './support/temp-dir.ts';

let work: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  work = await tempDir('reachable');
  await mkdir(join(work.path, 'open', 'private', 'inner'), { recursive: true });
  await chmod(work.path, 0o755);
  await chmod(join(work.path, 'open'), 0o755);
  await chmod(join(work.path, 'open', 'private'), 0o700);
  await chmod(join(work.path, 'open', 'private', 'inner'), 0o755);
});

afterAll(async () => {
  await work?.remove();
});

test('names the first directory on the way that others cannot enter, or null', async () => {
  expect(await firstDirectoryClosedToOthers(join(work.path, 'open'))).toBeNull();
  expect(await firstDirectoryClosedToOthers(join(work.path, 'open', 'private', 'inner'))).toBe(join(work.path, 'open', 'private'));
  await chmod(work.path, 0o700);
  expect(await firstDirectoryClosedToOthers(join(work.path, 'open', 'private', 'inner'))).toBe(work.path);
  await chmod(work.path, 0o755);
});
