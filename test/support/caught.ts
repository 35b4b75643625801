/** The error an action fails with; a test helper for producing real errors (it fails the test if nothing is thrown). */
export async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}
