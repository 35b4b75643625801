import type { SupplierOnboardingInput } from '../processes/supplier-onboarding.js';
import type { SupplierDetails } from '../processes/supplier-details.js';
import type { ActivityDeps } from './deps.js';
import { noticeEmail } from './email-templates.js';
import { sendEmailOnce } from './email.js';
import type { ScreeningResult } from './screening.js';
import { writeAudit } from './records.js';

/** Screening and the ERP vendor master, for onboarding and the yearly re-screening. */
export function createSupplierActivities(deps: ActivityDeps) {
  return {
    async screenSupplier(request: { runId: string; reference: string; name: string; country: string; step: string }): Promise<ScreeningResult> {
      const result = await deps.screening.screen({ reference: request.reference, name: request.name, country: request.country }, `${request.reference}:screening`);
      await writeAudit(deps, {
        eventKey: `${request.reference}:screening`,
        runId: request.runId,
        action: result.status === 'hit' ? 'screening.hit' : 'screening.clear',
        actor: 'opsflow',
        step: request.step,
        details: { checkId: result.checkId, name: request.name, matches: result.matches },
      });
      return result;
    },

    async createVendor(request: { runId: string; input: SupplierOnboardingInput; details: SupplierDetails }): Promise<{ vendorId: string }> {
      const { input, details } = request;
      const vendor = await deps.erp.createVendor(
        {
          reference: request.runId,
          legalName: input.legalName,
          country: input.country,
          taxId: details.taxId,
          vatNumber: details.vatNumber,
          address: details.registeredAddress,
          bank: details.bank,
          category: input.category,
          contactEmail: input.contact.email,
        },
        `${request.runId}:vendor`,
      );
      await writeAudit(deps, { eventKey: `${request.runId}:vendor`, runId: request.runId, action: 'erp.vendor_created', actor: 'opsflow', step: 'create-vendor', details: { vendorId: vendor.vendorId } });
      return { vendorId: vendor.vendorId };
    },

    async welcomeSupplier(request: { runId: string; input: SupplierOnboardingInput; vendorId: string }): Promise<void> {
      const { input } = request;
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.runId}:supplier-welcome`,
        runId: request.runId,
        kind: 'supplier.welcome',
        to: input.contact.email,
        email: noticeEmail({
          subject: `${input.legalName} is set up as our supplier`,
          greeting: `Hello ${input.contact.name}`,
          paragraphs: [`Thank you. ${input.legalName} is now an approved supplier. Please quote your supplier number on every invoice.`],
          details: [
            { label: 'Supplier number', value: request.vendorId },
            { label: 'Your contact with us', value: `${input.requester.name} <${input.requester.email}>` },
          ],
        }),
      });
    },

    /** One page of active vendors after `after` (vendor-id order), small enough for one workflow payload. */
    async activeVendorsPage(request: { after?: string; limit: number }): Promise<{ vendors: Array<{ vendorId: string; legalName: string; country: string }>; nextAfter: string | null }> {
      const page = await deps.erp.vendorsPage({ status: 'active', after: request.after, limit: request.limit });
      return { vendors: page.items.map((v) => ({ vendorId: v.vendorId, legalName: v.legalName, country: v.country })), nextAfter: page.nextAfter };
    },

    async blockVendor(request: { runId: string; vendorId: string; reason: string }): Promise<void> {
      await deps.erp.blockVendor(request.vendorId, request.reason);
      await writeAudit(deps, { eventKey: `${request.runId}:block:${request.vendorId}`, runId: request.runId, action: 'erp.vendor_blocked', actor: 'opsflow', step: 'rescreening', details: { vendorId: request.vendorId, reason: request.reason } });
    },
  };
}
