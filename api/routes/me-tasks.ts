import express, { type Request, type Response, type Router } from 'express';
import type { PersonSession } from '../../lib/person-sessions.js';
import { sendConsolePage } from '../console-security.js';
import type { ApiContext } from '../context.js';
import { html, layout } from '../pages/html.js';
import { isOffered, postTaskPage, renderTaskPage, type TaskPageContext } from '../task-pages.js';
import { findTask, type TaskWithRun } from '../task-service.js';

type Middleware = (req: Request, res: Response, next: () => void) => Promise<void> | void;

/** Whether the task is, or was, this person's: offered to them (now or before) or held by them. */
async function isMine(ctx: ApiContext, task: TaskWithRun, email: string): Promise<boolean> {
  if (task.holderEmail?.toLowerCase() === email) return true;
  return (await ctx.db.approvalRequest.count({ where: { kind: 'task', stepId: task.id, approverEmail: email } })) > 0;
}

const notYours = layout({ title: 'No such task', body: html`<h1>No such task for you</h1><p><a href="/me/approvals">Back to My approvals</a></p>`, status: 404 });

/**
 * My approvals' task pages (`/me/tasks/:id`): the task's page for the signed-in person, its forms posting here with
 * the session's CSRF token, acting through the same Updates as the mailed link (channel `inbox`).
 */
export function mountMyTaskPages(router: Router, ctx: ApiContext, signedIn: Middleware): void {
  const form = express.urlencoded({ extended: false, limit: '50kb' });
  const pageFor = async (res: Response, taskId: string): Promise<{ task: TaskWithRun; page: TaskPageContext } | undefined> => {
    const session = res.locals.person as PersonSession;
    const email = session.email.toLowerCase();
    const task = await findTask(ctx.db, taskId);
    if (!task || !(await isMine(ctx, task, email))) return void res.status(404).type('html').send(notYours);
    const person = await ctx.db.person.findUnique({ where: { email } });
    return {
      task,
      page: {
        viewer: { email, name: person?.name ?? email },
        channel: 'inbox',
        formAction: `/me/tasks/${encodeURIComponent(task.id)}`,
        offered: () => isOffered(ctx, task.id, email),
        back: '/me/approvals',
        send: (response, page, status) => sendConsolePage(response, page, status),
      },
    };
  };

  router.get('/me/tasks/:id', signedIn, async (req, res) => {
    const found = await pageFor(res, String(req.params.id));
    if (found) sendConsolePage(res, await renderTaskPage(found.task, found.page));
  });

  router.post('/me/tasks/:id', form, signedIn, async (req, res) => {
    const found = await pageFor(res, String(req.params.id));
    if (found) await postTaskPage(ctx, req, res, found.task, found.page);
  });
}
