/* The SCORM player: runs one SCO in a frame with the data model of scorm-api.js, and
 * delivers its commits so that nothing is lost.
 *
 * Every commit carries the SCO's whole state and a sequence number, so only the newest
 * unsent one matters. It is written to localStorage first (it survives a reload, a crash or
 * a closed tab), then sent; failures are retried with backoff, and a page that is being left
 * sends with `keepalive`. Any Hocvu page sends what an earlier page left unsent.
 */
(function () {
  "use strict";

  var PREFIX = "hocvu.scorm.";
  var channels = {};

  function load(id) {
    try {
      return JSON.parse(window.localStorage.getItem(PREFIX + id));
    } catch (e) {
      return null;
    }
  }

  function keep(id, record) {
    try {
      window.localStorage.setItem(PREFIX + id, JSON.stringify(record));
      return true;
    } catch (e) {
      return false; // storage full or disabled: the record stays in memory only
    }
  }

  function forget(id, seq) {
    var stored = load(id);
    if (stored && stored.seq <= seq) {
      try { window.localStorage.removeItem(PREFIX + id); } catch (e) { /* ignore */ }
    }
  }

  function csrfToken() {
    var root = document.getElementById("scorm-player");
    if (root && root.dataset.csrf) return root.dataset.csrf;
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  /* One channel per SCO state: the newest record, at most one request in flight. */
  function Channel(id, status) {
    this.id = id;
    this.status = status || function () {};
    this.latest = null;
    this.acked = 0;
    this.inflight = false;
    this.failures = 0;
    this.timer = null;
    this.lastOutcome = "ok";
  }

  Channel.prototype.put = function (record) {
    if (this.latest && this.latest.seq >= record.seq) return;
    this.latest = record;
    keep(this.id, record);
    this.kick();
  };

  Channel.prototype.pending = function () {
    return this.latest !== null && this.latest.seq > this.acked;
  };

  Channel.prototype.kick = function () {
    if (this.inflight || !this.pending()) return;
    if (this.timer) { window.clearTimeout(this.timer); this.timer = null; }
    this.send(this.latest, false);
  };

  Channel.prototype.later = function () {
    var self = this;
    if (this.timer) return;
    var delay = Math.min(30000, 1000 * Math.pow(2, this.failures)) * (0.75 + Math.random() / 2);
    this.timer = window.setTimeout(function () { self.timer = null; self.kick(); }, delay);
  };

  Channel.prototype.send = function (record, leaving) {
    var self = this;
    var body = JSON.stringify({
      session: record.session, seq: record.seq, data: record.data, terminated: record.terminated
    });
    var options = {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": record.csrf || csrfToken(),
                 "Accept": "application/json" },
      body: body,
      // A page being left may only finish small requests; larger ones wait in localStorage.
      keepalive: body.length < 60000
    };
    if (leaving) {
      try { window.fetch(record.url, options); } catch (e) { /* sent next time */ }
      return;
    }
    this.inflight = true;
    if (this.failures === 0) this.status("saving");
    window.fetch(record.url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, json: json };
      });
    }).then(function (result) {
      self.inflight = false;
      if (result.status === 200) {
        var recovered = self.failures > 0 || self.lastOutcome !== "ok";
        self.failures = 0;
        self.acked = Math.max(self.acked, result.json.seq || record.seq, record.seq);
        forget(self.id, self.acked);
        if (result.json.refused && result.json.refused.length) {
          self.lastOutcome = "refused";
          self.status("refused");
        } else {
          self.lastOutcome = "ok";
          self.status(recovered ? "resent" : "saved", result.json);
        }
        self.kick();
      } else if (result.status === 401 || result.status === 403) {
        self.failures += 1;
        self.lastOutcome = "login";
        self.status("login");
        self.later();
      } else if (result.status === 400 || result.status === 404 || result.status === 413) {
        // The server will never take this record: keep the state in memory, stop retrying.
        self.acked = Math.max(self.acked, record.seq);
        forget(self.id, record.seq);
        self.lastOutcome = "refused";
        self.status("refused");
      } else {
        self.failures += 1;
        self.lastOutcome = "unsaved";
        self.status("unsaved");
        self.later();
      }
    }, function () {
      self.inflight = false;
      self.failures += 1;
      self.lastOutcome = "unsaved";
      self.status("unsaved");
      self.later();
    });
  };

  function channel(id, status) {
    if (!channels[id]) channels[id] = new Channel(id, status);
    else if (status) channels[id].status = status;
    return channels[id];
  }

  /* Send what earlier pages left in localStorage. */
  function flushStored() {
    var ids = [];
    try {
      for (var i = 0; i < window.localStorage.length; i += 1) {
        var key = window.localStorage.key(i);
        if (key && key.indexOf(PREFIX) === 0) ids.push(key.slice(PREFIX.length));
      }
    } catch (e) {
      return;
    }
    ids.forEach(function (id) {
      var record = load(id);
      if (record && record.url) channel(id).put(record);
    });
  }

  function leaving() {
    Object.keys(channels).forEach(function (id) {
      var c = channels[id];
      if (c.pending()) c.send(c.latest, true);
    });
  }

  function randomKey() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function pairsOf(written) {
    if (Array.isArray(written)) return written;
    if (written instanceof Map) return Array.from(written.entries());
    return Object.keys(written || {}).map(function (k) { return [k, written[k]]; });
  }

  /* The whole state: what the session started with, then what the SCO wrote (first-write
   * order kept, later writes replace the value in place). */
  function merge(stored, written) {
    var map = new Map();
    stored.forEach(function (pair) { map.set(pair[0], pair[1]); });
    pairsOf(written).forEach(function (pair) { map.set(pair[0], String(pair[1])); });
    return Array.from(map.entries());
  }

  function startPlayer(root) {
    var statusBox = root.querySelector(".player-status");
    var frame = root.querySelector(".player-frame");
    var hideTimer = null;

    function show(kind) {
      var text = root.dataset["msg" + kind.charAt(0).toUpperCase() + kind.slice(1)];
      if (hideTimer) { window.clearTimeout(hideTimer); hideTimer = null; }
      if (!text) return;
      statusBox.textContent = text;
      statusBox.className = "player-status status-" + kind;
      statusBox.hidden = false;
      if (kind === "saved" || kind === "resent" || kind === "saving") {
        hideTimer = window.setTimeout(function () { statusBox.hidden = true; },
                                      kind === "resent" ? 6000 : 2500);
      }
    }

    function status(kind) {
      root.dataset.saveState = kind;
      if (kind === "saving") return; // quiet unless it fails
      show(kind);
    }

    function getJSON(url) {
      return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        });
    }

    var preview = root.dataset.preview === "true";
    var runtime = preview
      ? Promise.resolve(JSON.parse(root.dataset.runtime))
      : getJSON(root.dataset.runtimeUrl);
    runtime.then(function (rt) {
      return getJSON(rt.rules_url).then(function (table) { return [rt, table]; });
    }).then(function (both) {
      var rt = both[0], table = both[1];
      var ch = preview ? { put: function () {} } : channel(String(rt.state_id), status);
      var stored = rt.stored;
      var seq = rt.seq;
      var launch = rt.launch;
      var pending = preview ? null : load(rt.state_id);
      if (pending && pending.seq > rt.seq && pending.url === rt.commit_url) {
        // The server has not got this device's newest state yet: start from it, send it.
        var only = rt.session_only || [];
        stored = pending.data.filter(function (pair) { return only.indexOf(pair[0]) < 0; });
        var exit = pending.data.filter(function (pair) { return only.indexOf(pair[0]) >= 0 && /exit$/.test(pair[0]); });
        if (exit.length && exit[0][1] === "suspend") launch = Object.assign({}, launch, { entry: "resume" });
        seq = pending.seq;
        ch.put(pending);
      }
      var session = randomKey();
      var terminated = false;

      function onCommit(written, info) {
        seq += 1;
        ch.put({
          url: rt.commit_url,
          csrf: root.dataset.csrf,
          session: session,
          seq: seq,
          data: merge(stored, written),
          terminated: Boolean(info && info.terminated)
        });
        return true;
      }

      function onTerminate(written) {
        terminated = true;
        var request = "";
        pairsOf(written).forEach(function (pair) { if (pair[0] === "adl.nav.request") request = pair[1]; });
        var target = null;
        var choice = /^\{target=([^}]+)\}choice$/.exec(request);
        if (request === "continue") target = root.dataset.nextUrl || root.dataset.lessonUrl;
        else if (request === "previous") target = root.dataset.previousUrl || root.dataset.lessonUrl;
        else if (choice) target = root.dataset.lessonUrl + "?sco=" + encodeURIComponent(choice[1]);
        else if (/^(exit|exitAll|suspendAll|abandon|abandonAll)$/.test(request)) target = root.dataset.courseUrl;
        if (target) window.setTimeout(function () { window.location.assign(target); }, 150);
      }

      var api = window.HocvuScorm.createAPI({
        table: table, launch: launch, stored: stored, onCommit: onCommit, onTerminate: onTerminate
      });
      if (rt.standard === "1.2") window.API = api; else window.API_1484_11 = api;
      root.dataset.ready = "true";
      root.hocvu = { api: api, channel: ch, runtime: rt, isTerminated: function () { return terminated; } };
      frame.src = rt.launch_url;
    }).catch(function () {
      show("failed");
    });
  }

  window.addEventListener("pagehide", leaving);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leaving();
  });
  window.addEventListener("online", function () {
    Object.keys(channels).forEach(function (id) { channels[id].kick(); });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("scorm-player");
    if (root && (root.dataset.runtimeUrl || root.dataset.preview === "true")) startPlayer(root);
    flushStored();
  });
})();
