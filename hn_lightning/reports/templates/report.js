// Sorting, filtering and the detail view of the report's tables; no server, no network, no library.
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    const cell = row.cells[index];
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const v = parseFloat(raw);
    return isNaN(v) ? Infinity : v;
  }

  function makeSortable(table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, index) {
      th.addEventListener("click", function () {
        const numeric = th.dataset.sort === "num";
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[data-sort]").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = cellValue(a, th.cellIndex, numeric), y = cellValue(b, th.cellIndex, numeric);
          const order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function applyFilters(section) {
    const f = {};
    section.querySelectorAll("[data-filter]").forEach(function (el) { f[el.dataset.filter] = el.value.trim(); });
    const rows = Array.from(section.querySelectorAll("table.items tbody tr"));
    const wmin = f.wmin ? parseFloat(f.wmin) : null, wmax = f.wmax ? parseFloat(f.wmax) : null;
    const words = (f.problem || "").toLowerCase();
    let shown = 0;
    rows.forEach(function (r) {
      const w = r.dataset.weight === "" ? NaN : parseFloat(r.dataset.weight);
      const ok = (!f.kind || r.dataset.kind === f.kind) &&
        (!f.bucket || r.dataset.bucket === f.bucket) &&
        (wmin === null || isNaN(wmin) || w >= wmin) &&
        (wmax === null || isNaN(wmax) || w <= wmax) &&
        (!words || r.dataset.problem.indexOf(words) >= 0);
      r.hidden = !ok;
      if (ok) shown += 1;
    });
    const count = section.querySelector("[data-count]");
    if (count) count.textContent = shown + " of " + rows.length + " shown";
  }

  function openItem(section, key, scroll) {
    const template = document.getElementById("detail-" + key);
    const viewer = section.querySelector("[data-viewer]");
    if (!template || !viewer) return;
    viewer.replaceChildren(template.content.cloneNode(true));
    viewer.hidden = false;
    viewer.dataset.key = key;
    section.querySelectorAll("table.items tbody tr.open").forEach(function (r) { r.classList.remove("open"); });
    const row = section.querySelector('table.items tbody tr[data-key="' + key + '"]');
    if (row) row.classList.add("open");
    const close = viewer.querySelector("[data-close]");
    if (close) close.addEventListener("click", function () { viewer.hidden = true; if (row) row.classList.remove("open"); });
    if (scroll) viewer.scrollIntoView({ block: "start" });
  }

  document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  document.querySelectorAll("section[data-items]").forEach(function (section) {
    section.querySelectorAll("[data-filter]").forEach(function (el) {
      el.addEventListener("input", function () { applyFilters(section); });
      el.addEventListener("change", function () { applyFilters(section); });
    });
    section.querySelectorAll("table.items tbody tr").forEach(function (row) {
      row.addEventListener("click", function () { openItem(section, row.dataset.key, true); });
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") openItem(section, row.dataset.key, true); });
    });
    applyFilters(section);
  });
  // a link to report.html#pair-<key> opens that pair (also when only the fragment changes)
  function openFromHash() {
    const hash = decodeURIComponent(window.location.hash.slice(1));
    if (hash.indexOf("pair-") !== 0) return;
    const key = hash.slice(5);
    const row = document.querySelector('tr[data-key="' + key + '"]');
    if (row) openItem(row.closest("section[data-items]"), key, true);
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
})();
