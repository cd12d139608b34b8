/* The SCORM player: runs one SCO in a sandboxed frame of the content origin (the package's
 * own origin, which holds the data model of scorm-api.js: see scorm-frame.js for the
 * messages), and delivers the commits that frame passes on so that nothing is lost.
 *
 * Every commit carries the SCO's whole state and a sequence number, so only the newest
 * unsent one matters. It is written to localStorage first (it survives a reload, a crash or
 * a closed tab), under the learner's id, then sent; a record is removed only when the server
 * has it. Failures are retried with backoff; a page being left sends with `keepalive`; any
 * Hocvu page of the same learner sends what an earlier page left unsent; a relaunch starts
 * from an unsent newer state and sends it in the new session.
 *
 * A SCORM 2004 SCO kept for offline play starts from the launch the course page's download
 * kept (lms/services/tracking/offline.py): its commits carry that launch's ticket, with which
 * the first one to arrive opens the session on the server. Such a record stays on the device
 * once sent (marked sent), so that playing from the same kept launch again starts from it and
 * numbers its commits after it. Offline, the lesson page's controls and table of contents
 * say that moving to another part needs a connection.
 *
 * (Past 600 lines: the journal, its channels and the page's player share one closure, and
 * the player's parts (messages, SCORM 2004 navigation, offline play, leaving the page) act on
 * the same session, frame and channel.)
 */
(function () {
  "use strict";

  var PREFIX = "hocvu.scorm.";
  var KEEPALIVE_BYTES = 60000; // browsers allow 64 KiB in flight for requests of a page being left
  var channels = {};
  var unloading = false;

  function meta(name) {
    var tag = document.querySelector('meta[name="' + name + '"]');
    return tag ? tag.getAttribute("content") : "";
  }

  function storageKey(user, stateId) {
    return PREFIX + user + "." + stateId;
  }

  function load(key) {
    try {
      return JSON.parse(window.localStorage.getItem(key));
    } catch (e) {
      return null;
    }
  }

  function keep(key, record) {
    try {
      window.localStorage.setItem(key, JSON.stringify(record));
      return true;
    } catch (e) {
      return false; // storage full or disabled: the record stays in memory only
    }
  }

  function forget(key, seq) {
    var stored = load(key);
    if (stored && stored.seq <= seq) {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    }
  }

  /* The server has the records up to `acked`: the stored one goes, except a kept launch's
   * (SCORM 2004 offline play), which stays marked sent. */
  function sent(key, acked) {
    var stored = load(key);
    if (!stored || stored.seq > acked) return;
    if (stored.offline) keep(key, Object.assign({}, stored, { sent: true }));
    else forget(key, acked);
  }

  function bytes(text) {
    return new Blob([text]).size;
  }

  /* One channel per SCO state: the newest record, at most one request in flight (a
   * Terminate goes out at once even so: the server orders commits by their numbers). */
  function Channel(key, status) {
    this.key = key;
    this.status = status || function () {};
    this.latest = null;
    this.acked = 0;
    this.inflight = false;
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.lastOutcome = "ok";
    this.storedOk = true;
  }

  Channel.prototype.put = function (record) {
    if (this.latest && this.latest.seq >= record.seq) return;
    this.latest = record;
    this.storedOk = keep(this.key, record);
    if (unloading && !this.stopped) {
      // A SCO that finishes while its page goes away: only keepalive gets through. The
      // usual path goes on too, in case the page stays after all (the server takes a
      // record once, however often it comes).
      this.send(record, { leaving: true });
    }
    if (record.terminated && this.inflight && !this.stopped) {
      this.send(record, { parallel: true });
      return;
    }
    this.kick();
  };

  Channel.prototype.pending = function () {
    return this.latest !== null && this.latest.seq > this.acked;
  };

  Channel.prototype.kick = function () {
    if (this.inflight || this.stopped || !this.pending()) return;
    if (this.timer) { window.clearTimeout(this.timer); this.timer = null; }
    this.send(this.latest, {});
  };

  Channel.prototype.later = function () {
    var self = this;
    if (this.timer || this.stopped) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, this.failures)) * (0.75 + Math.random() / 2);
    this.timer = window.setTimeout(function () { self.timer = null; self.kick(); }, delay);
  };

  Channel.prototype.fail = function (kind, retry) {
    this.failures += 1;
    this.lastOutcome = kind;
    this.troubled = true; // the learner was told: tell them again when it is saved
    this.status(kind === "unsaved" && !this.storedOk ? "unstored" : kind);
    if (retry) this.later(); else this.stopped = true;
  };

  Channel.prototype.send = function (record, how) {
    var self = this;
    var body = JSON.stringify({
      session: record.session, seq: record.seq, data: record.data, terminated: record.terminated,
      offline: record.offline, base: record.base
    });
    var options = {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": meta("csrf-token") },
      body: body,
      // Only a page being left needs keepalive, and it may carry 64 KiB at most; a larger
      // record waits in localStorage for the next page.
      keepalive: Boolean(how.leaving) && bytes(body) < KEEPALIVE_BYTES
    };
    if (how.leaving) {
      try { window.fetch(record.url, options); } catch (e) { /* sent next time */ }
      return;
    }
    if (how.quiet) {
      // An older session's last record: it reports that session's time; nothing to wait for.
      window.fetch(record.url, options).catch(function () { /* its time is lost, not data */ });
      return;
    }
    if (!how.parallel) {
      this.inflight = true;
      if (this.failures === 0) this.status("saving");
    }
    window.fetch(record.url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, json: json };
      });
    }).then(function (result) {
      if (!how.parallel) self.inflight = false;
      if (result.status === 200) {
        var recovered = self.troubled || self.failures > 0 || self.lastOutcome !== "ok";
        self.troubled = false;
        self.failures = 0;
        self.acked = Math.max(self.acked, record.seq);
        sent(self.key, self.acked);
        if (self.answer) self.answer(record, result.json);
        if (result.json.refused && result.json.refused.length) {
          self.lastOutcome = "refused";
          self.status("refused");
        } else {
          self.lastOutcome = "ok";
          self.status(recovered ? "resent" : "saved");
        }
        self.kick();
      } else if (result.status === 409 && result.json.error !== 409) {
        // Not a superseded session: two requests changed the same rows at once; again.
        self.fail("unsaved", true);
      } else if (result.status === 409) {
        // Opened again elsewhere: the newest launch owns the data; this one stops. (A kept
        // launch played offline from an older state than the server's: the same.)
        self.acked = Math.max(self.acked, record.seq);
        forget(self.key, record.seq);
        self.fail(result.json.stale ? "stale" : "elsewhere", false);
      } else if (result.status === 401) {
        self.fail("login", true);
      } else if (result.status === 403) {
        self.fail("expired", true);
      } else if (result.status === 400 || result.status === 404 || result.status === 413) {
        // Not for this page to solve: the record stays on the device, unsent.
        self.fail(result.status === 404 ? "login" : "refused", false);
      } else {
        self.fail("unsaved", true);
      }
    }, function () {
      if (!how.parallel) self.inflight = false;
      self.fail("unsaved", true);
    });
  };

  function channel(key, status) {
    if (!channels[key]) channels[key] = new Channel(key, status);
    else if (status) channels[key].status = status;
    return channels[key];
  }

  /* Send what earlier pages of this learner left in localStorage. */
  function flushStored(user) {
    var keys = [];
    try {
      for (var i = 0; i < window.localStorage.length; i += 1) {
        var key = window.localStorage.key(i);
        if (key && key.indexOf(PREFIX + user + ".") === 0) keys.push(key);
      }
    } catch (e) {
      return;
    }
    keys.forEach(function (key) {
      var record = load(key);
      if (record && record.url && !record.sent && !channels[key]) channel(key).put(record);
    });
  }

  /* Whether every channel has sent what it holds (or given up): a navigation request of
   * the page waits for the SCO's last commit, which the engine must see first. */
  function settled() {
    return Object.keys(channels).every(function (key) {
      var c = channels[key];
      return c.stopped || (!c.inflight && !c.pending());
    });
  }

  function whenSettled(go) {
    var waited = 0;
    (function check() {
      if (settled() || waited >= 5000) { go(); return; }
      waited += 100;
      window.setTimeout(check, 100);
    })();
  }

  function leaving() {
    unloading = true;
    Object.keys(channels).forEach(function (key) {
      var c = channels[key];
      if (c.pending() && !c.stopped) c.send(c.latest, { leaving: true });
    });
  }

  function startPlayer(root) {
    var statusBox = root.querySelector(".player-status");
    var frame = root.querySelector(".player-frame");
    var hideTimer = null;

    function show(kind) {
      var text = root.dataset["msg" + kind.charAt(0).toUpperCase() + kind.slice(1)];
      if (hideTimer) { window.clearTimeout(hideTimer); hideTimer = null; }
      if (!text || !statusBox) return;
      statusBox.textContent = text;
      statusBox.className = "player-status status-" + kind;
      statusBox.hidden = false;
      if (kind === "saved" || kind === "resent") {
        hideTimer = window.setTimeout(function () { statusBox.hidden = true; },
                                      kind === "resent" ? 8000 : 2500);
      }
    }

    var overOffline = false; // a SCORM 2004 part ended offline: its answer comes when online

    function status(kind) {
      root.dataset.saveState = kind;
      if (kind === "saving" || kind === "saved") return; // quiet while all is well
      show(overOffline && kind === "unsaved" ? "overOffline" : kind);
    }

    function json(url, method) {
      var options = { method: method || "GET", credentials: "same-origin",
                      headers: { Accept: "application/json" } };
      if (options.method === "POST") options.headers["X-CSRFToken"] = meta("csrf-token");
      return window.fetch(url, options).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
    }

    var preview = root.dataset.preview === "true";
    // Starting a session is a POST: it supersedes the SCO's other open sessions.
    var runtime = preview
      ? Promise.resolve(JSON.parse(root.dataset.runtime))
      : json(root.dataset.runtimeUrl, "POST");
    runtime.then(function (rt) {
      return json(rt.rules_url).then(function (table) { return [rt, table]; });
    }).then(function (both) {
      var rt = both[0], table = both[1];
      var key = preview ? null : storageKey(rt.user, rt.state_id);
      var ch = preview ? { put: function () {} } : channel(key, status);
      var stored = rt.stored;
      var seq = rt.seq;
      var launch = rt.launch;
      var only = rt.session_only || [];
      var pending = preview ? null : (ch.latest || load(key));
      // A kept launch (SCORM 2004 offline play): its commits carry its ticket, and the
      // commit the play starts from when it is this device's own record the server took.
      var ticket = rt.offline || undefined;
      var base;
      if (pending && pending.url === rt.commit_url && pending.seq > rt.seq) {
        // The server has not got this device's newest state (or, for a kept launch, did
        // after the launch was kept): start from it. The old session's record reports that
        // session's time; its data goes on in this session.
        if (pending.session !== rt.session && !pending.sent) {
          // Without a kept launch's ticket: that session is not to be opened now (it would
          // supersede this one); its data goes on here.
          ch.send(Object.assign({}, pending, { offline: undefined, base: undefined }), { quiet: true });
        }
        if (ticket && pending.sent) base = pending.seq;
        stored = pending.data.filter(function (pair) { return only.indexOf(pair[0]) < 0; });
        // A suspend: cmi.exit, or adl.nav.request = suspendAll (as the server takes it).
        var suspended = pending.data.some(function (pair) {
          return (/(^|\.)exit$/.test(pair[0]) && pair[1] === "suspend") ||
            (pair[0] === "adl.nav.request" && pair[1] === "suspendAll");
        });
        if (suspended) launch = Object.assign({}, launch, { entry: "resume" });
        seq = Math.max(seq, pending.seq);
        ch.latest = null;
        ch.stopped = false;
        seq += 1;
        ch.put({ url: rt.commit_url, session: rt.session, seq: seq, data: stored, terminated: false,
                 offline: ticket, base: base });
      } else if (pending && !preview) {
        forget(key, rt.seq);
      }

      function onCommit(data, terminated) {
        draft = null;
        seq += 1;
        ch.put({
          url: rt.commit_url,
          session: rt.session,
          seq: seq,
          data: data, // the whole state: what the session started with, then its writes
          terminated: terminated,
          offline: ticket,
          base: base
        });
      }

      var sequenced = root.dataset.sequenced === "true";
      if (sequenced && !preview) {
        // SCORM 2004: the server runs the SCO's navigation request with its last commit and
        // answers where it leads; without a request the player delivers nothing (it waits
        // for the learner's next request). Every answer refreshes adl.nav.request_valid.
        ch.answer = function (record, answer) {
          if (answer.nav_valid && frame.contentWindow) {
            frame.contentWindow.postMessage({ hocvu: "valid", valid: answer.nav_valid }, rt.content_origin);
          }
          if (answer.nav_valid) showValid(answer.nav_valid);
          var nav = answer.navigation;
          if (record.terminated && nav && nav.url && !unloading && !leavingTo) {
            leavingTo = nav.url;
            window.location.assign(nav.url);
          } else if (record.terminated && (!nav || !nav.url)) {
            root.dataset.waiting = "true";
            show("waiting");
          }
        };
      }

      /* The page's controls and table of contents as the engine now allows (a commit may
       * satisfy the part, opening the next one). */
      function showValid(valid) {
        var prefix = "adl.nav.request_valid.";
        root.querySelectorAll("[data-nav-control]").forEach(function (form) {
          var name = form.dataset.navControl;
          if (name === "continue" || name === "previous") form.hidden = valid[prefix + name] !== "true";
        });
        root.querySelectorAll("[data-toc] > [data-choice]").forEach(function (shown) {
          var ok = valid[prefix + "choice.{target=" + shown.parentNode.dataset.toc + "}"] === "true";
          if (ok === (shown.tagName === "A")) return;
          var other = document.createElement(ok ? "a" : "span");
          other.textContent = shown.textContent;
          other.dataset.choice = "";
          if (ok) {
            other.href = shown.dataset.href;
          } else {
            other.className = "toc-disabled";
            other.dataset.href = shown.getAttribute("href");
          }
          shown.parentNode.replaceChild(other, shown);
        });
      }

      /* Exit the lesson, offline: what the button asks online (suspend all), carried by
       * the SCO's last record (as a Terminate asking for it), so that the engine suspends the
       * lesson when the record arrives and the next visit resumes it. A SCO's own request
       * stays. */
      function suspendOffline() {
        var last = ch.latest || load(key);
        if (!last || last.url !== rt.commit_url || last.session !== rt.session) return;
        var asked = last.data.filter(function (pair) { return pair[0] === "adl.nav.request"; })[0];
        if (last.terminated && asked && asked[1] !== "_none_" && asked[1] !== "") return;
        seq = Math.max(seq, last.seq) + 1;
        ch.put({
          url: rt.commit_url, session: rt.session, seq: seq, terminated: true, offline: ticket,
          base: base,
          data: last.data.filter(function (pair) {
            return pair[0] !== "adl.nav.request";
          }).concat([["adl.nav.request", "suspendAll"]])
        });
      }

      function onTerminate(request) {
        if (sequenced) {
          // The commit's answer says what comes next; offline it comes when the connection
          // returns (the page then goes on by itself).
          if (!navigator.onLine && !unloading && !preview) {
            overOffline = true;
            show("overOffline");
          }
          return;
        }
        var target = null;
        var choice = /^\{target=([^}]+)\}choice$/.exec(request);
        if (request === "continue") target = root.dataset.nextUrl || root.dataset.lessonUrl;
        else if (request === "previous") target = root.dataset.previousUrl || root.dataset.lessonUrl;
        else if (choice) target = root.dataset.lessonUrl + "?sco=" + encodeURIComponent(choice[1]);
        else if (/^(exit|exitAll|suspendAll|abandon|abandonAll)$/.test(request)) target = root.dataset.courseUrl;
        else if (!unloading && !preview) {
          // The SCO ended itself without asking for anything: leave no blank frame behind.
          target = root.classList.contains("with-toc") ? root.dataset.lessonUrl : root.dataset.courseUrl;
        }
        if (target && !unloading && !leavingTo) {
          window.setTimeout(function () { window.location.assign(target); }, 300);
        }
      }

      /* Values set but not committed yet: committed by this page when it is hidden or left
       * (a phone may kill a tab in the background; a reload may outrun the package's own
       * last commit). SCORM lets an LMS keep values before the SCO commits them. */
      var draft = null;
      function commitDraft() {
        if (preview || !draft) return;
        onCommit(draft, false);
      }
      window.addEventListener("pagehide", commitDraft);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "hidden") commitDraft();
      });

      function pairs(data) {
        return data.filter(function (pair) {
          return Array.isArray(pair) && pair.length === 2;
        }).map(function (pair) { return [String(pair[0]), String(pair[1])]; });
      }

      // Only the frame this page made, on the content origin, may speak for the package;
      // what it says is checked like anything a package sends (the server checks commits).
      var leavingTo = null;
      var afterUnload = null;
      window.addEventListener("message", function (event) {
        if (event.origin !== rt.content_origin || event.source !== frame.contentWindow) return;
        var message = event.data || {};
        if (message.hocvu === "ready") {
          frame.contentWindow.postMessage({
            hocvu: "start", standard: rt.standard, table: table, launch: launch,
            stored: stored, launch_url: rt.launch_url, title: frame.title
          }, rt.content_origin);
        } else if (message.hocvu === "commit" && Array.isArray(message.data)) {
          onCommit(pairs(message.data), Boolean(message.terminated));
        } else if (message.hocvu === "draft" && Array.isArray(message.data)) {
          draft = pairs(message.data);
        } else if (message.hocvu === "terminate") {
          onTerminate(String(message.request || ""));
        } else if (message.hocvu === "unloaded" && afterUnload) {
          afterUnload();
        }
      });

      /* Leaving the page by a link or a form of this page: the package is taken down first,
       * so that what it saves on its way out (cmi.exit, the session time, Terminate) reaches
       * this page, which sends it with keepalive before going. */
      function leaveAfterUnload(go) {
        if (leavingTo) return;
        leavingTo = go;
        unloading = true;
        var done = false;
        afterUnload = function () {
          if (done) return;
          done = true;
          // The commits posted with "unloaded" are in hand; a sequenced lesson waits until
          // they are sent, as its next request depends on them.
          window.setTimeout(function () {
            if (sequenced && navigator.onLine) whenSettled(go); else go();
          }, 50);
        };
        window.setTimeout(afterUnload, 1500); // a frame that does not answer
        frame.contentWindow.postMessage({ hocvu: "unload" }, rt.content_origin);
      }
      /* Offline, a SCORM 2004 lesson plays the part it has; moving to another one asks the
       * SN engine on the server: the controls and the table of contents say so (disabled).
       * Exit the lesson still leaves, to the kept course page. */
      var offlineNote = root.querySelector("[data-offline-note]");
      function showConnection() {
        var off = sequenced && !preview && !navigator.onLine;
        root.classList.toggle("player-offline", off);
        if (offlineNote) offlineNote.hidden = !off;
        root.querySelectorAll("[data-offline-toc]").forEach(function (line) { line.hidden = !off; });
        root.querySelectorAll("[data-nav-control]").forEach(function (form) {
          if (form.dataset.navControl === "suspendAll") return;
          var button = form.querySelector("button");
          button.disabled = off;
          if (off && offlineNote) button.setAttribute("aria-describedby", offlineNote.id);
          else button.removeAttribute("aria-describedby");
        });
        root.querySelectorAll("[data-toc] > a[data-choice]").forEach(function (link) {
          if (off) {
            link.setAttribute("aria-disabled", "true");
            if (offlineNote) link.setAttribute("aria-describedby", offlineNote.id);
          } else {
            link.removeAttribute("aria-disabled");
            link.removeAttribute("aria-describedby");
          }
        });
      }
      window.addEventListener("online", showConnection);
      window.addEventListener("offline", showConnection);
      showConnection();
      function offlineBlocked() {
        if (!sequenced || preview || navigator.onLine) return false;
        if (offlineNote) {
          offlineNote.classList.remove("flash");
          void offlineNote.offsetWidth; // restart the highlight
          offlineNote.classList.add("flash");
        }
        return true;
      }

      document.addEventListener("click", function (event) {
        var link = event.target.closest && event.target.closest("a[href]");
        if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey ||
            event.metaKey || event.shiftKey || event.altKey || link.target ||
            link.hasAttribute("download") || link.getAttribute("href").charAt(0) === "#") return;
        event.preventDefault();
        if (link.closest("[data-toc]") && offlineBlocked()) return;
        leaveAfterUnload(function () { window.location.assign(link.href); });
      });
      document.addEventListener("submit", function (event) {
        if (event.defaultPrevented || leavingTo === "sent") return;
        var form = event.target;
        var submitter = event.submitter;
        event.preventDefault();
        if (form.dataset.navControl && offlineBlocked()) {
          if (form.dataset.navControl === "suspendAll") {
            leaveAfterUnload(function () {
              suspendOffline();
              window.location.assign(root.dataset.courseUrl);
            });
          }
          return;
        }
        leaveAfterUnload(function () {
          leavingTo = "sent";
          if (submitter && submitter.name) {
            // submit() sends no button: the one pressed (the language chosen) goes as a field.
            var field = document.createElement("input");
            field.type = "hidden";
            field.name = submitter.name;
            field.value = submitter.value;
            form.appendChild(field);
          }
          HTMLFormElement.prototype.submit.call(form);
        });
      });

      root.dataset.ready = "true";
      frame.src = rt.frame_url;
      if (!preview) flushStored(rt.user);
    }).catch(function () {
      show("failed");
    });
  }

  window.addEventListener("beforeunload", function () { unloading = true; });
  window.addEventListener("pagehide", leaving);
  window.addEventListener("pageshow", function () { unloading = false; });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      Object.keys(channels).forEach(function (key) { channels[key].kick(); });
    } else if (document.visibilityState === "hidden") {
      Object.keys(channels).forEach(function (key) {
        var c = channels[key];
        if (c.pending() && !c.stopped && !c.inflight) c.send(c.latest, { leaving: true });
      });
    }
  });
  window.addEventListener("online", function () {
    Object.keys(channels).forEach(function (key) { channels[key].kick(); });
  });

  /* Records already on the server (kept, marked sent, for replaying a kept launch) are the
   * logged-in learner's only: another learner's, or anyone's on a page seen logged out, go. */
  function dropOthersSent(user) {
    var drop = [];
    try {
      for (var i = 0; i < window.localStorage.length; i += 1) {
        var key = window.localStorage.key(i);
        if (!key || key.indexOf(PREFIX) !== 0 || (user && key.indexOf(PREFIX + user + ".") === 0)) continue;
        var record = load(key);
        if (record && record.sent) drop.push(key);
      }
      drop.forEach(function (key) { window.localStorage.removeItem(key); });
    } catch (e) { /* storage disabled */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    dropOthersSent(meta("hocvu-user"));
    var root = document.getElementById("scorm-player");
    if (root && (root.dataset.runtimeUrl || root.dataset.preview === "true")) {
      startPlayer(root); // it sends what earlier pages left once its own state is known
    } else if (meta("hocvu-user")) {
      flushStored(meta("hocvu-user"));
    }
  });
})();
