/* The content origin's service worker: SCORM packages played offline (issue 23).
 *
 * The API frame (scorm-frame.js), asked by the course page's download, keeps a package's
 * files in the cache "hocvu-pkg-<content hash>" under link-free URLs (<root>pkg/_/<path>,
 * <root>frame/_) and notes which link reaches which package ("hocvu-pkg-links":
 * <root>link/<link> -> the hash). Every request goes to the network first, so that a link
 * that expired or was revoked is refused as before while the site can be reached; only when
 * the network fails is the kept copy served, with the headers it was sent with (its content
 * security policy, frame-ancestors included).
 *
 * A kept SCORM 2004 launch's frame URL names its package (?p=<content hash>): a link made
 * after the package was kept (the launch kept again at a later visit of the course page) is
 * noted as reaching it when its frame is asked for, so that the launch kept last plays offline.
 */
"use strict";

var ROOT = new URL(self.registration.scope).pathname;
var LINKS = "hocvu-pkg-links";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function linkOf(path) {
  var match = /^(pkg|frame)\/([^/]+)(\/.*)?$/.exec(path.slice(ROOT.length));
  return match ? { kind: match[1], token: match[2], rest: match[3] || "" } : null;
}

function kept(request) {
  var url = new URL(request.url);
  var link = linkOf(url.pathname);
  if (!link) {
    // The frame's scripts: any kept copy of this URL.
    return caches.match(request, { ignoreVary: true });
  }
  return caches.open(LINKS).then(function (links) {
    return links.match(url.origin + ROOT + "link/" + link.token);
  }).then(function (found) {
    if (!found) return undefined;
    return found.text().then(function (hash) {
      // A launch file's parameters (the manifest's) are not part of the file kept.
      var key = url.origin + ROOT + link.kind + "/_" + link.rest;
      return caches.open("hocvu-pkg-" + hash).then(function (cache) {
        return cache.match(key, { ignoreVary: true, ignoreSearch: true });
      });
    });
  });
}

/* A frame's link, noted as reaching the package its URL names when that package is kept. */
function noteLink(url) {
  var link = linkOf(url.pathname);
  var hash = url.searchParams.get("p");
  if (!link || link.kind !== "frame" || !hash || !/^[0-9a-f]{16,128}$/.test(hash)) {
    return Promise.resolve();
  }
  return caches.has("hocvu-pkg-" + hash).then(function (kept) {
    if (!kept) return undefined;
    return caches.open(LINKS).then(function (links) {
      return links.put(url.origin + ROOT + "link/" + link.token, new Response(hash));
    });
  }).catch(function () { return undefined; });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  var path = url.pathname.slice(ROOT.length);
  if (!/^(pkg|frame|frame-assets)\//.test(path)) return;
  event.respondWith(noteLink(url).then(function () {
    return fetch(request);
  }).catch(function (error) {
    return kept(request).then(function (copy) {
      if (copy) return copy;
      throw error;
    });
  }));
});
