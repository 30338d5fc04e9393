import { DesiredState } from './desired-state.ts';
import { Installation } from './installation.ts';
import { OfferingPriceEntry, UnavailableOffering } from './offerings.ts';
import { Server } from './server.ts';
import { ProviderConfigVersion, ServerTypeConfigVersion } from './server-type-config.ts';
import { ServerStatusChange } from './server-status-change.ts';

/** Every entity of the server records, for the ORM's configuration. */
export const RECORD_ENTITIES = [Server, ServerStatusChange, DesiredState, ServerTypeConfigVersion, ProviderConfigVersion, Installation, UnavailableOffering, OfferingPriceEntry];
