// Budgets: most money per hour a type's (or a provider's) provisioned servers may cost together, counted like a
// server limit inside the change's transaction. Each server carries the hourly price of its offering, so the sum is
// one statement; the arithmetic is PostgreSQL's exact numeric, so three servers at 0.005 fit a budget of 0.015.
import type { Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';
import { PROVISIONED_SQL } from './desired-state.ts';
import { UnknownPriceError } from './errors.ts';
import type { CountedLimit } from './limits.ts';
import type { ChosenOffering } from './offerings.ts';

/** What a budget's servers cost, and how many more at one price it leaves room for. */
export interface BudgetRoom {
  /** Money per hour the provisioned servers cost (each at its own price, else its offering's recorded cloud price). */
  spentPerHour: number;
  /** New servers at the price that fit; a very large number for a price of 0. */
  room: number;
  /** Provisioned servers whose price is unknown. */
  unpriced: number;
}

/**
 * Reads, in the caller's transaction (under the lock of the type, or of the provider), what the provisioned servers
 * of `of` cost per hour and how many servers at `price` still fit under `budget`, leaving out server `exceptId`.
 */
export async function budgetRoom(tx: Transaction, of: { serverType: string } | { provider: string }, budget: number, price: number, exceptId = 0): Promise<BudgetRoom> {
  const [column, key] = 'serverType' in of ? ['type', of.serverType] : ['provider', of.provider];
  const rows = await tx.execute<{ spent: string; unpriced: number; room: string | null }[]>(
    `with priced as (select coalesce(s."hourly_price", p."hourly") as "price" from "server" s ` +
      `left join "offering_price" p on p."provider" = s."provider" and p."offering" = s."offering" ` +
      `where s."${column}" = ? and s."status" in (${PROVISIONED_SQL}) and s."id" <> ?) ` +
      `select coalesce(sum("price"), 0)::text as spent, count(*) filter (where "price" is null)::int as unpriced, ` +
      `case when ?::numeric = 0 then null else greatest(0, floor((?::numeric - coalesce(sum("price"), 0)) / ?::numeric)) end::text as room from priced`,
    [key, exceptId, price, budget, price],
  );
  const row = rows[0]!;
  return { spentPerHour: Number(row.spent), room: row.room === null ? Number.MAX_SAFE_INTEGER : Number(row.room), unpriced: Number(row.unpriced) };
}

/**
 * The budget of `type` (`of: 'serverType'`) or of its provider as a limit on new servers on `offering`, counted in
 * the caller's transaction under the matching lock: `provisioned` is the count the budget covers. Throws
 * UnknownPriceError when the offering's price is unknown, or when provisioned servers it covers have none.
 */
export async function countBudget(tx: Transaction, type: ResolvedServerType, of: 'serverType' | 'provider', provisioned: number, offering: ChosenOffering): Promise<CountedLimit> {
  const perHour = (of === 'serverType' ? type.budget : type.providerBudget)!;
  if (offering.hourlyPrice === null) throw new UnknownPriceError(type.name, [offering.name ?? '(its template)'], 0);
  const counted = await budgetRoom(tx, of === 'serverType' ? { serverType: type.name } : { provider: type.provider }, perHour, offering.hourlyPrice);
  if (counted.unpriced > 0) throw new UnknownPriceError(type.name, [], counted.unpriced);
  return {
    scope: 'budget',
    maximum: provisioned + counted.room,
    provisioned,
    budget: { of, perHour, spentPerHour: counted.spentPerHour, pricePerServer: offering.hourlyPrice, offering: offering.name },
  };
}
