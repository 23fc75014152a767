import { TopicName, Topics } from './topics';

/**
 * The CloudEvents `source` of each of the platform's services: every event a service publishes
 * carries it, and consumers refuse an event of that service's topics that names another.
 */
export const ServiceSources = {
  payment: '/payment-service',
  clearing: '/clearing-service',
  void: '/void-service',
} as const;
export type ServiceSource = (typeof ServiceSources)[keyof typeof ServiceSources];

/** Commands come from systems outside the platform (POS gateways, terminal hosts, operators' tools). */
export const UPSTREAM = 'upstream';

/** Who may produce the messages of a topic: one of the platform's services, or an upstream system. */
export type Producer = ServiceSource | typeof UPSTREAM;

export const TopicProducers: Readonly<Record<TopicName, Producer>> = {
  [Topics.paymentCommands]: UPSTREAM,
  [Topics.paymentEvents]: ServiceSources.payment,
  [Topics.clearingCommands]: UPSTREAM,
  [Topics.clearingEvents]: ServiceSources.clearing,
  [Topics.voidCommands]: UPSTREAM,
  [Topics.voidEvents]: ServiceSources.void,
};

const serviceSources: ReadonlySet<string> = new Set(Object.values(ServiceSources));

/**
 * Whether a message of `producer` may carry `source`. A service's events must name that service.
 * Upstream commands must name one of `upstreamSources`, the gateways a deployment has named
 * (KAFKA_UPSTREAM_SOURCES); a deployment that names none accepts any source but the platform's
 * own services', which never send commands.
 */
export function isSourceAllowed(producer: Producer, source: string, upstreamSources?: readonly string[]): boolean {
  if (producer !== UPSTREAM) return source === producer;
  if (upstreamSources && upstreamSources.length > 0) return upstreamSources.includes(source);
  return !serviceSources.has(source);
}
