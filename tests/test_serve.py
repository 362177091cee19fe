"""`python -m zoo serve`: TensorFlow Serving's REST contract against a running server, batching, bad requests,
the web page's extra routes, and the page itself in a real browser."""

import asyncio
import base64
import concurrent.futures
import io
import json
import shutil
import subprocess
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.conftest import ROOT
from zoo import export, rest, serve
from zoo.batching import Batcher

SERVED = ("sentiment", "ner", "translation-dates", "dinos", "music", "trigger_word")
MAX_INSTANCES = 16


def _request(url, body=None, method=None, raw=None):
    """`(status, decoded JSON)`; `body` is sent as JSON, `raw` as bytes."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server():
    """The base URL of `python -m zoo serve` on a free port, serving the shipped models in `SERVED`."""
    missing = [name for name in SERVED if not (ROOT / "saved_models" / name / "model_card.json").is_file()]
    if missing:
        pytest.skip(f"needs the shipped models {', '.join(missing)} in saved_models/")
    try:
        process, url = serve.start_in_subprocess(["--max-instances", str(MAX_INSTANCES), "--models", *SERVED])
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def saved_models():
    import tensorflow as tf

    return {name: tf.saved_model.load(str(ROOT / "saved_models" / name / "saved_model")) for name in SERVED}


def test_status_metadata_card_and_health(server):
    status, answer = _request(f"{server}/v1/models/sentiment")
    assert status == 200 and answer == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert _request(f"{server}/v1/models/sentiment/versions/1") == (status, answer)
    status, metadata = _request(f"{server}/v1/models/translation-dates/metadata")
    assert status == 200 and metadata["model_spec"] == {
        "name": "translation-dates",
        "signature_name": "",
        "version": "1",
    }
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serve", "translate", "attention"}
    translate = signatures["translate"]
    assert translate["inputs"]["sentences"]["dtype"] == "DT_STRING"
    assert translate["inputs"]["beam_width"] == {
        "dtype": "DT_INT32",
        "tensor_shape": {"dim": [], "unknown_rank": False},
        "name": "translate_beam_width:0",
    }
    assert translate["outputs"]["score"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    assert translate["method_name"] == "tensorflow/serving/predict"
    card = json.loads((ROOT / "saved_models" / "ner" / "model_card.json").read_text())
    assert _request(f"{server}/v1/models/ner/card") == (200, card)
    assert _request(f"{server}/healthz") == (200, {"status": "ok", "models": sorted(SERVED)})


def test_the_request_bodies_of_tensorflow_servings_documentation(server, saved_models):
    """Row format with bare and named instances, base64 strings, columnar format, a named signature."""
    import tensorflow as tf

    reviews = ["A wonderful, moving film.", "Dull and far too long."]
    expected = saved_models["sentiment"].serve(tf.constant(reviews))
    url = f"{server}/v1/models/sentiment:predict"
    bodies = [
        {"instances": reviews},
        {"signature_name": "serve", "instances": [{"reviews": review} for review in reviews]},
        {
            "signature_name": "serving_default",
            "instances": [{"b64": base64.b64encode(r.encode()).decode()} for r in reviews],
        },
    ]
    for body in bodies:
        status, answer = _request(url, body)
        assert status == 200, answer
        assert [row["label"] for row in answer["predictions"]] == [
            label.decode() for label in expected["label"].numpy()
        ]
        np.testing.assert_allclose(
            [row["probability"] for row in answer["predictions"]], expected["probability"], rtol=1e-5
        )
    status, answer = _request(f"{server}/v1/models/sentiment/versions/1:predict", {"inputs": {"reviews": reviews}})
    assert status == 200 and set(answer["outputs"]) == {"label", "probability"} and len(answer["outputs"]["label"]) == 2

    inputs = {"sentences": ["3rd of March 2021", "Tuesday, July 4, 1978"], "beam_width": 3, "alpha": 0.6}
    status, answer = _request(
        f"{server}/v1/models/translation-dates:predict", {"signature_name": "translate", "inputs": inputs}
    )
    assert status == 200 and answer["outputs"]["translation"] == ["2021-03-03", "1978-07-04"]
    status, answer = _request(
        f"{server}/v1/models/translation-dates:predict", {"signature_name": "attention", "inputs": inputs}
    )
    attention = np.array(answer["outputs"]["attention"])
    assert status == 200 and attention.shape[:2] == (2, len(answer["outputs"]["output_tokens"][0]))
    assert answer["outputs"]["output_tokens"][0][:4] == ["2", "0", "2", "1"]

    status, answer = _request(f"{server}/v1/models/ner:predict", {"instances": ["John lives in Paris ."]})
    assert status == 200 and answer["predictions"][0]["entity_text"] == ["John", "Paris"]
    status, answer = _request(f"{server}/v1/models/trigger_word:predict", {"instances": [[0.0] * 8000]})
    assert status == 200 and answer["predictions"][0]["num_events"] == 0


def test_concurrent_requests_are_batched_and_answered_as_alone(server, saved_models):
    import tensorflow as tf

    sentences = [
        ["John lives in Paris ."],
        ["The European Union met in Brussels on Monday to discuss trade with China and Japan ."],
        ["Hello", "Angela Merkel and Emmanuel Macron"],
        [""],
    ] * 8

    def predict(batch):
        return _request(f"{server}/v1/models/ner:predict", {"instances": batch})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(predict, sentences))
    # Padding is not part of an answer: each row is compared up to its own lengths, as the card declares.
    card = export.read_card(ROOT / "saved_models" / "ner")
    for batch, (status, answer) in zip(sentences, answers):
        assert status == 200
        outputs = saved_models["ner"].serve(tf.constant(batch))
        expected = [
            {name: rest.to_json(value.numpy()[index]) for name, value in outputs.items()} for index in range(len(batch))
        ]
        assert export.cut_to_lengths(answer["predictions"], card) == export.cut_to_lengths(expected, card)


BAD_REQUESTS = [
    ("malformed JSON", "sentiment:predict", b'{"instances": ["unterminated', 400),
    ("not an object", "sentiment:predict", b'["a review"]', 400),
    ("a wrong field", "sentiment:predict", {"instance": ["a review"]}, 400),
    ("both formats", "sentiment:predict", {"instances": ["a"], "inputs": ["a"]}, 400),
    ("a number for a string", "sentiment:predict", {"instances": [1, 2]}, 400),
    ("a nested list for a string", "sentiment:predict", {"instances": [["a", "b"]]}, 400),
    ("strings for samples", "trigger_word:predict", {"instances": [["loud"]]}, 400),
    ("ragged samples", "trigger_word:predict", {"inputs": [[0.0, 0.1], [0.0]]}, 400),
    ("fractions for integers", "music:predict", {"instances": [1.5]}, 400),
    ("integers out of range", "music:predict", {"instances": [2**40]}, 400),
    ("scalars in row format", "translation-dates:predict", {"signature_name": "translate", "instances": ["a"]}, 400),
    (
        "a missing input",
        "translation-dates:predict",
        {"signature_name": "translate", "inputs": {"sentences": ["a"]}},
        400,
    ),
    ("an unknown signature", "sentiment:predict", {"signature_name": "tokenize", "instances": ["a"]}, 400),
    ("a list for a signature name", "sentiment:predict", {"signature_name": ["serve"], "instances": ["a"]}, 400),
    ("an unknown model", "imagenet:predict", {"instances": ["a"]}, 404),
    ("an unknown method", "sentiment:explain", {"instances": ["a"]}, 404),
    ("classify", "sentiment:classify", {"examples": [{"text": "a"}]}, 400),
    ("an unknown version", "sentiment/versions/7:predict", {"instances": ["a"]}, 404),
    ("a path for a name", "..%2F..%2Fetc%2Fpasswd:predict", {"instances": ["a"]}, 404),
    ("too many instances", "sentiment:predict", {"instances": ["a"] * (MAX_INSTANCES + 1)}, 400),
    ("too many columnar instances", "sentiment:predict", {"inputs": ["a"] * (MAX_INSTANCES + 1)}, 400),
    ("a body over 1 MB", "sentiment:predict", {"instances": ["a" * (1 << 20)]}, 413),
    ("nesting deeper than the parser", "sentiment:predict", b"[" * 100_000, 400),
]


@pytest.mark.parametrize(
    "target,body,status", [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS]
)
def test_bad_requests_get_a_json_error_and_the_server_lives(server, target, body, status):
    url = f"{server}/v1/models/{target}"
    if isinstance(body, bytes):
        answer = _request(url, raw=body)
    else:
        answer = _request(url, body)
    assert answer[0] == status and isinstance(answer[1]["error"], str) and answer[1]["error"]
    assert _request(f"{server}/healthz")[0] == 200


def test_other_routes_and_methods_answer_json(server):
    assert _request(f"{server}/v1/models/sentiment:predict")[0] == 400  # GET on predict
    assert _request(f"{server}/no/such/page")[0] == 404
    assert _request(f"{server}/v1/models/%2Fetc%2Fpasswd/card")[0] == 404


def test_empty_batches_and_unicode(server):
    assert _request(f"{server}/v1/models/sentiment:predict", {"instances": []}) == (200, {"predictions": []})
    status, answer = _request(
        f"{server}/v1/models/dinos:predict", {"instances": ["", "tyrannosaurus", "ティラノ\u0000"]}
    )
    assert status == 200 and all(np.isfinite(row["log_prob"]) for row in answer["predictions"])


def test_sampling_arguments_out_of_range_are_answered_with_the_reason(server):
    generate = {"num_events": 8, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 0, "primer": [], "condition": ""}
    sample = {"num_samples": 2, "temperature": 1.0, "seed": 0, "prefix": "", "top_k": 0, "top_p": 1.0}
    for target, inputs, reason in (
        ("music", generate | {"num_solos": 1, "temperature": -1.0}, "temperature must be a finite number >= 0"),
        ("music", generate | {"num_solos": 5000}, "the number of samples must be in [0, 4096], got 5000"),
        ("dinos", sample | {"top_k": -2}, "top_k must be >= 0 (0 keeps every token), got -2"),
    ):
        signature = "generate" if target == "music" else "sample"
        status, answer = _request(
            f"{server}/v1/models/{target}:predict", {"signature_name": signature, "inputs": inputs}
        )
        assert status == 400 and answer["error"].startswith(reason), answer
    status, answer = _request(
        f"{server}/v1/models/music:predict", {"signature_name": "generate", "inputs": generate | {"num_solos": 0}}
    )
    assert status == 200 and answer["outputs"]["events"] == []


def _wav_bytes(samples, rate):
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_audio_and_midi_routes_of_the_web_page(server):
    silence = _wav_bytes(np.zeros((44100 * 2, 2), np.float32), 44100)  # stereo, 44.1 kHz
    status, answer = _request(f"{server}/api/audio/trigger_word", raw=silence)
    assert status == 200 and answer["seconds"] == pytest.approx(2.0) and answer["outputs"]["num_events"] == 0
    status, answer = _request(f"{server}/api/audio/trigger_word", raw=b"RIFF not really a wave file")
    assert status == 400 and "not readable audio" in answer["error"]
    assert _request(f"{server}/api/audio/sentiment", raw=silence)[0] == 400

    import pretty_midi

    status, answer = _request(f"{server}/api/midi/music", {"events": [60, -2, -2, -2, 62, -2, -1, 64]})
    assert status == 200
    midi = pretty_midi.PrettyMIDI(io.BytesIO(base64.b64decode(answer["midi"])))
    assert [note.pitch for note in midi.instruments[0].notes] == [60, 62, 64]
    assert base64.b64decode(answer["piano_roll_png"])[:4] == b"\x89PNG"
    for body in ({"events": ["C4"]}, {"events": [60] * 5000}, [60, 62]):
        assert _request(f"{server}/api/midi/music", body)[0] == 400
    assert _request(f"{server}/api/midi/sentiment", {"events": [60]})[0] == 400


def test_batcher_merges_concurrent_requests_and_isolates_failures():
    calls = []

    def function(values):
        calls.append(len(values))
        if np.any(values < 0):
            raise ValueError("negative")
        lengths = values.astype(np.int64)
        padded = np.where(np.arange(lengths.max(initial=0))[None] < lengths[:, None], 7, 0)
        return {"length": lengths, "sequence": padded}

    async def run(requests, max_batch_size):
        batcher = Batcher(function, max_batch_size, sequence_outputs={"length": ["sequence"]})
        results = await asyncio.gather(*(batcher({"values": r}, len(r)) for r in requests), return_exceptions=True)
        await batcher.close()
        return results

    requests = [np.array([1, 2]), np.array([5]), np.array([3, 1, 2]), np.array([4])]
    results = asyncio.run(run(requests, 8))
    assert calls == [7]
    for request, result in zip(requests, results):
        assert result["length"].tolist() == request.tolist()
        np.testing.assert_array_equal(result["sequence"], function(request)["sequence"])  # cut to its own longest

    calls.clear()
    requests = [np.array([1, 2]), np.array([-1]), np.array([3, 1, 2]), np.array([4])]
    results = asyncio.run(run(requests, 4))
    # A request never splits; a failing batch is rerun request by request, so only the bad one fails.
    assert calls == [3, 2, 1, 4]
    assert isinstance(results[1], ValueError)
    assert [result["length"].tolist() for result in results[::2] + results[3:]] == [[1, 2], [3, 1, 2], [4]]


def test_rest_conversion_checks_shapes_and_types():
    import tensorflow as tf

    signature = rest.Signature(
        None, {"samples": tf.TensorSpec([None, None], tf.float32), "ids": tf.TensorSpec([None, 3], tf.int32)}, {}
    )
    inputs, row_format, size = rest.parse_inputs(
        {"instances": [{"samples": [0.5, 1], "ids": [1, 2, 3]}, {"samples": [0, 0], "ids": [4, 5, 6]}]}, signature, 8
    )
    assert row_format and size == 2 and inputs["samples"].dtype == np.float32 and inputs["ids"].dtype == np.int32
    for body in (
        {"instances": [{"samples": [0.5], "ids": [1, 2]}]},  # a known dimension differs
        {"instances": [{"samples": [0.5], "ids": [1, 2, 3]}, {"samples": [0.5, 0.1], "ids": [1, 2, 3]}]},  # ragged
        {"instances": [{"samples": [True], "ids": [1, 2, 3]}]},
        {"instances": [{"samples": [0.5]}]},
    ):
        with pytest.raises(rest.BadRequest):
            rest.parse_inputs(body, signature, 8)
    outputs = {"text": np.array([b"caf\xc3\xa9", b"\xff"], dtype=object), "value": np.array([1.5, np.nan], np.float32)}
    assert rest.predict_response(outputs, True) == {
        "predictions": [{"text": "café", "value": 1.5}, {"text": {"b64": "/w=="}, "value": "NaN"}]
    }


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.skip("needs Debian's chromium and chromium-driver (make system-packages)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2000"):
        options.add_argument(argument)
    options.binary_location = browser
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def test_web_page_in_a_real_browser(server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get(f"{server}/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.ID, "panel-sentiment"))
        assert {p.get_attribute("id") for p in browser.find_elements(By.CSS_SELECTOR, "section.panel")} == {
            f"panel-{name}" for name in SERVED
        }

        def ask(panel_id, field, text, button_text, result_selector):
            panel = browser.find_element(By.ID, panel_id)
            if field:
                box = panel.find_element(By.CSS_SELECTOR, field)
                box.clear()
                box.send_keys(text)
            next(b for b in panel.find_elements(By.TAG_NAME, "button") if b.text == button_text).click()
            return wait.until(lambda _: panel.find_element(By.CSS_SELECTOR, result_selector))

        label = ask(
            "panel-sentiment", "textarea", "An awful, boring mess. I walked out.", "Classify", "[data-role=label]"
        )
        assert label.text.startswith("negative")
        ask("panel-ner", "input", "Angela Merkel visited Washington .", "Find entities", "mark")
        marks = browser.find_elements(By.CSS_SELECTOR, "#panel-ner mark")
        types = [m.get_attribute("data-type") for m in marks]  # each mark is the entity's text, then its type
        assert [(kind, m.text.removesuffix(kind).strip()) for kind, m in zip(types, marks)] == [
            ("PER", "Angela Merkel"),
            ("LOC", "Washington"),
        ]
        translation = ask(
            "panel-translation-dates", "input", "4th of July 1976", "Translate", "[data-role=translation]"
        )
        assert translation.text == "1976-07-04"
        assert browser.find_element(By.CSS_SELECTOR, "#panel-translation-dates canvas[data-role=attention]")
        ask("panel-dinos", None, None, "Sample", "ul.samples")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#panel-dinos ul.samples li")) == 5
        ask("panel-music", None, None, "Generate", "img")
        link = browser.find_element(By.CSS_SELECTOR, "#panel-music a[download]")
        assert link.get_attribute("href").startswith("data:audio/midi;base64,")

        clip = tmp_path / "silence.wav"
        clip.write_bytes(_wav_bytes(np.zeros(48000 * 3, np.float32), 48000))
        browser.find_element(By.CSS_SELECTOR, "#panel-trigger_word input[type=file]").send_keys(str(clip))
        detections = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#panel-trigger_word [data-role=detections]"))
        assert detections.text == "No detection in 3.0 s of audio"
        assert browser.find_element(By.CSS_SELECTOR, "#panel-trigger_word canvas[data-role=plot]")
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        browser.quit()
