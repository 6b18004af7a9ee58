// The browser half of tests/docs_site.rs: loaded before the site's own scripts (so it sees every
// error), it drives the site as a reader would and writes what it saw into
// <pre id="kiln-test-results"> as JSON, which the test reads from Chromium's --dump-dom.
// window.KILN_TEST (written by the test just before this file) says what to look at.
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push('error: ' + e.message + ' at ' + (e.filename || '?') + ':' + (e.lineno || '?'));
  });
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + (e.reason && e.reason.message ? e.reason.message : e.reason));
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return consoleError.apply(console, arguments);
  };
  var T = window.KILN_TEST;
  function sleep(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }
  async function until(what, test) {
    for (var n = 0; n < 400; n++) {
      var v = test();
      if (v) return v;
      await sleep(25);
    }
    throw new Error('timed out waiting for ' + what);
  }
  async function go(hash) {
    location.hash = hash;
    await until('the page ' + hash, function () {
      return document.getElementById('main').getAttribute('data-done') === location.hash;
    });
  }
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }
  function ids(sel) {
    return all(sel).map(function (a) { return decodeURIComponent(a.getAttribute('href').replace('#!/node/', '')); });
  }
  function search(q) {
    var input = document.getElementById('search');
    input.value = q;
    input.dispatchEvent(new Event('input'));
    return all('#results a').map(function (a) {
      var why = a.querySelector('.why');
      return { id: a.getAttribute('data-id'), why: why ? why.textContent : '' };
    });
  }
  async function run() {
    var out = { protocol: location.protocol };
    await until('the app', function () { return document.body.getAttribute('data-ready') === '1'; });
    out.search = search(T.query);
    await until('the search index', function () { return window.kilnDocs.S; });
    if (T.column_query) out.column_search = search(T.column_query);
    document.getElementById('search').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));

    await go('#!/node/' + encodeURIComponent(T.node));
    out.title = document.querySelector('#main h1').textContent;
    out.columns = all('#columns tr[data-column]').map(function (tr) {
      return {
        name: tr.getAttribute('data-column'), type: tr.children[1].textContent, tests: tr.querySelector('.tests').textContent,
        badges: all.call(null, '#columns tr[data-column="' + tr.getAttribute('data-column') + '"] .tag').map(function (t) { return t.textContent; })
      };
    });
    out.depends_on = ids('#depends-on a');
    out.referenced_by = ids('#referenced-by a');
    out.about = document.getElementById('about').textContent;
    out.code = document.getElementById('code') ? document.getElementById('code').textContent : null;

    await go('#!/lineage/' + encodeURIComponent(T.node));
    out.lineage = all('#graph .gnode').map(function (g) { return g.getAttribute('data-name'); });
    out.focus = document.querySelector('#graph .gnode.focus').getAttribute('data-name');
    var handle = document.querySelector('#graph .handle');
    if (handle) {
      handle.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      out.expanded = all('#graph .gnode').length;
    }
    var group = document.getElementById('groupby');
    group.value = 'folder';
    group.dispatchEvent(new Event('change'));
    out.groups = all('#graph .grp text').map(function (t) { return t.textContent; });

    if (T.column) {
      await go('#!/column/' + encodeURIComponent(T.column_node || T.node) + '/' + encodeURIComponent(T.column));
      var cards = function (side) {
        return all('#column-lineage .' + side + ' .cl-card').map(function (c) {
          return {
            column: c.getAttribute('data-node') + '.' + c.getAttribute('data-column'),
            edges: all.call(null, '#column-lineage .' + side + ' .cl-card[data-node="' + c.getAttribute('data-node') +
              '"][data-column="' + c.getAttribute('data-column') + '"] .edge').map(function (e) { return e.textContent; })
          };
        });
      };
      out.upstream = cards('up');
      out.downstream = cards('down');
    }
    if (T.pii) {
      await go('#!/');
      out.pii_link = !!document.getElementById('open-pii');
      await go('#!/pii');
      out.pii = all('#pii tr[data-node]').map(function (tr) {
        return [tr.getAttribute('data-node'), tr.getAttribute('data-column'), tr.children[2].textContent, tr.getAttribute('data-status')];
      });
    }
    out.errors = errors;
    return out;
  }
  function report(o) {
    var pre = document.createElement('pre');
    pre.id = 'kiln-test-results';
    pre.textContent = JSON.stringify(o);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', function () {
    run().then(report, function (e) { report({ fatal: String(e && e.stack ? e.stack : e), errors: errors }); });
  });
})();
