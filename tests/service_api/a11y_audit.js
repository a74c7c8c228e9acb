// Run in the page by test_dashboard_browser.py: WCAG AA contrast (4.5:1) of every visible
// text against the background it is drawn on, and the size of every control a finger hits.
(() => {
  const lum = c => { const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(v => {
    v = v / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const opaque = c => !/rgba\(.*,\s*0\)$/.test(c) && c !== "transparent";
  const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (opaque(c)) return c; } return "rgb(255, 255, 255)"; };
  const low = [], small = [];
  for (const el of document.querySelectorAll("body *:not(svg):not(svg *)")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
    if ([...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) {
      const a = lum(getComputedStyle(el).color), b = lum(bg(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) low.push(`${el.tagName}.${el.className} '${el.textContent.trim().slice(0, 20)}' ${ratio.toFixed(2)}`);
    }
    if (el.matches("button, select, input:not([type=checkbox]), textarea, nav a") && r.height < 44)
      small.push(`${el.tagName} '${(el.textContent || el.name || "").trim().slice(0, 20)}' ${r.height}px`);
    if (el.matches("input[type=checkbox]") && el.closest("label").getBoundingClientRect().height < 44)
      small.push(`checkbox ${el.dataset.signalPick} label`);
  }
  return {low, small};
})
