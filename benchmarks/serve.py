"""`python -m zoo serve` under load, with batching on and off, next to calling the SavedModel in process.

    python -m benchmarks.serve                       # sentiment, 1 and 32 clients, 60 s each
    python -m benchmarks.serve --models sentiment ner translation-dates dinos --seconds 20
    python -m benchmarks.serve --models runs/dinos/export --clients 32     # an export directory

For each model and mode the server runs in its own process on a free port of 127.0.0.1; the load generator
(this process) keeps a fixed number of clients, each on one keep-alive connection sending its next request as
soon as the previous answer arrives, for a fixed time, then stops. A request is one instance, taken in turn
from the model card's examples. Printed per run: requests/s, p50 / p99 latency, errors (answers other than
200) and dropped requests (a connection lost or no answer within 30 s). Client and server share the machine's
cores, as an app and its model server on one small host would.
"""

import argparse
import asyncio
import json
import time
import urllib.parse
from pathlib import Path

import numpy as np

from zoo import export, serve

ANSWER_TIMEOUT_S = 30.0


def start_server(model, batching):
    """`(process, port)` of `python -m zoo serve` for `model`, batching on or off."""
    process, url = serve.start_in_subprocess(["--models", model, "--batching" if batching else "--no-batching"])
    return process, urllib.parse.urlsplit(url).port


async def _client(port, path, bodies, offset, stop_at, stats):
    """One client: a keep-alive connection, one request at a time, until `stop_at`."""
    connection = None
    index = offset
    while time.perf_counter() < stop_at:
        body = bodies[index % len(bodies)]
        index += 1
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        started = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            status = await asyncio.wait_for(_exchange(*connection, request), ANSWER_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            stats["dropped"] += 1
            connection = None
            continue
        stats["latencies"].append(time.perf_counter() - started)
        if status != 200:
            stats["errors"] += 1
    if connection is not None:
        connection[1].close()


async def _exchange(reader, writer, request):
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _event_loop_runner():
    """uvloop's `run` where it is installed (it comes with uvicorn[standard]): the load generator shares the
    CPU with the server, so the cheaper its own event loop, the more of the CPU the server gets."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def run_load(port, model, bodies, clients, seconds):
    stats = {"latencies": [], "errors": 0, "dropped": 0}
    path = f"/v1/models/{model}:predict"

    async def run():
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, path, bodies, i, stop_at, stats) for i in range(clients)))

    started = time.perf_counter()
    _event_loop_runner()(run())
    elapsed = time.perf_counter() - started
    latencies = np.array(stats["latencies"]) * 1000
    return {
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else float("nan"),
        "requests": len(latencies),
        "errors": stats["errors"],
        "dropped": stats["dropped"],
    }


def in_process(model, examples, seconds):
    """The SavedModel called directly, one instance per call, and 32 per call."""
    import tensorflow as tf

    serve = export.load(model).saved_model.signatures[export.ENDPOINT]
    (name,) = serve.structured_input_signature[1]
    results = {}
    for batch in (1, 32):
        inputs = [tf.constant([examples[(i + j) % len(examples)] for j in range(batch)]) for i in range(len(examples))]
        serve(**{name: inputs[0]})
        latencies, stop_at = [], time.perf_counter() + seconds / 2
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            serve(**{name: inputs[len(latencies) % len(inputs)]})
            latencies.append(time.perf_counter() - started)
        results[batch] = {
            "requests_per_s": batch * len(latencies) / sum(latencies),
            "p50_ms": float(np.percentile(latencies, 50) * 1000),
        }
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sentiment"])
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each load run")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = {}
    for model in args.models:
        export_dir = export.resolve(model)
        card = export.read_card(export_dir)
        examples = [str(example) for example in card["examples"]]
        bodies = [json.dumps({"instances": [example]}).encode() for example in examples]
        direct = in_process(model, examples, min(args.seconds, 20.0))
        results[model] = {"in_process": direct}
        print(
            f"\n== {model}: in process, one instance per call: {direct[1]['requests_per_s']:.0f}/s, "
            f"p50 {direct[1]['p50_ms']:.2f} ms; 32 per call: {direct[32]['requests_per_s']:.0f} instances/s"
        )
        print(
            f"{'batching':>8} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>6} {'dropped':>7}"
        )
        for batching in (True, False):
            server, port = start_server(model, batching)
            try:
                # The server names a model by its export directory, so `model` may be a path too.
                run_load(port, export_dir.name, bodies, 4, 2.0)  # warm-up: every signature traced, connections open
                for clients in args.clients:
                    row = run_load(port, export_dir.name, bodies, clients, args.seconds)
                    results[model][f"{'on' if batching else 'off'}_{clients}"] = row
                    print(
                        f"{'on' if batching else 'off':>8} {clients:>7} {row['requests_per_s']:>8.0f} {row['p50_ms']:>8.2f} "
                        f"{row['p99_ms']:>8.2f} {row['requests']:>9} {row['errors']:>6} {row['dropped']:>7}",
                        flush=True,
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)
        for clients in args.clients:
            on, off = results[model][f"on_{clients}"], results[model][f"off_{clients}"]
            print(
                f"{clients} clients: batching on / off = {on['requests_per_s'] / off['requests_per_s']:.2f}x requests/s"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
