"use strict";
// One panel per served model, built from /api/models; every panel calls the TensorFlow Serving REST API
// (/v1/models/<name>:predict) that any other client would call.

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

const predict = (model, body) => postJson(`/v1/models/${encodeURIComponent(model.name)}:predict`, body);
// The prediction for one instance of the default signature.
const predictOne = async (model, instance) => (await predict(model, { instances: [instance] })).predictions[0];

// Runs `action` when `button` is pressed, disabling it meanwhile and showing any error in `result`.
function wire(button, result, action) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      result.classList.remove("error");
      await action();
    } catch (error) {
      result.classList.add("error");
      result.replaceChildren(`Error: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

// A text field that starts with the model card's first example.
function exampleField(model, tag, label) {
  const field = el(tag, tag === "input" ? { type: "text", "aria-label": label } : { "aria-label": label });
  field.value = (model.examples || [""])[0];
  return field;
}

const resultArea = () => el("div", { class: "result", "data-role": "result" });

function numberInput(label, value, step = "1") {
  const input = el("input", { type: "number", value: String(value), step });
  return [el("label", {}, `${label} `, input), input];
}

const panels = {
  sentiment(model, body) {
    const text = exampleField(model, "textarea", "review");
    const button = el("button", {}, "Classify");
    const result = resultArea();
    wire(button, result, async () => {
      const row = await predictOne(model, text.value);
      const percent = (100 * row.probability).toFixed(1);
      result.replaceChildren(
        el("div", { class: "bar", title: `P(positive) = ${percent}%` }, el("div", { style: `width:${percent}%` })),
        el("p", { "data-role": "label" }, `${row.label} (P(positive) = ${percent}%)`),
      );
    });
    body.append(text, el("div", { class: "controls" }, button), result);
  },

  ner(model, body) {
    const text = exampleField(model, "input", "sentence");
    const button = el("button", {}, "Find entities");
    const result = resultArea();
    wire(button, result, async () => {
      const sentence = text.value;
      const row = await predictOne(model, sentence);
      // Highlight each entity's text where it occurs next, left to right.
      const parts = [];
      let cursor = 0;
      for (let index = 0; index < row.num_entities; index += 1) {
        const found = sentence.indexOf(row.entity_text[index], cursor);
        if (found < 0) continue;
        parts.push(sentence.slice(cursor, found));
        const type = row.entity_type[index];
        parts.push(el("mark", { class: type, "data-type": type }, row.entity_text[index], el("sup", {}, type)));
        cursor = found + row.entity_text[index].length;
      }
      parts.push(sentence.slice(cursor));
      result.replaceChildren(el("p", {}, ...parts), el("p", { class: "about" }, `tags: ${row.tags.join(" ")}`));
    });
    body.append(text, el("div", { class: "controls" }, button), result);
  },

  translation(model, body) {
    const text = exampleField(model, "input", "sentence");
    const [beamLabel, beam] = numberInput("beam width", 4);
    beam.min = "1";
    beam.max = "16";
    const button = el("button", {}, "Translate");
    const result = resultArea();
    const withAttention = model.signatures.includes("attention");
    wire(button, result, async () => {
      const inputs = { sentences: [text.value], beam_width: Number(beam.value), alpha: 0.6 };
      const signature = withAttention ? "attention" : "translate";
      const { outputs } = await predict(model, { signature_name: signature, inputs });
      const translation = el("p", { "data-role": "translation" }, outputs.translation[0]);
      const score = el("p", { class: "about" }, `score (log P / length^0.6): ${outputs.score[0].toFixed(3)}`);
      result.replaceChildren(translation, score);
      if (withAttention) result.append(attentionMap(outputs));
    });
    body.append(text, el("div", { class: "controls" }, beamLabel, button), result);
  },

  char_lm(model, body) {
    const text = exampleField(model, "input", "text to score");
    const scoreButton = el("button", {}, "Score");
    const scored = resultArea();
    wire(scoreButton, scored, async () => {
      const row = await predictOne(model, text.value);
      scored.replaceChildren(`log P = ${row.log_prob.toFixed(3)} nats, ${row.bits_per_char.toFixed(3)} bits per character`);
    });
    const prefix = el("input", { type: "text", "aria-label": "prefix", placeholder: "prefix (optional)" });
    const [countLabel, count] = numberInput("samples", 5);
    const [temperatureLabel, temperature] = numberInput("temperature", 1.0, "0.1");
    const [seedLabel, seed] = numberInput("seed", 0);
    const sampleButton = el("button", { class: "secondary" }, "Sample");
    const samples = el("div", { class: "result", "data-role": "samples" });
    wire(sampleButton, samples, async () => {
      const inputs = {
        num_samples: Number(count.value), temperature: Number(temperature.value), seed: Number(seed.value),
        prefix: prefix.value, top_k: 0, top_p: 1.0,
      };
      const { outputs } = await predict(model, { signature_name: "sample", inputs });
      samples.replaceChildren(el("ul", { class: "samples" }, ...outputs.text.map((sample) => el("li", {}, sample))));
    });
    body.append(
      text, el("div", { class: "controls" }, scoreButton), scored,
      prefix, el("div", { class: "controls" }, countLabel, temperatureLabel, seedLabel, sampleButton), samples,
    );
  },

  music(model, body) {
    const [eventsLabel, events] = numberInput("events", 128);
    const [temperatureLabel, temperature] = numberInput("temperature", 1.0, "0.1");
    const [seedLabel, seed] = numberInput("seed", 0);
    const condition = el("select", { "aria-label": "performer" },
      el("option", { value: "" }, "the whole corpus"),
      ...(model.conditions || []).map((name) => el("option", { value: name }, name)));
    const button = el("button", {}, "Generate");
    const result = resultArea();
    wire(button, result, async () => {
      const inputs = {
        num_events: Number(events.value), temperature: Number(temperature.value), seed: Number(seed.value),
        primer: [], condition: condition.value, top_k: 0, top_p: 1.0, num_solos: 1,
      };
      const { outputs } = await predict(model, { signature_name: "generate", inputs });
      const files = await postJson(`/api/midi/${encodeURIComponent(model.name)}`, { events: outputs.events[0] });
      result.replaceChildren(
        el("img", { src: `data:image/png;base64,${files.piano_roll_png}`, alt: "piano roll" }),
        el("a", { href: `data:audio/midi;base64,${files.midi}`, download: `solo-seed${seed.value}.mid` }, "Download the MIDI file"),
      );
    });
    body.append(el("div", { class: "controls" }, eventsLabel, temperatureLabel, seedLabel, condition, button), result);
  },

  trigger_word(model, body) {
    const file = el("input", { type: "file", accept: "audio/*", "aria-label": "audio file" });
    const record = el("button", { class: "secondary" }, "Record 5 s");
    const result = resultArea();
    const detect = async (arrayBuffer) => {
      result.replaceChildren("Listening…");
      const wav = await wav16k(arrayBuffer);
      const response = await fetch(`/api/audio/${encodeURIComponent(model.name)}`, { method: "POST", body: wav });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error);
      const { outputs, seconds } = answer;
      const times = outputs.event_times.slice(0, outputs.num_events);
      result.replaceChildren(
        el("p", { "data-role": "detections" },
          times.length ? `Detected at ${times.map((t) => `${t.toFixed(2)} s`).join(", ")}` : "No detection",
          ` in ${seconds.toFixed(1)} s of audio`),
        probabilityPlot(outputs.probabilities, times, model.threshold, model.step_seconds),
      );
    };
    file.addEventListener("change", async () => {
      if (!file.files.length) return;
      try {
        result.classList.remove("error");
        await detect(await file.files[0].arrayBuffer());
      } catch (error) {
        result.classList.add("error");
        result.replaceChildren(`Error: ${error.message}`);
      }
    });
    wire(record, result, async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const recorder = new MediaRecorder(stream);
      const chunks = [];
      recorder.ondataavailable = (event) => chunks.push(event.data);
      const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
      recorder.start();
      result.replaceChildren("Recording… say the word");
      setTimeout(() => recorder.stop(), 5000);
      await stopped;
      stream.getTracks().forEach((track) => track.stop());
      await detect(await new Blob(chunks).arrayBuffer());
    });
    body.append(el("div", { class: "controls" }, file, record), result);
  },
};

// Any audio the browser decodes, as 16-bit mono WAV at 16 kHz: a tenth of the bytes of the original.
async function wav16k(arrayBuffer) {
  const decoded = await new OfflineAudioContext(1, 1, 16000).decodeAudioData(arrayBuffer);
  const offline = new OfflineAudioContext(1, Math.max(1, Math.ceil(decoded.duration * 16000)), 16000);
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const samples = (await offline.startRendering()).getChannelData(0);
  const view = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + 2 * samples.length, true); text(8, "WAVEfmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, 16000, true); view.setUint32(28, 32000, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, 2 * samples.length, true);
  samples.forEach((sample, i) => view.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, sample)) * 32767, true));
  return new Blob([view], { type: "audio/wav" });
}

function probabilityPlot(probabilities, times, threshold, stepSeconds) {
  const canvas = el("canvas", { width: "640", height: "180", "data-role": "plot" });
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  const seconds = probabilities.length * stepSeconds;
  const x = (t) => (t / seconds) * width;
  const y = (p) => height - 14 - p * (height - 24);
  context.strokeStyle = "#999";
  context.setLineDash([4, 4]);
  context.beginPath(); context.moveTo(0, y(threshold)); context.lineTo(width, y(threshold)); context.stroke();
  context.setLineDash([]);
  context.strokeStyle = "#cf222e";
  for (const time of times) {
    context.beginPath(); context.moveTo(x(time), 0); context.lineTo(x(time), height - 14); context.stroke();
  }
  context.strokeStyle = "#0969da";
  context.beginPath();
  probabilities.forEach((p, i) => (i ? context.lineTo : context.moveTo).call(context, x((i + 1) * stepSeconds), y(p)));
  context.stroke();
  context.fillStyle = "#656d76";
  context.font = "11px sans-serif";
  for (let t = 0; t <= seconds; t += 1) context.fillText(`${t}s`, Math.min(x(t), width - 16), height - 2);
  context.fillText(`probability per step; threshold ${threshold}`, 4, 10);
  return canvas;
}

function attentionMap(outputs) {
  const source = outputs.source_tokens[0].filter((token) => token !== "");
  const target = outputs.output_tokens[0].filter((token) => token !== "");
  const weights = outputs.attention[0];
  const cell = 16, left = 48, top = 56;
  const canvas = el("canvas", {
    width: String(left + cell * source.length + 4), height: String(top + cell * target.length + 4), "data-role": "attention",
  });
  const context = canvas.getContext("2d");
  context.font = "11px ui-monospace, monospace";
  target.forEach((token, row) => {
    context.fillStyle = "#1f2328";
    context.fillText(token.slice(0, 6), 2, top + row * cell + 12);
    source.forEach((_, column) => {
      const shade = Math.round(255 * (1 - weights[row][column]));
      context.fillStyle = `rgb(${shade}, ${shade}, 255)`;
      context.fillRect(left + column * cell, top + row * cell, cell - 1, cell - 1);
    });
  });
  source.forEach((token, column) => {
    context.save();
    context.translate(left + column * cell + 11, top - 4);
    context.rotate(-Math.PI / 2);
    context.fillStyle = "#1f2328";
    context.fillText(token.slice(0, 8), 0, 0);
    context.restore();
  });
  return canvas;
}

async function main() {
  const container = document.getElementById("panels");
  const models = await (await fetch("/api/models")).json();
  container.replaceChildren();
  for (const model of models) {
    const build = panels[model.task];
    if (!build) continue;
    const body = el("div");
    const card = el("a", { href: `/v1/models/${encodeURIComponent(model.name)}/card` }, "model card");
    container.append(el("section", { class: "panel", id: `panel-${model.name}`, "data-task": model.task },
      el("h2", {}, model.name), el("p", { class: "about" }, model.description || "", " · ", card), body));
    build(model, body);
  }
}

main();
