/*
 * app.js - the little behaviour soulspotd's pages need beyond htmx.
 *
 * Loaded as a file (the CSP forbids inline script).  It only listens to
 * htmx events:
 *   - a settings switch always posts value=true|false (an unchecked
 *     checkbox would otherwise send nothing);
 *   - after "Run now" the workers table is fetched again at once and once
 *     more shortly after, so the run shows without waiting for the poll;
 *   - after a settings save the sidebar worker indicator is refreshed once
 *     the runtime has had time to act on the change.
 */
(function () {
  'use strict';

  var SETTLE_MS = 1500; /* the runtime applies a change within a second */

  function refresh(selector, url) {
    var el = document.querySelector(selector);
    if (el && window.htmx) {
      window.htmx.ajax('GET', url, { target: el, swap: 'innerHTML' });
    }
  }

  function refreshLater(selector, url) {
    window.setTimeout(function () { refresh(selector, url); }, SETTLE_MS);
  }

  document.addEventListener('htmx:configRequest', function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.type === 'checkbox' && elt.name === 'value') {
      evt.detail.parameters.value = elt.checked ? 'true' : 'false';
    }
  });

  /* Matched by request, not element: after an outerHTML swap htmx re-fires
   * the event on the closest surviving parent, with detail.elt set to it. */
  var RUN_NOW_PATH = /^\/api\/workers\/[^/]+\/run$/;

  document.addEventListener('htmx:afterRequest', function (evt) {
    var d = evt.detail;
    if (!d.successful || !d.requestConfig || !d.pathInfo ||
        d.requestConfig.verb !== 'post') {
      return;
    }
    var path = d.pathInfo.requestPath;
    if (RUN_NOW_PATH.test(path)) {
      refresh('#workers-table', '/workers/table');
      refreshLater('#workers-table', '/workers/table');
    } else if (path === '/settings') {
      refreshLater('.worker-status', '/api/workers/status/html');
      refreshLater('#workers-table', '/workers/table');
    }
  });
})();
