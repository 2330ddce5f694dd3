// Benchmark driver for node (V8). Invoked by `cargo xtask bench` with V8 flags on the
// node command line and one JSON request as the last argument; prints one JSON line.
//
// Request: {"op": "compile"|"run"|"startup"|"verify"|"codesize", "file": path, "arg": n,
//           "call": export to call in startup, or ""}
// Reply:   {"ok": true, "ms": elapsed, "checksum": "...", "tier": "liftoff"|"turbofan"|...}
'use strict';

const fs = require('fs');

// The smallest valid module: compiling it first warms up V8's wasm machinery so the
// timed compile does not pay one-time engine initialisation.
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** Returns which tier V8 holds `fn` in, when natives syntax is enabled. */
function tierOf(fn) {
  if (!process.execArgv.includes('--allow-natives-syntax')) return 'unchecked';
  // Natives syntax is only parseable with the flag, so build the probes at run time.
  const isLiftoff = new Function('f', 'return %IsLiftoffFunction(f)');
  const isTurboFan = new Function('f', 'return %IsTurboFanFunction(f)');
  if (isTurboFan(fn)) return 'turbofan';
  if (isLiftoff(fn)) return 'liftoff';
  return 'uncompiled';
}

/** Times `new WebAssembly.Module(bytes)`. */
function compile(bytes) {
  const t0 = performance.now();
  new WebAssembly.Module(bytes);
  return { ms: performance.now() - t0 };
}

/** Compiles and instantiates, then times one call of `run(arg)`. */
function run(bytes, arg) {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const fn = instance.exports.run;
  const t0 = performance.now();
  const result = fn(arg);
  const ms = performance.now() - t0;
  return { ms, checksum: String(result), tier: tierOf(fn) };
}

/** Imports for `module` whose functions only throw: enough to instantiate modules
 * that import functions from their JavaScript glue without calling them on start-up. */
function stubImports(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error('cannot stub ' + imp.kind + ' import ' + imp.name);
    imports[imp.module] = imports[imp.module] || {};
    imports[imp.module][imp.name] = () => {
      throw new Error('stub import ' + imp.module + '.' + imp.name + ' called');
    };
  }
  return imports;
}

/** Times bytes to first result: compile, instantiate (imports stubbed) and, when
 * `call` names an export, call it (missing arguments are undefined: 0 for numbers). */
function startup(bytes, call) {
  const t0 = performance.now();
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, stubImports(module));
  const result = call ? instance.exports[call]() : null;
  const ms = performance.now() - t0;
  return { ms, checksum: result === null ? null : String(result) };
}

function main() {
  const request = JSON.parse(process.argv[process.argv.length - 1]);
  new WebAssembly.Module(EMPTY_MODULE);
  const bytes = fs.readFileSync(request.file);
  let reply;
  switch (request.op) {
    case 'compile': reply = compile(bytes); break;
    // Code size: compile only; V8 itself prints the size of each function's code on
    // stdout (--trace-wasm-compilation-times), before this reply.
    case 'codesize': reply = compile(bytes); break;
    case 'run':
    case 'verify': reply = run(bytes, request.arg); break;
    case 'startup': reply = startup(bytes, request.call); break;
    default: throw new Error('unknown op ' + request.op);
  }
  reply.ok = true;
  reply.engine_version = 'node ' + process.version + ', V8 ' + process.versions.v8;
  process.stdout.write(JSON.stringify(reply) + '\n');
}

try {
  main();
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e) }) + '\n');
  process.exit(1);
}
