import { describe, expect, it } from 'vitest';
import { approvalRequestMessage, closedRequestMessage, decisionOutcome, reasonModal, type RequestSummary } from '../../lib/slack-messages.js';

const RLO = '\u202E';
/** Bidi controls and the invisible characters lib/display-text.ts removes or shows: none may reach Slack raw. */
const HIDDEN = /[\u202A-\u202E\u2066-\u2069\u00AD\u200B\u200C\u200E\u200F\u2060-\u2064\uFEFF]/u;

/** A request whose every requester-typed text hides something: an override and zero-width characters. */
const request: RequestSummary = {
  requestId: 'capex-1:line-manager:a1:s0:r1',
  processTitle: 'Capex sign-off',
  runTitle: `Invoice ${RLO}0001 EUR`,
  stepTitle: 'Line manager\u200B approval',
  requesterName: 'Jordan\u200B Blake',
  facts: [
    { label: 'Amount', value: '2,500.00 EUR' },
    { label: 'Vendor', value: `Trumpf${RLO}GmbH\u2060` },
    { label: 'Justification', value: `A long reason that needs a section of its own, and hides a mark\u200E here.\nSecond line ${RLO}.` },
  ],
  version: 'ab'.repeat(32),
  expiresAt: new Date('2026-12-02T10:15:00Z'),
  escalatedFrom: 'Morgan\uFEFF Lee',
  onBehalfOf: 'Casey\u200C Nguyen',
};

describe('Slack messages show requester-typed text as pages and mails do', () => {
  it('the request, its changes and its closed form: bidi controls shown as markers, invisible characters removed', () => {
    const asked = approvalRequestMessage(request, [{ label: 'Vendor', before: 'Trumpf', after: `Trumpf${RLO}GmbH` }]);
    const outcome = decisionOutcome({ decision: 'approved', decidedBy: 'Morgan Lee', channel: 'slack', decidedAt: new Date('2026-12-01T09:00:00Z'), comment: `fine ${RLO}kO` });
    const closed = closedRequestMessage(request, outcome);
    for (const message of [asked, closed]) {
      const shown = JSON.stringify(message);
      expect(shown).not.toMatch(HIDDEN);
      expect(shown).toContain('Invoice [U+202E]0001 EUR');
      expect(shown).toContain('Trumpf[U+202E]GmbH');
      expect(shown).toContain('requested by Jordan Blake');
    }
    expect(asked.text).toBe('Approval needed: Invoice [U+202E]0001 EUR (Line manager approval)');
    expect(JSON.stringify(asked)).toContain('You hold this for Casey Nguyen, who is away.');
    expect(JSON.stringify(closed)).toContain('fine [U+202E]kO');
  });

  it('the reason modal', () => {
    const modal = reasonModal('rejected', 'capex-1:line-manager:a1:s0:r1|' + 'ab'.repeat(32), `Line manager ${RLO}approval\u200B`);
    expect(JSON.stringify(modal)).not.toMatch(HIDDEN);
    expect(JSON.stringify(modal)).toContain('Line manager [U+202E]approval');
  });
});
