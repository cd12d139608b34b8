// The SCORM run-time API a SCO talks to (LMSInitialize... for 1.2, Initialize... for 2004).
// It interprets the data-model table that scorm/datamodel/ serves as JSON, the same table the
// server uses to re-validate every commit, so both sides give the same answers. Keep this file in
// step with scorm/datamodel/: tests/browser/test_scorm_engine.py runs one corpus through both.
//
// Regular expressions in the table are written in a subset that Python `re` and JS `RegExp`
// (with the `u` flag) read alike: they are anchored here as ^(?:...)$ and counted in code points;
// see the docstring of scorm/datamodel/__init__.py for the subset.
//
// Usage: const api = HocvuScorm.createAPI({table, launch, stored, onCommit, onTerminate});
// window.API = api (1.2) or window.API_1484_11 = api (2004). `launch` has the fields of Python's
// Launch; `stored` is {element: value} or [[element, value], ...]. onCommit(written, {terminated})
// is called synchronously by Commit and Terminate; returning false (or throwing) refuses the
// commit (391 in 2004, 101 in 1.2). onTerminate(written, {committed}) follows a Terminate.
// `written` (also api.hocvu.written()) is {element: value}: the stored values, then this
// session's writes, in first-write order.
(() => {
  "use strict";

  const OK = 0;
  const TYPE = 1;
  const RANGE = 2;
  const KEYWORDS = new Set(["_children", "_count", "_version"]);
  const MAX_INDEX_DIGITS = 9;
  const TARGET = /^\{target=[^{}]+\}$/u;
  const DIGITS = /^[0-9]+$/;
  const SUBTAG = /^[A-Za-z0-9]{1,8}$/;
  const ALPHA2 = /^[A-Za-z]{2}$/;
  const SURROGATE = /[\uD800-\uDFFF]/;
  const compiled = new WeakMap();

  // Length in code points, as Python's len().
  const cpLength = (s) => {
    if (!SURROGATE.test(s)) return s.length;
    let n = 0;
    for (const _ of s) n += 1; // eslint-disable-line no-unused-vars
    return n;
  };
  const cpSlice = (s, n) => Array.from(s).slice(0, n).join("");
  const pad = (n, width) => String(n).padStart(width, "0");
  const daysInMonth = (year, month) => {
    if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
    return [4, 6, 9, 11].includes(month) ? 30 : 31;
  };

  // -- Rendering LMS-supplied values (as in scorm/datamodel/values.py) ------------------------------------
  const centiseconds = (seconds) => Math.max(0, Math.floor(Number(seconds) * 100 + 0.5));
  const clockParts = (cs) => {
    const h = Math.floor(cs / 360000);
    let rest = cs % 360000;
    const m = Math.floor(rest / 6000);
    rest %= 6000;
    return [h, m, Math.floor(rest / 100), rest % 100];
  };
  const renderTimespan = (seconds) => {
    const [h, m, s, c] = clockParts(Math.min(centiseconds(seconds), 9999 * 360000 + 359999));
    return `${pad(h, 4)}:${pad(m, 2)}:${pad(s, 2)}.${pad(c, 2)}`;
  };
  const renderDuration = (seconds) => {
    const [h, m, s, c] = clockParts(centiseconds(seconds));
    const frac = c ? `.${pad(c, 2)}`.replace(/0+$/, "") : "";
    return `PT${h}H${m}M${s}${frac}S`;
  };
  const renderNumber = (value) => String(Number(value));

  // `cmi.interactions.n.type` with indices [3] -> `cmi.interactions.3.type`.
  const subst = (template, indices) => {
    let k = 0;
    return template.split(".").map((seg) => (seg === "n" ? String(indices[k++]) : seg)).join(".");
  };

  // -- Compiling a table ---------------------------------------------------------------------
  function compile(table) {
    if (compiled.has(table)) return compiled.get(table);
    const checks = new Map();

    function compileType(name) {
      if (checks.has(name)) return checks.get(name);
      const spec = table.types[name];
      if (!spec) throw new Error(`unknown type ${name}`);
      let check;
      switch (spec.kind) {
        case "vocab": {
          const values = new Set(spec.values);
          check = (v) => (values.has(v) ? OK : TYPE);
          break;
        }
        case "text":
          check = (v) => (cpLength(v) <= spec.max ? OK : TYPE);
          break;
        case "pattern": {
          const rx = new RegExp(`^(?:${spec.pattern})$`, "u");
          check = (v) => (cpLength(v) <= spec.max && rx.test(v) ? OK : TYPE);
          break;
        }
        case "number": {
          const rx = new RegExp(`^(?:${spec.pattern})$`, "u");
          check = (v) => {
            if (v === "") return spec.blank ? OK : TYPE;
            if (cpLength(v) > 40 || !rx.test(v)) return TYPE;
            if (spec.min !== null || spec.max !== null) {
              const x = Number(v);
              if ((spec.min !== null && x < spec.min) || (spec.max !== null && x > spec.max)) {
                return RANGE;
              }
            }
            return OK;
          };
          break;
        }
        case "timestamp": {
          const rx = new RegExp(`^(?:${spec.pattern})$`, "u");
          check = (v) => {
            const m = cpLength(v) <= 40 ? rx.exec(v) : null;
            if (m === null) return TYPE;
            if (m[3] && Number(m[3]) > daysInMonth(Number(m[1]), Number(m[2]))) return TYPE;
            return OK;
          };
          break;
        }
        case "language": {
          const codes = new Set(spec.codes.map((c) => c.toLowerCase()));
          const regions = new Set(spec.regions.map((r) => r.toUpperCase()));
          check = (v) => {
            if (v === "") return spec.blank ? OK : TYPE;
            const parts = v.split("-");
            if (cpLength(v) > spec.max || !parts.every((p) => SUBTAG.test(p))) return TYPE;
            const primary = parts[0].toLowerCase();
            if (primary === "i" || primary === "x") return parts.length > 1 ? OK : TYPE;
            if (!codes.has(primary)) return TYPE;
            if (parts.length > 1 && ALPHA2.test(parts[1])) {
              return regions.has(parts[1].toUpperCase()) ? OK : TYPE;
            }
            return OK;
          };
          break;
        }
        case "localized": {
          const lang = compileType(spec.lang);
          check = (v, rt, idx) => {
            let text = v;
            if (v.startsWith("{lang=")) {
              const end = v.indexOf("}");
              if (end !== -1) {
                if (lang(v.slice(6, end), rt, idx) !== OK) return TYPE;
                text = v.slice(end + 1);
              }
            }
            return cpLength(text) <= spec.max ? OK : TYPE;
          };
          break;
        }
        case "list": {
          const item = compileType(spec.item);
          check = (v, rt, idx) => {
            if (v === "") return spec.empty ? OK : TYPE;
            if (cpLength(v) > spec.max) return TYPE;
            const parts = v.split(spec.sep);
            for (const part of parts) if (item(part, rt, idx) !== OK) return TYPE;
            if (spec.unique && new Set(parts).size !== parts.length) return TYPE;
            return OK;
          };
          break;
        }
        case "pair": {
          const left = compileType(spec.left);
          const right = compileType(spec.right);
          check = (v, rt, idx) => {
            const i = v.indexOf(spec.sep);
            if (i === -1) return TYPE;
            const a = v.slice(0, i);
            const b = v.slice(i + spec.sep.length);
            if (b.includes(spec.sep) || (a === "" && b === "")) return TYPE;
            if (a === "" ? !spec.left_empty : left(a, rt, idx) !== OK) return TYPE;
            if (b === "" ? !spec.right_empty : right(b, rt, idx) !== OK) return TYPE;
            return OK;
          };
          break;
        }
        case "range": {
          const item = compileType(spec.item);
          const fallback = spec.fallback ? compileType(spec.fallback) : null;
          check = (v, rt, idx) => {
            const i = v.indexOf(spec.sep);
            if (i === -1) return fallback && fallback(v, rt, idx) === OK ? OK : TYPE;
            const lo = v.slice(0, i);
            const hi = v.slice(i + spec.sep.length);
            if (hi.includes(spec.sep)) return TYPE;
            if ((lo && item(lo, rt, idx) !== OK) || (hi && item(hi, rt, idx) !== OK)) return TYPE;
            if (lo && hi && Number(lo) > Number(hi)) return TYPE;
            return OK;
          };
          break;
        }
        case "flags": {
          const then = compileType(spec.then);
          check = (v, rt, idx) => {
            let rest = v;
            const seen = new Set();
            while (rest.startsWith("{")) {
              const name = spec.flags.find((f) => rest.startsWith(`{${f}=`));
              if (name === undefined) break;
              const end = rest.indexOf("}");
              const flag = end === -1 ? null : rest.slice(name.length + 2, end);
              if (seen.has(name) || (flag !== "true" && flag !== "false")) return TYPE;
              seen.add(name);
              rest = rest.slice(end + 1);
            }
            return then(rest, rt, idx) === OK ? OK : TYPE;
          };
          break;
        }
        case "oneof": {
          const options = spec.options.map(compileType);
          check = (v, rt, idx) => (options.some((o) => o(v, rt, idx) === OK) ? OK : TYPE);
          break;
        }
        case "response": {
          const cases = new Map(Object.entries(spec.cases).map(([k, t]) => [k, compileType(t)]));
          check = (v, rt, idx) => {
            const inner = cases.get(rt.values.get(subst(spec.by, idx)) ?? "");
            return inner === undefined ? TYPE : inner(v, rt, idx);
          };
          break;
        }
        default:
          throw new Error(`unknown type kind ${spec.kind}`);
      }
      checks.set(name, check);
      return check;
    }

    for (const name of Object.keys(table.types)) compileType(name);
    const arrays = new Map(table.arrays.map((a) => [a.path, a]));
    const rules = new Map();
    for (const el of table.elements) {
      const segs = el.path.split(".");
      const arrs = [];
      segs.forEach((seg, p) => {
        if (seg === "n") arrs.push(arrays.get(segs.slice(0, p).join(".")));
      });
      rules.set(el.path, {
        element: el,
        depth: arrs.length,
        check: el.type ? checks.get(el.type) : null,
        arrays: arrs,
        keyword: KEYWORDS.has(segs[segs.length - 1]),
      });
    }
    const nodes = new Set([...arrays.keys(), ...Object.keys(table.children)]);
    for (const path of [...rules.keys(), ...arrays.keys()]) {
      const segs = path.split(".");
      for (let i = 1; i < segs.length; i += 1) nodes.add(segs.slice(0, i).join("."));
    }
    const model = {
      table,
      version: table.version,
      codes: table.codes,
      checks,
      arrays,
      rules,
      nodes,
      children: new Map(Object.entries(table.children)),
      sessionOnly: new Set(table.elements.filter((e) => e.session).map((e) => e.path)),
      renderClock: table.clock === "timespan" ? renderTimespan : renderDuration,
      parseCache: new Map(),
    };
    compiled.set(table, model);
    return model;
  }

  const errorString = (model, code) => {
    const key = String(code);
    return Object.prototype.hasOwnProperty.call(model.table.errors, key)
      ? model.table.errors[key]
      : "";
  };

  // -- Element names -------------------------------------------------------------------------
  function parseUncached(element) {
    let raw;
    const brace = element.indexOf("{");
    if (brace !== -1) {
      // adl.nav.request_valid.choice.{target=ID}: the ID may hold dots.
      if (brace === 0 || element[brace - 1] !== "." || !TARGET.test(element.slice(brace))) {
        return null;
      }
      raw = element.slice(0, brace - 1).split(".");
      raw.push("{target}");
    } else {
      raw = element.split(".");
    }
    const keysegs = [];
    const positions = [];
    const indices = [];
    let canonical = true;
    raw.forEach((seg, p) => {
      if (DIGITS.test(seg)) {
        keysegs.push("n");
        positions.push(p);
        indices.push(seg.length <= MAX_INDEX_DIGITS ? parseInt(seg, 10) : 10 ** MAX_INDEX_DIGITS);
        if (seg.length > 1 && seg[0] === "0") canonical = false;
      } else if (seg === "n") {
        keysegs.push("\u0000n"); // a literal "n" is no index: matches nothing
      } else {
        keysegs.push(seg);
      }
    });
    return { key: keysegs.join("."), segs: raw, positions, indices, canonical };
  }

  function parse(model, element) {
    const cache = model.parseCache;
    if (cache.has(element)) return cache.get(element);
    const parsed = parseUncached(element);
    if (cache.size >= 8192) cache.clear();
    cache.set(element, parsed);
    return parsed;
  }

  const parentOf = (key) => {
    const i = key.lastIndexOf(".");
    return i === -1 ? "" : key.slice(0, i);
  };

  // 1.2 answers 201 inside a known category and 401 outside; 2004 always 401.
  const unknown = (model, key) =>
    model.nodes.has(key) || model.nodes.has(parentOf(key))
      ? model.codes.unknown_leaf
      : model.codes.unknown;

  // -- The runtime of one session --------------------------------------------------------------
  class Runtime {
    constructor(model, launch, stored) {
      this.model = model;
      this.launch = launch || {};
      this.values = new Map(); // the SCO's values, first-write order
      this.counts = new Map(); // records per concrete array path
      for (const arr of model.table.arrays) {
        if (arr.launch !== null) this.counts.set(arr.path, (this.launch[arr.launch] || []).length);
      }
      this.load(stored || {});
    }

    // Values kept from earlier sessions are taken as they are (they were validated then).
    load(stored) {
      let entries;
      if (Array.isArray(stored)) entries = stored; // [[element, value], ...]
      else if (stored instanceof Map) entries = [...stored];
      else entries = Object.entries(stored);
      for (const [element, value] of entries) {
        if (typeof element !== "string") continue;
        const parsed = parse(this.model, element);
        if (parsed === null) continue;
        const rule = this.model.rules.get(parsed.key);
        if (
          rule === undefined ||
          rule.depth !== parsed.indices.length ||
          rule.element.access === "ro" ||
          rule.keyword ||
          !parsed.canonical ||
          typeof value !== "string" ||
          rule.arrays.some((arr) => arr.launch !== null) // the LMS supplies them
        ) {
          continue;
        }
        parsed.positions.forEach((pos, k) => {
          const path = parsed.segs.slice(0, pos).join(".");
          if ((this.counts.get(path) ?? 0) <= parsed.indices[k]) {
            this.counts.set(path, parsed.indices[k] + 1);
          }
        });
        this.values.set(element, value);
      }
    }

    written() {
      return Object.fromEntries(this.values);
    }

    get(element) {
      const { model } = this;
      const { codes } = model;
      if (element === "") return ["", codes.get_empty];
      const parsed = parse(model, element);
      if (parsed === null) return ["", codes.unknown];
      const last = parsed.segs[parsed.segs.length - 1];
      if ((last === "_children" || last === "_count") && parsed.key.includes(".")) {
        return this.keyword(parsed, last);
      }
      const rule = model.rules.get(parsed.key);
      if (rule === undefined || rule.depth !== parsed.indices.length) {
        return ["", unknown(model, parsed.key)];
      }
      const el = rule.element;
      if (el.access === "wo") return ["", codes.write_only];
      for (let k = 0; k < rule.arrays.length; k += 1) {
        const path = parsed.segs.slice(0, parsed.positions[k]).join(".");
        if (!parsed.canonical || parsed.indices[k] >= (this.counts.get(path) ?? 0)) {
          return ["", rule.arrays[k].missing];
        }
      }
      if (el.readable !== null && !this.record(rule, parsed.indices)[el.readable]) {
        return ["", codes.write_only];
      }
      let value = this.values.get(element);
      if (value === undefined) {
        value = this.supplied(el, rule, parsed.indices, element);
        if (value === null) return ["", codes.not_set];
      }
      if (el.evaluate) value = this.evaluate(el.evaluate, value);
      return [value, 0];
    }

    // The launch record of an element of an array the LMS supplies ({} if none).
    record(rule, indices) {
      const field = rule.arrays.length ? rule.arrays[0].launch : null;
      const records = field ? this.launch[field] : null;
      return (records && records[indices[0]]) || {};
    }

    // The LMS's value for an element the SCO has not written: from the launch, or the default.
    supplied(el, rule, indices, element) {
      if (el.record !== null) {
        const value = this.record(rule, indices)[el.record];
        return typeof value === "string" ? value : el.default;
      }
      if (el.launch !== null) {
        const v = this.launch[el.launch];
        if (v !== undefined && v !== null) {
          if (el.render === "number") return renderNumber(v);
          if (el.render === "clock") return this.model.renderClock(Number(v));
          if (el.render === "keyed") {
            // The launch field maps element names to values (adl.nav.request_valid.*).
            const keyed = Object.prototype.hasOwnProperty.call(v, element) ? v[element] : null;
            return keyed === null || keyed === undefined ? el.default : String(keyed);
          }
          return String(v);
        }
      }
      return el.default;
    }

    // With the LMS's threshold known, the SCO's measure decides; without a measure the status
    // is ev.missing, "unknown" (4th ed. RTE 4.2.4.1 and 4.2.22.1 evaluation tables).
    evaluate(ev, value) {
      const threshold = this.launch[ev.launch];
      if (threshold === undefined || threshold === null) return value;
      const measure = this.values.get(ev.measure);
      if (measure === undefined || measure === "") return ev.missing;
      return Number(measure) >= Number(threshold) ? ev.met : ev.unmet;
    }

    keyword(parsed, last) {
      const { model } = this;
      const { codes } = model;
      const base = parentOf(parsed.key);
      const arr = model.arrays.get(base);
      const known = model.rules.has(base) || model.nodes.has(base);
      let listing = null;
      if (last === "_children") {
        listing = arr !== undefined ? arr.children : model.children.get(base) ?? null;
        if (listing === null) return ["", known ? codes.children : unknown(model, base)];
      } else if (arr === undefined) {
        return ["", known ? codes.count : unknown(model, base)];
      }
      // Every index on the way must name a record (1.2: or the next one).
      const next = model.table.keyword_next_record;
      const keysegs = parsed.key.split(".");
      for (let k = 0; k < parsed.positions.length; k += 1) {
        const pos = parsed.positions[k];
        const outer = model.arrays.get(keysegs.slice(0, pos).join("."));
        const n = this.counts.get(parsed.segs.slice(0, pos).join(".")) ?? 0;
        const i = parsed.indices[k];
        if (!parsed.canonical || i > n || (i === n && !next)) return ["", outer.missing];
      }
      if (last === "_children") return [listing, 0];
      return [String(this.counts.get(parsed.segs.slice(0, -1).join(".")) ?? 0), 0];
    }

    set(element, value) {
      const { model } = this;
      const { codes } = model;
      if (element === "") return codes.set_empty;
      const parsed = parse(model, element);
      if (parsed === null) return codes.unknown;
      if (KEYWORDS.has(parsed.segs[parsed.segs.length - 1])) {
        const base = parentOf(parsed.key);
        if (model.rules.has(parsed.key) || model.rules.has(base) || model.nodes.has(base)) {
          return codes.keyword_set;
        }
        return unknown(model, base);
      }
      const rule = model.rules.get(parsed.key);
      if (rule === undefined || rule.depth !== parsed.indices.length) {
        return unknown(model, parsed.key);
      }
      const el = rule.element;
      if (el.access === "ro") return codes.read_only;
      const { indices } = parsed;
      const fresh = [];
      for (let k = 0; k < rule.arrays.length; k += 1) {
        const arr = rule.arrays[k];
        if (!parsed.canonical) return codes.index_gap;
        const path = parsed.segs.slice(0, parsed.positions[k]).join(".");
        const n = this.counts.get(path) ?? 0;
        const i = indices[k];
        if (i < n) continue;
        if (i > n || arr.fixed) return codes.index_gap;
        if (n >= arr.max) return codes.too_many;
        if (arr.limit_by !== null) {
          const key = this.values.get(subst(arr.limit_by, indices)) ?? "";
          const limit = Object.prototype.hasOwnProperty.call(arr.limits, key)
            ? arr.limits[key]
            : undefined;
          if (limit !== undefined && n >= limit) return codes.too_many;
        }
        fresh.push(path);
      }
      if (el.writable !== null && !this.record(rule, indices)[el.writable]) return codes.read_only;
      if (el.requires !== null && !this.values.has(subst(el.requires, indices))) {
        return codes.dependency;
      }
      if (el.write_once) {
        const old = this.values.get(element);
        if (old !== undefined && old !== value) return codes.unique;
      }
      if (
        el.unique &&
        (el.unique_by === null ||
          el.unique_for.includes(this.values.get(subst(el.unique_by, indices)) ?? ""))
      ) {
        const pos = parsed.positions[parsed.positions.length - 1];
        const head = parsed.segs.slice(0, pos).join(".");
        const tail = parsed.segs.slice(pos + 1).join(".");
        const me = indices[indices.length - 1];
        const count = this.counts.get(head) ?? 0;
        for (let j = 0; j < count; j += 1) {
          if (j !== me && this.values.get(`${head}.${j}.${tail}`) === value) return codes.unique;
        }
      }
      if (rule.check !== null) {
        const result = rule.check(value, this, indices);
        if (result !== OK) return result === TYPE ? codes.type : codes.range;
      }
      for (const path of fresh) this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
      this.values.set(element, value);
      return 0;
    }
  }

  function createRuntime(table, launch, stored) {
    return new Runtime(compile(table), launch, stored);
  }

  // -- The API object: Initialize/Terminate/Commit state and the last error ------------------
  const NAMES = {
    "1.2": [
      "LMSInitialize",
      "LMSFinish",
      "LMSGetValue",
      "LMSSetValue",
      "LMSCommit",
      "LMSGetLastError",
      "LMSGetErrorString",
      "LMSGetDiagnostic",
    ],
    2004: [
      "Initialize",
      "Terminate",
      "GetValue",
      "SetValue",
      "Commit",
      "GetLastError",
      "GetErrorString",
      "GetDiagnostic",
    ],
  };
  const NOT_INITIALIZED = 0;
  const RUNNING = 1;
  const TERMINATED = 2;

  // A missing argument counts as "" (many SCOs call LMSInitialize()); anything else as a string.
  const text = (value) => (value === undefined || value === null ? "" : String(value));

  function createAPI(options) {
    const model = compile(options.table);
    const runtime = new Runtime(model, options.launch, options.stored);
    const { codes } = model;
    let state = NOT_INITIALIZED;
    let lastError = 0;
    let lastElement = "";

    const fail = (code, element) => {
      lastError = code;
      lastElement = element || "";
      return "false";
    };
    const succeed = () => {
      lastError = 0;
      lastElement = "";
      return "true";
    };
    const commit = (terminated) => {
      if (typeof options.onCommit !== "function") return true;
      try {
        return options.onCommit(runtime.written(), { terminated }) !== false;
      } catch (error) {
        return false;
      }
    };

    const initialize = (arg) => {
      if (text(arg) !== "") return fail(codes.argument);
      if (state === RUNNING) return fail(codes.initialize_twice);
      if (state === TERMINATED) return fail(codes.initialize_after);
      state = RUNNING;
      return succeed();
    };
    const terminate = (arg) => {
      if (text(arg) !== "") return fail(codes.argument);
      if (state === NOT_INITIALIZED) return fail(codes.terminate_before);
      if (state === TERMINATED) return fail(codes.terminate_after);
      state = TERMINATED;
      const committed = commit(true);
      const result = committed ? succeed() : fail(codes.commit_failed);
      if (typeof options.onTerminate === "function") {
        try {
          options.onTerminate(runtime.written(), { committed });
        } catch (error) {
          // The SCO's call has its answer; a failing page hook must not change it.
        }
      }
      return result;
    };
    const getValue = (element) => {
      const name = text(element);
      if (state === NOT_INITIALIZED) {
        fail(codes.get_before, name);
        return "";
      }
      if (state === TERMINATED) {
        fail(codes.get_after, name);
        return "";
      }
      const [value, code] = runtime.get(name);
      lastError = code;
      lastElement = code ? name : "";
      return value;
    };
    const setValue = (element, value) => {
      const name = text(element);
      if (state === NOT_INITIALIZED) return fail(codes.set_before, name);
      if (state === TERMINATED) return fail(codes.set_after, name);
      const code = runtime.set(name, text(value));
      return code ? fail(code, name) : succeed();
    };
    const commitCall = (arg) => {
      if (text(arg) !== "") return fail(codes.argument);
      if (state === NOT_INITIALIZED) return fail(codes.commit_before);
      if (state === TERMINATED) return fail(codes.commit_after);
      return commit(false) ? succeed() : fail(codes.commit_failed);
    };
    const getLastError = () => String(lastError);
    const getErrorString = (code) => errorString(model, text(code));
    const getDiagnostic = (code) => {
      const wanted = text(code);
      if (wanted !== "") return errorString(model, wanted);
      let diagnostic = errorString(model, lastError);
      if (lastError && lastElement) diagnostic = `${diagnostic}: ${lastElement}`;
      return cpSlice(diagnostic, 255);
    };

    const api = {};
    const names = NAMES[model.version];
    [
      initialize,
      terminate,
      getValue,
      setValue,
      commitCall,
      getLastError,
      getErrorString,
      getDiagnostic,
    ].forEach((fn, i) => {
      api[names[i]] = fn;
    });
    api.hocvu = {
      version: model.version,
      written: () => runtime.written(),
      state: () => ["not initialized", "running", "terminated"][state],
      runtime,
    };
    return api;
  }

  window.HocvuScorm = {
    compile,
    createAPI,
    createRuntime,
    errorString: (table, code) => errorString(compile(table), text(code)),
    renderTimespan,
    renderDuration,
  };
})();
