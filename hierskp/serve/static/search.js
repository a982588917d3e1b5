"use strict";
function play(hit) {
  const box = $("#player-box"), video = $("#player");
  box.style.display = "block";
  $("#player-title").replaceChildren(`${hit.video_id} from ${fmt(hit.start)} s `,
    el("a", { href: `/video?id=${encodeURIComponent(hit.video_id)}` }, "video page →"));
  const start = () => { video.currentTime = hit.start; video.play().catch(() => {}); };
  video.onloadedmetadata = start;
  const src = `/media/video/${encodeURIComponent(hit.video_id)}`;
  if (video.getAttribute("src") === src && video.readyState >= 1) start();
  else video.setAttribute("src", src);
  box.scrollIntoView({ behavior: "smooth" });
}
function card(hit) {
  const thumb = `/media/thumb/${encodeURIComponent(hit.video_id)}?t=${hit.start}`;
  const op = hit.operation ? el("span", { class: "op", style: `background:${colour(hit.operation)}` }, hit.operation) : el("span", { class: "muted" }, "no annotated operation");
  return el("div", { class: "card", "data-video": hit.video_id, "data-start": hit.start, onclick: () => play(hit) },
    el("img", { src: thumb, alt: `${hit.video_id} at ${fmt(hit.start)} s`, loading: "lazy" }),
    el("div", { class: "meta" },
      el("div", { class: "vid" }, hit.video_id),
      el("div", { class: "muted" }, `${fmt(hit.start)}–${fmt(hit.end)} s · score ${hit.score.toFixed(3)}`),
      op));
}
async function search(ev) {
  if (ev) ev.preventDefault();
  const q = $("#q").value.trim();
  if (!q) return;
  const params = new URLSearchParams({ q, level: $("#level").value, k: "12" });
  if ($("#split").value) params.set("split", $("#split").value);
  history.replaceState(null, "", `/?${params}`);
  $("#status").className = "status";
  $("#status").textContent = "searching…";
  try {
    const res = await getJSON(`/api/search?${params}`);
    $("#results").replaceChildren(...res.hits.map(card));
    const idx = res.index;
    $("#status").textContent = `${res.hits.length} ${res.level} hit(s) · index of ${idx.rows} rows ${idx.rebuilt ? "rebuilt (" + idx.reason + ")" : "loaded"}`;
  } catch (err) {
    $("#status").className = "status error";
    $("#status").textContent = err.message;
    $("#results").replaceChildren();
  }
}
async function init() {
  const params = new URLSearchParams(location.search); // the URL the page was opened with (a shared search)
  $("#form").addEventListener("submit", search);
  try {
    const summary = await getJSON("/api/videos");
    for (const split of Object.keys(summary.counts).sort()) $("#split").append(el("option", { value: split }, split));
  } catch (err) { /* the search still works without the split list */ }
  if (params.get("q") && !$("#results").children.length) {
    for (const key of ["q", "level", "split"]) if (params.get(key)) $("#" + key).value = params.get(key);
    search();
  }
}
init();
