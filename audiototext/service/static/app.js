// audiototext's web page: plain JavaScript, no build step, nothing loaded from outside this server.
// The form is built from GET /api/options (the one options registry), so a new option appears here
// with no change to this file. Progress and lines come from polling GET /api/status/{id}.
"use strict";

const TOKEN_KEY = "audiototext-token";
const POLL_MS = 1000;
const LIST_MS = 3000;
const IDLE_LIST_MS = 15000; // the list with nothing running here: other tabs and people add jobs too
const LIST_STEP = 50; // jobs listed at first, and added by "Show older jobs"
const $ = (id) => document.getElementById(id);

const state = {
  options: [],
  chosen: [], // File objects to upload
  localMedia: new Map(), // call_id -> the File the browser sent (the player's fallback)
  openJob: null, // call_id shown in the job section
  poll: null,
  lines: 0,
  listTimer: null,
  listed: LIST_STEP, // how many of the newest jobs the list shows
  objectUrls: [],
};

// --- talking to the server -------------------------------------------------------------------

// The token dialog's open request: {promise, resolve, reject}, one however many requests met the 401.
let tokenWaiter = null;

// Escape (or the dialog's Cancel) without a token: the request that needed it fails with this, the
// page stays usable, and the next request asks again.
class TokenCancelled extends Error {
  constructor() {
    super("no access token given: this server needs the --token it was started with");
    this.name = "TokenCancelled";
  }
}

function askToken(wrong) {
  if (tokenWaiter) return tokenWaiter.promise;
  const dialog = $("token-dialog");
  const error = $("token-error");
  error.hidden = !wrong;
  error.textContent = wrong ? "That token was refused: check it and try again." : "";
  $("token").value = "";
  const waiter = {};
  waiter.promise = new Promise((resolve, reject) => Object.assign(waiter, { resolve, reject }));
  tokenWaiter = waiter;
  if (!dialog.open) dialog.showModal();
  $("token").focus();
  return waiter.promise;
}

// Set once: the dialog answers the open request, with the token or (closed without one) a refusal.
function setupTokenDialog() {
  const dialog = $("token-dialog");
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    const waiter = tokenWaiter;
    tokenWaiter = null;
    dialog.close();
    if (waiter) waiter.resolve();
  });
  $("token-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const waiter = tokenWaiter;
    tokenWaiter = null;
    if (waiter) waiter.reject(new TokenCancelled());
  });
}

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

// fetch() with the token; a 401 asks for it (once) and tries again.
async function api(path, init = {}) {
  for (;;) {
    const response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
    if (response.status !== 401) return response;
    const hadToken = Boolean(sessionStorage.getItem(TOKEN_KEY));
    sessionStorage.removeItem(TOKEN_KEY);
    await askToken(hadToken);
  }
}

// A FastAPI error body as one line: its "detail" text, or each validation problem as "name: why".
function detailText(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail
      .map((d) => {
        const name = String((d.loc || []).slice(-1)[0]);
        return String(d.msg).startsWith(name) ? d.msg : `${name}: ${d.msg}`; // the registry's names it
      })
      .join("; ");
  }
  if (body && body.error) return String(body.error);
  return `the server answered HTTP ${status}`;
}

async function detail(response) {
  try {
    return detailText(await response.json(), response.status);
  } catch (e) {
    return `the server answered HTTP ${response.status}`;
  }
}

function showPageError(message) {
  const error = $("page-error");
  error.replaceChildren(message);
  error.hidden = !message;
}

// An upload with its progress (fetch cannot report it); resolves to {status, body}.
function upload(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = { detail: `the server answered HTTP ${xhr.status}` };
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("the connection to the server failed"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

// --- the form, from the registry -------------------------------------------------------------

// "deepl_target" -> "DeepL target": the words as their owners spell them.
const SPELLED = { deepl: "DeepL", api: "API", cps: "CPS" };

function humanize(name) {
  const text = name
    .split("_")
    .map((word) => SPELLED[word] || word)
    .join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function control(option, id) {
  let input;
  if (option.choices.length) {
    input = document.createElement("select");
    for (const choice of option.choices) {
      const item = new Option(choice.label, text(choice.value));
      item.selected = text(choice.value) === text(option.default);
      input.append(item);
    }
  } else if (option.type === "bool") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = option.default === true;
  } else {
    input = document.createElement("input");
    if (option.type === "int" || option.type === "float") {
      input.type = "number";
      input.step = option.type === "int" ? "1" : "any";
      if (option.min !== null && !option.min_open) input.min = option.min;
      if (option.max !== null) input.max = option.max;
      input.inputMode = option.type === "int" ? "numeric" : "decimal";
    } else {
      input.type = "text";
    }
    input.value = text(option.default);
    if (option.default === null) input.placeholder = "not set";
  }
  input.id = id;
  input.name = option.name;
  return input;
}

// Suggestions for a free value (models, languages, DeepL targets): a datalist the input offers.
function suggestions(option, input) {
  if (!option.suggestions.length || input.tagName !== "INPUT") return null;
  const list = document.createElement("datalist");
  list.id = input.id + "-list";
  for (const suggestion of option.suggestions) if (suggestion !== "") list.append(new Option(suggestion));
  input.setAttribute("list", list.id);
  return list;
}

function field(option) {
  const id = "opt-" + option.name;
  const wrap = document.createElement("div");
  wrap.className = option.type === "bool" && !option.choices.length ? "field check" : "field";
  wrap.dataset.option = option.name;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = humanize(option.name);
  const code = document.createElement("code");
  code.textContent = option.name;
  label.append(code);
  const input = control(option, id);
  const help = document.createElement("p");
  help.className = "hint";
  help.id = id + "-help";
  const extra = [option.range, option.nullable && option.default === null ? "empty: not set" : ""].filter(Boolean);
  help.textContent = option.help + (extra.length ? ` (${extra.join("; ")})` : "");
  input.setAttribute("aria-describedby", help.id);
  if (wrap.className === "field check") {
    const row = document.createElement("div");
    row.className = "check-row";
    row.append(input, label);
    wrap.append(row, help);
  } else {
    wrap.append(label, input, help);
  }
  const list = suggestions(option, input);
  if (list) wrap.append(list);
  return wrap;
}

function fieldset(title, fields, note) {
  const set = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = title;
  set.append(legend);
  if (note) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = note;
    set.append(p);
  }
  const grid = document.createElement("div");
  grid.className = "grid";
  grid.append(...fields);
  set.append(grid);
  return set;
}

function buildForm(description) {
  state.options = description.options;
  const main = $("main-options");
  const advanced = $("advanced-options");
  main.replaceChildren();
  advanced.replaceChildren();
  for (const group of description.groups) {
    const options = description.options.filter((o) => o.group === group.name);
    const note =
      group.name === "deepl" && !description.deepl_key
        ? "This server has no DeepL key (DEEPL_AUTH_KEY): a translation would fail."
        : "";
    const first = options.filter((o) => o.main).map(field);
    const rest = options.filter((o) => !o.main).map(field);
    if (first.length) main.append(fieldset(group.title, first, note));
    if (rest.length) advanced.append(fieldset(group.title, rest, first.length ? "" : note));
  }
}

function formParams() {
  const params = {};
  for (const option of state.options) {
    const input = $("opt-" + option.name);
    if (!input) continue;
    const value = input.type === "checkbox" ? String(input.checked) : input.value.trim();
    if (value === text(option.default) || (value === "" && option.nullable)) continue;
    params[option.name] = value;
  }
  return params;
}

// --- submitting --------------------------------------------------------------------------------

function makeSlug(name) {
  let base = name;
  try {
    const url = new URL(name);
    base = url.pathname.split("/").filter(Boolean).pop() || url.hostname;
  } catch (e) {
    base = name.split(/[\\/]/).pop();
  }
  base = base
    .replace(/\.[^.]*$/, "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  // A suffix of its own: someone else's "interview" is not this one.
  return (base || "media") + "-" + Math.random().toString(36).slice(2, 7);
}

function size(bytes) {
  return bytes < 1048576 ? `${Math.max(1, Math.round(bytes / 1024))} kB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

function showChosen() {
  const list = $("chosen");
  list.replaceChildren(
    ...state.chosen.map((file) => {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${size(file.size)})`;
      return item;
    }),
  );
}

function addError(list, message) {
  const item = document.createElement("li");
  item.textContent = message;
  list.append(item);
}

function named(name, message) {
  return message.includes(name) ? message : `${name}: ${message}`;
}

async function submitOne(input, params) {
  const name = input.file ? input.file.name : input.link;
  const query = new URLSearchParams({ title_slug: makeSlug(name), ...params });
  if (input.link) {
    query.set("src_url", input.link);
    if (input.isVideo) query.set("is_video", "true");
  }
  const url = "/api/transcribe?" + query;
  const row = document.createElement("li");
  row.textContent = `${name}: sending…`;
  $("uploads").append(row);
  let status, body;
  try {
    if (input.file) {
      for (;;) {
        ({ status, body } = await upload(url, input.file, (part) => {
          row.textContent = `${name}: uploading ${Math.round(part * 100)} %`;
        }));
        if (status !== 401) break;
        const hadToken = Boolean(sessionStorage.getItem(TOKEN_KEY));
        sessionStorage.removeItem(TOKEN_KEY);
        await askToken(hadToken);
      }
    } else {
      const response = await api(url, { method: "POST" });
      status = response.status;
      body = response.ok ? await response.json() : { detail: await detail(response) };
    }
  } catch (error) {
    status = 0;
    body = { detail: error.message };
  }
  row.remove();
  if (status !== 200) {
    addError($("form-errors"), named(name, detailText(body, status)));
    return null;
  }
  if (input.file) state.localMedia.set(body.call_id, input.file);
  return body.call_id;
}

async function submit(event) {
  event.preventDefault();
  const errors = $("form-errors");
  errors.replaceChildren();
  const link = $("src_url").value.trim();
  const inputs = state.chosen.map((file) => ({ file }));
  if (link) inputs.push({ link, isVideo: $("is_video").checked });
  if (!inputs.length) {
    addError(errors, "Choose a file, drop one here, or paste a link first.");
    return;
  }
  const button = $("submit");
  button.disabled = true;
  const params = formParams();
  let first = null;
  try {
    for (const input of inputs) {
      const callId = await submitOne(input, params);
      if (callId && !first) {
        first = callId;
        openJob(callId);
      }
      refreshJobs();
    }
  } finally {
    button.disabled = false;
  }
  if (first) {
    state.chosen = [];
    $("files").value = "";
    $("src_url").value = "";
    showChosen();
  }
}

function setupDrop() {
  const drop = $("drop");
  const files = $("files");
  files.addEventListener("change", () => {
    state.chosen = [...files.files];
    showChosen();
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    state.chosen = [...event.dataTransfer.files];
    showChosen();
  });
}

// --- one job: progress, lines, result ----------------------------------------------------------

function clock(seconds) {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

function lineItem(line, seekable) {
  const item = document.createElement("li");
  const inner = document.createElement(seekable ? "button" : "span");
  inner.className = "line";
  if (seekable) {
    inner.type = "button";
    inner.dataset.start = line.start;
    inner.dataset.end = line.end;
    inner.addEventListener("click", () => seek(line.start));
  }
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = clock(line.start);
  const words = document.createElement("span");
  words.textContent = line.text.trim();
  inner.append(time, words);
  item.append(inner);
  return item;
}

function seek(seconds) {
  const player = $("player");
  if (player.hidden) return;
  player.currentTime = seconds;
  player.play().catch(() => {});
}

function stopPolling() {
  clearTimeout(state.poll);
  state.poll = null;
}

function resetJobView(callId) {
  stopPolling();
  for (const url of state.objectUrls) URL.revokeObjectURL(url);
  state.objectUrls = [];
  state.openJob = callId;
  state.lines = 0;
  delete $("job").dataset.status;
  const player = $("player");
  player.pause();
  player.removeAttribute("src");
  player.replaceChildren();
  player.hidden = true;
  player.load();
  $("caption").hidden = true;
  $("caption").textContent = "";
  $("result").hidden = true;
  $("player-note").hidden = true;
  $("downloads").replaceChildren();
  $("transcript").replaceChildren();
  $("job-error").hidden = true;
  $("job-cancel").hidden = true;
  $("job-progress").removeAttribute("value");
  $("job-progress-label").textContent = "";
}

async function openJob(callId, { focus = true } = {}) {
  resetJobView(callId);
  const section = $("job");
  section.hidden = false;
  section.dataset.callId = callId;
  history.replaceState(null, "", "#job=" + callId);
  $("job-title").textContent = "Job";
  if (focus) $("job-title").focus();
  await pollJob(callId);
}

function showProgress(body) {
  const bar = $("job-progress");
  const label = $("job-progress-label");
  const total = body.total_segments;
  const download = body.download;
  if (body.status === "queued") {
    bar.removeAttribute("value");
    label.textContent = "Waiting in the queue…";
  } else if (download) {
    // The model's weights come first (gigabytes for a large model): their bytes, not the windows.
    if (download.total_bytes) {
      bar.max = download.total_bytes;
      bar.value = Math.min(download.done_bytes, download.total_bytes);
    } else bar.removeAttribute("value");
    const total = download.total_bytes ? ` of ${size(download.total_bytes)}` : "";
    label.textContent = `Downloading the model ${download.model}: ${size(download.done_bytes)}${total}`;
  } else {
    bar.max = Math.max(total, 1);
    bar.value = Math.min(body.done_segments, bar.max);
    const windows = `${body.done_segments} of ${total} window${total === 1 ? "" : "s"} decoded`;
    label.textContent = body.finished ? `${windows}: ${body.status}` : windows + (body.cancelling ? ", cancelling…" : "");
  }
  bar.setAttribute("aria-valuetext", label.textContent);
}

async function pollJob(callId) {
  if (state.openJob !== callId) return;
  let body;
  try {
    const response = await api(`/api/status/${encodeURIComponent(callId)}?lines_from=${state.lines}`);
    if (response.status === 404) {
      showJobError(await detail(response));
      return;
    }
    body = await response.json();
  } catch (error) {
    if (error instanceof TokenCancelled) showJobError(error.message);
    else state.poll = setTimeout(() => pollJob(callId), POLL_MS * 3);
    return;
  }
  if (state.openJob !== callId) return;
  const section = $("job");
  section.dataset.slug = body.title_slug;
  section.dataset.status = body.status;
  $("job-title").textContent = body.title_slug;
  const summary = jobRows.get(callId);
  $("job-source").textContent = summary ? `From ${summary.source}` : "";
  showProgress(body);
  const transcript = $("transcript");
  for (const line of body.lines || []) transcript.append(lineItem(line, false));
  state.lines += (body.lines || []).length;
  const cancel = $("job-cancel");
  cancel.hidden = body.finished;
  cancel.disabled = Boolean(body.cancelling);
  if (!body.finished) {
    state.poll = setTimeout(() => pollJob(callId), POLL_MS);
    return;
  }
  refreshJobs();
  // A failure names its file, as an upload's error does; a cancel says how it ended.
  if (body.error) showJobError(body.status === "failed" ? named(body.source || body.title_slug, body.error) : body.error);
  await showResult(callId, body.title_slug, body.status === "done");
}

function showJobError(message) {
  const error = $("job-error");
  error.textContent = message;
  error.hidden = false;
}

function vttTime(seconds) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const two = (n, width = 2) => String(n).padStart(width, "0");
  return `${two(Math.floor(ms / 3600000))}:${two(Math.floor(ms / 60000) % 60)}:${two(Math.floor(ms / 1000) % 60)}.${two(ms % 1000, 3)}`;
}

async function trackSource(track) {
  if (track.format === "vtt") return track.url;
  // No .vtt was written: make one from the JSON transcript, in the browser.
  const response = await api(track.url);
  const data = await response.json();
  const cues = (data.segments || []).map((s) => `${vttTime(s.start)} --> ${vttTime(s.end)}\n${s.text.trim()}\n`);
  const url = URL.createObjectURL(new Blob(["WEBVTT\n\n" + cues.join("\n")], { type: "text/vtt" }));
  state.objectUrls.push(url);
  return url;
}

async function showResult(callId, slug, done) {
  const response = await api(`/api/audio/${encodeURIComponent(slug)}`);
  if (!response.ok) {
    if (done) showJobError(named(slug, await detail(response)));
    return;
  }
  const result = await response.json();
  if (state.openJob !== callId) return;
  $("result").hidden = false;
  showDownloads(result);
  const transcript = $("transcript");
  transcript.replaceChildren(...result.segments.map((line) => lineItem(line, true)));
  await showPlayer(callId, result);
}

function showDownloads(result) {
  const list = $("downloads");
  const link = (href, name, label) => {
    const item = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.download = name;
    a.textContent = label;
    item.append(a);
    return item;
  };
  list.replaceChildren(
    ...result.files.map((f) => link(f.url, f.name, `${f.name} (${size(f.bytes)})`)),
    link(result.zip, "", "All files (.zip)"),
  );
}

async function showPlayer(callId, result) {
  const player = $("player");
  const local = state.localMedia.get(callId);
  let source = result.media;
  if (!source && local) {
    source = URL.createObjectURL(local);
    state.objectUrls.push(source);
  }
  if (!source) {
    // The server says why it has no media for this job (it failed, or it keeps none...).
    const note = $("player-note");
    note.textContent = result.media_note || "This job's media is not on the server, so there is nothing to play.";
    note.hidden = false;
    return;
  }
  const tracks = [];
  for (const [index, info] of result.tracks.entries()) {
    const track = document.createElement("track");
    track.kind = "subtitles";
    track.label = info.label;
    if (info.language) track.srclang = info.language;
    track.src = await trackSource(info);
    if (index === 0) track.default = true;
    tracks.push(track);
  }
  if (state.openJob !== callId) return;
  player.replaceChildren(...tracks);
  player.src = source;
  player.hidden = false;
  // Tracks added by script are not turned on by themselves: show the first, load the others.
  Array.from(player.textTracks).forEach((t, i) => (t.mode = i === 0 ? "showing" : "hidden"));
  player.ontimeupdate = () => markCurrent(player.currentTime);
  // Audio has no picture to show subtitles on: a compact player, the line in large text below it.
  const caption = $("caption");
  player.onloadedmetadata = () => {
    const audioOnly = player.videoWidth === 0;
    player.classList.toggle("audio-only", audioOnly);
    caption.hidden = !audioOnly;
  };
  const showCaption = () => {
    const shown = Array.from(player.textTracks).find((t) => t.mode === "showing");
    const cues = shown && shown.activeCues ? Array.from(shown.activeCues) : [];
    caption.textContent = cues.map((cue) => cue.text).join("\n");
  };
  for (const track of player.textTracks) track.oncuechange = showCaption;
  player.textTracks.onchange = showCaption;
}

function markCurrent(time) {
  for (const button of $("transcript").querySelectorAll("button.line")) {
    const on = time >= Number(button.dataset.start) && time < Number(button.dataset.end);
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function cancelOpenJob() {
  const callId = state.openJob;
  if (!callId) return;
  $("job-cancel").disabled = true;
  try {
    const response = await api(`/api/cancel/${encodeURIComponent(callId)}`, { method: "POST" });
    if (!response.ok && response.status !== 409) showJobError(await detail(response));
  } catch (error) {
    showJobError(error.message);
  }
  stopPolling();
  pollJob(callId);
}

// --- the jobs list -----------------------------------------------------------------------------

const jobRows = new Map();

function stateText(job) {
  if (job.status === "running" && job.download) return `running, downloading the model ${job.download.model}`;
  if (job.status === "running") {
    return `running, ${job.done_segments} of ${job.total_segments} windows` + (job.cancelling ? ", cancelling" : "");
  }
  return job.status;
}

function jobRow(job) {
  const row = document.createElement("tr");
  row.dataset.callId = job.call_id;
  row.dataset.slug = job.title_slug;
  const name = document.createElement("td");
  const open = document.createElement("button");
  open.type = "button";
  open.className = "secondary";
  open.textContent = job.source;
  open.title = `Open ${job.title_slug}`;
  open.addEventListener("click", () => openJob(job.call_id));
  name.append(open);
  const status = document.createElement("td");
  status.textContent = stateText(job);
  status.className = "state-" + job.status;
  if (job.error) status.title = job.error;
  const when = document.createElement("td");
  when.textContent = new Date(job.created * 1000).toLocaleString();
  const actions = document.createElement("td");
  const box = document.createElement("div");
  box.className = "actions";
  const action = (label, handler) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = label;
    button.setAttribute("aria-label", `${label} ${job.source}`);
    button.addEventListener("click", handler);
    box.append(button);
  };
  if (!job.finished) action("Cancel", () => cancelJob(job));
  else action("Delete", () => deleteJob(job, [...jobRows.keys()].indexOf(job.call_id)));
  actions.append(box);
  row.append(name, status, when, actions);
  return row;
}

async function cancelJob(job) {
  try {
    const response = await api(`/api/cancel/${encodeURIComponent(job.call_id)}`, { method: "POST" });
    if (!response.ok && response.status !== 409) showPageError(named(job.source, await detail(response)));
  } catch (error) {
    showPageError(named(job.source, error.message));
  }
  refreshJobs();
}

function closeJobView() {
  resetJobView(null);
  $("job").hidden = true;
  history.replaceState(null, "", location.pathname);
}

async function deleteJob(job, index) {
  if (!confirm(`Delete ${job.source} (${job.title_slug}) and all its files?`)) return;
  try {
    const response = await api(`/api/audio/${encodeURIComponent(job.title_slug)}`, { method: "DELETE" });
    if (!response.ok && response.status !== 404) showPageError(named(job.source, await detail(response)));
  } catch (error) {
    showPageError(named(job.source, error.message));
  }
  if (state.openJob === job.call_id) closeJobView();
  await refreshJobs();
  // The row and its button are gone: the keyboard goes on from the job that took its place, or the
  // list's title, never from the top of the page.
  focusRow(rowAt(index));
}

// A row of the jobs list: the one at ``index``, or the last when fewer are left.
function rowAt(index) {
  const rows = $("jobs-list").querySelectorAll("tr");
  return rows[Math.min(index, rows.length - 1)];
}

// The keyboard goes on from ``row``'s first button, or from the list's title when there is no row.
function focusRow(row) {
  (row ? row.querySelector("td button") : $("jobs-title")).focus();
}

// The list is redrawn every few seconds: a keyboard user's focus on one of its buttons stays on
// that job's same button (or its first one, or the row now at its place), never falls to the page.
function heldFocus() {
  const list = $("jobs-list");
  const focused = document.activeElement;
  if (!focused || !list.contains(focused)) return null;
  const row = focused.closest("tr");
  const index = [...list.querySelectorAll("tr")].indexOf(row);
  const name = (button) => button.getAttribute("aria-label") || button.title;
  const label = name(focused);
  return {
    restore() {
      const again = [...list.querySelectorAll("tr")].find((r) => r.dataset.callId === row.dataset.callId);
      const same = again && [...again.querySelectorAll("button")].find((b) => name(b) === label);
      if (same) same.focus();
      else focusRow(again || rowAt(index));
    },
  };
}

async function refreshJobs() {
  clearTimeout(state.listTimer);
  let jobs = [];
  try {
    const response = await api(`/api/jobs?limit=${state.listed + 1}`); // one more: are there older ones?
    jobs = (await response.json()).jobs;
  } catch (error) {
    if (!(error instanceof TokenCancelled)) state.listTimer = setTimeout(refreshJobs, LIST_MS * 3);
    return;
  }
  $("jobs-more").hidden = jobs.length <= state.listed;
  jobs = jobs.slice(0, state.listed);
  jobRows.clear();
  for (const job of jobs) jobRows.set(job.call_id, job);
  const held = heldFocus();
  $("jobs-list").replaceChildren(...jobs.map(jobRow));
  if (held) held.restore();
  $("jobs-table").hidden = !jobs.length;
  $("jobs-empty").hidden = Boolean(jobs.length);
  if (state.openJob && !jobRows.has(state.openJob)) checkOpenJob(state.openJob);
  const running = jobs.some((job) => !job.finished);
  clearTimeout(state.listTimer); // another refresh may have ended while this one waited
  if (running || !document.hidden) state.listTimer = setTimeout(refreshJobs, running ? LIST_MS : IDLE_LIST_MS);
}

// The open job, missing from the list: deleted elsewhere (another tab, another client), its view
// says so and offers no player or link to files that are gone. Older jobs are still there.
async function checkOpenJob(callId) {
  if ($("job").dataset.status === "deleted") return;
  try {
    const response = await api(`/api/status/${encodeURIComponent(callId)}`);
    if (response.status !== 404 || state.openJob !== callId) return;
  } catch (error) {
    return;
  }
  resetJobView(callId);
  $("job").dataset.status = "deleted";
  showJobError(`${$("job-title").textContent} was deleted (in another tab or by another client): its files are gone.`);
}

// The next LIST_STEP older jobs; the focus goes to the first of them.
async function showOlderJobs() {
  const first = state.listed;
  state.listed += LIST_STEP;
  await refreshJobs();
  focusRow($("jobs-list").querySelectorAll("tr")[first]);
}

// --- start -------------------------------------------------------------------------------------

// The job named by the address (#job=<call_id>), or none: follows the back button and typed links.
function showJobFromHash({ focus = false } = {}) {
  const match = location.hash.match(/^#job=([0-9a-f]+)$/);
  if (match && match[1] !== state.openJob) openJob(match[1], { focus });
  else if (!match && state.openJob) closeJobView();
}

async function loadPage() {
  showPageError("");
  try {
    const response = await api("/api/options");
    buildForm(await response.json());
  } catch (error) {
    if (error instanceof TokenCancelled) {
      // Escape on the token dialog: say what is missing, and offer the dialog again.
      const again = document.createElement("button");
      again.type = "button";
      again.id = "token-again";
      again.textContent = "Enter the access token";
      again.addEventListener("click", loadPage);
      showPageError(`This server needs its access token (the --token it was started with) to show its options and jobs. `);
      $("page-error").append(again);
      again.focus();
    } else {
      showPageError(`Could not load the options from the server (${error.message}); reload the page.`);
    }
    return;
  }
  document.body.dataset.ready = "true";
  await refreshJobs();
  showJobFromHash();
}

function boot() {
  setupDrop();
  setupTokenDialog();
  $("submit-form").addEventListener("submit", submit);
  $("job-cancel").addEventListener("click", cancelOpenJob);
  $("jobs-more").addEventListener("click", showOlderJobs);
  document.addEventListener("visibilitychange", () => !document.hidden && document.body.dataset.ready && refreshJobs());
  window.addEventListener("hashchange", () => document.body.dataset.ready && showJobFromHash({ focus: true }));
  loadPage();
}

boot();
