/** Seconds between a data plane's heartbeats, as the API suggests them (its own module: rule counters read it too). */
export const HEARTBEAT_INTERVAL_SECONDS = 30;
