import * as assert from 'uvu/assert';

/** Runs `fn`, asserts it throws an instance of `type`, and returns that error for further checks. */
export function expectError<E extends Error>(type: abstract new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    assert.instance(error, type);
    return error as E;
  }
  assert.unreachable(`expected a ${type.name} to be thrown`);
  throw new Error('unreachable');
}
