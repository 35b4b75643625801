import { Context } from '@temporalio/activity';

/** The running activity's context; undefined when called outside one (a direct call from a script or a test). */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
