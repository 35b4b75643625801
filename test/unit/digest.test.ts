import { describe, expect, it } from 'vitest';
import { digestDue, localClock } from '../../activities/inbox.js';

describe('the daily digest is due by each person\'s own clock', () => {
  const at = new Date('2026-12-01T23:30:00Z');

  it('reads the local hour and date in the person\'s time zone', () => {
    expect(localClock(at, 'UTC')).toEqual({ hour: 23, date: '2026-12-01' });
    expect(localClock(at, 'Asia/Tokyo')).toEqual({ hour: 8, date: '2026-12-02' });
    expect(localClock(at, 'America/Los_Angeles')).toEqual({ hour: 15, date: '2026-12-01' });
    // A zone the runtime does not know counts as UTC rather than failing the whole digest.
    expect(localClock(at, 'Mars/Olympus_Mons')).toEqual({ hour: 23, date: '2026-12-01' });
  });

  it('is due once the local digest hour has passed, keyed by the local date; never for someone who opted out', () => {
    expect(digestDue({ digestHour: 8, timeZone: 'Asia/Tokyo' }, at)).toEqual({ due: true, localDate: '2026-12-02' });
    expect(digestDue({ digestHour: 9, timeZone: 'Asia/Tokyo' }, at)).toEqual({ due: false });
    expect(digestDue({ digestHour: 8, timeZone: 'America/Los_Angeles' }, at)).toEqual({ due: true, localDate: '2026-12-01' });
    expect(digestDue({ digestHour: 0, timeZone: 'UTC' }, at)).toEqual({ due: true, localDate: '2026-12-01' });
    expect(digestDue({ digestHour: null, timeZone: 'UTC' }, at)).toEqual({ due: false });
  });
});
