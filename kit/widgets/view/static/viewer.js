// ngff-kit pan/zoom viewer: the front end of kit.widgets.view.widget.PanZoomView.
// Plain ES module, no dependency, no network: anywidget loads it from the widget's state.
// The view is kept in level-0 pixels (centre cx, cy; scale = canvas pixels per level-0
// pixel). Every gesture redraws at once from the tiles held; the kernel is asked for the
// tiles of the new view (throttled, newest request wins) and they are drawn when they come.
// A picture may hold several tile grids per level (a plate's wells, each placed at its
// cell: "grids"); every tile says where it lies in the picture (wx0, wy0, wx1, wy1).

const TOL = 1e-6;
const SEND_MS = 40;       // at most one view message per this many ms (the last one always goes)
const HOVER_MS = 60;
const MAX_TILES = 768;    // tiles kept in the browser (least recently drawn dropped first)

function chooseLevel(levels, sy, sx) {
  let chosen = levels[0].index;
  for (const g of levels) {
    if (g.factor[0] <= sy * (1 + TOL) && g.factor[1] <= sx * (1 + TOL)) chosen = g.index;
  }
  return chosen;
}

function tileRange(g, v) {
  const [fy, fx] = g.factor, [th, tw] = g.tile;
  const [oy, ox] = g.origin || [0, 0];
  const rows = Math.ceil(g.shape[0] / th), cols = Math.ceil(g.shape[1] / tw);
  const r0 = Math.max(0, Math.floor((v.y0 - oy) / fy / th));
  const r1 = Math.min(rows, Math.ceil((v.y1 - oy) / fy / th - TOL));
  const c0 = Math.max(0, Math.floor((v.x0 - ox) / fx / tw));
  const c1 = Math.min(cols, Math.ceil((v.x1 - ox) / fx / tw - TOL));
  return [r0, Math.max(r0, r1), c0, Math.max(c0, c1)];
}

const FRAME = "#141414", EMPTY = "#303030";  // a mosaic's gaps, and a well with no image

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "ngffkit-view";
  root.tabIndex = 0;
  const bar = document.createElement("div");
  bar.className = "ngffkit-bar";
  const title = document.createElement("span");
  title.className = "ngffkit-title";
  const select = document.createElement("select");
  select.className = "ngffkit-choice";
  const readout = document.createElement("span");
  readout.className = "ngffkit-readout";
  const reset = document.createElement("button");
  reset.className = "ngffkit-reset";
  reset.textContent = "Fit";
  reset.title = "Fit the whole image (key 0)";
  bar.append(title, select, readout, reset);
  const stage = document.createElement("div");
  stage.className = "ngffkit-stage";
  const canvas = document.createElement("canvas");
  const card = document.createElement("div");
  card.className = "ngffkit-hover";
  const status = document.createElement("div");
  status.className = "ngffkit-status";
  stage.append(canvas, card, status);
  root.append(bar, stage);
  el.appendChild(root);
  const ctx = canvas.getContext("2d");

  const st = {
    cx: 0, cy: 0, scale: 1, W: 0, H: 0, dpr: window.devicePixelRatio || 1,
    levels: [], grids: [], parts: [], spec: "", reqId: 0, lastSent: 0, sendTimer: null, hoverTimer: null,
    lastHover: 0, hoverId: 0, eventAt: null, eventKind: "", eventCold: null, drawQueued: false,
    tiles: new Map(), sel: new Map(), shape0: null, fitted: false, level: 0, complete: false,
  };
  // what tests and the benchmark read: views sent, latencies measured, the state
  const probe = { sent: [], latency: [], draws: 0, state: () => viewRect(), st };
  el.ngffkit = probe;
  root.ngffkit = probe;
  window.__ngffkit = window.__ngffkit || [];
  window.__ngffkit.push(probe);

  function size() {
    st.W = model.get("width");
    st.H = model.get("height");
    stage.style.width = `${st.W}px`;
    stage.style.height = `${st.H}px`;
    canvas.style.width = `${st.W}px`;
    canvas.style.height = `${st.H}px`;
    canvas.width = Math.round(st.W * st.dpr);
    canvas.height = Math.round(st.H * st.dpr);
  }

  function viewRect() {
    const s = st.scale * st.dpr;  // device pixels per level-0 pixel
    const w = canvas.width / s, h = canvas.height / s;
    return { x0: st.cx - w / 2, y0: st.cy - h / 2, x1: st.cx + w / 2, y1: st.cy + h / 2,
             width: canvas.width, height: canvas.height, scale: st.scale, level: st.level,
             complete: st.complete };
  }

  function fit() {
    if (!st.shape0) return;
    const [h, w] = st.shape0;
    st.scale = Math.min(st.W / w, st.H / h);
    st.cx = w / 2;
    st.cy = h / 2;
  }

  function focusChanged() {
    const box = (model.get("focus") || {}).box;
    if (!st.shape0) return;
    if (!box) { fit(); } else {
      const [x0, y0, x1, y1] = box;
      st.scale = Math.min(st.W / (x1 - x0), st.H / (y1 - y0));
      st.cx = (x0 + x1) / 2;
      st.cy = (y0 + y1) / 2;
    }
    moved("focus");
    sendView(true);
  }

  function levelsChanged() {
    st.levels = model.get("levels") || [];
    st.grids = model.get("grids") || [];
    st.parts = model.get("parts") || [];
    const shape0 = st.levels.length ? st.levels[0].shape : null;
    const same = st.shape0 && shape0 && st.shape0[0] === shape0[0] && st.shape0[1] === shape0[1];
    st.shape0 = shape0;
    if (!same) fit();  // another image of the same size keeps the view
  }

  function specChanged() {
    st.spec = model.get("spec_key");
    st.tiles.clear();
    st.sel.clear();
    queueDraw();
    sendView(true);
  }

  function targetLevel(v) {
    return chooseLevel(st.levels, (v.y1 - v.y0) / v.height, (v.x1 - v.x0) / v.width);
  }

  function drawTile(t, v, s, smooth) {
    const dx = Math.round((t.wx0 - v.x0) * s), dy = Math.round((t.wy0 - v.y0) * s);
    const dx1 = Math.round((t.wx1 - v.x0) * s), dy1 = Math.round((t.wy1 - v.y0) * s);
    if (dx1 <= 0 || dy1 <= 0 || dx >= canvas.width || dy >= canvas.height) return;
    const fx = (t.wx1 - t.wx0) / t.w;
    ctx.imageSmoothingEnabled = smooth && fx * s < 1;  // past 1:1: sharp squares
    ctx.drawImage(t.bitmap, dx, dy, dx1 - dx, dy1 - dy);
  }

  function screenBox(p, v, s) {
    return [Math.round((p.x0 - v.x0) * s), Math.round((p.y0 - v.y0) * s),
            Math.round((p.x1 - v.x0) * s), Math.round((p.y1 - v.y0) * s)];
  }

  function drawCells(v, s) {  // a mosaic: each well's cell on the frame colour
    for (const p of st.parts) {
      const [x0, y0, x1, y1] = screenBox(p, v, s);
      if (x1 <= 0 || y1 <= 0 || x0 >= canvas.width || y0 >= canvas.height) continue;
      ctx.fillStyle = p.empty ? EMPTY : "#000";
      ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    }
  }

  function drawNames(v, s) {  // each well's name in its cell, legible at any zoom
    const dpr = st.dpr;
    for (const p of st.parts) {
      const [x0, y0, x1, y1] = screenBox(p, v, s);
      if (x1 <= 0 || y1 <= 0 || x0 >= canvas.width || y0 >= canvas.height) continue;
      const w = x1 - x0;
      if (w < 28 * dpr) continue;  // too small for a legible name
      const px = Math.round(Math.max(10 * dpr, Math.min(15 * dpr, w / 6)));
      ctx.font = `600 ${px}px sans-serif`;
      const text = p.short || p.name;
      const tw = ctx.measureText(text).width, pad = Math.round(px / 3);
      const bx = Math.max(x0, 0), by = Math.max(y0, 0);
      if (bx + tw + 2 * pad > x1 || by + px + 2 * pad > y1) continue;
      ctx.fillStyle = "rgba(0,0,0,0.6)";
      ctx.fillRect(bx, by, tw + 2 * pad, px + 2 * pad);
      ctx.fillStyle = "#fff";
      ctx.textBaseline = "top";
      ctx.fillText(text, bx + pad, by + pad + 1);
    }
  }

  function draw() {
    st.drawQueued = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = st.parts.length ? FRAME : "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!st.levels.length) return;
    const v = viewRect();
    const s = st.scale * st.dpr;
    if (st.parts.length) drawCells(v, s);
    const target = targetLevel(v);
    st.level = target;
    // coarser levels first (they fill what the target level lacks), the target level last
    const order = st.levels.map((g) => g.index).filter((i) => i !== target)
      .sort((a, b) => b - a);
    order.push(target);
    for (const L of order) {
      if (L < target - 1) continue;  // much finer tiles cost draws and add nothing
      for (const t of st.tiles.values()) if (t.level === L) drawTile(t, v, s, true);
    }
    for (const t of st.sel.values()) if (t.level === target) drawTile(t, v, s, false);
    if (st.parts.length) drawNames(v, s);
    let complete = true;
    for (const g of st.grids[target] || [st.levels[target]]) {
      const [r0, r1, c0, c1] = tileRange(g, v);
      const prefix = g.prefix || `${target}/`;
      for (let r = r0; r < r1 && complete; r++) {
        for (let c = c0; c < c1; c++) {
          if (!st.tiles.has(`${prefix}${r}/${c}`)) { complete = false; break; }
        }
      }
      if (!complete) break;
    }
    st.complete = complete;
    probe.draws += 1;
    root.dataset.level = String(target);
    root.dataset.complete = complete ? "1" : "0";
    const pct = st.scale * 100;
    readout.textContent = `level ${target} · ${pct >= 10 ? Math.round(pct) : pct.toFixed(1)}%`;
    if (st.eventAt !== null && st.eventCold === null) st.eventCold = !complete;
    if (complete && st.eventAt !== null) {  // cold: the tiles had to come from the kernel
      probe.latency.push({ kind: st.eventKind, ms: performance.now() - st.eventAt,
                           level: target, cold: st.eventCold });
      st.eventAt = null;
    }
  }

  function queueDraw() {
    if (st.drawQueued) return;
    st.drawQueued = true;
    requestAnimationFrame(draw);
  }

  function sendView(now) {
    if (!st.levels.length) return;
    const elapsed = performance.now() - st.lastSent;
    clearTimeout(st.sendTimer);
    if (!now && elapsed < SEND_MS) {
      st.sendTimer = setTimeout(() => sendView(true), SEND_MS - elapsed);
      return;
    }
    st.lastSent = performance.now();
    const v = viewRect();
    const msg = { type: "view", id: ++st.reqId, x0: v.x0, y0: v.y0, x1: v.x1, y1: v.y1,
                  width: v.width, height: v.height, spec: st.spec,
                  have: Array.from(st.tiles.keys()) };
    probe.sent.push({ id: msg.id, x0: v.x0, y0: v.y0, x1: v.x1, y1: v.y1, width: v.width,
                      height: v.height });
    model.send(msg);
  }

  function moved(kind) {
    st.eventAt = performance.now();
    st.eventKind = kind;
    st.eventCold = null;
    card.style.display = "none";
    queueDraw();
    sendView(false);
  }

  function zoomAt(factor, px, py) {  // px, py: CSS pixels in the canvas
    const v = viewRect();
    const x = v.x0 + (px * st.dpr) / (st.scale * st.dpr);
    const y = v.y0 + (py * st.dpr) / (st.scale * st.dpr);
    const g0 = st.levels.length ? st.levels : null;
    if (!g0) return;
    const [h, w] = st.shape0;
    const minScale = Math.min(st.W / w, st.H / h) / 4, maxScale = 64;
    const scale = Math.min(maxScale, Math.max(minScale, st.scale * factor));
    const k = st.scale / scale;
    st.cx = x + (st.cx - x) * k;
    st.cy = y + (st.cy - y) * k;
    st.scale = scale;
  }

  function pointer(e) {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  function levelZeroAt(px, py) {
    const v = viewRect();
    return [v.x0 + px / st.scale, v.y0 + py / st.scale];
  }

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();  // the notebook does not scroll under the viewer
    const [px, py] = pointer(e);
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const factor = Math.exp(-e.deltaY * unit * (e.ctrlKey ? 0.01 : 0.002));
    zoomAt(factor, px, py);
    moved("wheel");
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    const [px, py] = pointer(e);
    drag = { px, py, cx: st.cx, cy: st.cy, moved: false };
    root.focus({ preventScroll: true });
  });
  canvas.addEventListener("pointermove", (e) => {
    const [px, py] = pointer(e);
    if (drag) {
      const dx = px - drag.px, dy = py - drag.py;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        st.cx = drag.cx - dx / st.scale;
        st.cy = drag.cy - dy / st.scale;
        canvas.classList.add("ngffkit-dragging");
        moved("drag");
      }
      return;
    }
    hoverAt(px, py);
  });
  canvas.addEventListener("pointerup", (e) => {
    const d = drag;
    drag = null;
    canvas.classList.remove("ngffkit-dragging");
    if (d && !d.moved) {
      const [px, py] = pointer(e);
      const [x, y] = levelZeroAt(px, py);
      model.send({ type: "click", x, y });
    }
  });
  canvas.addEventListener("pointerleave", () => { card.style.display = "none"; });
  function partAt(x, y) {
    return st.parts.find((p) => x >= p.x0 && x < p.x1 && y >= p.y0 && y < p.y1);
  }

  canvas.addEventListener("dblclick", (e) => {
    const [px, py] = pointer(e);
    const [x, y] = levelZeroAt(px, py);
    const p = partAt(x, y);
    if (p && (p.x1 - p.x0) * st.scale < st.W / 2 && (p.y1 - p.y0) * st.scale < st.H / 2) {
      // a small well of a mosaic: fit that well (its own field fills the view)
      st.scale = Math.min(st.W / (p.x1 - p.x0), st.H / (p.y1 - p.y0));
      st.cx = (p.x0 + p.x1) / 2;
      st.cy = (p.y0 + p.y1) / 2;
    } else {
      zoomAt(2, px, py);
    }
    moved("dblclick");
  });
  root.addEventListener("keydown", (e) => {
    const step = 64 / st.scale;
    const keys = {
      "+": () => zoomAt(1.5, st.W / 2, st.H / 2), "=": () => zoomAt(1.5, st.W / 2, st.H / 2),
      "-": () => zoomAt(1 / 1.5, st.W / 2, st.H / 2), "_": () => zoomAt(1 / 1.5, st.W / 2, st.H / 2),
      "0": () => fit(),
      ArrowLeft: () => { st.cx -= step; }, ArrowRight: () => { st.cx += step; },
      ArrowUp: () => { st.cy -= step; }, ArrowDown: () => { st.cy += step; },
    };
    const act = keys[e.key];
    if (!act) return;
    e.preventDefault();
    act();
    moved("key");
  });
  reset.addEventListener("click", () => { fit(); moved("key"); });

  function hoverAt(px, py) {
    const now = performance.now();
    clearTimeout(st.hoverTimer);
    if (now - st.lastHover < HOVER_MS) {
      st.hoverTimer = setTimeout(() => hoverAt(px, py), HOVER_MS);
      return;
    }
    st.lastHover = now;
    const [x, y] = levelZeroAt(px, py);
    st.hoverPos = [px, py];
    model.send({ type: "hover", id: ++st.hoverId, x, y });
  }

  function showCard(msg) {
    if (msg.id !== st.hoverId) return;  // the pointer has moved on
    card.dataset.where = msg.where || "";
    if (!msg.value && !msg.where) {  // background (or no label here): no card
      card.style.display = "none";
      card.dataset.value = "0";
      return;
    }
    const lines = msg.where ? [`<b>${esc(msg.where)}</b>`] : [];
    if (msg.value) lines.push(`<b>${esc(msg.label)}</b> #${msg.value}`);
    if (msg.row) {
      for (const [k, val] of Object.entries(msg.row)) {
        lines.push(`<span class="k">${esc(k)}</span> ${esc(val === null ? "–" : String(val))}`);
      }
    }
    card.innerHTML = lines.join("<br>");
    card.dataset.value = String(msg.value || 0);
    const [px, py] = st.hoverPos || [0, 0];
    card.style.left = `${Math.min(px + 14, st.W - 180)}px`;
    card.style.top = `${Math.min(py + 14, st.H - 40)}px`;
    card.style.display = "block";
  }

  function esc(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
                                                       '"': "&quot;" })[c]);
  }

  async function gotTiles(msg, buffers) {
    if (msg.spec !== st.spec) return;  // drawn for a spec no longer shown
    const n = msg.tiles.length;
    const metas = msg.tiles.concat(msg.sel);
    const bitmaps = await Promise.all(buffers.map((b, i) => {
      const bytes = new Uint8Array(b.buffer || b, b.byteOffset || 0, b.byteLength);
      if (msg.encoding === "raw") {
        const { w, h } = metas[i];
        const pixels = new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, w * h * 4);
        return createImageBitmap(new ImageData(pixels, w, h));
      }
      return createImageBitmap(new Blob([bytes], { type: "image/png" }));
    }));
    if (msg.spec !== st.spec) return;
    if (msg.reset_sel) st.sel.clear();
    msg.tiles.forEach((t, i) => {
      st.tiles.delete(t.key);
      st.tiles.set(t.key, { ...t, bitmap: bitmaps[i] });
    });
    msg.sel.forEach((t, i) => st.sel.set(t.key, { ...t, bitmap: bitmaps[n + i] }));
    while (st.tiles.size > MAX_TILES) st.tiles.delete(st.tiles.keys().next().value);
    const chosen = msg.selected || {};
    root.dataset.selected = chosen.value ? String(chosen.value) : "";
    status.style.display = "none";
    draw();  // at once: the latency mark is taken when the picture is complete
  }

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "tiles") gotTiles(msg, buffers);
    else if (msg.type === "hover") showCard(msg);
    else if (msg.type === "error") {
      status.textContent = msg.message;
      status.style.display = "block";
    }
  });

  function choicesChanged() {
    const names = model.get("choices") || [];
    select.replaceChildren(...names.map((n, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = n;
      return o;
    }));
    select.value = String(model.get("choice"));
    select.style.display = names.length > 1 ? "" : "none";
  }
  select.addEventListener("change", () => {
    model.set("choice", Number(select.value));
    model.save_changes();
  });

  model.on("change:levels", () => { levelsChanged(); queueDraw(); });
  model.on("change:grids change:parts", () => {
    st.grids = model.get("grids") || [];
    st.parts = model.get("parts") || [];
    queueDraw();
  });
  model.on("change:spec_key", specChanged);
  model.on("change:focus", focusChanged);
  model.on("change:title", () => { title.textContent = model.get("title"); });
  model.on("change:choices", choicesChanged);
  // the kernel names the well a pan brought to the middle (setting .value fires no "change")
  model.on("change:choice", () => { select.value = String(model.get("choice")); });
  model.on("change:width change:height", () => { size(); fit(); queueDraw(); sendView(true); });
  model.on("change:status", () => {
    const text = model.get("status");
    status.textContent = text;
    status.style.display = text ? "block" : "none";
  });

  size();
  title.textContent = model.get("title");
  choicesChanged();
  levelsChanged();
  if ((model.get("focus") || {}).box) focusChanged();
  st.spec = model.get("spec_key");
  st.eventAt = performance.now();
  st.eventKind = "open";
  st.eventCold = true;
  draw();
  sendView(true);
  return () => {
    clearTimeout(st.sendTimer);
    clearTimeout(st.hoverTimer);
  };
}

export default { render };
