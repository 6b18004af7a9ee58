// kiln docs: the site's app. No framework, no network: the data comes as scripts that call
// kilnDocs.graph / .search / .shard (so the site works from file:// as well as served).
(function () {
  'use strict';
  var K = (window.kilnDocs = {
    G: null, S: null, shards: {}, pending: {}, isStatic: false, ready: false, timings: {}
  });
  var G, N = 0, idx = {}, children = [], lname = [], tagText = [];
  var KIND_NAMES = ['model', 'seed', 'snapshot', 'source', 'exposure', 'analysis'];
  var MAX_VISIBLE = 300;

  K['static'] = function () { K.isStatic = true; };
  K.graph = function (g) { prepare(g); start(); };
  K.search = function (s) { K.S = s; if (searchInput() && searchInput().value) runSearch(); };
  K.shard = function (n, d) {
    K.shards[n] = d;
    var waiting = K.pending[n];
    if (waiting) { delete K.pending[n]; waiting.forEach(function (w) { w.ok(d); }); }
  };

  function $(id) { return document.getElementById(id); }
  function searchInput() { return $('search'); }
  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function kindOf(i) { return KIND_NAMES[G.kind[i]] || 'model'; }
  function badge(i) { return '<span class="kind k-' + kindOf(i) + '">' + kindOf(i) + '</span>'; }
  function statusBadge(st) {
    if (st == null || st === '') return '';
    return '<span class="status st-' + esc(String(st).toLowerCase()) + '">' + esc(st) + '</span>';
  }
  function nodeHref(i) { return '#!/node/' + encodeURIComponent(G.id[i]); }
  function nodeLink(i) { return '<a href="' + nodeHref(i) + '">' + esc(G.name[i]) + '</a>'; }

  function prepare(g) {
    G = K.G = g; N = g.id.length; idx = {}; children = []; lname = []; tagText = [];
    for (var i = 0; i < N; i++) { idx[g.id[i]] = i; children.push([]); lname.push(g.name[i].toLowerCase()); }
    for (var j = 0; j < N; j++) {
      var ps = g.parents[j];
      for (var k = 0; k < ps.length; k++) children[ps[k]].push(j);
      tagText.push(g.tag[j].map(function (t) { return g.tags[t].toLowerCase(); }));
    }
  }

  // Loads a script once (the data files are scripts); resolves when it has run.
  function loadScript(src) {
    return new Promise(function (ok, fail) {
      var s = document.createElement('script');
      s.src = src; s.async = true;
      s.onload = function () { ok(); };
      s.onerror = function () { fail(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }
  // A node's details, from its shard (loaded on first use).
  function detail(i) {
    var n = Math.floor(i / G.shard_size);
    if (K.shards[n]) return Promise.resolve(K.shards[n][G.id[i]] || {});
    return new Promise(function (ok, fail) {
      var first = !K.pending[n];
      (K.pending[n] = K.pending[n] || []).push({ ok: function (d) { ok(d[G.id[i]] || {}); }, fail: fail });
      if (first && !K.isStatic) {
        loadScript('kiln-docs/d/' + n + '.js').catch(function (e) {
          var w = K.pending[n] || []; delete K.pending[n];
          w.forEach(function (x) { x.fail(e); });
        });
      }
    });
  }

  // ---------- start ----------
  function start() {
    var t0 = performance.now();
    $('project').textContent = G.project ? G.project : '';
    document.title = (G.project ? G.project + ' · ' : '') + 'kiln docs';
    buildTree();
    wireSearch();
    window.addEventListener('hashchange', route);
    route();
    K.ready = true;
    K.timings.start = performance.now() - t0;
    K.timings.readyAt = performance.now();
    document.body.setAttribute('data-ready', '1');
    // The search index comes after the first view.
    if (!K.S && !K.isStatic) setTimeout(function () { loadScript('kiln-docs/search.js').catch(showError); }, 0);
  }
  function showError(e) {
    var m = $('main');
    m.insertAdjacentHTML('afterbegin', '<p class="status st-error">' + esc(e && e.message ? e.message : e) + '</p>');
  }
  window.addEventListener('error', function (e) { K.lastError = e.message; });

  // ---------- project tree (folders rendered when opened) ----------
  function buildTree() {
    var root = { dirs: {}, leaves: [] }, sources = {}, exposures = [];
    for (var i = 0; i < N; i++) {
      var k = kindOf(i);
      if (k === 'source') {
        var sname = G.name[i].split('.')[0];
        (sources[sname] = sources[sname] || []).push(i);
      } else if (k === 'exposure') {
        exposures.push(i);
      } else {
        var pkg = G.packages[G['package'][i]];
        var path = [pkg].concat((G.folders[G.folder[i]] || '').split('/').filter(Boolean));
        var d = root;
        for (var p = 0; p < path.length; p++) {
          d = d.dirs[path[p]] = d.dirs[path[p]] || { dirs: {}, leaves: [] };
        }
        d.leaves.push(i);
      }
    }
    var t = $('tree');
    t.innerHTML = '<h4>Project</h4>';
    Object.keys(root.dirs).sort().forEach(function (name) { t.appendChild(folderEl(name, root.dirs[name], true)); });
    if (Object.keys(sources).length) {
      t.insertAdjacentHTML('beforeend', '<h4>Sources</h4>');
      Object.keys(sources).sort().forEach(function (name) {
        t.appendChild(folderEl(name, { dirs: {}, leaves: sources[name] }, false));
      });
    }
    if (exposures.length) {
      t.insertAdjacentHTML('beforeend', '<h4>Exposures</h4>');
      t.appendChild(folderEl('exposures', { dirs: {}, leaves: exposures }, true));
    }
  }
  function folderEl(name, d, open) {
    var el = document.createElement('details');
    el.innerHTML = '<summary>' + esc(name) + '</summary>';
    var filled = false;
    function fill() {
      if (filled) return; filled = true;
      Object.keys(d.dirs).sort().forEach(function (n) { el.appendChild(folderEl(n, d.dirs[n], false)); });
      var html = d.leaves.slice().sort(function (a, b) { return lname[a] < lname[b] ? -1 : 1; }).map(function (i) {
        var label = kindOf(i) === 'source' ? G.name[i].split('.').slice(1).join('.') : G.name[i];
        return '<a class="leaf" href="' + nodeHref(i) + '" title="' + esc(G.id[i]) + '">' + esc(label) + '</a>';
      }).join('');
      el.insertAdjacentHTML('beforeend', html);
    }
    el.addEventListener('toggle', function () { if (el.open) fill(); });
    if (open) { el.open = true; fill(); }
    return el;
  }

  // ---------- search ----------
  var selected = -1;
  function wireSearch() {
    var input = searchInput();
    input.addEventListener('input', runSearch);
    input.addEventListener('focus', function () { if (input.value) runSearch(); });
    input.addEventListener('keydown', function (e) {
      var links = $('results').querySelectorAll('a');
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        selected = Math.max(0, Math.min(links.length - 1, selected + (e.key === 'ArrowDown' ? 1 : -1)));
        links.forEach(function (a, j) { a.classList.toggle('sel', j === selected); });
      } else if (e.key === 'Enter' && links.length) {
        location.hash = links[Math.max(selected, 0)].getAttribute('href');
        closeResults();
      } else if (e.key === 'Escape') { closeResults(); }
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === '/' && document.activeElement !== input) { e.preventDefault(); input.focus(); }
    });
    document.addEventListener('click', function (e) { if (!$('searchbox').contains(e.target)) closeResults(); });
  }
  function closeResults() { $('results').hidden = true; selected = -1; }
  // Ranks every node for the query: name, then tag, column and description matches.
  function search(q) {
    var terms = q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) return [];
    var out = [], S = K.S;
    for (var i = 0; i < N; i++) {
      var score = 0, why = '', all = true;
      for (var t = 0; t < terms.length; t++) {
        var term = terms[t], s = 0, w = '';
        var p = lname[i].indexOf(term);
        if (lname[i] === term) s = 100;
        else if (p === 0) s = 60;
        else if (p > 0) s = 40;
        else if (tagText[i].indexOf(term) >= 0) { s = 30; w = 'tag: ' + term; }
        else if (S) {
          var cols = S.cols[i];
          var c = cols ? (' ' + cols.toLowerCase() + ' ').indexOf(term) : -1;
          if (c >= 0) {
            s = 20;
            var start = cols.lastIndexOf(' ', c - 1) + 1, end = cols.indexOf(' ', c);
            w = 'column: ' + cols.slice(start, end < 0 ? cols.length : end);
          } else if (S.desc[i] && S.desc[i].indexOf(term) >= 0) { s = 10; w = 'description'; }
        }
        if (!s) { all = false; break; }
        score += s; if (w && !why) why = w;
      }
      if (all) out.push([score, i, why]);
    }
    out.sort(function (a, b) { return b[0] - a[0] || (lname[a[1]] < lname[b[1]] ? -1 : 1); });
    return out;
  }
  function runSearch() {
    var t0 = performance.now();
    var q = searchInput().value.trim(), box = $('results');
    if (!q) { closeResults(); return; }
    var found = search(q), shown = found.slice(0, 50);
    var html = shown.map(function (r) {
      var i = r[1];
      return '<a href="' + nodeHref(i) + '" data-id="' + esc(G.id[i]) + '">' + badge(i) + ' ' + esc(G.name[i]) +
        (r[2] ? '<span class="why">' + esc(r[2]) + '</span>' : '') + '</a>';
    }).join('');
    if (!shown.length) html = '<div class="none">No match for “' + esc(q) + '”' + (K.S ? '' : ' (names and tags; the full index is loading)') + '</div>';
    else if (found.length > shown.length) html += '<div class="none">' + (found.length - shown.length) + ' more: refine the search</div>';
    box.innerHTML = html; box.hidden = false; selected = -1;
    box.querySelectorAll('a').forEach(function (a) { a.addEventListener('click', closeResults); });
    K.timings.search = performance.now() - t0;
    box.setAttribute('data-query', q);
  }

  // ---------- routing ----------
  function route() {
    var h = decodeURIComponent(location.hash.replace(/^#!?\/?/, ''));
    var m = $('main'); m.removeAttribute('data-done');
    var slash = h.indexOf('/'), what = slash < 0 ? h : h.slice(0, slash), rest = slash < 0 ? '' : h.slice(slash + 1);
    var done = function () { m.setAttribute('data-done', location.hash || '#!/'); };
    var p;
    if (what === 'node' && idx[rest] != null) p = nodePage(idx[rest]);
    else if (what === 'lineage' && idx[rest] != null) p = lineagePage(idx[rest]);
    else if (what === 'pii') p = piiPage();
    else if (what === 'column') {
      var cut = rest.lastIndexOf('/');
      var id = rest.slice(0, cut);
      p = idx[id] != null ? columnPage(idx[id], rest.slice(cut + 1)) : overview();
    } else p = overview();
    Promise.resolve(p).then(done, function (e) { showError(e); done(); });
    document.querySelectorAll('#tree .leaf.cur').forEach(function (a) { a.classList.remove('cur'); });
    window.scrollTo(0, 0);
  }

  function overview() {
    var counts = {};
    for (var i = 0; i < N; i++) counts[kindOf(i)] = (counts[kindOf(i)] || 0) + 1;
    var cards = KIND_NAMES.filter(function (k) { return counts[k]; }).map(function (k) {
      return '<div class="card"><b>' + counts[k] + '</b>' + k + (counts[k] > 1 ? 's' : '') + '</div>';
    }).join('');
    var exps = [];
    for (var j = 0; j < N; j++) if (kindOf(j) === 'exposure') exps.push('<li>' + nodeLink(j) + '</li>');
    $('main').innerHTML = '<h1>' + esc(G.project || 'Project') + '</h1>' +
      '<p class="muted">Generated ' + esc(G.generated_at || '') + '. Search with <code>/</code>; open a node from the tree.' +
      (G.has_lineage ? '' : ' Column lineage: not computed for this project yet (no target/lineage.json).') + '</p>' +
      (G.pii && G.pii.length ? '<p><a href="#!/pii" id="open-pii">Personal data (PII)</a>: ' + G.pii.length + ' nodes hold PII or its pseudonymised form.</p>' : '') +
      '<div class="cards">' + cards + '</div>' +
      (exps.length ? '<h2>Exposures</h2><ul>' + exps.join('') + '</ul>' : '');
  }

  // ---------- PII view ----------
  function piiPath(path) {
    return path.map(function (s) { var j = idx[s.node]; return (j != null ? G.name[j] : s.node) + '.' + s.column; }).join(' → ');
  }
  function piiPage() {
    var rows = (G.pii || []).map(function (e) {
      var i = e[0];
      return e[1].map(function (c) {
        var st = c[2] === 'pii' ? '<span class="tag pii">PII</span>' : '<span class="tag masked">pseudonymised</span>';
        return '<tr data-node="' + esc(G.id[i]) + '" data-column="' + esc(c[0]) + '" data-status="' + esc(c[2]) + '"><td>' + badge(i) + ' ' + nodeLink(i) +
          '</td><td><code><a href="#!/column/' + encodeURIComponent(G.id[i]) + '/' + encodeURIComponent(c[0]) + '">' + esc(c[0]) + '</a></code></td><td>' +
          esc((c[1] || []).join(', ')) + '</td><td>' + st + '</td></tr>';
      }).join('');
    }).join('');
    $('main').innerHTML = '<h1>Personal data (PII)</h1>' +
      (G.has_pii ? '<p class="muted">Columns classified in YAML (<code>meta: {pii: &lt;kind&gt;}</code>, <code>pii</code> tags) and every column derived from one through the column lineage (target/pii.json). Pseudonymised columns reach it only through a declared masking step.</p>' :
        '<p class="muted">No target/pii.json: run <code>kiln compile</code> or <code>kiln docs generate</code>.</p>') +
      (rows ? '<table id="pii"><tr><th>Node</th><th>Column</th><th>Kinds</th><th>Status</th></tr>' + rows + '</table>' : '<p class="muted">No PII columns.</p>');
  }

  // ---------- node page ----------
  function md(text) {
    // Paragraphs, `code` and links: enough of Markdown for descriptions, everything escaped.
    return String(text || '').split(/\n\s*\n/).map(function (p) {
      var h = esc(p).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
        .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2">$1</a>');
      return '<p>' + h + '</p>';
    }).join('');
  }
  function testLabel(t) {
    var kw = t.kwargs || {}, extra = '';
    if (kw.to) extra = ' → ' + kw.to + (kw.field ? '.' + kw.field : '');
    else if (kw.values) extra = ' ' + JSON.stringify(kw.values);
    return esc(t.name + extra) + (t.status ? ' ' + statusBadge(t.status) : '') +
      (t.message && t.status !== 'pass' ? ' <span class="muted">' + esc(t.message) + '</span>' : '');
  }
  function nodePage(i) {
    var m = $('main');
    m.innerHTML = '<h1>' + esc(G.name[i]) + ' ' + badge(i) + ' ' + statusBadge(G.status[i]) + '</h1><p class="muted">Loading…</p>';
    var cur = document.querySelector('#tree .leaf[href="' + nodeHref(i) + '"]');
    if (cur) cur.classList.add('cur');
    return detail(i).then(function (d) {
      var h = '<h1>' + esc(G.name[i]) + ' ' + badge(i) + ' ' + statusBadge(G.status[i]) + '</h1>';
      h += '<div class="links"><a href="#!/lineage/' + encodeURIComponent(G.id[i]) + '" id="open-lineage">Lineage graph</a>' +
        '<span class="muted">' + esc(G.id[i]) + '</span></div>';
      h += '<div class="desc">' + (d.description ? md(d.description) : '<p class="muted">No description.</p>') + '</div>';
      var kv = [];
      if (d.owners && d.owners.length) kv.push(['Owners', d.owners.map(esc).join(', ')]);
      if (d.sla) kv.push(['SLA', esc(d.sla)]);
      if (d.path) kv.push(['File', '<code>' + esc(d.path) + '</code>']);
      if (d.relation) kv.push(['Relation', '<code>' + esc(d.relation) + '</code>']);
      if (d.materialized) kv.push(['Materialized', esc(d.materialized)]);
      if (G.tag[i].length) kv.push(['Tags', G.tag[i].map(function (t) { return '<span class="tag">' + esc(G.tags[t]) + '</span>'; }).join('')]);
      if (d.exposure) {
        kv.push(['Exposure type', esc(d.exposure.type) + (d.exposure.maturity ? ' (maturity ' + esc(d.exposure.maturity) + ')' : '')]);
        if (d.exposure.url) kv.push(['URL', '<a href="' + esc(d.exposure.url) + '">' + esc(d.exposure.url) + '</a>']);
      }
      if (d.source && d.source.source_description) kv.push(['Source', esc(d.source.source_name) + ': ' + esc(d.source.source_description)]);
      if (d.last_run) {
        var r = d.last_run;
        kv.push(['Last run', statusBadge(r.status) + ' ' + (r.execution_time != null ? Number(r.execution_time).toFixed(2) + ' s' : '') +
          (r.completed_at ? ' <span class="muted">at ' + esc(r.completed_at) + '</span>' : '') +
          (r.message ? ' <span class="muted">' + esc(r.message) + '</span>' : '')]);
      } else if (G.has_run_results && kindOf(i) !== 'source' && kindOf(i) !== 'exposure') kv.push(['Last run', '<span class="muted">not in the last run</span>']);
      if (d.freshness) {
        var f = d.freshness, crit = f.criteria || {};
        var txt = (f.loaded_at_field ? 'field <code>' + esc(f.loaded_at_field) + '</code>' : 'no loaded_at_field');
        if (crit.warn_after && crit.warn_after.count) txt += ', warn after ' + crit.warn_after.count + ' ' + esc(crit.warn_after.period);
        if (crit.error_after && crit.error_after.count) txt += ', error after ' + crit.error_after.count + ' ' + esc(crit.error_after.period);
        if (f.result) txt += ' · ' + statusBadge(f.result.status) + ' max loaded at ' + esc(f.result.max_loaded_at) +
          (f.result.age_s != null ? ' (' + Math.round(f.result.age_s / 3600) + ' h ago)' : '');
        else txt += ' · <span class="muted">not checked (run <code>' + (kindOf(i) === 'source' ? 'kiln source freshness' : 'kiln freshness') + '</code>)</span>';
        kv.push(['Freshness', txt]);
      }
      if (d.lineage_complete === false) kv.push(['Column lineage', 'incomplete' + (d.lineage_reason ? ': ' + esc(d.lineage_reason) : '') + ' (table-level lineage from refs only)']);
      if (d.dataset && d.dataset.length) kv.push(['Row-level inputs', datasetInputs(d.dataset)]);
      Object.keys(d.meta || {}).forEach(function (k) {
        var v = d.meta[k];
        kv.push(['meta.' + esc(k), esc(typeof v === 'string' ? v : JSON.stringify(v))]);
      });
      h += '<table class="kv" id="about">' + kv.map(function (r) { return '<tr><td>' + r[0] + '</td><td>' + r[1] + '</td></tr>'; }).join('') + '</table>';

      var cols = d.columns || [];
      h += '<h2>Columns <span class="muted">(' + cols.length + ')</span></h2>';
      if (cols.length) {
        h += '<table id="columns"><tr><th>Column</th><th>Type</th><th>Description</th><th>Tests</th></tr>' + cols.map(function (c) {
          var kinds = (c.pii_kinds || []).join(', ');
          var via = c.pii_path && c.pii_path.length > 1 ? ' title="' + esc(piiPath(c.pii_path)) + '"' : '';
          var tags = (c.pii ? '<span class="tag pii"' + via + '>PII' + (kinds ? ': ' + esc(kinds) : '') + '</span>' : '') +
            (c.pseudonymised ? '<span class="tag masked"' + via + '>pseudonymised' + (kinds ? ' ' + esc(kinds) : '') + '</span>' : (c.masked ? '<span class="tag masked">hashed</span>' : '')) +
            (c.tags || []).filter(function (t) { t = String(t).toLowerCase(); return t !== 'pii' && t.indexOf('pii:') !== 0; }).map(function (t) { return '<span class="tag">' + esc(t) + '</span>'; }).join('');
          var lin = (c.inputs && c.inputs.length) || (c.outputs && c.outputs.length);
          var name = lin ? '<a href="#!/column/' + encodeURIComponent(G.id[i]) + '/' + encodeURIComponent(c.name) + '" class="col-lineage">' + esc(c.name) + '</a>' : esc(c.name);
          return '<tr data-column="' + esc(c.name) + '"><td><code>' + name + '</code> ' + tags + '</td><td><code>' + esc(c.type || '') + '</code></td><td>' +
            (c.description ? md(c.description) : '') + '</td><td class="tests">' + (c.tests || []).map(testLabel).join('<br>') + '</td></tr>';
        }).join('') + '</table>';
      } else h += '<p class="muted">No columns documented' + (G.has_catalog ? '' : ' (catalog.json would add the warehouse\'s columns)') + '.</p>';
      if (d.tests && d.tests.length) h += '<h2>Tests</h2><ul id="model-tests">' + d.tests.map(function (t) { return '<li>' + testLabel(t) + '</li>'; }).join('') + '</ul>';

      h += '<h2>Depends on</h2>' + listOf(G.parents[i], 'depends-on') + '<h2>Referenced by</h2>' + listOf(children[i], 'referenced-by');
      if (d.raw_code || d.compiled_code) {
        h += '<h2>Code</h2><div class="tabs"><button data-tab="raw" class="on">Source</button>' +
          (d.compiled_code ? '<button data-tab="compiled">Compiled</button>' : '') + '</div><pre id="code"></pre>';
      }
      m.innerHTML = h;
      var code = $('code');
      if (code) {
        code.textContent = d.raw_code || '';
        m.querySelectorAll('.tabs button').forEach(function (b) {
          b.addEventListener('click', function () {
            m.querySelectorAll('.tabs button').forEach(function (x) { x.classList.toggle('on', x === b); });
            code.textContent = b.getAttribute('data-tab') === 'raw' ? d.raw_code : d.compiled_code;
          });
        });
      }
    });
  }
  // Columns that affect every row (joins, filters, grouping): lineage.json's `dataset`.
  function datasetInputs(list) {
    return list.map(function (x) {
      var j = idx[x.node];
      return (j != null ? esc(G.name[j]) : esc(x.node)) + '.' + esc(x.column) + ' ' + ttags(x.transformations);
    }).join(', ');
  }
  function listOf(list, id) {
    if (!list.length) return '<p class="muted" id="' + id + '">None.</p>';
    return '<ul id="' + id + '">' + list.slice().sort(function (a, b) { return lname[a] < lname[b] ? -1 : 1; })
      .map(function (j) { return '<li>' + badge(j) + ' ' + nodeLink(j) + '</li>'; }).join('') + '</ul>';
  }

  // ---------- lineage graph: the focus node ± 2 hops, expanded in place ----------
  var view = null;
  function hops(start, next, depth, set, limit) {
    var frontier = [start];
    for (var d = 0; d < depth && frontier.length; d++) {
      var nf = [];
      for (var f = 0; f < frontier.length; f++) {
        var ns = next(frontier[f]);
        for (var k = 0; k < ns.length; k++) {
          if (set[ns[k]]) continue;
          if (limit && Object.keys(set).length >= limit) return;
          set[ns[k]] = true; nf.push(ns[k]);
        }
      }
      frontier = nf;
    }
  }
  function lineagePage(i) {
    var t0 = performance.now();
    var set = {}; set[i] = true;
    hops(i, function (j) { return G.parents[j]; }, 2, set, MAX_VISIBLE / 2);
    hops(i, function (j) { return children[j]; }, 2, set, MAX_VISIBLE);
    view = { focus: i, set: set, group: (view && view.group) || 'none', sel: i };
    var m = $('main');
    m.innerHTML = '<h1>Lineage: ' + esc(G.name[i]) + ' ' + badge(i) + '</h1>' +
      '<div class="toolbar"><a href="' + nodeHref(i) + '">Open the page</a>' +
      '<label>Group by <select id="groupby"><option value="none">nothing</option><option value="folder">folder</option>' +
      '<option value="package">package</option><option value="tag">tag</option></select></label>' +
      '<span class="muted">± 2 hops; the circles add a node\'s hidden parents or children.</span></div>' +
      '<div id="graph"></div><div id="panel"></div>';
    var gb = $('groupby'); gb.value = view.group;
    gb.addEventListener('change', function () { view.group = gb.value; drawGraph(); });
    drawGraph();
    K.timings.neighbourhood = performance.now() - t0;
    return showPanel(i);
  }
  function groupKey(j) {
    if (view.group === 'folder') return G.folders[G.folder[j]] || '(root)';
    if (view.group === 'package') return G.packages[G['package'][j]];
    if (view.group === 'tag') return G.tag[j].length ? G.tags[G.tag[j][0]] : '(no tag)';
    return '';
  }
  function drawGraph() {
    var ids = Object.keys(view.set).map(Number);
    var layers = {};
    ids.forEach(function (j) { (layers[G.layer[j]] = layers[G.layer[j]] || []).push(j); });
    var cols = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
    var W = 180, H = 26, GX = 56, GY = 12, PAD = 24, pos = {}, maxRows = 0, groups = [];
    cols.forEach(function (l, c) {
      var row = layers[l];
      row.sort(function (a, b) {
        var ga = groupKey(a), gb = groupKey(b);
        return ga < gb ? -1 : ga > gb ? 1 : G.order[a] - G.order[b];
      });
      var y = PAD, prev = null;
      row.forEach(function (j) {
        var g = groupKey(j);
        if (view.group !== 'none' && g !== prev) {
          if (prev !== null) y += 10;
          groups.push({ x: PAD + c * (W + GX) - 6, y: y, label: g, c: c, rows: 0 });
          y += 16; prev = g;
        }
        pos[j] = { x: PAD + c * (W + GX), y: y };
        if (groups.length && view.group !== 'none') groups[groups.length - 1].rows++;
        y += H + GY;
      });
      maxRows = Math.max(maxRows, y);
    });
    var width = PAD * 2 + cols.length * (W + GX), height = maxRows + PAD;
    var svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + height + '">'];
    groups.forEach(function (g) {
      var h = g.rows * (H + GY) + 14;
      svg.push('<g class="grp"><rect x="' + g.x + '" y="' + g.y + '" width="' + (W + 12) + '" height="' + h + '" rx="6"></rect>' +
        '<text x="' + (g.x + 6) + '" y="' + (g.y + 12) + '">' + esc(g.label) + '</text></g>');
    });
    ids.forEach(function (j) {
      G.parents[j].forEach(function (p) {
        if (!view.set[p]) return;
        var a = pos[p], b = pos[j], x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
        var hl = (p === view.sel || j === view.sel) ? ' hl' : '';
        svg.push('<path class="gedge' + hl + '" d="M' + x1 + ',' + y1 + ' C' + mx + ',' + y1 + ' ' + mx + ',' + y2 + ' ' + x2 + ',' + y2 + '"></path>');
      });
    });
    ids.forEach(function (j) {
      var p = pos[j], name = G.name[j];
      var label = name.length > 25 ? name.slice(0, 24) + '…' : name;
      var cls = 'gnode' + (j === view.focus ? ' focus' : '') + (j === view.sel ? ' sel' : '');
      svg.push('<g class="' + cls + '" data-i="' + j + '" data-name="' + esc(name) + '"><title>' + esc(G.id[j]) + '</title>' +
        '<rect class="box" x="' + p.x + '" y="' + p.y + '" width="' + W + '" height="' + H + '" rx="4"></rect>' +
        '<rect class="bar" x="' + p.x + '" y="' + p.y + '" width="5" height="' + H + '" fill="var(--' + kindOf(j) + ')"></rect>' +
        '<text x="' + (p.x + 11) + '" y="' + (p.y + 17) + '">' + esc(label) + '</text></g>');
      var hp = G.parents[j].filter(function (q) { return !view.set[q]; }).length;
      var hc = children[j].filter(function (q) { return !view.set[q]; }).length;
      if (hp) svg.push(handle(j, 'up', p.x - 11, p.y + H / 2, hp));
      if (hc) svg.push(handle(j, 'down', p.x + W + 11, p.y + H / 2, hc));
    });
    svg.push('</svg>');
    var box = $('graph');
    box.innerHTML = svg.join('');
    box.setAttribute('data-nodes', ids.length);
    box.querySelectorAll('.gnode').forEach(function (g) {
      g.addEventListener('click', function () { view.sel = Number(g.getAttribute('data-i')); drawGraph(); showPanel(view.sel); });
      g.addEventListener('dblclick', function () { location.hash = nodeHref(Number(g.getAttribute('data-i'))); });
    });
    box.querySelectorAll('.handle').forEach(function (h) {
      h.addEventListener('click', function (e) {
        e.stopPropagation();
        expand(Number(h.getAttribute('data-i')), h.getAttribute('data-dir'));
      });
    });
  }
  function handle(j, dir, x, y, n) {
    return '<g class="handle" data-i="' + j + '" data-dir="' + dir + '"><title>' + (dir === 'up' ? 'Show ' + n + ' hidden parents' : 'Show ' + n + ' hidden children') + '</title>' +
      '<circle cx="' + x + '" cy="' + y + '" r="8"></circle><text x="' + (x - (n > 9 ? 6 : 3)) + '" y="' + (y + 3.5) + '">' + (n > 99 ? '∞' : n) + '</text></g>';
  }
  // Adds a node's parents or children to the view, keeping everything already shown.
  function expand(j, dir) {
    var t0 = performance.now();
    (dir === 'up' ? G.parents[j] : children[j]).forEach(function (q) { view.set[q] = true; });
    drawGraph();
    K.timings.expand = performance.now() - t0;
  }
  K.expand = function (name, dir) {
    for (var j = 0; j < N; j++) if (G.name[j] === name) return expand(j, dir);
  };
  function showPanel(j) {
    return detail(j).then(function (d) {
      var p = $('panel');
      if (!p) return;
      p.innerHTML = '<h2>' + badge(j) + ' ' + esc(G.name[j]) + '</h2>' +
        '<div class="desc">' + md((d.description || '').slice(0, 600)) + '</div>' +
        '<p class="links"><a href="' + nodeHref(j) + '">Open the page</a><a href="#!/lineage/' + encodeURIComponent(G.id[j]) + '">Focus the graph here</a>' +
        '<span class="muted">' + (d.columns ? d.columns.length + ' columns' : '') + '</span></p>';
    });
  }

  // ---------- column lineage ----------
  function findColumn(d, name) {
    var lc = String(name).toLowerCase();
    return (d.columns || []).filter(function (c) { return String(c.name).toLowerCase() === lc; })[0];
  }
  // Walks column edges from (node, column) upstream (inputs) or downstream (outputs), loading
  // shards as it goes; bounded in hops and in columns.
  function walk(i, col, dir, maxHops, maxCols) {
    var seen = {}, levels = [], count = 0;
    seen[i + '/' + col.toLowerCase()] = true;
    function step(frontier, hop) {
      if (!frontier.length || hop > maxHops || count >= maxCols) return Promise.resolve(levels);
      return Promise.all(frontier.map(function (f) {
        return detail(f.i).then(function (d) { return { f: f, c: findColumn(d, f.col) }; });
      })).then(function (rows) {
        var next = [];
        rows.forEach(function (r) {
          var edges = r.c ? (dir === 'up' ? r.c.inputs : r.c.outputs) || [] : [];
          edges.forEach(function (e) {
            var j = idx[e.node];
            if (j == null) return;
            var key = j + '/' + String(e.column).toLowerCase();
            var entry = { i: j, col: e.column, via: r.f, t: e.transformations || [] };
            (levels[hop] = levels[hop] || []);
            if (seen[key]) {
              var known = levels[hop].filter(function (x) { return x.i === j && x.col.toLowerCase() === String(e.column).toLowerCase(); })[0];
              if (known) (known.also = known.also || []).push(entry);
              return;
            }
            seen[key] = true; count++;
            levels[hop].push(entry); next.push(entry);
          });
        });
        return step(next, hop + 1);
      });
    }
    return step([{ i: i, col: col }], 0);
  }
  function ttags(ts) {
    return (ts || []).map(function (t) {
      return '<span class="tt ' + esc(t.type) + '">' + esc(t.subtype || t.type) + (t.masking ? ' (masked)' : '') + '</span>';
    }).join('');
  }
  function columnPage(i, col) {
    var m = $('main');
    m.innerHTML = '<h1>Column lineage: ' + esc(G.name[i]) + '.' + esc(col) + '</h1><p class="muted">Loading…</p>';
    return Promise.all([walk(i, col, 'up', 12, 400), walk(i, col, 'down', 12, 400), detail(i)]).then(function (r) {
      var up = r[0], down = r[1], here = findColumn(r[2], col);
      function card(e, dirWord) {
        var edges = [e].concat(e.also || []).map(function (x) {
          return '<div class="edge">' + dirWord + ' ' + esc(G.name[x.via.i]) + '.' + esc(x.via.col) + ' ' + ttags(x.t) + '</div>';
        }).join('');
        return '<div class="cl-card" data-node="' + esc(G.id[e.i]) + '" data-column="' + esc(e.col) + '">' + badge(e.i) +
          ' <a href="#!/column/' + encodeURIComponent(G.id[e.i]) + '/' + encodeURIComponent(e.col) + '">' + esc(G.name[e.i]) + '.<b>' + esc(e.col) + '</b></a>' + edges + '</div>';
      }
      var colsHtml = [];
      for (var u = up.length - 1; u >= 0; u--) {
        colsHtml.push('<div class="cl-col up"><h3>' + (u + 1) + ' up</h3>' + (up[u] || []).map(function (e) { return card(e, 'feeds'); }).join('') + '</div>');
      }
      colsHtml.push('<div class="cl-col"><h3>this column</h3><div class="cl-card cur">' + badge(i) + ' ' + nodeLink(i) + '.<b>' + esc(col) + '</b>' +
        (here && here.type ? ' <code>' + esc(here.type) + '</code>' : '') + (here && here.description ? '<div class="edge">' + esc(here.description) + '</div>' : '') + '</div></div>');
      for (var dn = 0; dn < down.length; dn++) {
        colsHtml.push('<div class="cl-col down"><h3>' + (dn + 1) + ' down</h3>' + (down[dn] || []).map(function (e) { return card(e, 'from'); }).join('') + '</div>');
      }
      var note = !here ? '<p class="muted">This column is not in the node\'s columns.</p>' :
        (!up.length && !down.length ? '<p class="muted">No column lineage recorded for this column.</p>' : '');
      var rows = r[2].dataset && r[2].dataset.length ? '<p>Every row of ' + esc(G.name[i]) + ' also depends on: ' + datasetInputs(r[2].dataset) + '</p>' : '';
      m.innerHTML = '<h1>Column lineage: ' + nodeLink(i) + '.' + esc(col) + '</h1>' + rows +
        '<p class="muted">Upstream columns to the left, downstream to the right; each card names the column it feeds (or comes from) and the transformation.</p>' +
        note + '<div class="cl-cols" id="column-lineage">' + colsHtml.join('') + '</div>';
    });
  }
})();
