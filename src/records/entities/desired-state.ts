import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The `desired_state` table: one document per server type that has ever been changed. Every change bumps
 * `version`; the job layer records in `appliedVersion` the last version whose work it finished, so
 * `version > appliedVersion` means work remains. It also holds the back-off of the type's creates and the state of
 * its rollout.
 */
export const DesiredState = defineEntity({
  name: 'DesiredState',
  tableName: 'desired_state',
  properties: {
    serverType: p.text().primary(),
    /** Provisioned servers of the type right after the last change. */
    desiredCount: p.integer(),
    version: p.integer(),
    appliedVersion: p.integer(),
    updatedAt: p.datetime(),
    /** Creates of the type that hung or errored since one of its servers last reached running. */
    createFailures: p.integer().default(0),
    /** No server of the type is created before this time (the back-off after repeated failures); null when none. */
    createsPausedUntil: p.datetime().nullable(),
    /** True while a person paused the type's rollout (`dynamic-servers rollout <type> --pause`). */
    rolloutPaused: p.boolean().default(false),
    /** When a replacement that failed halted the type's rollout; null while it is not halted. */
    rolloutHaltedAt: p.datetime().nullable(),
    /** Why the rollout halted (which replacement failed, and how). */
    rolloutHaltReason: p.text().nullable(),
  },
  checks: [
    { name: 'desired_state_create_failures_check', expression: 'create_failures >= 0' },
    { name: 'desired_state_desired_count_check', expression: 'desired_count >= 0' },
    { name: 'desired_state_applied_version_check', expression: 'applied_version >= 0 and applied_version <= version' },
  ],
});

/** A managed row of the `desired_state` table. */
export type DesiredStateEntity = InferEntity<typeof DesiredState>;
