import { describe, expect, it } from 'vitest';
import { readCommand } from '../../api/inbound-email.js';
import { parseReplyAddress, replyAddress } from '../../lib/reply-address.js';

const token = 'A'.repeat(20) + '_b-' + 'c'.repeat(20);
const version = 'ab12cd34ef'.padEnd(64, '9');

describe('reply addresses', () => {
  it('round-trips the token and the version prefix, within SMTP’s 64-character local part', () => {
    const address = replyAddress('replies.example.com', token, version);
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(parseReplyAddress(address, 'replies.example.com')).toEqual({ token, versionPrefix: 'ab12cd34ef' });
    expect(parseReplyAddress(address.replace('@replies.example.com', '@REPLIES.example.com'), 'replies.example.com')).toEqual({ token, versionPrefix: 'ab12cd34ef' });
  });

  it('refuses other domains and malformed local parts', () => {
    const address = replyAddress('replies.example.com', token, version);
    expect(parseReplyAddress(address, 'other.example.com')).toBeUndefined();
    expect(parseReplyAddress(`approvals+${token}@replies.example.com`, 'replies.example.com')).toBeUndefined();
    expect(parseReplyAddress(`approvals+short.ab12cd34ef@replies.example.com`, 'replies.example.com')).toBeUndefined();
    expect(parseReplyAddress(`someone@replies.example.com`, 'replies.example.com')).toBeUndefined();
  });
});

describe('the first line of a reply', () => {
  it('reads approve, reject <reason> and changes <comment>, ignoring the quoted mail and the signature', () => {
    expect(readCommand('Approve\n\n--\nMorgan Lee\n')).toEqual({ decision: 'approved', comment: null });
    expect(readCommand('\n\nreject: over budget\n\nOn Tue, Opsflow wrote:\n> approve\n')).toEqual({ decision: 'rejected', comment: 'over budget' });
    expect(readCommand('changes - get a second quote\r\n> Approval needed')).toEqual({ decision: 'changes_requested', comment: 'get a second quote' });
  });

  it('reads nothing from a first line that is no command, even when the quoted mail has one', () => {
    expect(readCommand('Looks fine to me\n\nOn Tue, Opsflow wrote:\n> approve')).toBeUndefined();
    expect(readCommand('approvement\n')).toBeUndefined();
    expect(readCommand('')).toBeUndefined();
  });
});
