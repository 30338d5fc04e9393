// What the fleet costs, from the prices its servers carry: per type the money per hour of the servers the cloud has
// now, and the money spent since the start of the month, from the status history. Every server the cloud has is
// counted, whatever its status (Hetzner bills a stopped server like a running one): from the moment the cloud
// created it (a provider id, a status past `new`) until it is deleted.
import type { Sql } from './sql.ts';
import { listServerTypes } from './registry.ts';

/** What one server type costs. Amounts are money per hour or money, net of tax, in the currency of its prices. */
export interface TypeCost {
  serverType: string;
  provider: string;
  /** Money per hour of the servers the cloud has now: the sum of their prices. */
  perHour: number;
  /** Servers the cloud has now (created, not deleted), whatever their status. */
  billedServers: number;
  /** Of those, servers whose price is unknown (counted at 0). */
  unpricedServers: number;
  /**
   * Money from the start of the month (UTC) to now: each server's time in the cloud this month at its price, read
   * from the status history, by the second (no rounding to started hours, no monthly cap).
   */
  monthToDate: number;
  /** The type's budget (money per hour), or null. */
  budgetPerHour: number | null;
  /** The currency of the prices read from the cloud (e.g. `EUR`), or null when its prices come from the stack file only. */
  currency: string | null;
}

/** A server's price: its own, else its offering's as last read from the cloud. */
const PRICE = 'coalesce(s."hourly_price", p."hourly")';
const PRICES_JOIN = 'left join "offering_price" p on p."provider" = s."provider" and p."offering" = s."offering"';
/** The cloud has (and bills) the server in this status: created, and not deleted yet. */
const BILLED = `s."provider_id" is not null`;

/** The first moment of the month of `now`, in UTC. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** What each configured type (and any other type with servers in the cloud) costs at `now`, sorted by type. */
export async function readCosts(db: Sql, now: Date): Promise<TypeCost[]> {
  const since = monthStart(now);
  const current = await db.execute<{ type: string; provider: string; per_hour: string; billed: number; unpriced: number }[]>(
    `select s."type", min(s."provider") as provider, coalesce(sum(${PRICE}), 0)::text as per_hour, count(*)::int as billed, ` +
      `count(*) filter (where ${PRICE} is null)::int as unpriced from "server" s ${PRICES_JOIN} ` +
      `where ${BILLED} and s."status" <> 'deleted' group by s."type"`,
  );
  const month = await db.execute<{ type: string; provider: string; spent: string }[]>(
    `with spans as (select c."server_id", c."to_status" as "status", c."changed_at" as "since", ` +
      `lead(c."changed_at") over (partition by c."server_id" order by c."changed_at", c."id") as "until" from "server_status_change" c) ` +
      `select s."type", min(s."provider") as provider, coalesce(sum(extract(epoch from (least(coalesce(sp."until", ?::timestamptz), ?::timestamptz) - greatest(sp."since", ?::timestamptz))) ` +
      `* coalesce(${PRICE}, 0) / 3600), 0)::text as spent from spans sp join "server" s on s."id" = sp."server_id" ${PRICES_JOIN} ` +
      `where ${BILLED} and sp."status" not in ('new', 'deleted') and sp."since" < ?::timestamptz and (sp."until" is null or sp."until" > ?::timestamptz) group by s."type"`,
    [now, now, since, now, since],
  );
  const currencies = await db.execute<{ provider: string; currency: string }[]>('select distinct on ("provider") "provider", "currency" from "offering_price" order by "provider", "currency"');
  const configured = await listServerTypes(db);
  const types = new Map<string, { provider: string; budgetPerHour: number | null }>(configured.map((type) => [type.name, { provider: type.provider, budgetPerHour: type.settings.budgetPerHour }]));
  for (const row of [...current, ...month]) if (!types.has(row.type)) types.set(row.type, { provider: row.provider, budgetPerHour: null });
  return [...types.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([serverType, { provider, budgetPerHour }]) => {
      const now = current.find((row) => row.type === serverType);
      return {
        serverType,
        provider,
        perHour: Number(now?.per_hour ?? 0),
        billedServers: Number(now?.billed ?? 0),
        unpricedServers: Number(now?.unpriced ?? 0),
        monthToDate: Number(month.find((row) => row.type === serverType)?.spent ?? 0),
        budgetPerHour,
        currency: currencies.find((row) => row.provider === provider)?.currency ?? null,
      };
    });
}
