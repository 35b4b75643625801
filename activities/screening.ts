import type { HttpSystem } from './http-system.js';

export interface ScreeningMatch {
  list: string;
  name: string;
  score: number;
}

export interface ScreeningResult {
  checkId: string;
  status: 'clear' | 'hit';
  matches: ScreeningMatch[];
  screenedAt: string;
}

/** Sanctions and risk screening of an organisation. */
export interface Screening {
  screen(subject: { reference: string; name: string; country: string }, idempotencyKey: string): Promise<ScreeningResult>;
}

export class HttpScreening implements Screening {
  constructor(private readonly http: HttpSystem) {}
  screen = (subject: { reference: string; name: string; country: string }, idempotencyKey: string) =>
    this.http.create<ScreeningResult>('/checks', subject, idempotencyKey);
}
