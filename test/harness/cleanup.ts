// A test body with its own closers: `defer(close)` registers one as soon as a server, client, store,
// child process or timer is opened, and they all run (last opened first) whether the body passes or
// an assertion throws, so a failing test leaves nothing that keeps its file's process alive.
export type Defer = (close: () => unknown) => void;

export function withCleanup(body: (defer: Defer) => Promise<void>): () => Promise<void> {
  return async () => {
    const closers: (() => unknown)[] = [];
    let failure: unknown;
    try {
      await body((close) => void closers.push(close));
    } catch (error) {
      failure = error;
    }
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        failure ??= error; // the body's own failure is the one worth reporting
      }
    }
    if (failure !== undefined) throw failure;
  };
}
