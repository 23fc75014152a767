/**
 * Where "now" comes from. Production code receives a Clock instead of calling `new Date()`, so
 * cutoff logic can be tested at any instant and decisions can be replayed.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
