// Order entry: build the draft from the form, ask the API for a live price and promise, submit.
// Plain JavaScript, no build step. Amounts stay strings from the server; only formatting happens here.
(function () {
  "use strict";
  const T = window.TARIF;
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

  function refreshOptions(row) {
    const configurable = $(".sku", row).value in T.configurable;
    $(".opts", row).hidden = !configurable;
    // only possible values are offered: a battery exists only with the e-motor
    $(".battery", row).hidden = !$('[data-option="motor"]', row).checked;
  }

  function draft() {
    const lines = [...linesBox.children].map((row) => {
      const line = {line_id: row.dataset.lineId, sku: $(".sku", row).value, quantity: $(".qty", row).value || "0"};
      if (!$(".opts", row).hidden) {
        line.kind = "configured";
        line.product_model = T.configurable[line.sku];
        line.options = {};
        row.querySelectorAll(".opt").forEach((el) => {
          if (el.closest("[hidden]")) return;
          const name = el.dataset.option;
          line.options[name] = el.type === "checkbox" ? el.checked : (name === "battery_wh" ? Number(el.value) : el.value);
        });
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

  async function post(url, body) {
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
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
        $(".promise", row).textContent = `${p.status} · ${T.labels.promised} ${p.promised_date || "—"} · ${T.labels.shipsFrom} ${from}`;
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
    if (row) refreshOptions(row);
    schedule();
  });
  document.addEventListener("input", (event) => { if (event.target.matches(".qty, #discount")) schedule(); });
  linesBox.addEventListener("click", (event) => {
    if (event.target.matches(".remove")) { event.target.closest(".line-row").remove(); schedule(); }
  });
  $("#add-line").addEventListener("click", () => addLine());
  $("#submit-order").addEventListener("click", submit);
  addLine("BIKE-TRAIL");
})();
