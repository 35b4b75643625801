/**
 * Workflow code that no longer runs, for the stuck-run test: every workflow task of a capex run fails, as after a
 * deploy whose code cannot replay the run's history or has a bug in a handler. Not part of the real bundle.
 */
export async function capexWorkflow(): Promise<never> {
  throw new TypeError("Cannot read properties of undefined (reading 'approvers')");
}
