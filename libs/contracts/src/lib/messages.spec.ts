import { contractFor, forbiddenFieldsIn, withoutFields } from './messages';
import { Topics } from './topics';

describe('forbidden fields', () => {
  const voidRequested = contractFor(Topics.voidCommands, 'pos.void.requested');

  it('finds a supervisor credential in a void command, and nothing in one with an authorisation', () => {
    if (!voidRequested) throw new Error('no contract for pos.void.requested');
    expect(forbiddenFieldsIn(voidRequested, { supervisor: { operatorId: 'OP9', credential: '246810' } })).toEqual(['/supervisor/credential']);
    expect(forbiddenFieldsIn(voidRequested, { supervisor: { authorisationId: 'a' } })).toEqual([]);
    expect(forbiddenFieldsIn(voidRequested, { supervisor: null })).toEqual([]);
    expect(forbiddenFieldsIn(voidRequested, 'not an object')).toEqual([]);
  });

  it('removes them from a copy and leaves the rest, and the original, untouched', () => {
    const data = { amountFen: 100, supervisor: { operatorId: 'OP9', credential: '246810' } };
    expect(withoutFields(data, ['/supervisor/credential'])).toEqual({ amountFen: 100, supervisor: { operatorId: 'OP9' } });
    expect(data.supervisor.credential).toBe('246810');
  });
});
