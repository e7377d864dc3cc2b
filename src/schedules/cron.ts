import { Cron } from 'croner';
import { AppError } from '../errors/app-error.ts';

/**
 * The first occurrence of `cron` in `timezone` strictly after `after`, or null when the expression
 * has no more. Five fields (minute precision) or six (seconds first), croner's syntax. Throws
 * invalid_request naming the problem (bad expression, unknown IANA time zone).
 */
export function nextOccurrence(cron: string, timezone: string, after: Date): Date | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone }); // a RangeError names an unknown zone
    return new Cron(cron, { timezone, paused: true }).nextRun(after);
  } catch (error) {
    throw new AppError('invalid_request', `Invalid schedule: ${(error as Error).message}`, {
      details: [{ path: 'cron', message: (error as Error).message }],
    });
  }
}
