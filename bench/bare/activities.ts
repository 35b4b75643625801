import nodemailer from 'nodemailer';

/**
 * The baseline's side effects: one nodemailer transport (a new connection per mail, as the baseline has it;
 * pooled like Opsflow's with `smtpPool`, for a like-for-like figure), one fetch to the ERP simulator.
 */
export function createBareActivities(options: { smtpUrl: string; erpBaseUrl: string; erpApiKey: string; smtpPool?: boolean }) {
  const mailer = nodemailer.createTransport({ url: options.smtpUrl, pool: options.smtpPool === true });
  return {
    async sendMail(mail: { to: string; subject: string; text: string }): Promise<void> {
      await mailer.sendMail({ from: 'bare@example.com', ...mail });
    },
    async createPurchaseOrder(order: { reference: string; requestedBy: string }): Promise<{ poNumber: string }> {
      const response = await fetch(`${options.erpBaseUrl.replace(/\/$/, '')}/purchase-orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.erpApiKey}`, 'idempotency-key': `bare:${order.reference}` },
        body: JSON.stringify({
          reference: order.reference,
          vendor: 'Bench',
          description: order.reference,
          amount: 250_000,
          currency: 'EUR',
          costCenter: 'OPS-100',
          category: 'equipment',
          requestedBy: order.requestedBy,
        }),
      });
      if (!response.ok) throw new Error(`ERP answered ${response.status}`);
      return (await response.json()) as { poNumber: string };
    },
  };
}

export type BareActivities = ReturnType<typeof createBareActivities>;
