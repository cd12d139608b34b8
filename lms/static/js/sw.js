/* Hocvu's service worker: learning on a weak connection (issue 23).
 *
 * Served by lms/web/offline.py at the root of Hocvu's pages, which writes `self.HOCVU` (the
 * settings: scope, app shell URLs, version) in front of this file.
 *
 * - The app shell (CSS, JavaScript, icons, the offline page) is kept when the worker is
 *   installed, in a cache named after its version; an older version's is dropped.
 * - A learner's pages (home, course pages, lessons) and lesson media are kept in a cache of
 *   their own, named after the account's key (the X-Hocvu-User header of each page). A page
 *   with another key (another learner, a password change) drops the previous learner's cache
 *   and outbox; a page with no key (logged out) drops the cached pages.
 * - Pages: network first, so progress shown is fresh; if the network has not answered within
 *   TIMEOUT and a kept copy exists, the copy is shown (a slow 3G answer still refreshes the
 *   copy), and offline the copy is shown and the opening of the lesson is queued. A page not
 *   kept shows the offline page.
 * - "Complete lesson" and the self-check, sent while offline: the action is queued in the
 *   outbox (outbox-store.js) and the learner goes on (to the next lesson, or back to the
 *   self-check); the pages send the outbox when the connection returns (offline.js).
 * - Logging out (the form's POST passes here): the outbox is sent if it can be, and once the
 *   server has the logout, the learner's pages and outbox are forgotten.
 * - A SCORM lesson: the answer of the SCO's last launch (a POST to .../runtime: its session,
 *   links and stored state) and the data model rules are kept in the learner's cache; offline,
 *   the player gets that answer again and starts from the newer state of its own journal
 *   (scorm-player.js), whose commits wait in localStorage until the connection returns. The
 *   package's files come from the content origin's worker (content-sw.js).
 *   A SCORM 2004 SCO is kept by the course page's download only (a launch that opens no
 *   session, with a ticket for the session its offline commits open: see
 *   lms/services/tracking/offline.py): an online launch of it is not kept over that one.
 */
"use strict";

importScripts(self.HOCVU.store);

var C = self.HOCVU;
var SHELL = "hocvu-shell-" + C.version;
var USER = "hocvu-user-";
var TIMEOUT = 800; // ms: a slower network answer loses to the kept copy (next lesson <= 1 s)
var store = self.HocvuOutbox;
var ACTION = /\/courses\/([^/]+)\/([^/]+)\/(complete|self-check)$/;
var LESSON = /\/courses\/([^/]+)\/([^/]+)$/;
var RUNTIME = /\/player\/activities\/\d+\/scos\/\d+\/runtime$/;
var RULES = /\/player\/rules\/[^/]+\.json$/;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL)
      .then(function (cache) { return cache.addAll(C.shell.concat([C.offline])); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    // Navigation preload: the browser sends a page's request itself, as the navigation it is
    // (Sec-Fetch-Dest: document), while the worker starts; the worker uses that answer.
    Promise.resolve(self.registration.navigationPreload && self.registration.navigationPreload.enable())
      .then(function () { return caches.keys(); })
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("hocvu-shell-") === 0 && name !== SHELL;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

var current; // the account key the kept pages belong to ("" nobody), read once from IndexedDB

function currentUser() {
  if (current !== undefined) return Promise.resolve(current);
  return store.get("user").then(function (key) {
    current = key || "";
    return current;
  }, function () { return ""; });
}

/* The pages now come from account `key`: drop what another account left. */
function switchUser(key) {
  return currentUser().then(function (was) {
    if (key === was) return undefined;
    current = key;
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(USER) === 0 && name !== USER + key;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () {
      // Logged out (no key): the outbox stays for the same learner's next login, unsent;
      // another account's key drops it.
      return key ? store.keepOnly(key) : undefined;
    }).then(function () { return store.set("user", key); });
  });
}

function keepable(url) {
  var path = url.pathname;
  return (path === C.scope || path.indexOf(C.courses) === 0) && !/\/continue$/.test(path);
}

function delay(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

function tellPages(message) {
  return self.clients.matchAll({ includeUncontrolled: true }).then(function (pages) {
    pages.forEach(function (page) { page.postMessage(message); });
  });
}

/* A page from the network: note whose it is and keep a copy of a learner's page. */
function noted(request, response) {
  var type = response.headers.get("Content-Type") || "";
  if (response.status !== 200 || response.type !== "basic" || type.indexOf("text/html") !== 0) {
    return Promise.resolve(response);
  }
  var key = response.headers.get(C.user_header) || "";
  var copy = response.clone();
  return switchUser(key).then(function () {
    if (!key || !keepable(new URL(request.url))) return undefined;
    return caches.open(USER + key).then(function (cache) { return cache.put(request.url, copy); });
  }).then(function () { return response; }, function () { return response; });
}

/* A kept copy says so (X-Hocvu-Kept: the time it was kept), for the benchmark and for
 * whoever looks at the network panel. */
function marked(copy) {
  var headers = new Headers(copy.headers);
  headers.set("X-Hocvu-Kept", copy.headers.get("Date") || "yes");
  return new Response(copy.body, { status: copy.status, statusText: copy.statusText, headers: headers });
}

function offlinePage() {
  return caches.match(C.offline).then(function (page) {
    return page || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  });
}

function kept(url, user) {
  if (!user) return Promise.resolve(undefined);
  return caches.open(USER + user).then(function (cache) {
    return cache.match(url, { ignoreVary: true, ignoreSearch: false });
  });
}

/* A lesson shown from the kept copy while offline: its opening is queued (the minimum
 * reading time counts from it, as the server counts from an opening online). */
function queueOpen(url, user) {
  var lesson = LESSON.exec(url.pathname);
  if (!user || !lesson || url.pathname.indexOf(C.courses) !== 0 || lesson[2] === "continue") {
    return Promise.resolve();
  }
  var action = {
    kind: "open", user: user,
    course: decodeURIComponent(lesson[1]), lesson: decodeURIComponent(lesson[2])
  };
  return store.list(user).then(function (queued) {
    // Opened again (after answering its self-check): the first opening is what counts.
    if (queued.some(function (a) {
      return a.kind === "open" && a.course === action.course && a.lesson === action.lesson;
    })) return undefined;
    return store.add(action).then(function () { return tellPages({ hocvu: "queued" }); });
  });
}

function navigate(event) {
  var request = event.request;
  var url = new URL(request.url);
  // "Continue" offline: the course page, which lists the lessons kept.
  var resume = /\/continue$/.test(url.pathname);
  var copyUrl = resume ? url.href.replace(/\/continue$/, "") : url.href;
  return currentUser().then(function (user) {
    return kept(copyUrl, user).then(function (copy) {
      if (copy && self.navigator.onLine === false) {
        // Known to be offline: the copy at once (a preload would only fail, and maybe late).
        event.waitUntil(Promise.resolve(event.preloadResponse).catch(function () { return null; }));
        if (!resume) event.waitUntil(queueOpen(url, user));
        return marked(copy);
      }
      var network = Promise.resolve(event.preloadResponse).then(function (preloaded) {
        return preloaded || fetch(request);
      }).then(function (response) { return noted(request, response); });
      if (!copy) return network.catch(function () { return offlinePage(); });
      if (resume) return network.catch(function () { return marked(copy); });
      var answered = false;
      var fresh = network.then(function (response) { answered = true; return response; });
      // Whatever wins, the network's answer (or its failure) is waited for: a late answer
      // refreshes the copy; a failure means the learner opened the lesson offline.
      event.waitUntil(fresh.catch(function () { return queueOpen(url, user); }));
      return Promise.race([
        fresh,
        delay(TIMEOUT).then(function () { return answered ? fresh : marked(copy); })
      ]).catch(function () { return marked(copy); });
    });
  });
}

/* "Complete lesson" or the self-check, sent from a lesson page. */
function postOrQueue(event) {
  var request = event.request;
  var copy = request.clone();
  var url = new URL(request.url);
  var match = ACTION.exec(url.pathname);
  return fetch(request).catch(function () {
    return Promise.all([currentUser(), copy.formData()]).then(function (both) {
      var user = both[0];
      var form = both[1];
      if (!user) return offlinePage();
      var lessonUrl = url.href.replace(/\/(complete|self-check)$/, "");
      var action = {
        kind: match[3] === "complete" ? "complete" : "self_check",
        user: user,
        course: decodeURIComponent(match[1]),
        lesson: decodeURIComponent(match[2]),
        title: form.get("title") || ""
      };
      if (action.kind === "self_check") {
        action.answers = {};
        form.forEach(function (value, name) {
          var question = /^q(\d+)$/.exec(name);
          if (!question || !/^\d+$/.test(String(value))) return;
          (action.answers[question[1]] = action.answers[question[1]] || []).push(Number(value));
        });
      }
      return store.add(action).then(function () {
        return tellPages({ hocvu: "queued" });
      }).then(function () {
        var next = action.kind === "complete" ? (form.get("next") || lessonUrl) : lessonUrl;
        return Response.redirect(new URL(next, url).href + "#queued", 303);
      });
    });
  });
}

/* Whether an answer may be kept: any, except a SCORM 2004 launch made online (its session
 * and commit numbers go on online; offline play starts from the download's launch). */
function worthKeeping(response) {
  if (!RUNTIME.test(new URL(response.url || "http://x/").pathname)) return Promise.resolve(true);
  return response.clone().json().then(function (body) {
    return body.standard !== "2004" || Boolean(body.offline);
  }, function () { return false; });
}

/* Network first, the learner's kept copy when the network fails; a good answer is kept
 * (a POST's under its URL, as a GET: the Cache API keeps no POST). */
function keptFallback(request, user) {
  var url = request.url;
  return fetch(request).then(function (response) {
    if (response.status === 200 && user) {
      var copy = response.clone();
      worthKeeping(copy).then(function (ok) {
        if (ok) return caches.open(USER + user).then(function (cache) { return cache.put(url, copy); });
        return undefined;
      });
    }
    return response;
  }, function (error) {
    return kept(url, user).then(function (copy) {
      if (copy) return copy;
      throw error;
    });
  });
}

/* Logging out: what waits is sent first (with the logout form's own CSRF token, for at most
 * 3 s), then, once the server has the logout, the learner's pages and outbox are forgotten. */
function logout(event) {
  var request = event.request;
  var copy = request.clone();
  return Promise.all([currentUser(), copy.formData()]).then(function (both) {
    var token = both[1].get("csrf_token");
    if (!both[0] || !token) return undefined;
    return Promise.race([store.send(both[0], C.sync, String(token)), delay(3000)]);
  }).catch(function () { return undefined; }).then(function () {
    return fetch(request).then(function (response) {
      return store.forgetAll().then(function () { return switchUser(""); })
        .catch(function () { return undefined; })
        .then(function () { return response; });
    }, function () { return offlinePage(); });
  });
}

function fromCacheFirst(request, user) {
  return caches.match(request, { ignoreVary: true }).then(function (found) {
    if (found) return found;
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic" && user && request.url.indexOf(C.media) >= 0) {
        var copy = response.clone();
        caches.open(USER + user).then(function (cache) { cache.put(request.url, copy); });
      }
      return response;
    }, function () {
      // A page kept from an older release names older static versions: any version will do.
      return caches.match(request, { ignoreSearch: true, ignoreVary: true }).then(function (any) {
        return any || Response.error();
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf(C.scope) !== 0) return;
  if (request.method === "POST") {
    if (request.mode === "navigate" && url.pathname === C.logout) {
      event.respondWith(logout(event));
    } else if (request.mode === "navigate" && ACTION.test(url.pathname)) {
      event.respondWith(postOrQueue(event));
    } else if (RUNTIME.test(url.pathname)) {
      event.respondWith(currentUser().then(function (user) { return keptFallback(request, user); }));
    }
    return;
  }
  if (request.method === "GET" && RULES.test(url.pathname)) {
    event.respondWith(currentUser().then(function (user) { return keptFallback(request, user); }));
    return;
  }
  if (request.method !== "GET" || request.headers.has(C.download_header)) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (url.pathname.indexOf(C.media) === 0 || C.shell.indexOf(url.pathname + url.search) >= 0) {
    event.respondWith(currentUser().then(function (user) { return fromCacheFirst(request, user); }));
  } else if (url.pathname.indexOf("/static/") >= 0) {
    event.respondWith(fromCacheFirst(request, ""));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.hocvu === "user" && typeof data.key === "string") {
    event.waitUntil(switchUser(data.key));
  }
});
