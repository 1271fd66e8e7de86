// Review page (issue 7, 15): keyboard moves between lines and the focused line's box lights
// up; lines save in the background and count as checked; the page image zooms and pans.
// Plain JavaScript shipped with the package: nothing is fetched from elsewhere.

// -- zoom and pan on the page image ---------------------------------------------------------
// The SVG's viewBox is the part of the page on show: zooming narrows it around a point,
// panning moves it. The element keeps its size (same aspect ratio), so the boxes stay on the
// handwriting at every zoom.
const rvZoom = (function () {
  const svg = document.getElementById("rv-svg");
  if (!svg) return null;
  const W = Number(svg.dataset.width), H = Number(svg.dataset.height);
  if (!W || !H) return null;
  const MAX = 8;
  const vb = { x: 0, y: 0, w: W, h: H };
  const level = document.getElementById("rv-zoom-level");
  function apply() {
    svg.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h);
    svg.classList.toggle("zoomed", vb.w < W);
    if (level) level.textContent = Math.round((100 * W) / vb.w) + "%";
  }
  function clamp() {
    vb.w = Math.min(W, Math.max(W / MAX, vb.w));
    vb.h = (vb.w * H) / W;
    vb.x = Math.min(W - vb.w, Math.max(0, vb.x));
    vb.y = Math.min(H - vb.h, Math.max(0, vb.y));
  }
  // f > 1 zooms in, around the image point (cx, cy) (the centre by default)
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = vb.x + vb.w / 2; cy = vb.y + vb.h / 2; }
    const nw = Math.min(W, Math.max(W / MAX, vb.w / f));
    const k = nw / vb.w;
    vb.x = cx - (cx - vb.x) * k;
    vb.y = cy - (cy - vb.y) * k;
    vb.w = nw;
    clamp();
    apply();
  }
  function pan(dx, dy) { vb.x += dx; vb.y += dy; clamp(); apply(); }
  function fit() { vb.x = 0; vb.y = 0; vb.w = W; clamp(); apply(); }
  // show an image box (a line) in the middle of the view when zoomed in
  function show(x0, y0, x1, y1) {
    if (vb.w >= W) return;
    vb.x = (x0 + x1) / 2 - vb.w / 2;
    vb.y = (y0 + y1) / 2 - vb.h / 2;
    clamp();
    apply();
  }
  function toImage(ev) {
    const r = svg.getBoundingClientRect();
    return { x: vb.x + ((ev.clientX - r.left) / r.width) * vb.w,
             y: vb.y + ((ev.clientY - r.top) / r.height) * vb.h };
  }
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = toImage(ev);
    zoom(ev.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
  }, { passive: false });
  // drag to pan; a drag is not a click on a line box
  let drag = null;
  const holder = document.getElementById("rv-image");
  // a press on the image gives it the keyboard (for + - 0 and the arrows) without the
  // browser scrolling the page to it or starting a text selection
  svg.addEventListener("mousedown", (ev) => {
    ev.preventDefault();
    if (holder) holder.focus({ preventScroll: true });
  });
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, moved: false };
  });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      pan((-dx / r.width) * vb.w, (-dy / r.height) * vb.h);
      drag.x = ev.clientX;
      drag.y = ev.clientY;
    }
  });
  window.addEventListener("pointerup", () => {
    if (drag && drag.moved) {
      svg.dataset.dragged = "1";
      setTimeout(() => { delete svg.dataset.dragged; }, 0);
    }
    drag = null;
  });
  const btn = (id, fn) => { const b = document.getElementById(id); if (b) b.addEventListener("click", fn); };
  btn("rv-zoom-in", () => zoom(1.5));
  btn("rv-zoom-out", () => zoom(1 / 1.5));
  btn("rv-zoom-fit", fit);
  // keys on the focused image: + - 0 and the arrows
  if (holder) {
    holder.addEventListener("keydown", (ev) => {
      const step = vb.w / 8;
      const keys = {
        "+": () => zoom(1.5), "=": () => zoom(1.5), "-": () => zoom(1 / 1.5), "0": fit,
        ArrowLeft: () => pan(-step, 0), ArrowRight: () => pan(step, 0),
        ArrowUp: () => pan(0, -step), ArrowDown: () => pan(0, step),
      };
      if (keys[ev.key] && !ev.altKey && !ev.ctrlKey && !ev.metaKey) { ev.preventDefault(); keys[ev.key](); }
    });
  }
  // from anywhere, typing included: Alt+= Alt+- Alt+0
  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const keys = { "=": () => zoom(1.5), "+": () => zoom(1.5), "-": () => zoom(1 / 1.5), "0": fit };
    const code = { Equal: "=", Minus: "-", Digit0: "0", NumpadAdd: "+", NumpadSubtract: "-", Numpad0: "0" }[ev.code];
    const act = keys[ev.key] || keys[code];
    if (act) { ev.preventDefault(); act(); }
  });
  apply();
  return { zoom, pan, fit, show, view: vb };
})();

// -- moving between lines -------------------------------------------------------------------
(function () {
  const inputs = Array.from(document.querySelectorAll(".rv-text"));
  function box(input, on) {
    const id = input.closest(".rv-line").dataset.line;
    const el = document.getElementById("box-" + id);
    if (el) {
      el.classList.toggle("hot", on);
      if (on && rvZoom) {
        const x = Number(el.getAttribute("x")), y = Number(el.getAttribute("y"));
        rvZoom.show(x, y, x + Number(el.getAttribute("width")), y + Number(el.getAttribute("height")));
      }
      if (on && el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
    }
  }
  inputs.forEach((input, i) => {
    input.addEventListener("focus", () => box(input, true));
    input.addEventListener("blur", () => box(input, false));
    input.addEventListener("input", () => input.classList.toggle("dirty", input.value !== input.dataset.original));
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" && inputs[i + 1]) { ev.preventDefault(); inputs[i + 1].focus(); }
      else if (ev.key === "ArrowUp" && inputs[i - 1]) { ev.preventDefault(); inputs[i - 1].focus(); }
      else if (ev.key === "Escape") { input.value = input.dataset.original; input.classList.remove("dirty"); }
    });
  });
  const svg = document.getElementById("rv-svg");
  document.querySelectorAll(".rv-box").forEach((rect) => {
    rect.addEventListener("click", () => {
      if (svg && svg.dataset.dragged) return;
      const input = document.getElementById("line-" + rect.dataset.line);
      if (input) input.focus();
    });
  });
  const focused = document.querySelector(".rv-text[autofocus]");
  if (focused) { focused.focus(); focused.setSelectionRange(focused.value.length, focused.value.length); }
  else if (inputs.length) {
    const low = document.querySelector(".rv-line.low .rv-text");
    (low || inputs[0]).focus();
  }
})();

// -- saving in the background, progress ----------------------------------------------------
// A line's 保存 / Enter posts to the JSON save route and leaves every other unsaved edit
// where it is; saved or confirmed as it stands, the line counts as checked (n/N above);
// 全部保存 saves all edited lines; “其余各行无误” confirms the rest; leaving the page with
// unsaved edits asks first, and so do split and merge.
(function () {
  const forms = Array.from(document.querySelectorAll("form.rv-line-form"));
  const status = document.getElementById("rv-save-status");
  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("rv-bad", !!bad);
  }
  function dirty() {
    return forms.filter((f) => {
      const t = f.querySelector(".rv-text");
      return t && t.value !== t.dataset.original;
    });
  }
  function progress() {
    const n = document.querySelectorAll(".rv-line.done").length;
    const total = forms.length;
    const count = document.getElementById("rv-checked");
    const bar = document.getElementById("rv-progress-bar");
    const done = document.getElementById("rv-page-done");
    if (count) count.textContent = String(n);
    if (bar) bar.value = n;
    if (done) done.hidden = !(total && n >= total);
    return n >= total;
  }
  async function save(form) {
    const input = form.querySelector(".rv-text");
    const line = form.closest(".rv-line");
    const sent = input.value;
    line.classList.add("saving");
    try {
      // form.action is the input named "action" here: read the attribute
      const resp = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),  // urlencoded, as the form posts
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!resp.ok) {
        const why = { 409: "别人已先修改此行，请刷新后再改", 503: "档案只读，无法保存", 403: "没有校对权限或登录已过期" };
        throw new Error(why[resp.status] || "保存失败（" + resp.status + "）");
      }
      input.dataset.original = sent;
      form.querySelector("input[name=expected]").value = sent;
      input.classList.toggle("dirty", input.value !== sent);
      line.classList.add("done");
      line.classList.remove("low", "rv-failed");
      const rect = document.getElementById("box-" + line.dataset.line);
      if (rect) { rect.classList.add("done"); rect.classList.remove("low"); }
      progress();
      return true;
    } catch (err) {
      line.classList.add("rv-failed");
      say("未保存：" + err.message, true);
      return false;
    } finally {
      line.classList.remove("saving");
    }
  }
  forms.forEach((form, i) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (await save(form)) {
        const left = dirty().length;
        say((progress() ? "已保存，本页已校完" : "已保存") + (left ? "；还有 " + left + " 行未保存" : ""), false);
        const next = forms[i + 1] && forms[i + 1].querySelector(".rv-text");
        if (next) { next.focus(); next.setSelectionRange(next.value.length, next.value.length); }
      }
    });
  });
  const all = document.getElementById("rv-save-all");
  if (all) {
    all.addEventListener("click", async () => {
      const todo = dirty();
      let ok = 0;
      for (const f of todo) { if (await save(f)) ok += 1; }
      if (ok === todo.length) say(todo.length ? "全部已保存（" + ok + " 行）" : "没有未保存的修改", false);
    });
  }
  const rest = document.getElementById("rv-check-rest");
  if (rest) {
    rest.addEventListener("click", async () => {
      const todo = forms.filter((f) => !f.closest(".rv-line").classList.contains("done") || dirty().includes(f));
      let ok = 0;
      for (const f of todo) { if (await save(f)) ok += 1; }
      if (ok === todo.length) say(progress() ? "本页已校完" : "已保存 " + ok + " 行", false);
    });
  }
  window.addEventListener("beforeunload", (ev) => {
    if (dirty().length) { ev.preventDefault(); ev.returnValue = ""; }
  });
  // forms that reload the page (split, merge, move, entry values): split and merge ask
  // first, and every one of them warns about unsaved lines
  document.querySelectorAll("form:not(.rv-line-form)").forEach((f) => {
    f.addEventListener("submit", (ev) => {
      const n = dirty().length;
      const parts = [];
      if (f.dataset.confirm) parts.push(f.dataset.confirm);
      if (n) parts.push("还有 " + n + " 行修改未保存，离开此页会丢失。仍要继续吗？");
      if (parts.length && !window.confirm(parts.join("\n"))) ev.preventDefault();
    });
  });
})();
