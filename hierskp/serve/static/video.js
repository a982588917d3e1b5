"use strict";
async function init() {
  const id = new URLSearchParams(location.search).get("id") || "";
  const enc = encodeURIComponent(id);
  $("#title").textContent = id;
  let v;
  try {
    v = await getJSON(`/api/videos/${enc}`);
  } catch (err) {
    $("#status").className = "status error";
    $("#status").textContent = err.message;
    return;
  }
  const ok = v.status === "complete";
  $("#status").replaceChildren(`${v.split ?? "-"} · ${v.procedure ?? ""} · ${fmt(v.duration_s)} s · integrity: `,
    el("span", { class: ok ? "ok" : "bad", id: "integrity" }, v.status + (v.problems.length ? ` (${v.problems.join("; ")})` : "")));
  const duration = Math.max(v.duration_s || 0, ...v.operations.map((o) => o.end), ...v.predicted.map((o) => o.end), 1);
  $("#annotated").replaceChildren(track(v.operations, duration, "timeline-annotated"));
  $("#predicted").replaceChildren(track(v.predicted, duration, "timeline-predicted"));
  $("#predicted-label").textContent = `zero-shot predicted (classes from ${v.prompts})`;
  const p = v.provenance;
  const facts = [["decoder", p.decoder], ["backbone", p.backbone], ["fingerprint", p.fingerprint_id], ["sampled fps", p.fps],
    ["source fps", p.source_fps], ["codec", p.codec], ["source", p.source], ["extracted", p.created_at]];
  $("#facts").replaceChildren(...facts.map(([k, val]) => el("div", {}, el("span", {}, k), val ?? "-")));
  if (ok) {
    $("#strip").src = `/media/strip/${enc}.png`;
    $("#ssm").src = `/media/similarity/${enc}.png`;
  }
  if (v.playable) {
    const t = Number(new URLSearchParams(location.search).get("t") || 0);
    $("#player").onloadedmetadata = () => { $("#player").currentTime = t; };
    $("#player").src = `/media/video/${enc}`;
  } else {
    $("#player").replaceWith(el("div", { class: "muted" }, `not playable: ${v.unplayable_reason}`));
  }
  const seek = (ev) => {
    const span = ev.target.closest(".span");
    if (span && $("#player").tagName === "VIDEO") $("#player").currentTime = Number(span.title.split(" ").at(-2).split("-")[0]);
  };
  $("#annotated").addEventListener("click", seek);
  $("#predicted").addEventListener("click", seek);
}
init();
