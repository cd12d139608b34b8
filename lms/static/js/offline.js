/* Learning on a weak connection, the page's side (issue 23; the service worker is sw.js).
 *
 * - Registers the service worker and tells it who is logged in (meta hocvu-user-key).
 * - Sends the outbox (outbox-store.js) to the server when the connection is there: on every
 *   page, when the browser comes back online and when the worker queues an action; in the
 *   order the actions happened, one tab at a time (Web Locks), each action with its id so the
 *   server takes it once. Shows how many wait ("đang chờ gửi") in the header, and what the
 *   server refused, with its reason, until the learner dismisses it.
 * - Counts the time a lesson page is visible and queues it when the page is hidden.
 * - On a lesson page, says which of its actions are saved on the phone and not sent yet.
 * - On a course page, downloads the course for offline reading (the size is shown first).
 * - On the offline page, lists what is kept on the phone.
 * (Logging out is the service worker's: it sends what waits, then forgets the learner.)
 */
(function () {
  "use strict";

  var store = window.HocvuOutbox;
  var USER = "hocvu-user-";

  function meta(name) {
    var tag = document.querySelector('meta[name="' + name + '"]');
    return tag ? tag.getAttribute("content") : "";
  }

  var key = meta("hocvu-user-key");
  var supported = "serviceWorker" in navigator && "caches" in window && "indexedDB" in window &&
    window.isSecureContext;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] !== undefined ? String(values[name]) : all;
    });
  }

  /* ---- who is logged in ---- */

  function forgetOthers() {
    // Another account's pages and outbox go as soon as this account's page is shown.
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(USER) === 0 && name !== USER + key;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return store.keepOnly(key); })
      .then(function () { return store.set("user", key); });
  }

  function tellWorker(message) {
    if (!supported) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage(message);
    });
  }

  /* ---- the outbox ---- */

  var indicator = document.querySelector("[data-outbox]");

  function showCount() {
    if (!indicator || !key) return Promise.resolve();
    return store.list(key).then(function (actions) {
      indicator.querySelector("[data-outbox-count]").textContent = String(actions.length);
      indicator.hidden = actions.length === 0;
      markLesson(actions);
      return actions.length;
    });
  }

  var sending = null;

  function send() {
    if (!key || !store || sending) return sending || Promise.resolve();
    sending = store.send(key, meta("hocvu-sync"), meta("csrf-token")).catch(function () {
      return undefined; // still offline, or the server is away: the actions stay queued
    }).then(function () {
      sending = null;
      return Promise.all([showCount(), showRefusals()]);
    });
    return sending;
  }

  var refusalsBox = document.querySelector("[data-refusals]");

  function showRefusals() {
    if (!refusalsBox || !key) return Promise.resolve();
    return store.refused(key).then(function (refused) {
      var list = refusalsBox.querySelector("ul");
      list.textContent = "";
      refused.forEach(function (r) {
        var item = document.createElement("li");
        var what = r.kind === "complete" ? refusalsBox.dataset.complete : refusalsBox.dataset.answers;
        var link = document.createElement("a");
        link.href = meta("hocvu-courses") + encodeURIComponent(r.course) + "/" + encodeURIComponent(r.lesson);
        link.textContent = r.title || r.lesson;
        item.appendChild(document.createTextNode(what + " "));
        item.appendChild(link);
        item.appendChild(document.createTextNode(": " + r.message));
        list.appendChild(item);
      });
      refusalsBox.hidden = refused.length === 0;
      refusalsBox.dataset.ids = refused.map(function (r) { return r.id; }).join(" ");
    });
  }

  /* ---- a lesson page ---- */

  var lesson = document.querySelector("[data-lesson]");

  function markLesson(actions) {
    if (!lesson) return;
    var mine = actions.filter(function (a) {
      return a.course === lesson.dataset.course && a.lesson === lesson.dataset.lesson;
    });
    var completing = mine.some(function (a) { return a.kind === "complete"; });
    var answering = mine.filter(function (a) { return a.kind === "self_check"; }).pop();
    document.querySelectorAll("[data-queued='complete']").forEach(function (note) {
      note.hidden = !completing;
    });
    document.querySelectorAll("[data-queued='self_check']").forEach(function (note) {
      note.hidden = !answering;
    });
    if (answering) {
      // The answers saved on the phone, shown as given (checked when sent).
      Object.keys(answering.answers || {}).forEach(function (index) {
        document.querySelectorAll('input[name="q' + index + '"]').forEach(function (input) {
          input.checked = answering.answers[index].indexOf(Number(input.value)) >= 0;
        });
      });
    }
  }

  function countTime() {
    if (!lesson || !key) return;
    var shownSince = document.visibilityState === "visible" ? Date.now() : null;
    var seconds = 0;
    function pause() {
      if (shownSince !== null) seconds += (Date.now() - shownSince) / 1000;
      shownSince = null;
      var whole = Math.round(seconds);
      if (whole >= 5) {
        seconds = 0;
        store.add({ kind: "time", user: key, course: lesson.dataset.course,
                    lesson: lesson.dataset.lesson, seconds: Math.min(whole, 4 * 3600) });
      }
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") pause();
      else { shownSince = Date.now(); send(); }
    });
    window.addEventListener("pagehide", pause);
  }

  /* ---- a course page: download for offline reading ---- */

  function startDownload(box) {
    var state = box.querySelector("[data-offline-state]");
    var button = box.querySelector("[data-offline-start]");
    var name = "course:" + box.dataset.course;
    var running = false;

    /* `tapped`: the learner asked; only then are SCORM lessons launched to be kept, SCORM 1.2
     * ones once (a launch is a session of the SCO, counted as such); a SCORM 2004 one again on
     * each visit once the course was downloaded (keeping it counts nothing: its session opens
     * when what was played offline is sent). */
    function download(tapped) {
      if (running) return Promise.resolve();
      running = true;
      button.disabled = true;
      return window.fetch(box.dataset.url, {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (list) {
        if (list.user !== key) throw new Error("another account");
        return caches.open(USER + key).then(function (cache) {
          var done = 0;
          var urls = list.urls.map(function (u) { return u.url; });
          function next() {
            if (!urls.length) return undefined;
            var url = urls.shift();
            return cache.match(url, { ignoreVary: true }).then(function (found) {
              // Lessons already kept are refreshed by visiting them (network first).
              if (found && url !== box.dataset.page) return undefined;
              var headers = { "X-Hocvu-Download": "1" };
              return window.fetch(url, { credentials: "same-origin", headers: headers })
                .then(function (response) {
                  if (!response.ok) throw new Error("HTTP " + response.status);
                  return cache.put(url, response);
                });
            }).then(function () {
              done += 1;
              state.textContent = fill(box.dataset.msgProgress, { done: done, total: total });
              return next();
            });
          }
          var keptScos = (before && before.scos) || [];
          // A SCO kept "again" (SCORM 2004: keeping it changes nothing on the server) is kept
          // anew on each visit once the course was downloaded, so that offline play starts
          // from the learner's newest state; its package is kept already (launch only, unless
          // the learner taps: then its files are checked too).
          var scos = list.scos.filter(function (s) {
            var kept = keptScos.indexOf(s.runtime) >= 0;
            return s.again ? (tapped || before) : (tapped && !kept);
          }).map(function (s) {
            var kept = keptScos.indexOf(s.runtime) >= 0;
            return { runtime: s.runtime, launchOnly: !tapped && s.again && kept };
          });
          var total = list.urls.length + scos.length;
          function nextSco() {
            if (!scos.length) return undefined;
            var sco = scos.shift();
            return (sco.launchOnly ? keepLaunch(sco.runtime) : keepPackage(sco.runtime)).then(function () {
              if (keptScos.indexOf(sco.runtime) < 0) keptScos = keptScos.concat([sco.runtime]);
              done += 1;
              state.textContent = fill(box.dataset.msgProgress, { done: done, total: total });
              return nextSco();
            });
          }
          // Two at a time: a weak connection gains nothing from more.
          return Promise.all([next(), next()]).then(nextSco).then(function () {
            before = { user: key, bytes: list.bytes, at: Date.now(), scos: keptScos };
            return store.set(name, before);
          }).then(function () {
            return list.scos.filter(function (s) { return keptScos.indexOf(s.runtime) < 0; }).length;
          });
        });
      }).then(function (scormLeft) {
        state.textContent = scormLeft ? box.dataset.msgScorm : box.dataset.msgDone;
        box.dataset.downloaded = scormLeft ? "pages" : "true";
      }, function () {
        state.textContent = box.dataset.msgFailed;
      }).then(function () {
        running = false;
        button.disabled = false;
      });
    }

    /* A SCO launched to be kept: its answer, which the service worker keeps, is what the
     * player starts from offline. */
    function keepLaunch(runtimeUrl) {
      return window.fetch(runtimeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": meta("csrf-token"),
                   "X-Hocvu-Download": "1" }
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
    }

    /* A SCO launched once, and its package kept by the API frame on the content origin. */
    function keepPackage(runtimeUrl) {
      return keepLaunch(runtimeUrl).then(function (rt) {
        return window.fetch(rt.rules_url, { credentials: "same-origin" }).then(function () {
          return new Promise(function (resolve, reject) {
            var frame = document.createElement("iframe");
            frame.hidden = true;
            frame.setAttribute("sandbox", box.dataset.sandbox);
            var timer = window.setTimeout(function () { finish(false); }, 120000);
            function finish(ok) {
              window.clearTimeout(timer);
              window.removeEventListener("message", listen);
              frame.remove();
              if (ok) resolve(); else reject(new Error("package not kept"));
            }
            function listen(event) {
              if (event.origin !== rt.content_origin || event.source !== frame.contentWindow) return;
              var kind = event.data && event.data.hocvu;
              if (kind === "offline-ready") finish(true);
              else if (kind === "offline-failed") finish(false);
            }
            window.addEventListener("message", listen);
            frame.src = rt.frame_url + "#offline";
            document.body.appendChild(frame);
          });
        });
      });
    }

    var before = null;
    box.hidden = false;
    button.addEventListener("click", function () { download(true); });
    store.get(name).then(function (kept) {
      var saveData = navigator.connection && navigator.connection.saveData;
      before = kept && kept.user === key ? kept : null;
      if (before) {
        state.textContent = box.dataset.msgDone;
        if (navigator.onLine && !saveData) download(false); // fetch what is new or missing
      } else if (navigator.onLine && !saveData && Number(box.dataset.bytes) <= Number(box.dataset.auto)) {
        download(false); // small enough to keep without asking
      }
    });
  }

  /* ---- the offline page: what is kept ---- */

  function listKept(box) {
    store.get("user").then(function (user) {
      if (!user) return [];
      return caches.open(USER + user).then(function (cache) { return cache.keys(); });
    }).then(function (requests) {
      var pages = requests.filter(function (r) {
        return new URL(r.url).pathname.indexOf(meta("hocvu-courses")) === 0;
      });
      return Promise.all(pages.map(function (r) {
        return caches.match(r, { ignoreVary: true }).then(function (response) {
          var type = response && response.headers.get("Content-Type") || "";
          if (type.indexOf("text/html") !== 0) return null;
          return response.text().then(function (html) {
            var title = new DOMParser().parseFromString(html, "text/html").title;
            return { url: r.url, title: title.split(" · ")[0] };
          });
        });
      }));
    }).then(function (pages) {
      var list = box.querySelector("ul");
      pages.filter(Boolean).sort(function (a, b) { return a.url < b.url ? -1 : 1; }).forEach(function (p) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = p.url;
        link.textContent = p.title;
        item.appendChild(link);
        list.appendChild(item);
      });
      box.querySelector("[data-empty]").hidden = list.children.length > 0;
    });
  }

  /* ---- start ---- */

  document.addEventListener("DOMContentLoaded", function () {
    if (!supported || !store) return;
    navigator.serviceWorker.register(meta("hocvu-sw"), { scope: meta("hocvu-scope") })
      .catch(function () { /* no offline reading, the site works as before */ });
    var kept = document.querySelector("[data-offline-kept]");
    if (kept) listKept(kept);
    if (!key) return;
    tellWorker({ hocvu: "user", key: key });
    forgetOthers().then(function () {
      countTime();
      var box = document.querySelector("[data-offline-download]");
      if (box) startDownload(box);
      return send();
    });
    if (refusalsBox) {
      refusalsBox.querySelector("button").addEventListener("click", function () {
        store.dismiss((refusalsBox.dataset.ids || "").split(" ").filter(Boolean)).then(showRefusals);
      });
    }
  });
  if (supported) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.hocvu === "queued") showCount();
    });
  }
  // Back online: the "online" event, and a look every few seconds (the event is not always
  // fired, e.g. for a page that loaded offline from the kept copy); while actions wait and
  // sending fails, tries are spaced out up to a minute.
  var wasOnline = navigator.onLine;
  var nextTry = 0;
  var pause = 5000;
  function retry(now) {
    if (!indicator || indicator.hidden) { pause = 5000; return; }
    if (!navigator.onLine || now < nextTry) return;
    nextTry = now + pause;
    pause = Math.min(60000, pause * 2);
    send();
  }
  window.addEventListener("online", function () { nextTry = 0; pause = 5000; retry(Date.now()); });
  window.setInterval(function () {
    if (navigator.onLine && !wasOnline) { nextTry = 0; pause = 5000; }
    wasOnline = navigator.onLine;
    retry(Date.now());
  }, 1000);
})();
