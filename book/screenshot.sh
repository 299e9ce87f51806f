#!/usr/bin/env bash
# Look at the built book in headless Chromium, the way a reader sees it:
#   toc.png       the first page, with the table of contents in the sidebar
#   chapter.png   a lab chapter down to its included code (a tall page: headless
#                 Chromium draws a page scrolled to a #fragment blank); lab 08's
#                 unless CHAPTER names another (CHAPTER=03-chroot)
#   output.png    "Reading a lab's output": what a real run prints
#   search.png    the search box, searching for "pivot_root"
#   ja-chapter.png  the same chapter in the Japanese edition (ja/), with the
#                 language switch; needs a CJK font (fonts-noto-cjk)
# and check that the search really lists a result for pivot_root.
#
# Usage: [CHAPTER=NN-slug] [CHAPTER_HEIGHT=PX] book/screenshot.sh [OUTPUT-DIR]
#        (default: target/book-screenshots)
# Skips, saying why, when chromium or mdbook is missing. Leaves nothing
# behind but the PNGs: the site and the browser profiles live under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/book-screenshots}
chapter=${CHAPTER:-08-pid}
chapter_height=${CHAPTER_HEIGHT:-2800}
if [ ! -f "book/src/labs/$chapter.md" ]; then
    echo "error: no chapter book/src/labs/$chapter.md" >&2
    exit 1
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "skipped: no chromium (Debian: apt-get install chromium)"
    exit 0
fi
if ! command -v mdbook >/dev/null || ! command -v mdbook-gettext >/dev/null; then
    echo "skipped: no mdbook or mdbook-gettext (cargo install mdbook --locked; cargo install mdbook-i18n-helpers --locked --version '^0.4')"
    exit 0
fi

mkdir -p target "$out"
work=$(mktemp -d -p target book-screenshot.XXXXXX)
trap 'rm -rf "$work"' EXIT
book/build.sh "$work/site" >/dev/null 2>&1 || book/build.sh "$work/site"
site="file://$(realpath "$work/site")"

# A fresh profile per run; nothing that phones home. HOME and XDG_* point into
# the work folder too, or Chromium leaves crash-report and dconf folders in ~.
chrome() {
    local profile
    profile=$(mktemp -d -p "$work" profile.XXXXXX)
    HOME="$profile" XDG_CONFIG_HOME="$profile/config" XDG_CACHE_HOME="$profile/cache" "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=5000 \
        "$@" 2>"$work/chromium.log"
}

shoot() {
    local name=$1 height=$2 url=$3
    chrome --window-size="1280,$height" --screenshot="$out/$name.png" "$url" >/dev/null
    if [ ! -s "$out/$name.png" ]; then
        echo "error: no screenshot of $url" >&2
        cat "$work/chromium.log" >&2
        exit 1
    fi
    echo "$out/$name.png  <- $url"
}

shoot toc 1000 "$site/index.html"
shoot chapter "$chapter_height" "$site/labs/$chapter.html"
shoot output 1400 "$site/reading-output.html"
shoot search 1000 "$site/index.html?search=pivot_root"
if ! fc-list 2>/dev/null | grep -qi "CJK"; then
    echo "note: no CJK font (Debian: apt-get install fonts-noto-cjk): ja-chapter.png shows boxes"
fi
shoot ja-chapter "$chapter_height" "$site/ja/labs/$chapter.html"

# The search results, as the page's own JavaScript fills them in.
dom=$(chrome --dump-dom "$site/index.html?search=pivot_root")
# (The list is `ul#mdbook-searchresults` since mdBook 0.5, `ul#searchresults` before.)
results=$(printf '%s\n' "$dom" | sed -n -E '/<ul id="(mdbook-)?searchresults"/,/<\/ul>/p' | grep -o '<li' | wc -l)
if [ "$results" -lt 1 ]; then
    echo "error: searching the book for pivot_root lists nothing" >&2
    exit 1
fi
echo "search for pivot_root: $results result(s)"
