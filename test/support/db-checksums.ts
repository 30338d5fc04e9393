import type pg from 'pg';

/** `md5` of every row of every table in the public schema, by table: equal checksums mean equal contents. */
export async function tableChecksums(client: pg.Client | pg.Pool): Promise<Record<string, string>> {
  const tables = (await client.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public' order by tablename")).rows;
  const sums: Record<string, string> = {};
  for (const { tablename } of tables) {
    const [sum] = (
      await client.query<{ rows: number; digest: string }>(
        `select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest from "${tablename}" t`,
      )
    ).rows;
    sums[tablename] = `${sum?.rows} rows, md5 ${sum?.digest}`;
  }
  return sums;
}
