// Shared helpers of the three pages (plain JS, no build step).
"use strict";
const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}
async function getJSON(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    const d = body.detail;
    throw new Error(typeof d === "string" ? d : Array.isArray(d) ? d.map((e) => e.msg).join("; ") : `HTTP ${r.status}`);
  }
  return body;
}
function colour(label) { // a stable colour per label
  let h = 0;
  for (const ch of String(label)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 55%, 42%)`;
}
const fmt = (s) => (s == null ? "-" : Number(s).toFixed(1));
function track(spans, duration, id) {
  const box = el("div", { class: "track", id });
  for (const s of spans) {
    const left = (100 * s.start) / duration, width = (100 * (s.end - s.start)) / duration;
    box.append(el("div", { class: "span", title: `${s.label} ${fmt(s.start)}-${fmt(s.end)} s`,
      style: `left:${left}%;width:${width}%;background:${colour(s.label)}` }, s.label));
  }
  return box;
}
