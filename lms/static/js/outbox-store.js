/* The offline outbox and state in IndexedDB, shared by the pages (offline.js) and the service
 * worker (sw.js): both queue actions there, the pages send them.
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

  scope.HocvuOutbox = {
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
    }
  };
})(self);
