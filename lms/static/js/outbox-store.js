/* The offline outbox and state in IndexedDB, shared by the pages (offline.js) and the service
 * worker (sw.js): both queue actions there; the pages send them, and the worker when the
 * learner logs out.
 *
 * Stores: "outbox" (actions waiting to be sent, in the order they happened: `seq` is an
 * auto-increment key), "refused" (actions the server refused, kept to show the learner until
 * they dismiss them), "state" (who the kept data belongs to, which courses were downloaded).
 * Every action and refusal carries `user`, the key of the account it was made under (see
 * lms/web/offline.py): nothing is ever sent or shown under another key.
 */
(function (scope) {
  "use strict";

  var NAME = "hocvu-offline";
  var VERSION = 1;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        db.createObjectStore("refused", { keyPath: "id" });
        db.createObjectStore("state");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  /* Run `work(stores)` in one transaction; resolves with what `work` set as `out.value`
   * once the transaction has committed. */
  function transaction(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var out = { value: undefined };
        var stores = {};
        names.forEach(function (name) { stores[name] = tx.objectStore(name); });
        work(stores, out);
        tx.oncomplete = function () { db.close(); resolve(out.value); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all(store, out, keep) {
    var found = [];
    store.openCursor().onsuccess = function (event) {
      var cursor = event.target.result;
      if (!cursor) { out.value = found; return; }
      if (!keep || keep(cursor.value)) found.push(cursor.value);
      cursor.continue();
    };
  }

  function newId() {
    if (scope.crypto && scope.crypto.randomUUID) return scope.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    scope.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function withLock(work) {
    var locks = scope.navigator && scope.navigator.locks;
    return locks && locks.request ? locks.request("hocvu-outbox", work) : work();
  }

  var api = {
    /* Queue an action ({kind, course, lesson, user, ...}); it gets its id and time here. */
    add: function (action) {
      var record = Object.assign({ id: newId(), at: Date.now() }, action);
      return transaction(["outbox"], "readwrite", function (s, out) {
        s.outbox.add(record);
        out.value = record;
      });
    },
    /* The account's actions in the order they happened. */
    list: function (user) {
      return transaction(["outbox"], "readonly", function (s, out) {
        all(s.outbox, out, function (a) { return a.user === user; });
      });
    },
    /* Take sent actions out and keep the refused ones to show (one transaction). */
    settle: function (seqs, refusals) {
      return transaction(["outbox", "refused"], "readwrite", function (s) {
        seqs.forEach(function (seq) { s.outbox.delete(seq); });
        refusals.forEach(function (r) { s.refused.put(r); });
      });
    },
    refused: function (user) {
      return transaction(["refused"], "readonly", function (s, out) {
        all(s.refused, out, function (r) { return r.user === user; });
      });
    },
    dismiss: function (ids) {
      return transaction(["refused"], "readwrite", function (s) {
        ids.forEach(function (id) { s.refused.delete(id); });
      });
    },
    /* Forget every action and refusal not made under `user` ("" forgets all). */
    keepOnly: function (user) {
      return transaction(["outbox", "refused", "state"], "readwrite", function (s) {
        ["outbox", "refused"].forEach(function (name) {
          s[name].openCursor().onsuccess = function (event) {
            var cursor = event.target.result;
            if (!cursor) return;
            if (!user || cursor.value.user !== user) cursor.delete();
            cursor.continue();
          };
        });
        s.state.openCursor().onsuccess = function (event) {
          var cursor = event.target.result;
          if (!cursor) return;
          var value = cursor.value;
          if (!user || (value && value.user && value.user !== user)) cursor.delete();
          cursor.continue();
        };
      });
    },
    get: function (name) {
      return transaction(["state"], "readonly", function (s, out) {
        s.state.get(name).onsuccess = function (event) { out.value = event.target.result; };
      });
    },
    set: function (name, value) {
      return transaction(["state"], "readwrite", function (s) { s.state.put(value, name); });
    },
    /* Send the account's actions to `url` (the sync endpoint) in the order they happened, 50
     * a request, one sender at a time across tabs and the worker (a Web Lock); take out what
     * the server answered for and keep its refusals of completions and answers to show. */
    send: function (user, url, token) {
      return withLock(function () { return sendBatch(user, url, token); });
    },
    /* Forget every account's kept pages and actions (logging out). */
    forgetAll: function () {
      return scope.caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("hocvu-user-") === 0;
        }).map(function (name) { return scope.caches.delete(name); }));
      }).then(function () { return api.keepOnly(""); });
    }
  };

  function sendBatch(user, url, token) {
    return api.list(user).then(function (actions) {
      if (!actions.length) return undefined;
      var batch = actions.slice(0, 50);
      return scope.fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": token },
        body: JSON.stringify({ actions: batch.map(function (a) {
          return { id: a.id, user: a.user, kind: a.kind, course: a.course, lesson: a.lesson,
                   at: a.at, answers: a.answers, seconds: a.seconds };
        }) })
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).then(function (answer) {
        var byId = {};
        batch.forEach(function (a) { byId[a.id] = a; });
        var sent = [];
        var refusals = [];
        (answer.results || []).forEach(function (result) {
          var action = byId[result.id];
          if (!action) return;
          sent.push(action.seq);
          var refused = result.status === "refused" ||
            (result.status === "duplicate" && result.first === "refused");
          // An opening or time spent refused is no news to the learner; a completion or
          // answers refused are, with the reason.
          if (refused && (action.kind === "complete" || action.kind === "self_check")) {
            refusals.push({ id: action.id, user: action.user, kind: action.kind,
                            course: action.course, lesson: action.lesson,
                            title: action.title || "", message: result.message || "" });
          }
        });
        return api.settle(sent, refusals).then(function () {
          if (sent.length === batch.length && actions.length > batch.length) {
            return sendBatch(user, url, token);
          }
          return undefined;
        });
      });
    });
  }

  scope.HocvuOutbox = api;
})(self);
