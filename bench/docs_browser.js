// Times the docs sites of bench/docs.sh in headless Chromium (CDP over --remote-debugging-pipe;
// Node's standard library only, no npm package). Run by bench/docs.sh:
//
//   node bench/docs_browser.js CHROMIUM KILN_SITE_DIR NODE_ID QUERY [DBT_SITE_DIR]
//
// kiln's site is opened from file:// (as a reader opening target/index.html would), dbt's is
// served over HTTP on 127.0.0.1 (its page fetches manifest.json and catalog.json, which
// Chromium refuses from file://). Prints one JSON object of timings in milliseconds.
'use strict';
const { spawn } = require('child_process');
const http = require('http');
const fs = require('fs');
const path = require('path');
const os = require('os');

const [chrome, kilnDir, nodeId, query, dbtDir] = process.argv.slice(2);

function startBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-chromium-'));
  const child = spawn(chrome, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
  const toBrowser = child.stdio[3], fromBrowser = child.stdio[4];
  let id = 0, buf = Buffer.alloc(0);
  const waiting = new Map(), listeners = [];
  fromBrowser.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let end;
    while ((end = buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(buf.subarray(0, end).toString('utf8'));
      buf = buf.subarray(end + 1);
      if (msg.id && waiting.has(msg.id)) {
        const w = waiting.get(msg.id); waiting.delete(msg.id);
        msg.error ? w.fail(new Error(JSON.stringify(msg.error))) : w.ok(msg.result);
      } else listeners.forEach((l) => l(msg));
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const m = { id: ++id, method, params };
    if (sessionId) m.sessionId = sessionId;
    waiting.set(m.id, { ok, fail });
    toBrowser.write(JSON.stringify(m) + '\0');
  });
  return { child, send, listeners, profile };
}

async function page(b) {
  const { targetId } = await b.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await b.send('Target.attachToTarget', { targetId, flatten: true });
  const s = (method, params) => b.send(method, params, sessionId);
  await s('Page.enable'); await s('Runtime.enable');
  const evaluate = async (expression) => {
    const r = await s('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  const until = async (expression, ms = 600000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      try { if (await evaluate(expression)) return; } catch (e) { if (process.env.BENCH_DEBUG) process.stderr.write(String(e) + '\n'); }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('timed out: ' + expression);
  };
  return { s, evaluate, until, close: () => b.send('Target.closeTarget', { targetId }) };
}

function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css' };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(req.url.split('?')[0]).replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, rel);
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function kiln(b, rounds) {
  const out = { first_view: [], first_view_wall: [], node_page: [], search: [], neighbourhood: [], expand: [], column_search: [] };
  for (let r = 0; r < rounds; r++) {
    const p = await page(b);
    const t0 = Date.now();
    await p.s('Page.navigate', { url: 'file://' + path.resolve(kilnDir, 'index.html') });
    await p.until("document.body && document.body.getAttribute('data-ready') === '1'");
    out.first_view_wall.push(Date.now() - t0);
    out.first_view.push(await p.evaluate('kilnDocs.timings.readyAt'));
    // Open a model page (its shard is loaded on demand).
    out.node_page.push(await p.evaluate(`new Promise((ok) => { const t0 = performance.now(); const h = '#!/node/' + encodeURIComponent(${JSON.stringify(nodeId)});
      location.hash = h; (function poll() { if (document.getElementById('main').getAttribute('data-done') === location.hash) ok(performance.now() - t0); else setTimeout(poll, 0); })(); })`));
    await p.until('!!kilnDocs.S');
    // Search as you type: the time from the input event to the results in the DOM.
    out.search.push(await p.evaluate(`(() => { const i = document.getElementById('search'); i.value = ${JSON.stringify(query)};
      const t0 = performance.now(); i.dispatchEvent(new Event('input')); document.getElementById('results').offsetHeight; return performance.now() - t0; })()`));
    out.column_search.push(await p.evaluate(`(() => { const i = document.getElementById('search'); i.value = 'col_';
      const t0 = performance.now(); i.dispatchEvent(new Event('input')); document.getElementById('results').offsetHeight; return performance.now() - t0; })()`));
    // The lineage graph: the node ± 2 hops laid out and drawn, its panel's details loaded.
    out.neighbourhood.push(await p.evaluate(`new Promise((ok) => { const t0 = performance.now(); const h = '#!/lineage/' + encodeURIComponent(${JSON.stringify(nodeId)});
      location.hash = h; (function poll() { if (document.getElementById('main').getAttribute('data-done') === location.hash) { document.getElementById('graph').offsetHeight; ok(performance.now() - t0); } else setTimeout(poll, 0); })(); })`));
    out.visible_nodes = await p.evaluate("document.querySelectorAll('#graph .gnode').length");
    out.expand.push(await p.evaluate(`(() => { const h = document.querySelector('#graph .handle'); if (!h) return null; const t0 = performance.now();
      h.dispatchEvent(new MouseEvent('click', { bubbles: true })); document.getElementById('graph').offsetHeight; return performance.now() - t0; })()`));
    await p.close();
  }
  const res = {};
  for (const k of Object.keys(out)) res[k] = Array.isArray(out[k]) ? median(out[k].filter((x) => x != null)) : out[k];
  return res;
}

async function dbt(b, dir) {
  const server = await serve(path.resolve(dir));
  const url = `http://127.0.0.1:${server.address().port}/index.html`;
  const p = await page(b);
  const t0 = Date.now();
  await p.s('Page.navigate', { url });
  // Usable: the project tree lists nodes (dbt-docs' a.menu-node).
  await p.until("document.querySelectorAll('a.menu-node').length > 0");
  const firstView = Date.now() - t0;
  process.stderr.write(`dbt: first view ${firstView} ms\n`);
  // Search: dbt-docs' search box, until a result names the model.
  const name = nodeId.split('.').pop();
  const t1 = Date.now();
  const before = await p.evaluate(`Array.from(document.querySelectorAll('.search-result')).filter(e => e.textContent.includes(${JSON.stringify(name)})).length`);
  await p.evaluate(`(() => { const i = document.getElementById('search');
    i.value = ${JSON.stringify(name)}; i.dispatchEvent(new Event('input')); i.dispatchEvent(new Event('change')); return true; })()`);
  let search = null;
  try {
    await p.until(`Array.from(document.querySelectorAll('.search-result')).filter(e => e.textContent.includes(${JSON.stringify(name)})).length > ${before}`, 120000);
    search = Date.now() - t1;
  } catch (e) { search = null; }
  // The model's page with its lineage ("+model+" default graph) from a hash route.
  const t2 = Date.now();
  await p.evaluate(`location.hash = '#!/model/${nodeId}'; true`);
  let nodePage = null;
  try { await p.until(`document.body.textContent.includes('Depends On') || document.body.textContent.includes('Referenced By')`, 120000); nodePage = Date.now() - t2; } catch (e) { nodePage = null; }
  server.close();
  return { first_view: firstView, search, node_page: nodePage };
}

(async () => {
  const b = startBrowser();
  try {
    const result = { kiln: await kiln(b, 5) };
    process.stderr.write(`kiln: ${JSON.stringify(result.kiln)}\n`);
    if (dbtDir) result.dbt = await dbt(b, dbtDir);
    console.log(JSON.stringify(result));
  } finally {
    await new Promise((ok) => { b.child.once('exit', ok); b.child.kill(); });
    try { fs.rmSync(b.profile, { recursive: true, force: true }); } catch (e) { /* left in the temp dir */ }
  }
})().catch((e) => { console.error(e); process.exit(1); });
