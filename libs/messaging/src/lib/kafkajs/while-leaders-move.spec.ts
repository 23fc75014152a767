import { whileLeadersMove } from './while-leaders-move';

const notLeader = () => Object.assign(new Error('This server is not the leader for that topic-partition'), { retriable: true });

describe('whileLeadersMove', () => {
  it('tries a request again while the broker answers with a retriable error', async () => {
    let calls = 0;
    const answer = await whileLeadersMove(
      async () => {
        calls++;
        if (calls < 3) throw notLeader();
        return 'offsets';
      },
      10,
      1,
    );
    expect(answer).toBe('offsets');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt with the broker error', async () => {
    let calls = 0;
    await expect(
      whileLeadersMove(
        async () => {
          calls++;
          throw notLeader();
        },
        4,
        1,
      ),
    ).rejects.toThrow('not the leader');
    expect(calls).toBe(4);
  });

  it('does not retry an error that is not retriable', async () => {
    let calls = 0;
    await expect(
      whileLeadersMove(async () => {
        calls++;
        throw Object.assign(new Error('topic authorization failed'), { retriable: false });
      }),
    ).rejects.toThrow('authorization');
    expect(calls).toBe(1);
  });
});
