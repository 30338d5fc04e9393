// The Pulumi locks a stack holds on a DIY state backend, read where the backend keeps them: lock files under
// `.pulumi/locks/<organization>/<project>/<stack>/` (file://), or rows of the state table whose key is that path
// after the database's name (postgres://: `<database>/.pulumi/locks/...`). Tests assert with it that no stack is left
// locked.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** One lock of a stack: who took it. */
export interface StackLock {
  key: string;
  pid: number;
  hostname: string;
  timestamp: string;
}

/** The locks of `project`/`stack` in the file:// or postgres:// backend at `backendUrl` (empty: not locked). */
export async function readStackLocks(backendUrl: string, project: string, stack: string): Promise<StackLock[]> {
  if (backendUrl.startsWith('file://')) {
    const root = join(fileURLToPath(backendUrl), '.pulumi', 'locks');
    const locks: StackLock[] = [];
    for (const organization of await readdir(root).catch(() => [] as string[])) {
      const dir = join(root, organization, project, stack);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (!file.endsWith('.json')) continue;
        const content = JSON.parse(await readFile(join(dir, file), 'utf8')) as Omit<StackLock, 'key'>;
        locks.push({ key: join(dir, file), pid: content.pid, hostname: content.hostname, timestamp: content.timestamp });
      }
    }
    return locks;
  }
  if (backendUrl.startsWith('postgres://')) {
    const url = new URL(backendUrl);
    const table = url.searchParams.get('table') ?? 'pulumi_state';
    url.search = '';
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    try {
      const exists = await client.query<{ found: string | null }>('select to_regclass($1)::text as found', [table]);
      if (exists.rows[0]?.found === null) return [];
      const { rows } = await client.query<{ key: string; data: { data: string } }>(`select key, data from ${pg.escapeIdentifier(table)} where key like '%.pulumi/locks/%.json' order by key`);
      return rows
        .filter((row) => row.key.split('/').slice(-3, -1).join('/') === `${project}/${stack}`)
        .map((row) => {
          const content = JSON.parse(Buffer.from(row.data.data, 'base64').toString('utf8')) as Omit<StackLock, 'key'>;
          return { key: row.key, pid: content.pid, hostname: content.hostname, timestamp: content.timestamp };
        });
    } finally {
      await client.end();
    }
  }
  throw new Error(`reading stack locks of ${backendUrl.split(':')[0]} backends is not supported here`);
}
