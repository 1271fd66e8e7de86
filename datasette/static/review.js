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
  if (focused) { focused.focus(); focused.select(); }
  else if (inputs.length) {
    const low = document.querySelector(".rv-line.low .rv-text");
    (low || inputs[0]).focus();
  }
})();
