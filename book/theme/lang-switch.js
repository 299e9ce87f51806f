// The language switch (English | 日本語) in every page's menu bar: it links
// the same page in the other edition. The English book is the site's root
// and the Japanese one its ja/ folder (book/build.sh); headings keep their
// English ids in Japanese, so the fragment carries over too.
(function () {
    "use strict";
    const bar = document.querySelector("#mdbook-menu-bar .right-buttons, #menu-bar .right-buttons");
    if (!bar || typeof path_to_root === "undefined") {
        return;
    }
    const japanese = document.documentElement.lang === "ja";
    const root = new URL(path_to_root, window.location.href);
    let page = window.location.pathname.startsWith(root.pathname)
        ? window.location.pathname.slice(root.pathname.length)
        : "";
    const other = new URL((japanese ? "../" : "ja/") + page + window.location.hash, root);
    const link = function (label, lang, href) {
        const a = document.createElement(href ? "a" : "span");
        a.textContent = label;
        a.lang = lang;
        if (href) {
            a.href = href;
            a.hreflang = lang;
        } else {
            a.setAttribute("aria-current", "true");
        }
        return a;
    };
    const nav = document.createElement("span");
    nav.className = "lang-switch";
    nav.append(
        link("English", "en", japanese ? other.href : null),
        " | ",
        link("日本語", "ja", japanese ? null : other.href),
    );
    bar.prepend(nav);
})();
