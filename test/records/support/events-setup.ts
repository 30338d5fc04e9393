/** The server types the cross-process event test publishes (alpha allows 3 servers). */
export const EVENTS_TYPES = { alpha: { provider: 'local', maximum: 3 } };
