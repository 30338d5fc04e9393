import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The `unavailable_offering` table: offerings a cloud refused for capacity (`small@local-1` of provider `local`),
 * skipped by every worker and every change until `until`, the refusal plus the type's `unavailableOfferingSeconds`.
 */
export const UnavailableOffering = defineEntity({
  name: 'UnavailableOffering',
  tableName: 'unavailable_offering',
  properties: {
    provider: p.text().primary(),
    offering: p.text().primary(),
    until: p.datetime(),
    /** The refusal, as the cloud worded it. */
    reason: p.text(),
    recordedAt: p.datetime(),
  },
});

/** A managed row of the `unavailable_offering` table. */
export type UnavailableOfferingEntity = InferEntity<typeof UnavailableOffering>;

/** The `offering_price` table: the hourly price of each offering of a provider that publishes prices, as the workers last read it. */
export const OfferingPriceEntry = defineEntity({
  name: 'OfferingPriceEntry',
  tableName: 'offering_price',
  properties: {
    provider: p.text().primary(),
    offering: p.text().primary(),
    /** Per hour, net of tax, in `currency`. */
    hourly: p.decimal('number').precision(20).scale(10),
    currency: p.text(),
    fetchedAt: p.datetime(),
  },
  checks: [{ name: 'offering_price_hourly_check', expression: 'hourly >= 0' }],
});

/** A managed row of the `offering_price` table. */
export type OfferingPriceEntity = InferEntity<typeof OfferingPriceEntry>;
