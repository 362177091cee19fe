"""The TensorFlow Serving REST API's JSON, to and from the arrays a SavedModel signature takes and returns.

    row format        {"signature_name": ..., "instances": [instance, ...]}  ->  {"predictions": [row, ...]}
    columnar format   {"signature_name": ..., "inputs": {name: value, ...}}  ->  {"outputs": {name: value, ...}}

as https://www.tensorflow.org/tfx/serving/api_rest describes them: an instance (or `inputs`) is the bare value when
the signature has one input, a row (or `outputs`) the bare value when it has one output; a string may be given as
`{"b64": ...}`, and output bytes that are not UTF-8 come back that way. Every malformed request raises
`BadRequest` with a message that says what is wrong, never a TensorFlow error.
"""

import base64
import math
from typing import NamedTuple

import numpy as np

DEFAULT_SIGNATURE = "serve"
# TensorFlow Serving's name for the signature used when a request names none; these exports call it `serve`.
SERVING_DEFAULT = "serving_default"


class BadRequest(ValueError):
    """A request the server answers with an HTTP 4xx status and `{"error": message}`."""

    status = 400


class NotFound(BadRequest):
    status = 404


class TooLarge(BadRequest):
    status = 413


class Signature(NamedTuple):
    """One SavedModel signature: its concrete function and its inputs' and outputs' specs by name."""

    function: object
    inputs: dict
    outputs: dict

    @classmethod
    def of(cls, function):
        return cls(function, dict(function.structured_input_signature[1]), dict(function.structured_outputs))

    @property
    def batchable(self):
        """Whether requests can be concatenated along the first axis: every input is one value per instance."""
        return all(spec.shape.rank == 1 and spec.shape[0] is None for spec in self.inputs.values())


def parse_request(body, signatures, max_instances):
    """`(signature name, inputs, row_format, batch_size)` for a predict request body (already decoded JSON).

    `inputs` maps each input name of the signature to a numpy array of its spec's dtype and rank.
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object with 'instances' or 'inputs'")
    name = _signature_name(body, signatures)
    return (name, *parse_inputs(body, signatures[name], max_instances))


def _signature_name(body, signatures):
    name = body.get("signature_name") or DEFAULT_SIGNATURE
    if not isinstance(name, str):
        raise BadRequest(f"signature_name must be a string, got {type(name).__name__}")
    if name == SERVING_DEFAULT and SERVING_DEFAULT not in signatures:
        name = DEFAULT_SIGNATURE
    if name not in signatures:
        raise BadRequest(f"Serving signature name: {name!r} not found; the model has {', '.join(sorted(signatures))}")
    return name


def parse_inputs(body, signature, max_instances):
    """`(inputs, row_format, batch_size)` for a request body's `instances` or `inputs` and one signature."""
    unknown = set(body) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise BadRequest(
            f"Unknown field(s) {', '.join(sorted(unknown))}: expected signature_name and instances or inputs"
        )
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest("Give exactly one of 'instances' (row format) or 'inputs' (columnar format)")
    names = sorted(signature.inputs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise BadRequest("'instances' must be a list")
        if len(instances) > max_instances:
            raise BadRequest(f"{len(instances)} instances in one request; this server takes at most {max_instances}")
        scalars = [name for name in names if signature.inputs[name].shape.rank == 0]
        if scalars:
            raise BadRequest(
                f"This signature takes scalar inputs ({', '.join(scalars)}), which have no row per instance: "
                "send them in the columnar format, {'inputs': {...}}"
            )
        columns = _columns(instances, names)
        inputs = {name: _array(columns[name], signature.inputs[name], name) for name in names}
        return inputs, True, len(instances)
    values = body["inputs"]
    if len(names) == 1 and not (isinstance(values, dict) and set(values) == set(names)):
        values = {names[0]: values}
    if not isinstance(values, dict):
        raise BadRequest(f"'inputs' must be an object with {', '.join(names)}")
    if set(values) != set(names):
        raise BadRequest(
            f"'inputs' has {', '.join(sorted(values)) or 'nothing'}; this signature takes {', '.join(names)}"
        )
    inputs = {name: _array(values[name], signature.inputs[name], name) for name in names}
    batch_sizes = {array.shape[0] for array in inputs.values() if array.ndim}
    batch_size = max(batch_sizes, default=1)
    if batch_size > max_instances:
        raise BadRequest(f"{batch_size} instances in one request; this server takes at most {max_instances}")
    return inputs, False, batch_size


def _columns(instances, names):
    if len(names) == 1:
        return {names[0]: [_unwrap(instance, names[0]) for instance in instances]}
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict) or set(instance) != set(names):
            raise BadRequest(f"instances[{index}] must be an object with exactly {', '.join(names)}")
    return {name: [instance[name] for instance in instances] for name in names}


def _unwrap(instance, name):
    # A lone input may be named in each instance, {"reviews": "..."}; {"b64": ...} is a value, not a name.
    if isinstance(instance, dict) and set(instance) == {name}:
        return instance[name]
    return instance


def _array(value, spec, name):
    """`value` (nested lists) as an array of `spec`'s dtype with its rank and known dimensions."""
    if spec.dtype.name == "string":
        array = _string_array(value, name)
    else:
        array = _number_array(value, spec.dtype.as_numpy_dtype, name)
    if array.ndim != spec.shape.rank:
        raise BadRequest(
            f"{name}: expected rank {spec.shape.rank} (shape {_shape(spec)}), got rank {array.ndim} {list(array.shape)}"
        )
    for axis, size in enumerate(spec.shape):
        if size is not None and array.shape[axis] != size:
            raise BadRequest(f"{name}: expected shape {_shape(spec)}, got {list(array.shape)}")
    return array


def _shape(spec):
    return [-1 if size is None else size for size in spec.shape]


def _number_array(value, dtype, name):
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nesting
        raise BadRequest(f"{name}: not a rectangular array of numbers ({error})") from None
    if array.size == 0:
        return array.astype(dtype)
    integral = np.issubdtype(dtype, np.integer)
    if array.dtype.kind not in ("iu" if integral else "iuf"):
        kind = "integers" if integral else "numbers"
        raise BadRequest(f"{name}: expected {kind} ({np.dtype(dtype).name}), got {_describe(array)}")
    if integral:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise BadRequest(f"{name}: values outside the range of {np.dtype(dtype).name}")
    return array.astype(dtype)


def _describe(array):
    if array.dtype.kind in "US":
        return "strings"
    if array.dtype.kind == "b":
        return "booleans"
    if array.dtype.kind == "f":
        return "numbers with fractions"
    return "values of mixed or other types"


def _string_array(value, name):
    shape, item = [], value
    while isinstance(item, list):  # the shape along the first elements; every other element must agree
        shape.append(len(item))
        if not item:
            break
        item = item[0]
    leaves = []

    def walk(item, depth):
        if depth == len(shape):
            leaves.append(_string(item, name))
        elif not isinstance(item, list) or len(item) != shape[depth]:
            raise BadRequest(f"{name}: not a rectangular array of strings")
        else:
            for child in item:
                walk(child, depth + 1)

    walk(value, 0)
    array = np.empty(len(leaves), dtype=object)
    array[:] = leaves
    return array.reshape(shape)


def _string(item, name):
    if isinstance(item, str):
        return item.encode("utf-8", errors="surrogatepass")
    if isinstance(item, dict) and set(item) == {"b64"} and isinstance(item["b64"], str):
        try:
            return base64.b64decode(item["b64"], validate=True)
        except ValueError:
            raise BadRequest(f"{name}: {{'b64': ...}} is not valid base64") from None
    raise BadRequest(f"{name}: expected strings (or {{'b64': ...}}), got {type(item).__name__} {str(item)[:40]!r}")


def to_json(value):
    """A numpy output as JSON values: bytes as text (or `{"b64": ...}` when not UTF-8), non-finite floats as
    the strings "NaN", "Infinity" and "-Infinity" so that the answer stays valid JSON."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [to_json(item) for item in value]
        return _finite(value.tolist())
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def _finite(value):
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def predict_response(outputs, row_format):
    """The response body for `outputs` (`{name: array}`, each with the batch on its first axis in row format)."""
    names = sorted(outputs)
    if row_format:
        size = len(outputs[names[0]])
        rows = [{name: to_json(outputs[name][index]) for name in names} for index in range(size)]
        return {"predictions": [row[names[0]] for row in rows] if len(names) == 1 else rows}
    columns = {name: to_json(outputs[name]) for name in names}
    return {"outputs": columns[names[0]] if len(names) == 1 else columns}


def _tensor_info(spec, signature_key, name):
    from tensorflow.core.framework import types_pb2

    return {
        "dtype": types_pb2.DataType.Name(spec.dtype.as_datatype_enum),
        "tensor_shape": {"dim": [{"size": str(size), "name": ""} for size in _shape(spec)], "unknown_rank": False},
        "name": f"{signature_key}_{name}:0",
    }


def metadata(model_name, signatures):
    """`GET /v1/models/{name}/metadata`'s answer: every signature's inputs and outputs."""
    return {
        "model_spec": {"name": model_name, "signature_name": "", "version": "1"},
        "metadata": {
            "signature_def": {
                "signature_def": {
                    key: {
                        "inputs": {name: _tensor_info(spec, key, name) for name, spec in signature.inputs.items()},
                        "outputs": {name: _tensor_info(spec, key, name) for name, spec in signature.outputs.items()},
                        "method_name": "tensorflow/serving/predict",
                    }
                    for key, signature in sorted(signatures.items())
                }
            }
        },
    }


def status():
    """`GET /v1/models/{name}`'s answer for a loaded model (one version, 1)."""
    return {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
