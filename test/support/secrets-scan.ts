// Where a secret appears in plain text: files under directories, texts (command and worker output), and every table
// of a PostgreSQL database (the records, the job table, Pulumi's state table, whose blobs are base64 and are decoded
// before they are searched).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

/** What to search. */
export interface SecretScanTargets {
  /** Every regular file under these directories (recursively). */
  dirs?: readonly string[];
  /** Single files. */
  files?: readonly string[];
  /** Texts by a name for the report (e.g. `worker output`). */
  texts?: Readonly<Record<string, string>>;
  /** A database whose every table in the public schema is searched. */
  databaseUrl?: string;
}

/** What a scan looked at, and where it found the secret. */
export interface SecretScanReport {
  /** Places holding the secret in plain text: file paths, text names, `table <name>`. */
  hits: string[];
  files: number;
  tables: string[];
  /** Bytes searched in all (files, texts, table dumps, decoded state blobs). */
  bytes: number;
}

/** Every file under `dir`, recursively; none when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** A Pulumi DIY state blob as the postgres:// backend stores it: `{ "data": "<base64>" }`. */
function decodedBlob(data: unknown): string | undefined {
  const encoded = (data as { data?: unknown } | null)?.data;
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
}

/** Searches `targets` for `secret` in plain text. */
export async function scanForSecret(secret: string, targets: SecretScanTargets): Promise<SecretScanReport> {
  const report: SecretScanReport = { hits: [], files: 0, tables: [], bytes: 0 };
  const look = (where: string, content: Buffer | string) => {
    report.bytes += content.length;
    if (content.includes(secret)) report.hits.push(where);
  };
  const files = [...(targets.files ?? [])];
  for (const dir of targets.dirs ?? []) files.push(...(await filesUnder(dir)));
  for (const file of files) {
    look(file, await readFile(file));
    report.files += 1;
  }
  for (const [name, text] of Object.entries(targets.texts ?? {})) look(name, text);
  if (targets.databaseUrl) {
    const client = new pg.Client({ connectionString: targets.databaseUrl });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ name: string }>(`select tablename as name from pg_tables where schemaname = 'public' order by tablename`);
      for (const { name } of tables) {
        report.tables.push(name);
        const { rows } = await client.query<{ row: string; data: unknown }>(`select t::text as row, to_jsonb(t) -> 'data' as data from ${pg.escapeIdentifier(name)} t`);
        look(`table ${name}`, rows.map((row) => row.row).join('\n'));
        const blobs = rows.map((row) => decodedBlob(row.data)).filter((blob): blob is string => blob !== undefined);
        if (blobs.length > 0) look(`table ${name} (decoded state blobs)`, blobs.join('\n'));
      }
    } finally {
      await client.end();
    }
  }
  return report;
}

/**
 * The decoded Pulumi state blobs of the postgres:// backend's `table` whose key contains `part`, by key (keys are
 * `<database>/.pulumi/...`).
 */
export async function pulumiStateBlobs(databaseUrl: string, table: string, part: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ key: string; data: unknown }>(`select key, data from ${pg.escapeIdentifier(table)} where strpos(key, $1) > 0 order by key`, [part]);
    return Object.fromEntries(rows.map((row) => [row.key, decodedBlob(row.data) ?? '']));
  } finally {
    await client.end();
  }
}
