// Order entry: build the draft from the form, ask the API for a live price and promise, submit.
// Plain JavaScript, no build step. Amounts stay strings from the server; only formatting happens here.
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("tarif-data").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const linesBox = $("#lines");
  let seq = 0, timer = null, latest = 0;

  function money(value, currency) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(T.locale, {style: "currency", currency: currency}).format(Number(value));
  }

  function addLine(sku) {
    const row = $("#line-template").content.firstElementChild.cloneNode(true);
    row.dataset.lineId = String(++seq);
    if (sku) $(".sku", row).value = sku;
    linesBox.appendChild(row);
    refreshOptions(row);
    schedule();
  }

  // -- the configurator: only possible values are offered; a value that is not possible says why,
  //    and one click chooses it anyway by undoing the fewest earlier choices (server: /api/configure).
  function refreshOptions(row) {
    const model = T.configurable[$(".sku", row).value];
    $(".opts", row).hidden = !model;
    if (!model) { row.answer = null; return; }
    if (row.model !== model) { row.model = model; row.choices = {}; }
    configure(row);
  }

  async function configure(row) {
    const result = await post("/api/configure/" + encodeURIComponent(row.model), {choices: row.choices || {}});
    if (result.status !== 200) return;
    row.answer = result.data;
    row.choices = Object.assign({}, result.data.choices);
    renderOptions(row);
    schedule();
  }

  function renderOptions(row) {
    const a = row.answer, box = $(".opts", row);
    let html = `<span class="muted">${escapeHtml(T.labels.configure)} ${escapeHtml(a.label)}:</span>`;
    a.rejected.forEach((r) => { html += `<div class="field-problem">${escapeHtml(r.explanation)}</div>`; });
    const impossible = [];
    a.variables.forEach((v) => {
      const current = v.chosen !== null ? v.chosen : a.completion[v.name];
      const options = v.values.filter((x) => x.possible).map((x) =>
        `<option value="${escapeHtml(x.value)}" ${x.value === current ? "selected" : ""}>${escapeHtml(x.label)}</option>`).join("");
      html += `<label>${escapeHtml(v.label)} <select class="opt" data-var="${escapeHtml(v.name)}">${options}</select></label>`;
      v.values.filter((x) => !x.possible && x.why_not && x.fixable).forEach((x) => impossible.push([v, x]));
    });
    if (impossible.length) {
      html += `<details class="why-not"><summary>${escapeHtml(T.labels.notPossible)} (${impossible.length})</summary><ul>`;
      impossible.forEach(([v, x]) => {
        const undo = x.undo.map((u) => `${u.variable} = ${u.value}`).join(", ");
        html += `<li>${escapeHtml(x.why_not)} <button type="button" class="secondary fix" data-var="${escapeHtml(v.name)}"
          data-value="${escapeHtml(x.value)}" data-undo='${escapeHtml(JSON.stringify(x.undo))}'>${escapeHtml(T.labels.choose)}
          ${escapeHtml(v.label)} = ${escapeHtml(x.label)}${undo ? " (" + escapeHtml(T.labels.undoing) + " " + escapeHtml(undo) + ")" : ""}</button></li>`;
      });
      html += "</ul></details>";
    }
    box.innerHTML = html;
  }

  function typedOptions(answer) {
    const options = {};
    answer.variables.forEach((v) => {
      const value = answer.completion[v.name];
      if (value === undefined) return;
      if (value === "true" || value === "false") options[v.name] = value === "true";
      else if (v.kind === "integer" || v.kind === "quantity") options[v.name] = Number(value);
      else options[v.name] = value;
    });
    return options;
  }

  function draft() {
    const lines = [...linesBox.children].map((row) => {
      const line = {line_id: row.dataset.lineId, sku: $(".sku", row).value, quantity: $(".qty", row).value || "0"};
      if (!$(".opts", row).hidden && row.answer) {
        line.kind = "configured";
        line.product_model = row.model;
        line.options = typedOptions(row.answer);
      }
      return line;
    });
    const order = {customer_id: $("#customer").value, currency: "EUR", channel: $("#channel").value, lines: lines};
    if ($("#requested-date").value) order.requested_date = $("#requested-date").value;
    const pct = $("#discount").value;
    if (pct && Number(pct) > 0) {
      order.manual_discounts = [{type: "percent", value: String(pct), reason: $("#discount-reason").value || "desk",
                                 role: "desk", entered_by: T.user}];
    }
    return order;
  }

  function showProblems(problems) {
    const box = $("#problems");
    box.innerHTML = "";
    linesBox.querySelectorAll(".field-problem").forEach((el) => { el.textContent = ""; });
    (problems || []).forEach((p) => {
      const m = /^lines\[(\d+)\]/.exec(p.path);
      const text = p.path + ": " + p.message;
      if (m && linesBox.children[Number(m[1])]) {
        $(".field-problem", linesBox.children[Number(m[1])]).textContent = text;
      }
      const li = document.createElement("div");
      li.textContent = (p.severity === "warning" ? "⚠ " : "✕ ") + text;
      box.appendChild(li);
    });
  }

  // Every call carries the page's CSRF token: the API refuses a cookie-authenticated change without it.
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function post(url, body) {
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                                       body: JSON.stringify(body), credentials: "same-origin"});
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return {status: response.status, data: data};
  }

  async function refresh() {
    const order = draft();
    if (!order.customer_id || !order.lines.length) return;
    const ticket = ++latest;
    const [quote, promise] = await Promise.all([post("/api/quote", order), post("/api/availability", order)]);
    if (ticket !== latest) return;  // a newer edit is on its way
    if (quote.status !== 200) {
      showProblems(quote.data && quote.data.error ? quote.data.error.problems : []);
      ["#subtotal", "#tax", "#total"].forEach((id) => { $(id).textContent = "—"; });
      return;
    }
    const q = quote.data, cur = q.priced.currency;
    showProblems(q.problems);
    $("#subtotal").textContent = money(q.subtotal, cur);
    $("#tax").textContent = money(q.tax, cur);
    $("#total").textContent = money(q.total, cur);
    $("#approval").textContent = q.requires_approval ? "⚠ " + T.labels.approval + ": " + q.approval_reasons.join("; ") : "";
    const table = $("#price-lines");
    table.innerHTML = "";
    q.priced.lines.forEach((pl) => {
      const tr = table.insertRow();
      const steps = pl.waterfall.map((s) => `<tr><td>${s.stage}</td><td>${escapeHtml(s.description)}</td><td class="num">${money(s.after, cur)}</td></tr>`).join("");
      tr.innerHTML = `<td>${escapeHtml(pl.sku)} × ${pl.quantity}<details class="waterfall"><summary>${T.labels.waterfall}</summary><table>${steps}</table></details></td><td class="num">${money(pl.net, cur)}</td>`;
    });
    if (promise.status === 200) {
      promise.data.promises.forEach((p, i) => {
        const row = linesBox.children[i];
        if (!row) return;
        const from = p.ship_from.length ? p.ship_from.map((s) => s[0]).join(", ") : "—";
        const day = p.promised_date ? new Intl.DateTimeFormat(T.locale, {dateStyle: "medium"}).format(
          new Date(p.promised_date + "T00:00:00")) : "—";
        $(".promise", row).textContent = `${T.statuses[p.status] || p.status} · ${T.labels.promised} ${day} · ${T.labels.shipsFrom} ${from}`;
      });
    }
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  async function submit() {
    const button = $("#submit-order");
    button.disabled = true;
    try {
      const result = await post("/api/orders", draft());
      if (result.status === 201 || result.status === 200) {
        window.location = "/orders/" + result.data.order.order_id + "?flash=" + encodeURIComponent("✓ " + result.data.order.order_id);
        return;
      }
      showProblems(result.data && result.data.error ? result.data.error.problems.length ? result.data.error.problems
        : [{path: "order", message: result.data.error.message}] : [{path: "order", message: "HTTP " + result.status}]);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("change", (event) => {
    const row = event.target.closest(".line-row");
    if (row && event.target.matches("select.opt")) {
      row.choices[event.target.dataset.var] = event.target.value;
      configure(row);
      return;
    }
    if (row && event.target.matches(".sku")) refreshOptions(row);
    schedule();
  });
  document.addEventListener("input", (event) => { if (event.target.matches(".qty, #discount")) schedule(); });
  linesBox.addEventListener("click", (event) => {
    if (event.target.matches(".remove")) { event.target.closest(".line-row").remove(); schedule(); }
    const fix = event.target.closest(".fix");
    if (fix) {  // the one-click fix: undo the fewest earlier choices, then choose the value
      const row = fix.closest(".line-row");
      JSON.parse(fix.dataset.undo).forEach((u) => { delete row.choices[u.variable]; });
      row.choices[fix.dataset.var] = fix.dataset.value;
      configure(row);
    }
  });
  $("#order-form").addEventListener("submit", (event) => event.preventDefault());  // Enter must not post the form
  $("#add-line").addEventListener("click", () => addLine());
  $("#submit-order").addEventListener("click", submit);
  addLine("BIKE-TRAIL");
})();
