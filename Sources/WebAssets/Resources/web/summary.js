// The lab's summary.csv as a table, sorted by any column (numbers as numbers).
"use strict";
function parseCSV(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let index = 0; index < text.length; index++) {
    const c = text[index];
    if (quoted) {
      if (c === '"' && text[index + 1] === '"') { field += '"'; index++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else if (c !== "\r") field += c;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

async function main() {
  const response = await fetch("/summary.csv");
  if (response.status === 404) { document.getElementById("count").textContent = "No slide finished yet."; return; }
  if (!response.ok) throw new Error(`summary.csv: ${response.status}`);
  const [header, ...rows] = parseCSV(await response.text());
  document.getElementById("count").textContent = `${rows.length} slides`;
  let sortColumn = 0, ascending = true;
  const numeric = header.map((_, column) => rows.every((row) => row[column] === "" || !Number.isNaN(Number(row[column]))));
  function render() {
    const sorted = [...rows].sort((a, b) => {
      const x = a[sortColumn], y = b[sortColumn];
      const order = numeric[sortColumn] ? (Number(x) - Number(y)) : x.localeCompare(y);
      return ascending ? order : -order;
    });
    document.querySelector("#summary tbody").replaceChildren(...sorted.map((row) =>
      unetd.element("tr", {}, ...row.map((value, column) => unetd.element("td", { class: numeric[column] ? "number" : "", text: value })))));
  }
  document.querySelector("#summary thead").replaceChildren(unetd.element("tr", {}, ...header.map((name, column) => {
    const cell = unetd.element("th", { "data-sort": name, class: numeric[column] ? "number" : "", text: name });
    cell.addEventListener("click", () => {
      ascending = sortColumn === column ? !ascending : true;
      sortColumn = column;
      render();
    });
    return cell;
  })));
  render();
}
main().catch((error) => { document.getElementById("problem").textContent = error.message; console.error(error); });
