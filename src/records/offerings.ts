// Offerings as the records keep them: which offering new servers of a type get (the first in order of preference
// that no cloud refused lately), what an offering costs, which offerings are unavailable for now, and the prices
// the workers read from the clouds. Scripts know only the database, so everything a change needs is here.
import type { Sql, Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';

/** The offering new servers are created on, with its hourly price. */
export interface ChosenOffering {
  /** Null for a type with one unnamed offering (published without offerings). */
  name: string | null;
  /** Money per hour, or null when no price is known. */
  hourlyPrice: number | null;
}

/** An offering's hourly price as a cloud lists it (see ServerProvider.prices). */
export interface RecordedPrice {
  offering: string;
  hourly: number;
  currency: string;
}

/** The offerings of `provider` a cloud refused for capacity that are still skipped at `now`. */
export async function unavailableOfferings(db: Sql, provider: string, now: Date): Promise<Set<string>> {
  const rows = await db.execute<{ offering: string }[]>('select "offering" from "unavailable_offering" where "provider" = ? and "until" > ?::timestamptz', [provider, now]);
  return new Set(rows.map((row) => row.offering));
}

/**
 * Marks `offering` of `provider` unavailable until `until` (never shortening a mark in force), with the cloud's
 * `reason`. Returns the time it is skipped until.
 */
export async function markOfferingUnavailable(tx: Transaction, provider: string, offering: string, until: Date, reason: string, now: Date): Promise<Date> {
  const rows = await tx.execute<{ until: Date | string }[]>(
    `insert into "unavailable_offering" ("provider", "offering", "until", "reason", "recorded_at") values (?, ?, ?::timestamptz, ?, ?::timestamptz) ` +
      `on conflict ("provider", "offering") do update set "until" = greatest(case when "unavailable_offering"."until" > excluded."recorded_at" then "unavailable_offering"."until" end, excluded."until"), ` +
      `"reason" = excluded."reason", "recorded_at" = excluded."recorded_at" returning "until"`,
    [provider, offering, until, reason, now],
  );
  return new Date(rows[0]!.until);
}

/**
 * The hourly price of `offering` of `type`: its stack file's, else the cloud's as the workers last read it, else
 * null (also for the unnamed offering).
 */
export async function offeringPrice(tx: Transaction, type: ResolvedServerType, offering: string | null): Promise<number | null> {
  if (offering === null) return null;
  if (Object.hasOwn(type.prices, offering)) return type.prices[offering]!;
  const rows = await tx.execute<{ hourly: string | number }[]>('select "hourly" from "offering_price" where "provider" = ? and "offering" = ?', [type.provider, offering]);
  return rows[0] === undefined ? null : Number(rows[0].hourly);
}

/**
 * The offering new servers of `type` get at `now`: the first in order of preference that is not marked
 * unavailable, or the first when all are (the engine then errors them without asking the cloud), with its price.
 */
export async function chooseOffering(tx: Transaction, type: ResolvedServerType, now: Date): Promise<ChosenOffering> {
  if (type.offerings.length === 0) return { name: null, hourlyPrice: null };
  const unavailable = await unavailableOfferings(tx, type.provider, now);
  const name = type.offerings.find((offering) => !unavailable.has(offering)) ?? type.offerings[0]!;
  return { name, hourlyPrice: await offeringPrice(tx, type, name) };
}

/** Replaces the recorded prices of `provider` with `prices` (read from its cloud at `now`), in the caller's transaction. */
export async function recordOfferingPrices(tx: Transaction, provider: string, prices: readonly RecordedPrice[], now: Date): Promise<void> {
  await tx.execute('delete from "offering_price" where "provider" = ?', [provider]);
  if (prices.length === 0) return;
  await tx.execute(
    `insert into "offering_price" ("provider", "offering", "hourly", "currency", "fetched_at") values ${prices.map(() => '(?, ?, ?, ?, ?::timestamptz)').join(', ')}`,
    prices.flatMap((price) => [provider, price.offering, price.hourly, price.currency, now]),
  );
}

/** When the prices of `provider` were last read from its cloud, or null when never. */
export async function pricesReadAt(db: Sql, provider: string): Promise<Date | null> {
  const rows = await db.execute<{ fetched_at: Date | string | null }[]>('select max("fetched_at") as fetched_at from "offering_price" where "provider" = ?', [provider]);
  return rows[0]?.fetched_at ? new Date(rows[0].fetched_at) : null;
}
