/* Ferrite's documentation site: Rust highlighting and full-text search.
 *
 * Rust. Doxygen highlights C itself, but renders a ```rust fence as a plain fragment:
 * <div class="fragment"><div class="line">…</div>…</div>, with no span inside and nothing naming the language
 * (the same markup as a ```sh or ```text block). The chapter pages therefore pass Rust blocks through as
 * <pre><code class="language-rust">, which this script turns into fragments of the same shape. A fragment is
 * Rust when it came from such a block, when it sits in an element that says so (.ft-rust, the Rust column of a
 * Rust/C pair, or a .language-rust / .lang-rust wrapper) or, failing those, when it is plain and reads like
 * Rust (see looksLikeRust). Such a fragment is highlighted with highlight.js
 * (Debian's libjs-highlight.js, loaded only on pages that have one) line by line, so Doxygen's line
 * structure, the copy button and the stylesheet's colours keep working. Fragments Doxygen highlighted are
 * left alone.
 *
 * Search. Doxygen's own search box stays where the theme puts it, but once the reader types into it, the
 * box asks a lunr index (Debian's libjs-lunr) instead of Doxygen's name-prefix tables: lunr covers every
 * section's prose, its Rust and C names and their parts, so `reserve` finds fv_reserve_exact and `drop glue`
 * finds the paragraph. lunr and the documents load when the field first takes focus. docs/theme/theme.py
 * explains the choice and writes the documents (ft_search_index.js) after Doxygen runs; without that file the
 * box keeps Doxygen's search.
 */
(function () {
  "use strict";

  var relPath = typeof ftRelPath === "string" ? ftRelPath : "";

  function loadScript(src, onLoad, onError) {
    var script = document.createElement("script");
    script.src = relPath + src;
    script.onload = onLoad;
    script.onerror = onError || function () {};
    document.head.appendChild(script);
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  /* ---- Rust/C pairs ------------------------------------------------------------------------------------ */

  /* Doxygen 1.9.4 closes and reopens the HTML elements around a code block that a blank line separates from
   * them, so `<div class="ft-pair"><div class="ft-rust">`, a blank line and a fence come out as several
   * sibling pairs, each holding one column or none. Gathers such a run back into its first pair. */
  function mendPairs() {
    document.querySelectorAll(".ft-pair").forEach(function (pair) {
      if (!pair.parentNode) return;
      var next = pair.nextElementSibling;
      while (next && next.classList.contains("ft-pair")) {
        var after = next.nextElementSibling;
        Array.prototype.slice.call(next.children).forEach(function (col) {
          if (col.textContent.trim()) pair.appendChild(col);
        });
        next.parentNode.removeChild(next);
        next = after;
      }
      Array.prototype.slice.call(pair.children).forEach(function (col) {
        if (!col.textContent.trim()) pair.removeChild(col);
      });
    });
  }

  /* ---- Print ------------------------------------------------------------------------------------------- */

  var KEEP_WHOLE_LINES = 25;

  /* Marks the code blocks short enough to keep on one printed page (the print stylesheet's .ft-keep). */
  function markShortFragments() {
    document.querySelectorAll("div.fragment").forEach(function (fragment) {
      if (fragmentLines(fragment).length <= KEEP_WHOLE_LINES) fragment.classList.add("ft-keep");
    });
  }

  /* ---- Rust highlighting ---------------------------------------------------------------------------- */

  var RUST_SIGNS = [
    /\bfn\s+\w+\s*[<(]/, /\blet\s+(mut\s+)?\w+/, /\bimpl\b/, /\bpub\s+(fn|struct|enum|trait|mod|const|unsafe|crate)\b/,
    /\buse\s+[\w:]+::/, /#!?\[\w+/, /&mut\s/, /\bunsafe\s*\{/, /\bmatch\s+[^{]+\{/, /\b(struct|enum|trait)\s+\w+/,
    /\w+!\(/, /->\s*(Self|Option|Result|[A-Z]\w*|&|\(\))/, /\b(Some|None|Ok|Err)\b/, /\bSelf\b|&self\b/,
  ];

  /* A plain fragment reads like Rust when at least three different Rust signs appear in it. */
  function looksLikeRust(text) {
    var hits = 0;
    for (var i = 0; i < RUST_SIGNS.length && hits < 3; i++) {
      if (RUST_SIGNS[i].test(text)) hits++;
    }
    return hits >= 3;
  }

  function isPlain(fragment) {
    return !fragment.querySelector(".line span, .line a");
  }

  function fragmentLines(fragment) {
    return Array.prototype.filter.call(fragment.children, function (el) {
      return el.classList.contains("line");
    });
  }

  /* The chapter pages (docs/pages.py) pass Rust blocks through as <pre><code class="language-rust">, since
   * Doxygen cannot highlight them. Each becomes a fragment like Doxygen's own, so Rust and C code blocks
   * share one look, one copy button and one highlighting path. */
  function rustBlocksToFragments() {
    document.querySelectorAll("pre > code.language-rust, pre > code.lang-rust").forEach(function (code) {
      var pre = code.parentNode;
      var fragment = document.createElement("div");
      fragment.className = "fragment ft-lang-rust-source";
      code.textContent.replace(/\n$/, "").split("\n").forEach(function (text) {
        var line = document.createElement("div");
        line.className = "line";
        line.textContent = text || " ";
        fragment.appendChild(line);
        /* Doxygen puts a newline between lines too: the copy button copies the fragment's text. */
        fragment.appendChild(document.createTextNode("\n"));
      });
      pre.parentNode.replaceChild(fragment, pre);
    });
  }

  function rustFragments() {
    var found = [];
    document.querySelectorAll("div.fragment").forEach(function (fragment) {
      if (fragment.closest(".ft-c, .language-c, .lang-c") || !isPlain(fragment)) return;
      var marked = fragment.classList.contains("ft-lang-rust-source") ||
        fragment.closest(".ft-rust, .language-rust, .lang-rust");
      var text = fragmentLines(fragment).map(function (l) { return l.textContent; }).join("\n");
      if (marked || looksLikeRust(text)) found.push(fragment);
    });
    return found;
  }

  /* Cuts highlight.js output into lines, closing the spans open at each line end and reopening them on the
   * next line, so a comment or string that spans lines stays coloured in every line's own element. */
  function splitHighlighted(html) {
    var lines = [], open = [], cur = "", match;
    var token = /(<span[^>]*>)|(<\/span>)|(\n)|([^<\n]+)/g;
    while ((match = token.exec(html))) {
      if (match[1]) { open.push(match[1]); cur += match[1]; }
      else if (match[2]) { open.pop(); cur += match[2]; }
      else if (match[3]) { lines.push(cur + "</span>".repeat(open.length)); cur = open.join(""); }
      else cur += match[4];
    }
    lines.push(cur);
    return lines;
  }

  function highlightRust(fragment) {
    var lines = fragmentLines(fragment);
    var text = lines.map(function (l) { return l.textContent; }).join("\n");
    var result = window.hljs.highlight("rust", text, true);
    var html = splitHighlighted(result.value);
    if (html.length !== lines.length) return;
    lines.forEach(function (line, i) { line.innerHTML = html[i] || " "; });
    fragment.classList.add("ft-lang-rust");
  }

  function startHighlighting() {
    var fragments = rustFragments();
    if (!fragments.length) return;
    loadScript("highlight.min.js", function () {
      if (!window.hljs || !window.hljs.getLanguage("rust")) return;
      /* Debian ships highlight.js 9, which logs an end-of-support notice on first use. It only ever colours
       * the site's own code blocks here, so the notice is switched off. */
      window.hljs.configure({ hideUpgradeWarningAcceptNoSupportOrSecurityUpdates: true });
      fragments.forEach(highlightRust);
    });
  }

  /* ---- Search ----------------------------------------------------------------------------------------- */

  var MAX_RESULTS = 20;
  var search = { index: null, docs: null, loading: false, panel: null, lastQuery: null };

  function buildIndex() {
    var docs = window.FT_SEARCH_DOCS;
    search.docs = docs;
    search.index = window.lunr(function () {
      this.ref("i");
      this.field("t", { boost: 8 });
      this.field("n", { boost: 4 });
      this.field("b");
      for (var i = 0; i < docs.length; i++) {
        this.add({ i: String(i), t: docs[i].t, n: docs[i].n, b: docs[i].b });
      }
    });
  }

  /* Splits what the reader typed into terms; `Vec::push` and `fv_push` stay whole, as they are indexed. */
  function queryTerms(query) {
    return query.toLowerCase().split(/[\s\-,;()"'`]+/).map(function (t) {
      return t.replace(/^[^\w:]+|[^\w:]+$/g, "");
    }).filter(function (t) {
      return t.length > 0 && window.lunr.stopWordFilter(new window.lunr.Token(t)) !== undefined;
    });
  }

  /* Every term must match (as a word, a word's prefix, or, in names, any part of a name); scores add up. */
  function runQuery(query) {
    var terms = queryTerms(query);
    if (!terms.length) return [];
    var lunr = window.lunr, total = null;
    terms.forEach(function (term) {
      var scores = {};
      search.index.query(function (q) {
        q.term(term, { boost: 10 });
        q.term(term, { usePipeline: false, wildcard: lunr.Query.wildcard.TRAILING, boost: 3 });
        if (term.length >= 3) {
          q.term(term, { fields: ["n"], usePipeline: false, boost: 1,
                         wildcard: lunr.Query.wildcard.LEADING | lunr.Query.wildcard.TRAILING });
        }
      }).forEach(function (hit) { scores[hit.ref] = hit.score; });
      if (total === null) { total = scores; return; }
      var both = {};
      Object.keys(total).forEach(function (ref) {
        if (ref in scores) both[ref] = total[ref] + scores[ref];
      });
      total = both;
    });
    return Object.keys(total).sort(function (a, b) { return total[b] - total[a]; })
      .slice(0, MAX_RESULTS).map(function (ref) { return search.docs[Number(ref)]; });
  }

  /* About 180 characters of the section around the first term found, the terms marked. */
  function snippet(body, terms) {
    var lower = body.toLowerCase(), at = -1;
    for (var i = 0; i < terms.length && at < 0; i++) at = lower.indexOf(terms[i].replace(/:+$/, ""));
    var start = Math.max(0, at - 60), text = body.substr(start, 180);
    var words = terms.filter(Boolean).map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
    var marked = "", last = 0, match;
    if (words.length) {
      var pattern = new RegExp(words.join("|"), "gi");
      while ((match = pattern.exec(text)) && match[0]) {
        marked += escapeHtml(text.slice(last, match.index)) + "<mark>" + escapeHtml(match[0]) + "</mark>";
        last = match.index + match[0].length;
      }
    }
    marked += escapeHtml(text.slice(last));
    return (start > 0 ? "…" : "") + marked + (start + 180 < body.length ? "…" : "");
  }

  function panel() {
    if (!search.panel) {
      search.panel = document.createElement("div");
      search.panel.id = "ft-search-results";
      search.panel.setAttribute("role", "listbox");
      search.panel.hidden = true;
      document.body.appendChild(search.panel);
    }
    return search.panel;
  }

  function closePanel() {
    if (search.panel) search.panel.hidden = true;
    search.lastQuery = null;
  }

  function placePanel(field) {
    var box = (document.getElementById("MSearchBox") || field).getBoundingClientRect();
    var p = panel(), narrow = window.innerWidth < 768;
    p.style.top = Math.round(box.bottom + 6) + "px";
    p.style.left = narrow ? "8px" : Math.round(box.left) + "px";
    p.style.width = narrow ? "calc(100vw - 16px)" : Math.max(box.width, 420) + "px";
  }

  function showResults(field) {
    var query = field.value.trim();
    if (query === search.lastQuery && !panel().hidden) return;
    search.lastQuery = query;
    if (!query) { closePanel(); return; }
    var hits = runQuery(query), terms = queryTerms(query), p = panel();
    if (!hits.length) {
      p.innerHTML = '<div class="ft-no-hit">No section mentions ' + escapeHtml(query) + ".</div>";
    } else {
      p.innerHTML = hits.map(function (d) {
        var page = d.p !== d.t ? '<span class="ft-hit-page">' + escapeHtml(d.p) + "</span>" : "";
        return '<a class="ft-hit" role="option" href="' + relPath + escapeHtml(d.u) + '">' +
          '<span class="ft-hit-title">' + escapeHtml(d.t) + "</span>" + page +
          '<span class="ft-hit-snippet">' + snippet(d.b, terms) + "</span></a>";
      }).join("");
    }
    placePanel(field);
    p.hidden = false;
  }

  /* Doxygen's menu script rebuilds the search box whenever the window crosses 768 px, so the field is
   * looked up each time rather than kept. */
  function searchField() {
    return document.getElementById("MSearchField");
  }

  function onKey(evt) {
    var field = searchField(), p = panel();
    if (!field) return;
    if (evt.key === "Escape") { closePanel(); field.blur(); return; }
    if (evt.key === "Enter") {
      var first = p.querySelector("a.ft-hit");
      if (first) window.location.href = first.href;
      return;
    }
    if (evt.key === "ArrowDown") {
      var link = p.querySelector("a.ft-hit");
      if (link) link.focus();
      return;
    }
    showResults(field);
  }

  function onPanelKey(evt) {
    var link = document.activeElement;
    if (!link || !link.classList.contains("ft-hit")) return;
    if (evt.key === "ArrowDown" && link.nextElementSibling) { link.nextElementSibling.focus(); evt.preventDefault(); }
    if (evt.key === "ArrowUp") {
      if (link.previousElementSibling) link.previousElementSibling.focus();
      else if (searchField()) searchField().focus();
      evt.preventDefault();
    }
    if (evt.key === "Escape") { closePanel(); if (searchField()) searchField().focus(); }
  }

  /* Replaces Doxygen's search behind the same box, once lunr and the documents are in. The box's inline
   * handlers call window.searchBox's methods by name, so replacing those methods is enough. */
  function takeOverSearchBox() {
    buildIndex();
    var box = window.searchBox;
    if (box) {
      box.OnSearchFieldChange = onKey;
      box.OnSearchSelectShow = function () { return false; };
      box.OnSearchSelectHide = function () { return false; };
      box.CloseResultsWindow = function () { if (searchField()) searchField().value = ""; closePanel(); };
      box.CloseSelectionWindow = function () {};
      /* Doxygen's version also puts the word "Search" back into the field on blur; the query stays here. */
      box.Activate = function (active) {
        if (box.DOMSearchBox()) box.DOMSearchBox().className = active ? "MSearchBoxActive" : "MSearchBoxInactive";
        var field = searchField();
        if (active && field && field.value === box.searchLabel) field.value = "";
      };
    } else {
      document.addEventListener("keyup", function (evt) { if (evt.target === searchField()) onKey(evt); });
    }
    document.documentElement.classList.add("ft-search-ready");
    panel().addEventListener("keydown", onPanelKey);
    document.addEventListener("click", function (evt) {
      if (search.panel && !search.panel.contains(evt.target) && evt.target !== searchField()) closePanel();
    });
    window.addEventListener("resize", function () {
      if (!panel().hidden && searchField()) placePanel(searchField());
    });
    var field = searchField();
    if (field && field.value.trim() && field.value !== (box && box.searchLabel)) showResults(field);
  }

  function prepareSearch() {
    if (search.loading || search.index) return;
    search.loading = true;
    loadScript("lunr.min.js", function () {
      loadScript("ft_search_index.js", function () {
        if (window.lunr && window.FT_SEARCH_DOCS) takeOverSearchBox();
      });
    });
  }

  function startSearch() {
    ["focusin", "input"].forEach(function (type) {
      document.addEventListener(type, function (evt) {
        if (evt.target.id === "MSearchField") prepareSearch();
      });
    });
    if (document.activeElement && document.activeElement.id === "MSearchField") prepareSearch();
  }

  /* Called at the end of every page (docs/theme/footer.html); the search box is added by Doxygen's menu
   * script on document ready, so the search part waits for it. */
  window.FerriteTheme = {
    start: function () {
      mendPairs();
      rustBlocksToFragments();
      markShortFragments();
      startHighlighting();
      startSearch();
    },
  };
})();
