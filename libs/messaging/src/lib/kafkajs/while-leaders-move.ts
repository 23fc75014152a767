/**
 * kafkajs's admin offset requests do not retry themselves. Just after a topic is created, a broker
 * can still answer NOT_LEADER_FOR_PARTITION (or another retriable error) although the metadata already
 * names it leader: try again briefly before giving up.
 */
export async function whileLeadersMove<T>(request: () => Promise<T>, attempts = 10, backoffMs = 200): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}
