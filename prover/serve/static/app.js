// prove serve's playground: a CodeMirror editor whose proof is checked as it is typed
// (POST /api/check, or /api/grade for an assignment's problem), with each step's verdict in the
// gutter and, under a failing step, its message, counterexample and hint; the rule reference,
// a derive box, example proofs, share links and assignment mode.
//
// Every string from the user or the server reaches the page as text (textContent, or the
// editor's own text): never as HTML. The page fetches nothing outside its own origin.
import {
  EditorView, EditorState, StateField, StateEffect, RangeSet, Decoration, WidgetType,
  GutterMarker, gutter, keymap, basicSetup, yaml,
} from "./vendor/codemirror.js";

const DEBOUNCE_MS = 400;
const DEFAULT_EXAMPLE = "theorem5";
const MARKS = { valid: "✓", invalid: "✗", unjustified: "?", error: "!", warning: "⚠" };
const FAILING = new Set(["invalid", "unjustified", "error"]);

// -- small helpers ------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function api(path, { method = "GET", body, type, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (type) headers["Content-Type"] = type;
  let res;
  try {
    res = await fetch(path, { method, body, headers, signal, credentials: "same-origin" });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, "the server cannot be reached (is prove serve still running?)");
  }
  let data = null;
  try {
    data = await res.json();
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
  }
  if (!res.ok) {
    const retry = Number(res.headers.get("Retry-After")) || 0;
    const msg = data && typeof data.error === "string" ? data.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg, retry);
  }
  if (data === null) throw new ApiError(res.status, "the server's answer is not JSON");
  return data;
}

function describeError(exc) {
  const what = {
    413: "too large", 429: "too many requests", 503: "server busy", 504: "took too long",
    422: "not checked",
  }[exc.status];
  return (what ? what + ": " : "") + exc.message;
}

// -- the editor's annotations -------------------------------------------------------------------
class VerdictMarker extends GutterMarker {
  constructor(status, title, line = 0) {
    super();
    this.status = status;
    this.title = title;
    this.line = line;
  }
  eq(other) {
    return other.status === this.status && other.title === this.title && other.line === this.line;
  }
  toDOM() {
    const known = Object.prototype.hasOwnProperty.call(MARKS, this.status);
    if (!this.title) return el("span", { class: "verdict-mark spacer", "aria-hidden": "true" }, "✓");
    return el("span", {
      class: "verdict-mark " + (known ? this.status : "other"),
      title: this.title, "aria-label": this.title, "data-status": this.status,
      "data-line": this.line || null,
    }, known ? MARKS[this.status] : "•");
  }
}

class LockMarker extends GutterMarker {
  toDOM() {
    return el("span", { class: "lock-mark", title: "locked: the assignment's claim",
      "aria-label": "locked" });
  }
}
const lockMarker = new LockMarker();

function matrixNode(m) {
  if (!Array.isArray(m)) return el("span", { class: "scalar" }, String(m));
  if (m.length === 1 && Array.isArray(m[0]) && m[0].length === 1) {
    return el("span", { class: "scalar" }, String(m[0][0]));
  }
  const table = el("table", { class: "matrix" });
  const tbody = el("tbody");
  for (const row of m) {
    const tr = el("tr");
    for (const x of Array.isArray(row) ? row : [row]) tr.append(el("td", {}, String(x)));
    tbody.append(tr);
  }
  table.append(tbody);
  return el("span", { class: "matrix-wrap" }, table);
}

function counterexampleNode(cex) {
  const box = el("div", { class: "cex" });
  const dims = Object.entries(cex.dims || {}).map(([k, v]) => `${k} = ${v}`).join(", ");
  box.append(el("div", { class: "cex-head" }, "Counterexample" + (dims ? " at " + dims : "") + ":"));
  const vals = el("div", { class: "cex-values" });
  for (const [name, value] of Object.entries(cex.values || {})) {
    vals.append(el("span", { class: "binding", "data-var": name },
      el("span", { class: "name" }, name + " = "), matrixNode(value)));
  }
  box.append(vals);
  const labels = Array.isArray(cex.labels) && cex.labels.length === 2
    ? cex.labels : ["line before", "this line"];
  box.append(el("div", { class: "cex-sides" },
    el("span", { class: "binding side lhs" }, el("span", { class: "name" }, labels[0] + " = "),
      matrixNode(cex.lhs)),
    el("span", { class: "neq", "aria-label": "differs from" }, "≠"),
    el("span", { class: "binding side rhs" }, el("span", { class: "name" }, labels[1] + " = "),
      matrixNode(cex.rhs))));
  return box;
}

class NoteWidget extends WidgetType {
  // The explanation under a failing (or warned) step, or under a file-level error.
  constructor(note) {
    super();
    this.note = note;
    this.key = JSON.stringify(note);
  }
  eq(other) {
    return other.key === this.key;
  }
  toDOM() {
    const n = this.note;
    const box = el("div", { class: "step-note " + n.kind, role: "note", "data-line": n.line });
    box.append(el("p", { class: "note-message" },
      el("strong", { class: "note-label" }, n.label), " ", n.message));
    if (n.counterexample) box.append(counterexampleNode(n.counterexample));
    if (n.help) box.append(el("p", { class: "hint" }, el("strong", {}, "Hint: "), n.help));
    if (n.suggestion && n.suggestion.length) {
      box.append(el("p", { class: "suggestion" }, el("strong", {}, "Would justify it: "),
        n.suggestion.join(", ")));
    }
    for (const w of n.warnings || []) box.append(el("p", { class: "warning-line" }, "⚠ " + w));
    // the wrapper's padding, not the box's margin, spaces it: CodeMirror measures a block
    // widget's border box, and a margin would put the gutter out of line with the text
    return el("div", { class: "step-note-wrap" }, box);
  }
  get estimatedHeight() {
    return this.note.counterexample ? 120 : 40;
  }
}

const setAnnotations = StateEffect.define();
const emptyAnnotations = { decorations: Decoration.none, marks: RangeSet.empty };

const annotations = StateField.define({
  create: () => emptyAnnotations,
  update(value, tr) {
    for (const e of tr.effects) if (e.is(setAnnotations)) return e.value;
    if (!tr.docChanged) return value;
    return { decorations: value.decorations.map(tr.changes), marks: value.marks.map(tr.changes) };
  },
  provide: (f) => EditorView.decorations.from(f, (v) => v.decorations),
});

// The lines of an assignment's claim: read-only (a transaction filter refuses any change that
// touches them; loading another file, tagged "load", replaces them).
const setLock = StateEffect.define();
const lock = StateField.define({
  create: () => null,
  update(value, tr) {
    for (const e of tr.effects) if (e.is(setLock)) return e.value;
    if (value && tr.docChanged) {
      // text inserted just after the locked lines stays outside them (editable)
      return { from: tr.changes.mapPos(value.from, 1), to: tr.changes.mapPos(value.to, -1) };
    }
    return value;
  },
  provide: (f) => EditorView.decorations.from(f, (v) => {
    if (!v) return Decoration.none;
    return Decoration.set([Decoration.mark({ class: "cm-locked", attributes: { title: "locked" } })
      .range(v.from, v.to)]);
  }),
});

const lockFilter = EditorState.transactionFilter.of((tr) => {
  const range = tr.startState.field(lock, false);
  if (!range || !tr.docChanged || tr.isUserEvent("load")) return tr;
  let touches = false;
  tr.changes.iterChangedRanges((fromA, toA) => {
    if (fromA === toA ? fromA >= range.from && fromA < range.to
      : fromA < range.to && toA > range.from) touches = true;
  });
  if (touches) {
    flashLocked();
    return [];
  }
  return tr;
});

const verdictGutter = gutter({
  class: "cm-verdict-gutter",
  markers: (view) => {
    const marks = view.state.field(annotations).marks;
    const range = view.state.field(lock);
    if (!range) return marks;
    const extra = [];
    const doc = view.state.doc;
    const last = doc.lineAt(Math.max(range.from, range.to - 1)).number;
    for (let n = doc.lineAt(range.from).number; n <= last; n++) {
      extra.push(lockMarker.range(doc.line(n).from));
    }
    return mergeSets(marks, extra);
  },
  initialSpacer: () => new VerdictMarker("valid", ""),
});

function mergeSets(marks, extra) {
  const taken = new Set();
  const all = [];
  const it = marks.iter();
  while (it.value) {
    all.push(it.value.range(it.from));
    taken.add(it.from);
    it.next();
  }
  for (const r of extra) if (!taken.has(r.from)) all.push(r);
  return RangeSet.of(all, true);
}

// -- building the annotations from /api/check's JSON -------------------------------------------
function itemEnd(doc, lineNo) {
  // The last line of the proof item that starts at `lineNo` (its `by:` line and any other
  // continuation lines, which are indented further than the item's "- ").
  const first = doc.line(lineNo).text;
  const dash = first.search(/\S/);
  let end = lineNo;
  for (let n = lineNo + 1; n <= doc.lines; n++) {
    const text = doc.line(n).text;
    if (!text.trim()) break;
    const indent = text.search(/\S/);
    if (indent <= dash || text.trimStart().startsWith("#")) break;
    end = n;
  }
  return end;
}

function stripCounterexample(message, cex) {
  if (!cex || typeof message !== "string") return message || "";
  const at = message.indexOf("; counterexample at ");
  return at >= 0 ? message.slice(0, at) : message;
}

function stepTitle(step) {
  const parts = [`step ${step.index}: ${step.status}`];
  if (step.by && step.by.length) parts.push("by " + step.by.join(", "));
  if (step.checked_by && step.checked_by.length) parts.push("[" + step.checked_by.join(", ") + "]");
  if (step.evidence && step.evidence !== "false") parts.push(step.evidence);
  if (step.evidence === "probabilistic" && step.error_bound !== undefined) {
    parts.push("chance of error below " + Number(step.error_bound).toExponential(0));
  }
  if (step.message && !FAILING.has(step.status)) parts.push(step.message);
  return parts.join(" · ");
}

function buildAnnotations(doc, report) {
  const decos = [];
  const marks = [];
  const lineOk = (n) => Number.isInteger(n) && n >= 1 && n <= doc.lines;
  const files = (report && Array.isArray(report.files)) ? report.files : [];
  for (const file of files) {
    for (const step of file.steps || []) {
      if (!lineOk(step.line)) continue;
      const line = doc.line(step.line);
      marks.push(new VerdictMarker(step.status, stepTitle(step), step.line).range(line.from));
      const failing = step.status !== "valid"; // every verdict but valid fails the proof
      const warned = step.warnings && step.warnings.length;
      const endNo = itemEnd(doc, step.line);
      const cls = !failing ? (warned ? "cm-step-warning" : "cm-step-valid")
        : "cm-step-" + (FAILING.has(step.status) ? step.status : "other");
      for (let n = step.line; n <= endNo; n++) {
        decos.push(Decoration.line({
          class: cls, attributes: { "data-verdict": step.status, "data-step": String(step.index) },
        }).range(doc.line(n).from));
      }
      if (!failing && !warned) continue;
      if (failing && Number.isInteger(step.column) && step.column >= 1) {
        const from = Math.min(line.from + step.column - 1, line.to);
        if (from < line.to) decos.push(Decoration.mark({ class: "cm-failing-expr" }).range(from, line.to));
      }
      decos.push(Decoration.widget({
        widget: new NoteWidget({
          kind: failing ? (FAILING.has(step.status) ? step.status : "other") : "warning",
          line: step.line,
          label: `step ${step.index} ${failing ? step.status : "warning"}:`,
          message: failing ? stripCounterexample(step.message, step.counterexample)
            : step.warnings.join("; "),
          counterexample: step.counterexample || null,
          help: step.help || "",
          suggestion: Array.isArray(step.suggestion) ? step.suggestion : [],
          warnings: failing ? step.warnings || [] : [],
        }),
        block: true, side: 1,
      }).range(doc.line(endNo).to));
    }
    if (file.message) {
      // A file-level problem: at its line and column where it has one (status error), else
      // (an incomplete chain) under the last step.
      let lineNo = lineOk(file.line) ? file.line : null;
      const atLine = lineNo !== null;
      if (!atLine) {
        const steps = (file.steps || []).filter((s) => lineOk(s.line));
        lineNo = steps.length ? itemEnd(doc, steps[steps.length - 1].line) : doc.lines;
      }
      const line = doc.line(lineNo);
      const kind = file.status === "error" ? "error" : "incomplete";
      if (atLine) {
        marks.push(new VerdictMarker("error", "file error: " + file.message, lineNo).range(line.from));
        decos.push(Decoration.line({
          class: "cm-step-error", attributes: { "data-verdict": "error", "data-step": "file" },
        }).range(line.from));
        const col = Number.isInteger(file.column) && file.column >= 1 ? file.column : 1;
        const from = Math.min(line.from + col - 1, line.to);
        if (from < line.to) decos.push(Decoration.mark({ class: "cm-failing-expr" }).range(from, line.to));
      }
      decos.push(Decoration.widget({
        widget: new NoteWidget({
          kind, line: lineNo,
          label: atLine ? `line ${lineNo}, column ${file.column || 1}:` : "the proof:",
          message: file.message, counterexample: null, help: "", suggestion: [], warnings: [],
        }),
        block: true, side: 1,
      }).range(line.to));
    }
  }
  marks.sort((a, b) => a.from - b.from);
  // one mark a line: the first failing one wins
  const byLine = new Map();
  for (const m of marks) {
    const prev = byLine.get(m.from);
    if (!prev || (prev.value.status === "valid" && m.value.status !== "valid")) byLine.set(m.from, m);
  }
  return {
    decorations: Decoration.set(decos, true),
    marks: RangeSet.of([...byLine.values()], true),
  };
}

// -- the page's state ---------------------------------------------------------------------------
const state = {
  info: null,
  examples: [],
  rules: null,
  assignment: null,
  problem: null, // the chosen problem of the assignment, or null (free practice)
  derived: null,
  seq: 0,
  applied: 0,
  controller: null,
  timer: null,
  retryTimer: null,
};

let view;

function flashLocked() {
  setStatus("locked", "The assignment's claim and declarations are read-only; edit the proof below them.");
}

function setStatus(kind, verdict, detail = "") {
  const v = $("status-verdict");
  v.textContent = verdict;
  v.className = "verdict " + kind;
  $("status-detail").textContent = detail;
  $("status").dataset.state = kind;
}

function summaryText(report) {
  const s = report.summary || {};
  const files = s.files ?? (report.files || []).length;
  return `${files} file${files === 1 ? "" : "s"}: ${s.valid ?? 0} valid, ${s.invalid ?? 0} invalid, ${s.error ?? 0} error`;
}

function fileVerdict(report) {
  const files = report.files || [];
  if (!files.length) return { kind: "error", text: "nothing to check" };
  const parts = [];
  let kind = "valid";
  for (const f of files) {
    const steps = f.steps || [];
    const counts = {};
    for (const s of steps) counts[s.status] = (counts[s.status] || 0) + 1;
    let text = `${f.status}: ${steps.length} step${steps.length === 1 ? "" : "s"}`;
    const failing = Object.entries(counts).filter(([k]) => k !== "valid")
      .map(([k, n]) => `${n} ${k}`);
    if (failing.length) text += " (" + failing.join(", ") + ")";
    if (f.assumptions && f.assumptions.length) text += ", assuming " + f.assumptions.join(", ");
    if (f.message) text += " — " + f.message;
    for (const w of Array.isArray(f.warnings) ? f.warnings : []) text += " ⚠ " + w;
    if (files.length > 1) text = (f.claim || f.path) + ": " + text;
    parts.push(text);
    if (f.status === "error") kind = "error";
    else if (f.status !== "valid" && kind !== "error") kind = "invalid";
  }
  return { kind, text: parts.join("; ") };
}

function applyReport(report) {
  state.applied += 1; // how many answers the page has shown (the browser tests wait on it)
  $("status").dataset.checks = String(state.applied);
  view.dispatch({ effects: setAnnotations.of(buildAnnotations(view.state.doc, report)) });
  const v = fileVerdict(report);
  const claims = (report.files || []).map((f) => f.claim).filter(Boolean);
  setStatus(v.kind, v.text, (claims.length === 1 ? claims[0] + " · " : "") + summaryText(report));
}

function showGrade(answer) {
  const box = $("grade-result");
  box.hidden = false;
  $("grade-score").textContent = `${fmtNum(answer.score)} / ${fmtNum(answer.points)}`;
  const badge = $("grade-status");
  badge.textContent = String(answer.status);
  badge.className = "badge " + String(answer.status).replace(/[^a-z-]/gi, "");
  const reason = $("grade-reason");
  reason.hidden = !answer.reason;
  reason.textContent = answer.reason || "";
  const notes = Array.isArray(answer.notes) ? answer.notes : [];
  $("grade-feedback").textContent = [answer.feedback || "", ...notes].filter(Boolean).join("\n");
}

function fmtNum(x) {
  const n = Number(x);
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : String(x);
}

// -- checking as the student types -------------------------------------------------------------
function scheduleCheck(delay = DEBOUNCE_MS) {
  clearTimeout(state.timer);
  clearTimeout(state.retryTimer);
  if (state.controller) state.controller.abort(); // its text is stale now
  state.controller = null;
  state.timer = setTimeout(runCheck, delay);
}

async function runCheck() {
  clearTimeout(state.timer);
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const seq = ++state.seq;
  const text = view.state.doc.toString();
  const problem = state.problem;
  const body = problem ? JSON.stringify({ problem: problem.id, text }) : text;
  const limit = state.info && state.info.limits && state.info.limits.max_bytes;
  const size = new TextEncoder().encode(body).length;
  if (limit && size > limit) { // the server would refuse it (413): not sent
    state.controller = null;
    setStatus("failed", "not checked", `too large: the proof is ${size.toLocaleString("en")} bytes; ` +
      `the server checks up to ${limit.toLocaleString("en")}`);
    return;
  }
  setStatus("checking", "checking…", "");
  try {
    let report;
    if (problem) {
      const answer = await api("/api/grade", {
        method: "POST", type: "application/json", signal: controller.signal, body,
      });
      if (seq !== state.seq || controller.signal.aborted) return;
      showGrade(answer);
      report = answer.check;
    } else {
      report = await api("/api/check", {
        method: "POST", type: "text/plain;charset=utf-8", body, signal: controller.signal,
      });
    }
    // an answer to anything but the latest request, or for another text, is dropped
    if (seq !== state.seq || controller.signal.aborted || view.state.doc.toString() !== text) return;
    applyReport(report);
  } catch (exc) {
    if (exc && exc.name === "AbortError") return;
    if (seq !== state.seq) return;
    if (!(exc instanceof ApiError)) throw exc;
    setStatus("failed", "not checked", describeError(exc));
    if ([429, 503].includes(exc.status)) {
      const wait = Math.min(30, Math.max(1, exc.retryAfter || 2));
      $("status-detail").textContent += ` — trying again in ${wait} s`;
      state.retryTimer = setTimeout(() => runCheck(), wait * 1000);
    }
  } finally {
    if (state.controller === controller) state.controller = null;
  }
}

// -- loading files into the editor -------------------------------------------------------------
function loadText(text, { lockLines = null, check = true } = {}) {
  const doc = EditorState.create({ doc: text }).doc;
  let range = null;
  if (lockLines && lockLines.length === 2) {
    const first = Math.max(1, Math.min(lockLines[0], doc.lines));
    const last = Math.max(first, Math.min(lockLines[1], doc.lines));
    range = { from: doc.line(first).from, to: Math.min(doc.length, doc.line(last).to + 1) };
  }
  view.dispatch({
    changes: { from: 0, to: view.state.doc.length, insert: text },
    effects: [setLock.of(range), setAnnotations.of(emptyAnnotations)],
    userEvent: "load",
    selection: { anchor: range ? Math.min(doc.length, range.to) : 0 },
    scrollIntoView: true,
  });
  if (check) scheduleCheck(0);
}

function loadExample(name) {
  const ex = state.examples.find((e) => e.name === name);
  if (!ex) return false;
  forgetFragment();
  leaveProblem();
  loadText(ex.text);
  $("example-select").value = name;
  return true;
}

function leaveProblem() {
  if (!state.problem) return;
  state.problem = null;
  $("problem-select").value = "";
  $("problem-info").hidden = true;
  $("grade-result").hidden = true;
}

// -- share links: the proof in the URL's fragment (never sent to the server) ---------------------
function b64url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(text) {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function pipe(bytes, stream) {
  const blob = new Blob([bytes]);
  return new Uint8Array(await new Response(blob.stream().pipeThrough(stream)).arrayBuffer());
}

// The most a link's proof may hold: what the server checks (a text over it cannot be checked).
// A few kilobytes of deflate can stand for gigabytes: the text is inflated up to this and no
// further, so a hostile link cannot make the page hang or run out of memory.
function fragmentLimit() {
  const limit = state.info && state.info.limits && Number(state.info.limits.max_bytes);
  return limit > 0 ? limit : 262144;
}

class TooLarge extends Error {}

async function inflateCapped(bytes, limit) {
  const reader = new Blob([bytes]).stream()
    .pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw new TooLarge(`over ${limit.toLocaleString("en")} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Once the page holds a text other than the link's (an edit, another problem or example), the
// address no longer names what is shown: the fragment is dropped, so that a reload brings back
// the latest draft rather than the old link's text over it.
function forgetFragment() {
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

async function encodeProof(text) {
  const raw = new TextEncoder().encode(text);
  if (typeof CompressionStream === "function") {
    try {
      return "z=" + b64url(await pipe(raw, new CompressionStream("deflate-raw")));
    } catch (exc) { /* fall through to the plain form */ }
  }
  return "proof=" + b64url(raw);
}

async function decodeFragment(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const problem = params.get("problem");
  const limit = fragmentLimit();
  if (params.has("z")) {
    const bytes = await inflateCapped(unb64url(params.get("z")), limit);
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), problem };
  }
  if (params.has("proof")) {
    const bytes = unb64url(params.get("proof"));
    if (bytes.length > limit) throw new TooLarge(`over ${limit.toLocaleString("en")} bytes`);
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), problem };
  }
  return null;
}

async function share() {
  const text = view.state.doc.toString();
  let frag = await encodeProof(text);
  if (state.problem) frag += "&problem=" + encodeURIComponent(state.problem.id);
  const url = location.origin + location.pathname + "#" + frag;
  history.replaceState(null, "", "#" + frag);
  const row = $("share-row");
  row.hidden = false;
  const input = $("share-link");
  input.value = url;
  input.focus();
  input.select();
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(url);
      copied = true;
    }
  } catch (exc) { /* not allowed: the link stays selected for Ctrl+C */ }
  $("share-state").textContent = copied ? "copied to the clipboard" : "press Ctrl+C to copy";
}

async function loadFromFragment() {
  if (!location.hash || location.hash.length < 3) return false;
  let got;
  try {
    got = await decodeFragment(location.hash);
  } catch (exc) {
    // the message stays (nothing else is loaded over it)
    leaveProblem();
    loadText("", { check: false });
    if (exc instanceof TooLarge) {
      setStatus("failed", "the link's proof is too large", exc.message + ": the server checks up to " +
        fragmentLimit().toLocaleString("en") + " bytes");
    } else {
      setStatus("failed", "the link's proof cannot be read", "the text after # is damaged");
    }
    return true;
  }
  if (!got) return false;
  const p = got.problem && state.assignment
    ? state.assignment.problems.find((q) => q.id === got.problem) : null;
  if (p) {
    chooseProblem(p.id, got.text);
  } else {
    leaveProblem();
    loadText(got.text);
  }
  $("example-select").value = "";
  return true;
}

// -- rules ---------------------------------------------------------------------------------------
async function openRules() {
  const dialog = $("rules-dialog");
  if (!dialog.open) dialog.showModal();
  $("rules-filter").focus();
  if (!state.rules) $("rules-count").textContent = "loading the rules…";
  try {
    await loadRules();
  } catch (exc) {
    $("rules-count").textContent = "the rules could not be loaded: " + describeError(exc);
    return;
  }
  renderRules();
}

let rulesLoading = null;
function loadRules() {
  if (state.rules) return Promise.resolve(state.rules);
  if (!rulesLoading) {
    rulesLoading = api("/api/rules").then((d) => {
      state.rules = d.rules || [];
      return state.rules;
    }).finally(() => { rulesLoading = null; });
  }
  return rulesLoading;
}

function renderRules() {
  const list = $("rules-list");
  const words = $("rules-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  list.replaceChildren();
  let shown = 0;
  for (const r of state.rules || []) {
    const hay = [r.id, ...(r.aliases || []), r.kind, r.statement, r.summary, r.source]
      .filter(Boolean).join(" ").toLowerCase();
    if (!words.every((w) => hay.includes(w))) continue;
    shown++;
    const item = el("li", { class: "rule", "data-id": r.id },
      el("div", { class: "rule-head" },
        el("code", { class: "rule-id" }, r.id),
        r.kind ? el("span", { class: "rule-kind" }, r.kind) : null,
        (r.aliases && r.aliases.length)
          ? el("span", { class: "rule-aliases" }, "also: " + r.aliases.join(", ")) : null),
      r.statement ? el("pre", { class: "rule-statement" }, r.statement) : null,
      r.summary ? el("p", { class: "rule-summary" }, r.summary) : null,
      r.source ? el("p", { class: "rule-source" }, r.source) : null);
    list.append(item);
  }
  const total = (state.rules || []).length;
  $("rules-count").textContent = words.length ? `${shown} of ${total} rules` : `${total} rules`;
}

// -- derive ---------------------------------------------------------------------------------------
async function derive(event) {
  event.preventDefault();
  const err = $("derive-error");
  const result = $("derive-result");
  err.hidden = true;
  const body = {
    function: $("derive-function").value.trim(),
    wrt: $("derive-wrt").value.trim(),
    variables: $("derive-variables").value.split("\n").map((s) => s.trim()).filter(Boolean),
    layout: $("derive-layout").value,
  };
  const button = $("derive-button");
  button.disabled = true;
  button.textContent = "Deriving…";
  try {
    const answer = await api("/api/derive", {
      method: "POST", type: "application/json", body: JSON.stringify(body),
    });
    state.derived = answer;
    $("derive-answer").replaceChildren(
      el("span", { class: "label" }, `∂(${body.function})/∂${answer.wrt} =`), " ",
      el("code", { id: "derive-derivative" }, answer.derivative),
      el("span", { class: "note" }, ` (${answer.layout} layout)`));
    const inv = answer.assume && Array.isArray(answer.assume.invertible) ? answer.assume.invertible : [];
    if (inv.length) {
      $("derive-answer").append(el("span", { class: "note assume" },
        " assuming " + inv.join(", ") + " invertible"));
    }
    result.hidden = false;
  } catch (exc) {
    if (!(exc instanceof ApiError)) throw exc;
    state.derived = null;
    result.hidden = true;
    err.textContent = describeError(exc);
    err.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = "Derive";
  }
}

function loadDerived() {
  if (!state.derived) return;
  forgetFragment();
  leaveProblem();
  loadText(state.derived.proof);
  $("example-select").value = "";
  view.focus();
}

// -- assignment mode -----------------------------------------------------------------------------
async function setUpAssignment() {
  let a;
  try {
    a = await api("/api/assignment");
  } catch (exc) {
    return;
  }
  state.assignment = a;
  $("assignment-panel").hidden = false;
  $("assignment-title").textContent = a.title || a.assignment || "";
  const select = $("problem-select");
  select.replaceChildren(el("option", { value: "" }, "— free practice (not graded) —"));
  for (const p of a.problems || []) {
    select.append(el("option", { value: p.id },
      `${p.id}${p.title ? ": " + p.title : ""} (${fmtNum(p.points)} points)`));
  }
}

// A problem's draft is kept in this browser (localStorage) so that a reload loses nothing.
function draftKey(p) {
  return `prove.draft.${state.assignment.assignment || state.assignment.title}.${p.id}`;
}

function saveDraft() {
  const p = state.problem;
  if (!p) return;
  try {
    localStorage.setItem(draftKey(p), view.state.doc.toString());
  } catch (exc) { /* storage full or off: nothing kept */ }
}

function readDraft(p) {
  try {
    const text = localStorage.getItem(draftKey(p));
    const head = p.starter.split("\n").slice(0, p.locked_lines[1]).join("\n") + "\n";
    return text && text.startsWith(head) && text !== p.starter ? text : null;
  } catch (exc) {
    return null;
  }
}

function startOver() {
  const p = state.problem;
  if (!p) return;
  try {
    localStorage.removeItem(draftKey(p));
  } catch (exc) { /* nothing kept */ }
  loadText(p.starter, { lockLines: p.locked_lines });
  view.focus();
}

function chooseProblem(id, text = null) {
  const p = state.assignment && state.assignment.problems.find((q) => q.id === id);
  if (!p) {
    forgetFragment();
    leaveProblem();
    scheduleCheck(0);
    return;
  }
  state.problem = p;
  $("problem-select").value = p.id;
  $("problem-info").hidden = false;
  $("problem-claim").textContent = p.claim;
  $("problem-points").textContent = fmtNum(p.points);
  $("problem-rules-row").hidden = !p.allowed_rules;
  $("problem-rules").textContent = p.allowed_rules ? p.allowed_rules.join(", ") : "";
  $("grade-result").hidden = true;
  $("example-select").value = "";
  let body = readDraft(p) || p.starter;
  if (text === null) forgetFragment(); // chosen by hand, not by a link
  if (text !== null) {
    // a shared link's text: keep the starter's locked header, take the rest from the link
    const lines = text.split("\n");
    const head = p.starter.split("\n").slice(0, p.locked_lines[1]);
    body = head.join("\n") + "\n" + lines.slice(p.locked_lines[1]).join("\n");
  }
  loadText(body, { lockLines: p.locked_lines });
  view.focus();
}

// -- completing rule names after by: ------------------------------------------------------------
function completeRules(context) {
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  if (!/^\s*(-\s+)?by:\s*(\[[^\]]*)?[\w-]*$/.test(before)) return null;
  const word = context.matchBefore(/[\w-]*/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  if (!state.rules) return loadRules().then(() => completeRules(context), () => null);
  const options = [];
  for (const r of state.rules) {
    options.push({ label: r.id, type: "keyword", detail: r.statement || "", info: r.summary || "" });
    for (const a of r.aliases || []) {
      options.push({ label: a, type: "variable", detail: "= " + r.id, info: r.summary || "" });
    }
  }
  return { from: word.from, options, validFor: /^[\w-]*$/ };
}

// -- start ---------------------------------------------------------------------------------------
function makeEditor() {
  const checkNow = () => {
    scheduleCheck(0);
    return true;
  };
  // CodeMirror in a shadow root: there it adopts its generated styles as constructable
  // stylesheets (which the CSP allows) instead of adding a <style> element (which it refuses).
  const host = $("editor");
  const shadow = host.attachShadow({ mode: "open" });
  shadow.append(el("link", { rel: "stylesheet", href: "/static/editor.css" }));
  const mount = el("div", { class: "editor-root" });
  shadow.append(mount);
  view = new EditorView({
    root: shadow,
    parent: mount,
    state: EditorState.create({
      doc: "",
      extensions: [
        keymap.of([{ key: "Mod-Enter", run: checkNow }]),
        basicSetup,
        yaml(),
        EditorState.languageData.of(() => [{ autocomplete: completeRules }]),
        annotations,
        lock,
        lockFilter,
        verdictGutter,
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": "Proof file (YAML)" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !u.transactions.some((t) => t.isUserEvent("load"))) {
            forgetFragment();
            scheduleCheck();
            saveDraft();
          }
        }),
      ],
    }),
  });
}

async function start() {
  makeEditor();
  $("rules-button").addEventListener("click", openRules);
  $("rules-close").addEventListener("click", () => $("rules-dialog").close());
  $("rules-filter").addEventListener("input", renderRules);
  $("rules-filter").addEventListener("keydown", (e) => {
    if (e.key === "Escape") { // closes the dialog at once (a search box would first clear itself)
      e.preventDefault();
      $("rules-dialog").close();
    }
  });
  $("rules-dialog").addEventListener("close", () => $("rules-button").focus());
  $("rules-dialog").addEventListener("click", (e) => {
    if (e.target === $("rules-dialog")) $("rules-dialog").close(); // a click on the backdrop
  });
  $("share-button").addEventListener("click", () => { share(); });
  $("check-button").addEventListener("click", () => scheduleCheck(0));
  $("derive-form").addEventListener("submit", derive);
  $("derive-load").addEventListener("click", loadDerived);
  $("example-select").addEventListener("change", (e) => {
    if (e.target.value) loadExample(e.target.value);
  });
  $("problem-select").addEventListener("change", (e) => chooseProblem(e.target.value));
  $("start-over").addEventListener("click", startOver);
  window.addEventListener("hashchange", () => { loadFromFragment(); });

  try {
    state.info = await api("/api/info");
    $("version").textContent = "prove " + state.info.version;
  } catch (exc) {
    setStatus("failed", "the server cannot be reached", describeError(exc));
  }
  const examples = api("/api/examples").then((d) => {
    state.examples = d.examples || [];
    const select = $("example-select");
    select.replaceChildren(el("option", { value: "" }, "— choose an example —"));
    const groups = new Map(); // by folder: the course's proofs first, then ml/ …
    for (const ex of state.examples) {
      const dir = String(ex.path || "").includes("/") ? ex.path.split("/")[0] : "";
      if (!groups.has(dir)) groups.set(dir, []);
      groups.get(dir).push(el("option", { value: ex.name },
        ex.title ? `${ex.name}: ${ex.title}` : ex.name));
    }
    for (const [dir, options] of groups) {
      if (groups.size === 1) select.append(...options);
      else select.append(el("optgroup", { label: dir || "proofs" }, ...options));
    }
  }).catch((exc) => {
    $("example-select").replaceChildren(el("option", { value: "" }, "(examples unavailable)"));
  });
  if (state.info && state.info.assignment) await setUpAssignment();
  await examples;
  if (!(await loadFromFragment())) {
    if (!loadExample(DEFAULT_EXAMPLE) && state.examples.length) loadExample(state.examples[0].name);
  }
  document.body.dataset.ready = "true";
}

start();
