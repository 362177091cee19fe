"""`python -m zoo serve`: the exported models behind TensorFlow Serving's REST API, and a web page to try them.

    GET  /v1/models/{name}[/versions/1]             status
    GET  /v1/models/{name}[/versions/1]/metadata    every signature's inputs and outputs
    POST /v1/models/{name}[/versions/1]:predict     {"instances": [...]} or {"inputs": ...}, "signature_name"
    GET  /v1/models/{name}/card                     the model card
    GET  /healthz                                   {"status": "ok", "models": [...]}
    GET  /                                          the web page (zoo/web/), which also uses:
    GET  /api/models                                the served models, their tasks and examples
    POST /api/audio/{name}                          an audio file's bytes -> the model's `serve` outputs
    POST /api/midi/{name}                           {"events": [...]} -> a MIDI file and its piano roll

The `/v1` routes answer as TensorFlow Serving does (see `zoo.rest`), so a client can move to TensorFlow
Serving unchanged, except that these exports name their default signature `serve`: a request without
`signature_name` gets `serve` here, and a client bound for TensorFlow Serving should name it.
Only the models the server was started with are reachable; no part of a request names a file.
"""

import argparse
import asyncio
import base64
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from starlette.applications import Starlette  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402
from starlette.responses import FileResponse, JSONResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402
from starlette.staticfiles import StaticFiles  # noqa: E402

from zoo import export, rest  # noqa: E402
from zoo.batching import Batcher  # noqa: E402
from zoo.rest import BadRequest, NotFound, TooLarge  # noqa: E402

WEB_DIR = Path(__file__).with_name("web")
MAX_BODY_BYTES = 1 << 20
MAX_INSTANCES = 256
MAX_BATCH_SIZE = 64
DRAINED_BYTES = 16 << 20  # the largest refused body that is still read before the answer
MAX_MIDI_EVENTS = 4096  # 64 bars of sixteenths: the piano roll's width grows with the events


class ServedModel:
    """One export, loaded once, with a `Batcher` per signature whose inputs have one value per instance.

    Args:
        path: an export directory, or a model name in `saved_models/`.
        batching: whether concurrent requests to a batchable signature run as one call.
        max_batch_size, batch_timeout_s: the `Batcher`'s limits.
    """

    def __init__(self, path, batching=True, max_batch_size=MAX_BATCH_SIZE, batch_timeout_s=0.0):
        import tensorflow as tf

        self.path = export.resolve(path)
        self.name = self.path.name
        self.card = export.read_card(self.path)
        self.saved_model = tf.saved_model.load(str(self.path / export.SAVED_MODEL))
        self.signatures = {key: rest.Signature.of(function) for key, function in self.saved_model.signatures.items()}
        self.batchers = {
            key: Batcher(
                lambda key=key, **inputs: self.call(key, inputs),
                max_batch_size,
                batch_timeout_s,
                self.card.get("sequence_outputs"),
            )
            for key, signature in self.signatures.items()
            if batching and signature.batchable
        }

    def call(self, key, inputs):
        """Runs signature `key` on numpy `inputs`; returns numpy outputs. TensorFlow's own complaints about
        values (as opposed to shapes and types, which `zoo.rest` checks) become `BadRequest`."""
        import tensorflow as tf

        from zoo.checks import error_message

        tensors = {
            name: tf.constant(value, dtype=self.signatures[key].inputs[name].dtype) for name, value in inputs.items()
        }
        try:
            outputs = self.signatures[key].function(**tensors)
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as error:
            raise BadRequest(error_message(error)) from None
        return {name: value.numpy() for name, value in outputs.items()}

    async def predict(self, key, inputs, size):
        if key in self.batchers:
            return await self.batchers[key](inputs, size)
        return await asyncio.to_thread(self.call, key, inputs)

    def summary(self):
        """What the web page needs to draw this model's panel."""
        card = self.card
        fields = ("task", "description", "examples", "threshold", "step_seconds")
        summary = {"name": self.name, "signatures": sorted(self.signatures)} | {f: card[f] for f in fields if f in card}
        if isinstance(card.get("data"), dict) and "conditions" in card["data"]:
            summary["conditions"] = card["data"]["conditions"]
        return summary


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


async def _body(request, limit):
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        if length.isdigit() and int(length) <= DRAINED_BYTES:
            # Read and drop the body first: a client still sending it gets the answer, not a reset connection.
            async for _ in request.stream():
                pass
        raise TooLarge(f"Request body of {length} bytes; this server takes at most {limit} (--max-body-bytes)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"Request body over {limit} bytes (--max-body-bytes)")
    return bytes(body)


async def _json_body(request, limit):
    body = await _body(request, limit)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"JSON Parse error: {error}") from None


def build_app(models, max_body_bytes=MAX_BODY_BYTES, max_instances=MAX_INSTANCES):
    """The ASGI app serving `models` (a list of `ServedModel`)."""
    served = {model.name: model for model in models}

    def model_named(name):
        if name not in served:
            raise NotFound(f"Servable not found for request: Latest({name}); this server has {', '.join(served)}")
        return served[name]

    def check_version(request):
        version = request.path_params.get("version")
        if version is not None and version != "1":
            raise NotFound(f"Servable not found: version {version}; every model here has one version, 1")

    async def model_status(request):
        check_version(request)
        model_named(request.path_params["name"])
        return JSONResponse(rest.status())

    async def model_metadata(request):
        check_version(request)
        model = model_named(request.path_params["name"])
        return JSONResponse(rest.metadata(model.name, model.signatures))

    async def model_card(request):
        return JSONResponse(model_named(request.path_params["name"]).card)

    async def model_verb(request):
        check_version(request)
        target = request.path_params["target"]
        name, _, verb = target.partition(":")
        request.path_params["name"] = name
        if request.method == "GET" and not verb:
            return await model_status(request)
        if request.method == "GET":
            raise BadRequest(f"{verb} takes POST")
        if verb in ("classify", "regress"):
            raise BadRequest(f"{verb} needs a {verb} signature; these models answer predict")
        if verb != "predict":
            raise NotFound(f"Unknown method {verb!r}; use /v1/models/{{name}}:predict")
        model = model_named(name)
        body = await _json_body(request, max_body_bytes)
        key, inputs, row_format, size = rest.parse_request(body, model.signatures, max_instances)
        if row_format and size == 0:
            return JSONResponse({"predictions": []})
        outputs = await model.predict(key, inputs, size)
        return JSONResponse(rest.predict_response(outputs, row_format))

    async def healthz(_request):
        return JSONResponse({"status": "ok", "models": sorted(served)})

    async def models_list(_request):
        return JSONResponse([model.summary() for model in served.values()])

    async def audio(request):
        import numpy as np

        from data_pipelines import audio as audio_io

        model = model_named(request.path_params["name"])
        signature = model.signatures.get(rest.DEFAULT_SIGNATURE)
        (input_name, spec), *others = signature.inputs.items()
        if others or spec.dtype.name != "float32" or spec.shape.rank != 2:
            raise BadRequest(f"{model.name} does not take audio")
        data = await _body(request, max_body_bytes)
        with tempfile.NamedTemporaryFile() as file:
            file.write(data)
            file.flush()
            try:
                samples = await asyncio.to_thread(audio_io.read_audio, file.name)
            except audio_io.UnreadableAudio as error:
                raise BadRequest(str(error).replace(f"{file.name}: ", "")) from None
        outputs = await model.predict(rest.DEFAULT_SIGNATURE, {input_name: samples[np.newaxis]}, 1)
        row = {key: rest.to_json(value[0]) for key, value in outputs.items()}
        return JSONResponse({"seconds": len(samples) / audio_io.SAMPLE_RATE, "outputs": row})

    async def midi(request):
        model = model_named(request.path_params["name"])
        if "tempo_bpm" not in model.card:
            raise BadRequest(f"{model.name} does not generate music")
        body = await _json_body(request, max_body_bytes)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not all(type(event) is int for event in events):
            raise BadRequest("Send {'events': [integer, ...]}, e.g. the events a music model generated")
        if len(events) > MAX_MIDI_EVENTS:
            raise BadRequest(f"{len(events)} events; a file here holds at most {MAX_MIDI_EVENTS}")
        files = await asyncio.to_thread(_melody_files, events, model.card["tempo_bpm"])
        return JSONResponse({name: base64.b64encode(content).decode("ascii") for name, content in files.items()})

    async def index(_request):
        return FileResponse(WEB_DIR / "index.html")

    async def bad_request(_request, error):
        return _error(error.status, str(error))

    async def http_error(_request, error):
        return _error(error.status_code, error.detail)

    async def server_error(_request, error):
        return _error(500, f"Internal error: {type(error).__name__}: {error}")

    routes = [
        Route("/", index),
        Mount("/static", StaticFiles(directory=WEB_DIR), name="static"),
        Route("/healthz", healthz),
        Route("/api/models", models_list),
        Route("/api/audio/{name}", audio, methods=["POST"]),
        Route("/api/midi/{name}", midi, methods=["POST"]),
        Route("/v1/models/{name}/card", model_card),
        Route("/v1/models/{name}/metadata", model_metadata),
        Route("/v1/models/{name}/versions/{version}/metadata", model_metadata),
        Route("/v1/models/{name}/versions/{version}", model_status),
        Route("/v1/models/{target}", model_verb, methods=["GET", "POST"]),
        Route("/v1/models/{name}/versions/{version_target}", _versioned(model_verb), methods=["POST"]),
    ]
    return Starlette(
        routes=routes, exception_handlers={BadRequest: bad_request, HTTPException: http_error, Exception: server_error}
    )


def _versioned(handler):
    """`/versions/{version}:predict` -> the handler with `version` and `target` (`name:predict`) split out."""

    async def wrapped(request):
        version, _, verb = request.path_params["version_target"].partition(":")
        request.path_params["version"] = version
        request.path_params["target"] = f"{request.path_params['name']}:{verb}"
        return await handler(request)

    return wrapped


def _melody_files(events, tempo):
    from data_pipelines import midi

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "solo.mid"
        midi.write_melody(events, path, tempo)
        return {"midi": path.read_bytes(), "piano_roll_png": path.with_suffix(".png").read_bytes()}


def load_models(names, batching=True, max_batch_size=MAX_BATCH_SIZE, batch_timeout_s=0.0):
    """`ServedModel`s for `names` (model names or export directories), or for every model in `saved_models/`."""
    names = names or export.available()
    if not names:
        raise FileNotFoundError(f"No exported models in {export.models_dir()}")
    models = [ServedModel(name, batching, max_batch_size, batch_timeout_s) for name in names]
    duplicates = {model.name for model in models if [m.name for m in models].count(model.name) > 1}
    if duplicates:
        raise ValueError(f"Two exports share the name {', '.join(sorted(duplicates))}; serve them separately")
    return models


def start_in_subprocess(arguments=(), timeout_s=180):
    """Starts `python -m zoo serve` with `arguments` on a free port of 127.0.0.1 in a subprocess and waits until it
    answers `/healthz`, for tests and benchmarks. Returns `(process, base URL)`; the caller terminates the process.

    Raises:
        RuntimeError: the server exited or did not answer within `timeout_s`, with the end of its output.
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "zoo", "serve", "--port", str(port), *arguments]
    url = f"http://127.0.0.1:{port}"
    # A file, not a pipe, takes its output: a server that logs much would block on a full pipe. The server keeps
    # its own handle on the file once this one is closed.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    return process, url
            except OSError:
                time.sleep(0.5)
        process.kill()
        log.seek(0)
        raise RuntimeError(f"{' '.join(command)} did not start: {log.read().decode(errors='replace')[-2000:]}")


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind; 0.0.0.0 exposes the server")
    parser.add_argument("--port", type=int, default=8501, help="TensorFlow Serving's REST port by default")
    parser.add_argument("--models", nargs="*", default=[], metavar="NAME", help="names or export directories")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="larger requests get 413")
    parser.add_argument("--max-instances", type=int, default=MAX_INSTANCES, help="instances per request")
    parser.add_argument(
        "--batching", action=argparse.BooleanOptionalAction, default=True, help="batch concurrent requests"
    )
    parser.add_argument("--max-batch-size", type=int, default=MAX_BATCH_SIZE, help="instances per batched call")
    parser.add_argument(
        "--batch-timeout-ms", type=float, default=0.0, help="how long a batch waits for more requests to join it"
    )


def serve(args):
    import uvicorn

    models = load_models(args.models, args.batching, args.max_batch_size, args.batch_timeout_ms / 1000)
    app = build_app(models, args.max_body_bytes, args.max_instances)
    print(f"Serving {', '.join(model.name for model in models)} at http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, proxy_headers=False)
