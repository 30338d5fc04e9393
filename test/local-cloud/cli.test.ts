// Must-show 3: `dynamic-servers local-cloud` starts the local cloud on its own, prints its address, serves the
// API there, and stops on SIGTERM with exit code 0.
import { afterEach, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

/** Starts the command; resolves with the child, its first stdout line, and its stderr so far. */
async function startCommand(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [ENTRY, 'local-cloud', ...args], {
    env: { ...process.env, LOCAL_CLOUD_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const firstLine = await Promise.race([once(lines, 'line').then(([line]) => line as string), exited.then((code) => `(exited ${code}) ${stderr}`)]);
  return { child, firstLine, exited, stderr: () => stderr };
}

test('prints its address, answers the API there with the given boot delay, and stops on SIGTERM with exit 0', async () => {
  const { child, firstLine, exited, stderr } = await startCommand(['--port', '0', '--boot-delay', '600000', '--json']);
  const address = JSON.parse(firstLine) as { url: string; adminUrl: string; port: number; tokenRequired: boolean };
  expect(address.url).toBe(`http://127.0.0.1:${address.port}/v1`);
  expect(address.tokenRequired).toBe(false);

  const created = await fetch(`${address.url}/servers`, {
    method: 'POST',
    body: JSON.stringify({ name: 'cli-1', server_type: 'small', image: 1001 }),
  });
  expect(created.status).toBe(201);
  const listed = (await (await fetch(`${address.url}/servers`)).json()) as { servers: { name: string; status: string }[] };
  expect(listed.servers.map((server) => [server.name, server.status])).toEqual([['cli-1', 'initializing']]);

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stderr()).toContain('local cloud stopped (SIGTERM)');
  await expect(fetch(`${address.url}/servers`)).rejects.toThrow();
});

test('prints a readable line by default, and requires the token from LOCAL_CLOUD_TOKEN when it is set', async () => {
  const { child, firstLine, exited } = await startCommand([], { LOCAL_CLOUD_TOKEN: 'cli-secret' });
  const url = /^local cloud listening on (http:\/\/127\.0\.0\.1:\d+\/v1) /.exec(firstLine)?.[1];
  expect(url).toBeDefined();
  expect(firstLine).not.toContain('cli-secret');
  expect((await fetch(`${url}/servers`)).status).toBe(401);
  expect((await fetch(`${url}/servers`, { headers: { authorization: 'Bearer cli-secret' } })).status).toBe(200);
  child.kill('SIGINT');
  expect(await exited).toBe(0);
});

test('a bad option value is a usage error: exit 2, nothing started', async () => {
  for (const args of [['--boot-delay', 'soon'], ['--error-rate', '2'], ['--snapshot', 'bad name']]) {
    const { exited, stderr } = await startCommand(args);
    expect(await exited).toBe(2);
    expect(stderr()).toMatch(/invalid/);
  }
});
