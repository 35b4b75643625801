import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer } from '../../activities/email.js';
import { startMailSink, type MailSink } from '../../dev/mail-sink.js';

/**
 * The worker's and the API's SMTP transport reuses its connections (activities/email.ts): a mail costs its SMTP
 * transaction, not a new connection each time; `pool=false` in SMTP_URL opts out.
 */
describe('the SMTP transport', () => {
  let sink: MailSink;
  beforeAll(async () => {
    sink = await startMailSink({ web: false });
  });
  afterAll(async () => {
    await sink?.close();
  });

  const sendThree = async (smtpUrl: string) => {
    const mailer = createMailer(smtpUrl);
    const before = sink.connections();
    try {
      for (let i = 1; i <= 3; i++) await mailer.sendMail({ from: 'opsflow@example.com', to: 'someone@example.com', subject: `Mail ${i}`, text: 'Hello' });
    } finally {
      mailer.close();
    }
    return sink.connections() - before;
  };

  it('sends mail after mail over one connection', async () => {
    expect(await sendThree(sink.smtpUrl)).toBe(1);
    expect(sink.messages().map((m) => m.subject)).toEqual(['Mail 1', 'Mail 2', 'Mail 3']);
  });

  it('opens a connection per mail when SMTP_URL says pool=false', async () => {
    expect(await sendThree(`${sink.smtpUrl}?pool=false`)).toBe(3);
  });
});
