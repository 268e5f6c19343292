/**
 * What a synchronous call throws, for assertions on a thrown error's class and fields (`assert.throws` returns
 * nothing to inspect). A call that does not throw fails the test.
 */
export const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("expected the call to throw, it returned")
}
