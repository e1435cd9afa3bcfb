// Point the widget manager's AMD modules at the vendored copy of @jupyter-widgets/html-manager,
// so the fonts it loads relative to its modules come from this host, whatever the page's depth.
(function () {
  var root = document.documentElement.dataset.content_root || "";
  var dir = root + "_static/vendor/html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir } });
})();
