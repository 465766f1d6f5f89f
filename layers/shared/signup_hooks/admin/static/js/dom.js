// Small helpers to build the page's elements: every value from the API goes in as text, never as markup.

export const $ = (id) => document.getElementById(id);

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

export function facts(pairs) {
  const dl = element("dl", "state");
  for (const [term, value] of pairs) {
    const dd = element("dd");
    dd.append(value);
    dl.append(element("dt", "", term), dd);
  }
  return dl;
}

// A region where an action's result appears: in the page (empty) before the result is, so that screen readers
// announce the result when it comes.
export function resultRegion(id) {
  const region = element("div", "result");
  region.id = id;
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  return region;
}
