import type { Task } from '../../client/index.js';
import { apiClient, waitUntil } from './http.js';

/** The tasks of a run (GET /tasks?runId=, with the stack's admin key) once `count` of them are open. */
export async function tasksOfRun(stack: { apiUrl: string }, runId: string, count = 5): Promise<Task[]> {
  return waitUntil(async () => {
    const { data } = await apiClient(stack).GET('/tasks', { params: { query: { runId } } });
    return data && data.items.length >= count && data.items;
  }, `${count} tasks of ${runId}`);
}

export function taskOf(tasks: Task[], key: string): Task {
  const task = tasks.find((t) => t.key === key);
  if (!task) throw new Error(`no ${key} task among ${tasks.map((t) => t.key).join(', ')}`);
  return task;
}

type ActionPath = '/tasks/{id}/claim' | '/tasks/{id}/unclaim';

/** Claims or unclaims a task as the key's person: the answer's status, the task or the error. */
export async function taskAction(stack: { apiUrl: string }, key: string, taskId: string, path: ActionPath) {
  const { data, error, response } = await apiClient(stack, key).POST(path, { params: { path: { id: taskId } } });
  return { status: response.status, task: data && 'taskId' in data ? data : undefined, error };
}

/** Completes a task with these form values as the key's person. */
export async function completeTask(stack: { apiUrl: string }, key: string, taskId: string, values: Record<string, unknown>) {
  const { data, error, response } = await apiClient(stack, key).POST('/tasks/{id}/complete', { params: { path: { id: taskId } }, body: { values } });
  return { status: response.status, task: data && 'taskId' in data ? data : undefined, error };
}
