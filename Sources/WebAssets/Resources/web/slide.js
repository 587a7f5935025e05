// One slide: the original in OpenSeadragon with the nuclei drawn over it, its figures and downloads.
"use strict";
const outputName = decodeURIComponent(location.pathname.split("/").pop());
const api = `/v1/web/slides/${encodeURIComponent(outputName)}`;

function tileSource(image, query = "") {
  const base = image.dzi.replace(/\.dzi$/, "_files");
  return { width: image.width, height: image.height, tileSize: image.tile_size, tileOverlap: 0,
    minLevel: image.min_level, maxLevel: image.max_level,
    getTileUrl: (level, x, y) => `${base}/${level}/${x}_${y}.png${query}` };
}

function figures(list, pairs) {
  list.replaceChildren(...pairs.filter(([, value]) => value !== undefined && value !== null)
    .flatMap(([name, value]) => [unetd.element("dt", { text: name }), unetd.element("dd", { text: String(value) })]));
}

async function main() {
  const slide = await unetd.json(api);
  document.title = `unetd · ${slide.result.name}`;
  document.getElementById("title").textContent = slide.result.name;
  const result = await unetd.json(slide.downloads.summary);
  figures(document.getElementById("figures"), [
    ["Size", `${result.width} × ${result.height} px`], ["µm per pixel", unetd.text(result.slide_mpp, 3)],
    ["Finished", unetd.when(slide.result.finished_at)], ["Time", unetd.duration(slide.result.seconds)],
    ["Tiles run / skipped", `${result.tiles_run} / ${result.tiles_skipped}`], ["Foreground", `${(100 * result.positive_fraction).toFixed(1)} %`],
    ["Model", `${result.model.sha256.slice(0, 12)} (${result.model.architecture})`], ["Precision", result.precision],
    ["Dice", result.scores ? unetd.text(result.scores.dice, 3) : undefined],
    ["Object F1", result.scores ? unetd.text(result.scores.object_f1, 3) : undefined]]);
  const nuclei = result.summary;
  if (nuclei) {
    figures(document.getElementById("summary"), [
      ["Count", nuclei.nuclei], ["Tissue", nuclei.tissue_area_mm2 === undefined || nuclei.tissue_area_mm2 === null ? undefined : `${unetd.text(nuclei.tissue_area_mm2, 3)} mm²`],
      ["Per mm²", unetd.text(nuclei.nuclei_per_mm2, 0)],
      ["Median area", nuclei.area_um2 ? `${unetd.text(nuclei.area_um2.median, 1)} µm²` : `${unetd.text(nuclei.area_px.median, 0)} px`],
      ["Median circularity", nuclei.circularity ? unetd.text(nuclei.circularity.median, 3) : undefined]]);
  }
  document.getElementById("downloads").replaceChildren(...Object.entries(slide.downloads).sort()
    .map(([kind, url]) => unetd.element("li", {}, unetd.element("a", { href: url, download: "", text: kind }))));

  if (!slide.slide) { document.getElementById("problem").textContent = "The original slide is no longer in the archive."; return; }
  const viewer = OpenSeadragon({ id: "viewer", tileSources: tileSource(slide.slide), showNavigationControl: false,
    showNavigator: true, navigatorPosition: "BOTTOM_RIGHT", maxZoomPixelRatio: 4, gestureSettingsMouse: { clickToZoom: false },
    // A click is a press released where it began (5 px), however long it was held: OpenSeadragon's
    // default 300 ms turned slow clicks (a busy machine, a hesitant hand) into nothing.
    clickTimeThreshold: 5000 });
  window.unetdViewer = viewer;
  let overlay = null;
  const opacity = () => document.getElementById("opacity").value / 100;
  function showOverlay() {
    if (overlay) { viewer.world.removeItem(overlay); overlay = null; }
    if (!slide.mask || !document.getElementById("overlay-toggle").checked) return;
    viewer.addTiledImage({ tileSource: tileSource(slide.mask, `?style=${document.getElementById("style").value}`),
      opacity: opacity(), success: (event) => { overlay = event.item; } });
  }
  viewer.addOnceHandler("open", showOverlay);
  document.getElementById("overlay-toggle").addEventListener("change", showOverlay);
  document.getElementById("style").addEventListener("change", showOverlay);
  document.getElementById("opacity").addEventListener("input", () => { if (overlay) overlay.setOpacity(opacity()); });
  document.getElementById("zoom-in").addEventListener("click", () => viewer.viewport.zoomBy(2));
  document.getElementById("zoom-out").addEventListener("click", () => viewer.viewport.zoomBy(0.5));
  document.getElementById("home").addEventListener("click", () => viewer.viewport.goHome());
  viewer.addHandler("canvas-click", async (event) => {
    if (!event.quick) return;
    const point = viewer.world.getItemAt(0).viewerElementToImageCoordinates(event.position);
    const panel = document.getElementById("nucleus");
    const response = await fetch(`${api}/nucleus?x=${Math.round(point.x)}&y=${Math.round(point.y)}`);
    if (response.status === 404) { panel.textContent = "No nucleus there."; panel.className = "muted"; return; }
    if (!response.ok) throw new Error(`nucleus: ${response.status}`);
    const nucleus = await response.json();
    const list = unetd.element("dl", { class: "figures" });
    figures(list, Object.entries(nucleus));
    panel.className = "";
    panel.replaceChildren(list);
  });
}
main().catch((error) => { document.getElementById("problem").textContent = error.message; console.error(error); });
