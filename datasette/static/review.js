// Review page: keyboard moves between lines, the focused line's box lights up.
(function () {
  const inputs = Array.from(document.querySelectorAll(".rv-text"));
  function box(input, on) {
    const id = input.closest(".rv-line").dataset.line;
    const el = document.getElementById("box-" + id);
    if (el) {
      el.classList.toggle("hot", on);
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
  document.querySelectorAll(".rv-box").forEach((rect) => {
    rect.addEventListener("click", () => {
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

// Saving in the background (issue 15): a line's 保存 / Enter posts to the JSON save route and
// leaves every other unsaved edit where it is; 全部保存 saves all edited lines; leaving the
// page with unsaved edits asks first.
(function () {
  const forms = Array.from(document.querySelectorAll("form.rv-line-form"));
  if (!forms.length) return;
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
      line.classList.remove("rv-failed");
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
        say("已保存" + (left ? "；还有 " + left + " 行未保存" : ""), false);
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
  window.addEventListener("beforeunload", (ev) => {
    if (dirty().length) { ev.preventDefault(); ev.returnValue = ""; }
  });
  // forms that reload the page (split, move, entry values) ask first when lines are unsaved
  document.querySelectorAll("form:not(.rv-line-form)").forEach((f) => {
    f.addEventListener("submit", (ev) => {
      const n = dirty().length;
      if (n && !window.confirm("还有 " + n + " 行修改未保存，离开此页会丢失。仍要继续吗？")) ev.preventDefault();
    });
  });
})();
