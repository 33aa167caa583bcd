// The tests scorer's `call` tests for JavaScript, run by node inside the sandbox (see harness.py: units with a
// command).
//
// The child forked for the unit wrote the answer to its file and this unit's job (the token, the tests) to
// job.json in its run directory, then exec'd node on this driver with the result pipe on fd 3. The driver
// reads the job and removes the file before any of the answer's code runs (the token then lives only in this
// module's scope, out of the answer's JavaScript), loads the answer as node loads a CommonJS module (its own
// require, module and exports; `require.main === module` is false, so a guarded main block does not run),
// then calls each test's function with its JSON arguments (awaiting an async function's result) and sends the
// return value back as plain data: the host compares it with the expected value, which never enters the
// sandbox. Messages, one JSON line each, as the Python harness sends them: {"loaded": true}, {"i", "status":
// "ok", "value"} or {"i", "status": "error", "type", "message"}, {"done": true}, each with the token.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createRequire } = require('module');

const job = JSON.parse(fs.readFileSync('job.json', 'utf8'));
fs.unlinkSync('job.json');
const MAX_DEPTH = 100;
const MAX_ITEMS = 100000;
// held before the answer runs: an answer that patches the globals or the fs module cannot reach these
const stringify = JSON.stringify;
const bufferFrom = Buffer.from;
const writeSync = fs.writeSync;
const runInThisContext = vm.runInThisContext;
const exit = process.exit.bind(process);
const apply = Reflect.apply;
const construct = Reflect.construct;

function send(message) {
  message.token = job.token;
  const data = bufferFrom(stringify(message) + '\n');
  for (let sent = 0; sent < data.length; ) sent += writeSync(3, data, sent);
}

class Unencodable extends Error {}

// Plain data as the harness's tagged JSON: arrays as lists, plain objects as dicts, non-finite numbers
// tagged; anything else (a class instance, a Map, a function, a BigInt) is refused, like Python's encode.
function encode(value, depth, budget) {
  budget.items -= 1;
  if (budget.items < 0 || depth > MAX_DEPTH) throw new Unencodable('value too large or too deep');
  if (value === null || value === undefined) return null;
  const kind = typeof value;
  if (kind === 'boolean' || kind === 'string') return value;
  if (kind === 'number') {
    if (Number.isFinite(value)) return value;
    return { float: Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf' };
  }
  if (Array.isArray(value)) return value.map((item) => encode(item, depth + 1, budget));
  if (kind === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) {
      return { dict: Object.keys(value).map((key) => [key, encode(value[key], depth + 1, budget)]) };
    }
  }
  const name = kind === 'object' && value.constructor ? value.constructor.name : kind;
  throw new Unencodable(`a value of type ${name} is not plain data`);
}

function failure(error) {
  const type = error instanceof Unencodable ? 'Unencodable' : (error && error.name) || typeof error;
  let message;
  try {
    message = String(error && error.message !== undefined ? error.message : error).slice(0, 500);
  } catch (_) {
    message = '<unprintable>';
  }
  return { status: 'error', type: String(type), message };
}

// The answer's top-level declarations (function, const, let, var) stay in its module scope, as in node; a
// lookup appended to its body finds one by name (an identifier: the params check it).
const LOOKUP =
  '\n;return function (__vpo_name__) {' +
  ' return eval("typeof " + __vpo_name__ + " === \'function\' ? " + __vpo_name__ + " : undefined"); };\n';
let lookup;
try {
  const filename = path.resolve(job.filename);
  const source = fs.readFileSync(filename, 'utf8');
  const wrapper = runInThisContext(
    '(function (exports, require, module, __filename, __dirname) {' + source + LOOKUP + '})',
    { filename },
  );
  const module = { exports: {}, filename, id: filename, loaded: false };
  const dirname = path.dirname(filename);
  lookup = wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dirname);
} catch (error) {
  const report = failure(error);
  send({ load_error: report.type, message: report.message });
  exit(0);
}
send({ loaded: true });

// What a call test calls, as [function, this]: the answer's function `f`; for `C.m`, the method m of a fresh
// `new C()`; for a bare `m` that is no function of the answer's, the method of a fresh `new Solution()` if the
// answer has that class (LeetCode's convention). Undefined when there is none.
function target(name) {
  if (typeof lookup !== 'function') return undefined;
  const dot = name.indexOf('.');
  let owner = dot < 0 ? '' : name.slice(0, dot);
  const method = dot < 0 ? name : name.slice(dot + 1);
  if (!owner) {
    const fn = lookup(method);
    if (fn !== undefined || lookup('Solution') === undefined) return fn === undefined ? undefined : [fn, undefined];
    owner = 'Solution';
  }
  const cls = lookup(owner);
  if (cls === undefined) return undefined;
  const instance = construct(cls, []);
  const fn = instance[method];
  return typeof fn === 'function' ? [fn, instance] : undefined;
}

async function run() {
  for (const test of job.tests) {
    let report;
    try {
      const called = target(test.function);
      if (called === undefined) {
        report = { status: 'error', type: 'ReferenceError', message: `no function ${test.function}` };
      } else {
        let value = apply(called[0], called[1], test.args);
        if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
          value = await value; // an async function's result (one that never settles meets the wall time)
        }
        report = { status: 'ok', value: encode(value, 0, { items: MAX_ITEMS }) };
      }
    } catch (error) {
      report = failure(error);
    }
    report.i = test.i;
    send(report);
  }
  send({ done: true });
  exit(0);
}

run();
