import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { withLogContext } from '../lib/log-context.js';
import { parseReplyAddress } from '../lib/reply-address.js';
import type { ApiContext } from './context.js';
import { handleInboundEmail, type InboundEmail } from './inbound-email.js';

/** Replies are a few lines plus the quoted mail; anything much larger is not a reply to us. */
const MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

export interface InboundSmtp {
  port: number;
  close(): Promise<void>;
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * Opsflow's SMTP listener for replies to approval mails (INBOUND_SMTP_PORT, started by the API process): the MX
 * of INBOUND_EMAIL_DOMAIN, or the relay behind it. Only our reply addresses are accepted at RCPT, so it relays
 * nothing; a message is answered "250" once it was handled (decided or answered with why not), and "451" when
 * that failed on our side, so the sending server tries again (the answer mail is once per Message-ID).
 */
export async function startInboundSmtp(ctx: ApiContext, inbound: InboundEmail, listen: { port: number; host: string }): Promise<InboundSmtp> {
  const smtp = new SMTPServer({
    // Mail servers deliver without authenticating; TLS is the relay's or the load balancer's job in front of us.
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onRcptTo(address, _session, callback) {
      if (parseReplyAddress(address.address, inbound.domain)) return callback();
      callback(Object.assign(new Error('No such recipient here'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too large'), { responseCode: 552 }));
          // Its own log context: the lines it logs name the run the reply is about, once that is known.
          await withLogContext({}, () => handleInboundEmail(ctx, inbound, raw, {
            recipients: session.envelope.rcptTo.map((r) => r.address),
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            remoteAddress: session.remoteAddress,
            helo: session.hostNameAppearsAs,
          }));
          callback();
        })
        .catch((error: unknown) => {
          ctx.logger.error({ err: error }, 'inbound reply not handled');
          callback(Object.assign(new Error('Temporary failure, try again later'), { responseCode: 451 }));
        });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.server.listen(listen.port, listen.host, () => resolve((smtp.server.address() as AddressInfo).port));
  });
  return { port, close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) };
}
