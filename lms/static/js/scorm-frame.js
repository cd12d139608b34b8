/* The SCORM API frame, on the content origin (lms/web/content.py serves it).
 *
 * It holds window.API (SCORM 1.2) or window.API_1484_11 (2004) for the package, which it frames
 * below itself, so that the package finds the API the usual way (window.parent). It knows
 * nothing of the learner: the player page of the site sends the rules, the launch values and
 * the stored state; every commit and the navigation request of a Terminate go back to that page,
 * which keeps the journal and sends them to the server with its own session. Messages are
 * taken from the player page only (its exact origin, and the parent window), and sent to that
 * origin only.
 *
 * Protocol (every message is {hocvu: <type>, ...}):
 *   frame -> page   ready                        the frame can take "start"
 *   page -> frame   start {standard, table, launch, stored, launch_url, title}
 *   frame -> page   draft {data}                 the values set so far (not yet committed)
 *   frame -> page   commit {data: [[element, value], ...], terminated}
 *   frame -> page   terminate {request}          adl.nav.request of a Terminate ("" if none)
 *   page -> frame   valid {valid}                adl.nav.request_valid.* after a commit (2004)
 *   page -> frame   unload                       take the package down (it commits on unload)
 *   frame -> page   unloaded                     the package is gone: the page may leave
 *   frame -> page   offline-ready {bytes} / offline-failed
 *                                                loaded as /frame/<link>#offline by the course
 *                                                page's download: the package is kept (below)
 */
(function () {
  "use strict";

  var lmsOrigin = document.body ? document.body.dataset.lmsOrigin : null;
  var started = false;
  var content = null;
  var draftTimer = null;
  var launch = null;

  function tell(message) {
    window.parent.postMessage(message, lmsOrigin);
  }

  function pairsOf(written) {
    return Object.keys(written || {}).map(function (key) { return [key, String(written[key])]; });
  }

  function navRequest(written) {
    var request = "";
    pairsOf(written).forEach(function (pair) { if (pair[0] === "adl.nav.request") request = pair[1]; });
    return request;
  }

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  function start(message) {
    if (started || !sameOrigin(message.launch_url)) return;
    started = true;
    launch = message.launch || {};
    var api = window.HocvuScorm.createAPI({
      table: message.table,
      launch: launch,
      stored: message.stored,
      onCommit: function (written, info) {
        if (draftTimer) { window.clearTimeout(draftTimer); draftTimer = null; } // it says more
        tell({ hocvu: "commit", data: pairsOf(written), terminated: Boolean(info && info.terminated) });
        return true;
      },
      onTerminate: function (written) {
        tell({ hocvu: "terminate", request: navRequest(written) });
      }
    });
    // Each value the package sets also goes to the page as a draft (once per task), so that
    // what was set before the learner leaves is not lost with a package that commits only
    // on its way out, if the browser takes the page down before that last commit arrives.
    var setter = message.standard === "1.2" ? "LMSSetValue" : "SetValue";
    var set = api[setter];
    api[setter] = function (element, value) {
      var result = set(element, value);
      if (result === "true" && !draftTimer) {
        draftTimer = window.setTimeout(function () {
          draftTimer = null;
          tell({ hocvu: "draft", data: pairsOf(api.hocvu.written()) });
        }, 0);
      }
      return result;
    };
    if (message.standard === "1.2") window.API = api; else window.API_1484_11 = api;
    content = document.createElement("iframe");
    content.name = "sco";
    content.title = String(message.title || "");
    content.setAttribute("allow", "fullscreen; autoplay");
    content.setAttribute("allowfullscreen", "");
    content.style.cssText = "position:absolute;inset:0;width:100%;height:100%;border:0;display:block";
    document.body.style.cssText = "margin:0;overflow:hidden";
    document.body.appendChild(content);
    content.src = message.launch_url;
  }

  function unload() {
    if (!content) {
      tell({ hocvu: "unloaded" });
      return;
    }
    // The package's unload handlers run now (they set cmi.exit and call Finish/Terminate),
    // and their commits are posted before "unloaded", in order.
    content.addEventListener("load", function () { tell({ hocvu: "unloaded" }); }, { once: true });
    content.src = "about:blank";
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== lmsOrigin || event.source !== window.parent) return;
    var message = event.data || {};
    if (message.hocvu === "start") start(message);
    else if (message.hocvu === "unload") unload();
    else if (message.hocvu === "valid" && launch && message.valid && typeof message.valid === "object") {
      launch.nav_valid = message.valid; // the runtime reads its launch values when asked
    }
  });

  /* Keep the package of this link for offline play (issue 23): its files under link-free
   * URLs in "hocvu-pkg-<content hash>", this frame and its scripts, and which package the
   * link reaches; content-sw.js serves them when the network fails. */
  function keepForOffline() {
    var path = window.location.pathname;
    var root = path.replace(/frame\/[^/]+$/, "");
    var token = path.slice(root.length + "frame/".length);
    var origin = window.location.origin;
    var scripts = Array.prototype.map.call(document.querySelectorAll("script[src]"), function (s) {
      return s.src;
    });
    function encoded(file) {
      return file.split("/").map(encodeURIComponent).join("/");
    }
    return navigator.serviceWorker.register(new URL("content-sw.js", scripts[0]).href, { scope: root })
      .then(function () { return window.fetch(root + "pkg-files/" + token); })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (list) {
        return caches.open("hocvu-pkg-" + list.package).then(function (cache) {
          var files = list.files.slice();
          function next() {
            if (!files.length) return undefined;
            var file = encoded(files.shift());
            var key = origin + root + "pkg/_/" + file;
            return cache.match(key).then(function (found) {
              if (found) return undefined; // kept already (another part of the package)
              return window.fetch(root + "pkg/" + token + "/" + file).then(function (response) {
                if (!response.ok) throw new Error("HTTP " + response.status);
                return cache.put(key, response);
              });
            }).then(next);
          }
          var frame = window.fetch(window.location.pathname).then(function (response) {
            if (!response.ok) throw new Error("HTTP " + response.status);
            return cache.put(origin + root + "frame/_", response);
          });
          return Promise.all([frame, cache.addAll(scripts), next(), next(), next()]);
        }).then(function () {
          return caches.open("hocvu-pkg-links");
        }).then(function (links) {
          return links.put(origin + root + "link/" + token, new Response(list.package));
        }).then(function () {
          return list.bytes;
        });
      });
  }

  if (lmsOrigin && window.parent !== window) {
    if (window.location.hash === "#offline" && "serviceWorker" in navigator && window.caches) {
      keepForOffline().then(function (bytes) {
        tell({ hocvu: "offline-ready", bytes: bytes });
      }, function () {
        tell({ hocvu: "offline-failed" });
      });
    } else {
      tell({ hocvu: "ready" });
    }
  }
})();
