// Loaded (node --require) before the answer's program or the call driver: stdout and stderr write
// synchronously. node writes to a pipe asynchronously, so a program that prints and then calls
// process.exit() would lose what was still queued (all but the first 64 KB), and output queued before a
// call test's report would reach the sandbox's worker after it. node makes each stream when it is first
// used (making one costs milliseconds), so this waits for that too: a program that does not print pays nothing.
'use strict';
for (const name of ['stdout', 'stderr']) {
  const made = Object.getOwnPropertyDescriptor(process, name);
  if (!made || typeof made.get !== 'function' || !made.configurable) continue;
  let blocking = false;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: made.enumerable,
    get() {
      const stream = made.get.call(this);
      if (!blocking && stream._handle && typeof stream._handle.setBlocking === 'function') {
        stream._handle.setBlocking(true);
        blocking = true;
      }
      return stream;
    },
  });
}
