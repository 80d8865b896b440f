/// The page at `GET /` and its script at `GET /app.js`: plain HTML and JavaScript served by
/// the binary (no build step, nothing from a CDN). Type or click items into a session and
/// the recommendations (ids, scores, repeat-feature share) update; in follow mode the
/// cluster's curves are drawn as SVG from `GET /v1/cluster`.
/// `/?session=1,2` starts the session with those items, as two clicks would (used by the
/// headless-browser test, and handy for sharing a session).
enum WebPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>irn serve</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 70em; }
    h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
    .muted { color: #777; } .chip { display: inline-block; margin: 2px; padding: 2px 8px; border-radius: 10px;
      background: #eef; border: 1px solid #ccd; cursor: pointer; } .chip:hover { background: #dde; }
    #session .chip { background: #efe; border-color: #cdc; }
    table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.rec { cursor: pointer; } tr.rec:hover { background: #f6f6ff; }
    .rep { color: #a60; font-weight: 600; } .err { color: #b00; } svg { border: 1px solid #eee; margin: 4px 8px 4px 0; }
    input { font: inherit; padding: 3px 6px; width: 10em; } button { font: inherit; }
    </style></head>
    <body>
    <h1>irn serve — what next?</h1>
    <div id="model" class="muted">loading…</div>
    <h2>Session</h2>
    <form id="add"><input id="item" placeholder="item id" autocomplete="off"> <button>add</button>
      <button type="button" id="clear">clear</button>
      <label><input type="checkbox" id="exclude" style="width:auto"> exclude seen</label></form>
    <div id="session" class="muted">empty: type an item id or click one below</div>
    <div id="unknown" class="err"></div>
    <h2>Recommendations <span id="version" class="muted"></span></h2>
    <table><thead><tr><th>#</th><th>item</th><th>score</th><th id="repHead">repeat share</th></tr></thead>
    <tbody id="recs"></tbody></table>
    <h2>Popular items</h2><div id="popular"></div>
    <div id="cluster" hidden><h2>Training cluster <span id="clusterName" class="muted"></span></h2><div id="charts"></div></div>
    <script src="/app.js"></script>
    </body></html>
    """

    static let script = """
    "use strict";
    const state = { session: [], info: null, busy: false };
    const $ = (id) => document.getElementById(id);
    function chip(id, onClick) { const s = document.createElement("span"); s.className = "chip"; s.textContent = id; s.onclick = onClick; return s; }
    function addItem(id) { const n = Number(id); if (!Number.isInteger(n)) return; state.session.push(n); refresh(); }
    function renderSession() {
      const el = $("session"); el.textContent = "";
      if (!state.session.length) { el.textContent = "empty: type an item id or click one below"; return; }
      state.session.forEach((id) => el.appendChild(chip(id, () => {})));
    }
    async function refresh() {
      renderSession();
      const body = { session: state.session, k: 10, exclude_seen: $("exclude").checked };
      const r = await fetch("/v1/recommend", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const j = await r.json();
      if (!r.ok) { $("unknown").textContent = j.error; return; }
      $("unknown").textContent = j.unknown_items.length ? "unknown items (skipped): " + j.unknown_items.join(", ") : "";
      $("version").textContent = "(model version " + j.model_version + ")";
      const tb = $("recs"); tb.textContent = "";
      j.items.forEach((id, i) => {
        const tr = document.createElement("tr"); tr.className = "rec"; tr.dataset.item = id; tr.onclick = () => addItem(id);
        const rep = j.repeat_scores ? j.repeat_scores[i] : null;
        const cells = [i + 1, id, j.scores[i] === null ? "–" : j.scores[i].toFixed(4), rep === null ? "" : (rep !== 0 ? "repeat " + rep.toFixed(3) : "")];
        cells.forEach((c, k) => { const td = document.createElement("td"); td.textContent = c; if (k !== 1) td.className = "num"; if (k === 3 && rep) td.className += " rep"; tr.appendChild(td); });
        tb.appendChild(tr);
      });
      document.body.dataset.recommended = j.items.join(",");
    }
    async function loadInfo() {
      const info = await (await fetch("/v1/info")).json(); state.info = info;
      $("model").textContent = info.model + " · " + info.items + " items" + (info.repeat_head ? " · repeat head" : "");
      $("repHead").hidden = !info.repeat_head;
      info.sample_items.forEach((id) => $("popular").appendChild(chip(id, () => addItem(id))));
      if (info.follow) { $("cluster").hidden = false; $("clusterName").textContent = info.follow; drawCluster(); setInterval(drawCluster, 2000); }
    }
    function line(points, key, label) {
      const pts = points.map((p) => [p.t, key(p)]).filter((p) => typeof p[1] === "number" && isFinite(p[1]));
      const W = 300, H = 120, svg = [`<svg width="${W}" height="${H + 20}"><text x="4" y="14" font-size="12">${label}</text>`];
      if (pts.length > 1) {
        const x0 = pts[0][0], x1 = pts[pts.length - 1][0], ys = pts.map((p) => p[1]), y0 = Math.min(...ys), y1 = Math.max(...ys);
        const sx = (x) => 4 + (W - 8) * (x - x0) / Math.max(x1 - x0, 1e-9), sy = (y) => H + 14 - (H - 10) * (y - y0) / Math.max(y1 - y0, 1e-9);
        svg.push(`<polyline fill="none" stroke="#36c" stroke-width="1.5" points="${pts.map((p) => sx(p[0]) + "," + sy(p[1])).join(" ")}"/>`);
        svg.push(`<text x="${W - 4}" y="14" font-size="11" text-anchor="end">${ys[ys.length - 1].toPrecision(4)}</text>`);
      }
      return svg.join("") + "</svg>";
    }
    async function drawCluster() {
      const c = await (await fetch("/v1/cluster")).json(); const p = c.points;
      const evalKeys = p.length && p[p.length - 1].eval ? Object.keys(p[p.length - 1].eval).filter((k) => /recall@20|mrr@20/.test(k)).slice(0, 4) : [];
      $("charts").innerHTML = line(p, (q) => q.updates_per_s, "updates/s") + line(p, (q) => q.staleness && q.staleness.median, "staleness (median)")
        + line(p, (q) => q.step, "server step") + line(p, (q) => q.served_version, "served version")
        + evalKeys.map((k) => line(p, (q) => q.eval && q.eval[k], k)).join("");
    }
    $("add").onsubmit = (e) => { e.preventDefault(); addItem($("item").value.trim()); $("item").value = ""; };
    $("clear").onclick = () => { state.session = []; refresh(); };
    $("exclude").onchange = refresh;
    loadInfo().then(() => {
      const pre = new URLSearchParams(location.search).get("session");
      if (pre) { pre.split(",").forEach((id) => { const n = Number(id); if (Number.isInteger(n)) state.session.push(n); }); }
      return refresh();
    });
    """
}
