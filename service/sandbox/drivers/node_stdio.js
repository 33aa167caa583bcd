// Loaded (node --require) before the answer's program or the call driver: stdout and stderr write
// synchronously. node writes to a pipe asynchronously, so a program that prints and then calls
// process.exit() would lose what was still queued (all but the first 64 KB), and output queued before a
// call test's report would reach the sandbox's worker after it.
'use strict';
for (const stream of [process.stdout, process.stderr]) {
  if (stream._handle && typeof stream._handle.setBlocking === 'function') stream._handle.setBlocking(true);
}
