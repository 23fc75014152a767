/**
 * Headers a dead-letter replay adds to the copy it writes back to the source topic (all other
 * headers, `ce_id` included, are the original's, so consumers' inboxes deduplicate a replay of an
 * event they already applied). The source topic itself is the replay log: a DLQ message whose
 * position appears in a `dlq_replay_of` header on its source topic has been replayed.
 */
export const ReplayHeaders = {
  /** `<dead-letter topic>/<partition>/<offset>` of the message this copy replays (logical topic name). */
  replayOf: 'dlq_replay_of',
  replayedAt: 'dlq_replayed_at',
} as const;

export function replayMarkerOf(deadLetterTopic: string, partition: number, offset: string): string {
  return `${deadLetterTopic}/${partition}/${offset}`;
}
