#!/usr/bin/env bash
# Builds the book in both languages: English (the source) into DEST
# (default book/book), then Japanese, from book/po/ja.po, into DEST/ja.
# English first: mdBook empties its destination, so an English build after
# the Japanese one would delete ja/.
#
# Usage: book/build.sh [DEST]   (DEST relative to the current directory)
# Needs mdbook 0.5 and mdbook-i18n-helpers 0.4 (the mdbook-gettext
# preprocessor): cargo install mdbook --locked --version '^0.5' and
# cargo install mdbook-i18n-helpers --locked --version '^0.4'.
set -euo pipefail
book=$(cd "$(dirname "$0")" && pwd)
dest=$(realpath -m "${1:-$book/book}")
mdbook build "$book" --dest-dir "$dest"
# <html lang="ja"> and the translated catalog come from book.language;
# site-url makes the 404 page's links point into /ja/; the title is the
# Japanese one.
MDBOOK_BOOK__LANGUAGE=ja MDBOOK_OUTPUT__HTML__SITE_URL=/ja/ \
    MDBOOK_BOOK__TITLE="container-labs：Linux コンテナをカーネルの仕組み 1 つずつから" \
    mdbook build "$book" --dest-dir "$dest/ja"
