import express, { Router } from 'express';
import { hasScope } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import { exceedsJsonDepth, TOO_DEEP_MESSAGE } from '../../lib/json-depth.js';
import { currentPolicy, policyVersions, savePolicy } from '../../lib/policy-store.js';
import { findProcess, processes } from '../../processes/index.js';
import { policyLimits } from '../../processes/policy.js';
import type { ApiContext } from '../context.js';
import { sendConsolePage } from '../console-security.js';
import { messagePage } from '../pages/console.js';
import { policyListPage, policyPage, type PolicyPageProps } from '../pages/policy.js';
import { wakeWebhooks } from '../run-service.js';
import { policyView } from './policies.js';

/**
 * Policy pages of the ops console. Mounted after the console router, whose /ops middleware signs the user in and
 * sets req.identity; reading needs runs:read (as every console page), changing needs policies:write.
 */
export function consolePoliciesRouter(ctx: ApiContext): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '200kb' });
  const bounds = () => policyLimits(ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
  // Through the console's sender, which puts the session's CSRF token into every form.
  const send = (res: express.Response, html: string, status = 200) => sendConsolePage(res, html, status);

  router.get('/ops/policies', async (_req, res) => {
    const rows = [];
    for (const process of processes) {
      const current = await currentPolicy(ctx.db, process);
      rows.push({ key: process.key, title: process.title, ...policyView(current) });
    }
    send(res, policyListPage(rows));
  });

  async function pageProps(key: string, canEdit: boolean, version?: number): Promise<PolicyPageProps | undefined> {
    const process = findProcess(key);
    if (!process) return undefined;
    const versions = (await policyVersions(ctx.db, process)).map(policyView);
    const shown = version === undefined ? versions[0] : versions.find((v) => v.version === version);
    if (!shown) return undefined;
    return { process, shown, currentVersion: versions[0]!.version, versions, canEdit, bounds: bounds() };
  }

  router.get('/ops/processes/:key/policy', async (req, res) => {
    const version = req.query.version === undefined ? undefined : Number(req.query.version);
    const saved = req.query.saved === undefined ? undefined : Number(req.query.saved);
    const props = await pageProps(String(req.params.key), hasScope(req.identity!, 'policies:write'), version);
    if (!props) return send(res, messagePage('Not found', 'No such process or policy version.', 404), 404);
    send(res, policyPage({ ...props, saved: Number.isInteger(saved) ? saved : undefined }));
  });

  router.post('/ops/processes/:key/policy', form, async (req, res) => {
    if (!hasScope(req.identity!, 'policies:write')) return send(res, messagePage('Not allowed', 'Changing a policy needs the "policies:write" scope.', 403), 403);
    const process = findProcess(String(req.params.key));
    if (!process) return send(res, messagePage('Not found', 'No such process.', 404), 404);
    const draft = { policy: String(req.body?.policy ?? ''), reason: String(req.body?.reason ?? '').trim() };
    const refuse = async (error: { message: string; issues: Array<{ path: string; message: string }> }) =>
      send(res, policyPage({ ...(await pageProps(process.key, true))!, draft, error }), error.issues.length ? 422 : 409);
    // The JSON routes refuse deep bodies before parsing (api/json-body.ts); this JSON comes in a form field instead.
    if (exceedsJsonDepth(draft.policy)) return refuse({ message: 'The policy is nested too deeply', issues: [{ path: 'policy', message: TOO_DEEP_MESSAGE }] });
    let policy: unknown;
    try {
      policy = JSON.parse(draft.policy);
    } catch (error) {
      return refuse({ message: 'The policy is not valid JSON', issues: [{ path: 'policy', message: (error as Error).message }] });
    }
    if (draft.reason.length < 3) return refuse({ message: 'Say why the policy changes', issues: [{ path: 'reason', message: 'at least 3 characters' }] });
    const basedOn = Number(req.body?.basedOn);
    try {
      const { saved, wake } = await savePolicy(ctx.db, process, { policy, reason: draft.reason, basedOn: Number.isInteger(basedOn) ? basedOn : undefined }, req.identity!.email, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
      await wakeWebhooks(ctx, wake);
      res.redirect(303, `/ops/processes/${process.key}/policy?saved=${saved.version}`);
    } catch (error) {
      if (error instanceof AppError && (error.code === 'validation_failed' || error.code === 'conflict')) {
        return refuse({ message: error.message, issues: error.details?.issues ?? [] });
      }
      throw error;
    }
  });

  return router;
}
