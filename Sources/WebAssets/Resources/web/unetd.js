// Shared by unetd's pages: errors kept for the browser tests, JSON fetches, number formatting.
"use strict";
window.unetdErrors = [];
window.addEventListener("error", (event) => window.unetdErrors.push(String(event.message || event)));
window.addEventListener("unhandledrejection", (event) => window.unetdErrors.push(String(event.reason)));
const consoleError = console.error.bind(console);
console.error = (...args) => { window.unetdErrors.push(args.map(String).join(" ")); consoleError(...args); };

const unetd = {
  async json(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  },
  text(value, digits) {
    if (value === undefined || value === null || Number.isNaN(value)) return "–";
    return typeof value === "number" && digits !== undefined ? value.toFixed(digits) : String(value);
  },
  duration(seconds) {
    if (seconds === undefined || seconds === null) return "–";
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const minutes = Math.floor(seconds / 60);
    return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  },
  when(iso) { return iso ? new Date(iso).toLocaleString() : "–"; },
  element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key === "text") node.textContent = value; else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  },
  slideLink(outputName) { return `/slides/${encodeURIComponent(outputName)}`; },
};
