() => {
  // What a reader would see go wrong: the page or a block wider than the screen, and text whose
  // colour is too close to what is behind it (WCAG 2 contrast, 4.5:1).
  const rgba = (text) => (text.match(/[\d.]+/g) || ["0", "0", "0", "0"]).map(Number).concat([1]).slice(0, 4);
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const blend = (top, bottom) => top.slice(0, 3).map((c, i) => c * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const backdrop = (element) => {
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reverse().reduce((under, layer) => blend(layer, under), [255, 255, 255, 1]);
  };
  const visible = (element) => {
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0
          || (style.overflow === "hidden" && node.getBoundingClientRect().width <= 1)) return false;
    }
    return true;
  };
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const element = text.parentElement;
    if (!text.textContent.trim() || seen.has(element) || !visible(element)) continue;
    seen.add(element);
    const style = getComputedStyle(element);
    const back = backdrop(element);
    const fore = blend(rgba(style.color), back);
    const [a, b] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(`${element.tagName} "${text.textContent.trim().slice(0, 30)}" ${style.color} on rgb(${back.slice(0, 3).map(Math.round)}) ${ratio.toFixed(2)}`);
  }
  const overflow = [...document.querySelectorAll("body *")]
    .filter((element) => element.scrollWidth > element.clientWidth + 1 && element.clientWidth > 0
            && getComputedStyle(element).overflowX !== "visible" && visible(element))
    .map((element) => `${element.tagName}.${element.className} ${element.scrollWidth} > ${element.clientWidth}`);
  const right = Math.max(...[...document.querySelectorAll("body *")].filter(visible)
    .map((element) => element.getBoundingClientRect().right));
  return {width: Math.max(document.documentElement.scrollWidth, Math.ceil(right)), overflow, low};
}
