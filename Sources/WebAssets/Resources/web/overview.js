// The overview: the daemon's state every second (as `unetctl status` shows it), results a page at a time.
"use strict";
const query = { offset: 0, limit: 25, sort: "finished", order: "desc", q: "", state: "all" };
let lastDone = -1;

async function refreshStatus() {
  const status = await unetd.json("/v1/status");
  const state = document.getElementById("state");
  state.textContent = status.state;
  state.className = `state ${status.state}`;
  const model = status.model;
  document.getElementById("model").textContent =
    `model ${model.path.split("/").pop()} · ${model.sha256.slice(0, 12)} · ${model.architecture}`;
  document.getElementById("queue").textContent =
    `${status.queue.pending} waiting (${status.queue.deferred} deferred) · ${status.counts.done} done · ` +
    `${status.counts.failed} failed · ${status.counts.nuclei ?? 0} nuclei found`;
  document.getElementById("degraded").textContent = status.degraded ? `Degraded: ${status.degraded.reason}` : "";
  const body = document.querySelector("#progress tbody");
  body.replaceChildren(...status.slides.map((slide) => {
    const done = slide.tiles_done, total = Math.max(slide.tiles_total, 1);
    const elapsed = (Date.now() - new Date(slide.started_at).getTime()) / 1000;
    const left = done > 0 ? elapsed * (total - done) / done : null;
    const bar = unetd.element("progress", { max: String(total), value: String(done), "data-slide": slide.name });
    return unetd.element("tr", {}, unetd.element("td", { text: slide.name }), unetd.element("td", {}, bar),
      unetd.element("td", { class: "number", text: `${done} / ${slide.tiles_total} tiles` }),
      unetd.element("td", { class: "number", text: slide.seconds > 0 && done > 0
        ? `${(slide.megapixels * done / total / slide.seconds).toFixed(2)} MP/s` : "" }),
      unetd.element("td", { class: "number", text: left === null ? "" : `${unetd.duration(left)} left` }));
  }));
  document.getElementById("idle").hidden = status.slides.length > 0;
  if (status.counts.done + status.counts.failed !== lastDone) {
    lastDone = status.counts.done + status.counts.failed;
    await refreshResults();
  }
}

async function refreshResults() {
  const parameters = new URLSearchParams({ offset: query.offset, limit: query.limit, sort: query.sort, order: query.order,
    q: query.q, state: query.state });
  const page = await unetd.json(`/v1/web/results?${parameters}`);
  const body = document.querySelector("#results tbody");
  body.replaceChildren(...page.results.map((result) => {
    const row = unetd.element("tr", { class: result.state === "archived" ? "done" : result.state });
    const link = result.output_name && result.state === "archived"
      ? unetd.element("a", { href: unetd.slideLink(result.output_name), text: result.name }) : result.name;
    const thumbnail = result.output_name && result.state === "archived"
      ? unetd.element("img", { class: "thumbnail", loading: "lazy", alt: "",
          src: `/thumbnails/${encodeURIComponent(result.output_name)}.png` }) : "";
    const outcome = result.state === "archived" ? "done" : `${result.state}: ${result.error ?? ""}`;
    row.append(unetd.element("td", {}, thumbnail), unetd.element("td", {}, link),
      unetd.element("td", { text: unetd.when(result.finished_at) }),
      unetd.element("td", { class: "number", text: unetd.text(result.nuclei) }),
      unetd.element("td", { class: "number", text: unetd.text(result.nuclei_per_mm2, 0) }),
      unetd.element("td", { class: "number", text: unetd.duration(result.seconds) }),
      unetd.element("td", { class: "number", text: unetd.text(result.dice, 3) }),
      unetd.element("td", { class: "number", text: unetd.text(result.object_f1, 3) }),
      unetd.element("td", { text: outcome }));
    return row;
  }));
  const last = Math.min(page.total, query.offset + page.results.length);
  document.getElementById("page").textContent = page.total ? `${query.offset + 1}–${last} of ${page.total}` : "none yet";
  document.getElementById("previous").disabled = query.offset === 0;
  document.getElementById("next").disabled = last >= page.total;
}

function report(error) { document.getElementById("degraded").textContent = `Cannot reach unetd: ${error.message}`; }

document.querySelectorAll("#results th[data-sort]").forEach((header) => header.addEventListener("click", () => {
  query.order = query.sort === header.dataset.sort && query.order === "desc" ? "asc" : "desc";
  query.sort = header.dataset.sort;
  query.offset = 0;
  document.querySelectorAll("#results th[data-sort]").forEach((other) => other.classList.remove("sorted", "ascending"));
  header.classList.add("sorted");
  if (query.order === "asc") header.classList.add("ascending");
  refreshResults().catch(report);
}));
let typing;
document.getElementById("filter").addEventListener("input", (event) => {
  clearTimeout(typing);
  typing = setTimeout(() => { query.q = event.target.value; query.offset = 0; refreshResults().catch(report); }, 250);
});
document.getElementById("state-filter").addEventListener("change", (event) => {
  query.state = event.target.value; query.offset = 0; refreshResults().catch(report);
});
document.getElementById("previous").addEventListener("click", () => {
  query.offset = Math.max(0, query.offset - query.limit); refreshResults().catch(report);
});
document.getElementById("next").addEventListener("click", () => { query.offset += query.limit; refreshResults().catch(report); });

async function loop() {
  try { await refreshStatus(); } catch (error) { report(error); }
  setTimeout(loop, 1000);
}
loop();
