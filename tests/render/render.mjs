// Renders a job summary the way GitHub shows it, for tests/test_render_github.py.
//
//   node render.mjs --in SUMMARY.md --out DIR/NAME
//
// 1. GitHub-flavoured Markdown to HTML with cmark-gfm, GitHub's own engine (Debian's package),
//    with GitHub's extensions and <pre lang="…"> code blocks, raw HTML passed on to step 2.
// 2. GitHub's sanitising: html-pipeline's SanitizationFilter allowlist, applied with sanitize-html.
//    Element and attribute counts before and after say what it stripped.
// 3. Every <pre lang="mermaid"> block of the sanitised page goes through mermaid.parse and
//    mermaid.render in headless Chromium (the system's /usr/bin/chromium, no network), and its SVG
//    replaces the block the way GitHub's viewer does.
// 4. A full-page screenshot of the result.
//
// Writes DIR/NAME.html (the sanitised HTML), DIR/NAME.page.html (with the charts), DIR/NAME.png
// and DIR/NAME.json (what the test reads). Exit status: 0 when every block rendered and nothing
// was stripped, 1 when something did not, 2 when the renderer itself could not run.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parseArgs } from "node:util";

import { Parser } from "htmlparser2";
import { chromium } from "playwright-core";
import sanitizeHtml from "sanitize-html";

const require = createRequire(import.meta.url);

const { values: args } = parseArgs({
  options: {
    in: { type: "string" },
    out: { type: "string" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
    "cmark-gfm": { type: "string", default: process.env.CMARK_GFM || "cmark-gfm" },
    width: { type: "string", default: "1280" },
    timeout: { type: "string", default: "50000" },
  },
});

function fatal(message) {
  process.stderr.write(`render.mjs: ${message}\n`);
  if (args.out) {
    try {
      writeFileSync(`${args.out}.json`, JSON.stringify({ fatal: message }, null, 2));
    } catch {
      // the message on stderr is enough
    }
  }
  process.exit(2);
}

if (!args.in || !args.out) fatal("usage: node render.mjs --in SUMMARY.md --out DIR/NAME");
setTimeout(() => fatal(`gave up after ${args.timeout} ms`), Number(args.timeout)).unref();

// --- 1. cmark-gfm, as github.com runs it -----------------------------------------------------
// GitHub enables these extensions, renders raw HTML (its sanitiser runs next) and writes fenced
// blocks as <pre lang="INFO"><code>, which is what its Mermaid viewer looks for.
const CMARK_ARGS = [
  "--unsafe",
  "--github-pre-lang",
  ...["table", "strikethrough", "autolink", "tagfilter", "tasklist", "footnotes"].flatMap((e) => ["-e", e]),
];

// --- 2. html-pipeline's SanitizationFilter ---------------------------------------------------
// The allowlist GitHub publishes through gjtorikian/html-pipeline. Its two published generations
// (2.x, on the Sanitize gem, and 3.x, on Selma) differ a little; this is what both allow, so what
// survives here survives either.
const ELEMENTS = [
  ...["h1", "h2", "h3", "h4", "h5", "h6", "br", "b", "i", "strong", "em", "a", "pre", "code", "img", "tt"],
  ...["div", "ins", "del", "sup", "sub", "p", "ol", "ul", "table", "thead", "tbody", "tfoot", "blockquote"],
  ...["dl", "dt", "dd", "kbd", "q", "samp", "var", "hr", "ruby", "rt", "rp", "li", "tr", "td", "th", "s"],
  ...["strike", "summary", "details"],
];
const ANY_ELEMENT_ATTRIBUTES = [
  ...["abbr", "accept", "accept-charset", "accesskey", "action", "align", "alt", "axis", "border"],
  ...["cellpadding", "cellspacing", "char", "charoff", "charset", "checked", "clear", "cols", "colspan"],
  ...["color", "compact", "coords", "datetime", "dir", "disabled", "enctype", "for", "frame", "headers"],
  ...["height", "hreflang", "hspace", "ismap", "label", "lang", "maxlength", "media", "method", "multiple"],
  ...["name", "nohref", "noshade", "nowrap", "open", "prompt", "readonly", "rel", "rev", "rows", "rowspan"],
  ...["rules", "scope", "selected", "shape", "size", "span", "start", "summary", "tabindex", "title", "type"],
  ...["usemap", "valign", "value", "width", "itemprop"],
];
const SANITIZE = {
  allowedTags: ELEMENTS,
  allowedAttributes: {
    "*": ANY_ELEMENT_ATTRIBUTES,
    a: ["href"],
    img: ["src", "longdesc"],
    div: ["itemscope", "itemtype"],
    blockquote: ["cite"],
    del: ["cite"],
    ins: ["cite"],
    q: ["cite"],
  },
  allowedClasses: {},
  allowedStyles: {},
  allowedSchemes: ["http", "https", "mailto", "github-windows", "github-mac"],
  allowedSchemesByTag: { img: ["http", "https"], blockquote: ["http", "https"], q: ["http", "https"] },
  allowedSchemesAppliedToAttributes: ["href", "src", "cite", "longdesc"],
  allowProtocolRelative: true,
  disallowedTagsMode: "discard", // an element off the list goes, its text stays (as in Sanitize)
  // ... except these, whose content goes with them (Sanitize's remove_contents and its defaults).
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "iframe", "math", "noembed", "noframes"]
    .concat(["plaintext", "svg", "xmp", "title"]),
  allowVulnerableTags: false,
  enforceHtmlBoundary: false,
};

/** Tag and tag[attribute] counts, the text and the text of each <code> of an HTML fragment. */
function inventory(html) {
  const elements = {};
  const attributes = {};
  const codes = [];
  let text = "";
  let code = null;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        elements[name] = (elements[name] || 0) + 1;
        for (const attr of Object.keys(attribs)) {
          const key = `${name}[${attr}]`;
          attributes[key] = (attributes[key] || 0) + 1;
        }
        if (name === "code") code = "";
      },
      ontext(data) {
        text += data;
        if (code !== null) code += data;
      },
      onclosetag(name) {
        if (name === "code" && code !== null) {
          codes.push(code);
          code = null;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { elements, attributes, text, codes };
}

function lost(before, after) {
  const out = {};
  for (const [key, count] of Object.entries(before)) {
    const left = after[key] || 0;
    if (left < count) out[key] = count - left;
  }
  return out;
}

// --- 3 and 4. the page, Mermaid and the screenshot ---------------------------------------------
// A GitHub-like look for the screenshot (written for this test, after github.com's light theme).
const CSS = `
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; max-width: 1012px; margin: 0 auto; padding: 32px;
  font: 16px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, "DejaVu Sans", sans-serif,
  "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", "Droid Sans Fallback"; color: #1f2328; word-wrap: break-word; }
.markdown-body h2 { font-size: 1.5em; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
.markdown-body h3 { font-size: 1.25em; }
.markdown-body h2, .markdown-body h3 { margin: 24px 0 16px; font-weight: 600; line-height: 1.25; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body pre,
.markdown-body blockquote, .markdown-body details { margin: 0 0 16px; }
.markdown-body table { display: block; width: max-content; max-width: 100%; overflow: auto;
  border-spacing: 0; border-collapse: collapse; }
.markdown-body th { font-weight: 600; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body tr { border-top: 1px solid #d1d9e0b3; }
.markdown-body tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body code, .markdown-body tt { padding: .2em .4em; font-size: 85%; white-space: break-spaces;
  background: #818b981f; border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.markdown-body pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; background: #f6f8fa;
  border-radius: 6px; }
.markdown-body pre code { padding: 0; background: transparent; white-space: pre; }
.markdown-body blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.markdown-body ul { padding-left: 2em; }
.markdown-body .markdown-alert { margin: 0 0 16px; padding: .5rem 1rem; border-left: .25em solid #0969da; }
.markdown-body .markdown-alert > :last-child { margin-bottom: 0; }
.markdown-body .markdown-alert-title { margin: 0 0 4px; font-weight: 500; color: #0969da; }
.markdown-body .mermaid-chart { margin: 0 0 16px; padding: 8px; border: 1px solid #d1d9e0; border-radius: 6px; }
.markdown-body .mermaid-chart svg { display: block; margin: 0 auto; }
.markdown-body pre.mermaid-error { border: 2px solid #d1242f; }
.markdown-body .mermaid-error-message { color: #d1242f; font-weight: 600; }
`;

function page(body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>job summary</title><style>${CSS}</style></head>
<body><article class="markdown-body">
${body}
</article></body></html>
`;
}

/** Runs in the page: GitHub's alerts (> [!NOTE] …), which it styles after sanitising. */
function markAlerts() {
  /* global document */
  let count = 0;
  for (const quote of document.querySelectorAll("blockquote")) {
    const first = quote.querySelector("p");
    const match = first && /^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*/.exec(first.textContent);
    if (!match || quote.firstElementChild !== first) continue;
    const kind = match[1].toLowerCase();
    const alert = document.createElement("div");
    alert.className = `markdown-alert markdown-alert-${kind}`;
    const title = document.createElement("p");
    title.className = "markdown-alert-title";
    title.textContent = kind[0].toUpperCase() + kind.slice(1);
    first.firstChild.textContent = first.firstChild.textContent.replace(/^\[!\w+\]\s*/, "");
    alert.append(title, ...quote.childNodes);
    quote.replaceWith(alert);
    count += 1;
  }
  return count;
}

/** Runs in the page: every mermaid block through Mermaid, as GitHub's viewer would. */
async function renderBlocks() {
  /* global mermaid, document */
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
  const maxTextSize = mermaid.mermaidAPI.getConfig().maxTextSize;

  const context = (node) => {
    for (let el = node.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    return "";
  };

  const results = [];
  const blocks = [...document.querySelectorAll('pre[lang="mermaid"]')];
  for (const [index, pre] of blocks.entries()) {
    const source = pre.textContent;
    const result = { index, context: context(pre), source, chars: source.length, ok: false, error: null };
    try {
      // Past maxTextSize Mermaid does not fail: it draws "Maximum text size in diagram exceeded".
      if (source.length > maxTextSize) {
        throw new Error(`${source.length} characters, over Mermaid's maxTextSize of ${maxTextSize}`);
      }
      const parsed = await mermaid.parse(source);
      result.diagramType = parsed.diagramType;
      const { svg } = await mermaid.render(`mermaid-${index}`, source);
      const holder = document.createElement("div");
      holder.className = "mermaid-chart";
      holder.innerHTML = svg;
      pre.replaceWith(holder);
      const el = holder.querySelector("svg");
      const box = el.getBoundingClientRect();
      result.roleDescription = el.getAttribute("aria-roledescription");
      result.width = Math.round(box.width);
      result.height = Math.round(box.height);
      result.svgChars = svg.length;
      result.linePaths = [...el.querySelectorAll('g[class^="line-plot"] path')].filter(
        (p) => (p.getAttribute("d") || "").length > 0,
      ).length;
      result.bars = el.querySelectorAll('g[class^="bar-plot"] rect').length;
      result.nonFiniteInSvg = /NaN|Infinity/.test(svg);
      if (result.roleDescription === "error") throw new Error("Mermaid drew its error diagram");
      if (result.nonFiniteInSvg) throw new Error("the SVG has NaN or Infinity coordinates");
      result.ok = true;
    } catch (err) {
      result.error = String(err && err.message ? err.message : err);
      pre.classList.add("mermaid-error");
      const note = document.createElement("p");
      note.className = "mermaid-error-message";
      note.textContent = `Mermaid error in block ${index}: ${result.error}`;
      pre.before(note);
    }
    // Mermaid leaves a scratch element per render in the body; drop any that stayed behind.
    document.getElementById(`dmermaid-${index}`)?.remove();
    results.push(result);
  }
  return results;
}

function pngSize(path) {
  const png = readFileSync(path);
  const signature = png.subarray(0, 8).toString("hex");
  if (signature !== "89504e470d0a1a0a") return { bytes: png.length, width: 0, height: 0 };
  return { bytes: png.length, width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function main() {
  const started = Date.now();
  const markdown = readFileSync(args.in, "utf8");
  mkdirSync(dirname(args.out), { recursive: true });

  let html;
  try {
    html = execFileSync(args["cmark-gfm"], CMARK_ARGS, { input: markdown, encoding: "utf8", maxBuffer: 64 << 20 });
  } catch (err) {
    fatal(`cmark-gfm failed (${args["cmark-gfm"]}): ${err.message}`);
  }
  const clean = sanitizeHtml(html, SANITIZE);
  writeFileSync(`${args.out}.html`, page(clean));
  const before = inventory(html);
  const after = inventory(clean);

  try {
    statSync(args.chromium);
  } catch {
    fatal(`no Chromium at ${args.chromium}`);
  }
  const browser = await chromium.launch({
    executablePath: args.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
    timeout: 30000,
  });
  const chromiumVersion = browser.version();
  let blocks;
  let alerts;
  let tables;
  const pageErrors = [];
  const consoleErrors = [];
  try {
    const context = await browser.newContext({
      viewport: { width: Number(args.width), height: 800 },
      deviceScaleFactor: 1,
      offline: true,
    });
    await context.route("**/*", (route) => route.abort()); // nothing is fetched: all is inline
    const tab = await context.newPage();
    tab.on("pageerror", (err) => pageErrors.push(String(err.message || err)));
    tab.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
    await tab.setContent(page(clean), { waitUntil: "load" });
    await tab.addScriptTag({ path: require.resolve("mermaid/dist/mermaid.min.js") });
    alerts = await tab.evaluate(markAlerts);
    blocks = await tab.evaluate(renderBlocks);
    // How much of each table shows without scrolling sideways in this width.
    tables = await tab.evaluate(() =>
      [...document.querySelectorAll("table")].map((t) => ({ scrollWidth: t.scrollWidth, clientWidth: t.clientWidth })),
    );
    await tab.evaluate(() => document.querySelectorAll("script").forEach((s) => s.remove()));
    writeFileSync(`${args.out}.page.html`, await tab.content());
    await tab.screenshot({ path: `${args.out}.png`, fullPage: true });
  } finally {
    await browser.close();
  }

  const result = {
    input: args.in,
    versions: {
      cmarkGfm: execFileSync(args["cmark-gfm"], ["--version"], { encoding: "utf8" }).split("\n")[0],
      chromium: chromiumVersion,
      mermaid: require("mermaid/package.json").version,
      sanitizeHtml: require("sanitize-html/package.json").version,
      playwrightCore: require("playwright-core/package.json").version,
    },
    before: before.elements,
    after: after.elements,
    strippedElements: lost(before.elements, after.elements),
    strippedAttributes: lost(before.attributes, after.attributes),
    textUnchanged: before.text === after.text,
    codeTexts: after.codes,
    alerts,
    tables,
    blocks,
    pageErrors,
    consoleErrors,
    screenshot: { path: `${args.out}.png`, ...pngSize(`${args.out}.png`) },
    seconds: (Date.now() - started) / 1000,
  };
  result.ok =
    blocks.every((b) => b.ok) &&
    Object.keys(result.strippedElements).length === 0 &&
    Object.keys(result.strippedAttributes).length === 0 &&
    result.textUnchanged;
  writeFileSync(`${args.out}.json`, JSON.stringify(result, null, 2));
  const failed = blocks.filter((b) => !b.ok);
  process.stderr.write(
    `render.mjs: ${blocks.length} mermaid block(s), ${failed.length} failed; ` +
      `stripped ${JSON.stringify(result.strippedElements)} ${JSON.stringify(result.strippedAttributes)}; ` +
      `${result.screenshot.width}x${result.screenshot.height} ${result.screenshot.path} in ${result.seconds}s\n`,
  );
  for (const b of failed) process.stderr.write(`  block ${b.index} (${b.context}): ${b.error}\n`);
  process.exit(result.ok ? 0 : 1);
}

main().catch((err) => fatal(err && err.stack ? err.stack : String(err)));
