"use strict";
const STATUSES = ["complete", "partial", "corrupt"];
async function init() {
  let s;
  try {
    s = await getJSON("/api/videos");
  } catch (err) {
    $("#status").className = "status error";
    $("#status").textContent = err.message;
    return;
  }
  $("#status").textContent = s.cache;
  const facts = [["backbone", `${s.backbone} (${s.feature_dim}-d)`], ["layout version", s.layout_version],
    ["fingerprint", s.fingerprint_id], ["complete hours", s.hours_complete.toFixed(3)], ["videos", s.videos.length], ["run", s.run]];
  $("#facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("span", {}, k), v)));
  const head = el("tr", {}, el("th", {}, "split"), ...STATUSES.map((st) => el("th", {}, st)));
  const total = Object.fromEntries(STATUSES.map((st) => [st, 0]));
  const rows = Object.keys(s.counts).sort().map((split) => el("tr", {}, el("td", {}, split),
    ...STATUSES.map((st) => { total[st] += s.counts[split][st] || 0;
      return el("td", { class: "num", "data-split": split, "data-status": st }, s.counts[split][st] || 0); })));
  const foot = el("tr", {}, el("th", {}, "total"), ...STATUSES.map((st) => el("th", { class: "num", id: `total-${st}` }, total[st])));
  $("#counts").replaceChildren(head, ...rows, foot);
  const vhead = el("tr", {}, ...["video", "split", "status", "duration (s)", "problems"].map((h) => el("th", {}, h)));
  $("#videos").replaceChildren(vhead, ...s.videos.map((v) => el("tr", { "data-status": v.status },
    el("td", {}, el("a", { href: `/video?id=${encodeURIComponent(v.video_id)}` }, v.video_id)), el("td", {}, v.split ?? "-"),
    el("td", { class: v.status === "complete" ? "ok" : "bad" }, v.status), el("td", { class: "num" }, fmt(v.duration_s)),
    el("td", {}, v.problems.join("; ")))));
}
init();
