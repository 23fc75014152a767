import { CalendarError } from './calendar-error';
import { parseTimeOfDay, timeOfDay } from './time-of-day';

describe('timeOfDay / parseTimeOfDay', () => {
  it('builds validated, frozen times', () => {
    const cutoff = timeOfDay(23, 0);
    expect(cutoff).toEqual({ hour: 23, minute: 0, second: 0 });
    expect(Object.isFrozen(cutoff)).toBe(true);
    expect(timeOfDay(0, 0, 0)).toEqual({ hour: 0, minute: 0, second: 0 });
    expect(timeOfDay(23, 59, 59)).toEqual({ hour: 23, minute: 59, second: 59 });
  });

  it.each([
    [24, 0, 0],
    [-1, 0, 0],
    [12, 60, 0],
    [12, 0, 60],
    [12.5, 0, 0],
    [NaN, 0, 0],
  ])('refuses %p:%p:%p', (hour, minute, second) => {
    expect(() => timeOfDay(hour, minute, second)).toThrow(expect.objectContaining({ code: 'INVALID_TIME_OF_DAY' }));
  });

  it.each([
    ['23:00', { hour: 23, minute: 0, second: 0 }],
    ['23:00:00', { hour: 23, minute: 0, second: 0 }],
    ['00:00', { hour: 0, minute: 0, second: 0 }],
    ['07:05:09', { hour: 7, minute: 5, second: 9 }],
  ])('parses %p', (text, expected) => {
    expect(parseTimeOfDay(text)).toEqual(expected);
  });

  it.each(['24:00', '23:60', '23:00:60', '7:00', '23', '23:00:00.000', ' 23:00', '23h00', ''])('refuses %p', (text) => {
    expect(() => parseTimeOfDay(text)).toThrow(CalendarError);
    expect(() => parseTimeOfDay(text)).toThrow(expect.objectContaining({ code: 'INVALID_TIME_OF_DAY' }));
  });
});
