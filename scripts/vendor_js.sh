#!/usr/bin/env bash
# Re-fetch the JavaScript the book serves itself instead of loading from a CDN (maintainers only;
# the result is committed under book/_static/vendor). Needs npm and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
HTML_MANAGER=1.0.15 REQUIREJS=2.3.8 MATHJAX=3.2.2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" "mathjax@$MATHJAX" >/dev/null)
out=book/_static/vendor
rm -rf "$out"; mkdir -p "$out/html-manager" "$out/mathjax/output/chtml/fonts"
tar xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp" && mv "$tmp/package" "$tmp/hm"
cp "$tmp"/hm/dist/embed-amd.js "$tmp"/hm/dist/*.woff "$tmp"/hm/dist/*.woff2 "$tmp"/hm/dist/*.eot "$tmp"/hm/dist/*.ttf "$tmp"/hm/dist/*.svg \
   "$tmp"/hm/dist/embed.js.LICENSE.txt "$out/html-manager/"
cp "$tmp"/hm/LICENSE "$out/html-manager/LICENSE" 2>/dev/null || true
tar xzf "$tmp"/requirejs-*.tgz -C "$tmp" && cp "$tmp/package/require.js" "$out/require.js" && cp "$tmp/package/LICENSE" "$out/require.LICENSE" 2>/dev/null || true
rm -rf "$tmp/package"
tar xzf "$tmp"/mathjax-*.tgz -C "$tmp"
cp "$tmp/package/es5/tex-chtml.js" "$out/mathjax/"
cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$out/mathjax/output/chtml/fonts/"
cp "$tmp/package/LICENSE" "$out/mathjax/LICENSE"
cat > "$out/README.md" <<EOR
Vendored so the book makes no request off its host (see scripts/vendor_js.sh):
@jupyter-widgets/html-manager $HTML_MANAGER (BSD-3-Clause), requirejs $REQUIREJS (MIT), mathjax $MATHJAX (Apache-2.0).
EOR
du -sh "$out"
