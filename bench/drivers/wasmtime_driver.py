"""Benchmark driver for Wasmtime through its Python package.

Invoked by `cargo xtask bench` with one JSON request as the only argument; prints one
JSON line.

Request: {"op": "compile"|"run"|"startup"|"verify", "file": path, "arg": n,
          "strategy": "cranelift"|"winch", "parallel": true|false,
          "call": export to call in startup, or ""}
Reply:   {"ok": true, "ms": elapsed, "checksum": "...", ...}
"""

import ctypes
import importlib.metadata
import json
import sys
import time
import traceback

import wasmtime
from wasmtime import _ffi as ffi

# Values of the C API's `wasmtime_strategy_t`; the Python `Config.strategy` setter
# only accepts "auto" and "cranelift", so the strategy is set through the C API.
STRATEGIES = {"auto": 0, "cranelift": 1, "winch": 2}

# The smallest valid module, compiled once before timing to warm the engine up.
EMPTY_MODULE = b"\x00asm\x01\x00\x00\x00"


def make_engine(strategy, parallel):
    """Builds an engine with the requested compiler and parallel compilation setting."""
    config = wasmtime.Config()
    ffi.wasmtime_config_strategy_set(config.ptr(), ctypes.c_uint8(STRATEGIES[strategy]))
    config.parallel_compilation = parallel
    # The compilation cache stays off: the Python API enables it only on request.
    return wasmtime.Engine(config)


def compile_module(engine, data):
    """Times `wasmtime.Module(engine, bytes)`."""
    t0 = time.perf_counter()
    wasmtime.Module(engine, data)
    return {"ms": (time.perf_counter() - t0) * 1e3}


def run(engine, data, arg):
    """Compiles and instantiates, then times one call of `run(arg)`."""
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, data), [])
    fn = instance.exports(store)["run"]
    t0 = time.perf_counter()
    result = fn(store, arg)
    ms = (time.perf_counter() - t0) * 1e3
    return {"ms": ms, "checksum": str(result)}


def stub_imports(store, module):
    """Functions for every import that only raise: enough to instantiate modules that
    import functions from their JavaScript glue without calling them on start-up."""
    externs = []
    for imp in module.imports:
        if not isinstance(imp.type, wasmtime.FuncType):
            raise ValueError("cannot stub non-function import " + str(imp.name))

        def stub(*_args, _name=imp.name):
            raise RuntimeError("stub import " + str(_name) + " called")

        externs.append(wasmtime.Func(store, imp.type, stub))
    return externs


def startup(engine, data, call):
    """Times bytes to first result: compile, instantiate (imports stubbed) and, when
    `call` names an export, call it with zero arguments."""
    t0 = time.perf_counter()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, data)
    instance = wasmtime.Instance(store, module, stub_imports(store, module))
    result = None
    if call:
        func = instance.exports(store)[call]
        result = func(store, *([0] * len(func.type(store).params)))
    ms = (time.perf_counter() - t0) * 1e3
    return {"ms": ms, "checksum": None if result is None else str(result)}


def verify(engine, data, strategy, arg):
    """Checks the strategy took effect: the compiled artifact must equal Cranelift's
    exactly for "cranelift" and differ from it for "winch"."""
    reply = run(engine, data, arg)
    reference = wasmtime.Module(make_engine("cranelift", False), data).serialize()
    artifact = wasmtime.Module(engine, data).serialize()
    same = artifact == reference
    reply["tier"] = "cranelift" if same else "non-cranelift"
    reply["artifact_bytes"] = len(artifact)
    reply["cranelift_artifact_bytes"] = len(reference)
    return reply


def main():
    request = json.loads(sys.argv[-1])
    engine = make_engine(request.get("strategy", "cranelift"), request.get("parallel", True))
    wasmtime.Module(engine, EMPTY_MODULE)
    with open(request["file"], "rb") as f:
        data = f.read()
    op = request["op"]
    if op == "compile":
        reply = compile_module(engine, data)
    elif op == "run":
        reply = run(engine, data, request["arg"])
    elif op == "startup":
        reply = startup(engine, data, request.get("call"))
    elif op == "verify":
        reply = verify(engine, data, request.get("strategy", "cranelift"), request["arg"])
    else:
        raise ValueError("unknown op " + op)
    reply["ok"] = True
    reply["engine_version"] = "wasmtime " + importlib.metadata.version("wasmtime")
    print(json.dumps(reply))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        print(json.dumps({"ok": False, "error": traceback.format_exc()}))
        sys.exit(1)
