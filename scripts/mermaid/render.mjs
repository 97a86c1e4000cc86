// Real Mermaid in Debian's Chromium, for sopgate's pictures and tests.
//
//   node render.mjs png SUMMARY.md OUT.png   a Markdown summary as GitHub shows it (GFM tables,
//                                            Mermaid diagrams), as one full-page PNG
//   node render.mjs check FILE...            render every Mermaid file; exit 1 naming each one
//                                            Mermaid cannot parse or draw
//
// Chromium: $CHROMIUM, else /usr/bin/chromium (run headless with --no-sandbox: CI runs as root).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { marked } from "marked";
import puppeteer from "puppeteer";

const here = path.dirname(fileURLToPath(import.meta.url));
const MERMAID = path.join(here, "node_modules", "mermaid", "dist", "mermaid.min.js");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// Close to GitHub's comment styles: the point is to see what readers see.
const CSS = `
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 14px; line-height: 1.5; color: #1f2328; background: #fff; margin: 0;
  padding: 24px; width: 880px; }
h2 { border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; font-size: 1.5em; }
h3 { font-size: 1.25em; margin-top: 24px; }
code { background: #eff1f3; padding: .2em .4em; border-radius: 6px; font-size: 85%;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
.mermaid { margin: 16px 0; }
`;

async function launch() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

// Render every <code class="language-mermaid"> of the page in place; return the errors.
async function drawAll(page) {
  await page.addScriptTag({ path: MERMAID });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    const problems = [];
    const blocks = [...document.querySelectorAll("code.language-mermaid")];
    for (const [i, code] of blocks.entries()) {
      const box = document.createElement("div");
      box.className = "mermaid";
      try {
        // eslint-disable-next-line no-undef
        const { svg } = await mermaid.render(`diagram${i}`, code.textContent);
        box.innerHTML = svg;
      } catch (error) {
        problems.push(`${code.dataset.source || `diagram ${i + 1}`}: ${error.message || error}`);
      }
      code.parentElement.replaceWith(box);
    }
    return problems;
  });
}

function page(body) {
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style></head>` +
    `<body>${body}</body></html>`;
}

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

async function png(input, output) {
  const html = marked.parse(fs.readFileSync(input, "utf8"), { gfm: true });
  const browser = await launch();
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 928, height: 600, deviceScaleFactor: 1 });
    await tab.setContent(page(html));
    const problems = await drawAll(tab);
    if (problems.length) {
      console.error(problems.join("\n"));
      return 1;
    }
    await tab.screenshot({ path: output, fullPage: true });
    console.log(`wrote ${output}`);
    return 0;
  } finally {
    await browser.close();
  }
}

async function check(files) {
  const blocks = files.map((file) =>
    `<pre><code class="language-mermaid" data-source="${escapeHtml(file)}">` +
    `${escapeHtml(fs.readFileSync(file, "utf8"))}</code></pre>`);
  const browser = await launch();
  try {
    const tab = await browser.newPage();
    await tab.setContent(page(blocks.join("\n")));
    const problems = await drawAll(tab);
    for (const problem of problems) console.error(problem);
    console.log(`${files.length} diagrams, ${problems.length} failed to render`);
    return problems.length ? 1 : 0;
  } finally {
    await browser.close();
  }
}

const [command, ...args] = process.argv.slice(2);
let code = 2;
if (command === "png" && args.length === 2) code = await png(args[0], args[1]);
else if (command === "check" && args.length > 0) code = await check(args);
else console.error("usage: node render.mjs png SUMMARY.md OUT.png | check FILE...");
process.exit(code);
