// kbroker console: pages drawn from the broker's JSON (/api/...), refreshed by polling.
// Every text that comes from the broker (topic names, keys, values, headers) is put in the
// page as a text node: nothing a record holds is ever read as markup.
"use strict";

const REFRESH_MS = Number(new URLSearchParams(location.search).get("refresh")) || 2000;
const COLORS = ["#2f6fdb", "#1e8449", "#c0392b", "#8e44ad", "#d68910", "#17a589", "#5d6d7e", "#cb4335"];

// -- small helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function fmtInt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); }
function fmtBytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
}
function fmtRate(n, unit) { return (n >= 100 ? Math.round(n) : Number(n).toFixed(1)) + " " + unit + "/s"; }
function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 0) return "forever";
  const s = ms / 1000;
  if (s < 120) return s + " s";
  if (s < 7200) return (s / 60).toFixed(s % 60 ? 1 : 0) + " min";
  if (s < 172800) return (s / 3600).toFixed(s % 3600 ? 1 : 0) + " h";
  return (s / 86400).toFixed(s % 86400 ? 1 : 0) + " d";
}
function fmtDuration(seconds) {
  const s = Math.floor(seconds), d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600),
    mm = Math.floor(s % 3600 / 60), ss = s % 60;
  return (d ? d + "d " : "") + (d || hh ? hh + "h " : "") + (d || hh || mm ? mm + "m " : "") + ss + "s";
}
function fmtTime(ms) { return ms < 0 ? "–" : new Date(ms).toISOString().replace("T", " ").replace("Z", ""); }
function b64bytes(value) {
  const raw = atob(value.b64), out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
const decoder = new TextDecoder("utf-8", { fatal: false });
function asText(value) { return decoder.decode(b64bytes(value)); }
function asHex(value) {
  return Array.from(b64bytes(value), b => b.toString(16).padStart(2, "0")).join(" ");
}
function asJson(value) {
  const text = asText(value);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}
function enc(part) { return encodeURIComponent(part); }

async function api(path, options) {
  const init = Object.assign({ headers: {} }, options || {});
  if (init.body !== undefined && typeof init.body !== "string") {
    init.body = JSON.stringify(init.body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (!response.ok) throw new Error((data && data.error) || response.status + " " + response.statusText);
  return data;
}

function toast(message, bad) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = "toast" + (bad ? " bad" : "");
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

function card(label, value, test, small) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label),
    h("div", { class: "value" + (small ? " small" : ""), "data-test": test }, value));
}

function table(columns, rows, test) {
  return h("table", { "data-test": test },
    h("thead", {}, h("tr", {}, columns.map(c => h("th", { class: c.num ? "num" : "" }, c.label)))),
    h("tbody", {}, rows.length ? rows.map(row => h("tr", {}, columns.map(c => {
      const content = c.render(row);
      return h("td", { class: c.num ? "num" : (c.cls || ""), "data-col": c.key || null }, content);
    }))) : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "None."))));
}

function badgeFor(state) {
  const s = String(state).toLowerCase();
  const kind = s === "stable" ? "good" : (s === "empty" || s === "dead") ? "" : "warn";
  return h("span", { class: "badge " + kind, "data-test": "group-state" }, state);
}

// -- a small line chart ----------------------------------------------------------------------

function drawChart(canvas, series, options) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600, height = canvas.clientHeight || 240;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  const pad = { left: 64, right: 12, top: 10, bottom: 24 };
  const points = series.flatMap(s => s.points);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#6b7385";
  if (!points.length) { ctx.fillText("No samples yet.", pad.left, height / 2); return; }
  const t0 = Math.min(...points.map(p => p.t)), t1 = Math.max(...points.map(p => p.t), t0 + 1000);
  const vmax = niceMax(Math.max(...points.map(p => p.v)));
  const x = t => pad.left + (t - t0) / (t1 - t0) * (width - pad.left - pad.right);
  const y = v => height - pad.bottom - v / vmax * (height - pad.top - pad.bottom);
  ctx.strokeStyle = "#e2e5eb"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = vmax * i / 4, yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.left, yy); ctx.lineTo(width - pad.right, yy); ctx.stroke();
    ctx.fillText(options.format(v), 4, yy + 4);
  }
  const span = (t1 - t0) / 1000;
  ctx.fillText(new Date(t0).toLocaleTimeString(), pad.left, height - 6);
  const end = new Date(t1).toLocaleTimeString();
  ctx.fillText(end, width - pad.right - ctx.measureText(end).width, height - 6);
  ctx.fillText(fmtDuration(span), (width - ctx.measureText(fmtDuration(span)).width) / 2, height - 6);
  series.forEach(s => {
    if (!s.points.length) return;
    ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
    s.points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p.v)) : ctx.moveTo(x(p.t), y(p.v))));
    ctx.stroke();
  });
}

function niceMax(v) {
  // the top of the axis: 4 ticks of a round step (1, 2 or 5 times a power of ten), at least 4
  if (!(v > 4)) return 4;
  const rough = v / 4, power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= rough);
  return step * 4;
}

function legend(series) {
  return h("div", { class: "legend" }, series.map(s => {
    const swatch = h("i", {});
    swatch.style.background = s.color;    // through the CSSOM: the page's CSP allows no style attributes
    return h("span", {}, swatch, s.label);
  }));
}

// -- pages -----------------------------------------------------------------------------------

const pages = {};
let current = null;      // {render, refresh}
let timer = null;

pages.overview = async function () {
  const root = h("div", {});
  const cards = h("div", { class: "cards" });
  const canvas = h("canvas", { class: "chart", "data-test": "throughput-chart" });
  const canvasMsgs = h("canvas", { class: "chart", "data-test": "messages-chart" });
  const bytesSeries = [{ label: "bytes in/s", color: COLORS[0] }, { label: "bytes out/s", color: COLORS[1] }];
  const msgSeries = [{ label: "messages in/s", color: COLORS[3] }];
  root.append(h("h1", {}, "Overview", h("span", { class: "sub", "data-test": "cluster" }, "")), cards,
    h("div", { class: "split" },
      h("div", { class: "panel" }, h("h2", {}, "Throughput (bytes)"), canvas, legend(bytesSeries)),
      h("div", { class: "panel" }, h("h2", {}, "Throughput (messages)"), canvasMsgs, legend(msgSeries))));
  async function refresh() {
    const o = await api("/api/overview");
    root.querySelector("[data-test=cluster]").textContent =
      "node " + o.node_id + " · cluster " + o.cluster_id + " · kbroker " + o.version;
    const last = o.throughput.length ? o.throughput[o.throughput.length - 1] : { messages_in: 0, bytes_in: 0, bytes_out: 0 };
    cards.replaceChildren(
      card("Uptime", fmtDuration(o.uptime_s), "uptime"),
      card("Kafka listener", (o.listening ? "" : "paused · ") + o.listener, "listener", true),
      card("Topics", fmtInt(o.topics), "topic-count"),
      card("Partitions", fmtInt(o.partitions), "partition-count"),
      card("Internal topics", fmtInt(o.internal_topics) + " (" + fmtInt(o.internal_partitions) + " partitions)",
        "internal", true),
      card("Consumer groups", fmtInt(o.groups), "group-count"),
      card("Connections", fmtInt(o.connections), "connection-count"),
      card("Log size", fmtBytes(o.log_bytes), "log-size"),
      card("Disk free", o.disk ? fmtBytes(o.disk.free) + " of " + fmtBytes(o.disk.total) : "in memory", "disk", true),
      card("In", fmtRate(last.messages_in, "msg") + " · " + fmtRate(last.bytes_in, "B"), "rate-in", true),
      card("Out", fmtRate(last.bytes_out, "B"), "rate-out", true),
      card("Messages in (total)", fmtInt(o.messages_in), "messages-in"));
    bytesSeries[0].points = o.throughput.map(s => ({ t: s.time, v: s.bytes_in }));
    bytesSeries[1].points = o.throughput.map(s => ({ t: s.time, v: s.bytes_out }));
    msgSeries[0].points = o.throughput.map(s => ({ t: s.time, v: s.messages_in }));
    drawChart(canvas, bytesSeries, { format: v => fmtBytes(Math.round(v)) });
    drawChart(canvasMsgs, msgSeries, { format: v => fmtInt(Math.round(v)) });
  }
  return { root, refresh };
};

pages.topics = async function () {
  const root = h("div", {});
  const filter = h("input", { placeholder: "filter by name", "data-test": "topic-filter" });
  const showInternal = h("input", { type: "checkbox" });
  const list = h("div", {});
  const form = h("form", { class: "grid", "data-test": "create-topic" },
    h("label", {}, "Name", h("input", { name: "name", required: true, pattern: "[a-zA-Z0-9._\\-]+" })),
    h("label", {}, "Partitions", h("input", { name: "partitions", type: "number", min: 1, value: 1 })),
    h("label", { class: "wide" }, "Configs (key=value per line)",
      h("textarea", { name: "configs", placeholder: "retention.ms=86400000" })),
    h("div", {}, h("button", { type: "submit" }, "Create topic")));
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const data = new FormData(form);
    const configs = {};
    for (const line of String(data.get("configs")).split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) configs[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    try {
      await api("/api/topics", { method: "POST", body: { name: data.get("name"),
        partitions: Number(data.get("partitions")), configs } });
      toast("Created topic " + data.get("name"));
      form.reset();
      await refresh();
    } catch (e) { toast(e.message, true); }
  });
  root.append(h("h1", {}, "Topics"),
    h("div", { class: "toolbar" }, h("label", {}, "Filter", filter),
      h("label", {}, "Internal topics", showInternal)),
    list, h("h2", {}, "Create a topic"), h("div", { class: "panel" }, form));
  let topics = [];
  function draw() {
    const text = filter.value.toLowerCase();
    const rows = topics.filter(t => (showInternal.checked || !t.internal) && t.name.toLowerCase().includes(text));
    list.replaceChildren(table([
      { label: "Topic", key: "name", render: t => h("a", { href: "#/topics/" + enc(t.name) }, t.name) },
      { label: "Partitions", key: "partitions", num: true, render: t => fmtInt(t.partitions) },
      { label: "Messages", key: "messages", num: true, render: t => fmtInt(t.messages) },
      { label: "Size", key: "size", num: true, render: t => fmtBytes(t.size) },
      { label: "Retention", key: "retention", render: t => fmtMs(t.retention_ms) +
          (t.retention_bytes >= 0 ? " / " + fmtBytes(t.retention_bytes) : "") },
      { label: "Cleanup", key: "cleanup", render: t => t.cleanup_policy },
      { label: "", key: "browse", render: t => h("a", { href: "#/messages/" + enc(t.name) }, "messages") },
    ], rows, "topics-table"));
  }
  filter.addEventListener("input", draw);
  showInternal.addEventListener("change", draw);
  async function refresh() { topics = (await api("/api/topics")).topics; draw(); }
  return { root, refresh };
};

pages.topic = async function (name) {
  const root = h("div", {});
  const cards = h("div", { class: "cards" });
  const partitions = h("div", {});
  const configs = h("div", {});
  const remove = h("button", { class: "danger", "data-test": "delete-topic" }, "Delete topic");
  remove.addEventListener("click", async () => {
    if (!confirm("Delete topic " + name + " and all its messages?")) return;
    try {
      await api("/api/topics/" + enc(name), { method: "DELETE" });
      toast("Deleted topic " + name);
      location.hash = "#/topics";
    } catch (e) { toast(e.message, true); }
  });
  root.append(h("h1", {}, "Topic ", h("span", { "data-test": "topic-name" }, name),
    h("a", { href: "#/messages/" + enc(name), class: "sub" }, "browse messages →"), remove),
    cards, h("h2", {}, "Partitions"), partitions, h("h2", {}, "Configs"),
    h("p", { class: "muted" }, "Changed through IncrementalAlterConfigs, as an admin client would."), configs);
  let editing = false;
  async function save(key, input) {
    try {
      await api("/api/topics/" + enc(name) + "/configs", { method: "POST", body: { set: { [key]: input.value } } });
      toast("Set " + key + " = " + input.value);
    } catch (e) { toast(e.message, true); }
    editing = false;
    await refresh();
  }
  async function reset(key) {
    try {
      await api("/api/topics/" + enc(name) + "/configs", { method: "POST", body: { delete: [key] } });
      toast("Reset " + key + " to its default");
    } catch (e) { toast(e.message, true); }
    await refresh();
  }
  async function refresh() {
    if (editing) return;
    const t = await api("/api/topics/" + enc(name));
    cards.replaceChildren(card("Partitions", fmtInt(t.partitions), "partitions"),
      card("Messages", fmtInt(t.messages), "messages"), card("Size", fmtBytes(t.size), "size"),
      card("Retention", fmtMs(t.retention_ms), "retention", true), card("Topic id", t.topic_id, "topic-id", true));
    partitions.replaceChildren(table([
      { label: "Partition", key: "partition", num: true, render: p => p.partition },
      { label: "Earliest offset", key: "earliest", num: true, render: p => fmtInt(p.earliest) },
      { label: "Latest offset", key: "latest", num: true, render: p => fmtInt(p.latest) },
      { label: "Messages", key: "messages", num: true, render: p => fmtInt(p.messages) },
      { label: "Size", key: "size", num: true, render: p => fmtBytes(p.size) },
      { label: "Leader", key: "leader", num: true, render: p => p.leader },
      { label: "Replicas", key: "replicas", render: p => p.replicas.join(", ") },
      { label: "ISR", key: "isr", render: p => p.isr.join(", ") },
    ], t.partition_list, "partitions-table"));
    configs.replaceChildren(table([
      { label: "Config", key: "name", cls: "mono", render: c => h("span", { title: c.doc || "" }, c.name) },
      { label: "Value", key: "value", render: c => {
        const input = h("input", { value: c.value === null ? "" : c.value, "data-config": c.name, size: 28 });
        input.addEventListener("focus", () => { editing = true; });
        input.addEventListener("blur", () => setTimeout(() => { editing = false; }, 300));
        input.addEventListener("keydown", e => { if (e.key === "Enter") save(c.name, input); });
        return h("span", {}, input, " ",
          h("button", { class: "secondary", "data-save": c.name, onclick: () => save(c.name, input) }, "Save"));
      } },
      { label: "Source", key: "source", render: c => h("span", { class: "badge" + (c.source === "topic" ? " good" : "") }, c.source) },
      { label: "", key: "reset", render: c => c.source === "topic"
          ? h("button", { class: "secondary", onclick: () => reset(c.name) }, "Reset") : "" },
    ], t.configs, "configs-table"));
  }
  return { root, refresh };
};

pages.messages = async function (name) {
  const root = h("div", {});
  const info = await api("/api/topics/" + enc(name));
  const partition = h("select", { "data-test": "partition" },
    h("option", { value: "-1" }, "all"), info.partition_list.map(p => h("option", { value: p.partition }, String(p.partition))));
  partition.value = "0";
  const mode = h("select", { "data-test": "mode" }, h("option", { value: "newest" }, "newest"),
    h("option", { value: "end" }, "up to offset"), h("option", { value: "start" }, "from offset"),
    h("option", { value: "time" }, "from time"));
  const offset = h("input", { type: "number", min: 0, placeholder: "offset", "data-test": "offset" });
  const time = h("input", { type: "datetime-local", step: 1, "data-test": "time" });
  const limit = h("select", { "data-test": "limit" }, [20, 50, 100, 200, 500].map(n => h("option", { value: n }, String(n))));
  limit.value = "50";
  const format = h("select", { "data-test": "format" }, h("option", { value: "text" }, "text"),
    h("option", { value: "json" }, "JSON"), h("option", { value: "hex" }, "hex"));
  const search = h("input", { placeholder: "search the loaded messages", "data-test": "search" });
  const live = h("input", { type: "checkbox", checked: true, "data-test": "follow" });
  const status = h("p", { class: "muted", "data-test": "status" });
  const list = h("div", {});
  const load = h("button", { "data-test": "load" }, "Load");
  let loaded = [];

  function show(value) {
    if (value === null) return h("span", { class: "cell null" }, "null");
    const text = format.value === "hex" ? asHex(value) : format.value === "json" ? asJson(value) : asText(value);
    return h("div", { class: "cell" }, text, value.truncated ? h("span", { class: "muted" }, " … (" + fmtBytes(value.size) + ")") : "");
  }
  function matches(m, text) {
    if (!text) return true;
    const parts = [m.key && asText(m.key), m.value && asText(m.value), String(m.offset),
      ...m.headers.map(x => x.key + "=" + (x.value ? asText(x.value) : ""))];
    return parts.some(p => p && p.toLowerCase().includes(text));
  }
  function draw() {
    const text = search.value.toLowerCase();
    const rows = loaded.filter(m => matches(m, text));
    list.replaceChildren(table([
      { label: "Partition", key: "partition", num: true, render: m => m.partition },
      { label: "Offset", key: "offset", num: true, render: m => m.offset },
      { label: "Timestamp", key: "timestamp", cls: "mono", render: m => h("span", { title: m.timestamp_type }, fmtTime(m.timestamp)) },
      { label: "Key", key: "key", render: m => show(m.key) },
      { label: "Value", key: "value", render: m => show(m.value) },
      { label: "Headers", key: "headers", render: m => m.headers.length
          ? h("ul", { class: "headers" }, m.headers.map(x => h("li", { class: "mono" }, x.key + ": ",
              x.value === null ? "null" : asText(x.value)))) : "" },
    ], rows, "messages-table"));
    status.textContent = rows.length + " of " + loaded.length + " loaded messages shown" +
      (text ? " (search: " + search.value + ")" : "");
  }
  let asked = 0;
  async function refresh(force) {
    if (!force && (!live.checked || mode.value !== "newest")) return;
    const mine = ++asked;
    const params = new URLSearchParams({ partition: partition.value, limit: limit.value });
    if (mode.value === "end" && offset.value !== "") params.set("end", offset.value);
    if (mode.value === "start" && offset.value !== "") params.set("start", offset.value);
    if (mode.value === "time" && time.value) params.set("timestamp", String(new Date(time.value + "Z").getTime()));
    const data = await api("/api/topics/" + enc(name) + "/messages?" + params);
    if (mine !== asked) return;      // a later load was asked for meanwhile: its answer wins
    loaded = data.messages;
    draw();
  }
  load.addEventListener("click", () => refresh(true).catch(e => toast(e.message, true)));
  [format].forEach(el => el.addEventListener("change", draw));
  search.addEventListener("input", draw);
  [partition, limit, mode].forEach(el => el.addEventListener("change", () => refresh(true).catch(e => toast(e.message, true))));

  const produce = h("form", { class: "grid", "data-test": "produce" },
    h("label", {}, "Partition", h("select", { name: "partition" }, h("option", { value: "" }, "by key (default partitioner)"),
      info.partition_list.map(p => h("option", { value: p.partition }, String(p.partition))))),
    h("label", {}, "Key", h("input", { name: "key", placeholder: "(none)" })),
    h("label", { class: "wide" }, "Value", h("textarea", { name: "value" })),
    h("label", { class: "wide" }, "Headers (key=value per line)", h("textarea", { name: "headers" })),
    h("div", {}, h("button", { type: "submit" }, "Produce")));
  produce.addEventListener("submit", async event => {
    event.preventDefault();
    const data = new FormData(produce);
    const headers = String(data.get("headers")).split("\n").filter(l => l.includes("=")).map(l => {
      const i = l.indexOf("="); return { key: l.slice(0, i).trim(), value: l.slice(i + 1) };
    });
    const body = { key: data.get("key") === "" ? null : data.get("key"), value: data.get("value"), headers,
      partition: data.get("partition") === "" ? null : Number(data.get("partition")) };
    try {
      const result = await api("/api/topics/" + enc(name) + "/messages", { method: "POST", body });
      toast("Produced to partition " + result.partition + " at offset " + result.offset);
      produce.reset();
      await refresh(true);
    } catch (e) { toast(e.message, true); }
  });
  root.append(h("h1", {}, "Messages of ", h("a", { href: "#/topics/" + enc(name) }, name)),
    h("div", { class: "toolbar" }, h("label", {}, "Partition", partition), h("label", {}, "Show", mode),
      h("label", {}, "Offset", offset), h("label", {}, "Time (UTC)", time), h("label", {}, "Limit", limit), load,
      h("label", {}, "Format", format), h("label", {}, "Search", search), h("label", {}, "Follow newest", live)),
    status, list, h("h2", {}, "Produce a message"), h("div", { class: "panel" }, produce));
  return { root, refresh: () => refresh(false), first: () => refresh(true) };
};

pages.groups = async function () {
  const root = h("div", {});
  const list = h("div", {});
  root.append(h("h1", {}, "Consumer groups"), list);
  async function refresh() {
    const groups = (await api("/api/groups")).groups;
    list.replaceChildren(table([
      { label: "Group", key: "group_id", render: g => h("a", { href: "#/groups/" + enc(g.group_id) }, g.group_id) },
      { label: "Type", key: "type", render: g => g.type },
      { label: "State", key: "state", render: g => badgeFor(g.state) },
      { label: "Members", key: "members", num: true, render: g => fmtInt(g.members) },
      { label: "Topics", key: "topics", render: g => g.topics.join(", ") },
      { label: "Partitions", key: "partitions", num: true, render: g => fmtInt(g.partitions) },
      { label: "Lag", key: "lag", num: true, render: g => h("span", { class: g.lag > 0 ? "lag-bad" : "" }, fmtInt(g.lag)) },
    ], groups, "groups-table"));
  }
  return { root, refresh };
};

pages.group = async function (id) {
  const root = h("div", {});
  const cards = h("div", { class: "cards" });
  const members = h("div", {});
  const partitions = h("div", {});
  const canvas = h("canvas", { class: "chart", "data-test": "lag-chart" });
  const chartLegend = h("div", {});
  const to = h("select", { name: "to", "data-test": "reset-to" }, h("option", { value: "earliest" }, "earliest"),
    h("option", { value: "latest" }, "latest"), h("option", { value: "timestamp" }, "a time"));
  const time = h("input", { type: "datetime-local", step: 1, "data-test": "reset-time" });
  const topic = h("select", { "data-test": "reset-topic" }, h("option", { value: "" }, "every committed topic"));
  const resetButton = h("button", { "data-test": "reset" }, "Reset offsets");
  const deleteButton = h("button", { class: "danger", "data-test": "delete-group" }, "Delete group");
  resetButton.addEventListener("click", async () => {
    const body = { to: to.value };
    if (to.value === "timestamp") body.timestamp = new Date(time.value + "Z").getTime();
    if (topic.value) body.topic = topic.value;
    try {
      await api("/api/groups/" + enc(id) + "/reset", { method: "POST", body });
      toast("Offsets of " + id + " reset to " + to.value);
      await refresh();
    } catch (e) { toast(e.message, true); }
  });
  deleteButton.addEventListener("click", async () => {
    if (!confirm("Delete group " + id + " and its committed offsets?")) return;
    try {
      await api("/api/groups/" + enc(id), { method: "DELETE" });
      toast("Deleted group " + id);
      location.hash = "#/groups";
    } catch (e) { toast(e.message, true); }
  });
  root.append(h("h1", {}, "Group ", h("span", { "data-test": "group-id" }, id)), cards,
    h("div", { class: "panel" }, h("h2", {}, "Lag over time"), canvas, chartLegend),
    h("h2", {}, "Members"), members, h("h2", {}, "Partitions"), partitions,
    h("h2", {}, "Reset offsets or delete (empty groups only)"),
    h("div", { class: "panel toolbar" }, h("label", {}, "To", to), h("label", {}, "Time (UTC)", time),
      h("label", {}, "Topic", topic), resetButton, deleteButton));
  async function refresh() {
    const g = await api("/api/groups/" + enc(id));
    const empty = ["empty", "dead"].includes(g.state.toLowerCase());
    resetButton.disabled = deleteButton.disabled = !empty;
    cards.replaceChildren(card("State", badgeFor(g.state), "state", true), card("Type", g.type, "type", true),
      card("Members", fmtInt(g.members.length), "member-count"), card("Total lag", fmtInt(g.lag), "total-lag"));
    const topics = [...new Set(g.partitions.map(p => p.topic))];
    if (topic.options.length !== topics.length + 1) {
      topic.replaceChildren(h("option", { value: "" }, "every committed topic"), topics.map(t => h("option", { value: t }, t)));
    }
    members.replaceChildren(table([
      { label: "Member", key: "member_id", cls: "mono", render: m => m.member_id },
      { label: "Client id", key: "client_id", render: m => m.client_id },
      { label: "Host", key: "client_host", render: m => m.client_host },
      { label: "Assignment", key: "assignment", render: m => m.assignment.map(a => a.topic + " [" + a.partitions.join(", ") + "]").join("; ") },
    ], g.members, "members-table"));
    partitions.replaceChildren(table([
      { label: "Topic", key: "topic", render: p => h("a", { href: "#/topics/" + enc(p.topic) }, p.topic) },
      { label: "Partition", key: "partition", num: true, render: p => p.partition },
      { label: "Committed", key: "committed", num: true, render: p => fmtInt(p.committed) },
      { label: "Log end", key: "end", num: true, render: p => fmtInt(p.end) },
      { label: "Lag", key: "lag", num: true, render: p => h("span", { class: p.lag > 0 ? "lag-bad" : "" }, fmtInt(p.lag)) },
      { label: "Owner", key: "owner", render: p => p.client_id ? p.client_id + " (" + p.host + ")" : "–" },
    ], g.partitions, "lag-table"));
    const series = [{ label: "total lag", color: COLORS[2], points: g.history.map(s => ({ t: s.time, v: s.lag })) }];
    const perTopic = [...new Set(g.history.flatMap(s => Object.keys(s.topics)))];
    if (perTopic.length > 1) perTopic.slice(0, 6).forEach((name, i) => series.push({ label: name,
      color: COLORS[(i + 3) % COLORS.length], points: g.history.map(s => ({ t: s.time, v: s.topics[name] || 0 })) }));
    drawChart(canvas, series, { format: v => fmtInt(Math.round(v)) });
    chartLegend.replaceChildren(legend(series));
  }
  return { root, refresh };
};

pages.clients = async function () {
  const root = h("div", {});
  const list = h("div", {});
  root.append(h("h1", {}, "Clients", h("span", { class: "sub" }, "metrics pushed by clients (KIP-714)")), list);
  async function refresh() {
    const clients = (await api("/api/clients")).clients;
    if (!clients.length) {
      list.replaceChildren(h("p", { class: "muted", "data-test": "no-clients" },
        "No client has pushed metrics yet (librdkafka 2.5+ and Java clients 3.7+ push them)."));
      return;
    }
    list.replaceChildren(...clients.map(c => h("div", { class: "panel", "data-test": "client" },
      h("h2", {}, h("span", { "data-test": "client-id" }, c.client_id || "(no client id)"),
        h("span", { class: "muted" }, " · " + c.host + " · " + c.client_instance_id)),
      h("p", { class: "muted" }, fmtInt(c.pushes) + " pushes, every " + fmtMs(c.push_interval_ms) +
        (c.last_push_ms ? ", last at " + fmtTime(c.last_push_ms) : "")),
      table([
        { label: "Metric", key: "name", cls: "mono", render: m => m.name },
        { label: "Attributes", key: "attributes", cls: "mono", render: m => Object.entries(m.attributes).map(([k, v]) => k + "=" + v).join(" ") },
        { label: "Kind", key: "kind", render: m => m.kind },
        { label: "Value", key: "value", num: true, render: m => (m.count !== null ? fmtInt(m.count) + " / " : "") + Number(m.value).toLocaleString("en-US", { maximumFractionDigits: 3 }) + (m.unit && m.unit !== "1" ? " " + m.unit : "") },
      ], c.metrics, "client-metrics"))));
  }
  return { root, refresh };
};

// -- routing and polling ---------------------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "topics" && parts[1]) return ["topic", parts[1], "topics"];
  if (parts[0] === "messages" && parts[1]) return ["messages", parts[1], "topics"];
  if (parts[0] === "groups" && parts[1]) return ["group", parts[1], "groups"];
  if (["topics", "groups", "clients"].includes(parts[0])) return [parts[0], null, parts[0]];
  return ["overview", null, "overview"];
}

async function show() {
  clearTimeout(timer);
  const [name, arg, nav] = route();
  document.querySelectorAll("[data-nav]").forEach(a => a.classList.toggle("active", a.dataset.nav === nav));
  const main = document.getElementById("page");
  const token = {};
  show.token = token;
  try {
    const page = await pages[name](arg);
    if (show.token !== token) return;
    current = page;
    main.replaceChildren(page.root);
    await (page.first || page.refresh)();
    main.dataset.ready = name;
    schedule(token);
  } catch (e) {
    if (show.token !== token) return;
    main.replaceChildren(h("div", { class: "error", "data-test": "error" }, e.message));
    main.dataset.ready = "error";
  }
}

function schedule(token) {
  timer = setTimeout(async () => {
    if (show.token !== token) return;
    const live = document.getElementById("live");
    if (!document.hidden) {
      try { await current.refresh(); live.classList.remove("stale"); live.textContent = "live"; }
      catch (e) { live.classList.add("stale"); live.textContent = "offline: " + e.message; }
    }
    schedule(token);
  }, REFRESH_MS);
}

window.addEventListener("hashchange", show);
window.addEventListener("DOMContentLoaded", show);
