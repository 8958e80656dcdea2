/**
 * The API reference page served at `/docs`: one self-contained HTML document (no CDN, no external script; the server
 * may have no network) whose inline script fetches `/openapi.json` and renders every operation with its parameters,
 * request body, responses and authentication, plus a filter box.
 */

const STYLE = `
body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#1c2330;background:#f7f8fa}
header{background:#1c2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.8}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
input{width:100%;padding:8px;font-size:14px;border:1px solid #c8ccd4;border-radius:6px;box-sizing:border-box;margin-bottom:16px}
details{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:8px 12px;font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:64px;font-weight:700}.GET{color:#1d6fb8}.POST{color:#1a7f37}.PUT,.PATCH{color:#9a6700}.DELETE{color:#cf222e}
.body{padding:0 16px 12px}pre{background:#f0f2f5;padding:8px;border-radius:4px;overflow:auto;font-size:12px}
h3{font-size:13px;margin:12px 0 4px}.s{color:#57606a;font-family:system-ui}
table{border-collapse:collapse}td,th{border:1px solid #dde1e7;padding:4px 8px;text-align:left;font-size:13px}`;

const SCRIPT = `
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const json = (v) => '<pre>' + esc(JSON.stringify(v, null, 2)) + '</pre>';
fetch('openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description || '';
  const schemes = doc.components && doc.components.securitySchemes || {};
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths || {})) for (const [m, op] of Object.entries(item)) ops.push({ p, m: m.toUpperCase(), op });
  const list = document.getElementById('ops');
  list.innerHTML = ops.map(({ p, m, op }, i) => {
    let h = '<details data-k="' + esc((m + ' ' + p + ' ' + (op.summary || '')).toLowerCase()) + '"><summary><span class="m ' + m + '">' + m + '</span>' + esc(p) + ' <span class="s">' + esc(op.summary || '') + '</span></summary><div class="body">';
    if (op.description) h += '<p>' + esc(op.description) + '</p>';
    const sec = (op.security || []).map((s) => Object.keys(s).map((k) => schemes[k] ? schemes[k].description : k).join(' + '));
    h += '<h3>Authentication</h3><p>' + (sec.length ? sec.map(esc).join('<br>or ') : 'none') + '</p>';
    if (op.parameters && op.parameters.length) h += '<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>' + op.parameters.map((x) => '<tr><td>' + esc(x.name) + '</td><td>' + esc(x.in) + '</td><td>' + (x.required ? 'yes' : 'no') + '</td><td>' + esc(JSON.stringify(x.schema || {})) + '</td></tr>').join('') + '</table>';
    if (op.requestBody) h += '<h3>Request body</h3>' + json(op.requestBody.content);
    for (const [status, res] of Object.entries(op.responses || {})) h += '<h3>' + esc(status) + ' ' + esc(res.description || '') + '</h3>' + (res.content ? json(Object.values(res.content)[0].schema) : '');
    return h + '</div></details>';
  }).join('');
  document.getElementById('filter').addEventListener('input', (e) => {
    const q = e.target.value.toLowerCase();
    for (const d of list.children) d.style.display = d.dataset.k.includes(q) ? '' : 'none';
  });
}).catch((e) => { document.getElementById('ops').textContent = 'Could not load /openapi.json: ' + e.message; });`;

export function renderReferencePage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Plugboard API reference</title><style>${STYLE}</style></head>
<body><header><h1 id="title">Plugboard API</h1><p id="desc"></p></header>
<main><p>Machine-readable document: <a href="openapi.json">/openapi.json</a> (OpenAPI 3.1). Every error has the body
<code>{ requestId, code, message, details?, providerMessage? }</code>.</p>
<input id="filter" placeholder="Filter operations (method, path, summary)" aria-label="Filter operations">
<div id="ops">Loading…</div></main>
<script>${SCRIPT}</script></body></html>`;
}
